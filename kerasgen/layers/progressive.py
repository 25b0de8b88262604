"""The layers of Progressive GAN (Karras et al. 2018, section 4), reused by
the StyleGAN family.

- `EqualizedDense`, `EqualizedConv2D`: weights drawn from N(0, 1) and
  multiplied at run time by He's constant `gain / sqrt(fan_in)`
  ("equalized learning rate", section 4.1), so that Adam's per-weight
  step size is the same relative change for every layer.
- `PixelNormalization`: each pixel's feature vector scaled to unit mean
  square (section 4.2), after every convolution of the generator.
- `MinibatchStdDev`: the standard deviation of each feature over the
  minibatch, averaged into one number and appended as a feature map
  (section 3), so the discriminator can see a lack of variety.
- `fade_in`, `upsample`, `downsample`: the blend of a new block with the
  previous resolution's output while the block fades in (figure 2).

Reference: Karras et al. 2018, https://arxiv.org/abs/1710.10196
"""

import math

import keras
from keras import ops


def resolution_levels(owner, image_size):
    """Doublings from 4x4 to `image_size` (a grown network's levels),
    refusing a size that is not 4 times a power of 2 in one line.

    Example:

    ```python
    resolution_levels("ProGAN", 64)  # 4
    ```
    """
    from kerasgen.utils import arguments

    levels = math.log2(image_size / 4) if arguments.is_count(image_size, 4) else -1
    if levels != int(levels) or levels < 0:
        arguments.refuse(owner, "image_size", image_size, "4 times a power of 2 (4, 8, 16, ...)")
    return int(levels)


def he_constant(fan_in, gain=math.sqrt(2.0)):
    """He's per-layer constant `gain / sqrt(fan_in)`.

    Example:

    ```python
    round(he_constant(4 * 3 * 3), 4)  # 0.2357
    ```
    """
    return float(gain) / math.sqrt(float(fan_in))


@keras.saving.register_keras_serializable(package="kerasgen")
class EqualizedDense(keras.layers.Layer):
    """A dense layer with equalized learning rate: `x @ (c * w) + b`, with
    `w ~ N(0, 1)` and `c = gain / sqrt(fan_in)`.

    Args:
        units: int. Output features.
        gain: float. sqrt(2) before a leaky ReLU; 1 for a linear output.
        use_bias: bool. Defaults to True.
        bias_initializer: float. The bias's starting value (1 for
            StyleGAN's style affines). Defaults to 0.
        lr_multiplier: float. Weights start at N(0, 1 / lr_multiplier^2)
            and both kernel and bias are scaled by it at run time, so Adam
            moves them `lr_multiplier` times as fast (StyleGAN's mapping
            network uses 0.01). Defaults to 1.

    Example:

    ```python
    import numpy as np
    layer = EqualizedDense(8)
    layer(np.ones((2, 16), "float32")).shape  # (2, 8)
    ```
    """

    def __init__(self, units, gain=math.sqrt(2.0), use_bias=True, bias_initializer=0.0,
                 lr_multiplier=1.0, **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)
        self.gain = float(gain)
        self.use_bias = bool(use_bias)
        self.bias_initializer = float(bias_initializer)
        self.lr_multiplier = float(lr_multiplier)

    def build(self, input_shape):
        fan_in = int(input_shape[-1])
        self.scale = he_constant(fan_in, self.gain) * self.lr_multiplier
        self.kernel = self.add_weight(
            name="kernel", shape=(fan_in, self.units),
            initializer=keras.initializers.RandomNormal(0.0, 1.0 / self.lr_multiplier),
        )
        self.bias = self.add_weight(
            name="bias", shape=(self.units,),
            initializer=keras.initializers.Constant(
                self.bias_initializer / self.lr_multiplier),
        ) if self.use_bias else None

    def call(self, x):
        # (x @ w) * c equals x @ (c * w); scaling the output keeps the
        # kernel a plain variable, which TFLite's builtins need.
        y = ops.matmul(x, ops.cast(self.kernel, x.dtype)) * self.scale
        if not self.use_bias:
            return y
        return y + ops.cast(self.bias, y.dtype) * self.lr_multiplier

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "gain": self.gain,
                "use_bias": self.use_bias, "bias_initializer": self.bias_initializer,
                "lr_multiplier": self.lr_multiplier}


@keras.saving.register_keras_serializable(package="kerasgen")
class EqualizedConv2D(keras.layers.Layer):
    """A stride-1 "same" convolution with equalized learning rate: the
    kernel `w ~ N(0, 1)` is multiplied by `gain / sqrt(k * k * in_channels)`
    at every call.

    Args:
        filters: int. Output channels.
        kernel_size: int. Square kernel (1 for toRGB/fromRGB, 3 elsewhere).
        gain: float. sqrt(2) before a leaky ReLU; 1 for a linear output.
        use_bias: bool. Defaults to True.

    Example:

    ```python
    import numpy as np
    EqualizedConv2D(4, 3)(np.ones((1, 8, 8, 2), "float32")).shape  # (1, 8, 8, 4)
    ```
    """

    def __init__(self, filters, kernel_size=3, gain=math.sqrt(2.0), use_bias=True,
                 **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.kernel_size = int(kernel_size)
        self.gain = float(gain)
        self.use_bias = bool(use_bias)

    def build(self, input_shape):
        channels = int(input_shape[-1])
        k = self.kernel_size
        self.scale = he_constant(k * k * channels, self.gain)
        self.kernel = self.add_weight(
            name="kernel", shape=(k, k, channels, self.filters),
            initializer=keras.initializers.RandomNormal(0.0, 1.0),
        )
        self.bias = self.add_weight(name="bias", shape=(self.filters,),
                                    initializer="zeros") if self.use_bias else None

    def call(self, x):
        y = ops.conv(x, ops.cast(self.kernel, x.dtype), padding="same") * self.scale
        return y + ops.cast(self.bias, y.dtype) if self.use_bias else y

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "kernel_size": self.kernel_size, "gain": self.gain,
                "use_bias": self.use_bias}


@keras.saving.register_keras_serializable(package="kerasgen")
class PixelNormalization(keras.layers.Layer):
    """`x / sqrt(mean(x^2 over channels) + epsilon)` at every pixel
    (section 4.2, epsilon = 1e-8).

    Example:

    ```python
    import numpy as np
    y = PixelNormalization()(np.full((1, 2, 2, 4), 3.0, "float32"))
    float(np.mean(np.square(y)))  # ~1.0
    ```
    """

    def __init__(self, epsilon=1e-8, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = float(epsilon)

    def call(self, x):
        return x * ops.rsqrt(ops.mean(ops.square(x), axis=-1, keepdims=True) + self.epsilon)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="kerasgen")
class MinibatchStdDev(keras.layers.Layer):
    """Appends one feature map holding the minibatch's variety: the standard
    deviation of every feature at every pixel over the batch, averaged over
    features and pixels into one number (section 3, as the paper states
    it; the authors' later code takes it per group of 4 images).

    Example:

    ```python
    import numpy as np
    x = np.stack([np.zeros((2, 2, 3)), np.ones((2, 2, 3))]).astype("float32")
    y = MinibatchStdDev()(x)
    y.shape, float(y[0, 0, 0, 3])  # ((2, 2, 2, 4), 0.5)
    ```
    """

    def __init__(self, epsilon=1e-8, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = float(epsilon)

    def call(self, x):
        mean = ops.mean(x, axis=0, keepdims=True)
        std = ops.sqrt(ops.mean(ops.square(x - mean), axis=0) + self.epsilon)
        shape = ops.shape(x)
        feature = ops.broadcast_to(ops.mean(std), (shape[0], shape[1], shape[2], 1))
        return ops.concatenate([x, ops.cast(feature, x.dtype)], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] + 1)

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="kerasgen")
class CriticHead(keras.layers.Layer):
    """The discriminator's end at 4x4 (ProGAN table 2, kept by StyleGAN2):
    minibatch standard deviation, a 3x3 conv, a dense layer and a linear
    score, with leaky ReLUs (0.2) times `activation_gain` (StyleGAN2's
    sqrt(2); 1 in ProGAN, whose He constant holds that gain).

    Args:
        filters: int. Channels of the 4x4 features it takes.
        activation_gain: float. Defaults to 1.

    Example:

    ```python
    import numpy as np
    head = CriticHead(8)
    head(np.zeros((2, 4, 4, 8), "float32")).shape  # (2, 1)
    ```
    """

    def __init__(self, filters, activation_gain=1.0, **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.activation_gain = float(activation_gain)
        self.minibatch_std = MinibatchStdDev(name="minibatch_std")
        self.conv = EqualizedConv2D(self.filters, 3, name="conv_4x4")
        self.dense = EqualizedDense(self.filters, name="dense_4x4")
        self.score = EqualizedDense(1, gain=1.0, name="score")

    def build(self, input_shape=None):
        self.minibatch_std.build((None, 4, 4, self.filters))  # no weights
        self.conv.build((None, 4, 4, self.filters + 1))
        self.dense.build((None, 16 * self.filters))
        self.score.build((None, self.filters))

    def _act(self, x):
        return ops.leaky_relu(x, 0.2) * self.activation_gain

    def call(self, h):
        h = self._act(self.conv(self.minibatch_std(h)))
        h = self._act(self.dense(ops.reshape(h, (-1, 16 * self.filters))))
        return ops.cast(self.score(h), "float32")

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 1)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "activation_gain": self.activation_gain}


def upsample(images, factor=2):
    """Nearest-neighbour upsampling by `factor` (the paper's doubling).

    Example:

    ```python
    import numpy as np
    upsample(np.ones((1, 4, 4, 3), "float32")).shape  # (1, 8, 8, 3)
    ```
    """
    if factor == 1:
        return images
    # Broadcast and reshape with the static height and width: TFLite's
    # builtin convolution needs them, and two ops.repeat lose the height.
    _, height, width, channels = images.shape
    n = ops.shape(images)[0]
    grid = ops.broadcast_to(images[:, :, None, :, None, :],
                            (n, height, factor, width, factor, channels))
    return ops.reshape(grid, (-1, height * factor, width * factor, channels))


def downsample(images, factor=2):
    """Average pooling by `factor` (the paper's halving).

    Example:

    ```python
    import numpy as np
    downsample(np.ones((1, 8, 8, 3), "float32"), 4).shape  # (1, 2, 2, 3)
    ```
    """
    if factor == 1:
        return images
    return ops.average_pool(images, factor, strides=factor, padding="valid")


def fade_in(old, new, alpha):
    """`(1 - alpha) * old + alpha * new`: the previous resolution's output
    (already resized) while a new block fades in, alpha from 0 to 1.

    Example:

    ```python
    import numpy as np
    float(fade_in(np.zeros(1), np.ones(1), 0.25)[0])  # 0.25
    ```
    """
    alpha = ops.cast(alpha, "float32")
    return old + ops.cast(alpha, old.dtype) * (new - old)
