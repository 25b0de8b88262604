"""`make_batches()`: an `ImageData` as batches that `keras.Model.fit` takes.

On TensorFlow a `tf.data.Dataset`; on any other backend (JAX, PyTorch) a
`NumpyBatches` (a `keras.utils.PyDataset`) that never imports TensorFlow.
Both keep the uint8 images in memory and scale each batch to [-1, 1].
"""

from kerasgen.data.image_data import ImageData


def make_batches(
    data, batch_size, *, shuffle=True, seed=0, with_labels=False,
    repeat=True, backend=None,
):
    """Turns an `ImageData` into shuffled batches for `model.fit()`.

    Each batch holds float32 images scaled to [-1, 1] (uint8 0 -> -1.0,
    255 -> 1.0), shape `(batch_size, H, W, C)`, or a tuple
    `(images, labels)` with int32 labels of shape `(batch_size,)` when
    `with_labels=True`. Incomplete batches are dropped, so every batch has
    the same static shape. The same `seed` gives the same order; each epoch
    is a new permutation of all images. The batches are already shuffled, so
    call `fit(..., shuffle=False)`: Keras warns that it ignores `shuffle=True`
    for these inputs.

    Args:
        data: an `ImageData`, e.g. from `load_images()`.
        batch_size: int, images per batch. At most the number of images.
        shuffle: bool, whether to shuffle the images (again every epoch).
            Defaults to `True`.
        seed: int, the shuffling seed. Defaults to 0.
        with_labels: bool, whether to yield `(images, labels)`; `data` must
            have labels. Defaults to `False`.
        repeat: bool. `True` yields batches forever, so pass
            `steps_per_epoch` to `fit()`; `False` stops after one pass of
            `len(data) // batch_size` batches. Defaults to `True`.
        backend: `"tensorflow"` for a `tf.data.Dataset` (prefetched), any
            other backend name (`"jax"`, `"torch"`, `"numpy"`) for a
            `NumpyBatches` that does not import TensorFlow. `None` uses
            `keras.backend.backend()`. Defaults to `None`.

    Returns:
        A `tf.data.Dataset` or a `NumpyBatches` (a `keras.utils.PyDataset`).
        Both can be passed to `fit()` and iterated with `iter()`.

    Example:

    ```python
    from kerasgen.data import load_images, make_batches

    data = load_images(max_images=256)
    batches = make_batches(data, batch_size=32, with_labels=True)
    images, labels = next(iter(batches))
    print(images.shape, labels.shape)  # (32, 8, 8, 1) (32,)
    ```
    """
    if not isinstance(data, ImageData):
        raise TypeError(
            "`data` must be an ImageData, from load_images() or "
            "ImageData(images=uint8_array). "
            f"Received: data of type {type(data).__name__}"
        )
    if (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, int)
        or batch_size < 1
    ):
        raise ValueError(
            "`batch_size` must be a positive integer. "
            f"Received: batch_size={batch_size!r}"
        )
    if batch_size > len(data):
        raise ValueError(
            f"`batch_size` must be at most the number of images "
            f"({len(data)} in {data.source or 'the data'}), since incomplete "
            f"batches are dropped. Received: batch_size={batch_size}"
        )
    if with_labels and data.labels is None:
        raise ValueError(
            f"with_labels=True, but the data from "
            f"{data.source or 'this source'} has no labels (use class "
            f"subfolders, an IDX labels file or a `labels` array). "
            f"Received: with_labels={with_labels}"
        )
    if backend is None:
        import keras

        backend = keras.backend.backend()
    labels = data.labels if with_labels else None
    if backend == "tensorflow":
        return _tf_dataset(
            data.images, labels, batch_size, shuffle, seed, repeat
        )
    from kerasgen.data.numpy_batches import NumpyBatches

    return NumpyBatches(
        data.images, labels, batch_size, shuffle=shuffle, seed=seed,
        repeat=repeat,
    )


def _tf_dataset(images, labels, batch_size, shuffle, seed, repeat):
    # Only the TensorFlow backend pays for importing TensorFlow.
    import tensorflow as tf

    # The uint8 images stay in host memory once; the pipeline shuffles
    # indices and gathers each batch, which is cheaper than shuffling images.
    with tf.device("/CPU:0"):
        images = tf.constant(images)
        labels = None if labels is None else tf.constant(labels, tf.int32)
    dataset = index_stream(images.shape[0], shuffle, seed, repeat)
    dataset = dataset.batch(batch_size, drop_remainder=True)

    def gather(indices):
        batch = tf.cast(tf.gather(images, indices), tf.float32) / 127.5 - 1.0
        if labels is None:
            return batch
        return batch, tf.gather(labels, indices)

    dataset = dataset.map(
        gather, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
    )
    return dataset.prefetch(tf.data.AUTOTUNE)


def index_stream(count, shuffle, seed, repeat=True):
    """A `tf.data.Dataset` of the indices 0..count-1: with `repeat`, endless,
    epoch e in the order drawn from `(seed, e)`; without, one pass, in a new
    order on every pass (`Dataset.shuffle`'s reshuffling). In order without
    `shuffle`.

    The endless stream (what `kerasgen train` reads) is a pure function of
    the seed, as `NumpyBatches`' is, so every iterator of it starts with the
    same batches: `Dataset.shuffle(reshuffle_each_iteration=True)` moves on
    with each new iterator, and Keras makes an extra one under a
    tf.distribute strategy, so the replicas would train on other batches
    than one device.

    Example:

    ```python
    stream = index_stream(4, shuffle=True, seed=0, repeat=False)
    sorted(int(i) for i in stream)  # [0, 1, 2, 3]
    ```
    """
    import tensorflow as tf

    dataset = tf.data.Dataset.range(count)
    if not repeat:
        return dataset.shuffle(count, seed=seed, reshuffle_each_iteration=True) \
            if shuffle else dataset
    if not shuffle:
        return dataset.repeat()

    def epoch(e):
        order = tf.random.experimental.stateless_shuffle(
            tf.range(count, dtype=tf.int64),
            seed=tf.stack([tf.constant(seed, tf.int64), e]))
        return tf.data.Dataset.from_tensor_slices(order)

    endless = tf.data.Dataset.counter().flat_map(epoch)
    return endless.apply(tf.data.experimental.assert_cardinality(tf.data.INFINITE_CARDINALITY))
