"""The JAX train step: stateless, so that Keras can jit it.

Keras's JAX trainer calls `train_step(state, data)` with the values of every
variable, `state = (trainable, non_trainable, optimizer, metrics)`, and
expects the new values back. Nothing here reads or assigns a variable
directly: each loss (or assign update) runs in a `keras.StatelessScope` that
maps every variable to its current value, and the scope reports what the
forward pass assigned (BatchNorm statistics, the noise seed). A gradient
step's optimizer returns its new values from `stateless_apply`; an assign
step's values replace the old ones in the trainable or non-trainable list.

Each step is a pure function of `values = (trainable, non_trainable,
optimizer)`; a step that runs every k-th batch goes through `jax.lax.cond`,
so the jitted step holds it once and skips it at run time.

This module imports JAX only; it must keep working with TensorFlow absent
(the GPU machines the zoo trains on have none).
"""

import functools

import jax
import keras

from kerasgen.training.base import AssignStep, step_due


def _index(variables):
    return {id(v): i for i, v in enumerate(variables)}


class _State:
    """The model's variables, in the order of Keras's state lists."""

    def __init__(self, model):
        self.trainable = model.trainable_variables
        self.non_trainable = model.non_trainable_variables
        self.optimizer = model.optimizer.variables
        self.trainable_index = _index(self.trainable)
        self.non_trainable_index = _index(self.non_trainable)
        self.optimizer_index = _index(self.optimizer)

    def mapping(self, trainable, non_trainable, optimizer_values):
        # Every variable, optimizer ones included: a loss may read the batch
        # counter (`model.optimizer.iterations`), a LossScaleOptimizer its
        # loss scale.
        return (
            list(zip(self.trainable, trainable))
            + list(zip(self.non_trainable, non_trainable))
            + list(zip(self.optimizer, optimizer_values))
        )

    def assigned_non_trainable(self, scope, non_trainable):
        """The non-trainable values, with those the scope assigned."""
        new = []
        for ref, value in zip(self.non_trainable, non_trainable):
            updated = scope.get_current_value(ref)
            new.append(value if updated is None else updated)
        return new


def train_step(model, state, data):
    trainable, non_trainable, optimizer_values, metrics_values = state
    refs = _State(model)
    trainable = list(trainable)
    optimizer_values = list(optimizer_values)

    # The batch transform (augmentation) runs once, before every step; the
    # noise seed it advances comes back from its scope.
    model.start_batch_handoff()
    mapping = refs.mapping(trainable, non_trainable, optimizer_values)
    with keras.StatelessScope(state_mapping=mapping) as scope:
        data = model.prepare_batch(data)
    non_trainable = refs.assigned_non_trainable(scope, non_trainable)

    iterations_slot = refs.optimizer_index[id(model.optimizer.iterations)]
    batches_done = optimizer_values[iterations_slot]
    values = (trainable, non_trainable, optimizer_values)
    logs = {}
    for step in model.update_steps():
        kind = _assign_step if isinstance(step, AssignStep) else _gradient_step
        run = functools.partial(kind, model, refs, step, data)
        if step.every == 1:
            values, step_logs = run(values)
        else:
            values, step_logs = _when(step_due(step, batches_done), run, values)
        logs.update(step_logs)
    trainable, non_trainable, optimizer_values = (list(v) for v in values)

    # Exponential moving average of the sampling network.
    if model.ema_decay is not None:
        current = {id(v): x for v, x in zip(refs.trainable, trainable)}
        current.update({id(v): x for v, x in zip(refs.non_trainable, non_trainable)})
        for average, source in model.ema_pairs():
            slot = refs.non_trainable_index[id(average)]
            non_trainable[slot] = model.ema_update(
                non_trainable[slot], current[id(source)]
            )

    for name, scale in model.loss_scales():
        logs[name] = optimizer_values[refs.optimizer_index[id(scale)]].astype("float32")

    # One more batch done (the counter `--resume` reads).
    optimizer_values[iterations_slot] = optimizer_values[iterations_slot] + 1
    model.start_batch_handoff()

    return logs, (trainable, non_trainable, optimizer_values, metrics_values)


def _gradient_step(model, refs, step, data, values):
    trainable, non_trainable, optimizer_values = (list(v) for v in values)
    optimizer = model.optimizer[step.name]
    step_slots = [refs.trainable_index[id(v)] for v in model.step_variables(step)]
    optimizer_slots = [refs.optimizer_index[id(v)] for v in optimizer.variables]

    def loss_fn(step_values, trainable, non_trainable, optimizer_values):
        trainable = list(trainable)
        for slot, value in zip(step_slots, step_values):
            trainable[slot] = value
        mapping = refs.mapping(trainable, non_trainable, optimizer_values)
        with keras.StatelessScope(state_mapping=mapping) as scope:
            loss, step_logs = model.run_update_loss(step, data)
            scaled_loss = optimizer.scale_loss(loss)
        new_non_trainable = refs.assigned_non_trainable(scope, non_trainable)
        # Out through the aux output: a tracer of the gradient's trace
        # cannot be used outside it.
        return scaled_loss, (step_logs, new_non_trainable, model.take_kept())

    grad_fn = jax.value_and_grad(loss_fn, has_aux=True)
    logs, kept = {}, {}
    for _ in range(step.repeat):
        step_values = [trainable[slot] for slot in step_slots]
        (_, (logs, non_trainable, kept)), grads = grad_fn(
            step_values, trainable, non_trainable, optimizer_values
        )
        new_values, new_optimizer_values = optimizer.stateless_apply(
            [optimizer_values[slot] for slot in optimizer_slots],
            grads,
            step_values,
        )
        for slot, value in zip(step_slots, new_values):
            trainable[slot] = value
        for slot, value in zip(optimizer_slots, new_optimizer_values):
            optimizer_values[slot] = value
    model.receive_kept(step, kept)
    return (trainable, non_trainable, optimizer_values), logs


def _assign_step(model, refs, step, data, values):
    trainable, non_trainable, optimizer_values = (list(v) for v in values)
    slots = []
    for variable in model.step_variables(step):
        if id(variable) in refs.trainable_index:
            slots.append((trainable, refs.trainable_index[id(variable)]))
        elif id(variable) in refs.non_trainable_index:
            slots.append((non_trainable, refs.non_trainable_index[id(variable)]))
        else:
            raise ValueError(
                f"Assign step {step.name!r} assigns a variable that is not one "
                "of the model's (trainable or non-trainable) variables. "
                f"Received: variable={variable.path!r}"
            )
    logs = {}
    for _ in range(step.repeat):
        mapping = refs.mapping(trainable, non_trainable, optimizer_values)
        with keras.StatelessScope(state_mapping=mapping) as scope:
            new_values, logs = model.run_assign_update(step, data)
        # In place, so that `slots` (which holds these lists) stays valid.
        non_trainable[:] = refs.assigned_non_trainable(scope, non_trainable)
        for (target, slot), value in zip(slots, new_values):
            target[slot] = value
    return (trainable, non_trainable, optimizer_values), logs


def _when(due, run, values):
    """`run(values)` when `due`, else `(values, zeros for run's logs)`."""
    # The skipped branch must return what the taken one does: the logs'
    # shapes come from an abstract trace of `run` (no computation).
    _, log_shapes = jax.eval_shape(run, values)

    def skip(values):
        zeros = {
            k: jax.numpy.zeros(s.shape, s.dtype) for k, s in log_shapes.items()
        }
        return values, zeros

    return jax.lax.cond(due, run, skip, values)
