"""One function compiled on the backend in use (imports Keras only when
called)."""


def compiled(function, variables):
    """`function(*tensors)` compiled on the backend in use: jitted on JAX
    (the current values of `variables` passed in on every call, through a
    `keras.StatelessScope`, so later training is seen and nothing is baked
    into the compiled code), a `tf.function` on TensorFlow (which reads
    its variables itself), the function as it is elsewhere.

    Example:

    ```python
    import keras
    import numpy as np
    dense = keras.layers.Dense(2)
    dense.build((None, 3))
    call = compiled(lambda x: dense(x), dense.variables)
    tuple(call(np.zeros((4, 3), "float32")).shape)  # (4, 2)
    ```
    """
    import keras

    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        @jax.jit
        def run(values, *args):
            with keras.StatelessScope(state_mapping=list(zip(variables, values))):
                return function(*args)

        return lambda *args: run([v.value for v in variables], *args)
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.function(function, reduce_retracing=True)
    return function
