"""Two-domain image data for image-to-image translation (CycleGAN, pix2pix).

- `load_unpaired()`: two independent image sets, domain A and domain B
  (CycleGAN's `trainA/`, `trainB/` layout).
- `load_paired()`: aligned `(inputs, targets)` sets, image `i` of one paired
  with image `i` of the other (pix2pix's side-by-side files, or `trainA/`,
  `trainB/` folders matched by file name).
- `make_pair_batches()`: `(a_batch, b_batch)` tuples scaled to [-1, 1] for
  `model.fit()`, shuffled together (paired) or independently (unpaired).

Every loader has an offline default built from scikit-learn's digits, so
examples and tests need no download.
"""

import logging
import os

import numpy as np

from kerasgen.data.pipeline import index_stream
from kerasgen.data.image_data import ImageData
from kerasgen.data.sources import IMAGE_EXTENSIONS
from kerasgen.data.sources import _convert_array
from kerasgen.data.sources import _list_image_files
from kerasgen.data.sources import _natural_key
from kerasgen.data.sources import _read_image_files
from kerasgen.data.sources import _standardize_image_size
from kerasgen.data.sources import _subfolders
from kerasgen.data.sources import check_load_options
from kerasgen.data.sources import load_images
from kerasgen.data.sources import _unify_channels

logger = logging.getLogger("kerasgen.data")

DIRECTIONS = ("a2b", "b2a")
# The embedded digits, restyled. Unpaired domain B: dark blue ink on a warm,
# light yellow paper. Paired targets: each digit class filled in its own
# colour on white, like the shoes of edges2shoes.
_INK = np.array([20, 40, 140], np.float32)
_PAPER = np.array([250, 232, 160], np.float32)
_CLASS_COLOURS = np.array(
    [
        [230, 25, 75], [60, 180, 75], [0, 130, 200], [245, 130, 48],
        [145, 30, 180], [70, 160, 160], [240, 50, 230], [128, 128, 0],
        [170, 110, 40], [0, 0, 128],
    ],
    np.float32,
)
# Side-by-side pairs: width / height must be within this of 2.
_SIDE_BY_SIDE_TOLERANCE = 0.05


# --- unpaired ----------------------------------------------------------------


def load_unpaired(
    source=None, *, image_size, channels=3, split="train", max_images=None
):
    """Loads two unpaired image sets, domains A and B, e.g. for CycleGAN.

    `source` may be:

    - `None`: an offline default built from scikit-learn's handwritten
      digits. Domain A: white digits on black. Domain B: dark blue digits on
      a light yellow background (so A -> B is recolour + invert). A takes the
      digits at even indices and B those at odd indices, so no image is in
      both (898 and 899 images).
    - a folder with `trainA/` and `trainB/` subfolders (and optionally
      `testA/`, `testB/`), the layout of the CycleGAN datasets: `split`
      picks `<split>A/` and `<split>B/`.
    - `"tfds:<name>"`, e.g. `"tfds:cycle_gan/horse2zebra"`: the
      tensorflow-datasets splits `<split>A` and `<split>B`.

    Images of different sizes, greyscale or RGBA, are converted to
    `image_size` and `channels`.

    Args:
        source: `None`, a folder path or a `"tfds:<name>"` string, see above.
            Defaults to `None`.
        image_size: int or `(height, width)`: every image is resized to it.
        channels: 1 or 3. Defaults to 3 (RGB).
        split: `"train"` reads `trainA/` and `trainB/`, `"test"` reads
            `testA/` and `testB/`. The digits ignore it.
            Defaults to `"train"`.
        max_images: read at most this many images per domain, or `None` for
            all of them. Defaults to `None`.

    Returns:
        A tuple `(data_a, data_b)` of `ImageData` without labels.

    Example:

    ```python
    from kerasgen.data import load_unpaired

    data_a, data_b = load_unpaired(image_size=16, max_images=100)
    print(data_a.images.shape, data_b.images.shape)
    # (100, 16, 16, 3) (100, 16, 16, 3)
    ```
    """
    image_size = _required_image_size(image_size)
    check_load_options(channels, split, max_images)
    if source is None:
        return _unpaired_digits(image_size, channels, split, max_images)
    options = dict(image_size=image_size, channels=channels,
                   max_images=max_images)
    if isinstance(source, str) and source.startswith("tfds:"):
        name, _, tfds_split = source[len("tfds:"):].partition(":")
        if not name or tfds_split:
            raise ValueError(
                "An unpaired tensorflow-datasets source is written "
                "'tfds:<name>' (the splits <split>A and <split>B are read), "
                "e.g. 'tfds:cycle_gan/horse2zebra'. "
                f"Received: source={source!r}"
            )
        sets = [
            load_images(f"tfds:{name}:{split}{domain}", **options)
            for domain in "AB"
        ]
    else:
        folder = _existing_folder(source, "an unpaired set")
        domain_folders = _domain_folders(folder, split)
        if domain_folders is None:
            raise ValueError(
                f"The folder '{folder}' has no {split}A/ and {split}B/ "
                f"subfolders (found: {_describe_contents(folder)}); an "
                f"unpaired set needs <root>/{split}A and <root>/{split}B. "
                f"Received: source={source!r}"
            )
        sets = [
            load_images(folder, split=name, **options)
            for name in domain_folders
        ]
    return tuple(
        ImageData(images=data.images, source=data.source,
                  skipped=data.skipped)
        for data in sets
    )


def _unpaired_digits(image_size, channels, split, max_images):
    count = None if max_images is None else 2 * max_images
    digits = _digits(image_size, split, count)
    grey = digits.images[..., 0]  # (N, H, W) uint8, the strokes.
    # Colour look-up tables indexed by the grey level, exact and fast.
    level = np.arange(256, dtype=np.float32)[:, None] / 255.0
    white_on_black = np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, 1)
    ink_on_paper = _to_uint8(_PAPER + level * (_INK - _PAPER))
    name = "digits (scikit-learn load_digits)"
    return (
        _digits_set(white_on_black[grey[0::2]], channels,
                    f"{name}, white on black"),
        _digits_set(ink_on_paper[grey[1::2]], channels,
                    f"{name}, blue on yellow"),
    )


# --- paired ------------------------------------------------------------------


def load_paired(
    source=None, *, image_size, channels=3, split="train", direction="a2b",
    max_images=None,
):
    """Loads aligned `(inputs, targets)` image pairs, e.g. for pix2pix.

    `source` may be:

    - `None`: an offline default built from scikit-learn's handwritten
      digits, like edges2shoes. A: the outline of each digit (white edges on
      black). B: the same digit filled with its class's colour on white.
    - a folder of side-by-side files, the pix2pix "aligned" layout: each
      image is twice as wide as it is high, A on the left half and B on the
      right half. Split subfolders (`train/`, `test/`, `val/`) are picked by
      `split`. Each half is resized to `image_size`.
    - a folder with `<split>A/` and `<split>B/` subfolders whose files pair
      up by name (`trainA/1.png` with `trainB/1.jpg`). Names found on one
      side only are skipped, with one warning.

    Args:
        source: `None` or a folder path, see above. Defaults to `None`.
        image_size: int or `(height, width)`: every image (every half of a
            side-by-side file) is resized to it.
        channels: 1 or 3. Defaults to 3 (RGB).
        split: which split subfolder to read (`"train"`, `"test"`,
            `"val"`). The digits ignore it. Defaults to `"train"`.
        direction: `"a2b"` (inputs are A, targets are B) or `"b2a"`
            (swapped). Defaults to `"a2b"`.
        max_images: read at most this many pairs, the first ones by file
            name, or `None` for all of them. Defaults to `None`.

    Returns:
        A tuple `(inputs, targets)` of `ImageData` of the same length,
        without labels: `inputs.images[i]` pairs with `targets.images[i]`.

    Example:

    ```python
    from kerasgen.data import load_paired

    inputs, targets = load_paired(image_size=16, max_images=100)
    print(inputs.images.shape, targets.images.shape)
    # (100, 16, 16, 3) (100, 16, 16, 3)
    ```
    """
    image_size = _required_image_size(image_size)
    check_load_options(channels, split, max_images)
    if direction not in DIRECTIONS:
        raise ValueError(
            "`direction` must be 'a2b' (inputs A, targets B) or 'b2a' "
            f"(inputs B, targets A). Received: direction={direction!r}"
        )
    if source is None:
        data_a, data_b = _paired_digits(image_size, channels, split,
                                        max_images)
    elif isinstance(source, str) and source.startswith("tfds:"):
        raise ValueError(
            "load_paired() reads a folder of side-by-side images or of "
            "<split>A/ and <split>B/ subfolders, not tensorflow-datasets; "
            "save the pairs to a folder first. "
            f"Received: source={source!r}"
        )
    else:
        folder = _existing_folder(source, "a paired set")
        domain_folders = _domain_folders(folder, split)
        if domain_folders is not None:
            data_a, data_b = _load_named_pairs(
                folder, domain_folders, image_size, channels, max_images
            )
        else:
            data_a, data_b = _load_side_by_side(
                folder, split, image_size, channels, max_images
            )
    if direction == "b2a":
        return data_b, data_a
    return data_a, data_b


def _paired_digits(image_size, channels, split, max_images):
    digits = _digits(image_size, split, max_images)
    grey = digits.images[..., 0]  # (N, H, W) uint8, the strokes.
    # Edges: the outline of the digit's shape (pixels inside it with a
    # neighbour outside), about 1/32 of the image thick.
    inside = grey > 102
    edges = inside & ~_erode(inside, max(1, min(image_size) // 32))
    images_a = np.repeat((edges * np.uint8(255))[..., None], 3, axis=-1)
    # Filled digits: per class, a look-up table from grey level to colour.
    level = np.arange(256, dtype=np.float32)[None, :, None] / 255.0
    tables = _to_uint8(255.0 + level * (_CLASS_COLOURS[:, None] - 255.0))
    images_b = tables[digits.labels[:, None, None], grey]
    name = "digits (scikit-learn load_digits)"
    return (
        _digits_set(images_a, channels, f"{name}, edges"),
        _digits_set(images_b, channels, f"{name}, filled colour"),
    )


def _load_named_pairs(folder, domain_folders, image_size, channels,
                      max_images):
    by_stem = []
    for name in domain_folders:
        root = os.path.join(folder, name)
        stems = {}
        for path in _list_image_files(root):
            relative = os.path.splitext(os.path.relpath(path, root))[0]
            stems.setdefault(relative, path)
        by_stem.append(stems)
    common = sorted(set(by_stem[0]) & set(by_stem[1]), key=_natural_key)
    orphans = len(set(by_stem[0]) ^ set(by_stem[1]))
    if not common:
        raise ValueError(
            f"No file name is in both '{domain_folders[0]}/' and "
            f"'{domain_folders[1]}/' of '{folder}' "
            f"({len(by_stem[0])} and {len(by_stem[1])} images); paired "
            f"folders need matching names, e.g. {domain_folders[0]}/1.png "
            f"with {domain_folders[1]}/1.png. Received: source={folder!r}"
        )
    if orphans:
        logger.warning(
            "Skipped %d image file(s) in '%s' whose name is only in %s/ or "
            "only in %s/.", orphans, folder, *domain_folders,
        )
    if max_images is not None:
        common = common[:max_images]
    size = image_size
    arrays_a = _read_image_files([by_stem[0][s] for s in common], size,
                                 channels)
    arrays_b = _read_image_files([by_stem[1][s] for s in common], size,
                                 channels)
    kept = [
        i for i, (a, b) in enumerate(zip(arrays_a, arrays_b))
        if a is not None and b is not None
    ]
    skipped = len(common) - len(kept)
    if skipped:
        logger.warning(
            "Skipped %d unreadable image pair(s) in '%s'.", skipped, folder
        )
    if not kept:
        raise ValueError(
            f"None of the {len(common)} image pairs in '{folder}' could be "
            f"read. Received: source={folder!r}"
        )
    return tuple(
        ImageData(
            images=_stacked_channels([arrays[i] for i in kept]),
            source=os.path.join(folder, name), skipped=skipped + orphans,
        )
        for arrays, name in zip((arrays_a, arrays_b), domain_folders)
    )


def _load_side_by_side(folder, split, image_size, channels, max_images):
    root = folder
    subfolders = {name.lower(): name for name in _subfolders(folder)}
    if split.lower() in subfolders:
        root = os.path.join(folder, subfolders[split.lower()])
    else:
        split_names = [
            name for low, name in subfolders.items()
            if low in ("train", "test", "val", "valid", "validation")
        ]
        if split_names:
            raise ValueError(
                f"The folder '{folder}' has the splits "
                f"{', '.join(split_names)} but not {split!r}; pass one of "
                f"them as split. Received: split={split!r}"
            )
    paths = _list_image_files(root)
    if not paths:
        raise ValueError(
            f"No image files ({', '.join(IMAGE_EXTENSIONS)}) found in "
            f"'{root}'; a paired set needs side-by-side images (A left, B "
            f"right) or <root>/{split}A and <root>/{split}B subfolders "
            f"(found: {_describe_contents(folder)}). "
            f"Received: source={folder!r}"
        )
    if max_images is not None:
        paths = paths[:max_images]
    halves_a, halves_b, skipped = [], [], 0
    for path, array in zip(paths, _read_image_files(paths, None, channels)):
        if array is None:
            skipped += 1
            continue
        height, width = array.shape[:2]
        if abs(width / (2 * height) - 1) > _SIDE_BY_SIDE_TOLERANCE:
            raise ValueError(
                f"'{path}' is {width}x{height} (WxH), but side-by-side pairs "
                f"need width = 2 x height (A left, B right). "
                f"Received: source={folder!r}"
            )
        half = width // 2
        halves_a.append(_convert_array(array[None, :, :half], image_size,
                                       channels)[0])
        halves_b.append(_convert_array(array[None, :, half:2 * half],
                                       image_size, channels)[0])
    if skipped:
        logger.warning(
            "Skipped %d unreadable image file(s) in '%s'.", skipped, root
        )
    if not halves_a:
        raise ValueError(
            f"None of the {len(paths)} image files in '{root}' could be "
            f"read. Received: source={folder!r}"
        )
    return (
        ImageData(images=_stacked_channels(halves_a), source=f"{root} (left)",
                  skipped=skipped),
        ImageData(images=_stacked_channels(halves_b), source=f"{root} (right)",
                  skipped=skipped),
    )


# --- helpers -----------------------------------------------------------------


def _required_image_size(image_size):
    if image_size is None:
        raise ValueError(
            "`image_size` is required: both domains are resized to it, "
            "e.g. image_size=256. Received: image_size=None"
        )
    return _standardize_image_size(image_size)


def _existing_folder(source, what):
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(
            f"`source` must be None, a folder path or a 'tfds:<name>' "
            f"string. Received: source={source!r} of type "
            f"{type(source).__name__}"
        )
    folder = os.path.normpath(os.path.expanduser(os.fspath(source)))
    if not os.path.exists(folder):
        raise FileNotFoundError(
            f"No folder at '{folder}'. Received: source={source!r}"
        )
    if not os.path.isdir(folder):
        raise ValueError(
            f"'{folder}' is a file, but {what} is read from a folder. "
            f"Received: source={source!r}"
        )
    return folder


def _domain_folders(folder, split):
    """The `<split>A`, `<split>B` subfolder names (any case), or None."""
    subfolders = {name.lower(): name for name in _subfolders(folder)}
    names = [subfolders.get(f"{split}{d}".lower()) for d in "ab"]
    return None if None in names else names


def _describe_contents(folder):
    names = [
        name + ("/" if os.path.isdir(os.path.join(folder, name)) else "")
        for name in sorted(os.listdir(folder), key=_natural_key)
        if not name.startswith(".")
    ]
    if not names:
        return "nothing"
    more = f", ... ({len(names)} in all)" if len(names) > 6 else ""
    return ", ".join(names[:6]) + more


def _erode(mask, steps):
    """Binary erosion of `(N, H, W)` masks by a 3x3 cross, `steps` times."""
    for _ in range(steps):
        eroded = mask.copy()
        eroded[:, 1:] &= mask[:, :-1]
        eroded[:, :-1] &= mask[:, 1:]
        eroded[:, :, 1:] &= mask[:, :, :-1]
        eroded[:, :, :-1] &= mask[:, :, 1:]
        mask = eroded
    return mask


def _stacked_channels(arrays):
    # Greyscale and RGB mix only with channels=None.
    return np.stack(_unify_channels(arrays))


def _digits(image_size, split, count):
    # Resized as greyscale (bilinear) before any colouring.
    return load_images(None, image_size=image_size, channels=1, split=split,
                       max_images=count)


def _to_uint8(values):
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def _digits_set(images, channels, source):
    return ImageData(
        images=_convert_array(images, None, channels), source=source
    )


# --- batches -----------------------------------------------------------------


def pair_steps_per_epoch(data_a, data_b, batch_size):
    """The number of batches in one epoch of `make_pair_batches()`.

    `max(len(data_a), len(data_b)) // batch_size`: one epoch reads the
    larger set once (the smaller one wraps around).

    Example:

    ```python
    from kerasgen.data import load_unpaired, pair_steps_per_epoch

    data_a, data_b = load_unpaired(image_size=8, max_images=100)
    print(pair_steps_per_epoch(data_a, data_b, batch_size=32))  # 3
    ```
    """
    return max(len(data_a), len(data_b)) // batch_size


def make_pair_batches(
    data_a, data_b, batch_size, *, paired, shuffle=True, seed=0, repeat=True,
    backend=None,
):
    """Turns two image sets into `(a_batch, b_batch)` batches for `fit()`.

    Each batch is a tuple of two float32 arrays scaled to [-1, 1] (uint8
    0 -> -1.0, 255 -> 1.0), shape `(batch_size, H, W, C)`. Incomplete batches
    are dropped.

    - `paired=True` (pix2pix): both sets must have the same length and are
      shuffled with the same permutation, so `a_batch[i]` and `b_batch[i]`
      stay a pair.
    - `paired=False` (CycleGAN): each set is shuffled on its own. One epoch
      is `max(len(data_a), len(data_b)) // batch_size` batches; the smaller
      set wraps around, reshuffled each time it is used up.

    Each set is read as an endless stream of permutations, so the same
    `seed` always gives the same order. The batches are already shuffled:
    call `fit(..., shuffle=False)`.

    Args:
        data_a: an `ImageData` (or a uint8 array `(N, H, W, C)`): domain A,
            or the inputs.
        data_b: an `ImageData` (or a uint8 array): domain B, or the targets.
        batch_size: int, images per batch, at most the size of each set.
        paired: bool, whether image `i` of `data_a` pairs with image `i` of
            `data_b`.
        shuffle: bool, whether to shuffle. Defaults to `True`.
        seed: int, the shuffling seed. Defaults to 0.
        repeat: bool. `True` yields batches forever (pass `steps_per_epoch`
            to `fit()`, see `pair_steps_per_epoch()`); `False` stops after
            one epoch. Defaults to `True`.
        backend: `"tensorflow"` for a prefetched `tf.data.Dataset`, any other
            name (`"jax"`, `"torch"`, `"numpy"`) for a `PairBatches` (a
            `keras.utils.PyDataset` of numpy arrays that does not import
            TensorFlow). `None` uses `keras.backend.backend()`.
            Defaults to `None`.

    Returns:
        A `tf.data.Dataset` or a `PairBatches`, both accepted by `fit()` and
        `iter()`.

    Example:

    ```python
    from kerasgen.data import load_unpaired, make_pair_batches

    data_a, data_b = load_unpaired(image_size=16, max_images=64)
    batches = make_pair_batches(data_a, data_b, batch_size=8, paired=False)
    a_batch, b_batch = next(iter(batches))
    print(a_batch.shape, b_batch.shape)  # (8, 16, 16, 3) (8, 16, 16, 3)
    ```
    """
    data_a = _as_image_data(data_a, "data_a")
    data_b = _as_image_data(data_b, "data_b")
    if (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, (int, np.integer))
        or batch_size < 1
    ):
        raise ValueError(
            "`batch_size` must be a positive integer. "
            f"Received: batch_size={batch_size!r}"
        )
    batch_size = int(batch_size)
    for name, data in (("data_a", data_a), ("data_b", data_b)):
        if batch_size > len(data):
            raise ValueError(
                f"`batch_size` must be at most the number of images in each "
                f"set ({len(data)} in {name}, from "
                f"{data.source or 'arrays'}). Received: "
                f"batch_size={batch_size}"
            )
    if paired and len(data_a) != len(data_b):
        raise ValueError(
            f"paired=True needs two sets of the same length, image i of one "
            f"paired with image i of the other. Received: "
            f"len(data_a)={len(data_a)}, len(data_b)={len(data_b)}"
        )
    if backend is None:
        import keras

        backend = keras.backend.backend()
    if backend == "tensorflow":
        return _tf_pair_dataset(
            data_a.images, data_b.images, batch_size, paired, shuffle, seed,
            repeat,
        )
    from kerasgen.data.numpy_batches import PairBatches

    return PairBatches(
        data_a.images, data_b.images, batch_size, paired=paired,
        shuffle=shuffle, seed=seed, repeat=repeat,
    )


def _as_image_data(data, name):
    if isinstance(data, ImageData):
        return data
    if isinstance(data, np.ndarray):
        return ImageData(images=data)
    raise TypeError(
        f"`{name}` must be an ImageData (from load_unpaired() or "
        f"load_paired()) or a uint8 array (N, H, W, C). "
        f"Received: {name} of type {type(data).__name__}"
    )


def _tf_pair_dataset(images_a, images_b, batch_size, paired, shuffle, seed,
                     repeat):
    # Only the TensorFlow backend pays for importing TensorFlow.
    import tensorflow as tf

    with tf.device("/CPU:0"):
        tensor_a = tf.constant(images_a)
        tensor_b = tf.constant(images_b)

    def stream(size, number):
        if repeat:
            return index_stream(size, shuffle, seed * 2 + number)
        # One pass of max(len(A), len(B)) pairs (taken below), the shorter
        # domain repeated, in a new order on every pass.
        return index_stream(size, shuffle, seed * 2 + number, repeat=False).repeat()

    if paired:
        dataset = stream(len(images_a), 0).map(lambda i: (i, i))
    else:
        dataset = tf.data.Dataset.zip(
            (stream(len(images_a), 0), stream(len(images_b), 1))
        )
    if not repeat:
        steps = max(len(images_a), len(images_b)) // batch_size
        dataset = dataset.take(steps * batch_size)
    dataset = dataset.batch(batch_size, drop_remainder=True)

    def gather(indices_a, indices_b):
        return (
            tf.cast(tf.gather(tensor_a, indices_a), tf.float32) / 127.5 - 1.0,
            tf.cast(tf.gather(tensor_b, indices_b), tf.float32) / 127.5 - 1.0,
        )

    dataset = dataset.map(
        gather, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
    )
    return dataset.prefetch(tf.data.AUTOTUNE)
