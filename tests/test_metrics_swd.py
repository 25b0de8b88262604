"""Progressive GAN's sliced Wasserstein distance (kerasgen.metrics.swd)."""

import numpy as np
import pytest

import kerasgen
from kerasgen.metrics import evaluate as ev
from kerasgen.metrics.swd import _blur
from kerasgen.metrics.swd import laplacian_pyramid
from kerasgen.metrics.swd import multiscale_swd
from kerasgen.metrics.swd import sliced_wasserstein


def test_the_laplacian_pyramid_adds_back_up_to_the_image():
    images = np.random.default_rng(0).random((3, 32, 32, 3)).astype("float32")
    bands = laplacian_pyramid(images, 3)
    assert [b.shape[1] for b in bands] == [32, 16, 8]
    rebuilt = bands[-1]
    for band in reversed(bands[:-1]):
        up = np.zeros_like(band)
        up[:, ::2, ::2] = rebuilt
        rebuilt = band + 4.0 * _blur(up)
    np.testing.assert_allclose(rebuilt, images, atol=1e-5)


def test_in_one_dimension_it_is_the_wasserstein_distance_of_the_samples():
    a = np.random.default_rng(0).normal(size=(500, 1)).astype("float32")
    # Every unit direction in 1-D is +1 or -1: W1 of a shift is the shift.
    assert sliced_wasserstein(a, a + 0.5) == pytest.approx(0.5, abs=1e-5)
    assert sliced_wasserstein(a, a[::-1]) == 0.0
    with pytest.raises(ValueError, match="same size"):
        sliced_wasserstein(a, a[:10])


def test_it_tells_images_of_one_distribution_from_another():
    rng = np.random.default_rng(0)
    noise, more_noise = rng.random((2, 64, 32, 32, 3)).astype("float32")
    ramps = np.sort(noise.reshape(64, -1, 3), axis=1).reshape(noise.shape)
    same = multiscale_swd(noise, more_noise)
    other = multiscale_swd(noise, ramps)
    assert same["levels"] == other["levels"] == [32, 16]
    assert all(o > 10 * s for s, o in zip(same["per_level"], other["per_level"]))
    assert same["mean"] == pytest.approx(np.mean(same["per_level"]))
    # Seeded: the same call gives the same number.
    assert multiscale_swd(noise, more_noise)["mean"] == same["mean"]


def test_images_below_16_pixels_or_of_two_shapes_are_refused():
    a = np.zeros((4, 8, 8, 1), "float32")
    with pytest.raises(ValueError, match="at least 16x16"):
        multiscale_swd(a, a)
    with pytest.raises(ValueError, match="same shape"):
        multiscale_swd(np.zeros((4, 16, 16, 1)), np.zeros((4, 16, 16, 3)))


def test_evaluate_samples_measures_swd_without_a_feature_extractor():
    # RGB 16x16: the default extractor would be Inception, whose weights
    # these machines do not have; SWD reads pixels only.
    model = kerasgen.DCGAN(image_size=16, channels=3, latent_dim=4, generator_filters=4,
                           discriminator_filters=4)
    real = np.random.default_rng(0).integers(0, 256, (64, 16, 16, 3)).astype("uint8")
    result = ev.evaluate_samples(model, real, ["swd"], n=64, cache=False)
    labels = [row["label"] for row in result["rows"]]
    assert labels == ["SWD x1e3 (Laplacian pyramid 16)", "SWD x1e3 at 16 px"]
    assert result["rows"][0]["value"] > 0


def test_one_real_image_is_compared_with_every_sample():
    # A single-image model (SinGAN): the one image stands against each sample.
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:32, 0:32]
    image = np.stack([8 * x, 8 * y, 4 * (x + y)], axis=-1)[None].astype("uint8")
    fakes = rng.integers(0, 256, (8, 32, 32, 3)).astype("uint8")
    rows = ev.swd_rows(image, fakes, seed=0)
    expected = multiscale_swd(np.repeat(image, 8, axis=0), fakes, seed=0)
    assert rows[0]["value"] == pytest.approx(expected["mean"])
    # Its own copies are closer to it than noise is.
    assert ev.swd_rows(image, np.repeat(image, 8, axis=0))[0]["value"] < rows[0]["value"] / 3
