"""Assign steps, every-k steps and training phases, on the running backend.

Run once with KERAS_BACKEND=tensorflow and once with KERAS_BACKEND=jax. The
toy models here are a few scalars, so that every expected value is worked
out by hand in numpy.
"""

import keras
import numpy as np
import pytest
from keras import ops

from kerasgen.training import AssignStep, GenerativeModel, MultiOptimizer, Phase, UpdateStep
from kerasgen.training.phases import phase_at, segments, total_steps


def fit(model, x, batch_size, callbacks=()):
    return model.fit(x, batch_size=batch_size, epochs=1, shuffle=False,
                     verbose=0, callbacks=list(callbacks))


def count(variable):
    return int(ops.convert_to_numpy(variable))


class BatchLogs(keras.callbacks.Callback):
    """The logs of every batch, in order."""

    def __init__(self):
        super().__init__()
        self.logs = []

    def on_train_batch_end(self, batch, logs=None):
        self.logs.append({k: float(v) for k, v in (logs or {}).items()})


class Scalar(keras.layers.Layer):
    """A network that is one trainable scalar."""

    def __init__(self, initial=0.0, **kwargs):
        super().__init__(**kwargs)
        self.value = self.add_weight(
            shape=(), initializer=keras.initializers.Constant(initial), name="value"
        )
        self.built = True


class Counts(keras.layers.Layer):
    """A layer of non-trainable counters (the shape of Naive Bayes counts)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.total = self.add_weight(shape=(), initializer="zeros", trainable=False,
                                     name="total")
        self.positive = self.add_weight(shape=(), initializer="zeros", trainable=False,
                                        name="positive")
        self.built = True


# === Assign steps: EM for a 1-D Gaussian mixture ==============================

@keras.saving.register_keras_serializable(package="kerasgen_tests")
class StepsToyGMM(GenerativeModel):
    """Two 1-D Gaussians fitted by EM, two EM iterations per batch, and a
    count of the points seen: only assign steps, so no optimizer."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        constant = keras.initializers.Constant
        self.means = self.add_weight(shape=(2,), initializer=constant([-1.0, 1.0]),
                                     trainable=False, name="means")
        self.variances = self.add_weight(shape=(2,), initializer="ones",
                                         trainable=False, name="variances")
        self.mixture = self.add_weight(shape=(2,), initializer=constant(0.5),
                                       trainable=False, name="mixture")
        self.counts = Counts()
        self.built = True

    def em(self, images, labels):
        x = images[:, :1]  # (batch, 1) against (2,) components
        log_p = (
            ops.log(self.mixture)
            - 0.5 * ops.log(2 * np.pi * self.variances)
            - (x - self.means) ** 2 / (2 * self.variances)
        )
        log_norm = ops.logsumexp(log_p, axis=1, keepdims=True)
        r = ops.exp(log_p - log_norm)
        n_k = ops.sum(r, axis=0)
        means = ops.sum(r * x, axis=0) / n_k
        variances = ops.sum(r * (x - means) ** 2, axis=0) / n_k
        mixture = n_k / ops.cast(ops.shape(x)[0], "float32")
        new = {"means": means, "variances": variances, "mixture": mixture}
        return new, {"log_likelihood": ops.mean(log_norm)}

    def count(self, images, labels):
        # The list form: values in the order of step_variables (the layer's
        # weights).
        total = self.counts.total + ops.cast(ops.shape(images)[0], "float32")
        positive = self.counts.positive + ops.sum(ops.cast(images[:, 0] > 0, "float32"))
        return [total, positive], {}

    def update_steps(self):
        return [
            AssignStep("em", self.em, ("means", "variances", "mixture"), repeat=2),
            AssignStep("count", self.count, ("counts",)),
        ]


def numpy_em(x, means, variances, mixture):
    x = x[:, None].astype(np.float64)
    log_p = (np.log(mixture) - 0.5 * np.log(2 * np.pi * variances)
             - (x - means) ** 2 / (2 * variances))
    log_norm = np.logaddexp(log_p[:, 0], log_p[:, 1])[:, None]
    r = np.exp(log_p - log_norm)
    n_k = r.sum(0)
    means = (r * x).sum(0) / n_k
    variances = (r * (x - means) ** 2).sum(0) / n_k
    return means, variances, n_k / len(x), log_norm.mean()


def gmm_points(batches, batch_size=16):
    rng = np.random.default_rng(0)
    centers = rng.choice([-2.0, 3.0], size=batches * batch_size)
    return (centers + rng.normal(0, 0.7, centers.shape)).astype("float32")[:, None]


def expected_gmm(points, batch_size=16):
    means, variances, mixture = np.array([-1.0, 1.0]), np.ones(2), np.full(2, 0.5)
    for start in range(0, len(points), batch_size):
        x = points[start:start + batch_size, 0]
        for _ in range(2):  # repeat=2
            means, variances, mixture, log_likelihood = numpy_em(x, means, variances, mixture)
    return means, variances, mixture, log_likelihood


def test_assign_step_assigns_the_em_update_exactly():
    points = gmm_points(3)
    model = StepsToyGMM()
    model.compile()  # every step is an assign step: no optimizer needed
    assert model.optimizer.step_names == []
    history = fit(model, points, batch_size=16)

    means, variances, mixture, log_likelihood = expected_gmm(points)
    np.testing.assert_allclose(ops.convert_to_numpy(model.means), means, rtol=1e-5)
    np.testing.assert_allclose(ops.convert_to_numpy(model.variances), variances, rtol=1e-5)
    np.testing.assert_allclose(ops.convert_to_numpy(model.mixture), mixture, rtol=1e-5)
    np.testing.assert_allclose(history.history["log_likelihood"][-1], log_likelihood,
                               rtol=1e-5)
    # The second assign step, a layer's weights given as a list.
    assert float(ops.convert_to_numpy(model.counts.total)) == 48.0
    assert float(ops.convert_to_numpy(model.counts.positive)) == float((points > 0).sum())
    assert count(model.optimizer.iterations) == 3
    assert model.trainable_variables == []


def test_assign_only_model_round_trips_through_a_keras_file(tmp_path):
    points = gmm_points(4)
    model = StepsToyGMM()
    model.compile()
    fit(model, points[:32], batch_size=16)
    path = str(tmp_path / "gmm.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded.optimizer, MultiOptimizer)
    assert loaded.optimizer.step_names == []
    assert count(loaded.optimizer.iterations) == 2
    np.testing.assert_array_equal(ops.convert_to_numpy(loaded.means),
                                  ops.convert_to_numpy(model.means))
    # The loaded model goes on exactly as the original would have.
    fit(loaded, points[32:], batch_size=16)
    means, variances, mixture, _ = expected_gmm(points)
    np.testing.assert_allclose(ops.convert_to_numpy(loaded.means), means, rtol=1e-5)
    np.testing.assert_allclose(ops.convert_to_numpy(loaded.variances), variances, rtol=1e-5)
    assert float(ops.convert_to_numpy(loaded.counts.total)) == 64.0
    assert count(loaded.optimizer.iterations) == 4


def test_an_optimizer_for_an_assign_step_is_refused():
    model = StepsToyGMM()
    with pytest.raises(ValueError, match=r"assign steps \['em', 'count'\] take none"):
        model.compile({"em": keras.optimizers.SGD()})
    model.compile({})  # the same as no optimizer at all
    assert count(model.optimizer.iterations) == 0


class _BadAssign(StepsToyGMM):
    def __init__(self, returns, **kwargs):
        super().__init__(**kwargs)
        self.returns = returns

    def update_steps(self):
        return [AssignStep("bad", lambda images, labels: (self.returns(), {}), ("means",))]


@pytest.mark.parametrize("returns, message", [
    (lambda: {"mean": ops.zeros((2,))}, r"one value per name .*Received: new_values keys=\['mean'\]"),
    (lambda: [ops.zeros((3,))], r"has shape \(2,\)\. Received: shape=\(3,\)"),
    (lambda: [ops.zeros((2,)), ops.zeros((2,))], r"assigns 1 variables\. Received: 2 values"),
])
def test_assign_step_values_are_checked(returns, message):
    model = _BadAssign(returns)
    model.compile()
    with pytest.raises(ValueError, match=message):
        fit(model, gmm_points(1), batch_size=16)


def test_step_arguments_are_checked():
    with pytest.raises(ValueError, match="Received: every=0"):
        UpdateStep("d", None, ("discriminator",), every=0)
    with pytest.raises(ValueError, match="Received: repeat=1.5"):
        AssignStep("em", None, ("means",), repeat=1.5)
    with pytest.raises(TypeError, match="Received: variables_of='means'"):
        AssignStep("em", None, "means")

    class Misnamed(StepsToyGMM):
        def update_steps(self):
            return [AssignStep("em", self.em, ("seed",))]

    with pytest.raises(TypeError, match="Received: seed=NoneType"):
        Misnamed().compile()


# === Every-k steps =============================================================

@keras.saving.register_keras_serializable(package="kerasgen_tests")
class StepsToyLazy(GenerativeModel):
    """A gradient step every batch, a gradient step (Adam) every 3rd batch,
    and an assign step every 3rd batch that writes the 1-based number of the
    batch it runs on into `ran_on`."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.fast = Scalar(0.0)
        self.lazy = Scalar(0.0)
        self.ran_on = self.add_weight(shape=(10,), initializer="zeros",
                                      trainable=False, name="ran_on")
        self.built = True

    def fast_loss(self, images, labels):
        loss = (self.fast.value - ops.mean(images)) ** 2
        return loss, {"fast_loss": loss}

    def lazy_loss(self, images, labels):
        loss = (self.lazy.value - ops.mean(images)) ** 2 + 1.0  # never 0
        return loss, {"lazy_loss": loss}

    def record(self, images, labels):
        done = ops.cast(self.optimizer.iterations, "int32")
        number = ops.cast(done + 1, "float32")
        ran_on = self.ran_on + number * ops.one_hot(done, 10)
        return {"ran_on": ran_on}, {"recorded": number}

    def update_steps(self):
        return [
            UpdateStep("fast", self.fast_loss, ("fast",)),
            UpdateStep("lazy", self.lazy_loss, ("lazy",), every=3),
            AssignStep("record", self.record, ("ran_on",), every=3),
        ]

    def default_optimizers(self):
        return {"fast": keras.optimizers.SGD(0.1), "lazy": keras.optimizers.Adam(0.1)}


def lazy_batches():
    # Nine batches of four, each batch with its own mean.
    return np.repeat(np.arange(1.0, 10.0), 4).astype("float32")[:, None]


def lazy_state(model):
    variables = [model.fast.value, model.lazy.value, model.ran_on]
    variables += model.optimizer.variables
    return [ops.convert_to_numpy(v) for v in variables]


def test_every_k_step_runs_on_batches_k_2k_3k():
    model = StepsToyLazy()
    model.compile()
    logs = BatchLogs()
    fit(model, lazy_batches(), batch_size=4, callbacks=[logs])

    np.testing.assert_array_equal(ops.convert_to_numpy(model.ran_on),
                                  [0, 0, 3, 0, 0, 6, 0, 0, 9, 0])
    assert count(model.optimizer.iterations) == 9
    assert count(model.optimizer["fast"].iterations) == 9
    assert count(model.optimizer["lazy"].iterations) == 3  # skipped Adam steps do not count
    # A skipped step reports 0 on that batch.
    ran = [i + 1 for i, batch in enumerate(logs.logs) if batch["lazy_loss"] != 0]
    assert ran == [3, 6, 9]
    assert [batch["recorded"] for batch in logs.logs] == [0, 0, 3, 0, 0, 6, 0, 0, 9]
    assert all(batch["fast_loss"] > 0 for batch in logs.logs)

    # The lazy variable moved only when its step ran: Keras's Adam from 0
    # on the means 3, 6 and 9, by hand.
    v, m, s = 0.0, 0.0, 0.0
    for t, mean in enumerate([3.0, 6.0, 9.0], start=1):
        g = 2 * (v - mean)
        m = 0.9 * m + 0.1 * g
        s = 0.999 * s + 0.001 * g * g
        v -= 0.1 * np.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t) * m / (np.sqrt(s) + 1e-7)
    np.testing.assert_allclose(float(ops.convert_to_numpy(model.lazy.value)), v, rtol=1e-5)


def test_every_k_cadence_and_state_resume_across_a_checkpoint(tmp_path):
    batches = lazy_batches()
    uninterrupted = StepsToyLazy()
    uninterrupted.compile()
    reference_logs = BatchLogs()
    fit(uninterrupted, batches, batch_size=4, callbacks=[reference_logs])

    first = StepsToyLazy()
    first.compile()
    fit(first, batches[:16], batch_size=4)  # batches 1-4
    path = str(tmp_path / "lazy.keras")
    first.save(path)
    resumed = keras.saving.load_model(path)
    assert count(resumed.optimizer.iterations) == 4
    assert count(resumed.optimizer["lazy"].iterations) == 1
    resumed_logs = BatchLogs()
    fit(resumed, batches[16:], batch_size=4, callbacks=[resumed_logs])  # 5-9

    np.testing.assert_array_equal(ops.convert_to_numpy(resumed.ran_on),
                                  [0, 0, 3, 0, 0, 6, 0, 0, 9, 0])
    for got, want in zip(lazy_state(resumed), lazy_state(uninterrupted)):
        np.testing.assert_allclose(got, want, rtol=1e-6)
    for got, want in zip(resumed_logs.logs, reference_logs.logs[4:]):
        assert got.keys() == want.keys()
        for key in want:
            np.testing.assert_allclose(got[key], want[key], rtol=1e-6)


def test_every_k_step_runs_the_same_eagerly():
    compiled, eager = StepsToyLazy(), StepsToyLazy()
    compiled.compile()
    eager.compile(run_eagerly=True)
    compiled_logs, eager_logs = BatchLogs(), BatchLogs()
    fit(compiled, lazy_batches(), batch_size=4, callbacks=[compiled_logs])
    fit(eager, lazy_batches(), batch_size=4, callbacks=[eager_logs])
    for got, want in zip(lazy_state(eager), lazy_state(compiled)):
        np.testing.assert_allclose(got, want, rtol=1e-6)
    # Zeros for the skipped step even before it first ran.
    assert eager_logs.logs[0] == {"fast_loss": 1.0, "lazy_loss": 0.0, "recorded": 0.0}
    for got, want in zip(eager_logs.logs, compiled_logs.logs):
        assert got.keys() == want.keys()
        np.testing.assert_allclose(list(got.values()), list(want.values()), rtol=1e-6)


def test_every_k_step_works_with_steps_per_execution():
    # Several batches in one compiled call: the cadence is read from the
    # counter batch by batch, not once per call.
    model = StepsToyLazy()
    model.compile(steps_per_execution=3)
    fit(model, lazy_batches()[:28], batch_size=4)  # 7 batches: 3 + 3 + 1
    np.testing.assert_array_equal(ops.convert_to_numpy(model.ran_on),
                                  [0, 0, 3, 0, 0, 6, 0, 0, 0, 0])
    assert count(model.optimizer["lazy"].iterations) == 2


# === Phases ====================================================================

PHASES = [Phase("up", 3), Phase("down", 4)]
TARGETS = [1.0, -2.0]


def test_segments_split_at_phase_boundaries():
    assert segments(PHASES, 0, 7) == [(0, 0, 3), (1, 3, 7)]
    assert segments(PHASES, 2, 5) == [(0, 2, 3), (1, 3, 5)]
    assert segments(PHASES, 3, 7) == [(1, 3, 7)]
    assert segments(PHASES, 5, 12) == [(1, 5, 12)]  # the last phase goes on
    assert segments(PHASES, 7, 7) == []
    assert segments([], 2, 6) == [(0, 2, 6)]
    assert segments(PHASES, np.int64(2), np.int64(4)) == [(0, 2, 3), (1, 3, 4)]
    three = [Phase("a", 2), Phase("b", 1), Phase("c", 2)]
    assert segments(three, 1, 5) == [(0, 1, 2), (1, 2, 3), (2, 3, 5)]
    assert total_steps(PHASES) == 7 and total_steps([]) == 0
    assert [phase_at(PHASES, s) for s in (0, 2, 3, 6, 9)] == [
        (0, 0), (0, 2), (1, 0), (1, 3), (1, 6)]


def test_phase_arguments_are_checked():
    with pytest.raises(ValueError, match="Received: steps=0"):
        Phase("a", 0)
    with pytest.raises(TypeError, match="Received: name=''"):
        Phase("", 3)
    with pytest.raises(ValueError, match="Received: done=-1"):
        segments(PHASES, -1, 3)
    with pytest.raises(TypeError, match="Received: phase=3"):
        total_steps([3])


@keras.saving.register_keras_serializable(package="kerasgen_tests")
class StepsToyPhased(GenerativeModel):
    """One scalar pulled towards a target that each phase sets as a plain
    Python float (so the step must be traced again in each phase)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.net = Scalar(0.0)
        self.target = TARGETS[0]
        self.entered = []
        self.built = True

    def phases(self):
        return PHASES

    def enter_phase(self, index, step_in_phase):
        self.entered.append((index, step_in_phase))
        self.target = TARGETS[index]
        self.train_function = None  # the target is traced into the step

    def pull(self, images, labels):
        loss = (self.net.value - self.target) ** 2
        return loss, {"loss": loss}

    def update_steps(self):
        return [UpdateStep("pull", self.pull, ("net",))]

    def default_optimizers(self):
        return {"pull": keras.optimizers.SGD(0.25)}


def run_phases(model, done, total):
    """The CLI's loop: each segment in its phase, one fit() per segment."""
    phases = model.phases()
    x = np.zeros((total, 1), "float32")
    for index, start, stop in segments(phases, done, total):
        model.enter_phase(index, phase_at(phases, start)[1])
        fit(model, x[start:stop], batch_size=1)


def expected_phased(total):
    # SGD(0.25) on (w - target)^2: w <- w - 0.5 (w - target).
    w, trajectory = 0.0, []
    for step in range(total):
        target = TARGETS[phase_at(PHASES, step)[0]]
        w = w - 0.5 * (w - target)
        trajectory.append(w)
    return trajectory


def test_fit_goes_through_the_phases_in_order():
    model = StepsToyPhased()
    model.compile()
    run_phases(model, 0, 7)
    assert model.entered == [(0, 0), (1, 0)]
    assert count(model.optimizer.iterations) == 7
    np.testing.assert_allclose(float(ops.convert_to_numpy(model.net.value)),
                               expected_phased(7)[-1], rtol=1e-6)


@pytest.mark.parametrize("stop_at", [2, 5], ids=["mid_first_phase", "mid_second_phase"])
def test_resume_in_the_middle_of_a_phase(stop_at, tmp_path):
    uninterrupted = StepsToyPhased()
    uninterrupted.compile()
    run_phases(uninterrupted, 0, 7)
    np.testing.assert_allclose(float(ops.convert_to_numpy(uninterrupted.net.value)),
                               expected_phased(7)[-1], rtol=1e-6)

    first = StepsToyPhased()
    first.compile()
    run_phases(first, 0, stop_at)
    np.testing.assert_allclose(float(ops.convert_to_numpy(first.net.value)),
                               expected_phased(stop_at)[-1], rtol=1e-6)
    path = str(tmp_path / "phased.keras")
    first.save(path)
    resumed = keras.saving.load_model(path)
    done = count(resumed.optimizer.iterations)
    assert done == stop_at
    run_phases(resumed, done, 7)
    # Re-entered in the phase the checkpoint was in, at the step it had reached.
    assert resumed.entered[0] == phase_at(PHASES, stop_at)
    np.testing.assert_allclose(ops.convert_to_numpy(resumed.net.value),
                               ops.convert_to_numpy(uninterrupted.net.value), rtol=1e-6)
    for got, want in zip(resumed.optimizer.variables, uninterrupted.optimizer.variables):
        np.testing.assert_allclose(ops.convert_to_numpy(got), ops.convert_to_numpy(want))
