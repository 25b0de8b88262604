"""Gradient penalties (WGAN-GP, R1) and the input gradients under them."""

import keras
import numpy as np
import pytest
from keras import ops

import kerasgen
from family_contract import fit_one_batch, run_family_test
from kerasgen.losses import gradient_penalty, r1_penalty
from kerasgen.training.input_gradients import input_gradient

SHAPE = (4, 4, 1)


def linear_critic(w):
    """f(x) = <w, x> on flattened 4x4 images."""
    model = keras.Sequential([
        keras.Input(SHAPE), keras.layers.Flatten(),
        keras.layers.Dense(1, use_bias=False),
    ])
    model.set_weights([np.asarray(w, "float32").reshape(-1, 1)])
    return model


def unit_vector(norm):
    w = np.random.default_rng(0).standard_normal(16)
    return norm * w / np.linalg.norm(w)


def images(seed, n=6):
    return np.random.default_rng(seed).uniform(-1, 1, (n,) + SHAPE).astype("float32")


def test_input_gradient_of_a_quadratic():
    x = np.array([[1.0, -2.0, 3.0]], "float32")
    grad = input_gradient(lambda v: ops.sum(ops.square(v), axis=-1), x)
    np.testing.assert_allclose(ops.convert_to_numpy(grad), 2 * x)


def test_gradient_penalty_is_zero_for_a_unit_norm_linear_critic():
    critic = linear_critic(unit_vector(1.0))
    gp = gradient_penalty(critic, images(1), images(2),
                          seed_generator=keras.random.SeedGenerator(0))
    assert float(gp) == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("norm", [2.0, 0.5])
def test_gradient_penalty_of_a_linear_critic(norm):
    critic = linear_critic(unit_vector(norm))
    lambda_gp = 10.0
    gp = lambda_gp * gradient_penalty(critic, images(1), images(2),
                                      epsilon=np.linspace(0, 1, 6))
    assert float(gp) == pytest.approx(lambda_gp * (norm - 1.0) ** 2, rel=1e-5)


def test_per_pixel_penalty_takes_the_norm_over_channels_at_each_pixel():
    # A 1x1 convolution with weights w per channel: the gradient at every
    # pixel of the summed scores is w, so each pixel's norm is ||w||, while
    # the whole image's is ||w|| times the square root of the pixel count.
    critic = keras.Sequential([keras.Input((4, 4, 3)),
                               keras.layers.Conv2D(1, 1, use_bias=False)])
    critic.set_weights([np.array([0.6, 0.0, 0.8], "float32").reshape(1, 1, 3, 1) * 2.0])
    real = np.random.default_rng(0).uniform(-1, 1, (2, 4, 4, 3)).astype("float32")
    per_pixel = gradient_penalty(critic, real, -real, epsilon=np.full(2, 0.5), per_pixel=True)
    whole = gradient_penalty(critic, real, -real, epsilon=np.full(2, 0.5))
    assert float(per_pixel) == pytest.approx((2.0 - 1.0) ** 2, rel=1e-5)
    assert float(whole) == pytest.approx((2.0 * 4 - 1.0) ** 2, rel=1e-5)


def test_gradient_penalty_interpolates_where_told():
    # f(x) = sum(x^2)/2 has gradient x, so ||grad f(x_hat)|| = ||x_hat||:
    # with eps = 1 the penalty is evaluated at the real images only.
    quadratic = lambda x, training=False: 0.5 * ops.sum(
        ops.reshape(ops.square(x), (ops.shape(x)[0], -1)), axis=-1)
    real, fake = images(1), images(2)
    norms = np.linalg.norm(real.reshape(len(real), -1), axis=1)
    gp = gradient_penalty(quadratic, real, fake, epsilon=np.ones(len(real)))
    assert float(gp) == pytest.approx(np.mean((norms - 1) ** 2), rel=1e-5)


@pytest.mark.parametrize("norm", [1.0, 3.0])
def test_r1_of_a_linear_discriminator(norm):
    gamma = 4.0
    d = linear_critic(unit_vector(norm))
    r1 = gamma / 2 * r1_penalty(d, images(3))
    assert float(r1) == pytest.approx(gamma / 2 * norm ** 2, rel=1e-5)


def test_penalty_is_differentiable_in_the_training_step():
    # The penalty's gradient with respect to the critic's weights is what
    # moves them: with the Wasserstein terms weighted out (lambda large and
    # the critic linear, whose Wasserstein gradient is the mean difference),
    # a step on the WGAN-GP critic loss must shrink ||w|| toward 1.
    model = kerasgen.WGANGP(image_size=8, latent_dim=4, generator_filters=4,
                            critic_filters=4, n_critic=1, lambda_gp=1e4, seed=0)
    model.compile({"critic": keras.optimizers.SGD(1e-6),
                   "generator": keras.optimizers.SGD(0.0)})
    x = np.random.default_rng(0).uniform(-1, 1, (8, 8, 8, 1)).astype("float32")
    logs = [fit_one_batch(model, (x, None))["gp"] for _ in range(3)]
    assert logs[-1] < logs[0], logs


# --- R1 in the non-saturating GAN ------------------------------------------------

TINY_GAN = dict(image_size=8, latent_dim=4, generator_filters=4,
                discriminator_filters=4, seed=3)


def batch(n=8):
    return np.random.default_rng(0).uniform(-1, 1, (n, 8, 8, 1)).astype("float32"), None


@pytest.mark.parametrize("cls", [kerasgen.GAN, kerasgen.DCGAN])
def test_r1_family_contract(cls, tmp_path):
    run_family_test(cls, {**TINY_GAN, "r1_gamma": 10.0}, batch(), tmp_path)


def test_r1_is_logged_and_added_to_the_discriminator_loss():
    plain = kerasgen.GAN(**TINY_GAN)
    r1 = kerasgen.GAN(**TINY_GAN, r1_gamma=10.0)
    r1.set_weights(plain.get_weights())  # same seed: same latents too
    x = ops.convert_to_tensor(batch()[0])
    loss_plain, logs_plain = plain.discriminator_step_loss(x)
    assert "r1" not in logs_plain
    loss_r1, logs_r1 = r1.discriminator_step_loss(x)
    expected = r1_penalty(r1.discriminator, x)
    np.testing.assert_allclose(float(logs_r1["r1"]), float(expected), rtol=1e-5)
    np.testing.assert_allclose(float(loss_r1), float(loss_plain) + 5.0 * float(expected),
                               rtol=1e-5)
    assert r1.get_config()["r1_gamma"] == 10.0
    with pytest.raises(ValueError, match="r1_gamma"):
        kerasgen.GAN(**TINY_GAN, r1_gamma=-1.0)
