"""The autoencoder (plain, denoising) and the Wasserstein autoencoder:
the family contract, the corruption, the latent plane, and WAE's MMD."""

import numpy as np
import pytest
from keras import ops

import kerasgen
from family_contract import fit_one_batch, run_family_test
from kerasgen.losses import maximum_mean_discrepancy
from kerasgen.losses.divergence import inverse_multiquadratic_kernel

TINY = dict(image_size=8, channels=1, latent_dim=2, filters=4, seed=5)


def batch(n=8):
    rng = np.random.default_rng(1)
    return rng.uniform(-1, 1, (n, 8, 8, 1)).astype("float32"), None


@pytest.mark.parametrize("extra", [{}, {"corruption": "masking"},
                                   {"corruption": "gaussian", "reconstruction": "gaussian"}])
def test_autoencoder_family_contract(tmp_path, extra):
    run_family_test(kerasgen.Autoencoder, {**TINY, **extra}, batch(), tmp_path)


@pytest.mark.parametrize("regularizer", ["mmd", "gan"])
def test_wae_family_contract(tmp_path, regularizer):
    run_family_test(kerasgen.WAE, {**TINY, "regularizer": regularizer,
                                   "discriminator_units": 8, "discriminator_layers": 2},
                    batch(), tmp_path)


def test_masking_blackens_about_the_level_and_plain_changes_nothing():
    images = np.ones((64, 8, 8, 1), "float32")
    masked = ops.convert_to_numpy(
        kerasgen.Autoencoder(**TINY, corruption="masking", corruption_level=0.3).corrupt(images))
    assert set(np.unique(masked)) == {-1.0, 1.0}
    assert abs((masked == -1).mean() - 0.3) < 0.03
    plain = kerasgen.Autoencoder(**TINY)
    np.testing.assert_array_equal(ops.convert_to_numpy(plain.corrupt(images)), images)


def test_encode_decode_reconstruct_and_the_latent_plane():
    model = kerasgen.Autoencoder(**TINY)
    images, _ = batch()
    codes = model.encode(images)
    assert codes.shape == (8, 2)
    np.testing.assert_allclose(model.reconstruct(images), model.decode(codes), atol=1e-6)
    grid = model.latent_grid(n=3, images=images)
    assert grid.shape == (9, 8, 8, 1)
    low, high = np.percentile(codes, [1, 99], axis=0)
    corner = np.array([[low[0], high[1]]], "float32")  # top left: smallest z_1, largest z_2
    np.testing.assert_allclose(grid[0], model.decode(corner)[0], atol=1e-6)
    with pytest.raises(ValueError, match="latent_dim=2"):
        kerasgen.Autoencoder(**{**TINY, "latent_dim": 3}).latent_grid()


def test_mmd_is_near_zero_for_prior_samples_and_positive_otherwise():
    rng = np.random.default_rng(0)
    prior = rng.standard_normal((256, 8)).astype("float32")
    also_prior = rng.standard_normal((256, 8)).astype("float32")
    shifted = (also_prior + 1.0).astype("float32")
    narrow = (0.2 * also_prior).astype("float32")
    same = float(maximum_mean_discrepancy(prior, also_prior))
    assert abs(same) < 0.02
    for other in (shifted, narrow):
        assert float(maximum_mean_discrepancy(prior, other)) > 10 * max(abs(same), 1e-3)
    # The estimator is unbiased: over repeats, its mean is ~0 for one law.
    draws = [float(maximum_mean_discrepancy(rng.standard_normal((64, 8)),
                                            rng.standard_normal((64, 8)))) for _ in range(30)]
    assert abs(np.mean(draws)) < 3 * np.std(draws) / np.sqrt(30)


def test_inverse_multiquadratic_kernel_by_hand():
    x = np.array([[0.0, 0.0], [1.0, 2.0]], "float32")
    y = np.array([[1.0, 0.0]], "float32")
    k = ops.convert_to_numpy(inverse_multiquadratic_kernel(x, y, 4.0))
    np.testing.assert_allclose(k, [[4 / 5], [4 / 8]], rtol=1e-6)


def test_wae_loss_is_reconstruction_plus_lambda_mmd():
    model = kerasgen.WAE(**TINY, regularization_weight=3.0)
    model.compile()
    logs = fit_one_batch(model, batch())
    np.testing.assert_allclose(logs["loss"], logs["reconstruction"] + 3.0 * logs["mmd"],
                               rtol=1e-5)
    assert kerasgen.WAE(**TINY).weight == 10.0
    assert kerasgen.WAE(**TINY, regularizer="gan", discriminator_units=4).weight == 1.0


@pytest.mark.parametrize("cls,argument,value", [
    (kerasgen.Autoencoder, "corruption", "salt"), (kerasgen.Autoencoder, "corruption_level", -1),
    (kerasgen.Autoencoder, "reconstruction", "l1"), (kerasgen.WAE, "regularizer", "kl"),
    (kerasgen.WAE, "regularization_weight", -1.0)])
def test_bad_arguments_are_refused_in_one_line(cls, argument, value):
    with pytest.raises(ValueError, match=f"Received: {argument}="):
        cls(**{argument: value})
