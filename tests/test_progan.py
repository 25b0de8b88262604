"""Progressive GAN: the fade-in, the equalized learning rate, the layers of
section 4, the phase schedule, and resuming in the middle of a fade-in."""

import math

import keras
import numpy as np
import pytest
from keras import ops

import kerasgen
from family_contract import run_family_test
from kerasgen.layers.progressive import EqualizedConv2D
from kerasgen.layers.progressive import EqualizedDense
from kerasgen.layers.progressive import MinibatchStdDev
from kerasgen.layers.progressive import PixelNormalization
from kerasgen.layers.progressive import downsample
from kerasgen.layers.progressive import upsample
from kerasgen.models.progan import ProgressiveDiscriminator
from kerasgen.models.progan import ProgressiveGenerator
from kerasgen.training.phases import phase_at
from kerasgen.training.phases import segments
from backends import backend_independent

TINY = dict(image_size=16, channels=1, latent_dim=8, fmap_base=32, fmap_max=16, seed=0)


def tiny(**overrides):
    keras.utils.set_random_seed(0)
    return kerasgen.ProGAN(**{**TINY, **overrides})


def real_batch(n=8, size=16, seed=1):
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, (n, size, size, 1)).astype("float32")


def test_family_contract(tmp_path):
    # At 4x4 (no growth) every variable takes part in every step, as the
    # contract checks; at a higher final resolution the lower resolutions'
    # toRGB and fromRGB layers sit idle once they have faded out.
    run_family_test(kerasgen.ProGAN, dict(TINY, image_size=4), (real_batch(size=4), None),
                    tmp_path)


# --- The fade-in ----------------------------------------------------------------------


def test_the_generators_fade_in_runs_from_the_previous_resolution_to_the_new_block():
    g = ProgressiveGenerator(8, levels=2, channels=3, fmap_base=32, fmap_max=16)
    z = np.random.default_rng(0).normal(size=(3, 8)).astype("float32")
    previous = upsample(g(z, level=0))
    new_block = g(z, level=1)
    at_0 = g(z, level=1, alpha=ops.convert_to_tensor(0.0))
    at_1 = g(z, level=1, alpha=ops.convert_to_tensor(1.0))
    halfway = g(z, level=1, alpha=ops.convert_to_tensor(0.5))
    np.testing.assert_allclose(at_0, previous, atol=1e-6)
    np.testing.assert_allclose(at_1, new_block, atol=1e-6)
    np.testing.assert_allclose(halfway, 0.5 * (np.asarray(previous) + new_block), atol=1e-5)
    assert not np.allclose(previous, new_block, atol=1e-3)


def test_the_discriminators_fade_in_runs_from_the_previous_resolution_to_the_new_block():
    d = ProgressiveDiscriminator(levels=2, channels=3, fmap_base=32, fmap_max=16)
    x = np.random.default_rng(0).normal(size=(4, 8, 8, 3)).astype("float32")
    previous = d(downsample(x), level=0)
    new_block = d(x, level=1)
    np.testing.assert_allclose(d(x, level=1, alpha=ops.convert_to_tensor(0.0)), previous,
                               atol=1e-5)
    np.testing.assert_allclose(d(x, level=1, alpha=ops.convert_to_tensor(1.0)), new_block,
                               atol=1e-5)
    assert not np.allclose(previous, new_block, atol=1e-4)


# --- Section 4's layers ---------------------------------------------------------------


def test_equalized_layers_hold_unit_variance_weights_and_scale_them_at_run_time():
    keras.utils.set_random_seed(0)
    conv = EqualizedConv2D(64, 3)
    x = np.random.default_rng(0).normal(size=(8, 16, 16, 32)).astype("float32")
    y = np.asarray(conv(x))
    kernel = np.asarray(conv.kernel)
    assert abs(kernel.std() - 1.0) < 0.03 and abs(kernel.mean()) < 0.03
    # He's constant at run time: unit-variance inputs give variance gain^2 = 2
    # (the interior, away from the zero padding).
    assert abs(y[:, 1:-1, 1:-1].std() - math.sqrt(2.0)) < 0.05
    # The constant multiplies whatever the kernel holds at call time.
    conv.kernel.assign(np.ones_like(kernel))
    expected = x[:, 7:10, 7:10, :].sum(axis=(1, 2, 3)) * math.sqrt(2.0) / math.sqrt(9 * 32)
    np.testing.assert_allclose(np.asarray(conv(x))[:, 8, 8, 0], expected, rtol=1e-4)

    dense = EqualizedDense(4, gain=1.0)
    dense.build((None, 16))
    dense.kernel.assign(np.ones((16, 4), "float32"))
    np.testing.assert_allclose(dense(np.ones((1, 16), "float32")), np.full((1, 4), 4.0),
                               rtol=1e-6)  # 16 * 1 / sqrt(16)


def test_pixel_norm_gives_every_pixel_unit_mean_square():
    x = np.random.default_rng(0).normal(3.0, 5.0, size=(2, 4, 4, 8)).astype("float32")
    y = np.asarray(PixelNormalization()(x))
    np.testing.assert_allclose(np.mean(np.square(y), axis=-1), 1.0, rtol=1e-5)


def test_minibatch_stddev_appends_the_mean_standard_deviation_over_the_batch():
    x = np.random.default_rng(0).normal(size=(6, 4, 4, 3)).astype("float32")
    y = np.asarray(MinibatchStdDev()(x))
    assert y.shape == (6, 4, 4, 4)
    np.testing.assert_allclose(y[..., :3], x)
    np.testing.assert_allclose(y[..., 3], np.sqrt(x.var(axis=0) + 1e-8).mean(), rtol=1e-5)


# --- The schedule and resuming --------------------------------------------------------


def test_the_schedule_follows_the_target_resolution_and_shares_the_run():
    model = tiny()
    assert model.phases() == []  # no plan: full resolution from the start
    model.plan_run(50)
    assert model.phase_steps == 10
    assert [p.name for p in model.phases()] == [
        "4x4", "8x8 fade-in", "8x8", "16x16 fade-in", "16x16"]
    model.enter_phase(3, 4)
    assert (model.level, model.fading, model.phase_start) == (2, True, 30)


def test_alpha_goes_from_0_to_1_over_a_fade_in():
    model = tiny(phase_steps=4)
    model.compile()
    model.enter_phase(1, 0)
    alphas = []
    for done in range(4, 9):
        model.optimizer.iterations.assign(done)
        alphas.append(float(model.alpha()))
    assert alphas == [0.0, 0.25, 0.5, 0.75, 1.0]
    model.enter_phase(2, 0)
    assert model.alpha() == 1.0


def train(model, batch, done, total):
    """What `kerasgen train` does: fit each phase's segment after entering it."""
    phases = model.phases()
    for index, start, stop in segments(phases, done, total):
        model.enter_phase(index, phase_at(phases, start)[1])
        model.fit(batch, batch_size=len(batch), epochs=stop - start, shuffle=False, verbose=0)


# Phase arithmetic, the same on both backends (45 s on JAX): on JAX in
# `make test-all`; test_every_family trains ProGAN on JAX.
@backend_independent
def test_resuming_in_the_middle_of_a_fade_in_gives_the_same_steps(tmp_path):
    batch = real_batch(4, size=8)
    # 4x4 for 3 steps, then the 8x8 fade-in (steps 3-5): stop after step 4.
    through = tiny(image_size=8, phase_steps=3)
    through.compile()
    train(through, batch, 0, 8)

    stopped = tiny(image_size=8, phase_steps=3)
    stopped.compile()
    train(stopped, batch, 0, 4)
    assert (stopped.level, stopped.fading) == (1, True)
    stopped.save(tmp_path / "checkpoint.keras")
    resumed = keras.saving.load_model(tmp_path / "checkpoint.keras")
    assert int(resumed.optimizer.iterations) == 4
    train(resumed, batch, 4, 8)

    for a, b in zip(through.weights, resumed.weights):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-5, err_msg=a.path)


def test_samples_during_growth_are_shown_at_the_final_size():
    model = tiny(phase_steps=2)
    model.compile()
    model.enter_phase(0, 0)
    images = model.sample(3, seed=0)
    assert images.shape == (3, 16, 16, 1)
    # A 4x4 image blown up by 4: each 4x4 block holds one value.
    np.testing.assert_allclose(images[:, ::4, ::4], images[:, 3::4, 3::4])
    assert np.abs(images).max() <= 1.0


@pytest.mark.parametrize("kwargs, message", [
    (dict(image_size=12), "image_size"),
    (dict(channels=2), "channels"),
    (dict(phase_steps=0), "phase_steps"),
])
def test_bad_arguments_are_refused_in_one_line(kwargs, message):
    with pytest.raises(ValueError, match=message) as error:
        tiny(**kwargs)
    assert "\n" not in str(error.value)
