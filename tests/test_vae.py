import numpy as np
import pytest

import kerasgen
from family_contract import fit_one_batch, run_family_test

TINY = dict(image_size=8, channels=1, latent_dim=2, filters=4, seed=5)


def batch(n=8, labels=False):
    rng = np.random.default_rng(1)
    images = rng.uniform(-1, 1, (n, 8, 8, 1)).astype("float32")
    return images, (np.arange(n, dtype="int32") % 3 if labels else None)


def test_family_contract(tmp_path):
    run_family_test(kerasgen.VAE, TINY, batch(), tmp_path)


def test_conditional_family_contract(tmp_path):
    run_family_test(kerasgen.VAE, {**TINY, "num_classes": 3},
                    batch(labels=True), tmp_path)


def test_gaussian_likelihood_and_beta(tmp_path):
    model = kerasgen.VAE(**TINY, reconstruction="gaussian", beta=4.0)
    model.compile()
    logs = fit_one_batch(model, batch())
    np.testing.assert_allclose(logs["loss"], logs["recon_loss"] + 4.0 * logs["kl"], rtol=1e-5)


def test_inference_methods_shapes_and_ranges():
    model = kerasgen.VAE(**TINY, num_classes=3)
    images, labels = batch(labels=True)
    mean, log_var = model.encode(images, labels)
    assert mean.shape == log_var.shape == (8, 2)
    out = model.decode(mean, labels)
    assert out.shape == images.shape and out.min() >= -1 and out.max() <= 1
    assert model.reconstruct(images, labels).shape == images.shape
    # Labels pick the class: different labels, same z, different images.
    z = np.zeros((2, 2), "float32")
    a, b = model.decode(z, [0, 0]), model.decode(z, [0, 1])
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[1], b[1])


def test_label_errors():
    model = kerasgen.VAE(**TINY, num_classes=3)
    with pytest.raises(ValueError, match=r"Labels must be in \[0, 2\]"):
        model.sample(2, labels=[0, 3])
    with pytest.raises(ValueError, match="unconditional"):
        kerasgen.VAE(**TINY).sample(2, labels=[0, 1])


def test_elbo_is_a_bound_on_binarized_digits_and_exported_at_the_mean():
    model = kerasgen.VAE(**TINY)
    images, _ = batch()
    binarized = np.where(images > 0, 1.0, -1.0).astype("float32")
    elbo = model.log_prob(images, seed=3)
    assert elbo.shape == (8,) and np.all(elbo < 0)  # log p(x | z) <= 0, KL >= 0
    # Only which side of 1/2 a pixel is on matters: the data is binarized.
    np.testing.assert_allclose(model.log_prob(binarized, seed=3), elbo, rtol=1e-6)
    assert not np.allclose(model.log_prob(images, seed=4), elbo)  # z is drawn
    assert model.log_prob_is_bound and model.log_prob_data == "binarized"
    np.testing.assert_allclose(model.bits_per_dim(images, seed=3),
                               -elbo.mean() / (64 * np.log(2)), rtol=1e-5)
    # The export's log_prob takes z = mu: deterministic.
    endpoint = next(e for e in model.serving_endpoints() if e.name == "log_prob")
    at_mean = np.asarray(endpoint.function(images)["log_prob"])
    np.testing.assert_allclose(np.asarray(model.log_prob_tensor(images, None, None)), at_mean)
