"""What CycleGAN and pix2pix share: image-to-image models trained on
`(images_a, images_b)` batches.

- `fit()` takes batches `(a, b)`: unpaired domain A and B images for
  CycleGAN, aligned `(inputs, targets)` pairs for pix2pix
  (`kerasgen.data.load_unpaired`, `load_paired`, `make_pair_batches`).
- Both papers train with Adam(2e-4, beta_1=0.5) at a constant learning rate
  for half the run, then decay it linearly to zero
  (`ConstantThenLinearDecay`), and jitter and mirror the images.
- Inference is `translate(images)`, in inference mode: deterministic, and
  what the exported signatures serve.
"""

import keras
import numpy as np
from keras import ops

from kerasgen.layers import random_jitter
from kerasgen.training.schedules import ConstantThenLinearDecay


class ImageTranslation:
    """Mixin of the image-to-image families (`CycleGAN`, `Pix2Pix`).

    The family sets `image_size`, `channels`, `learning_rate`, `beta_1`,
    `constant_steps`, `decay_steps` and `jitter`, and lists its step names
    in `optimizer_steps`.
    """

    #: The papers train with one image per batch.
    default_batch_size = 1
    #: Step names that get an Adam each.
    optimizer_steps = ("generator", "discriminator")

    def learning_rate_schedule(self):
        """The learning rate: a float, or `ConstantThenLinearDecay` when
        `decay_steps` is set."""
        if self.decay_steps is None:
            return self.learning_rate
        return ConstantThenLinearDecay(
            self.learning_rate, self.constant_steps or 0, self.decay_steps
        )

    def default_optimizers(self):
        return {
            name: keras.optimizers.Adam(
                self.learning_rate_schedule(), beta_1=self.beta_1,
                name=f"{name}_adam",
            )
            for name in self.optimizer_steps
        }

    def prepare_batch(self, data):
        """Random jitter (resize to 286/256 of the size, random crop) and
        mirroring; an aligned pair gets the same crop and mirror."""
        images_a, images_b, _ = keras.utils.unpack_x_y_sample_weight(data)
        if not self.jitter:
            return images_a, images_b
        if self.paired:
            both = ops.concatenate([images_a, images_b], axis=-1)
            both = random_jitter(both, self.seed_generator)
            channels = ops.shape(images_a)[-1]
            return both[..., :channels], both[..., channels:]
        return (random_jitter(images_a, self.seed_generator),
                random_jitter(images_b, self.seed_generator))

    def _check_direction(self, direction):
        if direction not in ("a2b", "b2a"):
            raise ValueError(
                "`direction` must be 'a2b' or 'b2a'. "
                f"Received: direction={direction!r}"
            )

    def _run(self, network, images, batch_size):
        """A network applied in inference mode to numpy images, in batches."""
        images = np.asarray(images, dtype="float32")
        expected = (self.image_size, self.image_size, self.channels)
        if images.ndim != 4 or images.shape[1:] != expected:
            raise ValueError(
                f"{type(self).__name__} translates images of shape (N,) + "
                f"{expected} in [-1, 1]. Received: images.shape={images.shape}"
            )
        out = [
            ops.convert_to_numpy(network(images[i:i + batch_size], training=False))
            for i in range(0, len(images), batch_size)
        ]
        return np.concatenate(out).astype("float32")

    def data_spec(self):
        spec = {
            "image_size": self.image_size,
            "channels": self.channels,
            "with_labels": False,
            "pairing": "paired" if self.paired else "unpaired",
        }
        if self.paired:
            spec["direction"] = self.direction
        return spec
