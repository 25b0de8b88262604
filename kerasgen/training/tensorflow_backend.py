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
            grads = _after(loss, grads)
            optimizer.apply(grads, variables)
            logs.update(step_logs)

    for average, source in model.ema_pairs():
        average.assign(model.ema_update(average, source))

    model.optimizer.iterations.assign_add(1)
    return logs


def _after(loss, grads):
    """`grads`, made to wait for `loss`, so the update runs after its
    forward pass.

    tf.function orders each variable's reads and writes in program order,
    but Grappler's dependency optimizer drops some of those control edges:
    the optimizer's gradient all-reduce (an `IdentityN` over every
    gradient) makes them look implied by data paths, and the same pass then
    bypasses that `IdentityN`. A gradient that does not depend on its own
    variable (the last, linear layer of a WGAN critic) is left with no
    path from the forward reads: its update could run before them, or before
    the previous repeat's clip. The loss depends on every forward read, and
    each forward read on the previous repeat's writes.
    """
    with tf.control_dependencies([loss]):
        return [
            None if g is None
            else tf.nest.map_structure(tf.identity, g, expand_composites=True)
            for g in grads
        ]
