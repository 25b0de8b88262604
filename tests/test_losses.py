"""Loss values against hand-computed numbers."""

import math

import numpy as np
import pytest
from keras import ops

from kerasgen import losses


def value(x):
    return float(ops.convert_to_numpy(x))


def test_vanilla_losses_match_cross_entropy():
    real, fake = np.array([[2.0], [0.0]]), np.array([[-1.0], [3.0]])
    sig = lambda x: 1 / (1 + np.exp(-x))
    d = -np.mean(np.log(sig(real))) - np.mean(np.log(1 - sig(fake)))
    g = -np.mean(np.log(sig(fake)))
    assert value(losses.discriminator_loss(real, fake)) == pytest.approx(d, rel=1e-5)
    assert value(losses.generator_loss(fake)) == pytest.approx(g, rel=1e-5)
    assert value(losses.generator_loss(np.zeros((3, 1)))) == pytest.approx(math.log(2), rel=1e-6)


def test_lsgan_hinge_wasserstein():
    real, fake = np.array([1.5, 0.5]), np.array([-0.5, 2.0])
    lsgan_d = 0.5 * (np.mean((real - 1) ** 2) + np.mean(fake ** 2))
    assert value(losses.discriminator_loss(real, fake, "lsgan")) == pytest.approx(lsgan_d)
    assert value(losses.generator_loss(fake, "lsgan")) == pytest.approx(0.5 * np.mean((fake - 1) ** 2))
    hinge_d = np.mean(np.maximum(0, 1 - real)) + np.mean(np.maximum(0, 1 + fake))
    assert value(losses.discriminator_loss(real, fake, "hinge")) == pytest.approx(hinge_d)
    assert value(losses.discriminator_loss(real, fake, "wasserstein")) == pytest.approx(fake.mean() - real.mean())
    assert value(losses.generator_loss(fake, "wasserstein")) == pytest.approx(-fake.mean())


def test_unknown_adversarial_loss():
    with pytest.raises(ValueError, match="Unknown adversarial loss"):
        losses.generator_loss(np.zeros(2), "minimax")


def test_gaussian_kl_closed_form():
    mean = np.array([[0.0, 1.0], [2.0, -1.0]])
    log_var = np.array([[0.0, math.log(2.0)], [math.log(0.5), 0.0]])
    expected = 0.5 * np.sum(np.exp(log_var) + mean ** 2 - 1 - log_var, axis=-1)
    np.testing.assert_allclose(ops.convert_to_numpy(losses.gaussian_kl(mean, log_var)), expected, rtol=1e-6)
    np.testing.assert_allclose(ops.convert_to_numpy(losses.gaussian_kl(np.zeros((1, 3)), np.zeros((1, 3)))), [0.0])


def test_reconstruction_nlls():
    images = np.array([[[[1.0], [-1.0]], [[0.0], [1.0]]]])  # targets 1, 0, 0.5, 1
    logits = np.array([[[[0.5], [-2.0]], [[1.0], [3.0]]]])
    t = (images + 1) / 2
    p = 1 / (1 + np.exp(-logits))
    bce = -(t * np.log(p) + (1 - t) * np.log(1 - p)).sum()
    np.testing.assert_allclose(ops.convert_to_numpy(losses.bernoulli_nll(images, logits)), [bce], rtol=1e-5)
    np.testing.assert_allclose(
        ops.convert_to_numpy(losses.gaussian_nll(images, np.zeros_like(images))), [0.5 * 3.0], rtol=1e-6
    )
