"""One function compiled on the backend in use (imports Keras only when
called), and what TensorFlow's XLA says when it cannot compile one."""

import re


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


def xla_could_not_compile(error):
    """Whether `error` is TensorFlow refusing to compile a function with XLA
    (an op without an XLA kernel: CycleGAN's bicubic jitter, measured).

    Example:

    ```python
    xla_could_not_compile(ValueError("tf2xla"))  # False
    ```
    """
    text = str(error)
    return (type(error).__module__.startswith("tensorflow")
            and ("tf2xla" in text or "XLA compilation" in text
                 or "No registered" in text and "XLA_" in text))


def xla_failure_reason(error):
    """One line: the ops XLA has no kernel for, from TensorFlow's message,
    else the message's first line.

    Example:

    ```python
    message = "No registered 'ResizeBicubic' OpKernel for XLA_CPU_JIT"
    xla_failure_reason(RuntimeError(message))  # 'no XLA kernel for ResizeBicubic'
    ```
    """
    text = str(error)
    ops = re.findall(r"No registered '(\w+)' OpKernel", text)
    if ops:
        return "no XLA kernel for " + ", ".join(dict.fromkeys(ops))
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0][:200] if lines else type(error).__name__
