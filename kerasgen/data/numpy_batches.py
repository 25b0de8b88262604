"""Numpy batches for the JAX and PyTorch backends, without TensorFlow."""

import numpy as np
import keras


class NumpyBatches(keras.utils.PyDataset):
    """Shuffled, scaled batches of in-memory uint8 images, as numpy arrays.

    `make_batches()` returns one on every backend but TensorFlow. Batch `i`
    is a pure function of `(seed, i)`: epoch `e` uses the permutation drawn
    from `numpy.random.default_rng([seed, e])`, so the same seed always gives
    the same order, whether the batches are read by `fit()` or by `iter()`.

    Args:
        images: uint8 array `(N, H, W, C)`.
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
