"""PixelCNN (van den Oord et al. 2016) and the gated PixelCNN without blind
spot, with a 256-way softmax or a discretized logistic mixture output.

- Pixel Recurrent Neural Networks: https://arxiv.org/abs/1601.06759
- Conditional Image Generation with PixelCNN Decoders:
  https://arxiv.org/abs/1606.05328
- PixelCNN++ (the discretized logistic mixture):
  https://arxiv.org/abs/1701.05517

The model factorizes an image's probability over its sub-pixels in raster
order (rows, then columns, then R, G, B):

    log P(x) = sum_i log p(x_i | x_<i)

Every conditional comes out of one pass of a network of masked convolutions
(`kerasgen.layers.masked`), so the likelihood is exact and training is one
cross-entropy per sub-pixel. Sampling is sequential: one sub-pixel at a
time.

Notation:

| code                        | paper                                          |
| --------------------------- | ---------------------------------------------- |
| `variant="plain"`           | PixelCNN (2016a, section 3.5): mask A, then residual mask-B layers |
| `variant="gated"`           | gated PixelCNN (2016b, figure 2): vertical and horizontal stacks |
| gated unit                  | y = tanh(W_f * x) . sigmoid(W_g * x) (2016b, eq. 2) |
| `num_classes`               | conditioning on h = one-hot class (2016b, eq. 4) |
| `distribution="softmax"`    | 256-way softmax per sub-pixel (2016a, section 5.3) |
| `distribution="logistic_mixture"` | discretized mixture of `mixture_components` logistics (PixelCNN++ 2.1) |
| `depth`                     | masked layers; the first has `first_kernel_size` |

Training minimizes -log P(x) in nats per image (reported as bits/dim too),
`kerasgen.losses.likelihood`.

Sampling: `sample()` runs the whole raster loop as one compiled loop
(`keras.ops.fori_loop`, jitted on JAX and a `tf.function` on TensorFlow),
batched over all the images. It never runs the network on the whole
image: a sub-pixel depends on `receptive_rows` rows above it at most, so
the plain network runs on that window of rows; the gated network's
vertical stack runs once per row (it sees only the rows above) and its
horizontal stack on one row per sub-pixel, with the row's vertical
features cached. The images are those of the textbook loop (`sample_naive`:
one full forward pass from Python per sub-pixel).
`benchmarks/pixelcnn_sampling.py` measures both.

Deviations, each for a reason:

- A plain PixelCNN's residual block is one ReLU and one k x k mask-B
  convolution (the paper's is 1x1, 3x3, 1x1 around ReLUs): fewer knobs,
  the same masks.
- With colour, the logistic mixture of each channel is its own (its
  parameters come from features that saw the earlier channels of the
  pixel) instead of PixelCNN++'s shared mixture indicator with linear
  coefficients: still an exact autoregressive likelihood, and one output
  rule for 1 and 3 channels.
- No dropout and no down/up-sampling (PixelCNN++ sections 2.3-2.4).
"""

import keras
import numpy as np
from keras import ops

from kerasgen.layers.masked import GatedActivation
from kerasgen.layers.masked import MaskedConv2D
from kerasgen.losses.likelihood import LEVELS
from kerasgen.losses.likelihood import bits_per_dim
from kerasgen.losses.likelihood import categorical_log_prob
from kerasgen.losses.likelihood import discretized_logistic_mixture_log_prob
from kerasgen.losses.likelihood import event_size
from kerasgen.losses.likelihood import from_levels
from kerasgen.losses.likelihood import split_logistic_mixture
from kerasgen.models.interfaces import DensityModel
from kerasgen.models.interfaces import Sampler
from kerasgen.models.registry import register_family
from kerasgen.models.serving import Endpoint
from kerasgen.models.serving import Input
from kerasgen.models.serving import normal_cdf
from kerasgen.models.serving import seeded_normal
from kerasgen.training import GenerativeModel
from kerasgen.training import UpdateStep
from kerasgen.utils.compiled import compiled
from kerasgen.utils import arguments

VARIANTS = ("gated", "plain")
DISTRIBUTIONS = ("softmax", "logistic_mixture")


# --- Networks ---------------------------------------------------------------------


# Each wiring function below takes `layer(name, make)`: while the network is
# built it makes the layer (`make(name)`); the cached sampler passes one
# that finds the trained network's layer of that name, and so runs the
# same wiring on a part of the image (`PixelCNN.sample_tensor`).


def _make_layer(name, make):
    return make(name)


def _find_layer_in(network):
    return lambda name, make: network.get_layer(name)


def _add_class_bias(x, labels, name, layer):
    """x plus the class's learned bias (V^T h of 2016b eq. 4 for a one-hot
    h, broadcast over the pixels); x itself for an unconditional network."""
    if labels is None:
        return x
    tensor, num_classes = labels
    units = int(x.shape[-1])
    bias = layer(f"{name}_class", lambda n: keras.layers.Embedding(num_classes, units, name=n))(
        tensor)
    bias = layer(f"{name}_class_reshape", lambda n: keras.layers.Reshape((1, 1, units), name=n))(
        bias)
    return layer(f"{name}_class_add", lambda n: keras.layers.Add(name=n))([x, bias])


def _vertical_layer(vertical, labels, index, kernel_size, filters, layer, last=False):
    """One layer of the vertical stack (2016b, figure 2, left): it sees the
    rows above only. Returns its output (None for the `last` layer, whose
    output nothing reads) and its 1x1 link to the horizontal stack."""
    name = f"layer{index}"
    v = layer(f"{name}_vertical", lambda n: MaskedConv2D(
        2 * filters, kernel_size, "A" if index == 0 else "B", "vertical", name=n))(vertical)
    link = layer(f"{name}_link", lambda n: keras.layers.Conv2D(2 * filters, 1, name=n))(v)
    if last:
        return None, link
    v = _add_class_bias(v, labels, f"{name}_vertical", layer)
    return layer(f"{name}_vertical_gate", lambda n: GatedActivation(name=n))(v), link


def _horizontal_layer(horizontal, link, labels, index, kernel_size, channels, filters, layer):
    """One layer of the horizontal stack (2016b, figure 2, right): the
    pixels left in the row (1 x k kernels, so a row at a time gives the
    same), plus the vertical stack's link; residual after the first."""
    name = f"layer{index}"
    h = layer(f"{name}_horizontal", lambda n: MaskedConv2D(
        2 * filters, (1, kernel_size), "A" if index == 0 else "B", "raster",
        color_groups=channels, output_split=2, name=n))(horizontal)
    h = layer(f"{name}_link_add", lambda n: keras.layers.Add(name=n))([h, link])
    h = _add_class_bias(h, labels, f"{name}_horizontal", layer)
    h = layer(f"{name}_horizontal_gate", lambda n: GatedActivation(name=n))(h)
    h = layer(f"{name}_out", lambda n: MaskedConv2D(filters, 1, "B", color_groups=channels,
                                                    name=n))(h)
    if index == 0:
        return h
    return layer(f"{name}_residual", lambda n: keras.layers.Add(name=n))([horizontal, h])


def _output_head(x, channels, head_filters, outputs, layer):
    """ReLU, 1x1, ReLU, 1x1 to the distribution's parameters (mask B)."""
    x = layer("head_relu0", lambda n: keras.layers.ReLU(name=n))(x)
    x = layer("head0", lambda n: MaskedConv2D(head_filters, 1, "B", color_groups=channels,
                                             name=n))(x)
    x = layer("head_relu1", lambda n: keras.layers.ReLU(name=n))(x)
    return layer("head_out", lambda n: MaskedConv2D(outputs, 1, "B", color_groups=channels,
                                                   name=n))(x)


def build_pixelcnn_network(channels, num_classes, variant, filters, layers, kernel_size,
                           first_kernel_size, head_filters, params_per_channel,
                           name="pixelcnn"):
    """The masked network: images `(n, H, W, C)` in [-1, 1] (any H, W),
    and labels when `num_classes`, to `(n, H, W, C * params_per_channel)`
    (channel c's parameters contiguous), each output seeing only the
    sub-pixels before it.

    Example:

    ```python
    import numpy as np
    network = build_pixelcnn_network(1, 0, "gated", 8, 2, 3, 5, 8, 256)
    network(np.zeros((1, 6, 6, 1), "float32")).shape  # (1, 6, 6, 256)
    ```
    """
    images = keras.Input((None, None, channels), name="images")
    inputs = [images]
    labels = None
    if num_classes:
        label_input = keras.Input((), dtype="int32", name="labels")
        inputs.append(label_input)
        labels = (label_input, num_classes)
    layer = _make_layer
    if variant == "gated":
        vertical = horizontal = images
        for index in range(layers):
            size = first_kernel_size if index == 0 else kernel_size
            vertical, link = _vertical_layer(vertical, labels, index, size, filters, layer,
                                             last=index == layers - 1)
            horizontal = _horizontal_layer(horizontal, link, labels, index, size, channels,
                                           filters, layer)
        x = horizontal
    else:
        x = MaskedConv2D(filters, first_kernel_size, "A", color_groups=channels,
                         name="layer0")(images)
        for index in range(1, layers):
            y = keras.layers.ReLU(name=f"layer{index}_relu")(x)
            y = MaskedConv2D(filters, kernel_size, "B", color_groups=channels,
                             name=f"layer{index}")(y)
            y = _add_class_bias(y, labels, f"layer{index}", layer)
            x = keras.layers.Add(name=f"layer{index}_residual")([x, y])
    outputs = _output_head(x, channels, head_filters, channels * params_per_channel, layer)
    return keras.Model(inputs, outputs, name=name)


# --- Drawing one sub-pixel -----------------------------------------------------------


def _index_below(cumulative, uniform):
    """The index i with cdf_{i-1} <= u * total < cdf_i (inverse CDF)."""
    total = cumulative[..., -1:]
    below = ops.cast(cumulative <= uniform * total, "int32")
    return ops.minimum(ops.sum(below, axis=-1), ops.shape(cumulative)[-1] - 1)


def sample_from_params(params, uniform, distribution):
    """Images in [-1, 1] drawn from per-sub-pixel distribution parameters
    `(..., P)` with two uniforms `(..., 2)` each: the level by inverse CDF
    (softmax); the component by inverse CDF and the logistic by its
    quantile function, then binned (logistic mixture).

    Example:

    ```python
    import numpy as np
    logits = np.full((1, 256), -1e9, "float32"); logits[0, 7] = 0.0
    float(sample_from_params(logits, np.full((1, 2), 0.5, "float32"), "softmax")[0])
    # -0.9450980424880981
    ```
    """
    params = ops.cast(params, "float32")
    if distribution == "softmax":
        probabilities = ops.softmax(params, axis=-1)
        level = _index_below(ops.cumsum(probabilities, axis=-1), uniform[..., :1])
        return from_levels(level)
    logits, means, log_scales = split_logistic_mixture(params)
    weights = ops.softmax(logits, axis=-1)
    component = _index_below(ops.cumsum(weights, axis=-1), uniform[..., :1])
    pick = ops.one_hot(component, ops.shape(logits)[-1], dtype="float32")
    mean = ops.sum(means * pick, axis=-1)
    log_scale = ops.sum(log_scales * pick, axis=-1)
    u = ops.clip(uniform[..., 1], 1e-5, 1.0 - 1e-5)
    y = mean + ops.exp(log_scale) * (ops.log(u) - ops.log(1.0 - u))
    level = ops.round((ops.clip(y, -1.0, 1.0) + 1.0) * 127.5)
    return from_levels(level)


# --- The family ----------------------------------------------------------------------


@register_family("pixelcnn")
class PixelCNN(Sampler, DensityModel, GenerativeModel):
    """PixelCNN: an autoregressive model of the sub-pixels in raster order,
    with an exact log-likelihood.

    Args:
        image_size: int. Height and width of the images. Defaults to 28.
        channels: int. 1 or 3 (generated R, then G, then B). Defaults to 1.
        num_classes: int. Classes to condition on; 0 for none. Defaults to
            0.
        variant: `"gated"` (vertical and horizontal stacks, no blind spot)
            or `"plain"` (masked convolutions only). Defaults to `"gated"`.
        distribution: each sub-pixel's distribution: `"softmax"` (256-way)
            or `"logistic_mixture"`. Defaults to `"softmax"`.
        mixture_components: int. Logistics per sub-pixel (logistic mixture
            only). Defaults to 5.
        filters: int. Feature maps of each masked layer (divisible by
            `channels`). Defaults to 64.
        depth: int. Masked layers. Defaults to 8.
        kernel_size: int. Odd kernel size of the layers after the first.
            Defaults to 3.
        first_kernel_size: int. Odd kernel size of the first layer.
            Defaults to 7.
        head_filters: int. Channels of the 1x1 output layers. Defaults to
            128.
        learning_rate: float. Adam learning rate. Defaults to 1e-3.
        ema_decay: float or None. Keep an average of the network for
            likelihoods and sampling. Defaults to None.
        seed: int or None.

    Reference:
        van den Oord et al. 2016, https://arxiv.org/abs/1606.05328

    Example:

    ```python
    import numpy as np
    model = PixelCNN(image_size=4, filters=8, depth=2, head_filters=8)
    model.compile()
    images = np.random.randint(0, 256, (8, 4, 4, 1)) / 127.5 - 1
    model.fit(images.astype("float32"), batch_size=8, epochs=1, verbose=0)
    model.bits_per_dim(images) > 0  # True
    model.sample(2, seed=0).shape  # (2, 4, 4, 1)
    ```
    """

    description = "PixelCNN (van den Oord et al. 2016), gated or plain; softmax or logistic mixture."
    interfaces = Sampler.interfaces + DensityModel.interfaces
    serving_default = "generate_from_seed"
    ema_network = "pixelcnn"
    default_batch_size = 32
    recipes = {"demo": dict(image_size=8, filters=16, depth=3, first_kernel_size=5,
                            head_filters=32)}

    def __init__(
        self,
        image_size=28,
        channels=1,
        num_classes=0,
        variant="gated",
        distribution="softmax",
        mixture_components=5,
        filters=64,
        depth=8,
        kernel_size=3,
        first_kernel_size=7,
        head_filters=128,
        learning_rate=1e-3,
        ema_decay=None,
        seed=None,
        **kwargs,
    ):
        super().__init__(ema_decay=ema_decay, seed=seed, **kwargs)
        self._check_arguments(image_size, channels, num_classes, variant, distribution, mixture_components,
                              depth, kernel_size, first_kernel_size, filters, head_filters)

        # === Config ===
        self.image_size = image_size
        self.channels = channels
        self.num_classes = num_classes
        self.variant = variant
        self.distribution = distribution
        self.mixture_components = mixture_components
        self.filters = filters
        self.depth = depth
        self.kernel_size = kernel_size
        self.first_kernel_size = first_kernel_size
        self.head_filters = head_filters
        self.learning_rate = learning_rate

        # === Networks ===
        self.pixelcnn = build_pixelcnn_network(
            channels, num_classes, variant, filters, depth, kernel_size, first_kernel_size,
            head_filters, self.params_per_channel)
        self._finish_networks()

    def _check_arguments(self, image_size, channels, num_classes, variant, distribution, mixture_components,
                         depth, kernel_size, first_kernel_size, filters, head_filters):
        def refuse(name, value, expected):
            arguments.refuse("PixelCNN", name, value, expected)

        is_count = arguments.is_count

        if channels not in (1, 3):
            refuse("channels", channels, "1 or 3")
        if variant not in VARIANTS:
            refuse("variant", variant, f"one of {VARIANTS}")
        if distribution not in DISTRIBUTIONS:
            refuse("distribution", distribution, f"one of {DISTRIBUTIONS}")
        if not is_count(num_classes, 0):
            refuse("num_classes", num_classes, "an int >= 0")
        for name, value in (("image_size", image_size), ("filters", filters),
                            ("head_filters", head_filters),
                            ("mixture_components", mixture_components), ("depth", depth)):
            if not is_count(value, 1):
                refuse(name, value, "an int >= 1")
        for name, value in (("kernel_size", kernel_size),
                            ("first_kernel_size", first_kernel_size)):
            if not is_count(value, 1) or value % 2 == 0:
                refuse(name, value, "an odd int >= 1")
        for name, value in (("filters", filters), ("head_filters", head_filters)):
            if is_count(value, 1) and value % channels:
                refuse(name, value, f"divisible by channels={channels}")

    @property
    def params_per_channel(self):
        """P: 256 logits, or M logits, M means and M log-scales."""
        return LEVELS if self.distribution == "softmax" else 3 * self.mixture_components

    @property
    def event_size(self):
        return event_size(self.data_spec().shape)

    @property
    def receptive_rows(self):
        """How many rows above a pixel its distribution can depend on: the
        first layer reaches `first_kernel_size // 2` rows up and each later
        one `kernel_size // 2` more (1x1 layers none)."""
        return self.first_kernel_size // 2 + (self.depth - 1) * (self.kernel_size // 2)

    # --- The distribution of each sub-pixel -------------------------------------------

    def distribution_params(self, images, labels=None, training=False, network=None):
        """Every sub-pixel's distribution parameters `(n, H, W, C, P)`,
        given the sub-pixels before it (one pass of the masked network)."""
        network = network or self.sampling_network("pixelcnn")
        images = ops.cast(images, "float32")
        inputs = [images] if not self.num_classes else [images, ops.cast(labels, "int32")]
        params = network(inputs, training=training)
        shape = ops.shape(images)
        return ops.reshape(params, (shape[0], shape[1], shape[2], self.channels,
                                    self.params_per_channel))

    def _log_prob_of(self, params, images):
        if self.distribution == "softmax":
            return categorical_log_prob(params, images)
        return discretized_logistic_mixture_log_prob(params, images)

    # --- The likelihood -------------------------------------------------------------------

    def log_prob_tensor(self, images, labels=None, noise=None):
        """log P(x) in nats of each 8-bit image, exactly (`noise` unused:
        the model is discrete)."""
        return self._log_prob_of(self.distribution_params(images, labels), images)

    def negative_log_likelihood(self, images, labels=None):
        """The batch mean of -log P(x) in nats per image: the loss."""
        params = self.distribution_params(images, labels, training=True, network=self.pixelcnn)
        log_prob = ops.mean(self._log_prob_of(params, images))
        loss = -log_prob
        return loss, {"loss": loss, "bits_per_dim": bits_per_dim(log_prob, self.event_size)}

    # --- Update steps -------------------------------------------------------------------

    def update_steps(self):
        return [UpdateStep("pixelcnn", self.negative_log_likelihood, ("pixelcnn",))]

    def default_optimizers(self):
        return {"pixelcnn": keras.optimizers.Adam(self.learning_rate, name="pixelcnn_adam")}

    # --- Sampling ---------------------------------------------------------------------

    def sample_tensor(self, uniform, labels=None):
        """Images `(n, H, W, C)` drawn sub-pixel by sub-pixel with the
        uniforms `(n, H, W, C, 2)`, in `keras.ops` loops (`fori_loop`).

        Each output depends on at most `receptive_rows` rows above it, so
        the network runs on a window of `receptive_rows + 1` rows ending
        at the row being drawn (clamped to the image), which gives that row
        what the whole image would. The gated network goes further: its
        vertical stack sees only the rows above, so it runs once per row,
        and its horizontal stack (1 x k kernels) on that one row per
        sub-pixel, with the vertical stack's links kept from the row's
        start."""
        uniform = ops.cast(uniform, "float32")
        labels = None if labels is None else ops.cast(labels, "int32")
        canvas = ops.zeros(ops.shape(uniform)[:-1], "float32")
        if self.variant == "gated":
            return self._sample_gated_by_rows(canvas, uniform, labels)
        return self._sample_in_windows(canvas, uniform, labels)

    def _row_window(self, canvas, row):
        """The rows `[start, start + window)` that row `row` depends on,
        and `start`."""
        size, window = self.image_size, min(self.image_size, self.receptive_rows + 1)
        start = ops.clip(row - self.receptive_rows, 0, size - window)
        n = ops.shape(canvas)[0]
        return ops.slice(canvas, (0, start, 0, 0), (n, window, size, self.channels)), start

    def _draw_at(self, canvas, params, uniform, row, column, channel):
        """`canvas` with sub-pixel (row, column, channel) drawn from the
        parameters `params (n, 1, 1, 1, P)` there."""
        n = ops.shape(canvas)[0]
        noise = ops.slice(uniform, (0, row, column, channel, 0), (n, 1, 1, 1, 2))
        value = sample_from_params(params, noise, self.distribution)
        return ops.slice_update(canvas, (0, row, column, channel), value)

    def _sample_in_windows(self, canvas, uniform, labels):
        size, channels, p = self.image_size, self.channels, self.params_per_channel

        def draw(position, canvas):
            # A tensor even where an eager while_loop counts in Python ints.
            position = ops.convert_to_tensor(position, "int32")
            row = position // (size * channels)
            column = (position // channels) % size
            channel = position % channels
            rows, start = self._row_window(canvas, row)
            params = self.distribution_params(rows, labels)
            here = ops.slice(params, (0, row - start, column, channel, 0),
                             (ops.shape(canvas)[0], 1, 1, 1, p))
            return self._draw_at(canvas, here, uniform, row, column, channel)

        return ops.fori_loop(0, size * size * channels, draw, canvas)

    def _sample_gated_by_rows(self, canvas, uniform, labels):
        size, channels, p = self.image_size, self.channels, self.params_per_channel
        layer = _find_layer_in(self.sampling_network("pixelcnn"))
        classes = None if labels is None else (labels, self.num_classes)
        kernel_sizes = [self.first_kernel_size] + [self.kernel_size] * (self.depth - 1)

        def links_at(canvas, row):
            vertical, start = self._row_window(canvas, row)
            links = []
            for index, kernel_size in enumerate(kernel_sizes):
                vertical, link = _vertical_layer(vertical, classes, index, kernel_size,
                                                 self.filters, layer,
                                                 last=index == self.depth - 1)
                links.append(ops.slice(link, (0, row - start, 0, 0),
                                       (ops.shape(link)[0], 1, size, ops.shape(link)[3])))
            return links

        def params_of_row(canvas, row, links):
            n = ops.shape(canvas)[0]
            horizontal = ops.slice(canvas, (0, row, 0, 0), (n, 1, size, channels))
            for index, kernel_size in enumerate(kernel_sizes):
                horizontal = _horizontal_layer(horizontal, links[index], classes, index,
                                               kernel_size, channels, self.filters, layer)
            params = _output_head(horizontal, channels, self.head_filters, channels * p, layer)
            return ops.reshape(params, (n, 1, size, channels, p))

        def fill_row(row, canvas):
            row = ops.convert_to_tensor(row, "int32")
            links = links_at(canvas, row)

            def draw(position, canvas):
                position = ops.convert_to_tensor(position, "int32")
                column, channel = position // channels, position % channels
                here = ops.slice(params_of_row(canvas, row, links), (0, 0, column, channel, 0),
                                 (ops.shape(canvas)[0], 1, 1, 1, p))
                return self._draw_at(canvas, here, uniform, row, column, channel)

            return ops.fori_loop(0, size * channels, draw, canvas)

        return ops.fori_loop(0, size, fill_row, canvas)

    def _uniform_noise(self, n, seed):
        shape = (int(n),) + tuple(self.data_spec().shape) + (2,)
        return np.random.default_rng(seed).uniform(size=shape).astype("float32")

    def sample(self, n, seed=None, labels=None):
        """`n` images in [-1, 1] (deterministic for a given seed), drawn by
        the compiled sampler; a conditional model takes `labels` (see
        `check_labels`)."""
        labels = self.check_labels(labels, n)
        if int(n) == 0:
            return np.zeros((0,) + tuple(self.data_spec().shape), "float32")
        if getattr(self, "_compiled_sampler", None) is None:
            network = self.sampling_network("pixelcnn")
            # Not a tracked attribute: a compiled function is not state.
            object.__setattr__(self, "_compiled_sampler",
                               compiled(self.sample_tensor, network.variables))
        images = self._compiled_sampler(self._uniform_noise(n, seed), labels)
        return np.asarray(ops.convert_to_numpy(images), "float32")

    def sample_naive(self, n, seed=None, labels=None):
        """The same images as `sample` the textbook way: a Python loop that
        runs the full (compiled) network on the whole canvas once per
        sub-pixel. For comparison (`benchmarks/pixelcnn_sampling.py`)."""
        labels = self.check_labels(labels, n)
        uniform = self._uniform_noise(n, seed)
        network = self.sampling_network("pixelcnn")
        step = compiled(
            lambda canvas, noise, row, column, channel, labels: sample_from_params(
                self.distribution_params(canvas, labels)[:, row, column, channel],
                noise, self.distribution),
            network.variables)
        canvas = np.zeros(uniform.shape[:-1], "float32")
        for row in range(self.image_size):
            for column in range(self.image_size):
                for channel in range(self.channels):
                    value = step(canvas, uniform[:, row, column, channel], np.int32(row),
                                 np.int32(column), np.int32(channel), labels)
                    canvas[:, row, column, channel] = ops.convert_to_numpy(value)
        return canvas

    # --- Serving ------------------------------------------------------------------

    def serving_endpoints(self):
        """`generate_from_seed(seed, n)` (or `(seed, labels)`): the whole
        sampling loop in the graph; `distribution(images)`: every
        sub-pixel's parameters, for a client that runs the loop itself
        (TFLite); and `log_prob(images)`."""
        shape = tuple(self.data_spec().shape)
        dim = event_size(shape) * 2
        images = Input("images", "float32", (None,) + shape)

        def uniform_from_seed(seed, n):
            return ops.reshape(normal_cdf(seeded_normal(seed, n, dim)), (n,) + shape + (2,))

        def distribution(images, labels=None):
            return {"params": self.distribution_params(images, labels)}

        if self.num_classes:
            labels = Input("labels", "int32", (None,))
            from_seed = Endpoint(
                "generate_from_seed",
                (Input("seed", "int64"), Input("labels", "int32", (None,), batched=False)),
                lambda seed, labels: self.sample_tensor(
                    uniform_from_seed(seed, ops.shape(labels)[0]), labels),
                builtin_ops=False, description="one image per label, drawn from seed")
            params = Endpoint("distribution", (images, labels), distribution, images=False,
                              description="each sub-pixel's distribution given those before")
        else:
            from_seed = Endpoint(
                "generate_from_seed", (Input("seed", "int64"), Input("n", "int32")),
                lambda seed, n: self.sample_tensor(uniform_from_seed(seed, n)),
                builtin_ops=False, description="n images drawn from seed")
            params = Endpoint("distribution", (images,), lambda images: distribution(images),
                              images=False,
                              description="each sub-pixel's distribution given those before")
        return [from_seed, params, self.log_prob_endpoint()]

    # --- Config -----------------------------------------------------------------

    def get_config(self):
        config = super().get_config()
        config.update(
            image_size=self.image_size,
            channels=self.channels,
            num_classes=self.num_classes,
            variant=self.variant,
            distribution=self.distribution,
            mixture_components=self.mixture_components,
            filters=self.filters,
            depth=self.depth,
            kernel_size=self.kernel_size,
            first_kernel_size=self.first_kernel_size,
            head_filters=self.head_filters,
            learning_rate=self.learning_rate,
        )
        return config
