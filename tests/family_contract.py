"""The contract every kerasgen family passes, on whichever backend runs.

A family's test file sets a tiny config and a batch, then calls
`run_family_test`. The checks are generic: a family adapts to them through
its `update_steps()`, `sample()` and `get_config()`, never the other way.
"""

import json
import os

import keras
import numpy as np

from kerasgen.models.interfaces import provides


def numpy_weights(network):
    return [np.array(w) for w in network.get_weights()]


def trainable_values(network):
    return [np.array(v) for v in network.trainable_variables]


def step_targets(step):
    """The attribute names a step updates: an `UpdateStep`'s networks, an
    `AssignStep`'s assigned variables and layers."""
    return tuple(getattr(step, "networks", None) or getattr(step, "variables_of", ()))


def network_names(model):
    """Attribute names of every network (or assigned variable) any update
    step changes."""
    names = []
    for step in model.update_steps():
        for name in step_targets(step):
            if name not in names:
                names.append(name)
    return names


def all_values(model, name):
    """Every weight (trainable or not) of a network or assigned variable."""
    target = getattr(model, name)
    if isinstance(target, keras.Variable):
        return [np.array(target)]
    return numpy_weights(target)


def values_of(model, name):
    """The values of a network's trainable variables, or of everything an
    assign step assigns under `name` (a variable, or a layer's weights)."""
    target = getattr(model, name)
    if isinstance(target, keras.Variable):
        return [np.array(target)]
    if target.trainable_variables:
        return trainable_values(target)
    return [np.array(v) for v in target.weights]


def fit_one_batch(model, batch):
    """One `fit()` step on exactly this batch, no shuffling."""
    x, y = batch
    n = len(x)
    history = model.fit(x, y, batch_size=n, epochs=1, shuffle=False, verbose=0)
    return {k: v[-1] for k, v in history.history.items()}


def build(cls, init_kwargs, seed=0):
    keras.utils.set_random_seed(seed)
    return cls(**init_kwargs)


def only_step(model, step_name):
    """Restricts a model to one of its update steps (for isolation checks)."""
    step = next(s for s in model.update_steps() if s.name == step_name)
    # Both: compile() builds optimizers for all_update_steps().
    model.update_steps = model.all_update_steps = lambda: [step]
    defaults = model.default_optimizers()
    optimizers = {step_name: defaults[step_name]} if step_name in defaults else {}
    model.compile(optimizers)
    return step


def model_outputs(model, batch, seed):
    """Three samples, or for a translation family three translations, or
    for a swapping family three swaps."""
    if provides(model, "translate"):
        return model.translate(batch[0][:3])
    if provides(model, "swap"):
        return model.swap(batch[0][:3], batch[0][-3:])
    return model.sample(3, seed=seed)


def changed(before, after):
    return [not np.array_equal(a, b) for a, b in zip(before, after)]


def run_family_test(cls, init_kwargs, batch, tmp_path, value_range=(-1.0, 1.0)):
    """Runs the family contract for `cls` built with `init_kwargs`, training
    on `batch = (images, labels or None)`; returns the trained model."""
    # 1. Builds from a tiny config.
    model = build(cls, init_kwargs)
    assert model.built

    # 2. get_config -> JSON -> from_config gives the same config.
    config = model.get_config()
    restored = cls.from_config(json.loads(json.dumps(config)))
    assert restored.get_config() == config

    # 3a. Each update step alone changes every trainable variable of its own
    #     networks and nothing in the other networks.
    all_networks = network_names(model)
    for step in model.update_steps():
        isolated = build(cls, init_kwargs)
        only_step(isolated, step.name)
        before = {n: values_of(isolated, n) for n in all_networks}
        logs = fit_one_batch(isolated, batch)
        assert logs and all(np.isfinite(v) for v in logs.values()), logs
        for name in all_networks:
            after = values_of(isolated, name)
            moved = changed(before[name], after)
            if name in step_targets(step):
                assert all(moved), (
                    f"step {step.name!r} left {moved.count(False)} variables "
                    f"of {name!r} unchanged"
                )
            else:
                assert not any(moved), f"step {step.name!r} changed {name!r}"

    # 3b. All steps together: finite losses, every optimizer advanced.
    model.compile()
    logs = fit_one_batch(model, batch)
    assert logs and all(np.isfinite(v) for v in logs.values()), logs
    assert int(model.optimizer.iterations) == 1
    for name, child in model.optimizer.items():
        repeat = next(s.repeat for s in model.update_steps() if s.name == name)
        assert int(child.iterations) == repeat, (name, int(child.iterations))

    # 4. sample(seed=...) (translate(images) for image-to-image families) is
    #    deterministic, with the declared shape and range.
    spec = model.data_spec()
    first = model_outputs(model, batch, seed=7)
    again = model_outputs(model, batch, seed=7)
    assert first.shape == (3,) + spec.shape
    assert first.dtype == np.float32
    np.testing.assert_array_equal(first, again)
    if provides(model, "sample"):
        assert not np.array_equal(first, model.sample(3, seed=8))
    low, high = value_range
    assert first.min() >= low and first.max() <= high

    # 5. .keras save and safe-mode load reproduce the samples, and the
    #    loaded model's next step equals the original's next step.
    path = os.path.join(str(tmp_path), "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert type(loaded) is cls
    np.testing.assert_allclose(model_outputs(loaded, batch, seed=7), first, atol=1e-6)
    assert int(loaded.optimizer.iterations) == 1
    logs_original = fit_one_batch(model, batch)
    logs_loaded = fit_one_batch(loaded, batch)
    for key in logs_original:
        np.testing.assert_allclose(logs_loaded[key], logs_original[key], rtol=1e-5, atol=1e-6)
    for name in all_networks:
        for a, b in zip(all_values(model, name), all_values(loaded, name)):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    return model
