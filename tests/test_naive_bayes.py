"""Naive Bayes: counting gives the closed-form estimates, Bayes' rule
classifies, samples follow the pixel probabilities, and the contract."""

import numpy as np
import pytest
from keras import ops
from scipy import stats
from scipy.special import logsumexp

import kerasgen
from family_contract import run_family_test


def labelled_batch(n=24, size=4, seed=1):
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 3
    # Class c lights row c more often, so the classes differ.
    p = np.full((3, size, size, 1), 0.2)
    for c in range(3):
        p[c, c] = 0.9
    on = rng.uniform(size=(n, size, size, 1)) < p[labels]
    levels = np.where(on, rng.integers(160, 256, on.shape), rng.integers(0, 100, on.shape))
    return (levels / 127.5 - 1).astype("float32"), labels.astype("int32")


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_family_contract(tmp_path, likelihood):
    run_family_test(kerasgen.NaiveBayes,
                    dict(image_size=4, num_classes=3, likelihood=likelihood, seed=2),
                    labelled_batch(), tmp_path)


def fitted(likelihood, images, labels, batch_size=8, **kwargs):
    model = kerasgen.NaiveBayes(image_size=images.shape[1], num_classes=3,
                                likelihood=likelihood, seed=0, **kwargs)
    model.compile()
    model.fit(images, labels, batch_size=batch_size, epochs=1, shuffle=False, verbose=0)
    return model


def test_bernoulli_counts_give_the_smoothed_estimates_for_any_batching():
    images, labels = labelled_batch()
    on = (images.reshape(len(images), -1) > 0).astype(float)
    expected = np.stack([(on[labels == c].sum(0) + 1) / ((labels == c).sum() + 2)
                         for c in range(3)])
    for batch_size in (4, 24):
        model = fitted("bernoulli", images, labels, batch_size)
        np.testing.assert_allclose(ops.convert_to_numpy(model.pixel_probabilities()),
                                   expected, rtol=1e-6)
        prior = np.exp(ops.convert_to_numpy(model.prior()))
        np.testing.assert_allclose(prior, (np.bincount(labels) + 1) / (24 + 3), rtol=1e-6)


def test_bernoulli_log_prob_and_classification_by_hand():
    images, labels = labelled_batch()
    model = fitted("bernoulli", images, labels)
    theta = ops.convert_to_numpy(model.pixel_probabilities()).astype("float64")
    prior = ops.convert_to_numpy(model.prior()).astype("float64")
    x = (images.reshape(len(images), -1) > 0).astype(float)
    per_class = x @ np.log(theta).T + (1 - x) @ np.log(1 - theta).T
    np.testing.assert_allclose(model.log_prob(images, labels),
                               per_class[np.arange(len(x)), labels], rtol=1e-5)
    marginal = logsumexp(per_class, axis=1) - np.log(3)  # uniform over classes
    np.testing.assert_allclose(model.log_prob(images), marginal, rtol=1e-5)
    np.testing.assert_array_equal(model.classify(images), np.argmax(per_class + prior, axis=1))
    assert model.accuracy(images, labels) > 0.8
    assert not model.log_prob_is_bound


def test_gaussian_log_prob_equals_scipy():
    images, labels = labelled_batch()
    model = fitted("gaussian", images, labels)
    mean, variance = (ops.convert_to_numpy(t) for t in model.pixel_gaussians())
    points = ((np.rint((images + 1) * 127.5) + np.random.default_rng(0).uniform(
        size=images.shape)) / 128 - 1).reshape(len(images), -1)
    expected = np.array([
        stats.norm(mean[y], np.sqrt(variance[y])).logpdf(p).sum()
        for p, y in zip(points, labels)]) + points.shape[1] * np.log(2 / 256)
    np.testing.assert_allclose(model.log_prob(images, labels, seed=0), expected, rtol=1e-4)
    assert model.log_prob_is_bound


def test_samples_follow_the_pixel_probabilities():
    images, labels = labelled_batch()
    model = fitted("bernoulli", images, labels)
    draws = model.sample(6000, seed=0, labels=np.full(6000, 1))
    frequency = (draws.reshape(6000, -1) > 0).mean(0)
    theta = ops.convert_to_numpy(model.pixel_probabilities())[1]
    np.testing.assert_allclose(frequency, theta, atol=0.03)
    assert set(np.unique(draws)) <= {-1.0, 1.0}
    grid = model.sample(6, seed=1)  # two per class, in class order
    np.testing.assert_array_equal(grid, model.sample(6, seed=1, labels=[0, 0, 1, 1, 2, 2]))


def test_labels_are_required_to_fit():
    model = kerasgen.NaiveBayes(image_size=4, num_classes=3)
    model.compile()
    with pytest.raises(ValueError, match="labelled images"):
        model.fit(np.zeros((4, 4, 4, 1), "float32"), batch_size=4, verbose=0)


@pytest.mark.parametrize("argument,value", [
    ("likelihood", "poisson"), ("num_classes", 0), ("threshold", 1.5), ("smoothing", 0.0)])
def test_bad_arguments_are_refused_in_one_line(argument, value):
    with pytest.raises(ValueError, match=f"Received: {argument}="):
        kerasgen.NaiveBayes(**{argument: value})
