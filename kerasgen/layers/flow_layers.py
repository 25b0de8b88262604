"""Bijections of the normalizing flows RealNVP and Glow, in `keras.ops`.

- Dinh, Sohl-Dickstein and Bengio 2017, "Density estimation using Real
  NVP", https://arxiv.org/abs/1605.08803 (affine coupling, checkerboard and
  channel masks, squeeze, the multi-scale architecture, the logit
  transform).
- Kingma and Dhariwal 2018, "Glow: Generative Flow with Invertible 1x1
  Convolutions", https://arxiv.org/abs/1807.03039 (ActNorm, the LU
  1x1 convolution, zero-initialised couplings).

Every bijection f is a Keras layer with two methods:

- `forward(x, training=False)` returns `(y, log_det)`: y = f(x) and
  log|det df/dx| of each example, shape `(batch,)`;
- `inverse(y)` returns x = f^-1(y);

and `forward_shape(shape)`, the shape of one example of y for one of x
(`(H, W, C)`; only `Squeeze` changes it). Images are channels-last.
`MultiScaleFlow` chains them into the multi-scale architecture, whose
forward pass ends in one flat latent per image. None of them needs an op
outside the TFLite builtins (no matrix inverse, no triangular solve), so a
flow's every direction exports.

Example:

```python
import numpy as np
x = np.random.normal(size=(2, 4, 4, 2)).astype("float32")
coupling = AffineCoupling(mask="checkerboard", filters=8)
coupling.build(x.shape)
y, log_det = coupling.forward(x)
tuple(log_det.shape)  # (2,)
float(np.abs(np.asarray(coupling.inverse(y)) - x).max()) < 1e-5  # True
```
"""

import math

import keras
import numpy as np
from keras import ops

MASKS = ("checkerboard", "channel")
SCALE_FUNCTIONS = ("tanh", "sigmoid")


def _sum_per_example(x):
    return ops.sum(x, axis=(1, 2, 3))


def _no_volume_change(x):
    # Zeros of the batch's length, without a shape op on the batch size.
    return ops.zeros_like(x[:, 0, 0, 0])


def _event_shape(input_shape):
    """`(H, W, C)` from a shape with or without its batch dimension."""
    shape = tuple(input_shape)
    return tuple(int(d) for d in (shape[1:] if len(shape) == 4 else shape))


class Bijection(keras.layers.Layer):
    """Base class of the flows' invertible layers: `forward(x, training)`
    gives `(y, log_det)`, `inverse(y)` gives `x`; calling the layer runs
    `forward`. A subclass that changes the shape overrides
    `forward_shape`."""

    def forward(self, x, training=False):
        raise NotImplementedError(f"{type(self).__name__} must implement forward().")

    def inverse(self, y):
        raise NotImplementedError(f"{type(self).__name__} must implement inverse().")

    def forward_shape(self, shape):
        """The shape of one example of `forward`'s output, for `shape`
        `(H, W, C)` of its input."""
        return tuple(shape)

    def call(self, inputs, training=False):
        return self.forward(inputs, training=training)


# --- Squeeze -----------------------------------------------------------------


@keras.saving.register_keras_serializable(package="kerasgen")
class Squeeze(Bijection):
    """Space-to-depth: each 2x2 block of pixels becomes 4 channels (RealNVP
    section 3.6), `(H, W, C)` to `(H/2, W/2, 4C)`, channels ordered as
    (row in the block, column in the block, channel). A permutation, so
    its log-determinant is 0.

    Written with one 4-D reshape and transpose (TFLite's transpose takes
    few dimensions; the textbook 6-D version is not needed).

    Example:

    ```python
    import numpy as np
    x = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)
    y, _ = Squeeze().forward(x)
    np.asarray(y)[0, 0, 0].tolist()  # [0.0, 1.0, 4.0, 5.0]
    ```
    """

    def forward_shape(self, shape):
        h, w, c = shape
        if h % 2 or w % 2:
            raise ValueError(
                f"Squeeze takes an even height and width. Received: shape={tuple(shape)}")
        return (h // 2, w // 2, 4 * c)

    def forward(self, x, training=False):
        h, w, c = _event_shape(x.shape)
        # (batch * H/2, row in block, W/2, (column in block, C))
        y = ops.reshape(x, (-1, 2, w // 2, 2 * c))
        y = ops.transpose(y, (0, 2, 1, 3))
        return ops.reshape(y, (-1, h // 2, w // 2, 4 * c)), _no_volume_change(x)

    def inverse(self, y):
        h, w, c = _event_shape(y.shape)
        x = ops.reshape(y, (-1, w, 2, 2 * (c // 4)))
        x = ops.transpose(x, (0, 2, 1, 3))
        return ops.reshape(x, (-1, 2 * h, 2 * w, c // 4))


# --- The logit transform -------------------------------------------------------


@keras.saving.register_keras_serializable(package="kerasgen")
class LogitTransform(Bijection):
    """RealNVP's preprocessing (section 4.1): pixels y in [-1, 1] to
    `logit(alpha + (1 - 2 alpha) (y + 1) / 2)`, so that the flow models an
    unbounded variable; `alpha` keeps the ends finite.

    log|det| = sum over pixels of log((1 - 2 alpha) / 2) - log p - log(1 - p),
    p the point before the logit: with it, a flow's density is of y.

    Args:
        alpha: float. In (0, 0.5). Defaults to 0.05 (the paper's).

    Example:

    ```python
    import numpy as np
    v, log_det = LogitTransform(0.05).forward(np.zeros((1, 1, 1, 1), "float32"))
    float(np.asarray(v)[0, 0, 0, 0])  # 0.0
    ```
    """

    def __init__(self, alpha=0.05, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 < float(alpha) < 0.5:
            raise ValueError(f"`alpha` must be in (0, 0.5). Received: alpha={alpha!r}")
        self.alpha = float(alpha)
        self.built = True

    def forward(self, x, training=False):
        p = self.alpha + (1.0 - 2.0 * self.alpha) * (x + 1.0) / 2.0
        log_p, log_q = ops.log(p), ops.log(1.0 - p)
        log_det = _sum_per_example(math.log((1.0 - 2.0 * self.alpha) / 2.0) - log_p - log_q)
        return log_p - log_q, log_det

    def inverse(self, y):
        return 2.0 * (ops.sigmoid(y) - self.alpha) / (1.0 - 2.0 * self.alpha) - 1.0

    def get_config(self):
        config = super().get_config()
        config.update(alpha=self.alpha)
        return config


# --- ActNorm ------------------------------------------------------------------


@keras.saving.register_keras_serializable(package="kerasgen")
class ActNorm(Bijection):
    """Activation normalization (Glow section 3.1): a per-channel affine map
    `y = (x + b) * exp(log s)`, initialised from the first training batch
    so that y has zero mean and unit variance per channel.

    The data-dependent initial values are non-trainable state, written in
    the first `forward(x, training=True)` and kept from then on (the
    `initialized` flag saves with the model): like BatchNorm's statistics,
    so that it happens inside `fit()` on TensorFlow and inside JAX's
    stateless train step alike, and a compiled-again or loaded model is not
    initialised twice. The trainable `bias` and `log_scale` are offsets from
    those values, zero at the start; the paper's b and log s are the sums
    (and their gradients are the offsets' gradients).

    log|det| = H * W * sum(log s).

    Args:
        epsilon: float. Added to the batch variance. Defaults to 1e-6.

    Example:

    ```python
    import numpy as np
    x = np.random.normal(3.0, 2.0, (16, 4, 4, 2)).astype("float32")
    norm = ActNorm()
    norm.build(x.shape)
    y, _ = norm.forward(x, training=True)  # initialises on this batch
    float(np.abs(np.asarray(y).mean(axis=(0, 1, 2))).max()) < 1e-4  # True
    ```
    """

    def __init__(self, epsilon=1e-6, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = float(epsilon)

    def build(self, input_shape):
        channels = _event_shape(input_shape)[-1]
        self.bias = self.add_weight(shape=(channels,), initializer="zeros", name="bias")
        self.log_scale = self.add_weight(shape=(channels,), initializer="zeros",
                                         name="log_scale")
        self.initial_bias = self.add_weight(shape=(channels,), initializer="zeros",
                                            trainable=False, name="initial_bias")
        self.initial_log_scale = self.add_weight(shape=(channels,), initializer="zeros",
                                                 trainable=False, name="initial_log_scale")
        self.initialized = self.add_weight(shape=(), initializer="zeros", trainable=False,
                                           name="initialized")
        self.built = True

    def _initialize(self, x):
        """On the first training batch: sets the initial values from `x`'s
        statistics; later: keeps them (the same assignment, a no-op)."""
        mean = ops.mean(x, axis=(0, 1, 2))
        variance = ops.var(x, axis=(0, 1, 2))
        done = ops.greater(ops.convert_to_tensor(self.initialized), 0.5)
        bias = ops.where(done, ops.convert_to_tensor(self.initial_bias),
                         ops.stop_gradient(-mean))
        log_scale = ops.where(done, ops.convert_to_tensor(self.initial_log_scale),
                              ops.stop_gradient(-0.5 * ops.log(variance + self.epsilon)))
        self.initial_bias.assign(bias)
        self.initial_log_scale.assign(log_scale)
        self.initialized.assign(1.0)
        return bias, log_scale

    def forward(self, x, training=False):
        if training:
            initial_bias, initial_log_scale = self._initialize(x)
        else:
            initial_bias, initial_log_scale = self.initial_bias, self.initial_log_scale
        bias = self.bias + initial_bias
        log_scale = self.log_scale + initial_log_scale
        h, w, _ = _event_shape(x.shape)
        log_det = float(h * w) * ops.sum(log_scale) + _no_volume_change(x)
        return (x + bias) * ops.exp(log_scale), log_det

    def inverse(self, y):
        bias = self.bias + self.initial_bias
        log_scale = self.log_scale + self.initial_log_scale
        return y * ops.exp(-log_scale) - bias

    def get_config(self):
        config = super().get_config()
        config.update(epsilon=self.epsilon)
        return config


# --- Invertible 1x1 convolution ------------------------------------------------


def lu_decomposition(matrix):
    """`(P, L, U)` with `matrix = P @ L @ U`: P a permutation, L lower
    triangular with a unit diagonal, U upper triangular (Gaussian
    elimination with partial pivoting, in float64 numpy).

    Example:

    ```python
    import numpy as np
    a = np.array([[0.0, 2.0], [3.0, 1.0]])
    p, l, u = lu_decomposition(a)
    np.allclose(p @ l @ u, a), np.diag(l).tolist()  # (True, [1.0, 1.0])
    ```
    """
    upper = np.array(matrix, dtype="float64")
    n = len(upper)
    order = np.arange(n)
    lower = np.eye(n)
    for k in range(n):
        pivot = k + int(np.argmax(np.abs(upper[k:, k])))
        upper[[k, pivot]] = upper[[pivot, k]]
        lower[[k, pivot], :k] = lower[[pivot, k], :k]
        order[[k, pivot]] = order[[pivot, k]]
        for i in range(k + 1, n):
            lower[i, k] = upper[i, k] / upper[k, k]
            upper[i] -= lower[i, k] * upper[k]
    # Row i of L @ U is row order[i] of the matrix: matrix = P @ L @ U.
    permutation = np.eye(n)[order].T
    return permutation, lower, np.triu(upper)


def unit_triangular_inverse(strict):
    """The inverse of I + N for a strictly triangular C x C matrix N (so
    N^C = 0): `(I - N)(I + N^2)(I + N^4)...`, ceil(log2 C) matrix products.
    No matrix inverse or triangular solve, which TFLite lacks.

    Example:

    ```python
    import numpy as np
    n = np.array([[0.0, 0.0], [2.0, 0.0]], "float32")
    np.asarray(unit_triangular_inverse(n)).tolist()  # [[1.0, 0.0], [-2.0, 1.0]]
    ```
    """
    size = int(strict.shape[-1])
    eye = ops.eye(size, dtype=strict.dtype)
    power = -ops.convert_to_tensor(strict)
    inverse = eye + power
    for _ in range(1, max(1, math.ceil(math.log2(size)))):
        power = ops.matmul(power, power)
        inverse = ops.matmul(inverse, eye + power)
    return inverse


@keras.saving.register_keras_serializable(package="kerasgen")
class InvertibleConv1x1(Bijection):
    """Glow's invertible 1x1 convolution (section 3.2), LU-decomposed: the
    C x C channel mixing `W = P L (U + diag(s))`, P a fixed permutation, L
    lower triangular with a unit diagonal, U strictly upper triangular,
    s = sign * exp(log|s|) with the sign fixed. Initialised from a random
    rotation.

    log|det| = H * W * sum(log|s|); the inverse is U'^-1 L^-1 P^T, with
    the triangular inverses as finite products (`unit_triangular_inverse`).

    Example:

    ```python
    import numpy as np
    x = np.random.normal(size=(2, 2, 2, 4)).astype("float32")
    conv = InvertibleConv1x1()
    conv.build(x.shape)
    weight = np.asarray(conv.weight())
    np.allclose(weight @ weight.T, np.eye(4), atol=1e-5)  # True
    ```
    """

    def build(self, input_shape):
        channels = _event_shape(input_shape)[-1]
        rotation = ops.convert_to_numpy(keras.initializers.Orthogonal()((channels, channels)))
        permutation, lower, upper = lu_decomposition(rotation)
        diagonal = np.diag(upper)
        constant = lambda value: keras.initializers.Constant(np.asarray(value, "float32"))
        self.permutation = self.add_weight(shape=(channels, channels), trainable=False,
                                           initializer=constant(permutation), name="permutation")
        self.lower = self.add_weight(shape=(channels, channels), initializer=constant(lower),
                                     name="lower")
        self.upper = self.add_weight(shape=(channels, channels),
                                     initializer=constant(np.triu(upper, 1)), name="upper")
        self.log_abs_diagonal = self.add_weight(
            shape=(channels,), initializer=constant(np.log(np.abs(diagonal))),
            name="log_abs_diagonal")
        self.sign = self.add_weight(shape=(channels,), trainable=False,
                                    initializer=constant(np.sign(diagonal)), name="sign")
        self._strictly_lower = np.tril(np.ones((channels, channels), "float32"), -1)
        self._strictly_upper = self._strictly_lower.T
        self.built = True

    def _factors(self):
        strict_lower = ops.convert_to_tensor(self.lower) * self._strictly_lower
        strict_upper = ops.convert_to_tensor(self.upper) * self._strictly_upper
        diagonal = ops.convert_to_tensor(self.sign) * ops.exp(self.log_abs_diagonal)
        return strict_lower, strict_upper, diagonal

    def weight(self):
        """W, the C x C matrix applied to each pixel's channels."""
        strict_lower, strict_upper, diagonal = self._factors()
        eye = ops.eye(ops.shape(self.lower)[0])
        upper = strict_upper + eye * diagonal[None, :]
        permutation = ops.convert_to_tensor(self.permutation)
        return ops.matmul(ops.matmul(permutation, strict_lower + eye), upper)

    def inverse_weight(self):
        """W^-1 = (U + diag(s))^-1 L^-1 P^T, without a matrix inverse."""
        strict_lower, strict_upper, diagonal = self._factors()
        reciprocal = 1.0 / diagonal
        # U + diag(s) = diag(s) (I + diag(1/s) U): invert the unit factor.
        upper_inverse = (unit_triangular_inverse(reciprocal[:, None] * strict_upper)
                         * reciprocal[None, :])
        lower_inverse = unit_triangular_inverse(strict_lower)
        return ops.matmul(ops.matmul(upper_inverse, lower_inverse),
                          ops.transpose(ops.convert_to_tensor(self.permutation)))

    @staticmethod
    def _mix(x, matrix):
        # y_hw = W x_hw at every pixel, as one 2-D matmul.
        h, w, c = _event_shape(x.shape)
        flat = ops.matmul(ops.reshape(x, (-1, c)), ops.transpose(matrix))
        return ops.reshape(flat, (-1, h, w, c))

    def forward(self, x, training=False):
        h, w, _ = _event_shape(x.shape)
        log_det = float(h * w) * ops.sum(self.log_abs_diagonal) + _no_volume_change(x)
        return self._mix(x, self.weight()), log_det

    def inverse(self, y):
        return self._mix(y, self.inverse_weight())


# --- Affine coupling -----------------------------------------------------------


def build_coupling_network(input_shape, output_channels, filters, blocks=0,
                           zero_init=False, name="network"):
    """The network that gives a coupling's log-scale and shift from the
    half it conditions on, `(H, W, C_in)` to `(H, W, 2 * output_channels)`:

        conv3x3(filters)-ReLU, [residual block] x blocks, conv1x1(filters)-ReLU,
        conv3x3(2 * output_channels)

    a residual block being x + conv3x3(ReLU(conv3x3(x))) then ReLU. With
    `blocks=0` it is Glow's three-layer network; RealNVP's s and t come from
    a ResNet (`blocks >= 1`). `zero_init` zeroes the last convolution (Glow
    section 3.3), so that the coupling starts as the identity.

    Example:

    ```python
    net = build_coupling_network((4, 4, 2), 2, filters=8, blocks=1)
    net.output_shape  # (None, 4, 4, 4)
    ```
    """
    layers = keras.layers
    inputs = keras.Input(tuple(input_shape))
    x = layers.Conv2D(filters, 3, padding="same", activation="relu", name="in")(inputs)
    for i in range(blocks):
        residual = layers.Conv2D(filters, 3, padding="same", activation="relu",
                                 name=f"block{i}_a")(x)
        residual = layers.Conv2D(filters, 3, padding="same", name=f"block{i}_b")(residual)
        x = layers.ReLU()(layers.Add()([x, residual]))
    x = layers.Conv2D(filters, 1, activation="relu", name="mix")(x)
    last = dict(kernel_initializer="zeros", bias_initializer="zeros") if zero_init else {}
    outputs = layers.Conv2D(2 * output_channels, 3, padding="same", name="out", **last)(x)
    return keras.Model(inputs, outputs, name=name)


def checkerboard(height, width, parity=0):
    """The `(1, H, W, 1)` float32 mask b of RealNVP's checkerboard coupling:
    1 where `(row + column + parity)` is even.

    Example:

    ```python
    checkerboard(2, 2)[0, :, :, 0].tolist()  # [[1.0, 0.0], [0.0, 1.0]]
    ```
    """
    rows, columns = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    mask = ((rows + columns + parity) % 2 == 0).astype("float32")
    return mask[None, :, :, None]


@keras.saving.register_keras_serializable(package="kerasgen")
class AffineCoupling(Bijection):
    """Affine coupling (RealNVP section 3.3, eq. 9; Glow section 3.3): one
    part of x passes unchanged and conditions a scale and shift of the
    other, `y_b = x_b * exp(log s(x_a)) + t(x_a)`.

    - `mask="checkerboard"`: x_a is the pixels where the checkerboard b is
      1 (`parity` flips it), `y = b x + (1 - b)(x exp(log s(b x)) + t(b x))`;
    - `mask="channel"`: x_a is the first half of the channels (the second
      with `parity=1`), as after a squeeze in RealNVP and in every Glow step.

    log|det| = the sum of log s over the transformed entries. The log-scale
    is bounded for stability: `scale="tanh"` gives `log s = c * tanh(h)`
    with a trainable per-channel c (RealNVP's), `scale="sigmoid"` gives
    `s = sigmoid(h + 2) / sigmoid(2)` (the Glow code's sigmoid(h + 2), over
    its value at h = 0 so that a zero h is the identity).

    Args:
        mask: str. `"checkerboard"` or `"channel"`. Defaults to `"channel"`.
        parity: int. 0 or 1: which half conditions. Defaults to 0.
        filters: int. Width of the network. Defaults to 64.
        blocks: int. Residual blocks of the network
            (`build_coupling_network`). Defaults to 0.
        scale: str. `"tanh"` or `"sigmoid"`. Defaults to `"tanh"`.
        zero_init: bool. Zero the network's last convolution, so that the
            coupling starts as the identity. Defaults to False.

    Example:

    ```python
    import numpy as np
    x = np.random.normal(size=(2, 4, 4, 4)).astype("float32")
    coupling = AffineCoupling("channel", scale="sigmoid", filters=8, zero_init=True)
    coupling.build(x.shape)
    y, log_det = coupling.forward(x)
    np.allclose(y, x), np.allclose(log_det, 0.0, atol=1e-6)  # (True, True)
    ```
    """

    def __init__(self, mask="channel", parity=0, filters=64, blocks=0, scale="tanh",
                 zero_init=False, **kwargs):
        super().__init__(**kwargs)
        if mask not in MASKS:
            raise ValueError(f"`mask` is one of {MASKS}. Received: mask={mask!r}")
        if scale not in SCALE_FUNCTIONS:
            raise ValueError(f"`scale` is one of {SCALE_FUNCTIONS}. Received: scale={scale!r}")
        if parity not in (0, 1):
            raise ValueError(f"`parity` is 0 or 1. Received: parity={parity!r}")
        self.mask = mask
        self.parity = int(parity)
        self.filters = int(filters)
        self.blocks = int(blocks)
        self.scale = scale
        self.zero_init = bool(zero_init)

    def build(self, input_shape):
        h, w, c = _event_shape(input_shape)
        if self.mask == "checkerboard":
            conditioning, transformed = c, c
            self._checkerboard = checkerboard(h, w, self.parity)
        else:
            if c < 2:
                raise ValueError("A channel coupling splits the channels in two, so it "
                                 f"needs 2 or more. Received: shape={(h, w, c)}")
            half = c // 2
            conditioning, transformed = (half, c - half) if self.parity == 0 else (c - half, half)
            self._split = half
        self.network = build_coupling_network((h, w, conditioning), transformed, self.filters,
                                              self.blocks, self.zero_init)
        if self.scale == "tanh":
            self.scale_factor = self.add_weight(shape=(transformed,), initializer="ones",
                                                name="scale_factor")
        self.built = True

    def _log_scale_and_shift(self, conditioning):
        h = self.network(conditioning)
        raw, shift = ops.split(h, 2, axis=-1)
        if self.scale == "tanh":
            log_scale = self.scale_factor * ops.tanh(raw)
        else:
            # Over sigmoid(2) computed the same way: exactly 1 at h = 0.
            at_zero = ops.sigmoid(ops.convert_to_tensor(2.0, raw.dtype))
            log_scale = ops.log(ops.sigmoid(raw + 2.0) / at_zero)
        return log_scale, shift

    def _halves(self, x):
        a, b = x[..., :self._split], x[..., self._split:]
        # (conditioning, transformed)
        return (a, b) if self.parity == 0 else (b, a)

    def _join(self, conditioning, transformed):
        if self.parity == 0:
            return ops.concatenate([conditioning, transformed], axis=-1)
        return ops.concatenate([transformed, conditioning], axis=-1)

    def forward(self, x, training=False):
        if self.mask == "checkerboard":
            b = ops.cast(self._checkerboard, x.dtype)
            log_scale, shift = self._log_scale_and_shift(x * b)
            y = b * x + (1.0 - b) * (x * ops.exp(log_scale) + shift)
            return y, _sum_per_example((1.0 - b) * log_scale)
        conditioning, transformed = self._halves(x)
        log_scale, shift = self._log_scale_and_shift(conditioning)
        transformed = transformed * ops.exp(log_scale) + shift
        return self._join(conditioning, transformed), _sum_per_example(log_scale)

    def inverse(self, y):
        if self.mask == "checkerboard":
            b = ops.cast(self._checkerboard, y.dtype)
            log_scale, shift = self._log_scale_and_shift(y * b)
            return b * y + (1.0 - b) * ((y - shift) * ops.exp(-log_scale))
        conditioning, transformed = self._halves(y)
        log_scale, shift = self._log_scale_and_shift(conditioning)
        return self._join(conditioning, (transformed - shift) * ops.exp(-log_scale))

    def get_config(self):
        config = super().get_config()
        config.update(mask=self.mask, parity=self.parity, filters=self.filters,
                      blocks=self.blocks, scale=self.scale, zero_init=self.zero_init)
        return config


# --- The multi-scale architecture ------------------------------------------------


@keras.saving.register_keras_serializable(package="kerasgen")
class MultiScaleFlow(Bijection):
    """The multi-scale architecture (RealNVP section 3.6): the bijections of
    each scale in turn, and after every scale but the last, half of the
    channels factored out, straight to the prior (Glow's `split`). The
    forward pass gives one flat latent per image, the factored-out parts
    first (the first scale's first) and the last scale's output last; the
    inverse takes it apart again.

    Args:
        scales: list of lists of `Bijection`s, one list per scale (built
            here, for `event_shape`).
        event_shape: tuple. `(H, W, C)` of the input.

    Example:

    ```python
    import numpy as np
    flow = MultiScaleFlow([[Squeeze(), AffineCoupling("channel", filters=4)],
                           [AffineCoupling("checkerboard", filters=4)]], (4, 4, 1))
    z, log_det = flow.forward(np.zeros((3, 4, 4, 1), "float32"))
    tuple(z.shape), flow.latent_shapes  # ((3, 16), ((2, 2, 2), (2, 2, 2)))
    ```
    """

    def __init__(self, scales, event_shape, **kwargs):
        super().__init__(**kwargs)
        scales = [[keras.saving.deserialize_keras_object(b) if isinstance(b, dict) else b
                   for b in scale] for scale in scales]
        if not scales or not all(scales):
            raise ValueError("A multi-scale flow needs one or more scales, none empty. "
                             f"Received: scales={scales!r}")
        self.event_shape = tuple(int(d) for d in event_shape)
        # One flat list, so that Keras tracks (and saves) every bijection.
        self.bijections = [b for scale in scales for b in scale]
        self.scale_lengths = [len(scale) for scale in scales]
        shape = self.event_shape
        latent_shapes = []
        for index, scale in enumerate(scales):
            for bijection in scale:
                if not bijection.built:  # (deserialized ones come built)
                    bijection.build((None,) + shape)
                shape = bijection.forward_shape(shape)
            if index < len(scales) - 1:
                h, w, c = shape
                if c < 2:
                    raise ValueError("Factoring out half of the channels needs 2 or more. "
                                     f"Received: shape={shape} after scale {index}")
                latent_shapes.append((h, w, c // 2))
                shape = (h, w, c - c // 2)
        latent_shapes.append(shape)
        #: The shape of each part of the latent, in its order.
        self.latent_shapes = tuple(latent_shapes)
        self.latent_dim = int(sum(np.prod(s) for s in self.latent_shapes))
        self.built = True

    def scales(self):
        """The bijections, one list per scale."""
        out, start = [], 0
        for length in self.scale_lengths:
            out.append(self.bijections[start:start + length])
            start += length
        return out

    def forward_shape(self, shape):
        return (self.latent_dim,)

    def forward(self, x, training=False):
        log_det = _no_volume_change(x)
        factored = []
        scales = self.scales()
        for index, scale in enumerate(scales):
            for bijection in scale:
                x, step_log_det = bijection.forward(x, training=training)
                log_det = log_det + step_log_det
            if index < len(scales) - 1:
                keep = int(x.shape[-1]) - int(x.shape[-1]) // 2
                factored.append(x[..., keep:])
                x = x[..., :keep]
        factored.append(x)
        z = ops.concatenate([ops.reshape(part, (-1, int(np.prod(part.shape[1:]))))
                             for part in factored], axis=1)
        return z, log_det

    def inverse(self, z):
        parts, start = [], 0
        for shape in self.latent_shapes:
            size = int(np.prod(shape))
            parts.append(ops.reshape(z[:, start:start + size], (-1,) + tuple(shape)))
            start += size
        x = parts[-1]
        scales = self.scales()
        for index in reversed(range(len(scales))):
            if index < len(scales) - 1:
                x = ops.concatenate([x, parts[index]], axis=-1)
            for bijection in reversed(scales[index]):
                x = bijection.inverse(x)
        return x

    def get_config(self):
        config = super().get_config()
        config.update(
            scales=[[keras.saving.serialize_keras_object(b) for b in scale]
                    for scale in self.scales()],
            event_shape=list(self.event_shape),
        )
        return config
