"""Gradients with respect to a network's *input*, on TensorFlow and JAX.

Gradient penalties (WGAN-GP, R1) need d f(x) / dx inside a loss, and the
training core then differentiates that loss again with respect to the
weights (double backpropagation). This is the one place that switches on
the backend for it; the penalties themselves are written in `keras.ops`
(`kerasgen/losses/penalties.py`).

- JAX: `jax.grad` of a function that calls the network. Inside the core's
  train step the networks run in a `keras.StatelessScope` whose mapping
  holds the current (traced) weights; the closure reads them from there, so
  the outer `jax.value_and_grad` sees the penalty as a function of the
  weights.
- TensorFlow: a nested `tf.GradientTape` watching `x`; the core's outer
  tape records the inner gradient computation and differentiates it.

`fn` runs in a scope of its own that discards the state it assigns
(BatchNorm moving statistics, seed states): the penalty's extra forward
pass does not count as a second batch of statistics, on either backend.
TensorFlow and JAX are imported lazily, so `import kerasgen` on JAX never
imports TensorFlow.
"""

import keras
from keras import ops

# Keras has no public getter for the active StatelessScope.
from keras.src.backend.common.stateless_scope import get_stateless_scope


def _discarding_scope():
    """A StatelessScope that reads the enclosing scope's values (if any)
    and keeps its own assignments to itself."""
    scope = keras.StatelessScope()
    outer = get_stateless_scope()
    if outer is not None:
        scope.state_mapping = dict(outer.state_mapping)
    return scope


def input_gradient(fn, x):
    """d(sum fn(x)) / dx, differentiable again with respect to weights.

    Args:
        fn: callable. Maps a batch `x` to outputs (e.g. a critic's scores
            `(batch, 1)`); the outputs are summed, so for per-example
            outputs the result holds each example's own gradient.
        x: tensor. The inputs, float.

    Returns:
        A tensor shaped like `x`.

    Example:

    ```python
    import numpy as np
    from keras import ops
    x = np.array([[1.0, 2.0]], "float32")
    input_gradient(lambda v: ops.sum(ops.square(v), axis=-1), x)  # [[2., 4.]]
    ```
    """
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        def total(v):
            with _discarding_scope():
                return ops.sum(ops.cast(fn(v), "float32"))

        return jax.grad(total)(ops.convert_to_tensor(x))
    if backend == "tensorflow":
        import tensorflow as tf

        x = tf.convert_to_tensor(x)
        with tf.GradientTape() as tape:
            tape.watch(x)
            with _discarding_scope():
                total = tf.reduce_sum(tf.cast(fn(x), "float32"))
        return tape.gradient(total, x)
    raise NotImplementedError(
        "Input gradients are implemented for the 'tensorflow' and 'jax' "
        f"backends. Received: KERAS_BACKEND={backend}"
    )
