"""Swapping autoencoder (Park et al. 2020): an autoencoder whose code is
split into a spatial *structure* code and a global *texture* code, trained
so that the structure of one image decoded with the texture of another is
a realistic image with the first's layout and the second's look.

- Swapping Autoencoder for Deep Image Manipulation:
  https://arxiv.org/abs/2007.00653

The encoder E maps an image to z_s (a `structure_channels`-deep map at
1/2^`structure_downsampling` of the image side) and z_t (a vector of
`texture_dim`); the generator G starts from z_s and modulates every
convolution with z_t (StyleGAN2's modulated convolutions,
`kerasgen.layers.style`). Three things are learned together:

1. Reconstruction: G(E(x)) = x (L1) and realistic (a GAN on G(E(x))).
2. Swapping: G(z_s of x1, z_t of x2) is realistic (the same image
   discriminator D, a StyleGAN2 residual discriminator).
3. Texture: patches of the swapped image cannot be told from patches of
   x2 by the patch co-occurrence discriminator D_patch, which sees a query
   patch beside the mean features of reference patches of x2 (section
   3.2). Patches are crops of 1/8 to 1/4 of the image side, resized to
   `patch_size`.

Notation:

| code                    | paper                                         |
| ----------------------- | --------------------------------------------- |
| `encoder(x)`            | E(x) = (z_s, z_t)                             |
| `generator([z_s, z_t])` | G(z_s, z_t)                                   |
| `discriminator`         | D                                             |
| `patch_discriminator`   | D_patch (co-occurrence)                       |
| `random_crops(x, k)`    | crops(x): k random patches, resized           |
| `texture_source(x)`     | x2: the batch rolled by half, z_t's donor     |
| `lambda_l1`             | weight of L_rec (1)                           |
| `lambda_patch`          | weight of L_CooccurGAN (1)                    |
| `r1_gamma`, `patch_r1_gamma` | R1 weights of D (10) and D_patch (1)     |

Objective (eq. 4, non-saturating GAN losses, softplus form), for a batch x
and x2 = x rolled by half the batch:

    L_G  = lambda_l1 |x - G(E(x))|_1 + 0.5 L_GAN(G(E(x))) + 0.5 L_GAN(swap)
           + lambda_patch L_CooccurGAN(crops(swap), crops(x2))
    L_D  = softplus(-D(x)) + 0.5 softplus(D(G(E(x)))) + 0.5 softplus(D(swap))
           + softplus(-D_patch(crop(x2), crops(x2)))
           + softplus(D_patch(crop(swap), crops(x2)))

with swap = G(z_s(x), z_t(x2)) and lazy R1 on real images for D and on
real query patches for D_patch every `r1_interval` batches.

Deviations:
- Resampling is nearest-neighbour up and average-pool down (the paper's
  StyleGAN2 blocks filter with [1, 3, 3, 1]); crops are resized with
  bilinear weights.
- One Adam per update step (the paper's code shares one between D and
  D_patch too: so does this family, whose discriminator step trains both),
  with the lazy R1 steps on Adams of their own.
- No EMA of G by default (`ema_decay`; the authors' code keeps none), and no
  noise inputs in G's upsampling blocks (the authors' code adds them).
- The structure code's modulation starts at scale 1 (the authors' code
  starts near 0, with the bias of an equalized linear layer at 0).
"""

import keras
from keras import ops

from kerasgen.layers.progressive import EqualizedConv2D
from kerasgen.layers.progressive import EqualizedDense
from kerasgen.layers.progressive import downsample
from kerasgen.layers.progressive import upsample
from kerasgen.layers.style import SQRT2
from kerasgen.layers.style import ModulatedConv2D
from kerasgen.layers.style import lrelu
from kerasgen.layers.style import residual_down
from kerasgen.layers.style import residual_down_block
from kerasgen.losses import r1_penalty
from kerasgen.models.progan import feature_maps
from kerasgen.models.registry import register_family
from kerasgen.models.serving import Endpoint
from kerasgen.models.serving import Input
from kerasgen.models.stylegan2 import ResidualDiscriminator
from kerasgen.training import GenerativeModel
from kerasgen.training import UpdateStep
from kerasgen.utils import arguments
from kerasgen.training.replicas import per_example


def normalize(x, axis=-1):
    """x / ||x|| along `axis` (the codes are unit vectors, as in the
    authors' code: their scale carries no information the decoder needs).

    Example:

    ```python
    import numpy as np
    normalize(np.array([[3.0, 4.0]], "float32"))  # [[0.6, 0.8]]
    ```
    """
    x = ops.cast(x, "float32")
    return x * ops.rsqrt(ops.sum(ops.square(x), axis=axis, keepdims=True) + 1e-8)


# --- Patches ------------------------------------------------------------------


def _interpolation_matrix(start, extent, size, length):
    """Bilinear weights `(..., size, length)` that read `size` evenly spaced
    samples of `[start, start + extent)` from a line of `length` pixels."""
    centres = (ops.arange(size, dtype="float32") + 0.5) / size
    positions = start[..., None] + centres * extent[..., None] - 0.5  # pixel units
    # Samples closer than half a pixel to the border read the border pixel
    # (the weights then still sum to 1).
    positions = ops.clip(positions, 0.0, length - 1.0)
    pixels = ops.arange(length, dtype="float32")
    return ops.relu(1.0 - ops.abs(positions[..., None] - pixels))


def random_crops(images, crops, size, min_scale, max_scale, seed=None):
    """`crops` random square patches of each image, resized to `size`: a
    side of `min_scale` to `max_scale` of the image's (uniformly), at a
    uniform position inside it. Differentiable in the images (a bilinear
    resampling written as two matrix products), so the generator learns
    through the co-occurrence discriminator's verdict on its patches.

    Args:
        images: `(n, H, W, C)`.
        crops: int. Patches per image.
        size: int. Side of the returned patches.
        min_scale, max_scale: float. Patch side as a share of the image's.
        seed: int, a `keras.random.SeedGenerator` or None.

    Returns:
        `(n, crops, size, size, C)`.

    Example:

    ```python
    import numpy as np
    images = np.ones((2, 16, 16, 3), "float32")
    random_crops(images, 4, 8, 0.25, 0.5, seed=0).shape  # (2, 4, 8, 8, 3)
    ```
    """
    images = ops.convert_to_tensor(images)
    n = ops.shape(images)[0]
    height, width = int(images.shape[1]), int(images.shape[2])
    scale = per_example(keras.random.uniform, (n, crops), min_scale, max_scale, seed=seed)
    rows = ops.cast(scale * height, images.dtype)
    cols = ops.cast(scale * width, images.dtype)
    top = per_example(keras.random.uniform, (n, crops), seed=seed) * (height - rows)
    left = per_example(keras.random.uniform, (n, crops), seed=seed) * (width - cols)
    read_rows = ops.cast(_interpolation_matrix(top, rows, size, height), images.dtype)
    read_cols = ops.cast(_interpolation_matrix(left, cols, size, width), images.dtype)
    picked_rows = ops.einsum("nkph,nhwc->nkpwc", read_rows, images)
    return ops.einsum("nkpwc,nkqw->nkpqc", picked_rows, read_cols)


# --- Networks -----------------------------------------------------------------


@keras.saving.register_keras_serializable(package="kerasgen")
class StructureTextureEncoder(keras.Model):
    """E: fromRGB, `structure_downsampling` residual halvings, then two
    heads. Structure: two 1x1 convolutions to `structure_channels`, unit
    length at each position. Texture: `texture_downsampling` more 3x3
    convolutions with halvings, the spatial mean and a dense layer to
    `texture_dim`, unit length.

    Example:

    ```python
    import numpy as np
    e = StructureTextureEncoder(16, 1, 2, 1, 4, 8, fmap_base=32, fmap_max=8)
    [t.shape for t in e(np.zeros((2, 16, 16, 1), "float32"))]
    # [(2, 4, 4, 4), (2, 8)]
    ```
    """

    def __init__(self, image_size, channels, structure_downsampling, texture_downsampling,
                 structure_channels, texture_dim, fmap_base=16384, fmap_max=512, **kwargs):
        super().__init__(**kwargs)
        self.image_size, self.channels = int(image_size), int(channels)
        self.structure_downsampling = int(structure_downsampling)
        self.texture_downsampling = int(texture_downsampling)
        self.structure_channels, self.texture_dim = int(structure_channels), int(texture_dim)
        self.fmap_base, self.fmap_max = int(fmap_base), int(fmap_max)
        # === Layers ===
        size = self.image_size
        width = feature_maps(size, fmap_base, fmap_max)
        self.from_rgb = EqualizedConv2D(width, 1, name="from_rgb")
        self.from_rgb.build((None, size, size, channels))
        self.blocks = []
        for _ in range(self.structure_downsampling):
            wider = feature_maps(size // 2, fmap_base, fmap_max)
            self.blocks.append(residual_down_block(size, width, wider))
            size, width = size // 2, wider
        self.structure_conv = EqualizedConv2D(width, 1, name="structure_conv")
        self.structure_conv.build((None, size, size, width))
        self.structure_out = EqualizedConv2D(structure_channels, 1, gain=1.0,
                                             name="structure_out")
        self.structure_out.build((None, size, size, width))
        self.texture_convs = []
        for i in range(self.texture_downsampling):
            wider = feature_maps(size // 2, fmap_base, fmap_max)
            conv = EqualizedConv2D(wider, 3, name=f"texture_conv_{i}")
            conv.build((None, size, size, width))
            self.texture_convs.append(conv)
            size, width = size // 2, wider
        self.texture_out = EqualizedDense(texture_dim, gain=1.0, name="texture_out")
        self.texture_out.build((None, width))
        self.built = True

    def call(self, images, training=False):
        x = lrelu(self.from_rgb(images))
        for block in self.blocks:
            x = residual_down(x, block)
        structure = self.structure_out(lrelu(self.structure_conv(x)))
        for conv in self.texture_convs:
            x = downsample(lrelu(conv(x)))
        texture = self.texture_out(ops.mean(x, axis=(1, 2)))
        return normalize(structure), normalize(texture)

    def get_config(self):
        return {**super().get_config(), "image_size": self.image_size,
                "channels": self.channels,
                "structure_downsampling": self.structure_downsampling,
                "texture_downsampling": self.texture_downsampling,
                "structure_channels": self.structure_channels,
                "texture_dim": self.texture_dim, "fmap_base": self.fmap_base,
                "fmap_max": self.fmap_max}


@keras.saving.register_keras_serializable(package="kerasgen")
class SwappingGenerator(keras.Model):
    """G(z_s, z_t): the structure code modulated by the texture code
    (`z_s * a(z_t) + b(z_t)` per channel, the authors' code's first layer),
    a 1x1 convolution, `base_blocks` residual blocks at its resolution, then
    one upsampling residual block per halving of the encoder; every 3x3
    convolution and the toRGB are modulated by the texture code
    (demodulated, except toRGB).

    A block: `h = lrelu(modconv(x) + b)` twice (the first upsampling where
    the block doubles), beside a 1x1 skip of the upsampled `x`, summed and
    scaled by 1/sqrt(2).

    Example:

    ```python
    import numpy as np
    g = SwappingGenerator(16, 1, 2, 4, 8, base_blocks=1, fmap_base=32, fmap_max=8)
    g([np.zeros((2, 4, 4, 4), "float32"), np.ones((2, 8), "float32")]).shape
    # (2, 16, 16, 1)
    ```
    """

    def __init__(self, image_size, channels, structure_downsampling, structure_channels,
                 texture_dim, base_blocks=2, fmap_base=16384, fmap_max=512, **kwargs):
        super().__init__(**kwargs)
        self.image_size, self.channels = int(image_size), int(channels)
        self.structure_downsampling = int(structure_downsampling)
        self.structure_channels, self.texture_dim = int(structure_channels), int(texture_dim)
        self.base_blocks = int(base_blocks)
        self.fmap_base, self.fmap_max = int(fmap_base), int(fmap_max)
        # === Layers ===
        size = self.image_size // 2**self.structure_downsampling
        width = feature_maps(size, fmap_base, fmap_max)
        # The texture acts on the structure from the first layer on: with
        # only the convolutions' styles (1 + a small A(z_t) at the start),
        # an autoencoder can learn to leave z_t unused.
        self.structure_scale = EqualizedDense(structure_channels, gain=1.0,
                                              bias_initializer=1.0, name="structure_scale")
        self.structure_scale.build((None, texture_dim))
        self.structure_shift = EqualizedDense(structure_channels, gain=1.0,
                                              name="structure_shift")
        self.structure_shift.build((None, texture_dim))
        self.from_structure = EqualizedConv2D(width, 1, name="from_structure")
        self.from_structure.build((None, size, size, structure_channels))
        self.blocks = []
        for i in range(self.base_blocks + self.structure_downsampling):
            grows = i >= self.base_blocks
            out_size = size * 2 if grows else size
            out_width = feature_maps(out_size, fmap_base, fmap_max)
            self.blocks.append(self._block(f"block_{i}_{out_size}x{out_size}", size,
                                           width, out_width, grows))
            size, width = out_size, out_width
        self.to_rgb = ModulatedConv2D(channels, 1, demodulate=False, name="to_rgb")
        self.to_rgb.build([(None, size, size, width), (None, texture_dim)])
        self.rgb_bias = self.add_weight(name="rgb_bias", shape=(channels,),
                                        initializer="zeros")
        self.built = True

    def _block(self, name, size, width, out_width, grows):
        conv0 = ModulatedConv2D(out_width, 3, upsample=grows, name=f"{name}_conv0")
        conv0.build([(None, size, size, width), (None, self.texture_dim)])
        out_size = size * 2 if grows else size
        conv1 = ModulatedConv2D(out_width, 3, name=f"{name}_conv1")
        conv1.build([(None, out_size, out_size, out_width), (None, self.texture_dim)])
        skip = EqualizedConv2D(out_width, 1, gain=1.0, use_bias=False, name=f"{name}_skip")
        skip.build((None, out_size, out_size, width))
        biases = [self.add_weight(name=f"{name}_bias{j}", shape=(out_width,),
                                  initializer="zeros") for j in range(2)]
        return dict(conv0=conv0, conv1=conv1, skip=skip, biases=biases, grows=grows)

    def call(self, inputs, training=False):
        structure, texture = inputs
        texture = ops.cast(texture, "float32")
        structure = ops.cast(structure, "float32")
        structure = (structure * self.structure_scale(texture)[:, None, None, :]
                     + self.structure_shift(texture)[:, None, None, :])
        x = lrelu(self.from_structure(structure))
        for block in self.blocks:
            b0, b1 = block["biases"]
            h = lrelu(block["conv0"]([x, texture]) + b0)
            h = lrelu(block["conv1"]([h, texture]) + b1)
            shortcut = upsample(x) if block["grows"] else x
            x = (block["skip"](shortcut) + h) * (1.0 / SQRT2)
        return self.to_rgb([x, texture]) + self.rgb_bias

    def get_config(self):
        return {**super().get_config(), "image_size": self.image_size,
                "channels": self.channels,
                "structure_downsampling": self.structure_downsampling,
                "structure_channels": self.structure_channels,
                "texture_dim": self.texture_dim, "base_blocks": self.base_blocks,
                "fmap_base": self.fmap_base, "fmap_max": self.fmap_max}


@keras.saving.register_keras_serializable(package="kerasgen")
class CooccurrenceDiscriminator(keras.Model):
    """D_patch (section 3.2): a patch encoder (fromRGB, residual halvings
    to 4x4, a 3x3 convolution and a dense layer to `features`) and a
    classifier of `[query features, mean reference features]` (three dense
    layers): does the query patch come from the image the references were
    cropped from? Called on `[query, references]`: `(n, P, P, C)` and
    `(n, k, P, P, C)`.

    Example:

    ```python
    import numpy as np
    d = CooccurrenceDiscriminator(8, 1, fmap_base=32, fmap_max=8)
    d([np.zeros((2, 8, 8, 1), "float32"), np.zeros((2, 3, 8, 8, 1), "float32")]).shape
    # (2, 1)
    ```
    """

    def __init__(self, patch_size, channels, fmap_base=16384, fmap_max=512, **kwargs):
        super().__init__(**kwargs)
        self.patch_size, self.channels = int(patch_size), int(channels)
        self.fmap_base, self.fmap_max = int(fmap_base), int(fmap_max)
        if not arguments.is_count(patch_size, 4) or patch_size & (patch_size - 1):
            arguments.refuse(self, "patch_size", patch_size, "a power of 2, 4 or more")
        # === Layers ===
        size = self.patch_size
        width = feature_maps(size, fmap_base, fmap_max)
        self.from_rgb = EqualizedConv2D(width, 1, name="from_rgb")
        self.from_rgb.build((None, size, size, channels))
        self.blocks = []
        while size > 4:
            wider = feature_maps(size // 2, fmap_base, fmap_max)
            self.blocks.append(residual_down_block(size, width, wider))
            size, width = size // 2, wider
        self.features = 2 * width
        self.conv = EqualizedConv2D(width, 3, name="conv_4x4")
        self.conv.build((None, 4, 4, width))
        self.to_features = EqualizedDense(self.features, name="to_features")
        self.to_features.build((None, 16 * width))
        self.classifier = []
        for i, units in enumerate((2 * self.features, self.features)):
            dense = EqualizedDense(units, name=f"classifier_{i}")
            dense.build((None, 2 * self.features))  # [query, reference], then 2F
            self.classifier.append(dense)
        self.score = EqualizedDense(1, gain=1.0, name="score")
        self.score.build((None, self.features))
        self.built = True

    def encode_patches(self, patches):
        """Features `(m, features)` of patches `(m, P, P, C)`."""
        x = lrelu(self.from_rgb(ops.cast(patches, "float32")))
        for block in self.blocks:
            x = residual_down(x, block)
        x = lrelu(self.conv(x))
        return lrelu(self.to_features(ops.reshape(x, (-1, 16 * x.shape[-1]))))

    def call(self, inputs, training=False):
        query, references = inputs
        n, k = ops.shape(references)[0], references.shape[1]
        size, channels = self.patch_size, self.channels
        flat = ops.reshape(references, (-1, size, size, channels))
        reference = ops.mean(ops.reshape(self.encode_patches(flat), (n, k, self.features)),
                             axis=1)
        h = ops.concatenate([self.encode_patches(query), reference], axis=-1)
        for dense in self.classifier:
            h = lrelu(dense(h))
        return self.score(h)

    def get_config(self):
        return {**super().get_config(), "patch_size": self.patch_size,
                "channels": self.channels, "fmap_base": self.fmap_base,
                "fmap_max": self.fmap_max}


# --- The family ---------------------------------------------------------------


@register_family("swapae")
class SwappingAutoencoder(GenerativeModel):
    """Swapping autoencoder (Park et al. 2020): structure and texture codes,
    a co-occurrence patch discriminator, and the swap.

    Args:
        image_size: int. 4 times a power of 2. Defaults to 256.
        channels: int. 1 or 3. Defaults to 3.
        structure_downsampling: int. Halvings from the image to z_s (the
            paper's 4: 16x16 at 256). Defaults to 4.
        texture_downsampling: int. Further halvings before z_t's pooling.
            Defaults to 2.
        structure_channels: int. Depth of z_s. Defaults to 8.
        texture_dim: int. Size of z_t. Defaults to 2048.
        base_blocks: int. G's residual blocks at z_s's resolution.
            Defaults to 2.
        fmap_base: int. Channels min(fmap_max, 2 * fmap_base / resolution),
            as in StyleGAN2. Defaults to 16384.
        fmap_max: int. The most channels of a layer. Defaults to 512.
        patch_size: int. Side of the patches D_patch sees (a power of 2).
            Defaults to 64 (a quarter of 256).
        patch_min_scale: float. The smallest crop's side as a share of the
            image's, before resizing. Defaults to 1/8.
        patch_max_scale: float. The largest crop's. Defaults to 1/4.
        patch_crops: int. Reference patches per image. Defaults to 8.
        lambda_l1: float. Weight of the reconstruction. Defaults to 1.
        lambda_patch: float. Weight of the co-occurrence loss. Defaults to 1.
        r1_gamma: float. R1 weight of D (0: off). Defaults to 10.
        patch_r1_gamma: float. R1 weight of D_patch (0: off). Defaults to 1.
        r1_interval: int. Batches between R1 steps. Defaults to 16.
        learning_rate: float. Adam learning rate. Defaults to 0.002.
        beta_1: float. Adam's beta_1. Defaults to 0.0.
        beta_2: float. Adam's beta_2. Defaults to 0.99.
        ema_decay: float or None. An EMA of G for decoding (the authors'
            code keeps none). Defaults to None.
        seed: int or None. Seeds the crops.

    Reference:
        Park et al. 2020, https://arxiv.org/abs/2007.00653

    Example:

    ```python
    import numpy as np
    model = SwappingAutoencoder(image_size=16, channels=1, structure_downsampling=2,
                                texture_downsampling=1, structure_channels=4,
                                texture_dim=8, base_blocks=1, fmap_base=32,
                                fmap_max=8, patch_size=8, patch_min_scale=0.25,
                                patch_max_scale=0.5, patch_crops=2)
    model.compile()
    images = np.random.uniform(-1, 1, (8, 16, 16, 1)).astype("float32")
    model.fit(images, batch_size=4, epochs=1, verbose=0)
    model.swap(images[:2], images[2:4]).shape  # (2, 16, 16, 1)
    ```
    """

    description = "Swapping autoencoder (Park et al. 2020): structure from one image, texture from another."
    #: `swap(structure_images, texture_images)`: `kerasgen swap` draws the figure.
    interfaces = ("swap",)
    serving_default = "swap"
    ema_network = "generator"
    default_batch_size = 16
    recipes = {"demo": dict(image_size=16, channels=1, structure_downsampling=2,
                            texture_downsampling=1, structure_channels=4, texture_dim=32,
                            base_blocks=1, fmap_base=256, fmap_max=32, patch_size=8,
                            patch_min_scale=0.25, patch_max_scale=0.5, patch_crops=4)}

    def __init__(
        self,
        image_size=256,
        channels=3,
        structure_downsampling=4,
        texture_downsampling=2,
        structure_channels=8,
        texture_dim=2048,
        base_blocks=2,
        fmap_base=16384,
        fmap_max=512,
        patch_size=64,
        patch_min_scale=0.125,
        patch_max_scale=0.25,
        patch_crops=8,
        lambda_l1=1.0,
        lambda_patch=1.0,
        r1_gamma=10.0,
        patch_r1_gamma=1.0,
        r1_interval=16,
        learning_rate=0.002,
        beta_1=0.0,
        beta_2=0.99,
        ema_decay=None,
        seed=None,
        **kwargs,
    ):
        super().__init__(ema_decay=ema_decay, seed=seed, **kwargs)
        from kerasgen.layers.progressive import resolution_levels

        levels = resolution_levels(self, image_size)
        if channels not in (1, 3):
            arguments.refuse(self, "channels", channels, "1 or 3")
        arguments.check_count(self, "structure_downsampling", structure_downsampling, 1)
        if structure_downsampling > levels:
            arguments.refuse(self, "structure_downsampling", structure_downsampling,
                             f"at most {levels} (z_s of 4x4 or more at image_size "
                             f"{image_size})")
        arguments.check_count(self, "texture_downsampling", texture_downsampling, 0)
        if structure_downsampling + texture_downsampling > levels + 2:
            arguments.refuse(self, "texture_downsampling", texture_downsampling,
                             f"at most {levels + 2 - structure_downsampling} (down to 1x1)")
        arguments.check_count(self, "base_blocks", base_blocks, 0)
        arguments.check_count(self, "patch_crops", patch_crops, 1)
        arguments.check_count(self, "r1_interval", r1_interval, 1)
        if not 0.0 < float(patch_min_scale) <= float(patch_max_scale) <= 1.0:
            arguments.refuse(self, "patch_min_scale, patch_max_scale",
                             (patch_min_scale, patch_max_scale),
                             "shares with 0 < min <= max <= 1")
        for name, value in (("lambda_l1", lambda_l1), ("lambda_patch", lambda_patch),
                            ("r1_gamma", r1_gamma), ("patch_r1_gamma", patch_r1_gamma)):
            if float(value) < 0:
                arguments.refuse(self, name, value, "0 (off) or positive")
        if arguments.is_count(patch_size, 4) and patch_size > image_size:
            arguments.refuse(self, "patch_size", patch_size, f"at most image_size ({image_size})")
        # === Layers ===
        self.encoder = StructureTextureEncoder(
            image_size, channels, structure_downsampling, texture_downsampling,
            structure_channels, texture_dim, fmap_base, fmap_max, name="encoder")
        self.generator = SwappingGenerator(
            image_size, channels, structure_downsampling, structure_channels, texture_dim,
            base_blocks, fmap_base, fmap_max, name="generator")
        self.discriminator = ResidualDiscriminator(image_size, channels, fmap_base, fmap_max,
                                                   name="discriminator")
        self.patch_discriminator = CooccurrenceDiscriminator(
            patch_size, channels, fmap_base, fmap_max, name="patch_discriminator")
        # === Config ===
        self.image_size, self.channels = int(image_size), int(channels)
        self.structure_downsampling = int(structure_downsampling)
        self.texture_downsampling = int(texture_downsampling)
        self.structure_channels, self.texture_dim = int(structure_channels), int(texture_dim)
        self.base_blocks, self.fmap_base, self.fmap_max = int(base_blocks), fmap_base, fmap_max
        self.patch_size, self.patch_crops = int(patch_size), int(patch_crops)
        self.patch_min_scale, self.patch_max_scale = float(patch_min_scale), float(patch_max_scale)
        self.lambda_l1, self.lambda_patch = float(lambda_l1), float(lambda_patch)
        self.r1_gamma, self.patch_r1_gamma = float(r1_gamma), float(patch_r1_gamma)
        self.r1_interval = int(r1_interval)
        self.learning_rate, self.beta_1, self.beta_2 = learning_rate, beta_1, beta_2
        self._finish_networks()

    @property
    def structure_shape(self):
        """z_s's shape `(h, w, structure_channels)`."""
        side = self.image_size // 2**self.structure_downsampling
        return (side, side, self.structure_channels)

    # --- Patches ------------------------------------------------------------

    def crops(self, images, count):
        """`count` random patches per image, `(n, count, P, P, C)`."""
        return random_crops(images, count, self.patch_size, self.patch_min_scale,
                            self.patch_max_scale, seed=self.seed_generator)

    @staticmethod
    def texture_source(images):
        """x2: the batch rolled by half, so image i takes its texture from
        image i + n/2 (mod n), another image for any batch of 2 or more."""
        return ops.roll(images, ops.shape(images)[0] // 2, axis=0)

    # --- The forward passes of a batch ----------------------------------------

    def _reconstruct_and_swap(self, images):
        structure, texture = self.encoder(images, training=True)
        reconstruction = self.generator([structure, texture], training=True)
        swapped = self.generator([structure, self.texture_source(texture)], training=True)
        return reconstruction, swapped

    def _cooccurrence_logits(self, query_images, reference_images):
        """D_patch on one patch of each query image against
        `patch_crops` patches of the matching reference image."""
        query = self.crops(query_images, 1)[:, 0]
        references = self.crops(reference_images, self.patch_crops)
        return self.patch_discriminator([query, references], training=True)

    # --- Losses and update steps --------------------------------------------

    def discriminator_step_loss(self, images, labels=None):
        """D: real x against G(E(x)) and the swap (half each); D_patch:
        a patch of x2 against a patch of the swap, beside x2's references."""
        images = ops.cast(images, "float32")
        reconstruction, swapped = self._reconstruct_and_swap(images)
        reconstruction = ops.stop_gradient(reconstruction)
        swapped = ops.stop_gradient(swapped)
        donors = self.texture_source(images)
        d_real = ops.mean(ops.softplus(-self.discriminator(images, training=True)))
        d_fake = 0.5 * (ops.mean(ops.softplus(self.discriminator(reconstruction, training=True)))
                        + ops.mean(ops.softplus(self.discriminator(swapped, training=True))))
        patch_real = ops.mean(ops.softplus(-self._cooccurrence_logits(donors, donors)))
        patch_fake = ops.mean(ops.softplus(self._cooccurrence_logits(swapped, donors)))
        d_loss = d_real + d_fake
        patch_loss = patch_real + patch_fake
        return d_loss + patch_loss, {"d_loss": d_loss, "patch_d_loss": patch_loss}

    def r1_step_loss(self, images, labels=None):
        """Lazy R1 on real images (D) and on real query patches (D_patch,
        with the references fixed), each times the interval."""
        images = ops.cast(images, "float32")
        r1 = r1_penalty(self.discriminator, images)
        references = ops.stop_gradient(self.crops(images, self.patch_crops))
        query = ops.stop_gradient(self.crops(images, 1)[:, 0])
        patch_r1 = r1_penalty(
            lambda q, training=True: self.patch_discriminator([q, references],
                                                              training=training),
            query)
        loss = 0.5 * self.r1_interval * (self.r1_gamma * r1 + self.patch_r1_gamma * patch_r1)
        return loss, {"r1": r1, "patch_r1": patch_r1}

    def generator_step_loss(self, images, labels=None):
        """E and G: L1 reconstruction, the non-saturating GAN loss on the
        reconstruction and the swap (half each), and the co-occurrence
        loss of the swap's patches against its texture donor's."""
        images = ops.cast(images, "float32")
        reconstruction, swapped = self._reconstruct_and_swap(images)
        recon_loss = ops.mean(ops.abs(reconstruction - images))
        g_loss = 0.5 * (ops.mean(ops.softplus(-self.discriminator(reconstruction, training=True)))
                        + ops.mean(ops.softplus(-self.discriminator(swapped, training=True))))
        donors = self.texture_source(images)
        patch_loss = ops.mean(ops.softplus(-self._cooccurrence_logits(swapped, donors)))
        loss = self.lambda_l1 * recon_loss + g_loss + self.lambda_patch * patch_loss
        return loss, {"g_loss": g_loss, "recon_loss": recon_loss, "patch_g_loss": patch_loss}

    def update_steps(self):
        critics = ("discriminator", "patch_discriminator")
        steps = [UpdateStep("discriminator", self.discriminator_step_loss, critics)]
        if self.r1_gamma > 0 or self.patch_r1_gamma > 0:
            steps.append(UpdateStep("r1", self.r1_step_loss, critics, every=self.r1_interval))
        steps.append(UpdateStep("generator", self.generator_step_loss, ("encoder", "generator")))
        return steps

    def default_optimizers(self):
        names = [step.name for step in self.update_steps()]
        return {name: keras.optimizers.Adam(self.learning_rate, beta_1=self.beta_1,
                                            beta_2=self.beta_2, epsilon=1e-8,
                                            name=f"{name}_adam") for name in names}

    # --- Encoding, decoding, swapping ---------------------------------------

    def encode_tensor(self, images):
        """(z_s, z_t) of images in [-1, 1], in `keras.ops`."""
        return self.encoder(ops.cast(images, "float32"), training=False)

    def decode_tensor(self, structure, texture):
        """G(z_s, z_t) in [-1, 1], in `keras.ops`."""
        images = self.sampling_network("generator")([structure, texture], training=False)
        return ops.clip(images, -1.0, 1.0)

    def swap_tensor(self, structure_images, texture_images):
        """G(z_s of the first, z_t of the second), pair by pair."""
        structure, _ = self.encode_tensor(structure_images)
        _, texture = self.encode_tensor(texture_images)
        return self.decode_tensor(structure, texture)

    def _images(self, images, what):
        import numpy as np

        images = np.asarray(images, dtype="float32")
        shape = (self.image_size, self.image_size, self.channels)
        if images.ndim != 4 or images.shape[1:] != shape:
            raise ValueError(f"{type(self).__name__} takes {what} of shape (n,) + {shape}. "
                             f"Received: {what}.shape={images.shape}")
        return images

    def _batched(self, function, *arrays, batch_size=64):
        """`function` over batches of `arrays`, its outputs concatenated as
        float32 numpy (a tuple of them where it returns several)."""
        import numpy as np

        chunks = []
        for i in range(0, len(arrays[0]), batch_size):
            out = function(*[a[i:i + batch_size] for a in arrays])
            chunks.append(tuple(out) if isinstance(out, (tuple, list)) else (out,))
        joined = tuple(np.concatenate([ops.convert_to_numpy(chunk[k]) for chunk in chunks])
                       .astype("float32") for k in range(len(chunks[0])))
        return joined if len(joined) > 1 else joined[0]

    def encode(self, images):
        """`(structure, texture)` codes of images in [-1, 1], float32 numpy:
        `(n,) + structure_shape` and `(n, texture_dim)`.

        Example:

        ```python
        import numpy as np
        model = SwappingAutoencoder(image_size=8, channels=1, structure_downsampling=1,
                                    texture_downsampling=1, texture_dim=4, base_blocks=0,
                                    fmap_base=16, fmap_max=4, patch_size=4, patch_crops=1)
        [c.shape for c in model.encode(np.zeros((2, 8, 8, 1)))]  # [(2, 4, 4, 8), (2, 4)]
        ```
        """
        images = self._images(images, "images")
        return self._batched(self.encode_tensor, images)

    def decode(self, structure, texture):
        """Images in [-1, 1] (float32 numpy) of codes from `encode`: mixing
        the rows of the two arrays is the swap, editing them the paper's
        manipulations (section 4.3)."""
        import numpy as np

        structure = np.asarray(structure, "float32")
        texture = np.asarray(texture, "float32")
        if (structure.shape[1:] != self.structure_shape
                or texture.shape[1:] != (self.texture_dim,)
                or len(structure) != len(texture)):
            raise ValueError(
                f"{type(self).__name__} decodes structure codes (n,) + "
                f"{self.structure_shape} with texture codes (n, {self.texture_dim}). "
                f"Received: structure.shape={structure.shape}, texture.shape={texture.shape}")
        return self._batched(self.decode_tensor, structure, texture)

    def reconstruct(self, images):
        """G(E(x)) of images in [-1, 1], float32 numpy."""
        images = self._images(images, "images")
        return self._batched(lambda x: self.decode_tensor(*self.encode_tensor(x)), images)

    def swap(self, structure_images, texture_images):
        """The structure of each of `structure_images` with the texture of
        the matching one of `texture_images` (the same n, or one texture
        image for all), in [-1, 1], float32 numpy.

        Example:

        ```python
        import numpy as np
        model = SwappingAutoencoder(image_size=8, channels=1, structure_downsampling=1,
                                    texture_downsampling=1, texture_dim=4, base_blocks=0,
                                    fmap_base=16, fmap_max=4, patch_size=4, patch_crops=1)
        model.swap(np.zeros((3, 8, 8, 1)), np.ones((1, 8, 8, 1))).shape  # (3, 8, 8, 1)
        ```
        """
        import numpy as np

        structure_images = self._images(structure_images, "structure_images")
        texture_images = self._images(texture_images, "texture_images")
        if len(texture_images) == 1:
            texture_images = np.repeat(texture_images, len(structure_images), axis=0)
        if len(texture_images) != len(structure_images):
            raise ValueError(
                "Pass one texture image per structure image, or one for all. Received: "
                f"{len(structure_images)} structure and {len(texture_images)} texture images")
        return self._batched(self.swap_tensor, structure_images, texture_images)

    def swap_figure(self, structure_images, texture_images):
        """The swap grid: the texture sources along the top, the structure
        sources down the left, and in each cell the row's structure with
        the column's texture. Returns `(images, nrow)` for
        `kerasgen.utils.images.make_grid` (the corner is blank, -1).

        Example:

        ```python
        import numpy as np
        model = SwappingAutoencoder(image_size=8, channels=1, structure_downsampling=1,
                                    texture_downsampling=1, texture_dim=4, base_blocks=0,
                                    fmap_base=16, fmap_max=4, patch_size=4, patch_crops=1)
        images, nrow = model.swap_figure(np.zeros((2, 8, 8, 1)), np.ones((3, 8, 8, 1)))
        images.shape, nrow  # ((12, 8, 8, 1), 4)
        ```
        """
        import numpy as np

        structures = self._images(structure_images, "structure_images")
        textures = self._images(texture_images, "texture_images")
        structure, _ = self.encode(structures)
        _, texture = self.encode(textures)
        rows = [np.concatenate([np.full_like(textures[:1], -1.0), textures])]
        for i in range(len(structures)):
            cells = self.decode(np.repeat(structure[i:i + 1], len(textures), axis=0), texture)
            rows.append(np.concatenate([structures[i:i + 1], cells]))
        return np.concatenate(rows), len(textures) + 1

    # --- Serving ------------------------------------------------------------

    def serving_endpoints(self):
        shape = (None, self.image_size, self.image_size, self.channels)
        images = Input("images", "float32", shape)
        structure = Input("structure", "float32", (None,) + self.structure_shape)
        texture = Input("texture", "float32", (None, self.texture_dim))

        def encode(images):
            codes = self.encode_tensor(images)
            return {"structure": codes[0], "texture": codes[1]}

        return [
            Endpoint("swap", (Input("structure_images", "float32", shape),
                              Input("texture_images", "float32", shape)),
                     self.swap_tensor,
                     description="the structure of each structure image with the texture "
                                 "of the matching texture image"),
            Endpoint("encode", (images,), encode, images=False,
                     description="structure and texture codes of images"),
            Endpoint("decode", (structure, texture), self.decode_tensor,
                     description="images of structure and texture codes"),
            Endpoint("reconstruct", (images,),
                     lambda images: self.decode_tensor(*self.encode_tensor(images)),
                     description="G(E(x)): the autoencoder's reconstruction"),
        ]

    # --- Config -------------------------------------------------------------

    def call(self, images, training=False):
        return self.decode_tensor(*self.encode_tensor(images))

    def get_config(self):
        config = super().get_config()
        config.update(
            image_size=self.image_size, channels=self.channels,
            structure_downsampling=self.structure_downsampling,
            texture_downsampling=self.texture_downsampling,
            structure_channels=self.structure_channels, texture_dim=self.texture_dim,
            base_blocks=self.base_blocks, fmap_base=self.fmap_base, fmap_max=self.fmap_max,
            patch_size=self.patch_size, patch_min_scale=self.patch_min_scale,
            patch_max_scale=self.patch_max_scale, patch_crops=self.patch_crops,
            lambda_l1=self.lambda_l1, lambda_patch=self.lambda_patch, r1_gamma=self.r1_gamma,
            patch_r1_gamma=self.patch_r1_gamma, r1_interval=self.r1_interval,
            learning_rate=self.learning_rate, beta_1=self.beta_1, beta_2=self.beta_2,
        )
        return config
