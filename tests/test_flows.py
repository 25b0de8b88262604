"""RealNVP and Glow: every bijection inverts and its log-determinant is the
log |det| of its Jacobian (autodiff on the backend that runs), ActNorm's
data-dependent initialization (alone, inside `fit()`, across save and
load), the likelihood's units and mass, sampling, and the family contract."""

import math
import os

import keras
import numpy as np
import pytest
from keras import ops

import kerasgen
from family_contract import fit_one_batch, run_family_test
from kerasgen.layers.flow_layers import ActNorm
from kerasgen.layers.flow_layers import AffineCoupling
from kerasgen.layers.flow_layers import InvertibleConv1x1
from kerasgen.layers.flow_layers import LogitTransform
from kerasgen.layers.flow_layers import MultiScaleFlow
from kerasgen.layers.flow_layers import Squeeze
from kerasgen.layers.flow_layers import lu_decomposition

BACKEND = keras.backend.backend()
TINY_REALNVP = dict(image_size=4, channels=1, scales=2, filters=4, blocks=0, seed=3)
TINY_GLOW = dict(image_size=4, channels=1, scales=2, flow_depth=2, filters=4, seed=3)


def image_batch(n=8, size=4, seed=1):
    """8-bit images in [-1, 1], as loaded."""
    levels = np.random.default_rng(seed).integers(0, 256, (n, size, size, 1))
    return (levels / 127.5 - 1).astype("float32")


def jacobian(function, x):
    """d function(x) / dx of a batch `x`, both flattened: `(n * D_out,
    n * D_in)` float64, by the backend's autodiff (one call for the batch)."""
    flat = x.reshape(-1).astype("float32")
    if BACKEND == "jax":
        import jax

        f = lambda v: ops.reshape(function(ops.reshape(v, x.shape)), (-1,))
        return np.asarray(jax.jit(jax.jacfwd(f))(flat), "float64")
    import tensorflow as tf

    v = tf.constant(flat)
    with tf.GradientTape() as tape:
        tape.watch(v)
        out = tf.reshape(function(tf.reshape(v, x.shape)), (-1,))
    return tape.jacobian(out, v).numpy().astype("float64")


def per_example_log_abs_det(function, x):
    """log |det| of each example's Jacobian block; the blocks between
    examples must be zero (each image is transformed on its own)."""
    n = len(x)
    full = jacobian(function, x)
    d_out, d_in = full.shape[0] // n, full.shape[1] // n
    assert d_out == d_in
    blocks = full.reshape(n, d_out, n, d_in)
    out = []
    for i in range(n):
        off = np.delete(blocks[i], i, axis=1)
        np.testing.assert_allclose(off, 0.0, atol=1e-6)
        out.append(log_abs_det(blocks[i, :, i]))
    return np.array(out)


def log_abs_det(matrix):
    sign, value = np.linalg.slogdet(matrix)
    assert sign != 0
    return value


# --- The family contract -------------------------------------------------------


def test_realnvp_family_contract(tmp_path):
    run_family_test(kerasgen.RealNVP, TINY_REALNVP, (image_batch(), None), tmp_path)


@pytest.mark.parametrize("family", [kerasgen.RealNVP, kerasgen.Glow])
def test_a_flow_refuses_mixed_precision(family):
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        with pytest.raises(ValueError, match="float32 only.*mixed_bfloat16"):
            family(**(TINY_REALNVP if family is kerasgen.RealNVP else TINY_GLOW))
    finally:
        keras.config.set_dtype_policy(previous)


def test_glow_family_contract(tmp_path):
    # The contract asks every trainable variable to move in one step. With
    # the zero-initialised last convolution, the layers before it get no
    # gradient on the first step (that is what makes each step start as
    # the identity), so the contract runs without it;
    # test_glow_starts_as_squeezes_and_rotations checks the default.
    run_family_test(kerasgen.Glow, {**TINY_GLOW, "zero_init": False},
                    (image_batch(), None), tmp_path)


# --- Each bijection ---------------------------------------------------------------


def initialized_actnorm(x):
    norm = ActNorm()
    norm.build(x.shape)
    norm.forward(x * 3.0 + 1.0, training=True)  # initialised on another batch
    norm.bias.assign(np.array([0.1, -0.2], "float32"))  # as if trained
    return norm


def perturbed_conv1x1(x):
    conv = InvertibleConv1x1()
    conv.build(x.shape)
    rng = np.random.default_rng(0)
    for variable in (conv.lower, conv.upper, conv.log_abs_diagonal):
        variable.assign(np.asarray(variable) + 0.3 * rng.normal(size=variable.shape))
    return conv


def built(make_layer):
    def make(x):
        layer = make_layer()
        layer.build(x.shape)
        return layer
    return make


BIJECTIONS = {
    "squeeze": lambda x: Squeeze(),
    "logit": lambda x: LogitTransform(0.05),
    "actnorm": initialized_actnorm,
    "conv1x1": perturbed_conv1x1,
    "checkerboard_tanh": built(lambda: AffineCoupling("checkerboard", 1, filters=8, blocks=1)),
    "channel_tanh": built(lambda: AffineCoupling("channel", 1, filters=8, blocks=1)),
    "channel_sigmoid": built(lambda: AffineCoupling("channel", 0, filters=8, scale="sigmoid")),
    "multi_scale": lambda x: MultiScaleFlow(
        [[ActNorm(), InvertibleConv1x1(), AffineCoupling("channel", filters=8)],
         [Squeeze(), AffineCoupling("checkerboard", filters=8)]], x.shape[1:]),
}


def bijection_input(seed=0):
    # Inside (-1, 1), so that the logit transform takes it too.
    return np.random.default_rng(seed).uniform(-0.9, 0.9, (3, 4, 4, 2)).astype("float32")


@pytest.mark.parametrize("name", sorted(BIJECTIONS))
def test_bijection_inverse_reconstructs_the_input(name):
    x = bijection_input()
    bijection = BIJECTIONS[name](x)
    y, log_det = bijection.forward(x)
    assert tuple(log_det.shape) == (3,)
    assert not np.allclose(ops.convert_to_numpy(y).ravel(), x.ravel())
    np.testing.assert_allclose(ops.convert_to_numpy(bijection.inverse(y)), x, atol=1e-4)


@pytest.mark.parametrize("name", sorted(BIJECTIONS))
def test_bijection_log_det_is_the_log_det_of_its_jacobian(name):
    x = bijection_input(1)
    bijection = BIJECTIONS[name](x)
    _, log_det = bijection.forward(x)
    np.testing.assert_allclose(ops.convert_to_numpy(log_det),
                               per_example_log_abs_det(lambda v: bijection.forward(v)[0], x),
                               rtol=1e-4, atol=1e-3)


def test_bijections_round_trip_their_config():
    x = bijection_input()
    for name, make in BIJECTIONS.items():
        bijection = make(x)
        config = bijection.get_config()
        assert type(bijection).from_config(config).get_config() == config, name


def test_squeeze_is_space_to_depth():
    x = np.arange(2 * 4 * 4 * 3, dtype="float32").reshape(2, 4, 4, 3)
    y = ops.convert_to_numpy(Squeeze().forward(x)[0])
    assert y.shape == (2, 2, 2, 12)
    # Pixel (i, j) of the output holds the 2x2 block at (2i, 2j).
    expected = x.reshape(2, 2, 2, 2, 2, 3).transpose(0, 1, 3, 2, 4, 5).reshape(2, 2, 2, 12)
    np.testing.assert_array_equal(y, expected)


# --- The LU 1x1 convolution ------------------------------------------------------


def test_lu_decomposition_factors_the_matrix():
    matrix = np.random.default_rng(2).normal(size=(6, 6))
    p, l, u = lu_decomposition(matrix)
    np.testing.assert_allclose(p @ l @ u, matrix, atol=1e-12)
    np.testing.assert_array_equal(np.sort(p, axis=0)[-1], np.ones(6))  # a permutation
    np.testing.assert_allclose(np.diag(l), 1.0)
    assert np.allclose(np.triu(l, 1), 0) and np.allclose(np.tril(u, -1), 0)


def test_conv1x1_starts_as_a_rotation_and_its_log_det_is_log_abs_det_w():
    x = np.random.default_rng(3).normal(size=(2, 3, 5, 6)).astype("float32")
    conv = InvertibleConv1x1()
    conv.build(x.shape)
    weight = ops.convert_to_numpy(conv.weight()).astype("float64")
    np.testing.assert_allclose(weight @ weight.T, np.eye(6), atol=1e-5)
    conv = perturbed_conv1x1(x)
    weight = ops.convert_to_numpy(conv.weight()).astype("float64")
    _, log_det = conv.forward(x)
    np.testing.assert_allclose(ops.convert_to_numpy(log_det),
                               3 * 5 * np.linalg.slogdet(weight)[1], rtol=1e-5)
    np.testing.assert_allclose(ops.convert_to_numpy(conv.inverse_weight()),
                               np.linalg.inv(weight), atol=1e-4)
    y = ops.convert_to_numpy(conv.forward(x)[0])
    np.testing.assert_allclose(y, np.einsum("ij,bhwj->bhwi", weight, x), atol=1e-5)


# --- ActNorm's data-dependent initialization ------------------------------------


def test_actnorm_normalizes_its_init_batch_and_keeps_those_values():
    rng = np.random.default_rng(4)
    x = (rng.normal(size=(32, 4, 4, 3)) * [1.0, 5.0, 0.1] + [3.0, -2.0, 0.5]).astype("float32")
    norm = ActNorm()
    norm.build(x.shape)
    y, _ = norm.forward(x, training=True)
    y = ops.convert_to_numpy(y)
    np.testing.assert_allclose(y.mean(axis=(0, 1, 2)), 0.0, atol=1e-4)
    np.testing.assert_allclose(y.std(axis=(0, 1, 2)), 1.0, atol=1e-4)
    assert float(norm.initialized) == 1.0
    initial = np.array(norm.initial_bias), np.array(norm.initial_log_scale)
    norm.forward(x * 10.0, training=True)  # a later batch: no second init
    np.testing.assert_array_equal(np.array(norm.initial_bias), initial[0])
    np.testing.assert_array_equal(np.array(norm.initial_log_scale), initial[1])
    np.testing.assert_allclose(ops.convert_to_numpy(norm.forward(x)[0]), y, atol=1e-5)


def actnorms(model):
    return [b for b in model.flow.bijections if isinstance(b, ActNorm)]


def actnorm_state(model):
    return [(np.array(n.initial_bias), np.array(n.initial_log_scale)) for n in actnorms(model)]


def test_actnorm_initializes_on_the_first_fit_batch_once_and_survives_save(tmp_path):
    keras.utils.set_random_seed(0)
    model = kerasgen.Glow(**TINY_GLOW)
    model.compile()
    assert all(float(n.initialized) == 0.0 for n in actnorms(model))
    images = image_batch(16)
    fit_one_batch(model, (images, None))
    assert all(float(n.initialized) == 1.0 for n in actnorms(model))
    # The first ActNorm sees the squeezed, dequantized batch.
    first = actnorms(model)[0]
    squeezed = ops.convert_to_numpy(Squeeze().forward((np.rint((images + 1) * 127.5) + 0.5)
                                                      / 128 - 1)[0])
    np.testing.assert_allclose(np.array(first.initial_bias), -squeezed.mean(axis=(0, 1, 2)),
                               atol=2e-3)
    np.testing.assert_allclose(np.array(first.initial_log_scale),
                               -np.log(squeezed.std(axis=(0, 1, 2))), atol=2e-2)
    state = actnorm_state(model)
    fit_one_batch(model, (image_batch(16, seed=9) * 0.5, None))
    for (bias, log_scale), now in zip(state, actnorm_state(model)):
        np.testing.assert_array_equal(now[0], bias)
        np.testing.assert_array_equal(now[1], log_scale)
    # Saved and loaded, then compiled afresh (the batch counter back at 0):
    # still initialised, and the next fit keeps the values.
    path = os.path.join(str(tmp_path), "glow.keras")
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    loaded.compile()
    fit_one_batch(loaded, (image_batch(16, seed=10) * 0.2, None))
    for (bias, log_scale), now in zip(state, actnorm_state(loaded)):
        np.testing.assert_array_equal(now[0], bias)
        np.testing.assert_array_equal(now[1], log_scale)


def test_glow_starts_as_squeezes_and_rotations():
    # Zero-initialised couplings are the identity, ActNorm before its first
    # batch too: z is the squeezed image mixed by the 1x1 rotations only.
    model = kerasgen.Glow(**TINY_GLOW)
    images = image_batch()
    y = (np.rint((images + 1) * 127.5) + 0.5) / 128 - 1
    x, scales, couplings = y, model.flow.scales(), 0
    for index, scale in enumerate(scales):
        for bijection in scale:
            out, log_det = bijection.forward(x)
            if isinstance(bijection, AffineCoupling):
                couplings += 1
                np.testing.assert_allclose(ops.convert_to_numpy(out), x, atol=1e-6)
                np.testing.assert_allclose(ops.convert_to_numpy(log_det), 0.0, atol=1e-6)
            x = ops.convert_to_numpy(out)
        if index < len(scales) - 1:
            x = x[..., :x.shape[-1] - x.shape[-1] // 2]
    assert couplings == 4
    z = model.encode(images)
    # Rotations keep the norm.
    np.testing.assert_allclose(np.linalg.norm(z, axis=1),
                               np.linalg.norm(y.reshape(8, -1), axis=1), rtol=1e-5)


# --- The whole flow ----------------------------------------------------------------


@pytest.fixture(scope="module", params=["realnvp", "glow"])
def trained_tiny(request):
    """A tiny model of each family after a few steps (so that ActNorm is
    initialised and no coupling is the identity)."""
    keras.utils.set_random_seed(0)
    if request.param == "realnvp":
        model = kerasgen.RealNVP(**{**TINY_REALNVP, "blocks": 1})
    else:
        model = kerasgen.Glow(**TINY_GLOW)
    model.compile()
    model.fit(image_batch(32), batch_size=16, epochs=2, verbose=0)
    return model


def test_whole_flow_inverts_and_its_log_det_is_its_jacobians(trained_tiny):
    model = trained_tiny
    # Batches of 16 throughout, the shape the fixture trained on (on JAX a
    # new shape compiles every op again).
    images = image_batch(16, seed=5)
    z = model.encode(images)
    assert z.shape == (16, model.latent_dim) and model.latent_dim == 16
    # decode(encode(x)) gives back the input levels.
    np.testing.assert_allclose(model.decode(z), images, atol=1e-4)
    y = np.random.default_rng(6).uniform(-0.99, 0.99, (16, 4, 4, 1)).astype("float32")
    _, log_det = model.flow.forward(y)
    np.testing.assert_allclose(ops.convert_to_numpy(log_det),
                               per_example_log_abs_det(lambda v: model.flow.forward(v)[0], y),
                               rtol=1e-4, atol=1e-3)


def test_log_prob_is_the_change_of_variables_in_bits_and_nats(trained_tiny):
    model = trained_tiny
    images = image_batch(16, seed=7)
    log_prob = model.log_prob(images, seed=3)
    noise = np.random.default_rng(3).uniform(size=images.shape).astype("float32")
    y = (np.rint((images + 1) * 127.5) + noise) / 128 - 1
    z, log_det = (ops.convert_to_numpy(t) for t in model.flow.forward(y))
    expected = (-0.5 * (z ** 2 + math.log(2 * math.pi)).sum(axis=1) + log_det
                + 16 * math.log(2 / 256))
    np.testing.assert_allclose(log_prob, expected, rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(model.bits_per_dim(images, seed=3),
                               -log_prob.mean() / (16 * math.log(2)), rtol=1e-6)
    assert model.log_prob_is_bound
    # The loss and bits/dim that fit reports are the same quantities.
    logs = fit_one_batch(model, (images, None))
    np.testing.assert_allclose(logs["bits_per_dim"], logs["loss"] / (16 * math.log(2)),
                               rtol=1e-5)


def test_one_pixel_flow_puts_at_most_all_its_mass_on_the_256_levels():
    # A 1-pixel RealNVP, trained on a lopsided distribution of levels. With
    # log P averaged over dequantization draws, exp of it bounds each
    # level's mass from below (Jensen), so the sum over all 256 is <= 1.
    keras.utils.set_random_seed(0)
    model = kerasgen.RealNVP(image_size=1, channels=1, scales=1, filters=4, blocks=0, seed=1,
                             learning_rate=1e-2)
    levels = np.random.default_rng(0).choice(256, size=512, p=np.arange(256) / np.arange(256).sum())
    data = (levels / 127.5 - 1).astype("float32").reshape(-1, 1, 1, 1)
    model.compile()
    before = model.log_prob(data).mean()
    model.fit(data, batch_size=128, epochs=10, verbose=0)
    assert model.log_prob(data).mean() > before + 0.05
    every_level = (np.arange(256) / 127.5 - 1).astype("float32").reshape(-1, 1, 1, 1)
    mean_log_prob = np.mean([model.log_prob(every_level, seed=s) for s in range(32)], axis=0)
    total = np.exp(mean_log_prob).sum()
    assert 0.9 < total <= 1.0 + 1e-3, total


# --- Sampling and errors -----------------------------------------------------------


def test_temperature_scales_the_prior_and_zero_decodes_the_zero_latent():
    model = kerasgen.Glow(**{**TINY_GLOW, "zero_init": False})
    # Batches of 4 throughout (on JAX a new shape compiles every op again).
    cold = model.sample(4, seed=0, temperature=0.0)
    np.testing.assert_array_equal(cold, model.decode(np.zeros((4, 16), "float32")))
    warm = model.sample(4, seed=0, temperature=0.5)
    np.testing.assert_allclose(warm, model.decode(0.5 * model.sample_latents(4, seed=0)),
                               atol=1e-6)
    np.testing.assert_array_equal(warm, model.sample(4, seed=0, temperature=0.5))
    hot = model.sample(4, seed=1, temperature=3.0)
    assert hot.min() >= -1.0 and hot.max() <= 1.0 and hot.dtype == np.float32
    with pytest.raises(ValueError, match="Received: temperature=-1"):
        model.sample(2, temperature=-1)
    with pytest.raises(ValueError, match="unconditional"):
        model.sample(2, labels=[0, 1])


def test_serving_endpoints():
    model = kerasgen.RealNVP(**TINY_REALNVP)
    assert [e.name for e in model.serving_endpoints()] == [
        "generate", "generate_from_seed", "encode", "log_prob"]
    assert model.serving_default == "generate"
    assert kerasgen.Glow.interfaces == ("sample_latents", "decode", "sample", "encode",
                                        "log_prob")


@pytest.mark.parametrize("cls,argument,value", [
    (kerasgen.RealNVP, "num_classes", 10), (kerasgen.Glow, "num_classes", 2),
    (kerasgen.RealNVP, "image_size", 6), (kerasgen.Glow, "image_size", 12),
    (kerasgen.Glow, "flow_depth", 0), (kerasgen.RealNVP, "blocks", -1),
    (kerasgen.RealNVP, "scales", 0), (kerasgen.RealNVP, "channels", 2),
    (kerasgen.RealNVP, "logit_alpha", 0.5)])
def test_bad_arguments_are_refused_in_one_line(cls, argument, value):
    kwargs = dict(image_size=8, scales=3, channels=1, filters=4)
    kwargs[argument] = value
    with pytest.raises(ValueError, match=f"Received: .*{argument}={value}") as error:
        cls(**kwargs)
    assert "\n" not in str(error.value)
