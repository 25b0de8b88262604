"""Sliced Wasserstein distance of Laplacian-pyramid patches (Karras et al.
2018, section 5 and appendix D): the Progressive GAN paper's own measure,
which needs no trained network (so it works where no feature extractor
exists for the data, as for faces here).

Each image is split into a Laplacian pyramid down to 16x16; from every
level, `patches_per_image` random 7x7 neighbourhoods are taken as
descriptors, normalized per colour channel (each set by its own mean and
standard deviation), and the two sets' distributions are compared by the
sliced Wasserstein distance: the mean absolute difference of their sorted
projections on random unit directions (`directions` of them, in
`repeats` draws). Values are reported x 1e3, per level and averaged, as in
the paper's tables 1 and 3.

Follows the authors' metrics/sliced_wasserstein.py (binomial 5x5 filter,
mirror borders, 128 patches per image, 4 x 128 directions); the paper uses
16,384 images per set, and, as with FID, fewer images read higher.

Reference: Karras et al. 2018, https://arxiv.org/abs/1710.10196
"""

import numpy as np

#: The binomial filter of the pyramid (outer product of [1, 4, 6, 4, 1] / 16).
_BINOMIAL = np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1]).astype("float32") / 256.0


def _blur(images):
    """5x5 binomial blur of `(n, H, W, C)` with mirrored borders."""
    from scipy import ndimage

    return ndimage.convolve(images, _BINOMIAL[None, :, :, None], mode="mirror")


def pyramid_resolutions(size, smallest=16):
    """The pyramid's levels: `size`, halved while at least `smallest`.

    Example:

    ```python
    pyramid_resolutions(64), pyramid_resolutions(28)  # ([64, 32, 16], [28])
    ```
    """
    levels = []
    while size >= smallest:
        levels.append(int(size))
        size //= 2
    return levels


def laplacian_pyramid(images, levels):
    """`levels` bands of float images `(n, H, W, C)`, finest first; the last
    is the blurred, subsampled image itself.

    Example:

    ```python
    x = np.random.default_rng(0).random((2, 32, 32, 3)).astype("float32")
    [band.shape[1] for band in laplacian_pyramid(x, 2)]  # [32, 16]
    ```
    """
    bands = [np.asarray(images, "float32")]
    for _ in range(1, levels):
        down = _blur(bands[-1])[:, ::2, ::2]
        up = np.zeros_like(bands[-1])
        up[:, ::2, ::2] = down
        bands[-1] = bands[-1] - _blur(up) * 4.0
        bands.append(down)
    return bands


def patch_descriptors(band, patches_per_image, patch_size, rng):
    """`patches_per_image` random `patch_size`-square neighbourhoods of every
    image of `band`, flattened: `(n * patches_per_image, patch_size**2 * C)`."""
    n, height, width, channels = band.shape
    half = patch_size // 2
    ys = rng.integers(half, height - half, size=(n, patches_per_image))
    xs = rng.integers(half, width - half, size=(n, patches_per_image))
    offsets = np.arange(-half, half + 1)
    rows = ys[..., None, None] + offsets[:, None]
    cols = xs[..., None, None] + offsets[None, :]
    images = np.arange(n)[:, None, None, None]
    patches = band[images, rows, cols]  # (n, k, p, p, C)
    return patches.reshape(n * patches_per_image, patch_size, patch_size, channels)


def _normalized(descriptors):
    mean = descriptors.mean(axis=(0, 1, 2), keepdims=True)
    std = descriptors.std(axis=(0, 1, 2), keepdims=True)
    return ((descriptors - mean) / np.maximum(std, 1e-8)).reshape(len(descriptors), -1)


def sliced_wasserstein(a, b, directions=128, repeats=4, rng=None):
    """The sliced Wasserstein distance between two equally large sets of
    vectors: the mean over random unit directions of the mean absolute
    difference of the sorted projections.

    Example:

    ```python
    a = np.random.default_rng(0).normal(size=(1000, 3)).astype("float32")
    sliced_wasserstein(a, a[::-1])  # 0.0: the same set, in another order
    ```
    """
    rng = rng or np.random.default_rng(0)
    if len(a) != len(b):
        raise ValueError(f"The two sets must be the same size. Received: {len(a)} and {len(b)}")
    distances = []
    for _ in range(int(repeats)):
        unit = rng.normal(size=(a.shape[1], int(directions))).astype("float32")
        unit /= np.sqrt(np.sum(np.square(unit), axis=0, keepdims=True))
        projected_a = np.sort(a @ unit, axis=0)
        projected_b = np.sort(b @ unit, axis=0)
        distances.append(np.mean(np.abs(projected_a - projected_b)))
    return float(np.mean(distances))


def multiscale_swd(real, fake, patches_per_image=128, patch_size=7, directions=128,
                   repeats=4, seed=0):
    """Progressive GAN's SWD between two image sets of the same shape.

    Args:
        real, fake: arrays `(n, H, W, C)` (uint8 or float; the descriptors
            are normalized, so the range does not matter), the same `n`.
        patches_per_image: int. Neighbourhoods per image and level.
            Defaults to 128.
        patch_size: int. Their side (odd). Defaults to 7.
        directions, repeats: ints. Random directions per draw, and draws.
            Defaults to 128 and 4.
        seed: int. Patches and directions. Defaults to 0.

    Returns:
        A dict: `levels` (the resolutions, finest first), `per_level` (SWD x
        1e3 at each) and `mean` (their mean, the paper's "avg").

    Example:

    ```python
    rng = np.random.default_rng(0)
    noise = rng.random((64, 32, 32, 1)).astype("float32")
    more_noise = rng.random((64, 32, 32, 1)).astype("float32")
    ramps = np.sort(noise.reshape(64, -1), axis=1).reshape(noise.shape)
    same, other = multiscale_swd(noise, more_noise), multiscale_swd(noise, ramps)
    same["levels"], same["mean"] < other["mean"] / 10  # ([32, 16], True)
    ```
    """
    real, fake = np.asarray(real, "float32"), np.asarray(fake, "float32")
    if real.shape != fake.shape or real.ndim != 4:
        raise ValueError("SWD compares two image sets of the same shape (n, H, W, C). "
                         f"Received: {real.shape} and {fake.shape}")
    if patch_size % 2 == 0 or patch_size < 1:
        raise ValueError(f"`patch_size` must be an odd int >= 1. Received: {patch_size}")
    levels = pyramid_resolutions(min(real.shape[1:3]))
    if not levels:
        raise ValueError("SWD needs images of at least 16x16 (its coarsest level). "
                         f"Received: {real.shape[1]}x{real.shape[2]}")
    rng = np.random.default_rng(seed)
    per_level = []
    for real_band, fake_band in zip(laplacian_pyramid(real, len(levels)),
                                    laplacian_pyramid(fake, len(levels))):
        a = _normalized(patch_descriptors(real_band, patches_per_image, patch_size, rng))
        b = _normalized(patch_descriptors(fake_band, patches_per_image, patch_size, rng))
        per_level.append(1e3 * sliced_wasserstein(a, b, directions, repeats, rng))
    return {"levels": levels, "per_level": per_level, "mean": float(np.mean(per_level))}
