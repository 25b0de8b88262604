"""Random jitter and mirroring, the augmentation of pix2pix and CycleGAN.

"Random jitter was applied by resizing the 256x256 input images to 286x286
and then randomly cropping back to size 256x256" (Isola et al. 2017,
appendix 6.2), and images are mirrored left-right at random. It runs inside
the train step in `keras.ops`, so one implementation serves both backends
and runs on the accelerator.
"""

import keras
from keras import ops
from kerasgen.training.replicas import per_example


def jitter_size(image_size):
    """The size images are resized to before the random crop: 286/256 of
    `image_size` (30 pixels more at 256), rounded to an even number.

    Example:

    ```python
    jitter_size(256), jitter_size(128)  # (286, 143)
    ```
    """
    return int(round(image_size * 286 / 256))


def random_jitter(images, seed_generator, load_size=None, flip=True):
    """Resizes up to `load_size`, crops back at a random place per image and
    mirrors each image left-right with probability 1/2.

    To jitter aligned pairs identically (pix2pix), concatenate them along
    the channels first and split the result.

    Args:
        images: tensor `(N, H, W, C)`, H = W.
        seed_generator: a `keras.random.SeedGenerator`.
        load_size: int. Size before cropping. Defaults to
            `jitter_size(H)`; `H` turns the resize and crop off.
        flip: bool. Whether to mirror at random. Defaults to True.

    Returns:
        A tensor of the same shape as `images`.

    Example:

    ```python
    import numpy as np
    import keras
    images = np.random.uniform(-1, 1, (2, 16, 16, 3)).astype("float32")
    out = random_jitter(images, keras.random.SeedGenerator(0))
    tuple(out.shape)  # (2, 16, 16, 3)
    ```
    """
    batch_size, size, width, channels = ops.shape(images)
    load_size = int(load_size or jitter_size(size))
    if load_size > size:
        resized = ops.image.resize(
            images, (load_size, load_size), interpolation="bicubic",
            antialias=False,
        )
        resized = ops.clip(resized, -1.0, 1.0)  # bicubic overshoots
        # Crop offsets per image, gathered as rows then columns.
        offsets = per_example(keras.random.randint,
            (batch_size, 2), 0, load_size - size + 1, seed=seed_generator
        )
        span = ops.arange(size)
        rows = offsets[:, 0:1] + span[None, :]  # (N, size)
        cols = offsets[:, 1:2] + span[None, :]
        rows = ops.broadcast_to(rows[:, :, None, None], (batch_size, size, load_size, channels))
        images = ops.take_along_axis(resized, rows, axis=1)
        cols = ops.broadcast_to(cols[:, None, :, None], (batch_size, size, size, channels))
        images = ops.take_along_axis(images, cols, axis=2)
    if flip:
        coins = per_example(keras.random.uniform, (batch_size, 1, 1, 1), seed=seed_generator)
        images = ops.where(coins < 0.5, ops.flip(images, axis=2), images)
    return images
