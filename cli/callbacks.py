"""The callbacks of a `kerasgen train` run: sample grids (translation strips
for the image-to-image families), checkpoints, the loss log.

Every callback counts the global step, the model's
`optimizer.iterations` (saved in the checkpoint), so that a resumed run goes
on numbering from where its checkpoint stopped, and writes on the multiples
of its interval plus once at the last step.

On JAX, reading `self.model` inside a batch callback copies the training
state back onto the model's variables (`jax_state_sync`). The callbacks
touch `self.model` only on the steps where they write, and count steps
themselves in between.
"""

import csv
import logging
import os
import sys

import keras
import numpy as np

from kerasgen.utils.images import make_grid
from kerasgen.utils.images import save_png
from kerasgen.utils.io import atomic_write

logger = logging.getLogger("kerasgen.cli")


def model_step(model):
    """Training steps done so far: the model's `optimizer.iterations`."""
    if getattr(model, "optimizer", None) is None:
        return 0
    return int(keras.ops.convert_to_numpy(model.optimizer.iterations))


class _StepCallback(keras.callbacks.Callback):
    """Keeps `self.step`, the global step after the batch that just ended."""

    def __init__(self, every, total):
        super().__init__()
        self.every = max(1, int(every))
        self.total = int(total)
        self.step = 0

    def on_train_begin(self, logs=None):
        self.step = model_step(self.model)

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        if self.step % self.every == 0 or self.step >= self.total:
            self.on_interval(logs or {})

    def on_interval(self, logs):
        pass


class StopAtStep(_StepCallback):
    """Stops `fit()` once the global step reaches `total`.

    `fit()` runs whole epochs of `steps_per_epoch` batches; the last one (or
    the first one of a resumed run) may need to end early.
    """

    def __init__(self, total):
        super().__init__(every=total, total=total)

    def on_interval(self, logs):
        if self.step >= self.total:
            # `_model`, not `model`: no JAX state sync is needed to set a flag.
            self._model.stop_training = True


class Checkpoint(_StepCallback):
    """Saves the whole model (with its optimizers) every `every` steps and at
    the last one, replacing `path` atomically: a run killed while saving
    keeps its previous checkpoint."""

    def __init__(self, path, every, total):
        super().__init__(every, total)
        self.path = os.fspath(path)
        self.saved_step = None

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self.saved_step = self.step

    def on_interval(self, logs):
        self.save()

    def on_train_end(self, logs=None):
        if self.step != self.saved_step:
            self.save()

    def save(self):
        with atomic_write(self.path) as tmp:
            self.model.save(tmp)
        self.saved_step = self.step
        # DEBUG: a line on stderr would break the live progress bar.
        logger.debug("step %d: checkpoint %s", self.step, self.path)


class SampleGrid(_StepCallback):
    """Writes a grid of `model.sample(n, seed=seed)` to
    `folder/step_000500.png` (and to TensorBoard). The seed is fixed, so the
    grids of one run show the same latents from step to step."""

    def __init__(self, folder, every, total, *, n=64, seed=0, summary=None):
        super().__init__(every, total)
        self.folder = os.fspath(folder)
        self.n = int(n)
        self.seed = seed
        self.summary = summary
        self.last_path = None

    def on_interval(self, logs):
        self.write()

    def images(self):
        """`(images, nrow)`: the batch to tile and its images per row
        (None: a square grid)."""
        return self.model.sample(self.n, seed=self.seed), None

    def write(self):
        images, nrow = self.images()
        grid = make_grid(images, nrow=nrow)
        path = os.path.join(self.folder, f"step_{self.step:06d}.png")
        save_png(grid, path)
        self.last_path = path
        if self.summary is not None:
            self.summary.image("samples", grid, self.step)
        logger.debug("step %d: samples %s", self.step, path)


class TranslationStrips(SampleGrid):
    """`SampleGrid` for the image-to-image families: writes
    `model.translation_rows(images_a, images_b)` (one row per image, e.g.
    `[a, G(a), F(G(a))]` for CycleGAN, `[input, output, target]` for
    Pix2Pix) as a grid of `cols` images per row. The images are fixed for
    the whole run, so the strips of one run compare step to step.

    Args:
        folder, every, total, summary: as `SampleGrid`.
        images_a: float32 array `(n, H, W, C)` in [-1, 1]: domain A
            (CycleGAN) or the inputs (Pix2Pix).
        images_b: float32 array `(m, H, W, C)` in [-1, 1]: domain B
            (CycleGAN) or the targets of the inputs (Pix2Pix).

    Example:

    ```python
    import numpy as np
    strips = TranslationStrips("samples", 100, 500, images_a=np.zeros((2, 8, 8, 3)),
                               images_b=np.zeros((2, 8, 8, 3)))
    strips.images_a.shape  # (2, 8, 8, 3)
    ```
    """

    def __init__(self, folder, every, total, *, images_a, images_b, summary=None):
        super().__init__(folder, every, total, n=len(images_a), summary=summary)
        self.images_a = np.asarray(images_a, np.float32)
        self.images_b = np.asarray(images_b, np.float32)

    def images(self):
        rows = np.asarray(self.model.translation_rows(self.images_a, self.images_b))
        cols = rows.shape[1]
        return rows.reshape((-1,) + rows.shape[2:]), cols


class LossLog(_StepCallback):
    """Appends one CSV row per step (`step,` then the model's logs, e.g.
    `d_loss,g_loss`) to `path`, and the same scalars to TensorBoard.

    On a resumed run the file is kept and appended to without a second
    header; rows after the checkpoint's step (written by the run that was
    interrupted, whose steps are done again) are dropped first.
    """

    def __init__(self, path, *, summary=None):
        super().__init__(every=1, total=0)
        self.path = os.fspath(path)
        self.summary = summary
        self.columns = None
        self._file = None
        self._writer = None

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self.columns = self._trim_existing()
        new_file = self.columns is None
        self._file = open(self.path, "a", newline="")
        self._writer = csv.writer(self._file)
        self._needs_header = new_file

    def _trim_existing(self):
        """Drops rows past the current step; returns the header's columns."""
        if not os.path.exists(self.path) or os.path.getsize(self.path) == 0:
            return None
        with open(self.path, newline="") as f:
            rows = list(csv.reader(f))
        if not rows or not rows[0] or rows[0][0] != "step":
            raise ValueError(
                f"{self.path} is not a kerasgen loss log (its first row is "
                f"not a header starting with 'step'). Move it away, or start "
                f"a new run with --name. Received: first row={rows[:1]}"
            )
        header, body = rows[0], rows[1:]
        kept = [row for row in body if row and _as_int(row[0]) <= self.step]
        if len(kept) != len(body):
            with atomic_write(self.path) as tmp:
                with open(tmp, "w", newline="") as f:
                    csv.writer(f).writerows([header] + kept)
            logger.info(
                "%s: dropped %d rows after step %d (the checkpoint's step)",
                self.path, len(body) - len(kept), self.step,
            )
        return header[1:]

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        logs = logs or {}
        if self.columns is None:
            self.columns = sorted(logs)
        if self._needs_header:
            self._writer.writerow(["step"] + self.columns)
            self._needs_header = False
        self._writer.writerow(
            [self.step] + [_format(logs.get(key)) for key in self.columns]
        )
        self._file.flush()
        if self.summary is not None:
            self.summary.scalars(
                {key: logs[key] for key in self.columns if key in logs}, self.step
            )

    def on_train_end(self, logs=None):
        self.close()

    def close(self):
        if self._file is not None:
            self._file.close()
            self._file = None
        if self.summary is not None:
            self.summary.flush()


def _as_int(text):
    try:
        return int(text)
    except ValueError:
        return float("inf")


def _format(value):
    if value is None:
        return ""
    try:
        return f"{float(value):.6g}"
    except (TypeError, ValueError):
        return str(value)


class SummaryWriter:
    """TensorBoard scalars and images through `tf.summary`.

    TensorFlow is imported here only, lazily: on the JAX backend it is used
    when it is installed (and kept off the GPU), and `create` returns None
    when it or TensorBoard is missing.
    """

    def __init__(self, tf, writer, logdir):
        self._tf = tf
        self._writer = writer
        self.logdir = logdir

    @classmethod
    def create(cls, logdir):
        """A writer for `logdir`, or None when TensorBoard cannot be written."""
        try:
            import tensorboard  # noqa: F401  (tf.summary needs its ops)
        except ImportError:
            logger.warning(
                "TensorBoard is not installed: no TensorBoard logs "
                "(pip install tensorboard, or pass --no-tensorboard)."
            )
            return None
        if "tensorflow" not in sys.modules:
            # Imported for TensorBoard only: keep its C++ start-up chatter quiet.
            os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        try:
            import tensorflow as tf
        except ImportError:
            logger.info("TensorFlow is not installed: no TensorBoard logs.")
            return None
        if keras.backend.backend() != "tensorflow":
            try:
                # JAX owns the accelerator; TensorFlow only writes files.
                tf.config.set_visible_devices([], "GPU")
            except (RuntimeError, ValueError):
                pass
        writer = tf.summary.create_file_writer(os.fspath(logdir))
        return cls(tf, writer, os.fspath(logdir))

    def scalars(self, values, step):
        with self._writer.as_default(step=step):
            for key, value in values.items():
                self._tf.summary.scalar(key, float(value))

    def image(self, name, grid, step):
        with self._writer.as_default(step=step):
            self._tf.summary.image(name, grid[None], max_outputs=1)

    def flush(self):
        self._writer.flush()
