"""Numpy batches for the JAX and PyTorch backends, without TensorFlow."""

import numpy as np
import keras

from kerasgen.data.image_data import to_unit_range


class NumpyBatches(keras.utils.PyDataset):
    """Shuffled batches of in-memory arrays, as numpy arrays: uint8 images
    scaled to [-1, 1], float arrays (waveforms) as they are.

    `make_batches()` returns one on every backend but TensorFlow. Batch `i`
    is a pure function of `(seed, i)`: epoch `e` uses the permutation drawn
    from `numpy.random.default_rng([seed, e])`, so the same seed always gives
    the same order, whether the batches are read by `fit()` or by `iter()`.

    Args:
        images: uint8 array `(N, H, W, C)`, or a float array.
        labels: int32 array `(N,)`, or `None` to yield images only.
        batch_size: int, images per batch (incomplete batches are dropped).
        shuffle: bool, shuffle every epoch. Defaults to `True`.
        seed: int, the shuffling seed. Defaults to 0.
        repeat: bool, `True` for an endless stream (`num_batches` is
            `None`), `False` for one epoch per pass. Defaults to `True`.
        **kwargs: `workers`, `use_multiprocessing`, `max_queue_size`, passed
            to `keras.utils.PyDataset`.
    """

    def __init__(
        self, images, labels, batch_size, *, shuffle=True, seed=0,
        repeat=True, **kwargs,
    ):
        super().__init__(**kwargs)
        self.images = images
        self.labels = labels
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.repeat = repeat
        self.steps_per_epoch = len(images) // batch_size
        self._epoch = 0  # Finite mode: which epoch the next pass reads.
        self._order = (None, None)  # Cache: (epoch, permutation).

    @property
    def num_batches(self):
        return None if self.repeat else self.steps_per_epoch

    def __len__(self):
        if self.repeat:
            raise TypeError(
                "These batches repeat forever (repeat=True) and have no "
                "length; pass steps_per_epoch to fit()."
            )
        return self.steps_per_epoch

    def _permutation(self, epoch):
        cached_epoch, order = self._order
        if cached_epoch != epoch:
            if self.shuffle:
                rng = np.random.default_rng([self.seed, epoch])
                order = rng.permutation(len(self.images))
            else:
                order = np.arange(len(self.images))
            self._order = (epoch, order)
        return order

    def __getitem__(self, index):
        if self.repeat:
            epoch, step = divmod(index, self.steps_per_epoch)
        elif 0 <= index < self.steps_per_epoch:
            epoch, step = self._epoch, index
        else:
            raise IndexError(
                f"Batch index out of range: there are {self.steps_per_epoch} "
                f"batches per epoch. Received: index={index}"
            )
        order = self._permutation(epoch)
        indices = order[step * self.batch_size:(step + 1) * self.batch_size]
        batch = self.images[indices].astype(np.float32)
        if self.images.dtype == np.uint8:  # float data (waveforms) is as is
            batch /= np.float32(127.5)
            batch -= np.float32(1.0)
        if self.labels is None:
            return batch
        return batch, self.labels[indices]

    def __iter__(self):
        if self.repeat:
            index = 0
            while True:
                yield self[index]
                index += 1
        for index in range(self.steps_per_epoch):
            yield self[index]
        self.on_epoch_end()

    def on_epoch_end(self):
        self._epoch += 1


class PairBatches(NumpyBatches):
    """`(a_batch, b_batch)` numpy batches of two image sets, for `fit()`.

    `make_pair_batches()` returns one on every backend but TensorFlow. Each
    set is an endless stream of permutations, permutation `e` of set `k`
    drawn from `numpy.random.default_rng([seed, k, e])` (`k` is 0 for both
    sets when `paired=True`, so pairs stay aligned), so batch `i` is a pure
    function of `(seed, i)`.

    Args:
        images_a: uint8 array `(N_a, H, W, C)`.
        images_b: uint8 array `(N_b, H, W, C)`; `N_b == N_a` when paired.
        batch_size: int, images per batch.
        paired: bool, whether to shuffle both sets with one permutation.
        shuffle: bool. Defaults to `True`.
        seed: int. Defaults to 0.
        repeat: bool, endless (`True`) or one epoch per pass.
            Defaults to `True`.
        **kwargs: passed to `keras.utils.PyDataset`.
    """

    def __init__(
        self, images_a, images_b, batch_size, *, paired, shuffle=True,
        seed=0, repeat=True, **kwargs,
    ):
        super().__init__(
            images_a, None, batch_size, shuffle=shuffle, seed=seed,
            repeat=repeat, **kwargs,
        )
        self.images_b = images_b
        self.paired = paired
        self.steps_per_epoch = (
            max(len(images_a), len(images_b)) // batch_size
        )
        self._orders = {}  # (stream, epoch) -> permutation, a few kept.

    def _stream_indices(self, stream, size, start):
        """Indices `start .. start + batch_size` of an endless stream."""
        positions = np.arange(start, start + self.batch_size)
        epochs, offsets = np.divmod(positions, size)
        indices = np.empty(self.batch_size, np.int64)
        for epoch in np.unique(epochs):
            key = (stream, int(epoch))
            order = self._orders.get(key)
            if order is None:
                if self.shuffle:
                    rng = np.random.default_rng([self.seed, stream, epoch])
                    order = rng.permutation(size)
                else:
                    order = np.arange(size)
                if len(self._orders) > 8:
                    self._orders = {}
                self._orders[key] = order
            mask = epochs == epoch
            indices[mask] = order[offsets[mask]]
        return indices

    def __getitem__(self, index):
        if self.repeat:
            position = index
        elif 0 <= index < self.steps_per_epoch:
            position = self._epoch * self.steps_per_epoch + index
        else:
            raise IndexError(
                f"Batch index out of range: there are {self.steps_per_epoch} "
                f"batches per epoch. Received: index={index}"
            )
        start = position * self.batch_size
        indices_a = self._stream_indices(0, len(self.images), start)
        if self.paired:
            indices_b = indices_a
        else:
            indices_b = self._stream_indices(1, len(self.images_b), start)
        return (
            to_unit_range(self.images[indices_a]),
            to_unit_range(self.images_b[indices_b]),
        )
