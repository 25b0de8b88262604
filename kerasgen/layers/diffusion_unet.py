"""The U-Net of DDPM (Ho et al. 2020, appendix B): a noise predictor
eps(x_t, t[, y]) built from residual blocks with the timestep (and class)
embedding added inside, group normalization, self-attention at low
resolution, and skips from each downsampling level to its upsampling twin.

- Denoising Diffusion Probabilistic Models: https://arxiv.org/abs/2006.11239
- The reference implementation (TensorFlow 1):
  https://github.com/hojonathanho/diffusion (`diffusion_utils/nn.py`,
  `models/unet.py`)

Deviation: every layer starts from Keras's default initializer, as in
diffusers' `UNet2DModel`. The reference starts the last convolution of each
block and the output layer at variance scale 1e-10 (about zero), which
leaves the weights behind two such layers without a usable gradient for
the first updates.
"""

import math

import keras
import numpy as np
from keras import layers
from keras import ops


@keras.saving.register_keras_serializable(package="kerasgen")
class SinusoidalEmbedding(layers.Layer):
    """Integer timesteps `(n,)` to `(n, dim)` features
    `[cos(t f_0), ..., cos(t f_{d/2-1}), sin(t f_0), ...]` with
    `f_i = max_period^(-i / (d/2))` (the Transformer's position encoding,
    as DDPM embeds t).

    Example:

    ```python
    import numpy as np
    layer = SinusoidalEmbedding(4)
    features = layer(np.array([0], "int32"))
    keras.ops.convert_to_numpy(features).tolist()  # [[1.0, 1.0, 0.0, 0.0]]
    ```
    """

    def __init__(self, dim, max_period=10000.0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 2 or dim % 2:
            raise ValueError(f"SinusoidalEmbedding: `dim` must be an even int >= 2. "
                             f"Received: dim={dim!r}")
        self.dim = dim
        self.max_period = float(max_period)

    def call(self, timesteps):
        half = self.dim // 2
        frequencies = np.exp(-math.log(self.max_period) * np.arange(half) / half)
        angles = ops.cast(ops.reshape(timesteps, (-1, 1)), "float32") * ops.convert_to_tensor(
            frequencies[None].astype("float32"))
        return ops.concatenate([ops.cos(angles), ops.sin(angles)], axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.dim)

    def get_config(self):
        config = super().get_config()
        config.update(dim=self.dim, max_period=self.max_period)
        return config


@keras.saving.register_keras_serializable(package="kerasgen")
class SpatialSelfAttention(layers.Layer):
    """Single-head self-attention over the pixels of a feature map, with a
    residual: `x + W_o softmax(q k^T / sqrt(C)) v` on group-normalized `x`
    (DDPM's attention block at 16x16).

    Example:

    ```python
    import numpy as np
    layer = SpatialSelfAttention(groups=2)
    layer(np.random.rand(1, 3, 3, 4).astype("float32")).shape  # (1, 3, 3, 4)
    ```
    """

    def __init__(self, groups=8, **kwargs):
        super().__init__(**kwargs)
        self.groups = groups

    def build(self, input_shape):
        channels = int(input_shape[-1])
        self.norm = layers.GroupNormalization(self.groups, epsilon=1e-6, name="norm")
        self.norm.build(input_shape)
        self.qkv = layers.Dense(3 * channels, name="qkv")
        self.qkv.build(input_shape)
        self.projection = layers.Dense(channels, name="projection")
        self.projection.build(input_shape)

    def call(self, x):
        height, width, channels = (int(d) for d in x.shape[1:])
        q, k, v = ops.split(self.qkv(self.norm(x)), 3, axis=-1)
        q, k, v = (ops.reshape(t, (-1, height * width, channels)) for t in (q, k, v))
        weights = ops.softmax(ops.matmul(q, ops.transpose(k, (0, 2, 1)))
                              * (1.0 / math.sqrt(channels)), axis=-1)
        attended = ops.reshape(ops.matmul(weights, v), (-1, height, width, channels))
        return x + self.projection(attended)

    def get_config(self):
        config = super().get_config()
        config.update(groups=self.groups)
        return config


def _group_norm(groups, name):
    return layers.GroupNormalization(groups, epsilon=1e-6, name=name)


def _residual_block(x, embedding, filters, groups, dropout, name):
    """GroupNorm, SiLU, 3x3 conv, plus the projected embedding; GroupNorm,
    SiLU, dropout, 3x3 conv; a 1x1 skip when the width changes."""
    h = _group_norm(groups, f"{name}_norm0")(x)
    h = layers.Activation("silu", name=f"{name}_silu0")(h)
    h = layers.Conv2D(filters, 3, padding="same", name=f"{name}_conv0")(h)
    e = layers.Activation("silu", name=f"{name}_embedding_silu")(embedding)
    e = layers.Dense(filters, name=f"{name}_embedding")(e)
    e = layers.Reshape((1, 1, filters), name=f"{name}_embedding_reshape")(e)
    h = layers.Add(name=f"{name}_add_embedding")([h, e])
    h = _group_norm(groups, f"{name}_norm1")(h)
    h = layers.Activation("silu", name=f"{name}_silu1")(h)
    if dropout:
        h = layers.Dropout(dropout, name=f"{name}_dropout")(h)
    h = layers.Conv2D(filters, 3, padding="same", name=f"{name}_conv1")(h)
    if int(x.shape[-1]) != filters:
        x = layers.Conv2D(filters, 1, name=f"{name}_skip")(x)
    return layers.Add(name=f"{name}_residual")([x, h])


def build_diffusion_unet(image_size, channels, filters=64, multipliers=(1, 2, 2),
                         blocks_per_level=2, attention_levels=(2,), groups=8, dropout=0.0,
                         num_classes=0, outputs=None, name="unet"):
    """The DDPM noise predictor: `[x_t (n, H, W, C), timesteps (n,)]` (and
    `labels (n,)` in `[0, num_classes]` when `num_classes`, where
    `num_classes` itself is the "no label" of classifier-free guidance) to
    `(n, H, W, outputs)`.

    Args:
        image_size: int. H = W, divisible by `2 ** (len(multipliers) - 1)`.
        channels: int. Image channels C.
        filters: int. Width of the first level; level i has
            `filters * multipliers[i]`.
        multipliers: tuple of int. One per resolution, halving between.
        blocks_per_level: int. Residual blocks per level on the way down
            (one more on the way up, as in DDPM).
        attention_levels: tuple of int. Levels (0 = full resolution) whose
            blocks are followed by self-attention. The middle always has
            one.
        groups: int. Group normalization groups (divides every width).
        dropout: float. Dropout inside the residual blocks.
        num_classes: int. Classes to condition on (0: none).
        outputs: int. Output channels; defaults to `channels`.

    Example:

    ```python
    import numpy as np
    unet = build_diffusion_unet(8, 1, filters=8, multipliers=(1, 2), blocks_per_level=1,
                                attention_levels=(1,), groups=4)
    tuple(unet([np.zeros((2, 8, 8, 1), "float32"), np.array([0, 9], "int32")]).shape)
    # (2, 8, 8, 1)
    ```
    """
    images = keras.Input((image_size, image_size, channels), name="noisy_images")
    timesteps = keras.Input((), dtype="int32", name="timesteps")
    inputs = [images, timesteps]
    width = 4 * filters
    embedding = SinusoidalEmbedding(filters, name="time_sinusoid")(timesteps)
    embedding = layers.Dense(width, name="time_dense0")(embedding)
    embedding = layers.Activation("silu", name="time_silu")(embedding)
    embedding = layers.Dense(width, name="time_dense1")(embedding)
    if num_classes:
        labels = keras.Input((), dtype="int32", name="labels")
        inputs.append(labels)
        # One more row: the "no label" of classifier-free guidance.
        classes = layers.Embedding(num_classes + 1, width, name="class_embedding")(labels)
        embedding = layers.Add(name="add_class")([embedding, classes])

    def attend(h, level, name):
        if level in attention_levels:
            return SpatialSelfAttention(groups, name=name)(h)
        return h

    h = layers.Conv2D(filters, 3, padding="same", name="conv_in")(images)
    skips = [h]
    last = len(multipliers) - 1
    for level, multiplier in enumerate(multipliers):
        for block in range(blocks_per_level):
            name = f"down{level}_block{block}"
            h = _residual_block(h, embedding, filters * multiplier, groups, dropout, name)
            h = attend(h, level, f"{name}_attention")
            skips.append(h)
        if level != last:
            h = layers.Conv2D(int(h.shape[-1]), 3, strides=2, padding="same",
                              name=f"down{level}_downsample")(h)
            skips.append(h)
    middle = int(h.shape[-1])
    h = _residual_block(h, embedding, middle, groups, dropout, "middle_block0")
    h = SpatialSelfAttention(groups, name="middle_attention")(h)
    h = _residual_block(h, embedding, middle, groups, dropout, "middle_block1")
    for level in reversed(range(len(multipliers))):
        for block in range(blocks_per_level + 1):
            name = f"up{level}_block{block}"
            h = layers.Concatenate(name=f"{name}_concat")([h, skips.pop()])
            h = _residual_block(h, embedding, filters * multipliers[level], groups, dropout,
                                name)
            h = attend(h, level, f"{name}_attention")
        if level != 0:
            h = layers.UpSampling2D(2, interpolation="nearest", name=f"up{level}_upsample")(h)
            h = layers.Conv2D(int(h.shape[-1]), 3, padding="same", name=f"up{level}_conv")(h)
    h = _group_norm(groups, "out_norm")(h)
    h = layers.Activation("silu", name="out_silu")(h)
    # float32 whatever the policy: under mixed precision the loss and the
    # samplers' arithmetic with x_t stay in float32 (Keras's advice for a
    # model's last layer).
    h = layers.Conv2D(outputs or channels, 3, padding="same", dtype="float32",
                      name="conv_out")(h)
    return keras.Model(inputs, h, name=name)
