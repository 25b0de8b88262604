"""Log-likelihoods of 8-bit images, the unit the density families share.

Every family that gives probabilities to images (`log_prob`) reports the
log-probability, in nats, of the *discrete* image: each pixel one of 256
levels, as stored. That is what makes a Gaussian mixture, a flow, a PixelCNN
and a VAE's bound comparable, in bits per dimension:

    bits/dim = -log P(x) / (D * ln 2)

A model with a density p(y) on [-1, 1]^D (a mixture, a flow) gives each
8-bit image the probability mass of its bin, of width 2/256 per pixel. With
uniform dequantization (Theis et al. 2016, "A note on the evaluation of
generative models"; Dinh et al. 2017, section 4.1), y = (k + u) / 128 - 1
for level k and u ~ U[0, 1), and

    log P(k) >= E_u[log p(y)] + D * log(2 / 256),

a bound that one draw of u estimates without bias; a PixelCNN's softmax over
the 256 levels gives log P(k) exactly.
"""

import math

import numpy as np
from keras import ops

#: Levels of an 8-bit pixel.
LEVELS = 256
#: The width of one level's bin on the [-1, 1] scale kerasgen's images use.
BIN_WIDTH = 2.0 / LEVELS


def event_size(shape):
    """D, the number of dimensions of one example of `shape`.

    Example:

    ```python
    event_size((28, 28, 1))  # 784
    ```
    """
    return int(np.prod([int(d) for d in shape]))


def to_levels(images):
    """Images in [-1, 1] (`k / 127.5 - 1`, as loaded) to their int32 levels
    `k` in [0, 255], in `keras.ops`.

    Example:

    ```python
    import numpy as np
    to_levels(np.array([-1.0, 0.0, 1.0]))  # [0, 128, 255]
    ```
    """
    levels = ops.round((ops.cast(images, "float32") + 1.0) * 127.5)
    return ops.cast(ops.clip(levels, 0, LEVELS - 1), "int32")


def from_levels(levels):
    """Levels in [0, 255] back to images in [-1, 1] (`k / 127.5 - 1`).

    Example:

    ```python
    import numpy as np
    from_levels(np.array([0, 255]))  # [-1., 1.]
    ```
    """
    # A product, not a division: graph optimizers (Grappler, XLA) turn
    # x / 127.5 into x * (1 / 127.5), so a division would give images a bit
    # apart in eager and compiled code; clipped, as the product puts level
    # 255 a rounding error above 1.
    return ops.clip(ops.cast(levels, "float32") * (1.0 / 127.5) - 1.0, -1.0, 1.0)


def dequantize(images, noise):
    """Continuous points in [-1, 1) inside the 8-bit bins of `images`:
    `(k + u) / 128 - 1`, with `noise` u in [0, 1) of the images' shape.

    Example:

    ```python
    import numpy as np
    dequantize(np.array([-1.0, 1.0]), np.array([0.5, 0.5]))  # [-0.99609375, 0.99609375]
    ```
    """
    return (ops.cast(to_levels(images), "float32") + noise) * (2.0 / LEVELS) - 1.0


def quantize(points):
    """The 8-bit images (`k / 127.5 - 1`) whose bins hold continuous points
    of [-1, 1]: the inverse of `dequantize`, `k = floor((y + 1) * 128)`.

    Example:

    ```python
    import numpy as np
    quantize(np.array([-0.99609375, 0.99609375]))  # [-1., 1.]
    ```
    """
    levels = ops.floor((ops.clip(points, -1.0, 1.0 - 1e-6) + 1.0) * (LEVELS / 2.0))
    return from_levels(levels)


def discrete_log_prob(log_density, dims):
    """Log-probability of an 8-bit image from the log-density of a point of
    its bin on [-1, 1]^D: `log_density + D * log(2 / 256)` (with
    dequantization, a lower bound on log P).

    Example:

    ```python
    round(float(discrete_log_prob(0.0, 1)), 4)  # -4.852
    ```
    """
    return log_density + float(dims) * math.log(BIN_WIDTH)


def bits_per_dim(log_prob, dims):
    """`-log_prob / (D * ln 2)`: nats per image to bits per dimension.

    Example:

    ```python
    bits_per_dim(-784 * math.log(2.0), 784)  # 1.0
    ```
    """
    return -log_prob / (float(dims) * math.log(2.0))


# --- Discrete distributions over the 256 levels (autoregressive models) -------


def categorical_log_prob(logits, images):
    """log P(k) of each sub-pixel's level under a 256-way softmax
    (PixelCNN, van den Oord et al. 2016, section 5.3), summed per image.

    Args:
        logits: `(n, H, W, C, 256)`.
        images: `(n, H, W, C)` in [-1, 1], 8-bit levels.

    Returns:
        `(n,)` nats: exact log-probabilities of the discrete images.

    Example:

    ```python
    import numpy as np
    logits = np.zeros((1, 1, 1, 1, 256), "float32")  # uniform over levels
    round(float(categorical_log_prob(logits, np.zeros((1, 1, 1, 1)))[0]), 4)  # -5.5452
    ```
    """
    logits = ops.cast(logits, "float32")
    log_p = logits - ops.logsumexp(logits, axis=-1, keepdims=True)
    picked = ops.one_hot(to_levels(images), LEVELS, dtype="float32")
    return ops.sum(log_p * picked, axis=(1, 2, 3, 4))


def _softplus(x):
    # log(1 + e^x) from ops the TFLite builtins have (no SOFTPLUS, no LOG1P).
    return ops.maximum(x, 0.0) + ops.log(1.0 + ops.exp(-ops.abs(x)))


def split_logistic_mixture(params):
    """`(logits, means, log_scales)` of a mixture of M logistics from its
    `3M` parameters on the last axis (in that order; log-scales clamped at
    -7 as in PixelCNN++)."""
    logits, means, log_scales = ops.split(ops.cast(params, "float32"), 3, axis=-1)
    return logits, means, ops.maximum(log_scales, -7.0)


def discretized_logistic_mixture_log_prob(params, images):
    """log P(k) of each sub-pixel's level under a discretized mixture of
    logistics (Salimans et al. 2017, PixelCNN++, section 2.1), summed per
    image: the mass of the bin [x - 1/255, x + 1/255] of level k's value x
    on [-1, 1], the edge bins reaching to -inf and +inf, so that the 256
    levels' probabilities sum to one.

    Args:
        params: `(n, H, W, C, 3M)`: each sub-pixel's M mixture logits, M
            means and M log-scales (`split_logistic_mixture`).
        images: `(n, H, W, C)` in [-1, 1], 8-bit levels.

    Returns:
        `(n,)` nats.

    Example:

    ```python
    import numpy as np
    params = np.zeros((1, 1, 1, 1, 3), "float32")  # one logistic at 0, scale 1
    levels = np.arange(256).reshape(1, 1, 1, 256) / 127.5 - 1
    p = [np.exp(discretized_logistic_mixture_log_prob(params, levels[..., k:k + 1]))
         for k in range(256)]
    round(float(np.sum(p)), 5)  # 1.0
    ```
    """
    logits, means, log_scales = split_logistic_mixture(params)
    x = ops.expand_dims(ops.cast(from_levels(to_levels(images)), "float32"), -1)
    centered = x - means
    inverse_scale = ops.exp(-log_scales)
    plus = inverse_scale * (centered + 1.0 / 255.0)
    minus = inverse_scale * (centered - 1.0 / 255.0)
    # log sigmoid(plus) for the lowest bin, log(1 - sigmoid(minus)) for the
    # highest; in between the difference of the two CDFs, or (when it
    # underflows) the density at the centre times the bin's width.
    log_cdf_plus = plus - _softplus(plus)
    log_one_minus_cdf_minus = -_softplus(minus)
    cdf_delta = ops.sigmoid(plus) - ops.sigmoid(minus)
    middle = inverse_scale * centered
    log_pdf_middle = middle - log_scales - 2.0 * _softplus(middle)
    log_middle = ops.where(cdf_delta > 1e-5, ops.log(ops.maximum(cdf_delta, 1e-12)),
                           log_pdf_middle - math.log(127.5))
    log_bin = ops.where(x < -0.999, log_cdf_plus,
                        ops.where(x > 0.999, log_one_minus_cdf_minus, log_middle))
    log_weights = logits - ops.logsumexp(logits, axis=-1, keepdims=True)
    return ops.sum(ops.logsumexp(log_bin + log_weights, axis=-1), axis=(1, 2, 3))
