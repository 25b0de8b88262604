"""Image-to-image networks of CycleGAN and pix2pix.

- `build_resnet_generator`: the CycleGAN generator (Johnson et al. 2016's
  transformation network as Zhu et al. 2017, appendix 7.2, use it).
- `build_unet_generator`: the pix2pix U-Net (Isola et al. 2017, section
  3.2.1 and appendix 6.1.1).
- `build_patch_discriminator`: the 70x70 PatchGAN of both papers, which
  scores every overlapping 70x70 patch as real or fake.

Layer for layer they follow the authors' PyTorch code
(junyanz/pytorch-CycleGAN-and-pix2pix, `networks.py`): 4x4 convolutions in
the PatchGAN and the U-Net, 7x7 and 3x3 in the ResNet generator, N(0, 0.02)
initial weights, LeakyReLU(0.2) in discriminators and U-Net encoders.
One deviation: a convolution followed by instance normalization has no bias
(the normalization subtracts the mean, so the bias could never learn).

Stride-2 layers of the ResNet generator pad as PyTorch does
(`strided_padding="symmetric"`): one zero row and column on each side
before a stride-2 convolution, and the transposed convolution that is its
adjoint (PyTorch's `padding=1, output_padding=1`: the full output with its
first row and column dropped). Keras's `padding="same"` pads only the
bottom and right of an even-sized input, so every downsampling samples a
pixel further down and right; `"same"` is kept for models trained with it.
"""

import keras
from keras import layers

from kerasgen.layers.conv_stacks import dcgan_initializer
from kerasgen.layers.normalization_padding import ReflectionPadding2D
from kerasgen.layers.normalization_padding import instance_normalization


def _conv(filters, kernel_size, strides=1, padding="valid", use_bias=False, name=None):
    return layers.Conv2D(
        filters, kernel_size, strides=strides, padding=padding, use_bias=use_bias,
        kernel_initializer=dcgan_initializer(), name=name,
    )


def _residual_block(x, filters, name):
    """`x + [pad, conv3x3, norm, relu, pad, conv3x3, norm](x)`."""
    y = ReflectionPadding2D(1)(x)
    y = _conv(filters, 3, name=f"{name}_conv_1")(y)
    y = instance_normalization(f"{name}_norm_1")(y)
    y = layers.ReLU()(y)
    y = ReflectionPadding2D(1)(y)
    y = _conv(filters, 3, name=f"{name}_conv_2")(y)
    y = instance_normalization(f"{name}_norm_2")(y)
    return layers.Add(name=f"{name}_add")([x, y])


STRIDED_PADDINGS = ("symmetric", "same")


def _downsample(x, filters, strided_padding, name):
    """A stride-2 3x3 convolution that halves an even size."""
    if strided_padding == "same":
        return _conv(filters, 3, strides=2, padding="same", name=name)(x)
    x = layers.ZeroPadding2D(1, name=f"{name}_pad")(x)
    return _conv(filters, 3, strides=2, name=name)(x)


def _upsample(x, filters, strided_padding, name):
    """The stride-2 3x3 transposed convolution that doubles a size: the
    adjoint of `_downsample` with the same `strided_padding`."""
    padding = "same" if strided_padding == "same" else "valid"
    x = layers.Conv2DTranspose(
        filters, 3, strides=2, padding=padding, use_bias=False,
        kernel_initializer=dcgan_initializer(), name=name,
    )(x)
    if strided_padding == "same":
        return x
    # (2n + 1) -> 2n: drop the first row and column, as PyTorch's
    # ConvTranspose2d(padding=1, output_padding=1) does.
    return layers.Cropping2D(((1, 0), (1, 0)), name=f"{name}_crop")(x)


def build_resnet_generator(
    image_size, channels=3, filters=64, num_residual_blocks=9, name="generator",
    strided_padding="symmetric",
):
    """The CycleGAN generator: downsample twice, residual blocks, upsample.

    `c7s1-64, d128, d256, R256 x num_residual_blocks, u128, u64, c7s1-3`
    (Zhu et al. 2017, appendix 7.2, with `filters=64`): a reflection-padded
    7x7 convolution, two stride-2 3x3 convolutions, residual blocks, two
    stride-2 3x3 transposed convolutions and a 7x7 convolution to `tanh`,
    with instance normalization and ReLU after every hidden convolution.
    The paper uses 6 blocks at 128x128 and 9 at 256x256.

    Args:
        image_size: int. Height and width, a multiple of 4.
        channels: int. Input and output channels. Defaults to 3.
        filters: int. Width of the first stage (64 in the paper).
        num_residual_blocks: int. Defaults to 9.
        name: str. Defaults to `"generator"`.
        strided_padding: `"symmetric"` (zero padding 1 on every side, as
            the authors' PyTorch code) or `"same"` (Keras's, which pads
            only the bottom and right). Defaults to `"symmetric"`.

    Returns:
        A functional `keras.Model` from `(image_size, image_size, channels)`
        to the same shape, in [-1, 1], float32.

    Example:

    ```python
    g = build_resnet_generator(16, filters=4, num_residual_blocks=1)
    g.output_shape  # (None, 16, 16, 3)
    ```
    """
    if image_size % 4:
        raise ValueError(
            "The ResNet generator downsamples twice: `image_size` must be a "
            f"multiple of 4. Received: image_size={image_size}"
        )
    if strided_padding not in STRIDED_PADDINGS:
        raise ValueError(
            f"`strided_padding` must be one of {STRIDED_PADDINGS}. "
            f"Received: strided_padding={strided_padding!r}"
        )
    inputs = keras.Input((image_size, image_size, channels), name="image")
    x = ReflectionPadding2D(3)(inputs)
    x = _conv(filters, 7, name="c7s1")(x)
    x = instance_normalization("c7s1_norm")(x)
    x = layers.ReLU()(x)
    width = filters
    for i in range(2):
        width *= 2
        x = _downsample(x, width, strided_padding, name=f"down_{i}")
        x = instance_normalization(f"down_{i}_norm")(x)
        x = layers.ReLU()(x)
    for i in range(num_residual_blocks):
        x = _residual_block(x, width, name=f"residual_{i}")
    for i in range(2):
        width //= 2
        x = _upsample(x, width, strided_padding, name=f"up_{i}")
        x = instance_normalization(f"up_{i}_norm")(x)
        x = layers.ReLU()(x)
    x = ReflectionPadding2D(3)(x)
    x = _conv(channels, 7, use_bias=True, name="to_image")(x)
    outputs = layers.Activation("tanh", dtype="float32", name="output")(x)
    return keras.Model(inputs, outputs, name=name)


def unet_depth(image_size):
    """Number of stride-2 stages of the U-Net: down to a 1x1 bottleneck.

    Example:

    ```python
    unet_depth(256)  # 8, as in pix2pix
    ```
    """
    depth = int(image_size).bit_length() - 1
    if image_size < 8 or 2 ** depth != image_size:
        raise ValueError(
            "The U-Net halves the image down to 1x1: `image_size` must be a "
            f"power of 2, at least 8. Received: image_size={image_size}"
        )
    return depth


def build_unet_generator(
    image_size, channels=3, output_channels=None, filters=64, dropout=0.5,
    name="generator",
):
    """The pix2pix U-Net: an encoder-decoder with skip connections.

    Encoder `C64-C128-C256-C512-C512-...` down to 1x1 (stride-2 4x4
    convolutions, LeakyReLU(0.2), no normalization on the first and the
    innermost), decoder mirroring it with stride-2 4x4 transposed
    convolutions and ReLU, each decoder stage concatenated with the encoder
    stage of the same size (Isola et al. 2017, appendix 6.1.1). Dropout
    (the only noise: pix2pix takes no z) follows the first three decoder
    stages from the bottleneck, as the paper's `CD512-CD512-CD512-C512...`
    and the authors' original Torch code have it (their PyTorch port puts
    the three one level further out).

    Args:
        image_size: int. A power of 2, at least 8.
        channels: int. Input channels. Defaults to 3.
        output_channels: int or None. Defaults to `channels`.
        filters: int. Width of the first encoder stage (64 in the paper);
            widths double up to 8x.
        dropout: float. Dropout rate in the decoder. Defaults to 0.5.
        name: str. Defaults to `"generator"`.

    Returns:
        A functional `keras.Model`, image to image in [-1, 1], float32.

    Example:

    ```python
    g = build_unet_generator(16, filters=4)
    g.output_shape  # (None, 16, 16, 3)
    ```
    """
    depth = unet_depth(image_size)
    output_channels = output_channels or channels
    widths = [filters * min(2 ** i, 8) for i in range(depth)]
    inputs = keras.Input((image_size, image_size, channels), name="image")

    # Encoder: x -> skips[0] (H/2) -> ... -> skips[-1] (1x1).
    skips = []
    x = inputs
    for i, width in enumerate(widths):
        if i > 0:
            x = layers.LeakyReLU(0.2)(x)
        innermost = i == depth - 1
        x = _conv(width, 4, strides=2, padding="same",
                  use_bias=i == 0 or innermost, name=f"down_{i}")(x)
        if 0 < i < depth - 1:
            x = instance_normalization(f"down_{i}_norm")(x)
        skips.append(x)

    # Decoder: from the bottleneck up, concatenating the mirror stage.
    dropout_stages = {depth - 2, depth - 3, depth - 4}
    for i in reversed(range(depth - 1)):
        x = layers.ReLU()(x)
        x = layers.Conv2DTranspose(
            widths[i], 4, strides=2, padding="same", use_bias=False,
            kernel_initializer=dcgan_initializer(), name=f"up_{i}",
        )(x)
        x = instance_normalization(f"up_{i}_norm")(x)
        if dropout and i in dropout_stages and depth > 4:
            x = layers.Dropout(dropout, name=f"up_{i}_dropout")(x)
        x = layers.Concatenate(name=f"skip_{i}")([x, skips[i]])
    x = layers.ReLU()(x)
    x = layers.Conv2DTranspose(
        output_channels, 4, strides=2, padding="same",
        kernel_initializer=dcgan_initializer(), name="to_image",
    )(x)
    outputs = layers.Activation("tanh", dtype="float32", name="output")(x)
    return keras.Model(inputs, outputs, name=name)


def build_patch_discriminator(
    image_size, channels=3, filters=64, num_layers=3, condition_channels=0,
    name="discriminator",
):
    """The PatchGAN discriminator: one logit per overlapping image patch.

    `C64-C128-C256-C512` then a 1-channel convolution (4x4 kernels, stride 2
    for the first `num_layers`, stride 1 for the last two, zero padding 1,
    instance normalization on all but the first, LeakyReLU(0.2)). With
    `num_layers=3` each output sees a 70x70 patch; on 256x256 images the
    output is 30x30. With `condition_channels > 0` it takes `[condition,
    image]` and judges the pair (pix2pix's conditional discriminator).

    Args:
        image_size: int. Height and width of the images.
        channels: int. Channels of the judged image. Defaults to 3.
        filters: int. Width of the first layer. Defaults to 64.
        num_layers: int. Stride-2 layers (3 gives 70x70 patches).
        condition_channels: int. Channels of the conditioning image; 0 for
            an unconditional discriminator. Defaults to 0.
        name: str. Defaults to `"discriminator"`.

    Returns:
        A functional `keras.Model` to `(N, h, w, 1)` logits, float32.

    Example:

    ```python
    d = build_patch_discriminator(256, filters=4)
    d.output_shape  # (None, 30, 30, 1)
    ```
    """
    if image_size // 2 ** num_layers < 3:
        raise ValueError(
            f"{num_layers} stride-2 layers leave no patch of a {image_size}x"
            f"{image_size} image; use at most "
            f"{max(0, (image_size // 3).bit_length() - 1)} (or larger images). "
            f"Received: num_layers={num_layers}"
        )
    image = keras.Input((image_size, image_size, channels), name="image")
    if condition_channels:
        condition = keras.Input((image_size, image_size, condition_channels),
                                name="condition")
        inputs = [condition, image]
        x = layers.Concatenate()([condition, image])
    else:
        inputs = image
        x = image
    for i in range(num_layers + 1):
        stride = 2 if i < num_layers else 1
        x = layers.ZeroPadding2D(1)(x)
        x = _conv(filters * min(2 ** i, 8), 4, strides=stride, use_bias=i == 0,
                  name=f"conv_{i}")(x)
        if i > 0:
            x = instance_normalization(f"conv_{i}_norm")(x)
        x = layers.LeakyReLU(0.2)(x)
    x = layers.ZeroPadding2D(1)(x)
    x = _conv(1, 4, use_bias=True, name="patch_logits")(x)
    outputs = layers.Activation("linear", dtype="float32", name="output")(x)
    return keras.Model(inputs, outputs, name=name)
