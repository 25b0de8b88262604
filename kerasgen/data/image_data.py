"""The in-memory image set every loader returns, and the pixel scaling."""

import dataclasses

import numpy as np


@dataclasses.dataclass(repr=False)
class ImageData:
    """A set of images held in memory as uint8, with optional integer labels.

    `load_images()` returns one; `make_batches()` turns one into batches for
    `fit()`. You can also build one from your own arrays.

    Args:
        images: uint8 array of shape `(N, H, W, C)` with `C` in `(1, 3)`,
            values 0..255.
        labels: int array of shape `(N,)`, or `None` for unlabelled data.
            Stored as int32. Defaults to `None`.
        class_names: names of the classes, label `i` is `class_names[i]`, or
            `None`. Defaults to `None`.
        source: a short description of where the images came from.
            Defaults to `""`.
        skipped: how many unreadable files the loader skipped. Defaults to 0.

    Example:

    ```python
    import numpy as np
    from kerasgen.data import ImageData

    data = ImageData(np.zeros((4, 8, 8, 1), "uint8"), labels=[0, 1, 0, 1])
    print(data.image_shape, data.num_classes)  # (8, 8, 1) 2
    ```
    """

    images: np.ndarray
    labels: np.ndarray = None
    class_names: list = None
    source: str = ""
    skipped: int = 0

    def __post_init__(self):
        images = np.asarray(self.images)
        if images.dtype != np.uint8:
            raise TypeError(
                "ImageData.images must be a uint8 array with values 0..255; "
                "convert floats with `from_unit_range` or `astype('uint8')`. "
                f"Received: images.dtype={images.dtype}"
            )
        if images.ndim != 4 or images.shape[-1] not in (1, 3):
            raise ValueError(
                "ImageData.images must have shape (N, H, W, C) with C in "
                f"(1, 3). Received: images.shape={images.shape}"
            )
        self.images = images
        if self.labels is not None:
            labels = np.asarray(self.labels)
            if labels.shape != (len(images),):
                raise ValueError(
                    "ImageData.labels must have shape (N,) with N the number "
                    f"of images ({len(images)}). "
                    f"Received: labels.shape={labels.shape}"
                )
            if labels.size and not np.issubdtype(labels.dtype, np.integer):
                raise TypeError(
                    "ImageData.labels must be integers. "
                    f"Received: labels.dtype={labels.dtype}"
                )
            self.labels = labels.astype(np.int32)
        if self.class_names is not None:
            self.class_names = [str(name) for name in self.class_names]
        if self.labels is not None and self.labels.size:
            # Checked here, where every loader ends: an out-of-range label
            # crashes deep in TensorFlow's gather and trains silently on JAX
            # (which clamps indices).
            bad = np.flatnonzero(self.labels < 0)
            if bad.size:
                raise ValueError(
                    f"Labels are class indices 0..K-1, but {bad.size} of the "
                    f"{len(self.labels)} labels are negative (e.g. "
                    f"{int(self.labels[bad[0]])} at index {int(bad[0])}). "
                    f"Received: source={self.source!r}"
                )
            if self.class_names and self.labels.max() >= len(self.class_names):
                high = int(self.labels.max())
                raise ValueError(
                    f"There are {len(self.class_names)} class names but a "
                    f"label of {high}: labels must be 0.."
                    f"{len(self.class_names) - 1}. Received: source={self.source!r}"
                )

    @property
    def num_classes(self):
        """Number of classes: `len(class_names)`, else `max(labels) + 1`,
        else 0 for unlabelled data."""
        if self.class_names:
            return len(self.class_names)
        if self.labels is not None and len(self.labels):
            return int(self.labels.max()) + 1
        return 0

    @property
    def image_shape(self):
        """The shape of one image, `(H, W, C)`."""
        return tuple(self.images.shape[1:])

    def __len__(self):
        return len(self.images)

    def __repr__(self):
        h, w, c = self.image_shape
        return (
            f"ImageData(source={self.source!r}, images={len(self)}x{h}x{w}x{c}"
            f" uint8, num_classes={self.num_classes}, skipped={self.skipped})"
        )


def to_unit_range(images):
    """Scales uint8 pixels 0..255 to float32 in [-1, 1].

    0 maps to -1.0 and 255 to 1.0 exactly (`x / 127.5 - 1`).

    Args:
        images: array-like of uint8 (or integer) pixel values.

    Returns:
        A float32 numpy array of the same shape.

    Example:

    ```python
    import numpy as np
    from kerasgen.data import to_unit_range

    print(to_unit_range(np.array([0, 255], "uint8")))  # [-1.  1.]
    ```
    """
    images = np.asarray(images, dtype=np.float32)
    return images / np.float32(127.5) - np.float32(1.0)


def from_unit_range(images):
    """Maps float images in [-1, 1] back to uint8 pixels 0..255.

    Values outside [-1, 1] are clipped; the result is rounded to the nearest
    integer, so `from_unit_range(to_unit_range(x))` gives `x` back.

    Args:
        images: array-like of floats in [-1, 1] (numpy array or a tensor
            that `np.asarray` accepts).

    Returns:
        A uint8 numpy array of the same shape.

    Example:

    ```python
    import numpy as np
    from kerasgen.data import from_unit_range

    print(from_unit_range(np.array([-1.0, 0.0, 1.0])))  # [  0 128 255]
    ```
    """
    images = np.clip(np.asarray(images, dtype=np.float32), -1.0, 1.0)
    return np.rint((images + 1.0) * 127.5).astype(np.uint8)
