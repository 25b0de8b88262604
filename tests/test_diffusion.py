"""DDPM and DDIM: the forward process, the samplers, inversion, guidance,
EMA use, export, and the family contract."""

import keras
import numpy as np
import pytest

from family_contract import run_family_test
from kerasgen.models.diffusion import DDPM
from kerasgen.models.diffusion import alpha_bar
from kerasgen.models.diffusion import ddim_sigma
from kerasgen.models.diffusion import ddim_timestep
from kerasgen.models.diffusion import noise_schedule
from kerasgen.models.diffusion import posterior_variance
from kerasgen.models.diffusion import q_sample

ON_TF = keras.backend.backend() == "tensorflow"
TINY = dict(image_size=8, filters=8, multipliers=(1, 2), blocks_per_level=1,
            attention_levels=(1,), groups=4, timesteps=1000, sampling_steps=10, dropout=0.0,
            learning_rate=2e-3)


def tiny(**overrides):
    keras.utils.set_random_seed(0)
    return DDPM(**{**TINY, **overrides})


def digits(n=64, size=8):
    """Real 8x8 digits (scikit-learn's) in [-1, 1], and their labels."""
    from kerasgen.data import load_images
    from kerasgen.data import to_unit_range

    data = load_images(None, image_size=size, channels=1, max_images=n)
    return to_unit_range(data.images), data.labels.astype("int32")


@pytest.fixture(scope="module")
def trained():
    """A conditional tiny model fitted 150 steps on real digits, EMA on."""
    model = tiny(num_classes=10, ema_decay=0.9)
    model.compile()
    images, labels = digits(256)
    model.fit(images, labels, batch_size=64, epochs=40, verbose=0, shuffle=False)
    return model


# --- The forward process and the schedules ----------------------------------------


@pytest.mark.parametrize("kind", ["linear", "cosine"])
def test_the_closed_form_of_q_matches_iterating_the_one_step_noise(kind):
    betas = noise_schedule(kind, 200)
    rng = np.random.default_rng(0)
    x0 = np.array([0.8, -0.3], "float32")
    draws = np.broadcast_to(x0, (20000, 2)).astype("float64")
    for beta in betas[:120]:
        draws = np.sqrt(1 - beta) * draws + np.sqrt(beta) * rng.standard_normal(draws.shape)
    t = 119
    closed = np.asarray(q_sample(np.broadcast_to(x0, (20000, 1, 1, 2)),
                                 np.full(20000, t), rng.standard_normal((20000, 1, 1, 2)),
                                 alpha_bar(betas).astype("float32")))[:, 0, 0]
    a = alpha_bar(betas)[t]
    # Both are N(sqrt(abar) x0, 1 - abar): means within 5 standard errors,
    # variances within 5%.
    for sample in (draws, closed):
        np.testing.assert_allclose(sample.mean(0), np.sqrt(a) * x0,
                                   atol=5 * np.sqrt((1 - a) / 20000))
        np.testing.assert_allclose(sample.var(0), 1 - a, rtol=0.05)
    # And exactly, the recursions for the mean factor and the variance.
    mean, var = 1.0, 0.0
    for beta in betas[:t + 1]:
        mean, var = mean * np.sqrt(1 - beta), (1 - beta) * var + beta
    np.testing.assert_allclose([mean, var], [np.sqrt(a), 1 - a], rtol=1e-10)


def test_the_schedules_are_those_of_the_papers():
    linear = noise_schedule("linear", 1000)
    assert linear[0] == pytest.approx(1e-4) and linear[-1] == pytest.approx(0.02)
    cosine = noise_schedule("cosine", 1000)
    bars = alpha_bar(cosine)
    assert np.all(np.diff(bars) < 0) and cosine.max() <= 0.999
    # Nichol and Dhariwal: abar_t = f(t) / f(0) with f = cos^2((t/T + s)/(1 + s) pi/2).
    f = np.cos((np.array([500, 0]) / 1000 + 0.008) / 1.008 * np.pi / 2) ** 2
    assert bars[499] == pytest.approx(f[0] / f[1], rel=1e-9)


@pytest.mark.parametrize("kind", ["linear", "cosine"])
def test_ddim_variances_at_eta_1_are_ddpm_posterior_variances(kind):
    betas = noise_schedule(kind, 1000)
    bars = alpha_bar(betas)
    previous = np.concatenate([[1.0], bars[:-1]])
    sigma = np.asarray(ddim_sigma(bars, previous, 1.0), "float64")
    # float32 on JAX (keras.ops), float64 on TensorFlow.
    np.testing.assert_allclose(sigma ** 2, posterior_variance(betas), rtol=1e-5, atol=1e-12)
    assert np.all(np.asarray(ddim_sigma(bars, previous, 0.0)) == 0)


def test_ddim_timesteps_are_trailing_and_every_timestep_at_s_equals_t():
    assert [ddim_timestep(i, 10, 1000) for i in (-1, 0, 9)] == [-1, 99, 999]
    assert [ddim_timestep(i, 1000, 1000) for i in range(1000)] == list(range(1000))


# --- What the network predicts ------------------------------------------------------


@pytest.mark.parametrize("prediction", ["epsilon", "v"])
def test_a_perfect_prediction_recovers_the_noise_and_the_image(prediction):
    model = tiny(prediction=prediction)
    rng = np.random.default_rng(1)
    x0 = rng.uniform(-1, 1, (3, 8, 8, 1)).astype("float32")
    eps = rng.standard_normal((3, 8, 8, 1)).astype("float32")
    t = np.array([0, 200, 999])
    a = model.alpha_bars[t].reshape(-1, 1, 1, 1).astype("float32")
    noisy = np.sqrt(a) * x0 + np.sqrt(1 - a) * eps
    target = eps if prediction == "epsilon" else np.sqrt(a) * eps - np.sqrt(1 - a) * x0
    got_eps, got_x0 = model.predict_noise(noisy, t, network=lambda inputs: target)
    np.testing.assert_allclose(np.asarray(got_eps), eps, atol=2e-4)
    np.testing.assert_allclose(np.asarray(got_x0), x0, atol=2e-3)


def test_training_lowers_the_denoising_loss():
    model = tiny()
    model.compile()
    images, _ = digits(256)
    history = model.fit(images, batch_size=64, epochs=30, verbose=0, shuffle=False)
    losses = history.history["loss"]
    assert np.mean(losses[-5:]) < 0.6 * np.mean(losses[:3])


def test_mixed_precision_trains_in_bfloat16_with_a_float32_loss_and_samples():
    # `kerasgen train --precision mixed_bfloat16` builds the model under the
    # policy; the U-Net computes in bfloat16, its last layer and the loss in
    # float32 (TensorFlow refuses to subtract a bfloat16 prediction from
    # float32 noise).
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        model = tiny(num_classes=10)
        model.compile()
        images, labels = digits(64)
        history = model.fit(images, labels, batch_size=32, epochs=1, verbose=0)
        samples = model.sample(4, seed=0, labels=np.arange(4), steps=3)
    finally:
        keras.config.set_dtype_policy(previous)
    assert model.denoiser.get_layer("conv_in").compute_dtype == "bfloat16"
    assert {v.dtype for v in model.trainable_weights} == {"float32"}
    assert np.isfinite(history.history["loss"]).all()
    assert samples.dtype == np.float32 and np.isfinite(samples).all()


# --- Sampling -------------------------------------------------------------------------


def test_ddim_at_eta_0_is_deterministic_and_ignores_the_step_noise(trained):
    first = trained.sample(6, seed=3, steps=10)
    np.testing.assert_array_equal(first, trained.sample(6, seed=3, steps=10))
    assert not np.array_equal(first, trained.sample(6, seed=4, steps=10))
    noise = trained.sample_latents(6, seed=3)
    labels = trained.check_labels(None, 6)
    # The same x_T with another seed for the per-step noise: the same images.
    np.testing.assert_allclose(trained.decode(noise, labels, steps=10), first, atol=1e-6)
    assert np.all(np.abs(first) <= 1)


def test_eta_and_ddpm_draw_fresh_noise_each_step(trained):
    noise = trained.sample_latents(4, seed=0)
    deterministic = trained.decode(noise, [1, 2, 3, 4], steps=10)
    stochastic = trained.sample(4, seed=0, labels=[1, 2, 3, 4], steps=10, eta=1.0)
    assert not np.allclose(deterministic, stochastic, atol=1e-3)
    ddpm = trained.sample(4, seed=0, labels=[1, 2, 3, 4], sampler="ddpm")
    np.testing.assert_array_equal(ddpm, trained.sample(4, seed=0, labels=[1, 2, 3, 4],
                                                       sampler="ddpm"))
    assert ddpm.shape == (4, 8, 8, 1) and np.all(np.isfinite(ddpm))


def test_ddim_inversion_reconstructs_the_input_at_50_steps(trained):
    images, labels = digits(16)
    # Clipping x_0 while decoding is not what inversion undoes.
    trained.clip_denoised = False
    try:
        latents = trained.encode(images, labels, steps=50)
        back = trained.decode(latents, labels, steps=50)
    finally:
        trained.clip_denoised = True
    assert latents.shape == images.shape
    # x_T looks like noise (unit variance) rather than like the digits.
    assert 0.5 < latents.std() < 1.5
    # Measured 0.044 RMS (0.10 at 20 steps, 0.022 at 100): the error of
    # evaluating each step's noise at the start of the step shrinks as 1/S.
    error = np.sqrt(np.mean((back - images) ** 2))
    assert error < 0.08, error


def test_guidance_at_w_0_is_the_conditional_model(trained):
    plain = trained.sample(6, seed=2, steps=10)
    guided_zero = trained.sample(6, seed=2, steps=10, guidance=0.0)
    np.testing.assert_array_equal(plain, guided_zero)
    # The guided loop (the network on the batch twice, with and without
    # labels) at w = 0 gives the conditional model's images too.
    labels = trained.check_labels(None, 6)
    run = trained._compiled("sample", True)
    noise = trained.sample_latents(6, seed=2)
    twice = np.asarray(run(noise, np.int64(2), labels, np.int32(10), np.float32(0.0),
                           np.float32(0.0)))
    np.testing.assert_allclose(twice, plain, atol=1e-5)
    assert not np.allclose(trained.sample(6, seed=2, steps=10, guidance=3.0), plain, atol=1e-3)


def test_sampling_uses_the_ema_weights(trained):
    before = trained.sample(4, seed=5, steps=10)
    # The average really differs from the trained network.
    differs = [not np.allclose(a, b) for a, b in zip(trained.denoiser.get_weights(),
                                                      trained.denoiser_ema.get_weights())]
    assert any(differs)
    # A model whose only network is this average samples the same images.
    copy = tiny(num_classes=10, ema_decay=None)
    copy.denoiser.set_weights(trained.denoiser_ema.get_weights())
    np.testing.assert_allclose(copy.sample(4, seed=5, steps=10), before, atol=1e-5)
    # And changing the average changes the samples (the compiled loop reads it).
    saved = trained.denoiser_ema.get_weights()
    try:
        trained.denoiser_ema.set_weights(trained.denoiser.get_weights())
        assert not np.allclose(trained.sample(4, seed=5, steps=10), before, atol=1e-4)
    finally:
        trained.denoiser_ema.set_weights(saved)


# --- Bad input ---------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, message", [
    (dict(schedule="quadratic"), "schedule"),
    (dict(prediction="x0"), "prediction"),
    (dict(image_size=10, multipliers=(1, 2, 2)), "divisible"),
    (dict(groups=3), "groups"),
    (dict(attention_levels=(5,)), "attention_levels"),
    (dict(sampling_steps=2000), "sampling_steps"),
    (dict(label_dropout=1.0), "label_dropout"),
])
def test_bad_arguments_are_refused_in_one_line(kwargs, message):
    with pytest.raises(ValueError, match=message) as error:
        DDPM(**{**TINY, **kwargs})
    assert "\n" not in str(error.value)


def test_bad_sampling_options_are_refused_in_one_line():
    model = tiny()
    for kwargs, message in ((dict(steps=0), "steps"), (dict(steps=1001), "steps"),
                            (dict(sampler="euler"), "sampler"),
                            (dict(sampler="ddpm", steps=10), "DDPM"),
                            (dict(guidance=1.0), "Guidance"), (dict(eta=-1.0), "eta")):
        with pytest.raises(ValueError, match=message) as error:
            model.sample(2, seed=0, **kwargs)
        assert "\n" not in str(error.value)


# --- Export --------------------------------------------------------------------------


@pytest.mark.skipif(not ON_TF, reason="export runs on TensorFlow")
def test_the_saved_model_runs_the_whole_loop_from_a_seed(trained, tmp_path):
    import tensorflow as tf

    from kerasgen.export.serving import saved_model

    path = saved_model(trained, tmp_path, name="ddpm")
    loaded = tf.saved_model.load(str(path))
    labels = np.array([3, 3, 7, 1], "int32")
    for steps, guidance in ((10, 0.0), (4, 2.0)):
        served = loaded.signatures["generate_from_seed"](
            seed=tf.constant(11, tf.int64), labels=tf.constant(labels),
            steps=tf.constant(steps), eta=tf.constant(0.0), guidance=tf.constant(guidance))
        expected = trained.sample(4, seed=11, labels=labels, steps=steps, guidance=guidance)
        np.testing.assert_allclose(served["images"].numpy(), expected, atol=1e-5)


# --- The contract -------------------------------------------------------------------


# The conditional contract repeats the unconditional one's JAX train step
# with labels (51 s on CI's cores): on JAX in `make test-all`.
@pytest.mark.parametrize("num_classes", [0, pytest.param(3, marks=() if ON_TF else pytest.mark.slow)])
def test_family_contract(num_classes, tmp_path):
    images = np.random.default_rng(0).uniform(-1, 1, (4, 8, 8, 1)).astype("float32")
    labels = np.array([0, 1, 2, 0], "int32")
    run_family_test(DDPM, dict(TINY, num_classes=num_classes, ema_decay=0.9),
                    (images, labels if num_classes else None), tmp_path)


# --- The command line ----------------------------------------------------------------


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    """A DDPM run of the demo recipe (conditional, on the built-in digits)."""
    from cli_helpers import invoke

    folder = tmp_path_factory.mktemp("ddpm") / "run"
    result = invoke("train", "ddpm", "--steps", 4, "--sample-every", 4, "--checkpoint-every", 4,
                    "--no-tensorboard", "--out", folder)
    assert result.exit_code == 0, result.output
    return folder


def _png(path):
    from PIL import Image

    return np.asarray(Image.open(path))


def test_sample_takes_steps_guidance_eta_and_sampler(run_folder, tmp_path):
    from cli_helpers import invoke

    for options in (["--steps", 5, "--label", 3], ["--steps", 4, "--guidance", 2, "--eta", 1],
                    ["--sampler", "ddpm", "--n", 2]):
        out = tmp_path / "grid.png"
        result = invoke("sample", run_folder, "--out", out, "--n", 4, *options)
        assert result.exit_code == 0, result.output
        assert out.is_file()


def test_sampling_options_a_family_lacks_or_refuses_are_one_line(run_folder, tmp_path):
    from cli_helpers import assert_one_line_error, invoke, train_tiny

    dcgan = tmp_path / "dcgan"
    assert train_tiny(dcgan).exit_code == 0
    refused = invoke("sample", dcgan, "--steps", 5, "--out", tmp_path / "a.png")
    assert_one_line_error(refused, 2)
    assert "--steps" in refused.stderr
    for options in (["--steps", 100000], ["--sampler", "euler"], ["--sampler", "ddpm", "--steps", 3]):
        result = invoke("sample", run_folder, *options, "--out", tmp_path / "b.png")
        assert_one_line_error(result, 2)


@pytest.mark.skipif(not ON_TF, reason="export runs on TensorFlow")
def test_command_line_samples_are_the_exported_generate_from_seed(run_folder, tmp_path):
    import tensorflow as tf

    from cli_helpers import invoke
    from kerasgen.utils.images import make_grid

    out = tmp_path / "grid.png"
    result = invoke("sample", run_folder, "--steps", 6, "--label", 3, "--n", 8, "--nrow", 8,
                    "--scale", 1, "--seed", 21, "--out", out)
    assert result.exit_code == 0, result.output
    exported = invoke("export", run_folder, "--out", tmp_path / "exports", "--name", "ddpm")
    assert exported.exit_code == 0, exported.output
    loaded = tf.saved_model.load(str(tmp_path / "exports" / "ddpm" / "1"))
    served = loaded.signatures["generate_from_seed"](
        seed=tf.constant(21, tf.int64), labels=tf.constant([3] * 8), steps=tf.constant(6),
        eta=tf.constant(0.0), guidance=tf.constant(0.0))
    grid = make_grid(served["images"].numpy(), nrow=8)
    drawn = _png(out).reshape(grid.shape)
    assert np.abs(drawn.astype(int) - grid.astype(int)).max() <= 1


@pytest.mark.skipif(not ON_TF, reason="export runs on TensorFlow")
def test_the_guides_tflite_client_loop_gives_the_models_images(trained, tmp_path):
    import re
    from pathlib import Path

    from kerasgen.export.litert import tflite

    path = tflite(trained, str(tmp_path / "ddpm.tflite"))
    guide = (Path(__file__).resolve().parents[1] / "export/GUIDE.md").read_text()
    code = next(block for block in re.findall(r"```python\n(.*?)```", guide, re.S)
                if "def ddim(" in block)
    code = code.replace("exports/ddpm-mnist.tflite", str(path)).replace("28, 28, 1", "8, 8, 1")
    namespace = {}
    exec(code, namespace)
    x_t, labels = namespace["x_T"], np.array([3, 3, 7, 7], "int32")
    np.testing.assert_allclose(namespace["images"], trained.decode(x_t, labels, steps=20),
                               atol=2e-3)
    guided = namespace["ddim"](x_t, labels, steps=5, guidance=2.0)
    np.testing.assert_allclose(guided, trained.decode(x_t, labels, steps=5, guidance=2.0),
                               atol=2e-3)


def test_the_sampling_loop_is_traced_once_for_every_step_count_and_scale():
    model = tiny(num_classes=3)
    traces = []
    reverse_process = model.reverse_process

    def counting(*args, **kwargs):
        traces.append(1)  # runs only while the loop is traced
        return reverse_process(*args, **kwargs)

    model.reverse_process = counting
    for steps, guidance in ((3, 0.5), (5, 0.5), (8, 2.0)):
        model.sample(2, seed=0, labels=[0, 1], steps=steps, guidance=guidance)
    assert len(traces) == 1
    for steps, eta in ((3, 0.5), (6, 1.0)):
        model.sample(2, seed=0, labels=[0, 1], steps=steps, eta=eta)
    assert len(traces) == 2
