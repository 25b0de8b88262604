"""The TensorFlow train step: a GradientTape per gradient step,
`variable.assign` for an assign step.

Keras wraps `train_step(data)` in a `tf.function` (with XLA when the model
was compiled with `jit_compile=True`), so the Python loops below are traced
once and unrolled. A step that runs every k-th batch is a `tf.cond` on the
batch counter, so the graph holds it once and skips it at run time.
"""

import functools

import tensorflow as tf

from kerasgen.training.base import AssignStep, step_due


def train_step(model, data):
    data = model.prepare_batch(data)
    # Read once, before this batch's increment at the end.
    batches_done = tf.convert_to_tensor(model.optimizer.iterations)
    logs = {}
    for step in model.update_steps():
        kind = _assign_step if isinstance(step, AssignStep) else _gradient_step
        run = functools.partial(kind, model, step, data)
        if step.every == 1:
            logs.update(run())
        else:
            logs.update(_when(step_due(step, batches_done), run))

    for average, source in model.ema_pairs():
        average.assign(model.ema_update(average, source))

    model.optimizer.iterations.assign_add(1)
    return logs


def _gradient_step(model, step, data):
    optimizer = model.optimizer[step.name]
    variables = model.step_variables(step)
    logs = {}
    for _ in range(step.repeat):
        with tf.GradientTape() as tape:
            loss, logs = model.run_update_loss(step, data)
            # Identity unless the optimizer is a LossScaleOptimizer.
            scaled_loss = optimizer.scale_loss(loss)
        grads = tape.gradient(scaled_loss, variables)
        grads = _after(loss, grads)
        optimizer.apply(grads, variables)
    return logs


def _assign_step(model, step, data):
    variables = model.step_variables(step)
    logs = {}
    for _ in range(step.repeat):
        values, logs = model.run_assign_update(step, data)
        for variable, value in zip(variables, values):
            variable.assign(value)
    return logs


def _when(due, run):
    """`run()` (which returns a dict of scalar logs) when `due`, else zeros
    for the same logs; only the branch taken runs."""
    traced = {}

    def run_branch():
        logs = run()
        traced["logs"] = {k: (v.shape, v.dtype) for k, v in logs.items()}
        return logs

    def skip_branch():
        # The same logs as zeros. In a graph tf.cond has traced the true
        # branch already; eagerly (run_eagerly=True) only the taken branch
        # runs, so the logs' structure comes from a trace that runs nothing.
        if "logs" not in traced:
            if not tf.executing_eagerly():
                raise RuntimeError("tf.cond traced the skipped branch first.")
            tf.function(run_branch).get_concrete_function()
        return {
            k: tf.zeros(shape, dtype) for k, (shape, dtype) in traced["logs"].items()
        }

    return tf.cond(due, run_branch, skip_branch)


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
