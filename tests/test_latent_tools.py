"""The latent tools (`kerasgen.latent`: interpolation, arithmetic,
truncation, inversion) and their commands (`kerasgen explore ...`), on tiny
models built here, on whichever backend the run uses."""

import os

import keras
import numpy as np
import pytest

import kerasgen
from backends import backend_independent
from cli_helpers import assert_one_line_error
from cli_helpers import invoke
from latent_helpers import saved_checkpoints
from latent_helpers import tiny_dcgan
from kerasgen.latent import arithmetic
from kerasgen.latent import interpolation
from kerasgen.latent import inversion
from kerasgen.latent import truncation

TINY = dict(image_size=8, latent_dim=4, generator_filters=4, discriminator_filters=4)
# What inverting a tiny generator's own image must reach (MSE in [-1, 1]
# units, each image), and what the starting latents are at least off by:
# doing nothing fails the bound by 50x.
INVERSION_BOUND = 1e-3
START_ERROR = 0.05


@pytest.fixture(scope="module")
def model():
    return tiny_dcgan(**TINY)


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """The tiny DCGAN saved as a run folder and as a `.keras` file."""
    return saved_checkpoints(tmp_path_factory, tiny_dcgan(**TINY))


# --- Interpolation -----------------------------------------------------------------


def test_slerp_keeps_the_norm_of_unit_vectors():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 16, 32))
    a /= np.linalg.norm(a, axis=-1, keepdims=True)
    b /= np.linalg.norm(b, axis=-1, keepdims=True)
    t = np.linspace(0.0, 1.0, 9)
    walk = interpolation.slerp(a, b, t)
    assert walk.shape == (9, 16, 32)
    np.testing.assert_allclose(np.linalg.norm(walk, axis=-1), 1.0, atol=1e-5)
    # lerp's halfway point of such vectors is well inside the sphere.
    assert np.linalg.norm(interpolation.lerp(a, b, 0.5), axis=-1).max() < 0.95
    np.testing.assert_array_equal(walk[0], a.astype("float32"))
    np.testing.assert_array_equal(walk[-1], b.astype("float32"))


def test_slerp_equals_lerp_for_parallel_and_antiparallel_vectors():
    t = np.linspace(0.0, 1.0, 5)
    for a, b in (([1.0, 2.0, 3.0], [2.0, 4.0, 6.0]), ([1.0, 2.0, 3.0], [-1.0, -2.0, -3.0]),
                 ([0.0, 0.0, 0.0], [1.0, 0.0, 0.0])):
        np.testing.assert_allclose(interpolation.slerp(a, b, t), interpolation.lerp(a, b, t),
                                   atol=1e-6)
    # Orthogonal unit vectors: the midpoint is at 45 degrees, on the circle.
    np.testing.assert_allclose(interpolation.slerp([1.0, 0.0], [0.0, 1.0], 0.5),
                               [np.sqrt(0.5), np.sqrt(0.5)], atol=1e-6)


def test_interpolation_arguments_are_refused_in_one_line(model):
    z = model.sample_latents(2, seed=0)
    for call, name in [
        (lambda: interpolation.slerp([1.0, 0.0], [1.0, 0.0, 0.0], 0.5), "`b`"),
        (lambda: interpolation.lerp([1.0], [2.0], [[0.5]]), "`t`"),
        (lambda: interpolation.slerp([1.0], [2.0], float("nan")), "`t`"),
        (lambda: interpolation.interpolate(model, z[0], z[1], steps=1), "`steps`"),
        (lambda: interpolation.interpolate(model, z[0], z[1], method="cubic"), "`method`"),
        (lambda: interpolation.interpolate(model, z, z[:1]), "`end`"),
        (lambda: interpolation.interpolate(model, np.zeros((1, 5)), z[:1]), "`start`"),
        (lambda: interpolation.interpolate(model, z[0], z[1], labels=1), "unconditional"),
        (lambda: interpolation.crossfade(np.zeros((4, 4, 1)), np.zeros((4, 5, 1))), "`image_b`"),
        (lambda: interpolation.latents_from_seeds(model, [1, -2]), "`seeds`"),
    ]:
        with pytest.raises(ValueError, match=name) as info:
            call()
        assert "\n" not in str(info.value) and "Received" in str(info.value)


@pytest.mark.parametrize("method", ["slerp", "lerp"])
def test_interpolation_end_points_decode_to_the_end_images_exactly(model, method):
    z = interpolation.latents_from_seeds(model, [1, 2, 3, 4])
    start, end = z[:2], z[2:]
    frames = interpolation.interpolate(model, start, end, steps=6, method=method)
    assert frames.shape == (2, 6, 8, 8, 1) and frames.dtype == np.float32
    np.testing.assert_array_equal(frames[:, 0], model.decode(start))
    np.testing.assert_array_equal(frames[:, -1], model.decode(end))
    # One walk: the frames of one latent each; the inner ones are the
    # decodes of the path's latents.
    single = interpolation.interpolate(model, start[0], end[0], steps=6, method=method)
    assert single.shape == (6, 8, 8, 1)
    np.testing.assert_array_equal(single[0], model.decode(start[:1])[0])
    walk = interpolation.latent_path(start, end, 6, method)
    np.testing.assert_allclose(frames[:, 1:-1].reshape(-1, 8, 8, 1),
                               model.decode(walk[:, 1:-1].reshape(-1, 4)), atol=1e-5)
    assert np.abs(frames[0, 1] - frames[0, 0]).max() > 1e-3  # the walk moves


def test_interpolation_rows_put_the_pixel_crossfade_under_the_walks(model):
    z = interpolation.latents_from_seeds(model, [5, 6, 7, 8])
    rows = interpolation.interpolation_rows(model, z[:2], z[2:], steps=5, crossfades=1)
    assert rows.shape == (3, 5, 8, 8, 1)
    fade = interpolation.crossfade(rows[0, 0], rows[0, -1], steps=5)
    np.testing.assert_allclose(rows[2], fade, atol=1e-6)
    np.testing.assert_allclose(fade[2], (rows[0, 0] + rows[0, -1]) / 2, atol=1e-6)
    picture = interpolation.interpolation_grid(model, z[:2], z[2:], steps=5, min_size=64)
    assert picture.dtype == np.uint8 and picture.shape[-1] == 1
    with pytest.raises(ValueError, match="crossfades"):
        interpolation.interpolation_rows(model, z[:2], z[2:], crossfades=3)


def test_a_conditional_model_interpolates_within_a_class():
    keras.utils.set_random_seed(0)
    cgan = kerasgen.ConditionalGAN(image_size=8, latent_dim=4, num_classes=3, embedding_dim=4,
                                   generator_filters=4, discriminator_filters=4)
    z = cgan.sample_latents(2, seed=0)
    frames = interpolation.interpolate(cgan, z[:1], z[1:], steps=4, labels=2)
    np.testing.assert_array_equal(frames[:, 0], cgan.decode(z[:1], [2]))
    np.testing.assert_array_equal(frames[:, -1], cgan.decode(z[1:], [2]))


def test_images_are_encoded_by_a_model_that_encodes_and_refused_otherwise(model):
    vae = kerasgen.VAE(image_size=8, latent_dim=2, filters=4, seed=5)
    images = np.random.default_rng(0).integers(0, 256, (2, 8, 8, 1)).astype("uint8")
    codes = interpolation.encode_images(vae, images)
    np.testing.assert_allclose(codes, vae.encode(images / 127.5 - 1.0)[0], atol=1e-5)
    assert interpolation.interpolate(vae, codes[0], codes[1], steps=3).shape == (3, 8, 8, 1)
    with pytest.raises(ValueError, match="does not provide `encode`.*invert"):
        interpolation.encode_images(model, images)


def test_save_gif_writes_every_frame_atomically(tmp_path):
    from PIL import Image

    frames = np.linspace(-1, 1, 5)[:, None, None, None] * np.ones((5, 8, 8, 1))
    path = tmp_path / "walk.gif"
    interpolation.save_gif(frames, path, duration_ms=50, min_size=32)
    with Image.open(path) as gif:
        assert gif.n_frames == 5 and gif.size == (32, 32)
        assert gif.info["duration"] == 50
    # n walks side by side, played forward and back.
    interpolation.save_gif(np.stack([frames, frames]), path, bounce=True, min_size=8)
    with Image.open(path) as gif:
        assert gif.n_frames == 8
    assert os.listdir(tmp_path) == ["walk.gif"]
    with pytest.raises(ValueError, match="`path` must be a file name ending in .gif"):
        interpolation.save_gif(frames, tmp_path / "walk.png")


# --- Arithmetic --------------------------------------------------------------------


def test_latent_arithmetic_decodes_the_sum_of_mean_latents(model):
    z = interpolation.latents_from_seeds(model, range(7))
    a, b, c = z[:3], z[3:5], z[5:]
    result = arithmetic.latent_arithmetic(model, a, b, c)
    expected = a.mean(0) - b.mean(0) + c.mean(0)
    np.testing.assert_allclose(result["latent"], expected, atol=1e-6)
    np.testing.assert_allclose(result["latent_row"][3], model.decode(expected[None])[0],
                               atol=1e-5)
    np.testing.assert_allclose(result["latent_row"][0], model.decode(a.mean(0)[None])[0],
                               atol=1e-5)
    pixels = np.clip(model.decode(a).mean(0) - model.decode(b).mean(0)
                     + model.decode(c).mean(0), -1, 1)
    np.testing.assert_allclose(result["pixel_row"][3], pixels, atol=1e-5)
    assert np.abs(result["pixel_row"]).max() <= 1.0
    assert arithmetic.arithmetic_grid(result, ("7", "1", "4"), min_size=64).dtype == np.uint8
    with pytest.raises(ValueError, match="`latents`"):
        arithmetic.average_latent(np.zeros((0, 4)))


def test_latents_are_grouped_by_the_class_a_classifier_gives_their_images(model):
    class Brightness:
        """Dark (0) or bright (1): the share of bright pixels."""

        def probabilities(self, images):
            p = (np.asarray(images) > 0).mean(axis=(1, 2, 3))
            return np.stack([1 - p, p], axis=1)

    groups = arithmetic.latents_by_class(model, Brightness(), n=40, seed=3)
    assert sum(len(z) for z in groups.values()) == 40
    for k, latents in groups.items():
        assert (Brightness().probabilities(model.decode(latents)).argmax(1) == k).all()
    sure = arithmetic.latents_by_class(model, Brightness(), n=40, seed=3, min_confidence=0.7)
    assert sum(len(z) for z in sure.values()) < 40
    with pytest.raises(ValueError, match="`classifier`"):
        arithmetic.latents_by_class(model, object(), n=4)


# --- Truncation --------------------------------------------------------------------


def test_truncation_at_psi_0_gives_the_mean_latent_and_at_psi_1_the_latents():
    z = np.random.default_rng(0).standard_normal((5, 4)).astype("float32")
    mean = np.array([0.3, -0.1, 0.7, 0.2], "float32")
    np.testing.assert_array_equal(truncation.truncate(z, 0.0), np.zeros_like(z))
    np.testing.assert_array_equal(truncation.truncate(z, 0.0, mean), np.tile(mean, (5, 1)))
    np.testing.assert_array_equal(truncation.truncate(z, 1.0, mean), z)
    np.testing.assert_allclose(truncation.truncate(z, 0.5, mean), (z + mean) / 2, atol=1e-6)
    for psi in (float("nan"), "0.5", None):
        with pytest.raises(ValueError, match="`psi` must be a finite number"):
            truncation.truncate(z, psi)


def test_the_truncated_model_samples_the_mean_latent_at_psi_0(model):
    flat = truncation.Truncated(model, psi=0.0)
    np.testing.assert_array_equal(flat.sample_latents(3, seed=1), np.zeros((3, 4)))
    images = flat.sample(3, seed=1)
    np.testing.assert_array_equal(images, np.repeat(model.decode(np.zeros((1, 4))), 3, axis=0))
    half = truncation.Truncated(model, psi=0.5)
    np.testing.assert_allclose(half.sample_latents(3, seed=1),
                               model.sample_latents(3, seed=1) / 2, atol=1e-6)
    assert truncation.Truncated(model).sample_latents(2, seed=4).tolist() == \
        model.sample_latents(2, seed=4).tolist()


def test_stylegan2s_w_space_is_interpolated_truncated_and_inverted():
    # One StyleGAN2 for the three: building one is the slow part on JAX (its
    # initializers compile per shape), and this is tests/test_stylegan2.py's
    # configuration, whose compilations the JAX cache of `make test` holds.
    keras.utils.set_random_seed(0)
    style = kerasgen.StyleGAN2(image_size=8, channels=1, latent_dim=8, w_dim=8,
                               mapping_layers=2, fmap_base=16, fmap_max=8, seed=0)
    space = style.w_space(psi=1.0)
    w = interpolation.latents_from_seeds(space, [1, 2])
    assert w.shape == (2, 8)
    frames = interpolation.interpolate(space, w[0], w[1], steps=4)
    np.testing.assert_array_equal(frames[0], space.decode(w[:1])[0])
    np.testing.assert_allclose(frames[0], style.sample(1, seed=1)[0], atol=1e-5)

    w_bar = truncation.mean_latent(space)  # of 10,000 w, as Truncated's default
    flat = truncation.Truncated(space, psi=0.0)
    np.testing.assert_array_equal(flat.sample_latents(2, seed=0), np.tile(w_bar, (2, 1)))
    assert np.abs(w_bar).max() > 0.1  # W's mean is f's, not 0
    with pytest.raises(ValueError, match="`threshold`.*N\\(0, I\\)"):
        truncation.Truncated(space, threshold=1.0)

    found = inversion.invert(space, frames[1:3], steps=3)  # through the adapter
    assert found.latents.shape == (2, 8) and np.isfinite(found.errors).all()


def test_resample_beyond_redraws_only_the_components_outside():
    z = np.random.default_rng(0).standard_normal((200, 8)).astype("float32")
    out = truncation.resample_beyond(z, 0.5, seed=1)
    assert np.abs(out).max() <= 0.5
    inside = np.abs(z) <= 0.5
    np.testing.assert_array_equal(out[inside], z[inside])
    assert not np.array_equal(out, z)
    np.testing.assert_array_equal(out, truncation.resample_beyond(z, 0.5, seed=1))
    for bad in (0.0, -1.0, float("inf")):
        with pytest.raises(ValueError, match="`threshold` must be a finite number > 0"):
            truncation.resample_beyond(z, bad)


def test_the_truncation_sweep_measures_precision_and_recall(model):
    from kerasgen.data import load_images
    from kerasgen.metrics.evaluate import evaluate_samples

    real = load_images(image_size=8, max_images=60).images
    rows = truncation.truncation_sweep(model, real, psis=(0.0, 1.0), n=60,
                                       extractor="lenet-mnist", cache=False)
    assert [row["psi"] for row in rows] == [0.0, 1.0]
    for row in rows:
        assert 0.0 <= row["precision"] <= 1.0 and 0.0 <= row["recall"] <= 1.0
    # psi 0: every sample is the same image, so it covers one point at most.
    assert rows[0]["recall"] <= 1 / 60 + 1e-9
    direct = evaluate_samples(truncation.Truncated(model, psi=1.0), real, ["pr"], n=60,
                              extractor="lenet-mnist", cache=False)["rows"]
    assert [r["value"] for r in direct] == [rows[1]["precision"], rows[1]["recall"]]


# --- Inversion ---------------------------------------------------------------------


def test_inversion_recovers_a_latent_of_an_image_the_generator_made(model):
    truth = model.sample_latents(4, seed=11)
    targets = model.decode(truth)
    start = model.sample_latents(4, seed=0)
    before = inversion.reconstruction_errors(model, start, targets)
    assert before.min() > START_ERROR, before  # doing nothing fails the bound
    found = inversion.invert(model, targets, steps=200, learning_rate=0.05, seed=0)
    assert found.latents.shape == (4, 4) and found.errors.shape == (4,)
    assert found.errors.max() < INVERSION_BOUND, found.errors
    np.testing.assert_allclose(found.errors,
                               inversion.reconstruction_errors(model, found.latents, targets),
                               rtol=1e-6)


def test_inversion_takes_uint8_images_restarts_and_labels():
    keras.utils.set_random_seed(0)
    cgan = kerasgen.ConditionalGAN(image_size=8, latent_dim=4, num_classes=3, embedding_dim=4,
                                   generator_filters=4, discriminator_filters=4)
    targets = cgan.decode(cgan.sample_latents(2, seed=3), [0, 2])
    found = inversion.invert(cgan, targets, steps=5, labels=[0, 2], restarts=2)
    assert found.latents.shape == (2, 4)
    assert inversion.invert(cgan, np.zeros((1, 8, 8, 1), "uint8"), steps=2,
                            labels=[1]).errors.shape == (1,)


def test_inversion_arguments_are_refused_in_one_line(model):
    targets = np.zeros((2, 8, 8, 1), "float32")
    for kwargs, name in [(dict(steps=0), "`steps`"), (dict(learning_rate=-1), "`learning_rate`"),
                         (dict(restarts=0), "`restarts`"),
                         (dict(start=np.zeros((3, 4))), "`start`")]:
        with pytest.raises(ValueError, match=name):
            inversion.invert(model, targets, **kwargs)
    with pytest.raises(ValueError, match="`images`"):
        inversion.invert(model, np.zeros((2, 16, 16, 1), "float32"), steps=1)


# --- The commands ------------------------------------------------------------------


@backend_independent
def test_explore_interpolate_writes_a_grid_and_a_gif(checkpoints, tmp_path):
    from PIL import Image

    out, gif = tmp_path / "walk.png", tmp_path / "walk.gif"
    result = invoke("explore", "interpolate", checkpoints["folder"], "--seeds", "1,2,3,4",
                    "--steps", "5", "--out", out, "--gif", gif)
    assert result.exit_code == 0, result.output + result.stderr
    assert "2 slerp walk(s) of 5 frames" in result.stdout
    assert Image.open(out).size[0] >= 512
    with Image.open(gif) as animation:
        assert animation.n_frames == 8  # 5 forward, 3 back
    result = invoke("explore", "interpolate", checkpoints["file"], "--method", "lerp",
                    "--crossfades", "0", "--out", out)
    assert result.exit_code == 0, result.output + result.stderr


@backend_independent
def test_explore_arithmetic_and_invert(checkpoints, tmp_path):
    from kerasgen.utils.images import save_png
    from kerasgen.utils.images import to_uint8

    out = tmp_path / "sum.png"
    result = invoke("explore", "arithmetic", checkpoints["file"], "--a", "1,2", "--b", "3",
                    "--c", "4,5", "--out", out)
    assert result.exit_code == 0, result.output + result.stderr
    assert "A - B + C" in result.stdout and out.exists()

    network = checkpoints["model"]
    image = tmp_path / "target.png"
    save_png(to_uint8(network.decode(network.sample_latents(1, seed=11)))[0], image)
    out = tmp_path / "inverted.png"
    result = invoke("explore", "invert", checkpoints["folder"], "--image", image,
                    "--steps", "150", "--restarts", "2", "--out", out)
    assert result.exit_code == 0, result.output + result.stderr
    error = float(result.stdout.split("units): ")[1].split()[0])
    assert error < 0.01, result.stdout  # the 8-bit rounding of the PNG included
    assert out.exists()


@backend_independent
def test_explore_truncation_prints_the_trade_off(checkpoints, tmp_path):
    from kerasgen.data import load_images

    digits = load_images(image_size=8, max_images=40).images
    data = tmp_path / "digits.npz"
    np.savez(data, images=digits)
    out = tmp_path / "truncation.png"
    result = invoke("explore", "truncation", checkpoints["folder"], "--psi", "0.5,1",
                    "--data", data, "--n", "40", "--extractor", "lenet-mnist",
                    "--samples", "4", "--out", out)
    assert result.exit_code == 0, result.output + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["psi", "precision", "recall"]
    assert [line.split()[0] for line in lines[1:3]] == ["0.50", "1.00"]
    assert out.exists()


@pytest.mark.parametrize("args", [
    ["interpolate", "{run}", "--seeds", "1,2,3"],
    ["interpolate", "{run}", "--seeds", "one,two"],
    ["interpolate", "{run}", "--out", "walk.jpg"],
    ["interpolate", "{run}", "--gif", "walk.png"],
    ["interpolate", "{run}", "--method", "cubic"],
    ["interpolate", "{run}", "--space", "w"],
    ["interpolate", "{run}", "--label", "1"],
    ["interpolate", "{run}", "--image", "a.png", "--image", "b.png"],
    ["interpolate", "{run}", "--crossfades", "2"],
    ["interpolate", "no-such-preset"],
    ["arithmetic", "{run}", "--a", "1"],
    ["arithmetic", "{run}", "--classes", "1,2"],
    ["arithmetic", "{run}", "--classes", "1,2,3", "--a", "1"],
    ["arithmetic", "{run}", "--classes", "1,2,30", "--extractor", "lenet-mnist"],
    ["truncation", "{run}", "--psi", "half", "--data", "{run}"],
    ["truncation", "{run}"],
    ["invert", "{run}", "--image", "missing.png"],
    ["invert", "{run}", "--image", "{run}"],
    ["invert", "{run}", "--steps", "0", "--image", "missing.png"],
])
def test_explore_latent_mistakes_are_one_line(checkpoints, tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    args = [str(checkpoints["folder"]) if a == "{run}" else a for a in args]
    result = invoke("explore", *args)
    assert_one_line_error(result)
