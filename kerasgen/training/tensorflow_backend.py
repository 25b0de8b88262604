"""The TensorFlow train step: a GradientTape per update step.

Keras wraps `train_step(data)` in a `tf.function` (with XLA when the model
was compiled with `jit_compile=True`), so the Python loops below are traced
once and unrolled.
"""

import tensorflow as tf


def train_step(model, data):
    data = model.prepare_batch(data)
    logs = {}
    for step in model.update_steps():
        optimizer = model.optimizer[step.name]
        variables = model.step_variables(step)
        for _ in range(step.repeat):
            with tf.GradientTape() as tape:
                loss, step_logs = model.run_update_loss(step, data)
                # Identity unless the optimizer is a LossScaleOptimizer.
                scaled_loss = optimizer.scale_loss(loss)
            grads = tape.gradient(scaled_loss, variables)
            optimizer.apply(grads, variables)
            logs.update(step_logs)

    for average, source in model.ema_pairs():
        average.assign(model.ema_update(average, source))

    model.optimizer.iterations.assign_add(1)
    return logs
