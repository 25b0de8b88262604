"""The Gaussian mixture: EM's guarantees, its density against scipy (and
TensorFlow Probability on TensorFlow), sampling, and the family contract."""

import keras
import numpy as np
import pytest
from keras import ops
from scipy import stats
from scipy.special import logsumexp

import kerasgen
from family_contract import fit_one_batch, run_family_test

ON_TF = keras.backend.backend() == "tensorflow"


def image_batch(n=16, size=4):
    rng = np.random.default_rng(1)
    levels = rng.integers(0, 256, (n, size, size, 1))
    return (levels / 127.5 - 1).astype("float32"), None


@pytest.mark.parametrize("covariance,training", [
    ("full", "em"), ("diagonal", "gradient"), ("spherical", "em")])
def test_family_contract(tmp_path, covariance, training):
    run_family_test(kerasgen.GaussianMixture,
                    dict(image_size=4, components=3, covariance=covariance,
                         training=training, seed=3),
                    image_batch(), tmp_path)


def three_gaussians(n_per=400, seed=0):
    rng = np.random.default_rng(seed)
    means = np.array([[-6.0, 0.0], [6.0, 0.0], [0.0, 8.0]])
    covariances = np.array([[[1.0, 0.6], [0.6, 1.0]],
                            [[0.5, 0.0], [0.0, 2.0]],
                            [[1.5, -0.4], [-0.4, 0.8]]])
    weights = np.array([0.5, 0.3, 0.2])
    counts = (weights * 3 * n_per).astype(int)
    x = np.concatenate([rng.multivariate_normal(m, c, k)
                        for m, c, k in zip(means, covariances, counts)])
    return x.astype("float32"), means, covariances, weights


def fitted(x, iterations, **kwargs):
    keras.utils.set_random_seed(0)
    model = kerasgen.GaussianMixture(input_dim=x.shape[1], em_step_power=0.0, seed=4,
                                     **kwargs)
    model.compile()
    log_likelihoods = []
    for _ in range(iterations):
        model.fit(x, batch_size=len(x), epochs=1, shuffle=False, verbose=0)
        log_likelihoods.append(model.log_prob(x).mean())
    return model, np.array(log_likelihoods)


def test_em_never_decreases_the_log_likelihood():
    # Overlapping components from a poor start: EM takes many steps.
    rng = np.random.default_rng(2)
    x = np.concatenate([rng.normal(0, 1, (300, 2)), rng.normal(1.5, 0.7, (300, 2)),
                        rng.normal([-1, 2], 0.5, (300, 2))]).astype("float32")
    for covariance in ("full", "diagonal", "spherical"):
        _, log_likelihoods = fitted(x, 25, components=4, covariance=covariance)
        steps = np.diff(log_likelihoods)
        assert np.all(steps >= -1e-4 * np.abs(log_likelihoods[1:])), (covariance, steps)
        assert log_likelihoods[-1] > log_likelihoods[0] + 1e-3, covariance


def test_em_recovers_three_separated_gaussians():
    x, means, covariances, weights = three_gaussians()
    model, _ = fitted(x, 30, components=3, covariance="full")
    order = np.argsort(model.component_means()[:, 0] + 0.1 * model.component_means()[:, 1])
    expected = np.argsort(means[:, 0] + 0.1 * means[:, 1])
    found_means = model.component_means()[order]
    np.testing.assert_allclose(found_means, means[expected], atol=0.2)
    found_weights = np.exp(ops.convert_to_numpy(model.log_weights()))[order]
    np.testing.assert_allclose(found_weights, weights[expected], atol=0.03)
    scale = ops.convert_to_numpy(model.scale_tril())[order]
    found_covariances = scale @ np.transpose(scale, (0, 2, 1))
    np.testing.assert_allclose(found_covariances, covariances[expected], atol=0.3)


def set_random_parameters(model, rng):
    k, d = model.components, model.dim
    logits = rng.normal(size=k)
    means = rng.normal(size=(k, d))
    if model.covariance == "full":
        a = rng.normal(size=(k, d, d))
        covariances = a @ np.transpose(a, (0, 2, 1)) + 0.5 * np.eye(d)
        scale = np.linalg.cholesky(covariances)
    elif model.covariance == "diagonal":
        scale = rng.uniform(0.5, 2.0, (k, d))
        covariances = np.stack([np.diag(s ** 2) for s in scale])
    else:
        scale = rng.uniform(0.5, 2.0, (k,))
        covariances = np.stack([np.eye(d) * s ** 2 for s in scale])
    model.mixture.logits.assign(logits.astype("float32"))
    model.mixture.means.assign(means.astype("float32"))
    model.mixture.scale.assign(ops.convert_to_numpy(
        model._raw_scale(ops.convert_to_tensor(scale.astype("float32")))))
    weights = np.exp(logits - logsumexp(logits))
    return weights, means, covariances


def scipy_log_density(x, weights, means, covariances):
    per_component = np.stack([
        np.log(w) + stats.multivariate_normal(m, c).logpdf(x)
        for w, m, c in zip(weights, means, covariances)], axis=1)
    return logsumexp(per_component, axis=1)


@pytest.mark.parametrize("covariance", ["full", "diagonal", "spherical"])
def test_log_prob_equals_scipy(covariance):
    rng = np.random.default_rng(5)
    model = kerasgen.GaussianMixture(input_dim=3, components=4, covariance=covariance)
    weights, means, covariances = set_random_parameters(model, rng)
    x = rng.normal(size=(50, 3)).astype("float32") * 2
    np.testing.assert_allclose(model.log_prob(x), scipy_log_density(x, weights, means,
                                                                     covariances),
                               rtol=1e-4, atol=1e-4)


def test_image_log_prob_is_the_dequantized_density_plus_the_bins():
    rng = np.random.default_rng(6)
    model = kerasgen.GaussianMixture(image_size=2, components=2, covariance="full")
    weights, means, covariances = set_random_parameters(model, rng)
    images, _ = image_batch(10, size=2)
    points = ((np.rint((images + 1) * 127.5) + np.random.default_rng(0).uniform(
        size=images.shape)) / 128 - 1).reshape(10, 4)
    expected = scipy_log_density(points, weights, means, covariances) + 4 * np.log(2 / 256)
    np.testing.assert_allclose(model.log_prob(images, seed=0), expected, rtol=1e-4, atol=1e-3)
    bits = -expected.mean() / (4 * np.log(2))
    np.testing.assert_allclose(model.bits_per_dim(images, seed=0), bits, rtol=1e-4)
    assert model.log_prob_is_bound


@pytest.mark.skipif(not ON_TF, reason="TensorFlow Probability's TF substrate")
def test_log_prob_equals_tensorflow_probability():
    import tensorflow_probability as tfp

    tfd = tfp.distributions
    rng = np.random.default_rng(7)
    model = kerasgen.GaussianMixture(input_dim=3, components=3, covariance="full")
    weights, means, covariances = set_random_parameters(model, rng)
    mixture = tfd.MixtureSameFamily(
        tfd.Categorical(probs=weights),
        tfd.MultivariateNormalTriL(loc=means, scale_tril=np.linalg.cholesky(covariances)))
    x = rng.normal(size=(20, 3))
    np.testing.assert_allclose(model.log_prob(x.astype("float32")),
                               mixture.log_prob(x).numpy(), rtol=1e-4, atol=1e-4)


def test_samples_follow_the_mixture():
    rng = np.random.default_rng(8)
    model = kerasgen.GaussianMixture(input_dim=2, components=2, covariance="full")
    weights, means, covariances = set_random_parameters(model, rng)
    means = means * 10  # far apart, so each sample's component is clear
    model.mixture.means.assign(means.astype("float32"))
    draws = model.sample(20000, seed=0)
    nearest = np.argmin(((draws[:, None] - means[None]) ** 2).sum(-1), axis=1)
    np.testing.assert_allclose(np.bincount(nearest) / len(draws), weights, atol=0.02)
    for k in range(2):
        np.testing.assert_allclose(np.cov(draws[nearest == k].T), covariances[k],
                                   atol=0.15 * np.abs(covariances[k]).max())
    np.testing.assert_array_equal(model.sample(5, seed=3), model.sample(5, seed=3))


def test_gradient_training_reaches_the_em_optimum():
    x, *_ = three_gaussians(100)
    model = kerasgen.GaussianMixture(input_dim=2, components=3, covariance="full",
                                     training="gradient", learning_rate=0.05, seed=1)
    model.compile()
    first = fit_one_batch(model, (x, None))["loss"]  # at the k-means++ start
    model.fit(x, batch_size=len(x), epochs=200, verbose=0)
    _, em = fitted(x, 30, components=3, covariance="full")
    assert model.log_prob(x).mean() > -first
    np.testing.assert_allclose(model.log_prob(x).mean(), em[-1], atol=0.01)


def test_images_sampled_are_8_bit_levels_and_means_are_images():
    model = kerasgen.GaussianMixture(image_size=4, components=3, covariance="diagonal")
    model.compile()
    model.fit(*image_batch(), batch_size=16, verbose=0)
    images = model.sample(6, seed=0)
    levels = (images + 1) * 127.5
    np.testing.assert_allclose(levels, np.rint(levels), atol=1e-3)
    assert model.component_means().shape == (3, 4, 4, 1)


@pytest.mark.parametrize("argument,value", [
    ("covariance", "tied"), ("training", "sgd"), ("components", 0),
    ("em_step_power", 2.0), ("reg_covar", -1.0)])
def test_bad_arguments_are_refused_in_one_line(argument, value):
    with pytest.raises(ValueError, match=f"Received: {argument}="):
        kerasgen.GaussianMixture(**{argument: value})
