"""`kerasgen train FAMILY`: train a family with `fit()`, with sample grids,
checkpoints, a loss log and resume.

A run lives in one folder, `runs/<name>/` by default:

    config.json        the resolved configuration (model and training)
    checkpoint.keras   the whole model with its optimizers, replaced atomically
    losses.csv         one row per step: step, then the family's losses
    samples/           step_000500.png ... grids from fixed latents (for the
                       image-to-image families: strips of fixed test images)
    tensorboard/       scalars and sample grids, when TensorFlow is installed

Image-to-image families (CycleGAN, Pix2Pix: a `data_spec()` with
"pairing") read two aligned or unaligned sets with `kerasgen.data.pairs`
(junyanz's `trainA/ trainB/` folders, or side-by-side A|B images), train
on batches of `(a, b)`, and draw `samples/` as rows of
`model.translation_rows(a, b)`. Their batch size defaults to the family's
`default_batch_size` (1, as in the papers), and a fresh run that does not
`--set` them gets `constant_steps = total // 2` and `decay_steps = total -
total // 2` (the learning rate constant for half the run, then decaying
linearly to zero).

Training is Keras's own `fit()`: an "epoch" is one checkpoint interval
(`steps_per_epoch = --checkpoint-every`), `epochs` covers `--steps`, and a
resumed run starts at `initial_epoch` from its checkpoint's
`optimizer.iterations`, so the step count goes on from there.
"""

import datetime
import inspect
import json
import logging
import math
import os
import shlex
import sys

import click

from kerasgen.cli import config as config_lib
from kerasgen.cli.main import LIBRARY_ERRORS
from kerasgen.cli.main import UsageMistake
from kerasgen.cli.main import UserError
from kerasgen.cli.main import backend_option
from kerasgen.cli.main import debug_option
from kerasgen.cli.main import load_checkpoint
from kerasgen.cli.main import select_backend
from kerasgen.cli.main import usage_mistake
from kerasgen.cli.main import user_errors
from kerasgen.utils.seed import set_random_seed

logger = logging.getLogger("kerasgen.cli")

# Defaults of the training options (the model's defaults are its signature).
DEFAULT_STEPS = 500
DEFAULT_BATCH_SIZE = 64
DEFAULT_SEED = 0
DEFAULT_SAMPLE_EVERY = 100
DEFAULT_CHECKPOINT_EVERY = 500
DEFAULT_NUM_SAMPLES = 64
# Images per domain in the translation strips of the image-to-image families.
MAX_STRIP_IMAGES = 4

TRAIN_DEFAULTS = {
    "steps": DEFAULT_STEPS,
    "batch_size": DEFAULT_BATCH_SIZE,
    "seed": DEFAULT_SEED,
    "sample_every": DEFAULT_SAMPLE_EVERY,
    "checkpoint_every": DEFAULT_CHECKPOINT_EVERY,
    "num_samples": DEFAULT_NUM_SAMPLES,
    "tensorboard": True,
}
# Options restored from config.json on --resume unless given again.
RESUMABLE = (
    "data", "steps", "epochs", "batch_size", "seed", "sample_every",
    "checkpoint_every", "num_samples", "tensorboard",
)
# With no --data, the families whose paper configuration is too heavy for a
# CPU demo train a small one on the embedded digits (each key can still be
# --set): `kerasgen train cyclegan` must finish in a couple of minutes.
EMBEDDED_DATA_SETTINGS = {
    "cyclegan": dict(image_size=32, generator_filters=16,
                     discriminator_filters=16, num_residual_blocks=3),
    "pix2pix": dict(image_size=32, generator_filters=16,
                    discriminator_filters=16),
}
# Command-line options that set a constructor argument of the same meaning.
MODEL_OPTIONS = {"lr": "learning_rate", "beta1": "beta_1", "direction": "direction"}
# Constructor arguments of the learning-rate schedule that a fresh run sets
# from its length when the user does not (--set).
SCHEDULE_KEYS = ("constant_steps", "decay_steps")
DIRECTIONS = ("a2b", "b2a")
# junyanz's spelling, accepted as well.
_DIRECTION_ALIASES = {"atob": "a2b", "btoa": "b2a"}


class TrainingError(RuntimeError):
    """An error raised inside `fit()`: shown with its traceback."""


@click.command()
@click.argument("family")
@click.option("--data", "--dataroot", "data", default=None, metavar="SOURCE",
              help="Image folder, MNIST IDX files, a .npz file or tfds:<name>. "
                   "Default: scikit-learn's handwritten digits (offline).")
@click.option("--steps", type=click.IntRange(min=1), default=None,
              help=f"Total training steps (batches). Default: {DEFAULT_STEPS}.")
@click.option("--epochs", type=click.IntRange(min=1), default=None,
              help="Total passes over the data (instead of --steps).")
@click.option("--batch-size", type=click.IntRange(min=1), default=None,
              help="Images (or image pairs) per step. Default: the family's "
                   "`default_batch_size` (1 for cyclegan and pix2pix, as in "
                   f"the papers), else {DEFAULT_BATCH_SIZE}.")
@click.option("--seed", type=int, default=DEFAULT_SEED, show_default=True,
              help="Seeds weights, data order, training noise and sample latents.")
@click.option("--name", default=None, help="Run name. Default: the family's name.")
@click.option("--out", type=click.Path(file_okay=False, path_type=str), default=None,
              help="Run folder. Default: runs/<name>.")
@click.option("--set", "assignments", multiple=True, metavar="KEY=VALUE",
              help="A constructor argument of the family, e.g. --set latent_dim=64. "
                   "Repeatable.")
@click.option("--lr", type=float, default=None,
              help="Learning rate (the family's `learning_rate`).")
@click.option("--beta1", type=float, default=None,
              help="Adam beta_1 (the family's `beta_1`).")
@click.option("--direction", type=str, default=None, metavar="a2b|b2a",
              callback=lambda ctx, param, value: _direction(value),
              help="Pix2Pix: which half of the pairs is the input (the "
                   "family's `direction`; AtoB/BtoA also accepted).")
@click.option("--resume", is_flag=True,
              help="Continue the run from <out>/checkpoint.keras.")
@click.option("--overwrite", is_flag=True,
              help="Start afresh in a run folder that holds a checkpoint.")
@click.option("--sample-every", type=click.IntRange(min=1), default=DEFAULT_SAMPLE_EVERY,
              show_default=True, help="Write a sample grid every N steps.")
@click.option("--checkpoint-every", type=click.IntRange(min=1),
              default=DEFAULT_CHECKPOINT_EVERY, show_default=True,
              help="Save the checkpoint every N steps (also the length of a "
                   "progress-bar epoch).")
@click.option("--num-samples", type=click.IntRange(min=1), default=None,
              help=f"Images in each sample grid (default {DEFAULT_NUM_SAMPLES}); for "
                   "the image-to-image families, fixed test images per domain "
                   f"in each strip (at most and by default {MAX_STRIP_IMAGES}).")
@click.option("--tensorboard/--no-tensorboard", default=True, show_default=True,
              help="Write TensorBoard logs (needs TensorFlow and TensorBoard).")
@backend_option
@debug_option
@click.pass_context
@user_errors
def train(ctx, family, **options):
    """Train FAMILY (see `kerasgen families`) and write a run folder.

    Example: kerasgen train dcgan --steps 2000 --set latent_dim=64
    """
    select_backend(options.pop("backend"))
    run = _Run(ctx, family, options)
    run.execute()


class _Run:
    def __init__(self, ctx, family, options):
        self.ctx = ctx
        self.family = family
        self.options = options
        self.spec = {}

    def given(self, name):
        """Whether an option was given on the command line."""
        source = self.ctx.get_parameter_source(name)
        return source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")

    def execute(self):
        import keras

        from kerasgen.models import get_family

        options = self.options
        try:
            cls = get_family(self.family)
        except ValueError as error:
            raise usage_mistake(error) from error
        defaults = config_lib.constructor_defaults(cls)
        overrides = self._model_overrides(defaults)
        name = options["name"] or self.family.lower()
        folder = options["out"] or os.path.join("runs", name)
        checkpoint_path = os.path.join(folder, "checkpoint.keras")
        saved = self._previous_run(folder, checkpoint_path)
        self._restore_train_options(saved)

        # === Model ===
        if options["resume"]:
            model = load_checkpoint(checkpoint_path)
            if type(model) is not cls:
                raise UsageMistake(
                    f"{checkpoint_path} holds a {type(model).__name__}, not a "
                    f"{cls.__name__}. Received: family={self.family}"
                )
            self._check_resume_overrides(model, defaults, overrides)
            model_config = saved.get("model") or _config_of(model, defaults)
            click.echo(f"Resumed {checkpoint_path} at step {_steps_done(model)}")
        else:
            missing = [
                key for key, value in defaults.items()
                if value is inspect.Parameter.empty and key not in overrides
            ]
            if missing:
                raise UsageMistake(
                    f"Family '{self.family}' needs --set for {', '.join(missing)}. "
                    f"Received: --set {' '.join(options['assignments']) or '(none)'}"
                )
            if options["epochs"] is None:
                overrides.update(self._schedule(
                    defaults, overrides, options["steps"] or DEFAULT_STEPS
                ))
            model = self._build(cls, overrides)
            model_config = {**defaults, **overrides}
        done = _steps_done(model)

        # === Data ===
        spec = self.spec = model.data_spec()
        self._resolve_sampling_options(cls, spec)
        batch_size = options["batch_size"]
        data = (_PairSets if spec.pairing else _ImageSet)(self, model, spec)
        total = data.total(batch_size)
        if not options["resume"] and options["epochs"] is not None:
            schedule = self._schedule(defaults, overrides, total)
            if schedule:
                # With --epochs, the run's length is known once the data is.
                overrides.update(schedule)
                model = self._build(cls, overrides)
                model_config = {**defaults, **overrides}
        decay_end = (getattr(model, "constant_steps", None) or 0) + (
            getattr(model, "decay_steps", None) or 0)
        if options["resume"] and getattr(model, "decay_steps", None) and total > decay_end:
            raise UsageMistake(
                f"The checkpoint's learning rate decays to 0 at step {decay_end} "
                f"(constant_steps + decay_steps), so steps after it would not "
                f"change the weights. Resume with --steps {decay_end} at most, or "
                f"start a new run (--name) with more steps. Received: --steps {total}"
            )
        train_config = {key: options[key] for key in RESUMABLE}

        # === Config ===
        if options["overwrite"]:
            _clear_run(folder)
        self._print_config(cls, name, folder, model_config, defaults, train_config,
                           data.describe(), total, done)
        os.makedirs(folder, exist_ok=True)
        self._write_config(folder, cls, name, model_config, defaults, train_config,
                           total)
        if done >= total:
            click.echo(
                f"The run is at step {done}, which is --steps {total} or more: "
                "nothing to train. Pass a larger --steps to go on."
            )
            return

        # === Train ===
        from kerasgen.cli import callbacks as callbacks_lib

        summary = None
        if options["tensorboard"]:
            summary = callbacks_lib.SummaryWriter.create(
                os.path.join(folder, "tensorboard")
            )
        interval = min(options["checkpoint_every"], total)
        samples = data.sample_callback(
            os.path.join(folder, "samples"), min(options["sample_every"], total),
            total, summary,
        )
        checkpoint = callbacks_lib.Checkpoint(checkpoint_path, interval, total)
        losses = callbacks_lib.LossLog(os.path.join(folder, "losses.csv"),
                                       summary=summary)
        logger.info(
            "training %s from step %d to %d on %s (%d steps per epoch)",
            cls.__name__, done, total, keras.backend.backend(), interval,
        )
        stopper = callbacks_lib.StopAtStep(total)
        callbacks = [losses, samples, checkpoint, stopper]
        try:
            for start, stop, epoch_steps in epoch_segments(done, total, interval):
                stopper.total = stop
                # A fresh, seeded stream per fit() call, so that a partial
                # epoch does not replay the first batches of the previous one.
                batches = data.batches(batch_size, seed=options["seed"] + start)
                model.fit(
                    batches,
                    # `epochs` counts the whole run, so that the progress
                    # bar reads "Epoch 3/4"; `stopper` ends this call at `stop`.
                    initial_epoch=start // interval,
                    epochs=math.ceil(total / interval),
                    steps_per_epoch=epoch_steps,
                    callbacks=callbacks,
                    shuffle=False,  # make_batches shuffles
                    verbose=1 if sys.stdout.isatty() else 2,
                )
        except LIBRARY_ERRORS as error:
            # Input was checked before training started: an error from inside
            # fit() is a bug, so it keeps its traceback.
            raise TrainingError(
                f"Training stopped at step {losses.step} with an error: {error}"
            ) from error
        except KeyboardInterrupt:
            losses.close()
            click.echo(
                f"\nInterrupted at step {losses.step}. The last checkpoint is "
                f"step {checkpoint.saved_step}, in {checkpoint_path}. Continue with:\n"
                f"  {self._resume_command(name, folder)}",
                err=True,
            )
            sys.exit(130)
        click.echo(f"Run folder:  {folder}")
        click.echo(f"Samples:     {samples.last_path}")
        click.echo(f"Checkpoint:  {checkpoint_path} (step {checkpoint.saved_step})")
        click.echo(f"Losses:      {losses.path}")
        if summary is not None:
            click.echo(f"TensorBoard: tensorboard --logdir {summary.logdir}")

    # --- helpers ------------------------------------------------------------------

    def _build(self, cls, overrides):
        set_random_seed(self.options["seed"])
        model = cls(**overrides)
        model.compile()
        return model

    def _schedule(self, defaults, overrides, total):
        """`constant_steps`/`decay_steps` for a fresh run of `total` steps,
        for a family that has them and where the user did not --set them:
        half the run at a constant learning rate, then half decaying to 0."""
        if not all(key in defaults for key in SCHEDULE_KEYS):
            return {}
        values = {"constant_steps": total // 2, "decay_steps": total - total // 2}
        return {key: value for key, value in values.items() if key not in overrides}

    def _resolve_sampling_options(self, cls, spec):
        """Fills the defaults of --batch-size and --num-samples, which depend
        on the family (a resumed run has them from its config.json)."""
        options = self.options
        if options["batch_size"] is None:
            options["batch_size"] = _default_batch_size(cls)
        if spec.pairing:
            if options["num_samples"] is None:
                options["num_samples"] = MAX_STRIP_IMAGES
            elif options["num_samples"] > MAX_STRIP_IMAGES:
                logger.info(
                    "--num-samples %d: the translation strips show at most %d "
                    "test images per domain.", options["num_samples"],
                    MAX_STRIP_IMAGES,
                )
                options["num_samples"] = MAX_STRIP_IMAGES
        elif options["num_samples"] is None:
            options["num_samples"] = DEFAULT_NUM_SAMPLES

    def total_steps(self, steps_per_epoch):
        """The run's length: --steps, or --epochs passes of `steps_per_epoch`."""
        if self.options["epochs"] is not None:
            return self.options["epochs"] * steps_per_epoch
        return self.options["steps"] or DEFAULT_STEPS

    def _previous_run(self, folder, checkpoint_path):
        """Checks the run folder against --resume/--overwrite; returns the
        saved config.json on resume (or {})."""
        options = self.options
        has_checkpoint = os.path.isfile(checkpoint_path)
        if options["resume"] and options["overwrite"]:
            raise UsageMistake("Pass --resume or --overwrite, not both.")
        if options["resume"]:
            if not has_checkpoint:
                raise UsageMistake(
                    f"Nothing to resume: {checkpoint_path} does not exist. "
                    f"Start the run without --resume (or check --name/--out). "
                    f"Received: --resume with run folder {folder}"
                )
            saved = _read_json(os.path.join(folder, "config.json"))
            if saved.get("family") not in (None, self.family.lower()):
                raise UsageMistake(
                    f"The run in {folder} trains '{saved['family']}', not "
                    f"'{self.family}'. Received: family={self.family}"
                )
            return saved
        if has_checkpoint and not options["overwrite"]:
            raise UsageMistake(
                f"{folder} already holds a run (checkpoint.keras). Pass "
                f"--resume to continue it, --overwrite to start it again, "
                f"or --name for a new run. Received: run folder={folder}"
            )
        return {}

    def _restore_train_options(self, saved):
        """On resume, training options not given again come from config.json."""
        options = self.options
        for key in RESUMABLE:
            if not self.given(key) and key in saved.get("train", {}):
                options[key] = saved["train"][key]
        if self.given("steps") and not self.given("epochs"):
            options["epochs"] = None
        if self.given("epochs") and not self.given("steps"):
            options["steps"] = None
        if options["steps"] is not None and options["epochs"] is not None:
            raise UsageMistake(
                "Pass --steps or --epochs, not both. Received: "
                f"--steps {options['steps']} --epochs {options['epochs']}"
            )

    def _model_overrides(self, defaults):
        options = self.options
        try:
            overrides = config_lib.parse_assignments(
                options["assignments"], defaults, self.family
            )
        except ValueError as error:
            raise usage_mistake(error) from error
        for option, key in MODEL_OPTIONS.items():
            if options[option] is None:
                continue
            if key not in defaults:
                raise UsageMistake(
                    f"Family '{self.family}' has no {key!r}, so --{option} does "
                    f"not apply. Received: --{option} {options[option]}"
                )
            if key in overrides:
                raise UsageMistake(
                    f"--{option} and --set {key}=... both set {key!r}; pass one."
                )
            overrides[key] = options[option]
        if options["data"] is None and not options["resume"]:
            for key, value in EMBEDDED_DATA_SETTINGS.get(self.family.lower(), {}).items():
                overrides.setdefault(key, value)
        if "seed" in defaults and "seed" not in overrides and not options["resume"]:
            # --seed seeds the family's training noise too (a resumed model
            # keeps the seed of its checkpoint).
            overrides["seed"] = options["seed"]
        return overrides

    def _check_resume_overrides(self, model, defaults, overrides):
        current = _config_of(model, defaults)
        changed = [
            key for key, value in overrides.items()
            if not config_lib.same_value(value, current.get(key))
        ]
        if changed:
            raise UsageMistake(
                "A resumed run keeps the model of its checkpoint; these "
                f"settings differ from it: {', '.join(changed)}. Start a new run "
                f"(--name) to change them. Received: "
                + ", ".join(f"{k}={overrides[k]!r}" for k in changed)
            )

    def _print_config(self, cls, name, folder, model_config, defaults, train_config,
                      data_lines, total, done):
        lines = [f"kerasgen train {self.family}: run '{name}' in {folder}"]
        lines += config_lib.format_config(
            f"model ({cls.__name__}):", model_config, defaults
        )
        embedded = (
            "(embedded) pairs made from scikit-learn digits" if self.spec.pairing
            else "(embedded) scikit-learn digits"
        )
        shown = dict(train_config, data=train_config["data"] or embedded)
        if shown["epochs"] is None:
            shown.pop("epochs")
            shown["steps"] = total
        else:
            shown["steps"] = f"{total} ({shown['epochs']} epochs)"
        train_defaults = dict(
            TRAIN_DEFAULTS, data=embedded, batch_size=_default_batch_size(cls),
            num_samples=(MAX_STRIP_IMAGES if self.spec.pairing
                         else DEFAULT_NUM_SAMPLES),
        )
        lines += config_lib.format_config("training:", shown, train_defaults)
        lines += [f"  {line}" for line in data_lines]
        lines.append(f"  steps done: {done} of {total}")
        click.echo("\n".join(lines))

    def _write_config(self, folder, cls, name, model_config, defaults, train_config,
                      total):
        import keras

        import kerasgen
        from kerasgen.utils.io import atomic_write

        record = {
            "family": self.family.lower(),
            "class": cls.__name__,
            "name": name,
            "model": _jsonable(model_config),
            "model_changed": config_lib.changed_keys(model_config, defaults),
            "train": _jsonable(train_config),
            "total_steps": total,
            "backend": keras.backend.backend(),
            "versions": {
                "kerasgen": getattr(kerasgen, "__version__", None),
                "keras": keras.__version__,
                "python": sys.version.split()[0],
            },
            "command": "kerasgen " + " ".join(
                shlex.quote(a) for a in (self.ctx.find_root().obj or {}).get(
                    "argv", sys.argv[1:])
            ),
            "written": datetime.datetime.now(datetime.timezone.utc).isoformat(
                timespec="seconds"
            ),
        }
        with atomic_write(os.path.join(folder, "config.json")) as tmp:
            with open(tmp, "w") as f:
                json.dump(record, f, indent=2, sort_keys=False)
                f.write("\n")

    def _resume_command(self, name, folder):
        parts = ["kerasgen", "train", self.family]
        if self.options["out"]:
            parts += ["--out", folder]
        elif self.options["name"]:
            parts += ["--name", name]
        return " ".join(shlex.quote(p) for p in parts + ["--resume"])


class _ImageSet:
    """The data of a sampling family: one set of images, with labels for the
    class-conditional ones; samples are grids of `model.sample`."""

    def __init__(self, run, model, spec):
        from kerasgen.data import load_images

        self.run = run
        self.with_labels = spec.with_labels
        data = self.data = load_images(
            run.options["data"], image_size=spec.image_size,
            channels=spec.channels,
        )
        cls = type(model)
        if self.with_labels and data.labels is None:
            raise UserError(
                f"This {cls.__name__} is class-conditional (num_classes="
                f"{getattr(model, 'num_classes', '?')}) but the data has no "
                f"labels. Received: data={data.source}"
            )
        model_classes = getattr(model, "num_classes", 0) or 0
        if self.with_labels and data.num_classes and data.num_classes > model_classes:
            raise UsageMistake(
                f"The data has {data.num_classes} classes but the model "
                f"num_classes={model_classes}; use --set "
                f"num_classes={data.num_classes}. Received: data={data.source}"
            )

    def total(self, batch_size):
        data = self.data
        if batch_size > len(data.images):
            raise UsageMistake(
                f"--batch-size is larger than the data ({len(data.images)} "
                f"images in {data.source}). Received: --batch-size {batch_size}"
            )
        return self.run.total_steps(len(data.images) // batch_size)

    def describe(self):
        data = self.data
        return [
            f"{len(data.images)} images of {data.image_shape} from {data.source}"
            + (f" ({data.skipped} unreadable skipped)" if data.skipped else "")
        ]

    def batches(self, batch_size, seed):
        from kerasgen.data import make_batches

        return make_batches(
            self.data, batch_size, shuffle=True, seed=seed,
            with_labels=self.with_labels, repeat=True,
        )

    def sample_callback(self, folder, every, total, summary):
        from kerasgen.cli.callbacks import SampleGrid

        options = self.run.options
        return SampleGrid(
            folder, every, total, n=options["num_samples"], seed=options["seed"],
            summary=summary,
        )


class _PairSets:
    """The data of an image-to-image family (`data_spec()["pairing"]`): two
    sets of images, aligned pairs (Pix2Pix, in the model's direction) or two
    unaligned domains (CycleGAN), trained on as batches of `(a, b)`;
    samples are strips of `model.translation_rows` on fixed test images."""

    def __init__(self, run, model, spec):
        from kerasgen.data import pairs

        self.run = run
        self.paired = spec.pairing == "paired"
        self.direction = spec.direction
        self.source = run.options["data"]
        self.load_options = dict(image_size=spec.image_size, channels=spec.channels)
        if self.paired:
            self.load_options["direction"] = self.direction
        self._load = pairs.load_paired if self.paired else pairs.load_unpaired
        self.data_a, self.data_b = self._load(self.source, **self.load_options)

    def total(self, batch_size):
        from kerasgen.data import pairs

        smallest = min(len(self.data_a), len(self.data_b))
        if batch_size > smallest:
            raise UsageMistake(
                f"--batch-size is larger than the data ({self._count()}). "
                f"Received: --batch-size {batch_size}"
            )
        return self.run.total_steps(
            pairs.pair_steps_per_epoch(self.data_a, self.data_b, batch_size)
        )

    def _count(self):
        if self.paired:
            return f"{len(self.data_a)} pairs in {self.data_a.source}"
        return (
            f"{len(self.data_a)} images A in {self.data_a.source}, "
            f"{len(self.data_b)} images B in {self.data_b.source}"
        )

    def describe(self):
        a, b = self.data_a, self.data_b
        skipped = a.skipped + b.skipped
        note = f" ({skipped} unreadable skipped)" if skipped else ""
        if self.paired:
            return [
                f"{len(a)} pairs of {a.image_shape} from {a.source} (direction "
                f"{self.direction}: inputs {self.direction[0].upper()}, targets "
                f"{self.direction[-1].upper()}){note}"
            ]
        return [
            f"{len(a)} images A of {a.image_shape} from {a.source}",
            f"{len(b)} images B of {b.image_shape} from {b.source}{note}",
        ]

    def batches(self, batch_size, seed):
        from kerasgen.data import pairs

        return pairs.make_pair_batches(
            self.data_a, self.data_b, batch_size, paired=self.paired,
            shuffle=True, seed=seed, repeat=True,
        )

    def strip_images(self, n):
        """Up to `n` fixed images per domain for the strips: from the test
        split (testA/ testB/, test/) where the source has one, else the
        first training images. Returns `(images_a, images_b, where)`."""
        from kerasgen.data import to_unit_range

        test = None
        if self.source is not None:
            try:
                test = self._load(
                    self.source, split="test", max_images=n, **self.load_options
                )
            except (ValueError, FileNotFoundError, NotADirectoryError) as error:
                logger.debug("no test split for the strips: %s", error)
        if test is None:
            test, where = (self.data_a, self.data_b), "the first training images"
        else:
            where = "the test split"
        # Pairs stay aligned: both sets have the same length.
        return (
            to_unit_range(test[0].images[:n]), to_unit_range(test[1].images[:n]), where
        )

    def sample_callback(self, folder, every, total, summary):
        from kerasgen.cli.callbacks import TranslationStrips

        images_a, images_b, where = self.strip_images(self.run.options["num_samples"])
        logger.info(
            "sample strips: %d + %d fixed images from %s",
            len(images_a), len(images_b), where,
        )
        return TranslationStrips(
            folder, every, total, images_a=images_a, images_b=images_b,
            summary=summary,
        )


def _default_batch_size(cls):
    """The family's `default_batch_size` (the paper's), else 64."""
    return getattr(cls, "default_batch_size", None) or DEFAULT_BATCH_SIZE


def _direction(value):
    """--direction as `a2b`/`b2a` (junyanz's AtoB/BtoA accepted)."""
    if value is None:
        return None
    lowered = value.lower()
    lowered = _DIRECTION_ALIASES.get(lowered, lowered)
    if lowered not in DIRECTIONS:
        raise click.BadParameter(
            f"expected a2b or b2a (or AtoB/BtoA). Received: --direction {value}"
        )
    return lowered


def epoch_segments(done, total, interval):
    """Splits steps `done..total` into `fit()` calls of whole epochs.

    An epoch is `interval` steps and ends on a multiple of `interval`; a run
    that starts or stops between two multiples gets a shorter epoch there,
    in a `fit()` call of its own, so that the progress bar counts the steps
    that really ran.

    Returns:
        A list of `(start, stop, steps_per_epoch)`.

    Example:

    ```python
    epoch_segments(6, 25, 10)  # [(6, 10, 4), (10, 20, 10), (20, 25, 5)]
    ```
    """
    segments = []
    start = done
    if start % interval and start < total:
        stop = min(total, (start // interval + 1) * interval)
        segments.append((start, stop, stop - start))
        start = stop
    whole = (total // interval) * interval
    if whole > start:
        segments.append((start, whole, interval))
        start = whole
    if total > start:
        segments.append((start, total, total - start))
    return segments


def _config_of(model, defaults):
    config = model.get_config()
    return {key: config.get(key, value) for key, value in defaults.items()}


def _steps_done(model):
    from kerasgen.cli.callbacks import model_step

    return model_step(model)


def _read_json(path):
    if not os.path.exists(path):
        return {}
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as error:
        raise UserError(f"Cannot read {path}: {error}") from error


def _clear_run(folder):
    import shutil

    for entry in ("checkpoint.keras", "losses.csv", "config.json"):
        path = os.path.join(folder, entry)
        if os.path.exists(path):
            os.remove(path)
    for entry in ("samples", "tensorboard"):
        path = os.path.join(folder, entry)
        if os.path.isdir(path):
            shutil.rmtree(path)


def _jsonable(values):
    def convert(value):
        if isinstance(value, (str, int, float, bool)) or value is None:
            return value
        if isinstance(value, (list, tuple)):
            return [convert(v) for v in value]
        if isinstance(value, dict):
            return {str(k): convert(v) for k, v in value.items()}
        return repr(value)

    return {key: convert(value) for key, value in values.items()}
