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
- The schedule's length follows the run: with `constant_steps` and
  `decay_steps` left at None, `plan_run(total_steps)` (called by `kerasgen
  train`, and by `fit()` itself when it knows how many steps it will run)
  sets half the run constant and half decaying, as both papers do.
"""

import logging
import math

import keras
import numpy as np
from keras import ops

from kerasgen.layers import random_jitter
from kerasgen.models.interfaces import DataSpec
from kerasgen.training.schedules import ConstantThenLinearDecay
from kerasgen.training import replicas

logger = logging.getLogger("kerasgen.models")

DIRECTIONS = ("a2b", "b2a")
#: junyanz's spelling of the directions.
DIRECTION_ALIASES = {"atob": "a2b", "btoa": "b2a"}


class ImageTranslation:
    """Mixin of the image-to-image families (`CycleGAN`, `Pix2Pix`).

    The family sets `image_size`, `channels`, `learning_rate`, `beta_1`,
    `constant_steps`, `decay_steps` and `jitter`, and lists its step names
    in `optimizer_steps`.
    """

    interfaces = ("translate",)
    #: The papers train with one image per batch.
    default_batch_size = 1
    #: Step names that get an Adam each.
    optimizer_steps = ("generator", "discriminator")
    #: The caption of each group of rows in `translation_rows`: (title,
    #: column names); the first group is the rows of `images_a`, the second
    #: those of `images_b`.
    strip_captions = ()

    # --- Schedule -------------------------------------------------------------------

    def schedule_planned(self):
        """Whether the learning-rate schedule is fixed (set by the user or by
        `plan_run`)."""
        return self.constant_steps is not None or self.decay_steps is not None

    def plan_run(self, total_steps):
        """Fixes the papers' schedule for a run of `total_steps` batches: the
        learning rate constant for the first half, then decaying linearly to
        0 (`constant_steps = total // 2`, `decay_steps` the rest). A schedule
        set already (either argument given) is kept. Call it before
        `compile()`; `fit()` calls it when it knows its length.

        Example:

        ```python
        from kerasgen.models.image_translation.pix2pix import Pix2Pix
        model = Pix2Pix(image_size=8, generator_filters=4,
                        discriminator_filters=4, discriminator_layers=1)
        model.plan_run(1001)
        (model.constant_steps, model.decay_steps)  # (500, 501)
        ```
        """
        total_steps = int(total_steps)
        if total_steps < 1:
            raise ValueError(
                f"A run has at least one step. Received: total_steps={total_steps}"
            )
        if not self.schedule_planned():
            self.constant_steps = total_steps // 2
            self.decay_steps = total_steps - total_steps // 2

    def learning_rate_schedule(self):
        """The learning rate: a float, or `ConstantThenLinearDecay` when
        `decay_steps` is set (0 or None: constant)."""
        if not self.decay_steps:
            return self.learning_rate
        return ConstantThenLinearDecay(
            self.learning_rate, self.constant_steps or 0, self.decay_steps
        )

    def fit(self, x=None, y=None, batch_size=None, epochs=1, steps_per_epoch=None,
            **kwargs):
        # A notebook user calls compile() then fit(epochs=N): the paper's
        # schedule needs N, known only here. Fix it, and rebuild the default
        # optimizers (nothing has been trained yet, so nothing is lost).
        # Optimizers the user passed to compile() are left as they are.
        if (not self.schedule_planned() and getattr(self, "_compiled_with_defaults", False)
                and not self._trained()):
            steps = steps_per_epoch or _batches_per_epoch(x, batch_size)
            if steps is None:
                logger.warning(
                    "%s: the length of this fit() is unknown, so the learning "
                    "rate stays constant; call plan_run(total_steps) before "
                    "compile() for the papers' linear decay.", type(self).__name__)
            else:
                self.plan_run(int(epochs) * int(steps))
                with replicas.creation_scope(self):
                    self.compile(**self._compile_arguments)
        return super().fit(x, y, batch_size=batch_size, epochs=epochs,
                           steps_per_epoch=steps_per_epoch, **kwargs)

    def _trained(self):
        return int(ops.convert_to_numpy(self.optimizer.iterations)) > 0

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
        """`direction` as `"a2b"` or `"b2a"` (junyanz's `AtoB`/`BtoA`
        accepted), else a `ValueError`."""
        value = DIRECTION_ALIASES.get(str(direction).lower(), str(direction).lower())
        if value not in DIRECTIONS:
            raise ValueError(
                "`direction` must be 'a2b' or 'b2a' (or AtoB/BtoA). "
                f"Received: direction={direction!r}"
            )
        return value

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
        return DataSpec(
            "paired_images" if self.paired else "unpaired_images",
            (self.image_size, self.image_size, self.channels),
            direction=self.direction if self.paired else None,
        )

    def translation_endpoint(self, name, network_name, description):
        """An export endpoint `name(images)` running one generator."""
        from kerasgen.models.serving import Endpoint
        from kerasgen.models.serving import Input

        network = self.sampling_network(network_name)
        size, channels = int(self.image_size), int(self.channels)
        return Endpoint(
            name, (Input("images", "float32", (None, size, size, channels)),),
            lambda images: network(images, training=False),
            description=description,
        )


def _batches_per_epoch(x, batch_size):
    """Batches in one pass over `x` (arrays, a tf.data dataset or a
    PyDataset), or None when that is not known."""
    if isinstance(x, np.ndarray):
        return math.ceil(len(x) / (batch_size or 32))
    if isinstance(x, keras.utils.PyDataset):
        try:
            return len(x)
        except TypeError:
            return None
    cardinality = getattr(x, "cardinality", None)
    if callable(cardinality):
        value = int(cardinality())
        return value if value > 0 else None
    return None
