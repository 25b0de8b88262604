"""The callbacks of a `kerasgen train` run: sample grids (translation strips
for a family that translates), checkpoints, the loss log, the progress line.

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
import shutil
import sys
import time

import click
import keras
import numpy as np

from kerasgen.utils.images import make_grid
from kerasgen.utils.images import make_strips
from kerasgen.utils.images import save_png
from kerasgen.utils.images import upscale
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


class Diverged(RuntimeError):
    """Training produced a non-finite loss or weight at `step`."""

    def __init__(self, step, name, value):
        super().__init__(f"Training diverged at step {step}: {name} is {value}")
        self.step = step
        self.name = name
        self.value = value


def _non_finite_log(logs):
    """The first `(name, value)` of `logs` that is not a finite number."""
    for key in sorted(logs):
        try:
            value = float(logs[key])
        except (TypeError, ValueError):
            continue
        if not np.isfinite(value):
            return key, value
    return None


def non_finite_variable(model):
    """The path of the first variable of `model` (its weights, then its
    optimizers' slots) holding a NaN or an infinity, or None."""
    variables = list(model.variables)
    if getattr(model, "optimizer", None) is not None:
        variables += list(model.optimizer.variables)
    for variable in variables:
        value = keras.ops.convert_to_numpy(variable.value)
        if np.issubdtype(value.dtype, np.floating) and not np.isfinite(value).all():
            return getattr(variable, "path", variable.name)
    return None


class FiniteGuard(_StepCallback):
    """Raises `Diverged` at the first batch whose logs (the losses) are NaN
    or infinite, or, on the steps where something is written from the
    weights (`weight_steps`: the sample and checkpoint intervals, and
    `total`), whose weights are. The logs are on the host already (the
    loss log writes them), so checking them every batch costs nothing; the
    weights are copied to the host only on those steps. It runs first among
    the callbacks, so nothing is written for that batch.

    With `skip_batches` > 0 it keeps, at each of those steps where all is
    finite, a copy of the weights and optimizer slots in host memory (all
    variables but the step counts), and a bad batch puts them back instead
    of raising, up to `skip_batches` times: the updates since that copy are
    undone, the step count goes on, and the batch's logs are emptied (an
    empty row in the loss log).
    """

    def __init__(self, weight_steps=(), total=0, *, skip_batches=0):
        super().__init__(every=1, total=total)
        self.weight_steps = [max(1, int(every)) for every in weight_steps]
        self.skip_batches = int(skip_batches)
        self.skipped = 0
        self._copy = None

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        if self.skip_batches:
            self._take_copy(self.model)

    def _variables(self, model):
        variables = list(model.variables) + list(model.optimizer.variables)
        # The step counts (`.../iteration`) go on: callbacks and every-k
        # steps count from them.
        return [v for v in variables if v.path.rpartition("/")[2] != "iteration"]

    def _take_copy(self, model):
        self._copy = (self.step, [
            np.array(keras.ops.convert_to_numpy(v.value))
            for v in self._variables(model)])

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        logs = logs if logs is not None else {}
        bad = _non_finite_log(logs)
        if bad is None and (self.step >= self.total or any(
                self.step % every == 0 for every in self.weight_steps)):
            model = self.model  # on JAX: syncs the state
            name = non_finite_variable(model)
            if name is None:
                if self.skip_batches:
                    self._take_copy(model)
                return
            bad = ("the weight", f"not finite ({name})")
        if bad is None:
            return
        if self.skipped >= self.skip_batches or self._copy is None:
            raise Diverged(self.step, *bad)
        self.skipped += 1
        # On JAX, reading `self.model` syncs the state onto the variables
        # and makes the next batch read them back: the assignments hold.
        model = self.model
        step, values = self._copy
        for variable, value in zip(self._variables(model), values):
            variable.assign(value)
        logger.warning(
            "step %d: %s is %s: skipped, weights back to step %d (%d of %d)",
            self.step, bad[0], bad[1], step, self.skipped, self.skip_batches,
        )
        logs.clear()


class Checkpoint(_StepCallback):
    """Saves the whole model (with its optimizers) every `every` steps and at
    the last one, replacing `path` atomically: a run killed while saving
    keeps its previous checkpoint. A model with a non-finite weight is
    never saved: `Diverged` is raised instead, and the last finite
    checkpoint stays. `on_save()` is called after each save."""

    def __init__(self, path, every, total, *, on_save=None):
        super().__init__(every, total)
        self.path = os.fspath(path)
        self.saved_step = None
        self.on_save = on_save

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self.saved_step = self.step

    def on_interval(self, logs):
        self.save()

    def on_train_end(self, logs=None):
        if self.step != self.saved_step:
            self.save()

    def save(self):
        model = self.model  # on JAX: syncs the training state first
        bad = non_finite_variable(model)
        if bad is not None:
            raise Diverged(self.step, "the weight", f"not finite ({bad})")
        with atomic_write(self.path) as tmp:
            model.save(tmp)
        self.saved_step = self.step
        if self.on_save is not None:
            self.on_save()
        # DEBUG: a line on stderr would break the live progress bar.
        logger.debug("step %d: checkpoint %s", self.step, self.path)


class RunClock:
    """The training wall time of a run across resumes, in
    `<run>/timing.json`: one segment per `kerasgen train` invocation (steps
    from and to, seconds, backend, host), rewritten atomically after each
    checkpoint, so that the total stays true for a run that was
    interrupted (the steps after its last checkpoint are trained again,
    and counted again). What a preset's card reports as training time.

    Example:

    ```python
    import os, tempfile
    path = os.path.join(tempfile.mkdtemp(), "timing.json")
    clock = RunClock(path, start_step=0, backend="jax")
    clock.update(500)  # after the checkpoint of step 500: writes the file
    [s["end_step"] for s in RunClock(path, 500, "jax").segments]  # [500, 500]
    ```
    """

    def __init__(self, path, start_step, backend):
        import json

        from kerasgen.utils.machine import machine_info

        self.path = os.fspath(path)
        self.segments = []
        try:
            with open(self.path) as file:
                self.segments = list(json.load(file)["segments"])
        except (OSError, ValueError, KeyError, TypeError):
            pass  # a fresh run (or an unreadable file: start the count again)
        # A run started afresh (--overwrite) keeps no segment past its start.
        self.segments = [s for s in self.segments if s.get("end_step", 0) <= start_step]
        self.segment = {"start_step": int(start_step), "end_step": int(start_step),
                        "seconds": 0.0, "backend": backend, "machine": machine_info()}
        self.segments.append(self.segment)
        self.started = time.monotonic()

    @property
    def total_seconds(self):
        return round(sum(s["seconds"] for s in self.segments), 1)

    def update(self, step):
        import json

        self.segment["end_step"] = int(step)
        self.segment["seconds"] = round(time.monotonic() - self.started, 1)
        with atomic_write(self.path) as tmp:
            with open(tmp, "w") as file:
                json.dump({"train_seconds": self.total_seconds,
                           "segments": self.segments}, file, indent=1)


class SampleGrid(_StepCallback):
    """Writes a grid of `model.sample(n, seed=seed)` to
    `folder/step_000500.png` (and to TensorBoard), enlarged to at least
    512 pixels (`kerasgen.utils.images.upscale`). The seed is fixed, so the
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

    def picture(self):
        """The `uint8` picture to write."""
        return upscale(make_grid(self.model.sample(self.n, seed=self.seed)))

    def write(self):
        grid = self.picture()
        path = os.path.join(self.folder, f"step_{self.step:06d}.png")
        save_png(grid, path)
        self.last_path = path
        if self.summary is not None:
            self.summary.image("samples", grid, self.step)
        logger.debug("step %d: samples %s", self.step, path)


class SwapGrid(SampleGrid):
    """`SampleGrid` for a family that swaps structure and texture: writes
    `model.swap_figure(structure_images, texture_images)` (the textures
    along the top, the structures down the left) on images fixed for the
    whole run.

    Example:

    ```python
    import numpy as np
    grid = SwapGrid("samples", 100, 500, structure_images=np.zeros((2, 8, 8, 3)),
                    texture_images=np.zeros((3, 8, 8, 3)))
    grid.texture_images.shape  # (3, 8, 8, 3)
    ```
    """

    def __init__(self, folder, every, total, *, structure_images, texture_images,
                 summary=None):
        super().__init__(folder, every, total, n=len(structure_images), summary=summary)
        self.structure_images = np.asarray(structure_images, np.float32)
        self.texture_images = np.asarray(texture_images, np.float32)

    def picture(self):
        images, nrow = self.model.swap_figure(self.structure_images, self.texture_images)
        return upscale(make_grid(images, nrow=nrow))


class AudioSamples(SampleGrid):
    """`SampleGrid` for a family that makes audio: writes `model.sample(n,
    seed)` as `folder/step_000500/sample_00.wav`, ... and their waveforms
    and spectrograms as `folder/step_000500.png` (and to TensorBoard, as
    audio and as the picture).

    Example:

    ```python
    samples = AudioSamples("samples", 100, 500, n=4, sample_rate=8000)
    samples.sample_rate  # 8000
    ```
    """

    def __init__(self, folder, every, total, *, n=8, seed=0, sample_rate, summary=None):
        super().__init__(folder, every, total, n=n, seed=seed, summary=summary)
        self.sample_rate = int(sample_rate)

    def write(self):
        from kerasgen.utils.audio import audio_figure
        from kerasgen.utils.audio import write_audio_samples

        waveforms = self.model.sample(self.n, seed=self.seed)
        name = f"step_{self.step:06d}"
        write_audio_samples(os.path.join(self.folder, name), waveforms, self.sample_rate,
                            figure=False)
        figure = audio_figure(waveforms, self.sample_rate)
        path = os.path.join(self.folder, f"{name}.png")
        save_png(figure, path)
        self.last_path = path
        if self.summary is not None:
            self.summary.audio("samples", waveforms, self.sample_rate, self.step)
            self.summary.image("samples", figure, self.step)
        logger.debug("step %d: audio samples %s", self.step, path)


class TranslationStrips(SampleGrid):
    """`SampleGrid` for a family that translates: writes
    `model.translation_rows(images_a, images_b)` (one row per image, e.g.
    `[a, G(a), F(G(a))]` for CycleGAN, `[input, output, target]` for
    Pix2Pix) with `make_strips`: `cols` images per row, enlarged, a caption
    above each group of rows. The images are fixed for the whole run, so
    the strips of one run compare step to step.

    Args:
        folder, every, total, summary: as `SampleGrid`.
        images_a: float32 array `(n, H, W, C)` in [-1, 1]: domain A
            (CycleGAN) or the inputs (Pix2Pix).
        images_b: float32 array `(m, H, W, C)` in [-1, 1]: domain B
            (CycleGAN) or the targets of the inputs (Pix2Pix).
        captions: the model's `strip_captions`: `(title, column names)` for
            the rows of `images_a`, then (when there are two) for those of
            `images_b`. Defaults to none.

    Example:

    ```python
    import numpy as np
    strips = TranslationStrips("samples", 100, 500, images_a=np.zeros((2, 8, 8, 3)),
                               images_b=np.zeros((2, 8, 8, 3)))
    strips.images_a.shape  # (2, 8, 8, 3)
    ```
    """

    def __init__(self, folder, every, total, *, images_a, images_b, captions=(),
                 summary=None):
        super().__init__(folder, every, total, n=len(images_a), summary=summary)
        self.images_a = np.asarray(images_a, np.float32)
        self.images_b = np.asarray(images_b, np.float32)
        self.captions = tuple(captions or ())

    def groups(self, rows):
        """`make_strips` groups: the rows of `images_a`, then of `images_b`,
        each with its caption; one uncaptioned group when the captions do
        not match the rows."""
        counts = [len(self.images_a), len(self.images_b)][:len(self.captions)]
        if not self.captions or sum(counts) != len(rows):
            return None
        return [(count, title, columns)
                for count, (title, columns) in zip(counts, self.captions)]

    def picture(self):
        rows = np.asarray(self.model.translation_rows(self.images_a, self.images_b))
        return make_strips(rows, self.groups(rows))


class LossScaleWatch(keras.callbacks.Callback):
    """Reports, once per update step, a dynamic loss scale (`mixed_float16`;
    the train step logs it as `loss_scale_<step>`) that has fallen below
    `floor`: Keras halves the scale at every step whose scaled gradients
    overflow, so a scale under 1 means the gradients overflow float16 even
    unscaled, and that step's updates are being skipped."""

    def __init__(self, floor=1.0):
        super().__init__()
        self.floor = float(floor)
        self.reported = set()
        self.step = 0

    def on_train_begin(self, logs=None):
        self.step = model_step(self.model)

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        for key, value in (logs or {}).items():
            if not key.startswith("loss_scale_") or key in self.reported:
                continue
            if float(value) < self.floor:
                self.reported.add(key)
                click.echo(
                    f"Warning: step {self.step}: the float16 loss scale of "
                    f"'{key[len('loss_scale_'):]}' fell to {float(value):.3g}: its "
                    "gradients overflow float16 even unscaled, and its updates "
                    "are skipped. Train with --mixed-precision bfloat16 or "
                    "--precision float32.", err=True)


class LossLog(_StepCallback):
    """Appends one CSV row per step (`step,` then the model's logs, e.g.
    `d_loss,g_loss`) to `path`, and the same scalars to TensorBoard, with
    the learning rate of each update step (`lr/<step name>`).

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
        self._rates = learning_rates(self.model) if self.summary is not None else {}

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
            scalars = {key: logs[key] for key in self.columns if key in logs}
            scalars.update((tag, rate(self.step)) for tag, rate in self._rates.items())
            self.summary.scalars(scalars, self.step)

    def on_train_end(self, logs=None):
        self.close()

    def close(self):
        if self._file is not None:
            self._file.close()
            self._file = None
        if self.summary is not None:
            self.summary.flush()


class EvalLog:
    """`--eval-every` results: rows `step,metric,value,std` appended to
    `eval.csv` (rows past `after_step`, written by a run killed after its
    checkpoint, are dropped first) and scalars `eval/<label>` in
    TensorBoard."""

    header = ["step", "metric", "value", "std"]

    def __init__(self, path, *, after_step=0, summary=None):
        self.path = os.fspath(path)
        self.summary = summary
        if os.path.exists(self.path):
            with open(self.path, newline="") as f:
                rows = list(csv.reader(f))[1:]
            kept = [row for row in rows if row and _as_int(row[0]) is not None
                    and _as_int(row[0]) <= after_step]
            if len(kept) != len(rows):
                self._write(kept)
        else:
            self._write([])

    def _write(self, rows):
        with atomic_write(self.path) as tmp:
            with open(tmp, "w", newline="") as f:
                writer = csv.writer(f)
                writer.writerow(self.header)
                writer.writerows(rows)

    def write(self, step, result):
        with open(self.path, "a", newline="") as f:
            writer = csv.writer(f)
            for row in result["rows"]:
                writer.writerow([step, row["label"], _format(row["value"]),
                                 "" if row["std"] is None else _format(row["std"])])
        if self.summary is not None:
            self.summary.scalars({f"eval/{row['label']}": row["value"]
                                  for row in result["rows"]}, step)
            self.summary.flush()


def learning_rates(model):
    """`{"lr/<step name>": rate(step)}`: the learning rate each update step's
    optimizer applies in global step `step` (1 is the first batch).

    Computed, not read: on JAX the optimizers' variables are stale inside
    `fit()` (reading them would sync the whole training state every
    batch). A step that runs `repeat` times on every `every`-th batch has
    made `(step - 1) // every * repeat` updates when batch `step` starts:
    the count its schedule is evaluated at. A constant rate does not change
    during `fit()` and is read once.
    """
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not hasattr(optimizer, "items"):
        return {}
    counts = {
        step.name: (int(getattr(step, "repeat", 1)), int(getattr(step, "every", 1)))
        for step in getattr(model, "all_update_steps", model.update_steps)()
    }
    schedules = keras.optimizers.schedules.LearningRateSchedule
    rates = {}
    for name, child in optimizer.items():
        inner = getattr(child, "inner_optimizer", child)  # LossScaleOptimizer
        rate = getattr(inner, "_learning_rate", None)
        repeat, every = counts.get(name, (1, 1))
        if isinstance(rate, schedules):
            def at(step, schedule=rate, repeat=repeat, every=every):
                updates = max(0, step - 1) // every * repeat
                return float(keras.ops.convert_to_numpy(schedule(updates)))
        elif rate is not None and not callable(rate):
            value = float(keras.ops.convert_to_numpy(rate))

            def at(step, value=value):
                return value
        else:
            continue  # a callable rate: nothing to evaluate it at
        rates[f"lr/{name}"] = at
    return rates


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


class Progress(keras.callbacks.Callback):
    """One progress line for the whole run, across `fit()` calls:

        step 1234/5000 [======>         ]  25% ETA 3:21 | d_loss 0.69 g_loss 0.71

    On a terminal it is redrawn in place (`\\r`, at most 10 times a second);
    otherwise (a log file, a pipe) it is written as one line every tenth of
    the run, every `every` steps (the checkpoints) and at the last step.
    The ETA is from this session's pace since its first step ended (which
    holds the compilation), so a resumed run does not count the steps of
    its checkpoint as done in no time.

    Args:
        start: int. The global step the run starts (or resumes) at.
        total: int. The last step.
        every: int or None. Also write a line every `every` steps when not
            on a terminal. Defaults to None.
        stream: a text stream. Defaults to `sys.stdout` (through click, so
            that a test runner captures it).
        tty: bool or None. Whether to redraw in place; None asks the stream.
    """

    WIDTH = 24
    REDRAW = 0.1

    def __init__(self, start, total, *, every=None, stream=None, tty=None):
        super().__init__()
        self.step = int(start)
        self.total = int(total)
        self.every = int(every) if every else None
        self.tenth = max(1, self.total // 10)
        self._stream = stream
        self.tty = tty
        self._first = None  # (step, time) when this session's first step ended
        self._drawn = 0.0
        self._width = 0
        self._open = False

    def _echo(self, text, nl):
        click.echo(text, file=self._stream, nl=nl)  # None: the stdout of the moment

    def _is_tty(self):
        if self.tty is None:
            stream = self._stream if self._stream is not None else sys.stdout
            self.tty = bool(getattr(stream, "isatty", lambda: False)())
        return self.tty

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        now = time.monotonic()
        if self._first is None:
            self._first = (self.step, now)
        last = self.step >= self.total
        if self._is_tty():
            if last or now - self._drawn >= self.REDRAW:
                self._drawn = now
                self._redraw(self.line(logs or {}, now), end=last)
        elif (last or self.step % self.tenth == 0
              or (self.every and self.step % self.every == 0)):
            self._echo(self.line(logs or {}, now), nl=True)

    def _redraw(self, text, end):
        columns = shutil.get_terminal_size((100, 20)).columns
        text = text[:max(20, columns - 1)]  # a wrapped line cannot be redrawn
        padding = " " * max(0, self._width - len(text))
        self._width = len(text)
        self._open = not end
        self._echo("\r" + text + padding, nl=end)

    def close(self):
        """Ends a line redrawn in place (before another message)."""
        if self._open:
            self._echo("", nl=True)
            self._open = False

    def on_train_end(self, logs=None):
        if self.step >= self.total:
            self.close()

    def line(self, logs, now):
        """The progress line at `self.step`."""
        fraction = min(1.0, self.step / max(1, self.total))
        filled = int(fraction * self.WIDTH)
        bar = "=" * filled + (">" if filled < self.WIDTH else "") + " " * (
            self.WIDTH - filled - 1)
        text = (f"step {self.step}/{self.total} [{bar[:self.WIDTH]}] "
                f"{fraction:4.0%} ETA {self.eta(now)}")
        keys = [k for k in sorted(logs) if "loss" in k] or sorted(logs)
        shown = " ".join(f"{k} {_short(logs[k])}" for k in keys)
        return f"{text} | {shown}" if shown else text

    def eta(self, now):
        """`H:MM:SS` (or `M:SS`) left at this session's pace, `--:--` before
        it is known."""
        if self.step >= self.total:
            return "0:00"
        if self._first is None or self.step <= self._first[0]:
            return "--:--"
        pace = (now - self._first[1]) / (self.step - self._first[0])
        seconds = int(round(pace * (self.total - self.step)))
        hours, rest = divmod(seconds, 3600)
        minutes, seconds = divmod(rest, 60)
        if hours:
            return f"{hours}:{minutes:02d}:{seconds:02d}"
        return f"{minutes}:{seconds:02d}"


def _short(value):
    try:
        return f"{float(value):.4g}"
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
    def create(cls, logdir, step=0):
        """A writer for `logdir`, or None when TensorBoard cannot be written.
        Events past `step` (the checkpoint's: written by a run that was
        killed after it, and about to be done again) are dropped first."""
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
        _trim_events(tf, os.fspath(logdir), step)
        writer = tf.summary.create_file_writer(os.fspath(logdir))
        return cls(tf, writer, os.fspath(logdir))

    def rewind(self, step):
        """Drops the events past `step` (a rollback to that checkpoint) and
        goes on in a new event file."""
        self._writer.flush()
        self._writer.close()
        _trim_events(self._tf, self.logdir, step)
        self._writer = self._tf.summary.create_file_writer(self.logdir)

    def scalars(self, values, step):
        with self._writer.as_default(step=step):
            for key, value in values.items():
                self._tf.summary.scalar(key, float(value))

    def image(self, name, grid, step):
        with self._writer.as_default(step=step):
            self._tf.summary.image(name, grid[None], max_outputs=1)

    def audio(self, name, waveforms, sample_rate, step):
        """Waveforms `(n, length, 1)` in [-1, 1] as TensorBoard audio."""
        with self._writer.as_default(step=step):
            self._tf.summary.audio(name, np.asarray(waveforms, np.float32), int(sample_rate),
                                   max_outputs=len(waveforms))

    def flush(self):
        self._writer.flush()


def _trim_events(tf, logdir, step):
    """Rewrites each event file in `logdir` without its events past `step`,
    so that every step has one point, as in losses.csv."""
    import glob

    from tensorflow.core.util import event_pb2

    for path in sorted(glob.glob(os.path.join(logdir, "events.out.tfevents.*"))):
        kept, dropped = [], 0
        try:
            for record in tf.data.TFRecordDataset(path):
                data = record.numpy()
                if event_pb2.Event.FromString(data).step > step:
                    dropped += 1
                else:
                    kept.append(data)
        except tf.errors.DataLossError:
            dropped += 1  # the torn last record of a killed writer
        if not dropped:
            continue
        with atomic_write(path) as tmp:
            with tf.io.TFRecordWriter(tmp) as writer:
                for data in kept:
                    writer.write(data)
        logger.info("%s: dropped %d events after step %d", path, dropped, step)
