"""PixelCNN: the masks are causal (by the network's own gradients), the
gated variant has no blind spot and the plain one has, the likelihood is
the chain rule's sum computed by hand and puts all its mass on the 256
levels, the compiled sampler draws the textbook loop's images and the
model's own distribution, conditioning, EMA, export, and the family
contract."""

import keras
import numpy as np
import pytest
import scipy.stats
from keras import ops

import kerasgen
import kerasgen.export
from family_contract import run_family_test
from kerasgen.layers.masked import MaskedConv2D
from kerasgen.layers.masked import causal_mask
from kerasgen.layers.masked import channel_groups
from kerasgen.models.pixelcnn import build_pixelcnn_network

BACKEND = keras.backend.backend()
TINY = dict(image_size=5, filters=8, depth=2, first_kernel_size=3, head_filters=8, seed=2)


def image_batch(n=8, size=5, channels=1, seed=1):
    levels = np.random.default_rng(seed).integers(0, 256, (n, size, size, channels))
    return (levels / 127.5 - 1).astype("float32")


def input_gradients(network, image, labels=None):
    """d output[position] / d input of one image: `(H, W, C, H, W, C)`, the
    output summed over each sub-pixel's parameters."""
    size, _, channels = image.shape
    p = int(network.output.shape[-1]) // channels

    def outputs(x):
        inputs = x if labels is None else [x, labels]
        out = network(inputs, training=False)
        return ops.sum(ops.reshape(out, (1, size, size, channels, p)), axis=-1)[0]

    x = image[None]
    if BACKEND == "jax":
        import jax

        jac = jax.jacrev(lambda v: outputs(v))(x)
        return np.asarray(jac)[..., 0, :, :, :]
    import tensorflow as tf

    v = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(v)
        out = outputs(v)
    return tape.jacobian(out, v).numpy()[..., 0, :, :, :]


def earlier(size, channels):
    """`before[p, q]`: sub-pixel q comes before p in raster-then-channel
    order (positions flattened row, column, channel)."""
    order = np.arange(size * size * channels)
    return order[None, :] < order[:, None]


# --- The masks ------------------------------------------------------------------


def test_masks_a_and_b_and_the_colour_order():
    a = causal_mask((3, 3), 3, 3, "A", color_groups=3)
    b = causal_mask((3, 3), 3, 3, "B", color_groups=3)
    # Rows above and left in the centre row: all channels; the centre:
    # earlier colours only (A) or also the same one (B).
    np.testing.assert_array_equal(a[0], 1.0)
    np.testing.assert_array_equal(a[1, 0], 1.0)
    np.testing.assert_array_equal(a[1, 2], 0.0)
    np.testing.assert_array_equal(a[2], 0.0)
    np.testing.assert_array_equal(a[1, 1], np.triu(np.ones((3, 3)), 1))
    np.testing.assert_array_equal(b[1, 1], np.triu(np.ones((3, 3))))
    vertical_a = causal_mask((3, 3), 2, 2, "A", "vertical")
    vertical_b = causal_mask((3, 3), 2, 2, "B", "vertical")
    assert vertical_a[:, :, 0, 0].tolist() == [[1, 1, 1], [0, 0, 0], [0, 0, 0]]
    assert vertical_b[:, :, 0, 0].tolist() == [[1, 1, 1], [1, 1, 1], [0, 0, 0]]
    # A gated unit's two halves each follow the R, G, B layout.
    assert channel_groups(12, 3, split=2).tolist() == [0, 0, 1, 1, 2, 2] * 2


@pytest.mark.parametrize("variant,channels", [("gated", 1), ("gated", 3), ("plain", 1),
                                              ("plain", 3)])
def test_each_output_depends_only_on_earlier_sub_pixels(variant, channels):
    keras.utils.set_random_seed(0)
    network = build_pixelcnn_network(channels, 0, variant, 6, 3, 3, 3, 6, 4)
    grads = input_gradients(network, image_batch(1, 5, channels)[0])
    n = 25 * channels
    flat = np.abs(grads.reshape(n, n))
    assert flat[~earlier(5, channels)].max() == 0.0
    assert flat[earlier(5, channels)].max() > 0.0


def test_gated_stacks_have_no_blind_spot_and_plain_masks_have_one():
    """Output at the centre of a 5x5 image, 3x3 kernels, four layers: the
    gated network sees every earlier pixel; the plain one never sees the
    pixel one row up and two to the right (the blind spot of 2016b,
    figure 1)."""
    keras.utils.set_random_seed(0)
    image = image_batch(1)[0]
    seen = {}
    for variant in ("gated", "plain"):
        network = build_pixelcnn_network(1, 0, variant, 8, 4, 3, 3, 8, 4)
        grads = np.abs(input_gradients(network, image))[2, 2, 0, :, :, 0]
        seen[variant] = grads > 0
    before = earlier(5, 1)[12].reshape(5, 5)
    assert seen["gated"][before].all()
    blind = before & ~seen["plain"]
    assert blind.tolist() == [[False] * 5, [False] * 4 + [True]] + [[False] * 5] * 3


def test_receptive_rows_is_how_far_up_the_gradients_reach():
    model = kerasgen.PixelCNN(image_size=9, filters=8, depth=3, kernel_size=3,
                              first_kernel_size=5, head_filters=8)
    assert model.receptive_rows == 2 + 2 * 1
    grads = np.abs(input_gradients(model.pixelcnn, image_batch(1, 9)[0]))[8, 4, 0]
    rows_seen = np.nonzero(grads.sum(axis=(1, 2)))[0]
    assert rows_seen.min() == 8 - model.receptive_rows


# --- The likelihood ----------------------------------------------------------------


def test_softmax_log_prob_is_the_sum_of_the_per_pixel_log_softmax():
    model = kerasgen.PixelCNN(**TINY)
    images = image_batch(4)
    logits = ops.convert_to_numpy(model.distribution_params(images)).astype("float64")
    log_softmax = logits - logits.max(-1, keepdims=True)
    log_softmax -= np.log(np.exp(log_softmax).sum(-1, keepdims=True))
    levels = np.round((images + 1) * 127.5).astype(int)
    by_hand = np.take_along_axis(log_softmax, levels[..., None], -1).sum(axis=(1, 2, 3, 4))
    np.testing.assert_allclose(model.log_prob(images), by_hand, rtol=1e-5)
    np.testing.assert_allclose(model.bits_per_dim(images),
                               -by_hand.mean() / (25 * np.log(2)), rtol=1e-5)


def test_logistic_mixture_log_prob_is_the_mass_of_each_bin():
    model = kerasgen.PixelCNN(**TINY, distribution="logistic_mixture", mixture_components=3)
    images = image_batch(2)
    params = ops.convert_to_numpy(model.distribution_params(images)).astype("float64")
    logits, means, log_scales = np.split(params, 3, axis=-1)
    log_scales = np.maximum(log_scales, -7)
    x = np.round((images + 1) * 127.5)[..., None] / 127.5 - 1

    def cdf(v):
        return 1 / (1 + np.exp(-(v - means) / np.exp(log_scales)))

    upper = np.where(x > 0.999, 1.0, cdf(x + 1 / 255))
    lower = np.where(x < -0.999, 0.0, cdf(x - 1 / 255))
    weights = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    by_hand = np.log((weights * (upper - lower)).sum(-1)).sum(axis=(1, 2, 3))
    np.testing.assert_allclose(model.log_prob(images), by_hand, rtol=1e-4)


@pytest.mark.parametrize("distribution", ["softmax", "logistic_mixture"])
def test_one_pixel_model_puts_all_its_mass_on_the_256_levels(distribution):
    model = kerasgen.PixelCNN(image_size=1, filters=4, depth=1, first_kernel_size=1,
                              head_filters=4, distribution=distribution, seed=0)
    every_level = (np.arange(256) / 127.5 - 1).reshape(256, 1, 1, 1).astype("float32")
    assert np.exp(model.log_prob(every_level)).sum() == pytest.approx(1.0, abs=1e-4)


def test_training_lowers_the_negative_log_likelihood():
    model = kerasgen.PixelCNN(**TINY, learning_rate=1e-2)
    model.compile()
    images = np.repeat(image_batch(4), 4, axis=0)
    before = model.bits_per_dim(images)
    model.fit(images, batch_size=16, epochs=30, verbose=0)
    assert model.bits_per_dim(images) < before - 1.5


# --- Sampling -----------------------------------------------------------------------


@pytest.mark.parametrize("config", [
    dict(), dict(variant="plain", distribution="logistic_mixture"),
    dict(num_classes=3), dict(channels=3, filters=12, head_filters=12,
                              distribution="logistic_mixture")],
    ids=["gated-softmax", "plain-logistic", "conditional", "rgb"])
def test_compiled_sampler_draws_the_images_of_the_textbook_loop(config):
    """On an image taller than the sampler's window of rows, so the window
    is really cropped and slides."""
    model = kerasgen.PixelCNN(**{**TINY, "image_size": 7, **config})
    assert model.receptive_rows + 1 < 7
    labels = [0, 2, 1] if model.num_classes else None
    fast = model.sample(3, seed=4, labels=labels)
    np.testing.assert_array_equal(fast, model.sample_naive(3, seed=4, labels=labels))
    assert fast.shape == (3, 7, 7, model.channels)
    assert not np.array_equal(fast, model.sample(3, seed=5, labels=labels))


@pytest.mark.parametrize("distribution", ["softmax", "logistic_mixture"])
def test_samples_follow_the_models_distribution(distribution):
    """A one-pixel model: the counts of each level in 20,000 draws pass a
    chi-square test against exp(log_prob) (levels expected fewer than 5
    times pooled)."""
    model = kerasgen.PixelCNN(image_size=1, filters=4, depth=1, first_kernel_size=1,
                              head_filters=4, distribution=distribution, seed=0)
    head = model.pixelcnn.get_layer("head_out")
    kernel, bias = head.get_weights()
    bias = np.random.default_rng(0).normal(0, 2, bias.shape).astype("float32")
    head.set_weights([kernel * 0, bias])  # a distribution far from uniform
    every_level = (np.arange(256) / 127.5 - 1).reshape(256, 1, 1, 1).astype("float32")
    probabilities = np.exp(model.log_prob(every_level))
    probabilities /= probabilities.sum()
    draws = np.round((model.sample(20000, seed=0)[:, 0, 0, 0] + 1) * 127.5).astype(int)
    counts = np.bincount(draws, minlength=256)
    expected = 20000 * probabilities
    rare = expected < 5
    if rare.any():
        observed = np.append(counts[~rare], counts[rare].sum())
        expected = np.append(expected[~rare], expected[rare].sum())
    else:
        observed = counts
    assert scipy.stats.chisquare(observed, expected).pvalue > 1e-3


def test_class_conditioning_and_the_marginal():
    model = kerasgen.PixelCNN(**TINY, num_classes=3)
    rng = np.random.default_rng(0)
    for layer in model.pixelcnn.layers:  # class biases as large as trained ones
        if isinstance(layer, keras.layers.Embedding):
            layer.set_weights([rng.normal(size=w.shape) for w in layer.get_weights()])
    images = image_batch(4)
    per_class = np.stack([model.log_prob(images, [k] * 4) for k in range(3)], axis=1)
    assert np.abs(per_class[:, 0] - per_class[:, 1]).max() > 0
    marginal = np.log(np.exp(per_class).mean(axis=1))
    np.testing.assert_allclose(model.log_prob(images), marginal, rtol=1e-5)
    assert not np.array_equal(model.sample(2, seed=0, labels=0),
                              model.sample(2, seed=0, labels=1))


def test_ema_network_is_what_likelihood_and_sampling_use():
    model = kerasgen.PixelCNN(**TINY, ema_decay=0.5)
    model.compile()
    images = image_batch(8)
    model.fit(images, batch_size=8, epochs=1, verbose=0)
    raw = ops.convert_to_numpy(model.distribution_params(images, network=model.pixelcnn))
    averaged = ops.convert_to_numpy(model.distribution_params(images))
    assert not np.allclose(raw, averaged)
    np.testing.assert_allclose(ops.convert_to_numpy(model.log_prob_tensor(images)),
                               model.log_prob(images), rtol=1e-6)
    head = model.pixelcnn_ema.get_layer("head_out")
    kernel, bias = head.get_weights()
    bias[0] = 1e4  # the averaged network puts all mass on level 0
    head.set_weights([kernel, bias])
    np.testing.assert_array_equal(model.sample(2, seed=0), -1.0)


# --- Serving and the family ---------------------------------------------------------


def test_serving_endpoints_and_interfaces():
    model = kerasgen.PixelCNN(**TINY)
    assert [e.name for e in model.serving_endpoints()] == [
        "generate_from_seed", "distribution", "log_prob"]
    assert model.serving_default == "generate_from_seed"
    assert kerasgen.PixelCNN.interfaces == ("sample", "log_prob")


@pytest.mark.skipif(BACKEND != "tensorflow", reason="export runs on TensorFlow")
def test_conditional_logistic_model_exports_and_tflite_gives_its_likelihood(tmp_path):
    import tensorflow as tf
    from ai_edge_litert.interpreter import Interpreter

    model = kerasgen.PixelCNN(**TINY, num_classes=2, distribution="logistic_mixture")
    images, labels = image_batch(2), np.array([0, 1], "int32")
    saved = tf.saved_model.load(kerasgen.export.saved_model(model, tmp_path, name="p"))
    served = saved.signatures["generate_from_seed"](seed=tf.constant(3, tf.int64),
                                                    labels=tf.constant(labels))
    endpoint = model.serving_endpoints()[0]
    np.testing.assert_array_equal(
        served["images"].numpy(),
        ops.convert_to_numpy(endpoint.function(ops.convert_to_tensor(3, "int64"), labels)))
    lite = Interpreter(model_path=kerasgen.export.tflite(model, tmp_path / "lite", name="p"))
    ran = lite.get_signature_runner("log_prob")(images=images, labels=labels)
    np.testing.assert_allclose(ran["log_prob"], model.log_prob(images, labels), rtol=1e-4)


def test_gated_softmax_family_contract(tmp_path):
    run_family_test(kerasgen.PixelCNN, TINY, (image_batch(), None), tmp_path)


def test_plain_conditional_logistic_family_contract(tmp_path):
    config = dict(TINY, variant="plain", num_classes=2, distribution="logistic_mixture")
    run_family_test(kerasgen.PixelCNN, config, (image_batch(), np.arange(8) % 2), tmp_path)


@pytest.mark.parametrize("argument,value", [
    ("variant", "lstm"), ("distribution", "gaussian"), ("channels", 2), ("depth", 0),
    ("kernel_size", 4), ("first_kernel_size", 0), ("mixture_components", 0),
    ("num_classes", -1), ("filters", 0), ("image_size", 0), ("learning_rate", -1.0)])
def test_bad_arguments_are_refused_in_one_line(argument, value):
    with pytest.raises(ValueError, match=f"Received: {argument}={value!r}") as error:
        kerasgen.PixelCNN(**{**TINY, argument: value})
    assert "\n" not in str(error.value)


def test_colour_model_needs_filters_divisible_by_three():
    with pytest.raises(ValueError, match="divisible by channels=3"):
        kerasgen.PixelCNN(**{**TINY, "channels": 3})
