"""Strided-convolution stacks: the DCGAN shape, shared by several families.

A decoder maps a vector to an image by a dense projection to a small
feature map followed by stride-2 transposed convolutions, each doubling the
resolution and halving the width; an encoder mirrors it with stride-2
convolutions. The DCGAN generator and discriminator (Radford et al. 2015)
and the VAE's decoder and encoder are these stacks with different
normalization and heads.
"""

import keras
from keras import layers

def dcgan_initializer():
    """N(0, 0.02), the DCGAN weight initialization (Radford et al. 2015,
    section 4: "All weights were initialized from a zero-centered Normal
    distribution with standard deviation 0.02").

    A new instance per layer: a Keras initializer built without a seed draws
    one from Python's `random` when it is built, so one shared module-level
    instance would give every same-shaped layer the same weights, and a seed
    fixed at import, before `keras.utils.set_random_seed` could act.
    """
    return keras.initializers.RandomNormal(stddev=0.02)


def resolution_plan(image_size):
    """Base resolution and number of stride-2 stages for an image size.

    The size is halved while it stays even and at least 8, so 64 becomes
    4 after 4 stages, 32 becomes 4 after 3 and 28 becomes 7 after 2.

    Args:
        image_size: int. Height (= width) of the images.

    Returns:
        `(base_size, num_stages)`.

    Example:

    ```python
    resolution_plan(28)  # (7, 2)
    resolution_plan(64)  # (4, 4)
    ```
    """
    if not isinstance(image_size, int) or image_size < 4:
        raise ValueError(
            f"`image_size` must be an int of at least 4. Received: image_size={image_size!r}"
        )
    size, stages = image_size, 0
    while size % 2 == 0 and size >= 8:
        size //= 2
        stages += 1
    if stages == 0:
        raise ValueError(
            "`image_size` must be divisible by 2 at least once (e.g. 8, 16, "
            f"28, 32, 64). Received: image_size={image_size}"
        )
    return size, stages


def _norm(kind, name):
    if kind == "batch":
        return layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name=name)
    if kind is None:
        return None
    raise ValueError(f"Unknown normalization {kind!r}; expected 'batch' or None.")


def build_conv_decoder(
    input_dim,
    image_size,
    channels,
    filters=64,
    norm="batch",
    activation="relu",
    output_activation="tanh",
    name="decoder",
):
    """Builds a vector-to-image stack of stride-2 transposed convolutions.

    `Dense -> reshape to (base, base, filters * 2**(stages - 1))`, then one
    `Conv2DTranspose(4, stride 2)` per stage, halving the width each time;
    the last stage outputs `channels` maps with `output_activation`. With
    `norm="batch"` and `tanh` this is the DCGAN generator.

    Args:
        input_dim: int. Length of the input vector.
        image_size: int. Output height and width.
        channels: int. Output channels.
        filters: int. Width of the last hidden stage. Defaults to 64.
        norm: `"batch"` or None. Normalization after each hidden layer.
            Defaults to `"batch"`.
        activation: str. Hidden activation. Defaults to `"relu"`.
        output_activation: str or None. Defaults to `"tanh"`; None gives
            logits.
        name: str. Defaults to `"decoder"`.

    Returns:
        A functional `keras.Model` from `(input_dim,)` to
        `(image_size, image_size, channels)`, output in float32.

    Example:

    ```python
    g = build_conv_decoder(100, 28, 1)
    g.output_shape  # (None, 28, 28, 1)
    ```
    """
    base, stages = resolution_plan(image_size)
    width = filters * 2 ** (stages - 1)
    inputs = keras.Input((input_dim,), name="z")
    x = layers.Dense(base * base * width, use_bias=norm is None,
                     kernel_initializer=dcgan_initializer(), name="project")(inputs)
    x = layers.Reshape((base, base, width))(x)
    for stage in range(stages - 1):
        normalization = _norm(norm, f"norm_{stage}")
        if normalization is not None:
            x = normalization(x)
        x = layers.Activation(activation)(x)
        width //= 2
        x = layers.Conv2DTranspose(
            width, 4, strides=2, padding="same", use_bias=norm is None,
            kernel_initializer=dcgan_initializer(), name=f"up_{stage}",
        )(x)
    normalization = _norm(norm, f"norm_{stages - 1}")
    if normalization is not None:
        x = normalization(x)
    x = layers.Activation(activation)(x)
    x = layers.Conv2DTranspose(
        channels, 4, strides=2, padding="same", kernel_initializer=dcgan_initializer(),
        name="to_image",
    )(x)
    # Outputs in float32 under mixed precision: losses and images need it.
    outputs = layers.Activation(output_activation or "linear", dtype="float32",
                                name="output")(x)
    return keras.Model(inputs, outputs, name=name)


def build_conv_encoder(
    image_size,
    channels,
    output_dim,
    filters=64,
    norm="batch",
    negative_slope=0.2,
    name="encoder",
):
    """Builds an image-to-vector stack of stride-2 convolutions.

    One `Conv2D(4, stride 2)` per stage, doubling the width each time
    (normalized after every stage but the first, as in DCGAN), LeakyReLU,
    then a dense head with `output_dim` linear outputs. With `norm="batch"`
    and `output_dim=1` this is the DCGAN discriminator.

    Args:
        image_size: int. Input height and width.
        channels: int. Input channels.
        output_dim: int. Size of the linear output.
        filters: int. Width of the first stage. Defaults to 64.
        norm: `"batch"` or None. Defaults to `"batch"`.
        negative_slope: float. LeakyReLU slope. Defaults to 0.2.
        name: str. Defaults to `"encoder"`.

    Returns:
        A functional `keras.Model` from `(image_size, image_size, channels)`
        to `(output_dim,)`, output in float32.

    Example:

    ```python
    d = build_conv_encoder(28, 1, output_dim=1)
    d.output_shape  # (None, 1)
    ```
    """
    _, stages = resolution_plan(image_size)
    inputs = keras.Input((image_size, image_size, channels), name="image")
    x = inputs
    width = filters
    for stage in range(stages):
        x = layers.Conv2D(
            width, 4, strides=2, padding="same",
            use_bias=norm is None or stage == 0,
            kernel_initializer=dcgan_initializer(), name=f"down_{stage}",
        )(x)
        if stage > 0:
            normalization = _norm(norm, f"norm_{stage}")
            if normalization is not None:
                x = normalization(x)
        x = layers.LeakyReLU(negative_slope)(x)
        width *= 2
    x = layers.Flatten()(x)
    outputs = layers.Dense(output_dim, kernel_initializer=dcgan_initializer(),
                           dtype="float32", name="head")(x)
    return keras.Model(inputs, outputs, name=name)
