"""StyleGAN2's style layers (Karras et al. 2020, section 2.2).

- `ModulatedConv2D`: a convolution whose input channels are scaled by a
  style `s = A(w)` (modulation, eq. 1) and whose output channels are then
  divided by their expected standard deviation (demodulation, eq. 2-3),
  computed here as the paper's "non-fused" equivalent: scale the input by
  `s`, convolve with the shared kernel, scale the output by `d`.
- `NoiseInjection`: per-pixel Gaussian noise times a learned strength
  (starting at 0), fresh in training and a fixed draw when sampling, so a
  latent gives one image.

Equalized learning rate throughout (`kerasgen.layers.progressive`).

Reference: Karras et al. 2020, https://arxiv.org/abs/1912.04958
"""

import math

import keras
from keras import ops

from kerasgen.layers.progressive import EqualizedConv2D
from kerasgen.layers.progressive import EqualizedDense
from kerasgen.layers.progressive import downsample
from kerasgen.layers.progressive import upsample as upsample_nearest

SQRT2 = math.sqrt(2.0)


def lrelu(x):
    """StyleGAN2's `bias_act`: a leaky ReLU (0.2) times sqrt(2), which keeps
    the variance of He-initialized layers.

    Example:

    ```python
    import numpy as np
    round(float(lrelu(np.array([-1.0, 1.0], "float32"))[0]), 4)  # -0.2828 (-0.2 sqrt(2))
    ```
    """
    return ops.leaky_relu(x, 0.2) * SQRT2


def residual_down_block(size, filters_in, filters_out):
    """The layers of one block of StyleGAN2's residual discriminator (figure
    7c) at resolution `size`, built: `(conv0, conv1, skip)`, two 3x3
    convolutions and the 1x1 skip. `residual_down` runs them.

    Example:

    ```python
    conv0, conv1, skip = residual_down_block(8, 4, 6)
    skip.name, conv1.filters  # ('skip_8x8', 6)
    ```
    """
    conv0 = EqualizedConv2D(filters_in, 3, name=f"conv_{size}x{size}_0")
    conv0.build((None, size, size, filters_in))
    conv1 = EqualizedConv2D(filters_out, 3, name=f"conv_{size}x{size}_1")
    conv1.build((None, size // 2, size // 2, filters_in))
    skip = EqualizedConv2D(filters_out, 1, gain=1.0, use_bias=False,
                           name=f"skip_{size}x{size}")
    skip.build((None, size // 2, size // 2, filters_in))
    return conv0, conv1, skip


def residual_down(x, block):
    """One residual block of `residual_down_block`: two 3x3 convolutions with
    a halving between them, beside a halved 1x1 skip, summed and scaled by
    1/sqrt(2) (the sum of two unit-variance paths).

    Example:

    ```python
    import numpy as np
    block = residual_down_block(8, 4, 6)
    residual_down(np.ones((1, 8, 8, 4), "float32"), block).shape  # (1, 4, 4, 6)
    ```
    """
    conv0, conv1, skip = block
    h = lrelu(conv1(downsample(lrelu(conv0(x)))))
    return (skip(downsample(x)) + h) * (1.0 / SQRT2)


@keras.saving.register_keras_serializable(package="kerasgen")
class ModulatedConv2D(keras.layers.Layer):
    """Modulated (and demodulated) convolution, called on `[x, w]`.

    Args:
        filters: int. Output channels.
        kernel_size: int. 3 for the synthesis layers, 1 for toRGB.
        demodulate: bool. Divide each output channel by its expected
            standard deviation (eq. 3). False for toRGB. Defaults to True.
        upsample: bool. Double the resolution first (nearest neighbour;
            the paper uses a transposed convolution and a [1, 3, 3, 1]
            filter). Defaults to False.

    Example:

    ```python
    import numpy as np
    layer = ModulatedConv2D(8, 3, upsample=True)
    y = layer([np.ones((2, 4, 4, 6), "float32"), np.ones((2, 16), "float32")])
    y.shape  # (2, 8, 8, 8)
    ```
    """

    def __init__(self, filters, kernel_size=3, demodulate=True, upsample=False, **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.kernel_size = int(kernel_size)
        self.demodulate = bool(demodulate)
        self.upsample = bool(upsample)

    def build(self, input_shape):
        x_shape, w_shape = input_shape
        channels = int(x_shape[-1])
        k = self.kernel_size
        # The style affine A: starts at s = 1 (bias 1), as in the paper's code.
        self.affine = EqualizedDense(channels, gain=1.0, bias_initializer=1.0, name="affine")
        self.affine.build((None, int(w_shape[-1])))
        self.scale = 1.0 / math.sqrt(k * k * channels)
        self.kernel = self.add_weight(
            name="kernel", shape=(k, k, channels, self.filters),
            initializer=keras.initializers.RandomNormal(0.0, 1.0),
        )

    def styles(self, w):
        """s = A(w), one scale per input channel."""
        return self.affine(w)

    def call(self, inputs):
        x, w = inputs
        styles = ops.cast(self.styles(w), x.dtype)
        if self.upsample:
            x = upsample_nearest(x)
        kernel = ops.cast(self.kernel, x.dtype)
        y = ops.conv(x * styles[:, None, None, :], kernel, padding="same") * self.scale
        if self.demodulate:
            # d_j = 1 / sqrt(sum_{i,k} (scale * w_ijk * s_i)^2 + eps), eq. 3.
            energy = ops.sum(ops.square(kernel), axis=(0, 1)) * (self.scale ** 2)
            d = ops.rsqrt(ops.matmul(ops.square(styles), energy) + 1e-8)
            y = y * d[:, None, None, :]
        return y

    def compute_output_shape(self, input_shape):
        x_shape = input_shape[0]
        factor = 2 if self.upsample else 1
        size = [None if s is None else s * factor for s in x_shape[1:3]]
        return (x_shape[0], *size, self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "kernel_size": self.kernel_size, "demodulate": self.demodulate,
                "upsample": self.upsample}


@keras.saving.register_keras_serializable(package="kerasgen")
class NoiseInjection(keras.layers.Layer):
    """`x + strength * noise`, one noise value per pixel shared by the
    channels; `noise=None` uses the layer's fixed draw (for sampling).

    Example:

    ```python
    import numpy as np
    layer = NoiseInjection()
    x = np.zeros((1, 4, 4, 2), "float32")
    float(np.abs(layer(x)).max())  # 0.0 (the strength starts at 0)
    ```
    """

    def build(self, input_shape):
        self.strength = self.add_weight(name="strength", shape=(), initializer="zeros")
        self.fixed_noise = self.add_weight(
            name="fixed_noise", shape=(int(input_shape[1]), int(input_shape[2]), 1),
            initializer=keras.initializers.RandomNormal(0.0, 1.0), trainable=False,
        )

    def call(self, x, noise=None):
        if noise is None:
            noise = self.fixed_noise[None]
        return x + ops.cast(self.strength, x.dtype) * ops.cast(noise, x.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape
