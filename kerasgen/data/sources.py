"""Image loaders, one per kind of source, behind `load_images()`.

Every loader ends in the same place: a uint8 `(N, H, W, C)` array, optional
int labels and class names, converted to the requested size and channels.
Heavy or optional libraries (scikit-learn, tensorflow-datasets) are imported
inside the loader that needs them.
"""

import concurrent.futures
import difflib
import gzip
import itertools
import logging
import os
import re
import stat
import struct

import numpy as np
from PIL import Image
from PIL import ImageOps

from kerasgen.data.image_data import ImageData

logger = logging.getLogger("kerasgen.data")

IMAGE_EXTENSIONS = (
    ".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"
)
ACCEPTED_SOURCES = (
    "None (built-in digits), a folder of images, an image file, MNIST IDX "
    "files or their folder, a .npz file, or 'tfds:<name>[:<split>]'"
)
# Subfolders that name a split rather than a class: train/, test/, val/, and
# the unpaired CycleGAN layout trainA/, trainB/, testA/, testB/.
_SPLIT_FOLDER = re.compile(r"(train|test|val|valid|validation)[ab]?")
# MNIST-style file names: train-images-idx3-ubyte, t10k-images.idx3-ubyte.gz.
_IDX_FILE = re.compile(r"idx\d[-.]ubyte(\.gz)?$")
_IDX_IMAGES_FILE = re.compile(r"idx3[-.]ubyte(\.gz)?$")
_PARALLEL_READ_MIN = 64


def load_images(
    source=None, *, image_size=None, channels=None, split="train",
    max_images=None, subset=None,
):
    """Loads a set of images into memory as uint8, from any supported source.

    One resolver for every family. `source` may be:

    - `None`: the built-in offline default, scikit-learn's handwritten digits
      (1,797 8x8 greyscale images, labels 0..9). Needs no file or network.
    - a folder of images (png, jpg, bmp, gif, webp, tiff), read recursively.
      If the images sit in two or more subfolders, the sorted subfolder names
      are the classes (labels 0..K-1). If the folder has split subfolders
      (`train/`, `test/`, `val/`, or the unpaired `trainA/`, `trainB/`,
      `testA/`, `testB/`), `split` picks one: `split="trainA"` reads
      `trainA/` only, and `split="train"` with no `train/` folder reads
      `trainA/` and `trainB/` as two classes.
    - a single image file (an `N=1` set, e.g. for SinGAN).
    - MNIST IDX files: the images file itself
      (`*-images-idx3-ubyte`, raw or `.gz`; the matching labels file is read
      when present) or a folder holding them (`split` picks `train-*` or
      `t10k-*` when there are several).
    - a `.npz` file with the images under `x_<split>`, `images`, `x` or
      `x_train` (else the first array), and optional labels under the
      matching `y_<split>`, `labels`, `y` or `y_train`. uint8, floats in
      [0, 1], [-1, 1] or [0, 255] are detected and converted to uint8.
    - `"tfds:<name>[:<split>]"`: a tensorflow-datasets dataset already
      prepared in the tfds data dir (`TFDS_DATA_DIR`, default
      `~/tensorflow_datasets`): prepare it once with `tfds build <name>`.
      It needs the `tensorflow-datasets` package; nothing is downloaded.

    Unreadable or corrupt image files are skipped and counted in
    `ImageData.skipped`, with one warning on the `kerasgen.data` logger.

    Args:
        source: where to read the images from, see above. A `str` or
            `os.PathLike`. Defaults to `None` (the built-in digits).
        image_size: int or `(height, width)`. Every image is resized to it
            (Pillow, bilinear with antialiasing, without cropping). `None`
            keeps the native size, and then images of different sizes are an
            error. Defaults to `None`.
        channels: 1 or 3. Images are converted to greyscale or RGB (an alpha
            channel is dropped). `None` keeps the native channels, and a
            greyscale image among RGB ones is converted to RGB.
            Defaults to `None`.
        split: the split to read where the source has splits (folders,
            IDX folders, `.npz` files with `x_<split>`, tfds). Sources without
            splits ignore it. Defaults to `"train"`.
        max_images: read at most this many images: the first ones, or for a
            folder with classes the first ones of each class in turn.
            `None` reads all of them. Defaults to `None`.
        subset: `"START:STOP"` (either end may be left out, as in a Python
            slice), a `(start, stop)` pair or a `slice`: keep only these
            images of the source, in the order it lists them (before
            `max_images`). How the zoo's digit presets keep MNIST's last
            2,000 test digits out of training (`"0:8000"`, `"8000:"`).
            `None` keeps them all. Defaults to `None`.

    Returns:
        An `ImageData` with uint8 `images` of shape `(N, H, W, C)`, int32
        `labels` (or `None`), `class_names` (or `None`), `source` and
        `skipped`.

    Example:

    ```python
    from kerasgen.data import load_images

    data = load_images(image_size=16, channels=3, max_images=100)
    print(data.images.shape, data.images.dtype)  # (100, 16, 16, 3) uint8
    print(data.labels[:5], data.num_classes)  # [0 1 2 3 4] 10
    ```
    """
    image_size = _standardize_image_size(image_size)
    check_load_options(channels, split, max_images)
    subset = parse_subset(subset)
    options = dict(
        image_size=image_size, channels=channels, split=split,
        # A subset is cut from the whole source, then max_images from it.
        max_images=max_images if subset is None else None,
    )

    if source is None:
        data = _load_digits(**options)
    elif isinstance(source, str) and source.startswith("tfds:"):
        data = _load_tfds(source, **options)
    elif isinstance(source, (str, os.PathLike)):
        data = _load_path(source, **options)
    else:
        raise TypeError(
            f"`source` must be a path string, an os.PathLike or None. "
            f"Accepted sources: {ACCEPTED_SOURCES}. "
            f"Received: source={source!r} of type {type(source).__name__}"
        )
    if subset is not None:
        data = _take_subset(data, subset, max_images)
    logger.info("Loaded %r", data)
    return data


def parse_subset(subset):
    """Reads a `subset` of `load_images`: `"START:STOP"`, `(start, stop)`
    or a `slice` (step 1), into a `slice`; `None` stays `None`. A one-line
    `ValueError` for anything else.

    Example:

    ```python
    print(parse_subset("8000:"))  # slice(8000, None, None)
    ```
    """
    if subset is None or isinstance(subset, slice) and subset.step in (None, 1):
        return subset
    bounds = None
    if isinstance(subset, str) and subset.count(":") == 1:
        texts = [text.strip() for text in subset.split(":")]
        if all(not text or re.fullmatch(r"\d+", text) for text in texts):
            bounds = [int(text) if text else None for text in texts]
    elif isinstance(subset, (tuple, list)) and len(subset) == 2 and all(
        bound is None
        or isinstance(bound, (int, np.integer)) and not isinstance(bound, bool)
        and bound >= 0
        for bound in subset
    ):
        bounds = list(subset)
    if bounds is None or (
        None not in bounds and bounds[1] <= bounds[0]
    ):
        raise ValueError(
            "`subset` must be 'START:STOP' with 0 <= START < STOP (either may "
            "be left out, e.g. '8000:'), a (start, stop) pair or a slice. "
            f"Received: subset={subset!r}"
        )
    return slice(*bounds)


def _take_subset(data, subset, max_images):
    images = data.images[subset]
    if max_images is not None:
        images = images[:max_images]
    if len(images) == 0:
        raise ValueError(
            f"The subset holds no images: the source has {len(data)}. "
            f"Received: subset={subset.start or ''}:{subset.stop or ''}"
        )
    labels = None
    if data.labels is not None:
        labels = data.labels[subset][: len(images)]
    where = f"{subset.start or ''}:{'' if subset.stop is None else subset.stop}"
    return ImageData(
        images=images, labels=labels, class_names=data.class_names,
        source=f"{data.source}[{where}]", skipped=data.skipped,
    )


def _load_path(source, **options):
    path = os.path.normpath(os.path.expanduser(os.fspath(source)))
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"No file or folder at '{path}'. Accepted sources: "
            f"{ACCEPTED_SOURCES}. Received: source={source!r}"
        )
    if os.path.isdir(path):
        if _idx_image_files(path):
            return _load_idx_folder(path, **options)
        return _load_folder(path, **options)
    name = os.path.basename(path).lower()
    if name.endswith(".npz"):
        return _load_npz(path, **options)
    if _IDX_FILE.search(name):
        return _load_idx_file(path, **options)
    if name.endswith(IMAGE_EXTENSIONS):
        return _load_single_image(path, **options)
    raise ValueError(
        f"Unsupported file type '{os.path.basename(path)}': expected a .npz "
        f"file, an MNIST IDX file (*-idx3-ubyte[.gz]) or an image "
        f"({', '.join(IMAGE_EXTENSIONS)}). Received: source={source!r}"
    )


# --- argument and array helpers ----------------------------------------------


def check_load_options(channels, split, max_images):
    """Checks the `channels`, `split` and `max_images` of a loader: a
    one-line `ValueError` for a bad one.

    Example:

    ```python
    check_load_options(3, "train", None)  # fine: returns None
    ```
    """
    if channels is not None and (
        isinstance(channels, bool) or channels not in (1, 3)
    ):
        raise ValueError(
            "`channels` must be 1 (greyscale), 3 (RGB) or None (keep the "
            f"native channels). Received: channels={channels!r}"
        )
    if not isinstance(split, str) or not split:
        raise ValueError(
            "`split` must be a non-empty string such as 'train', 'test' or "
            f"'trainA'. Received: split={split!r}"
        )
    if max_images is not None and (
        isinstance(max_images, bool)
        or not isinstance(max_images, (int, np.integer))
        or max_images < 1
    ):
        raise ValueError(
            "`max_images` must be a positive integer or None (all images). "
            f"Received: max_images={max_images!r}"
        )


def _standardize_image_size(image_size):
    if image_size is None:
        return None
    size = image_size
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        size = (size, size)
    if (
        isinstance(size, (tuple, list))
        and len(size) == 2
        and all(
            isinstance(s, (int, np.integer)) and not isinstance(s, bool)
            for s in size
        )
        and min(size) >= 1
    ):
        return int(size[0]), int(size[1])
    raise ValueError(
        "`image_size` must be a positive int, a (height, width) pair of "
        f"positive ints, or None. Received: image_size={image_size!r}"
    )


def _natural_key(text):
    # "cat.2.jpg" sorts before "cat.10.jpg".
    return [
        int(part) if part.isdigit() else part.lower()
        for part in re.split(r"(\d+)", text)
    ]


def _rgb_to_grey(images):
    # The same integer luma formula as Pillow's RGB -> L conversion.
    rgb = images.astype(np.uint32)
    grey = (
        rgb[..., 0] * 19595 + rgb[..., 1] * 38470 + rgb[..., 2] * 7471
        + 0x8000
    ) >> 16
    return grey.astype(np.uint8)[..., None]


def _convert_array(images, image_size, channels):
    """Converts uint8 `(N, H, W, C)` images to the requested size/channels."""
    if images.shape[-1] == 4:  # RGBA: drop alpha.
        images = images[..., :3]
    elif images.shape[-1] == 2:  # grey + alpha.
        images = images[..., :1]
    if image_size is not None and images.shape[1:3] != image_size:
        height, width = image_size
        resized = np.empty(
            (len(images), height, width, images.shape[-1]), np.uint8
        )
        for i, image in enumerate(images):
            pil_image = Image.fromarray(
                image[..., 0] if image.shape[-1] == 1 else image
            )
            pil_image = pil_image.resize(
                (width, height), Image.Resampling.BILINEAR
            )
            resized[i] = np.asarray(pil_image).reshape(resized.shape[1:])
        images = resized
    if channels == 3 and images.shape[-1] == 1:
        images = np.repeat(images, 3, axis=-1)
    elif channels == 1 and images.shape[-1] == 3:
        images = _rgb_to_grey(images)
    return np.ascontiguousarray(images)


def _to_uint8_images(array, name):
    """Brings an array of images in any common layout and range to uint8."""
    array = np.asarray(array)
    if array.ndim == 3:
        array = array[..., None]
    elif (
        array.ndim == 4
        and array.shape[-1] not in (1, 3)
        and array.shape[1] in (1, 3)
    ):  # (N, C, H, W): channels first.
        array = array.transpose(0, 2, 3, 1)
    if array.ndim != 4 or array.shape[-1] not in (1, 2, 3, 4):
        raise ValueError(
            f"The images in {name} must have shape (N, H, W), (N, H, W, C) or "
            f"(N, C, H, W) with C in (1, 3, 4). "
            f"Received: shape={array.shape}"
        )
    if array.dtype == np.uint8:
        return array
    if not (
        np.issubdtype(array.dtype, np.integer)
        or np.issubdtype(array.dtype, np.floating)
    ):
        raise ValueError(
            f"The images in {name} must be numbers (uint8 0..255 or floats). "
            f"Received: dtype={array.dtype}"
        )
    if array.size == 0:
        return array.astype(np.uint8)
    low, high = float(array.min()), float(array.max())
    if not np.isfinite([low, high]).all():
        raise ValueError(
            f"The images in {name} contain NaN or infinite values. "
            f"Received: min={low}, max={high}"
        )
    if np.issubdtype(array.dtype, np.floating) and low >= 0 and high <= 1:
        scaled = array * 255.0
    elif np.issubdtype(array.dtype, np.floating) and low >= -1 and high <= 1:
        scaled = (array + 1.0) * 127.5
    elif low >= 0 and high <= 255:
        scaled = array
    else:
        raise ValueError(
            f"Cannot tell the pixel range of the images in {name}: expected "
            f"uint8 0..255, or floats in [0, 1], [-1, 1] or [0, 255]. "
            f"Received: dtype={array.dtype}, min={low}, max={high}"
        )
    return np.rint(scaled).astype(np.uint8)


def _to_int_labels(array, num_images, name):
    labels = np.asarray(array)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    elif labels.ndim == 2 and labels.shape[0] == num_images:  # one-hot.
        labels = labels.argmax(axis=1)
    if labels.shape != (num_images,):
        raise ValueError(
            f"The labels in {name} must have shape ({num_images},) to match "
            f"the {num_images} images. Received: labels.shape={labels.shape}"
        )
    if np.issubdtype(labels.dtype, np.floating) and np.array_equal(
        labels, np.round(labels)
    ):
        labels = labels.astype(np.int64)
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"The labels in {name} must be integers. "
            f"Received: labels.dtype={labels.dtype}"
        )
    return labels.astype(np.int32)


def _finish_arrays(images, labels, class_names, source, options):
    """Applies max_images, size and channels to an in-memory array source."""
    max_images = options["max_images"]
    if max_images is not None:
        images = images[:max_images]
        labels = None if labels is None else labels[:max_images]
    if len(images) == 0:
        raise ValueError(
            f"The source holds no images. Received: source={source!r}"
        )
    images = _convert_array(images, options["image_size"], options["channels"])
    return ImageData(
        images=images, labels=labels, class_names=class_names, source=source,
    )


def _ignore_split(source, split):
    if split != "train":
        logger.warning(
            "split=%r is ignored: the source %s has no splits.", split, source
        )


# --- the built-in digits -----------------------------------------------------


def _load_digits(**options):
    # scikit-learn is slow to import: only pay for it when the digits are used.
    from sklearn.datasets import load_digits

    _ignore_split("digits", options["split"])
    digits = load_digits()
    # Pixel values are 0..16.
    images = np.rint(digits.images * (255.0 / 16.0)).astype(np.uint8)
    return _finish_arrays(
        images[..., None],
        digits.target.astype(np.int32),
        [str(i) for i in range(10)],
        "digits (scikit-learn load_digits)",
        options,
    )


# --- MNIST IDX files ---------------------------------------------------------


def _read_idx(path):
    """Reads an IDX file (raw or gzipped) of unsigned bytes into an array."""
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as e:
        raise ValueError(
            f"Cannot read the IDX file '{path}' ({e}). "
            f"Received: source={path!r}"
        ) from e
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(
            f"'{path}' is not an IDX file of unsigned bytes (magic "
            f"0x0000080N expected). Received: magic={raw[:4].hex()!r}"
        )
    ndim = raw[3]
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise ValueError(
            f"The IDX file '{path}' is truncated. "
            f"Received: {len(raw)} bytes"
        )
    shape = struct.unpack(f">{ndim}I", raw[4:header_size])
    data = np.frombuffer(raw, np.uint8, offset=header_size)
    if data.size != int(np.prod(shape)):
        raise ValueError(
            f"The IDX file '{path}' holds {data.size} values, but its header "
            f"says shape {shape}. Received: source={path!r}"
        )
    return data.reshape(shape)


def _idx_image_files(folder):
    names = [
        name for name in os.listdir(folder)
        if _IDX_IMAGES_FILE.search(name.lower())
    ]
    return sorted(names, key=_natural_key)


def _load_idx_folder(folder, **options):
    names = _idx_image_files(folder)
    # A raw and a gzipped copy of the same file count once (raw preferred).
    by_base = {}
    for name in sorted(names, key=lambda n: n.endswith(".gz")):
        by_base.setdefault(name[:-3] if name.endswith(".gz") else name, name)
    names = sorted(by_base.values(), key=_natural_key)
    if len(names) > 1:
        split = options["split"].lower()
        prefixes = (split, "t10k") if split == "test" else (split,)
        matches = [n for n in names if n.lower().startswith(prefixes)]
        if len(matches) != 1:
            raise ValueError(
                f"The folder '{folder}' holds several IDX image files "
                f"({', '.join(names)}) and split={options['split']!r} does "
                f"not pick exactly one; use split='train' or 'test', or pass "
                f"the file itself. Received: split={options['split']!r}"
            )
        names = matches
    else:
        _ignore_split(folder, options["split"])
    return _load_idx_file(os.path.join(folder, names[0]), **options)


def _labels_file_for(images_path):
    folder, name = os.path.split(images_path)
    base = name[:-3] if name.endswith(".gz") else name
    base = base.replace("idx3", "idx1").replace("images", "labels")
    for candidate in (base, base + ".gz"):
        if os.path.exists(os.path.join(folder, candidate)):
            return os.path.join(folder, candidate)
    return None


def _load_idx_file(path, **options):
    array = _read_idx(path)
    if array.ndim not in (3, 4):
        raise ValueError(
            f"'{path}' is not an IDX images file: it holds an array of shape "
            f"{array.shape} (a labels file?). Pass the *-images-idx3-ubyte "
            f"file or its folder. Received: source={path!r}"
        )
    images = array[..., None] if array.ndim == 3 else array
    labels, class_names = None, None
    labels_path = _labels_file_for(path)
    if labels_path is not None:
        labels = _read_idx(labels_path)
        labels = _to_int_labels(labels, len(images), labels_path)
        class_names = [str(i) for i in range(int(labels.max()) + 1)]
    return _finish_arrays(images, labels, class_names, path, options)


# --- .npz arrays -------------------------------------------------------------


def _load_npz(path, **options):
    split = options["split"]
    key_pairs = [
        (f"x_{split}", f"y_{split}"),
        (f"images_{split}", f"labels_{split}"),
        ("images", "labels"),
        ("x", "y"),
        ("x_train", "y_train"),
    ]
    try:
        npz = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise ValueError(
            f"Cannot read '{path}' as a .npz file ({e}). "
            f"Received: source={path!r}"
        ) from e
    with npz:
        keys = list(npz.files)
        if not keys:
            raise ValueError(
                f"The .npz file '{path}' holds no arrays. "
                f"Received: source={path!r}"
            )
        image_key, label_key = keys[0], None
        for images_name, labels_name in key_pairs:
            if images_name in keys:
                image_key, label_key = images_name, labels_name
                break
        if label_key not in keys:
            label_key = next((k for k in ("labels", "y") if k in keys), None)
        name = f"'{path}' (key {image_key!r})"
        images = _to_uint8_images(npz[image_key], name)
        labels = None
        if label_key is not None:
            labels = _to_int_labels(npz[label_key], len(images), name)
        class_names = None
        if "class_names" in keys:
            class_names = [str(c) for c in npz["class_names"].tolist()]
        elif labels is not None and len(labels):
            class_names = [str(i) for i in range(int(labels.max()) + 1)]
    return _finish_arrays(images, labels, class_names, path, options)


# --- image files and folders -------------------------------------------------


def decode_image(path, channels=None):
    """Opens one image file as a Pillow image in mode `"L"` or `"RGB"`: the
    one reader of every image kerasgen loads (training data, pairs and
    `kerasgen translate`), so that all of them read a file alike.

    EXIF orientation is applied, 16-bit and float images are scaled to
    8 bits (a 16-bit PNG would otherwise clip to white), palettes and alpha
    are dropped. `channels` 1 or 3 picks `"L"` or `"RGB"`; `None` keeps the
    native one. The image is fully decoded before the file is closed.

    Raises:
        OSError, ValueError, SyntaxError: Pillow cannot read the file.
        PIL.Image.DecompressionBombError: the image has more pixels than
            `PIL.Image.MAX_IMAGE_PIXELS` allows (twice its value).

    Example:

    ```python
    import os, tempfile
    from PIL import Image
    path = os.path.join(tempfile.mkdtemp(), "x.png")
    Image.new("I;16", (4, 4), 65535).save(path)
    decode_image(path).getextrema()  # (255, 255)
    ```
    """
    with Image.open(path) as image:
        if image.getexif().get(0x0112, 1) != 1:  # EXIF orientation.
            image = ImageOps.exif_transpose(image)
        if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
            pixels = np.asarray(image, dtype=np.float64)
            if pixels.max(initial=0) > 255:  # 16-bit.
                pixels = pixels * (255.0 / 65535.0)
            image = Image.fromarray(
                np.clip(np.rint(pixels), 0, 255).astype(np.uint8)
            )
        elif image.mode == "P":
            image = image.convert("RGBA")
        native = "L" if image.mode in ("1", "L", "LA", "La") else "RGB"
        mode = {1: "L", 3: "RGB"}.get(channels, native)
        image = image.convert(mode) if image.mode != mode else image.copy()
    return image


# What Pillow raises for a file it cannot (or will not) decode.
IMAGE_READ_ERRORS = (OSError, ValueError, SyntaxError, Image.DecompressionBombError)


def _read_image_file(path, image_size, channels):
    """Decodes one image file to uint8 (H, W, C), or None if unreadable."""
    try:
        image = decode_image(path, channels)
        if image_size is not None and image.size != image_size[::-1]:
            image = image.resize(image_size[::-1], Image.Resampling.BILINEAR)
        array = np.asarray(image, dtype=np.uint8)
    except IMAGE_READ_ERRORS as error:
        logger.debug("cannot read %s: %s", path, error)
        return None
    return array[..., None] if array.ndim == 2 else array


def _read_image_files(paths, image_size, channels):
    def read(path):
        return _read_image_file(path, image_size, channels)

    if len(paths) < _PARALLEL_READ_MIN:
        return [read(path) for path in paths]
    # Pillow releases the GIL while decoding, so threads help.
    workers = min(8, os.cpu_count() or 1)
    with concurrent.futures.ThreadPoolExecutor(workers) as executor:
        return list(executor.map(read, paths))


def _list_image_files(folder, not_regular=None):
    """The image files under `folder`, recursively, in natural order.

    Symlinked folders are followed, but each real folder is read once (a
    link to a parent would otherwise list the same files over and over).
    Entries that are not regular files (a FIFO or device named *.png would
    block a reader forever) are skipped with a warning, and appended to the
    list `not_regular` when one is given.
    """
    paths, odd, seen = [], [], set()
    for root, dirs, files in os.walk(folder, followlinks=True):
        real = os.path.realpath(root)
        if real in seen:  # reached again through a symlink
            dirs[:] = []
            continue
        seen.add(real)
        dirs[:] = sorted(
            (d for d in dirs if not d.startswith(".")
             and os.path.realpath(os.path.join(root, d)) not in seen),
            key=_natural_key,
        )
        for name in sorted(files, key=_natural_key):
            if name.startswith(".") or not name.lower().endswith(IMAGE_EXTENSIONS):
                continue
            path = os.path.join(root, name)
            try:
                regular = stat.S_ISREG(os.stat(path).st_mode)
            except OSError:  # a dangling link: the reader counts it
                regular = True
            (paths if regular else odd).append(path)
    if odd:
        logger.warning(
            "Skipped %d entr(ies) in %s that are not regular files (FIFO, "
            "device or socket), e.g. %s", len(odd), folder,
            os.path.relpath(odd[0], folder),
        )
        if not_regular is not None:
            not_regular.extend(odd)
    return paths


def _subfolders(folder):
    return sorted(
        (
            name for name in os.listdir(folder)
            if not name.startswith(".")
            and os.path.isdir(os.path.join(folder, name))
        ),
        key=_natural_key,
    )


def _resolve_split(folder, split):
    """Returns (folder to read, class subfolders or None) for `split`."""
    subfolders = _subfolders(folder)
    split_folders = [
        name for name in subfolders if _SPLIT_FOLDER.fullmatch(name.lower())
    ]
    if not split_folders:
        _ignore_split(folder, split)
        return folder, None
    for name in split_folders:
        if name.lower() == split.lower():
            return os.path.join(folder, name), None
    # Unpaired layout: split="train" reads trainA/ and trainB/ as two classes.
    domains = [
        name for name in split_folders
        if len(name) == len(split) + 1
        and name.lower().startswith(split.lower())
    ]
    if domains:
        return folder, domains
    raise ValueError(
        f"The folder '{folder}' has the splits {', '.join(split_folders)} but "
        f"not {split!r}; pass one of them as split. Received: split={split!r}"
    )


def _take_per_class(paths, labels, max_images):
    """The first images of each class in turn, up to max_images."""
    by_class = {}
    for i, label in enumerate(labels):
        by_class.setdefault(label, []).append(i)
    queues = [by_class[label] for label in sorted(by_class)]
    chosen = []
    for depth in range(max(len(queue) for queue in queues)):
        chosen.extend(queue[depth] for queue in queues if depth < len(queue))
        if len(chosen) >= max_images:
            break
    chosen = sorted(chosen[:max_images])
    return [paths[i] for i in chosen], [labels[i] for i in chosen]


def _load_folder(folder, **options):
    root, class_folders = _resolve_split(folder, options["split"])
    not_regular = []
    if class_folders is None:
        paths = _list_image_files(root, not_regular)
        top_level = [p for p in paths if os.path.dirname(p) == root]
        class_folders = sorted(
            {os.path.relpath(p, root).split(os.sep)[0] for p in paths},
            key=_natural_key,
        )
        if top_level or len(class_folders) < 2:
            class_folders = None
    else:
        paths = [
            p for name in class_folders
            for p in _list_image_files(os.path.join(root, name), not_regular)
        ]
    if not paths:
        raise ValueError(
            f"No image files ({', '.join(IMAGE_EXTENSIONS)}) found in "
            f"'{root}'. Accepted sources: {ACCEPTED_SOURCES}. "
            f"Received: source={folder!r}"
        )

    labels = None
    if class_folders is not None:
        index = {name: i for i, name in enumerate(class_folders)}
        labels = [
            index[os.path.relpath(p, root).split(os.sep)[0]] for p in paths
        ]
    max_images = options["max_images"]
    if max_images is not None and max_images < len(paths):
        if labels is None:
            paths = paths[:max_images]
        else:
            paths, labels = _take_per_class(paths, labels, max_images)

    arrays = _read_image_files(
        paths, options["image_size"], options["channels"]
    )
    kept = [i for i, array in enumerate(arrays) if array is not None]
    skipped = len(paths) - len(kept)
    if skipped:
        first_bad = next(p for p, a in zip(paths, arrays) if a is None)
        logger.warning(
            "Skipped %d unreadable image file(s) in %s, e.g. %s",
            skipped, root, os.path.relpath(first_bad, root),
        )
    if not kept:
        raise ValueError(
            f"None of the {len(paths)} image files in '{root}' could be read. "
            f"Received: source={folder!r}"
        )
    images = _stack_images(
        [arrays[i] for i in kept], [paths[i] for i in kept], root
    )
    if labels is not None:
        labels = np.asarray([labels[i] for i in kept], np.int32)
    return ImageData(
        images=images, labels=labels, class_names=class_folders,
        source=root, skipped=skipped + len(not_regular),
    )


def _unify_channels(arrays):
    """The images, greyscale ones repeated to RGB when the set mixes both."""
    if len({array.shape[-1] for array in arrays}) > 1:
        arrays = [
            np.repeat(a, 3, axis=-1) if a.shape[-1] == 1 else a
            for a in arrays
        ]
    return arrays


def _stack_images(arrays, names, where):
    """Stacks decoded images, refusing mixed sizes and unifying channels."""
    if len({array.shape[-1] for array in arrays}) > 1:
        logger.info(
            "%s mixes greyscale and RGB images: converting all to RGB "
            "(pass channels=1 or 3 to choose).", where,
        )
        arrays = _unify_channels(arrays)
    sizes = {}
    for array, name in zip(arrays, names):
        sizes.setdefault(array.shape[:2], []).append(name)
    if len(sizes) > 1:
        by_count = sorted(sizes.items(), key=lambda item: -len(item[1]))
        found = ", ".join(
            f"{h}x{w} ({len(files)} image(s), e.g. "
            f"{os.path.basename(files[0])})"
            for (h, w), files in by_count[:3]
        )
        raise ValueError(
            f"The images in {where} have {len(sizes)} different sizes "
            f"(HxW: {found}); pass image_size=(height, width) to resize them "
            f"all. Received: image_size=None"
        )
    return np.stack(arrays)


def _load_single_image(path, **options):
    _ignore_split(path, options["split"])
    array = _read_image_file(path, options["image_size"], options["channels"])
    if array is None:
        raise ValueError(
            f"Cannot read the image file '{path}' (corrupt or not an "
            f"image). Received: source={path!r}"
        )
    return ImageData(images=array[None], source=path)


# --- tensorflow-datasets -----------------------------------------------------


def _load_tfds(source, **options):
    name, _, split = source[len("tfds:"):].partition(":")
    split = split or options["split"]
    if not name or ":" in split:
        raise ValueError(
            "A tensorflow-datasets source is written 'tfds:<name>' or "
            f"'tfds:<name>:<split>', e.g. 'tfds:mnist:test'. "
            f"Received: source={source!r}"
        )
    try:
        # Imports tensorflow: only when a tfds source is asked for.
        import tensorflow_datasets as tfds
    except ImportError as e:
        raise ImportError(
            f"Loading {source!r} needs the tensorflow-datasets package: "
            f"`pip install tensorflow-datasets`, or pass a local folder, IDX "
            f"or .npz file. Received: source={source!r}"
        ) from e

    try:
        builder = tfds.builder(name)
    except tfds.core.registered.DatasetNotFoundError as e:
        known = tfds.list_builders(with_community_datasets=False)
        close = difflib.get_close_matches(name, known, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise ValueError(
            f"Unknown tensorflow-datasets dataset {name!r}; see "
            f"`tfds.list_builders()` for the names.{hint} "
            f"Received: source={source!r}"
        ) from e
    if not builder.is_prepared():
        # Downloading here would retry for minutes without a network, with
        # nothing said: the data is prepared once, on purpose, instead.
        raise ValueError(
            f"The tensorflow-datasets dataset {name!r} is not prepared in "
            f"'{builder.data_dir}'. Prepare it once on a machine with a "
            f"network (`tfds build {name}`, or "
            f"`tfds.builder({name!r}).download_and_prepare()`), then copy its "
            f"folder here or point TFDS_DATA_DIR at it; or pass a local "
            f"folder, IDX or .npz file. Received: source={source!r}"
        )
    info = builder.info
    if info.splits and re.split(r"[\[+]", split)[0] not in info.splits:
        raise ValueError(
            f"The tensorflow-datasets dataset {name!r} has the splits "
            f"{', '.join(sorted(info.splits))}, not {split!r}. "
            f"Received: split={split!r}"
        )
    image_key = "image" if "image" in info.features else None
    if image_key is None:
        image_key = next(
            (
                key for key, feature in info.features.items()
                if isinstance(feature, tfds.features.Image)
            ),
            None,
        )
    if image_key is None:
        raise ValueError(
            f"The tensorflow-datasets dataset {name!r} has no image feature "
            f"(features: {', '.join(info.features)}). "
            f"Received: source={source!r}"
        )
    label_key = "label" if "label" in info.features else None
    max_images = options["max_images"]
    split_spec = split if max_images is None else f"{split}[:{max_images}]"
    images, labels = [], []
    examples = tfds.as_numpy(builder.as_dataset(split=split_spec))
    for example in itertools.islice(examples, max_images):
        image = _to_uint8_images(example[image_key][None], source)
        image = _convert_array(
            image, options["image_size"], options["channels"]
        )
        images.append(image[0])
        if label_key is not None:
            labels.append(example[label_key])
    if not images:
        raise ValueError(
            f"The split {split!r} of {name!r} holds no images. "
            f"Received: source={source!r}"
        )
    class_names = None
    if label_key is not None:
        class_names = getattr(info.features[label_key], "names", None)
    return ImageData(
        images=_stack_images(images, [f"#{i}" for i in range(len(images))],
                             source),
        labels=None if label_key is None else np.asarray(labels, np.int32),
        class_names=class_names,
        source=f"tfds:{name}:{split}",
    )
