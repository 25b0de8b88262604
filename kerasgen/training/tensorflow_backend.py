"""The TensorFlow train step: a GradientTape per gradient step,
`variable.assign` for an assign step.

Keras wraps `train_step(data)` in a `tf.function` (with XLA when the model
was compiled with `jit_compile=True`), so the Python loops below are traced
once and unrolled. A step that runs every k-th batch is a `tf.cond` on the
batch counter, so the graph holds it once and skips it at run time.
"""

import functools

import tensorflow as tf

from kerasgen.training import replicas
from kerasgen.training.base import AssignStep, step_due


def train_step(model, data):
    model.start_batch_handoff()
    data = model.prepare_batch(data)
    # Read once, before this batch's increment at the end.
    batches_done = tf.convert_to_tensor(model.optimizer.iterations)
    logs = {}
    for step in model.update_steps():
        kind = _assign_step if isinstance(step, AssignStep) else _gradient_step
        run = functools.partial(kind, model, step, data)
        if step.every == 1:
            logs.update(run())
        elif kind is _gradient_step and _under_a_strategy():
            logs.update(_gradient_step_when(model, step, data,
                                            step_due(step, batches_done)))
        else:
            logs.update(_when(step_due(step, batches_done), run))

    if replicas.count() > 1:
        _average_batchnorm_statistics(model)

    for average, source in model.ema_pairs():
        average.assign(model.ema_update(average, source))

    for name, scale in model.loss_scales():
        logs[name] = tf.cast(scale.value, "float32")

    model.optimizer.iterations.assign_add(1)
    model.start_batch_handoff()
    if _across_workers():
        # Keras reduces a multi-worker step's logs with
        # `strategy.reduce(MEAN, value, axis=0)`, which a scalar lacks.
        logs = {key: tf.reshape(value, [1]) for key, value in logs.items()}
    return logs


def _gradients(tape, loss, variables):
    """The gradients, with zeros (not None) for a variable the loss does not
    reach, as jax.grad gives: a block of a phase still to come (Progressive
    GAN) then gets the same optimizer update on both backends."""
    grads = tape.gradient(loss, variables)
    return [tf.zeros_like(v) if g is None else g for g, v in zip(grads, variables)]


def _gradient_step(model, step, data):
    optimizer = model.optimizer[step.name]
    variables = model.step_variables(step)
    logs = {}
    for _ in range(step.repeat):
        with tf.GradientTape() as tape:
            loss, logs = model.run_update_loss(step, data)
            # Each replica's share of the global batch's mean (the
            # optimizer sums the replicas' gradients); then the loss scale,
            # identity unless the optimizer is a LossScaleOptimizer.
            scaled_loss = optimizer.scale_loss(replicas.mean_for_gradient(loss))
        kept = model.take_kept()
        grads = _gradients(tape, scaled_loss, variables)
        grads = _after(loss, grads)
        optimizer.apply(grads, variables)
    model.receive_kept(step, kept)
    return logs


def _under_a_strategy():
    """Whether the step runs in a replica of a tf.distribute strategy (where
    `optimizer.apply` all-reduces the gradients with a `merge_call`)."""
    return tf.distribute.has_strategy() and not tf.distribute.in_cross_replica_context()


def _average_batchnorm_statistics(model):
    """The replicas' mean of each per-replica BatchNorm's moving statistics.

    A BatchNorm that is not synchronized normalizes each replica's rows
    with their own statistics and folds them into its own copy of the
    moving averages; left so, the copies drift apart (and a checkpoint keeps
    replica 0's). Averaged after every batch they stay one value: the moving
    mean is then exactly the global batch's; the moving variance is the
    mean of the replicas' variances (Keras 2's MEAN aggregation)."""
    import keras

    context = tf.distribute.get_replica_context()
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, keras.layers.BatchNormalization) and not layer.synchronized:
            for variable in (layer.moving_mean, layer.moving_variance):
                variable.assign(context.all_reduce("MEAN", variable.value))


def _across_workers():
    """Whether the step is a replica of a multi-worker strategy."""
    return _under_a_strategy() and tf.distribute.get_strategy().extended._in_multi_worker_mode()


def _gradient_step_when(model, step, data, due):
    """An every-k gradient step under a tf.distribute strategy.

    The gradients' all-reduce (a `merge_call` in `optimizer.apply`) cannot
    run inside `tf.cond`. So the loss and gradients are conditional (the
    costly part, skipped), the optimizer applies on every batch, and when
    the step is not due its variables and optimizer state are put back as
    they were before.
    """
    optimizer = model.optimizer[step.name]
    variables = model.step_variables(step)
    state = variables + list(optimizer.variables)
    logs = {}
    for _ in range(step.repeat):
        def gradients():
            with tf.GradientTape() as tape:
                loss, logs = model.run_update_loss(step, data)
                scaled_loss = optimizer.scale_loss(replicas.mean_for_gradient(loss))
            model.receive_kept(step, model.take_kept())
            grads = _gradients(tape, scaled_loss, variables)
            return _after(loss, grads), logs

        grads, logs = _when(due, gradients)
        before = [tf.identity(v.value) for v in state]
        optimizer.apply(grads, variables)
        for variable, old in zip(state, before):
            variable.assign(tf.where(due, variable.value, old))
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
    """`run()` (which returns tensors: logs, gradients) when `due`, else
    zeros of the same structure; only the branch taken runs."""
    traced = {}

    def run_branch():
        outputs = run()
        traced["specs"] = tf.nest.map_structure(
            lambda x: tf.TensorSpec(x.shape, x.dtype), outputs
        )
        return outputs

    def skip_branch():
        # In a graph tf.cond has traced the true branch already; eagerly
        # (run_eagerly=True) only the taken branch runs, so the structure
        # comes from a trace that runs nothing.
        if "specs" not in traced:
            if not tf.executing_eagerly():
                raise RuntimeError("tf.cond traced the skipped branch first.")
            tf.function(run_branch).get_concrete_function()
        return tf.nest.map_structure(
            lambda spec: tf.zeros(spec.shape, spec.dtype), traced["specs"]
        )

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
