"""The JAX train step: stateless, so that Keras can jit it.

Keras's JAX trainer calls `train_step(state, data)` with the values of every
variable, `state = (trainable, non_trainable, optimizer, metrics)`, and
expects the new values back. Nothing here reads or assigns a variable
directly: each loss runs in a `keras.StatelessScope` that maps every
variable to its current value, and the scope reports what the forward pass
assigned (BatchNorm statistics, the noise seed).

This module imports JAX only; it must keep working with TensorFlow absent
(the GPU machines the zoo trains on have none).
"""

import jax
import keras


def _index(variables):
    return {id(v): i for i, v in enumerate(variables)}


def train_step(model, state, data):
    trainable, non_trainable, optimizer_values, metrics_values = state
    trainable = list(trainable)
    non_trainable = list(non_trainable)
    optimizer_values = list(optimizer_values)

    trainable_refs = model.trainable_variables
    non_trainable_refs = model.non_trainable_variables
    optimizer_index = _index(model.optimizer.variables)
    trainable_index = _index(trainable_refs)

    # The batch transform (augmentation) runs once, before every step; the
    # noise seed it advances comes back from its scope.
    mapping = list(zip(trainable_refs, trainable))
    mapping += list(zip(non_trainable_refs, non_trainable))
    with keras.StatelessScope(state_mapping=mapping) as scope:
        data = model.prepare_batch(data)
    non_trainable = [
        value if scope.get_current_value(ref) is None else scope.get_current_value(ref)
        for ref, value in zip(non_trainable_refs, non_trainable)
    ]

    logs = {}
    for step in model.update_steps():
        optimizer = model.optimizer[step.name]
        step_slots = [trainable_index[id(v)] for v in model.step_variables(step)]
        optimizer_slots = [optimizer_index[id(v)] for v in optimizer.variables]

        def loss_fn(step_values, trainable, non_trainable, optimizer_values):
            trainable = list(trainable)
            for slot, value in zip(step_slots, step_values):
                trainable[slot] = value
            mapping = list(zip(trainable_refs, trainable))
            mapping += list(zip(non_trainable_refs, non_trainable))
            # The loss scale of a LossScaleOptimizer is one of its variables.
            mapping += [
                (ref, optimizer_values[slot])
                for ref, slot in zip(optimizer.variables, optimizer_slots)
            ]
            with keras.StatelessScope(state_mapping=mapping) as scope:
                loss, step_logs = model.run_update_loss(step, data)
                scaled_loss = optimizer.scale_loss(loss)
            new_non_trainable = []
            for ref, value in zip(non_trainable_refs, non_trainable):
                updated = scope.get_current_value(ref)
                new_non_trainable.append(value if updated is None else updated)
            return scaled_loss, (step_logs, new_non_trainable)

        grad_fn = jax.value_and_grad(loss_fn, has_aux=True)
        for _ in range(step.repeat):
            step_values = [trainable[slot] for slot in step_slots]
            (_, (step_logs, non_trainable)), grads = grad_fn(
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
            logs.update(step_logs)

    # Exponential moving average of the sampling network.
    if model.ema_decay is not None:
        non_trainable_index = _index(non_trainable_refs)
        values = {id(v): x for v, x in zip(trainable_refs, trainable)}
        values.update({id(v): x for v, x in zip(non_trainable_refs, non_trainable)})
        for average, source in model.ema_pairs():
            slot = non_trainable_index[id(average)]
            non_trainable[slot] = model.ema_update(
                non_trainable[slot], values[id(source)]
            )

    # One more batch done (the counter `--resume` reads).
    slot = optimizer_index[id(model.optimizer.iterations)]
    optimizer_values[slot] = optimizer_values[slot] + 1

    return logs, (trainable, non_trainable, optimizer_values, metrics_values)
