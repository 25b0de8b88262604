"""Image grids: many samples tiled into one picture, enlarged to be seen,
and written as a PNG (`save_png`, the one writer of every PNG kerasgen
makes)."""

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
    grid.shape  # (22, 52, 1): 2 rows and 5 columns of 8 + 2 pixels, + 2
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


def save_grid(images, path, nrow=None, padding=2, min_size=None):
    """Writes `make_grid(images)` as a PNG file, atomically (upscaled to
    `min_size` when given).

    The picture is written to a temporary file in the same folder and moved
    over `path` once complete, so a reader (or a killed run) never sees a
    half-written PNG. Missing parent folders are created.

    Args:
        images: array-like `(N, H, W, C)`, floats in `[-1, 1]`. See
            `make_grid`.
        path: str or `os.PathLike`. Where to write the PNG.
        nrow: int. Images per row. Defaults to a square-ish grid.
        padding: int. Pixels between images. Defaults to `2`.
        min_size: int or None. Enlarge the grid (see `upscale`) until its
            long side is at least this. Defaults to None: as tiled.

    Returns:
        `path`, as a string.
    """
    grid = make_grid(images, nrow=nrow, padding=padding)
    if min_size:
        grid = upscale(grid, min_size)
    return save_png(grid, path)


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


#: The long side, in pixels, that `upscale` enlarges a picture to at least:
#: a grid of 8x8 digits is otherwise a few dots on a screen.
VIEW_SIZE = 512
# The caption band: white, black text of Pillow's built-in bitmap font
# (embedded in Pillow, so no font file or download is needed).
_CAPTION_BACKGROUND = 255
_CAPTION_INK = 0
_CAPTION_MARGIN = 3


def scale_factor(height, width, min_size=VIEW_SIZE):
    """The smallest integer factor that makes the long side of a
    `height x width` picture at least `min_size` pixels (1 if it is already).

    Example:

    ```python
    scale_factor(22, 52)  # 10
    ```
    """
    long_side = max(int(height), int(width), 1)
    return max(1, math.ceil(int(min_size) / long_side))


def upscale(pixels, min_size=VIEW_SIZE, factor=None):
    """Enlarges a `uint8` picture `(H, W, C)` by an integer factor with
    nearest-neighbour sampling (every pixel becomes a square block, so
    nothing is blurred): `factor`, else the smallest that makes the long
    side at least `min_size`.

    Example:

    ```python
    upscale(np.zeros((22, 52, 1), "uint8")).shape  # (220, 520, 1)
    ```
    """
    pixels = np.asarray(pixels)
    if factor is None:
        factor = scale_factor(pixels.shape[0], pixels.shape[1], min_size)
    factor = int(factor)
    if factor < 1:
        raise ValueError(f"`factor` must be at least 1. Received: factor={factor}")
    if factor == 1:
        return pixels
    return np.repeat(np.repeat(pixels, factor, axis=0), factor, axis=1)


def make_strips(rows, groups=None, *, padding=2, pad_value=128, min_size=VIEW_SIZE):
    """Tiles translation rows (e.g. `[a, G(a), F(G(a))]` per input) into one
    `uint8` picture, upscaled like `upscale`, with a caption band above each
    group of rows: its title, then each column's name over the column.

    Args:
        rows: array-like `(N, cols, H, W, C)`, floats in `[-1, 1]` (or
            `uint8`): one row of `cols` images per input.
        groups: sequence of `(count, title, column_names)`: consecutive
            groups of `count` rows, captioned `title` and `column_names`
            (a sequence of `cols` str). Defaults to None: one group, no
            caption.
        padding: int. Pixels between images, before upscaling. Defaults to 2.
        pad_value: int. The `uint8` value of the padding. Defaults to 128.
        min_size: int. The long side to upscale to at least. Defaults to
            `VIEW_SIZE` (512).

    Returns:
        A `uint8` array `(height, width, C)`.

    Example:

    ```python
    rows = np.zeros((2, 3, 8, 8, 3), "float32")
    strip = make_strips(rows, [(2, "A -> B -> A", ("a", "G(a)", "F(G(a))"))])
    strip.shape[1]  # 512: (3 x (8 + 2) + 2) x 16
    ```
    """
    rows = np.asarray(rows)
    if rows.ndim != 5:
        raise ValueError(
            "`rows` must have shape (N, cols, H, W, C). "
            f"Received: rows.shape={rows.shape}"
        )
    n, cols = rows.shape[:2]
    if groups is None:
        groups = [(n, None, None)]
    if sum(int(count) for count, _, _ in groups) != n:
        raise ValueError(
            f"`groups` must cover the {n} rows. Received: counts "
            f"{[count for count, _, _ in groups]}"
        )
    grids, start = [], 0
    for count, title, columns in groups:
        count = int(count)
        if count:
            block = rows[start:start + count].reshape((-1,) + rows.shape[2:])
            grids.append((make_grid(block, nrow=cols, padding=padding,
                                    pad_value=pad_value), title, columns))
        start += count
    height = sum(grid.shape[0] for grid, _, _ in grids)
    factor = scale_factor(height, grids[0][0].shape[1], min_size)
    tile = rows.shape[3] * factor
    parts = []
    for grid, title, columns in grids:
        grid = upscale(grid, factor=factor)
        if title is not None or columns:
            centers = [
                (padding + j * (rows.shape[3] + padding)) * factor + tile // 2
                for j in range(cols)
            ]
            parts.append(_caption_band(grid.shape[1], grid.shape[2], title,
                                       list(columns or ()), centers, tile))
        parts.append(grid)
    return np.concatenate(parts, axis=0)


def _caption_band(width, channels, title, columns, centers, column_width):
    """A white band `(h, width, channels)` with `title` on its first line and
    each column name centred at `centers` on the second; when a name is
    wider than its column, both go on one line, `title: a | b | c`."""
    from PIL import Image
    from PIL import ImageDraw
    from PIL import ImageFont

    font = ImageFont.load_default_imagefont()
    line = font.getbbox("Ag")[3]
    widths = [font.getbbox(name)[2] for name in columns]
    fits = all(w <= column_width for w in widths)
    if fits and title:
        lines = 2
    else:
        lines = 1
    height = lines * line + (lines + 1) * _CAPTION_MARGIN
    picture = Image.new("L", (int(width), height), _CAPTION_BACKGROUND)
    draw = ImageDraw.Draw(picture)
    if fits:
        top = _CAPTION_MARGIN
        if title:
            draw.text((_CAPTION_MARGIN, top), title, fill=_CAPTION_INK, font=font)
            top += line + _CAPTION_MARGIN
        for name, w, center in zip(columns, widths, centers):
            draw.text((center - w // 2, top), name, fill=_CAPTION_INK, font=font)
    else:
        text = " | ".join(columns)
        text = f"{title}: {text}" if title and text else (title or text)
        draw.text((_CAPTION_MARGIN, _CAPTION_MARGIN), text, fill=_CAPTION_INK, font=font)
    band = np.asarray(picture, np.uint8)[..., None]
    return np.repeat(band, channels, axis=-1)
