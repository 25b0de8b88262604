"""The image history buffer of Shrivastava et al. 2017, as CycleGAN uses it.

CycleGAN updates its discriminators "using a history of generated images
rather than the ones produced by the latest generators" (Zhu et al. 2017,
section 4): a pool of the last 50 generated images. Until the pool is full
each new image is stored and returned; after that, each new image is
returned with probability 1/2, and otherwise a random stored image is
returned and replaced by the new one (the authors' `ImagePool`).
"""

import keras
from keras import ops
from kerasgen.training import replicas


@keras.saving.register_keras_serializable(package="kerasgen")
class ImagePool(keras.layers.Layer):
    """A pool of past generated images, held in (non-trainable) variables.

    The pool is part of the model's state: it is saved in `.keras` files
    and carried through the JAX train step like BatchNorm statistics.

    Args:
        pool_size: int. Images kept. 0 turns the pool off (`query` returns
            its input). Defaults to 50.
        image_shape: tuple `(H, W, C)`, the shape of one image.

    Example:

    ```python
    import numpy as np
    import keras
    pool = ImagePool(pool_size=2, image_shape=(4, 4, 3))
    seed = keras.random.SeedGenerator(0)
    images = np.ones((2, 4, 4, 3), "float32")
    out = pool.query(images, seed)  # the pool fills up first
    bool(np.allclose(out, images)), int(pool.count.value)  # (True, 2)
    ```
    """

    def __init__(self, pool_size=50, image_shape=None, **kwargs):
        super().__init__(**kwargs)
        self.pool_size = int(pool_size)
        self.image_shape = tuple(image_shape)
        self.images = self.add_weight(
            shape=(max(self.pool_size, 1),) + self.image_shape,
            initializer="zeros", trainable=False, name="images",
        )
        self.count = self.add_weight(
            shape=(), initializer="zeros", dtype="int32", trainable=False,
            name="count",
        )
        self.built = True

    def query(self, images, seed_generator):
        """Images to show the discriminator, one per input image; updates
        the pool. No gradient flows through it."""
        images = ops.stop_gradient(ops.cast(images, self.images.dtype))
        if self.pool_size == 0:
            return images
        # One pool for the global batch: under a tf.distribute strategy
        # every replica runs the same update on all replicas' images, in
        # batch order, and keeps its own rows of what comes back.
        images = replicas.gather(images)
        batch_size = ops.shape(images)[0]
        # Draw every random number up front: one coin and one slot each.
        coins = keras.random.uniform((batch_size,), seed=seed_generator)
        slots = keras.random.randint(
            (batch_size,), 0, self.pool_size, seed=seed_generator
        )

        def one_image(i, state):
            pool, count, returned = state
            image = images[i]
            filling = count < self.pool_size
            swap = ops.logical_and(ops.logical_not(filling), coins[i] > 0.5)
            slot = ops.where(filling, ops.minimum(count, self.pool_size - 1), slots[i])
            stored = pool[slot]
            # Filling: store the image, return it. Full: with probability
            # 1/2 return a stored image and store the new one in its slot,
            # else return the new image and leave the pool as it is.
            out = ops.where(swap, stored, image)
            write = ops.logical_or(filling, swap)
            new_slot_value = ops.where(write, image, stored)
            pool = ops.slice_update(
                pool, (slot, 0, 0, 0), ops.expand_dims(new_slot_value, 0)
            )
            returned = ops.slice_update(
                returned, (i, 0, 0, 0), ops.expand_dims(out, 0)
            )
            count = ops.minimum(count + 1, self.pool_size)
            return pool, count, returned

        pool, count, returned = ops.fori_loop(
            0, batch_size, one_image,
            (self.images.value, self.count.value, ops.zeros_like(images)),
        )
        self.images.assign(pool)
        self.count.assign(count)
        return replicas.local_part(returned)

    def call(self, images):
        raise NotImplementedError("Use `ImagePool.query(images, seed_generator)`.")

    def get_config(self):
        config = super().get_config()
        config.update(pool_size=self.pool_size, image_shape=list(self.image_shape))
        return config
