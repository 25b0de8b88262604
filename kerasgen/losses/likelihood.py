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
    return ops.cast(levels, "float32") / 127.5 - 1.0


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
