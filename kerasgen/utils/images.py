"""Image grids: many samples tiled into one picture, and written as a PNG."""

import math
import os

import numpy as np

from kerasgen.utils.io import atomic_write


def make_grid(images, nrow=None, padding=2, pad_value=128):
    """Tiles a batch of images into one `uint8` picture.

    Args:
        images: array-like of shape `(N, H, W, C)` with `C` 1 or 3 (or
            `(N, H, W)` for grey images). Floats are read as values in
            `[-1, 1]` (what `model.sample()` returns; values outside are
            clipped, NaN becomes black); `uint8` is taken as is.
        nrow: int. Images per row. Defaults to `ceil(sqrt(N))`, a square-ish
            grid.
        padding: int. Pixels between images and around the border.
            Defaults to `2`.
        pad_value: int. The `uint8` value of the padding. Defaults to `128`
            (mid grey, which separates tiles with a black background, such
            as digits, as well as tiles with a white one).

    Returns:
        A `uint8` array of shape `(rows * (H + padding) + padding,
        nrow * (W + padding) + padding, C)`.

    Example:

    ```python
    grid = make_grid(np.zeros((10, 8, 8, 1)), nrow=5)
    grid.shape  # (22, 42, 1)
    ```
    """
    array = np.asarray(images)
    if array.ndim == 3:
        array = array[..., None]
    if array.ndim != 4 or array.shape[-1] not in (1, 3):
        raise ValueError(
            "`images` must have shape (N, H, W, C) with C 1 or 3, or (N, H, W). "
            f"Received: images.shape={array.shape}"
        )
    n, h, w, c = array.shape
    if n == 0:
        raise ValueError(f"`images` is empty. Received: images.shape={array.shape}")
    nrow = int(nrow) if nrow is not None else int(math.ceil(math.sqrt(n)))
    if nrow < 1:
        raise ValueError(f"`nrow` must be at least 1. Received: nrow={nrow}")
    padding = int(padding)
    if padding < 0:
        raise ValueError(f"`padding` must be >= 0. Received: padding={padding}")
    pixels = to_uint8(array)
    ncol = min(nrow, n)
    rows = int(math.ceil(n / ncol))
    grid = np.full(
        (rows * (h + padding) + padding, ncol * (w + padding) + padding, c),
        pad_value,
        dtype=np.uint8,
    )
    for index in range(n):
        row, col = divmod(index, ncol)
        top = padding + row * (h + padding)
        left = padding + col * (w + padding)
        grid[top : top + h, left : left + w] = pixels[index]
    return grid


def save_grid(images, path, nrow=None, padding=2):
    """Writes `make_grid(images)` as a PNG file, atomically.

    The picture is written to a temporary file in the same folder and moved
    over `path` once complete, so a reader (or a killed run) never sees a
    half-written PNG. Missing parent folders are created.

    Args:
        images: array-like `(N, H, W, C)`, floats in `[-1, 1]`. See
            `make_grid`.
        path: str or `os.PathLike`. Where to write the PNG.
        nrow: int. Images per row. Defaults to a square-ish grid.
        padding: int. Pixels between images. Defaults to `2`.

    Returns:
        `path`, as a string.
    """
    return save_png(make_grid(images, nrow=nrow, padding=padding), path)


def save_png(pixels, path):
    """Writes one uint8 picture `(H, W, C)` (C 1 or 3) as a PNG file,
    atomically (see `save_grid`).

    Returns:
        `path`, as a string.

    Example:

    ```python
    import os, tempfile
    import numpy as np
    path = os.path.join(tempfile.mkdtemp(), "black.png")
    os.path.basename(save_png(np.zeros((4, 4, 3), "uint8"), path))  # 'black.png'
    ```
    """
    from PIL import Image

    picture = Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels)
    path = os.fspath(path)
    with atomic_write(path) as tmp:
        picture.save(tmp, format="PNG")
    return path


def to_uint8(images):
    """Maps floats in `[-1, 1]` to `uint8` `0..255`; `uint8` passes through."""
    array = np.asarray(images)
    if array.dtype == np.uint8:
        return array
    if array.dtype == np.bool_ or not np.issubdtype(array.dtype, np.number):
        raise TypeError(
            "`images` must be numeric: floats in [-1, 1] or uint8. "
            f"Received: dtype={array.dtype}"
        )
    array = np.nan_to_num(array.astype(np.float32), nan=-1.0, posinf=1.0, neginf=-1.0)
    array = (np.clip(array, -1.0, 1.0) + 1.0) * 127.5
    return np.round(array).astype(np.uint8)
