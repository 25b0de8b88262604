"""`kerasgen train FAMILY`: train a family with `fit()`, with sample grids,
checkpoints, a loss log and resume.

A run lives in one folder, `runs/<name>/` by default:

    config.json        the resolved configuration (model and training)
    checkpoint.keras   the whole model with its optimizers, replaced atomically
    losses.csv         one row per step: step, then the family's losses
    samples/           step_000500.png ... grids from fixed latents (for a
                       family that translates: strips of fixed test images)
    tensorboard/       scalars, learning rates and the same pictures, when
                       TensorFlow is installed

Nothing here names a family: what a run does follows from what the family
declares (`kerasgen.training.GenerativeModel`): its constructor's signature
and docstring give the options (`--image-size`, ... and `--set`), its
`recipes["demo"]` the configuration used on the built-in digits, its
`default_batch_size` the batch size, `data_spec().kind` the loader, its
`interfaces` the sample writer (a grid of `sample`, or strips of
`translation_rows`), and `plan_run(total_steps)`, called before
`compile()`, whatever depends on the run's length (a learning-rate
schedule).

`kerasgen train` is a click group with one command per family, listed from
the registry's source index (no import); a family's module is imported only
when its command runs (or shows its --help).

Training is one Keras `fit()` per segment of the run (one per training
phase the family declares, `model.phases()`; one for most), each entered
with `model.enter_phase`, `steps_per_epoch` the segment's length, with
`verbose=0`: the progress line is `callbacks.Progress`, one bar over the
whole run. A resumed run starts at its checkpoint's `optimizer.iterations`,
so the step count (and the phase) goes on from there.
"""

import datetime
import errno
import inspect
import json
import logging
import os
import shlex
import shutil
import sys

import click

from kerasgen.cli import config as config_lib
from kerasgen.cli.main import LIBRARY_ERRORS
from kerasgen.cli.main import BACKENDS
from kerasgen.cli.main import UsageMistake
from kerasgen.cli.main import UserError
from kerasgen.cli.main import backend_option
from kerasgen.cli.main import debug_option
from kerasgen.cli.main import import_keras
from kerasgen.cli.main import load_checkpoint
from kerasgen.cli.main import quiet_native_stderr
from kerasgen.cli.main import select_backend
from kerasgen.cli.main import usage_mistake
from kerasgen.cli.main import user_errors

logger = logging.getLogger("kerasgen.cli")

# Defaults of the training options (the model's defaults are its signature;
# the batch size's is the family's `default_batch_size`).
DEFAULT_STEPS = 500
DEFAULT_SEED = 0
DEFAULT_SAMPLE_EVERY = 100
DEFAULT_CHECKPOINT_EVERY = 500
DEFAULT_NUM_SAMPLES = 64
# Images per domain in the translation strips.
MAX_STRIP_IMAGES = 4
# Clips in an audio family's samples/ (each is a WAV file and a panel).
MAX_AUDIO_SAMPLES = 8

TRAIN_DEFAULTS = {
    "steps": DEFAULT_STEPS,
    "seed": DEFAULT_SEED,
    "sample_every": DEFAULT_SAMPLE_EVERY,
    "checkpoint_every": DEFAULT_CHECKPOINT_EVERY,
    "tensorboard": True,
    "on_nan": "stop",
    "precision": "float32",
}
# Options restored from config.json on --resume unless given again.
RESUMABLE = (
    "data", "subset", "from_preset", "steps", "epochs", "batch_size", "seed", "sample_every",
    "checkpoint_every", "num_samples", "tensorboard", "on_nan", "eval_every",
    "eval_n", "eval_extractor", "precision",
)
# --precision: Keras dtype policies. The variables stay float32 under the
# mixed ones (so checkpoints and presets are the same files); the layers
# compute in the half type.
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
MIXED_PRECISIONS = ("float16", "bfloat16")
# --strategy: kerasgen.training.distribute.STRATEGIES, named here without
# importing Keras (`kerasgen train --help` stays fast; a test checks both).
STRATEGIES = ("auto", "one-device", "mirrored", "multi-worker", "tpu")
# --eval-every: samples per measurement (a 2,000-sample FID on lenet-mnist
# takes a few seconds on 2 CPU cores).
DEFAULT_EVAL_N = 2000
# --on-nan rollback: how often a run goes back to its checkpoint before it
# gives up, and the factor each rollback applies to the learning rates.
MAX_ROLLBACKS = 3
ROLLBACK_LR_FACTOR = 0.5
# --on-nan skip-batch: how many bad batches a run skips before it gives up.
MAX_SKIPPED_BATCHES = 10
# Short options that set a constructor argument of the same meaning.
MODEL_OPTIONS = {"lr": "learning_rate", "beta1": "beta_1"}
# Constructor arguments without an option of their own: Keras's, and `seed`,
# which --seed sets (with the weights and the data order).
NOT_OPTIONS = ("name", "dtype", "trainable", "seed")
# The parameter names of the model options (`--image-size` ->
# `model__image_size`), kept apart from the training options'.
MODEL_PREFIX = "model__"
_EMPTY = inspect.Parameter.empty


class TrainingError(RuntimeError):
    """An error raised inside `fit()`: shown with its traceback."""


# --- The options ---------------------------------------------------------------


def _common_params():
    """The options every family's command has (fresh objects per command)."""
    option = click.Option
    return [
        option(["--data", "--dataroot", "data"], default=None, metavar="SOURCE",
               help="Image folder (class subfolders become labels; train/, "
                    "trainA/ trainB/ layouts), MNIST IDX files, a .npz file or "
                    "tfds:<name>[:<split>]. Default: scikit-learn's handwritten "
                    "digits (offline), with the family's demo recipe."),
        option(["--subset"], default=None, metavar="START:STOP",
               help="Train on images START to STOP of --data only, in the "
                    "order the source lists them (e.g. 0:8000 keeps the last "
                    "2,000 MNIST test digits for held-out numbers). Default: "
                    "all."),
        option(["--steps"], type=click.IntRange(min=1), default=None,
               help=f"Total training steps (batches). Default: {DEFAULT_STEPS}."),
        option(["--epochs"], type=click.IntRange(min=1), default=None,
               help="Total passes over the data (instead of --steps)."),
        option(["--batch-size"], type=click.IntRange(min=1), default=None,
               help="Images (or image pairs) per step. Default: the family's "
                    "(the paper's)."),
        option(["--seed"], type=int, default=DEFAULT_SEED, show_default=True,
               help="Seeds weights, data order, training noise and sample "
                    "latents."),
        option(["--name"], default=None, help="Run name. Default: the family's name."),
        option(["--out"], type=click.Path(file_okay=False, path_type=str),
               default=None, help="Run folder. Default: runs/<name>."),
        option(["--set", "assignments"], multiple=True, metavar="KEY=VALUE",
               help="A constructor argument of the family (the model options "
                    "below), e.g. --set latent_dim=64. Repeatable."),
        option(["--lr"], type=float, default=None,
               help="Learning rate (the family's `learning_rate`)."),
        option(["--beta1"], type=float, default=None,
               help="Adam beta_1 (the family's `beta_1`)."),
        option(["--resume"], is_flag=True,
               help="Continue the run from <out>/checkpoint.keras."),
        option(["--from-preset"], default=None, metavar="PRESET",
               help="Fine-tune: start from the weights of a zoo preset of "
                    "this family (`kerasgen zoo list`), with its "
                    "configuration (options given here change it), fresh "
                    "optimizers, step 0."),
        option(["--overwrite"], is_flag=True,
               help="Start afresh in a run folder that holds a checkpoint."),
        option(["--sample-every"], type=click.IntRange(min=1),
               default=DEFAULT_SAMPLE_EVERY, show_default=True,
               help="Write a sample grid (or strip) every N steps."),
        option(["--checkpoint-every"], type=click.IntRange(min=1),
               default=DEFAULT_CHECKPOINT_EVERY, show_default=True,
               help="Save the checkpoint every N steps."),
        option(["--num-samples"], type=click.IntRange(min=1), default=None,
               help=f"Images in each sample grid (default {DEFAULT_NUM_SAMPLES}); "
                    "for a family that translates, fixed test images per domain "
                    f"in each strip (at most and by default {MAX_STRIP_IMAGES})."),
        option(["--eval-every"], type=click.IntRange(min=1), default=None,
               help="Measure the model every N steps (FID of --eval-n samples "
                    "for a family that samples, translation scores on test "
                    "images for one that translates) into eval.csv and "
                    "TensorBoard. Default: off."),
        option(["--eval-n"], type=click.IntRange(min=1), default=DEFAULT_EVAL_N,
               show_default=True, help="Samples (or test images) per --eval-every "
                                       "measurement."),
        option(["--eval-extractor"], default=None,
               help="Feature extractor of --eval-every (see `kerasgen eval "
                    "--help`). Default: lenet-mnist for greyscale images, "
                    "inception-v3 for colour; none for paired translation."),
        option(["--tensorboard/--no-tensorboard"], default=True, show_default=True,
               help="Write TensorBoard logs (needs TensorFlow and TensorBoard)."),
        option(["--precision"], type=click.Choice(PRECISIONS), default="float32",
               show_default=True,
               help="Compute in float32, or in bfloat16 or float16 with float32 "
                    "weights (Keras mixed precision, for GPUs with tensor "
                    "cores). A resumed run keeps its own."),
        option(["--mixed-precision"], type=click.Choice(MIXED_PRECISIONS), default=None,
               help="Shorthand for --precision mixed_float16 or mixed_bfloat16. "
                    "float16 scales each optimizer's loss (dynamically); a loss "
                    "scale that keeps falling is reported."),
        option(["--xla/--no-xla"], default=None,
               help="Compile the train step with XLA (TensorFlow's "
                    "jit_compile=True). JAX always compiles with XLA. Default: "
                    "the family's choice (no XLA on TensorFlow)."),
        option(["--strategy"], type=click.Choice(STRATEGIES), default="auto",
               show_default=True,
               help="How to spread training: auto (mirrored over 2+ GPUs, "
                    "else one device), one-device, mirrored (every local "
                    "device), multi-worker (TensorFlow: TF_CONFIG; JAX: "
                    "JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES, "
                    "JAX_PROCESS_ID), tpu. --batch-size is the global batch."),
        option(["--sync-batchnorm/--no-sync-batchnorm"], default=False,
               show_default=True,
               help="Under a TensorFlow strategy, BatchNorm statistics over "
                    "the global batch (all-reduced) instead of each "
                    "replica's rows. On JAX they are the global batch's."),
        option(["--cpu-devices"], type=click.IntRange(min=1), default=None,
               help="Split the CPU into N logical devices (to try a strategy "
                    "on a machine without accelerators)."),
        option(["--on-nan"], type=click.Choice(["stop", "rollback", "skip-batch"]),
               default="stop", show_default=True,
               help="When a loss or a weight turns NaN or infinite: stop "
                    "(exit 1, the last finite checkpoint kept); rollback: "
                    "reload the last checkpoint, halve every constant learning "
                    f"rate and go on, at most {MAX_ROLLBACKS} times; skip-batch: "
                    "put back the weights and optimizer state copied in memory "
                    "at the last sample or checkpoint step (undoing the steps "
                    "since), leave the step's losses empty and go on, at most "
                    f"{MAX_SKIPPED_BATCHES} times."),
    ]


def _model_params(cls, defaults, taken):
    """One `--option-name VALUE` per constructor argument of `cls`, with its
    type, default and description (from the docstrings); `taken` are the
    option strings of the common options, which win a clash (the argument
    then has --set only)."""
    docs = config_lib.argument_docs(cls)
    params = []
    for key, default in defaults.items():
        flag = "--" + key.replace("_", "-")
        if key in NOT_OPTIONS or flag in taken:
            continue
        doc = docs.get(key, config_lib.ArgumentDoc("", ""))
        # The default first: at the end, click's wrapping can split it.
        text = f"[default: {config_lib.show(default)}] {doc.description}".rstrip()
        params.append(click.Option(
            [flag, MODEL_PREFIX + key], type=click.STRING, default=None,
            metavar=config_lib.metavar(
                None if default is _EMPTY else default, doc.type),
            help=text,
        ))
    return params


class FamilyCommand(click.Command):
    """A family's `kerasgen train` command: its --help shows the training
    options, then the model's."""

    def __init__(self, *args, model_title="Model options", **kwargs):
        super().__init__(*args, **kwargs)
        self.model_title = model_title

    def format_options(self, ctx, formatter):
        common, model = [], []
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is not None:
                (model if param.name.startswith(MODEL_PREFIX) else common).append(record)
        with formatter.section("Options"):
            formatter.write_dl(common)
        if model:
            with formatter.section(self.model_title):
                formatter.write_dl(model)


def family_command(name):
    """The click command of family `name` (imports its module, and Keras)."""
    from kerasgen.models import get_family
    from kerasgen.models import find_entry

    import_keras()
    entry = find_entry(name)
    cls = get_family(entry.name)
    defaults = config_lib.constructor_defaults(cls)
    common = _common_params()
    taken = {flag for param in common for flag in param.opts + param.secondary_opts}
    taken |= {"--backend", "--debug", "--help", "-h"}
    model = _model_params(cls, defaults, taken)
    recipe = getattr(cls, "recipes", {}).get("demo", {})
    demo = (
        " With no --data it trains the demo recipe ("
        + ", ".join(f"{k}={config_lib.show(v)}" for k, v in recipe.items())
        + ") on the built-in digits; each of those can be given as well."
        if recipe else ""
    )
    help_text = inspect.cleandoc(f"""
        Train {entry.name}: {entry.summary}

        Writes a run folder (config.json, checkpoint.keras, losses.csv,
        samples/, tensorboard/).{demo} Every model option can also be given
        as --set KEY=VALUE (not both for one argument).

        Example: kerasgen train {entry.name} --steps 2000
        """)

    @click.pass_context
    @user_errors
    def callback(ctx, **options):
        select_backend(options.pop("backend"))
        given = {
            key[len(MODEL_PREFIX):]: options.pop(key)
            for key in list(options) if key.startswith(MODEL_PREFIX)
        }
        given = {key: value for key, value in given.items() if value is not None}
        _Run(ctx, entry.name, cls, options, given).execute()

    command = FamilyCommand(
        entry.name, callback=callback, help=help_text,
        short_help=entry.summary, params=common + model,
        model_title=(f"Model options ({cls.__name__}; the constructor's "
                     "arguments, each also --set KEY=VALUE)"),
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    backend_option(command)
    debug_option(command)
    return command


def _prescan(ctx, args):
    """Reads --backend and --debug from a family's arguments before its
    command is built: building it imports Keras, whose backend is fixed at
    import, and whose start-up lines --debug shows."""
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg == "--debug":
            ctx.find_root().meta["kerasgen.debug"] = True
        value = None
        if arg == "--backend" and i + 1 < len(args):
            value = args[i + 1]
        elif arg.startswith("--backend="):
            value = arg.partition("=")[2]
        if value in BACKENDS and "keras" not in sys.modules:
            os.environ["KERAS_BACKEND"] = value


class TrainGroup(click.Group):
    """`kerasgen train`: one command per registered family. Listing them
    reads the registry's index (no import); running or --help of one
    imports that family."""

    def list_commands(self, ctx):
        from kerasgen.models import registry

        return registry.family_names()

    def get_command(self, ctx, name):
        from kerasgen.models import registry

        try:
            registry.find_entry(name)
        except ValueError:
            return None
        return family_command(name)

    def resolve_command(self, ctx, args):
        from kerasgen.models import registry

        name = args[0]
        if name.startswith("-"):
            return super().resolve_command(ctx, args)  # an option: click's error
        try:
            entry = registry.find_entry(name)
        except ValueError as error:
            raise usage_mistake(error) from error
        _prescan(ctx, args[1:])
        return entry.name, family_command(entry.name), args[1:]

    def format_commands(self, ctx, formatter):
        from kerasgen.models import registry

        rows = [(entry.name, entry.summary) for entry in registry.index()]
        with formatter.section("Families (kerasgen train FAMILY --help for its options)"):
            formatter.write_dl(rows)


@click.group(cls=TrainGroup, context_settings={"help_option_names": ["-h", "--help"]})
@debug_option
def train():
    """Train a FAMILY (see `kerasgen families`) and write a run folder.

    Each family takes the training options (--steps, --data, --resume, ...)
    and its own constructor's arguments as options; `kerasgen train FAMILY
    --help` lists them.

    Example: kerasgen train dcgan --steps 2000 --latent-dim 64
    """


class _Run:
    def __init__(self, ctx, family, cls, options, model_values):
        self.ctx = ctx
        self.family = family
        self.cls = cls
        self.options = options
        # {argument: raw text} of the model options given (`--image-size 16`).
        self.model_values = model_values
        self.spec = None
        self.sampler = None

    def given(self, name):
        """Whether an option was given on the command line."""
        source = self.ctx.get_parameter_source(name)
        return source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")

    def execute(self):
        keras = import_keras()
        from kerasgen.models.interfaces import provides

        options, cls = self.options, self.cls
        # Before anything runs on the backend: splitting the CPU and
        # starting a multi-worker strategy must come first.
        self.distribution = self._distribution(keras)
        defaults = config_lib.constructor_defaults(cls)
        overrides = self._model_overrides(defaults)
        name = options["name"] or self.family
        folder = options["out"] or os.path.join("runs", name)
        # The chief's folder is the run's: what a resume reads. The other
        # processes of a multi-process run run the same callbacks (on JAX
        # a sample or a save is a computation every process takes part
        # in) but write into a scratch folder of their own inside it.
        self.read_folder = folder
        self.resume_path = os.path.join(folder, "checkpoint.keras")
        if not self.distribution.is_chief:
            folder = os.path.join(folder, f".worker-{self.distribution.process_index}")
        checkpoint_path = os.path.join(folder, "checkpoint.keras")
        # One process per run folder: a second one would interleave its
        # checkpoints and loss rows with the first's. Taken before anything
        # in the folder is read or written.
        lock = _RunLock(folder)
        try:
            with self.distribution.run_scope():
                self._in_folder(keras, provides, cls, defaults, overrides, name,
                                folder, checkpoint_path)
        finally:
            lock.release()
        if not self.distribution.is_chief:
            shutil.rmtree(folder, ignore_errors=True)

    def _distribution(self, keras):
        """The --strategy's `Distribution`, with --cpu-devices applied; the
        --mixed-precision and --xla choices checked."""
        from kerasgen.training import distribute

        options = self.options
        if options["xla"] is False and keras.backend.backend() == "jax":
            raise UsageMistake(
                "JAX always compiles the train step with XLA: --no-xla applies "
                "to TensorFlow only. Received: --backend jax --no-xla")
        if options["mixed_precision"] is not None:
            wanted = "mixed_" + options["mixed_precision"]
            if self.given("precision") and options["precision"] != wanted:
                raise UsageMistake(
                    "Pass --mixed-precision or --precision, not two different "
                    f"ones. Received: --mixed-precision {options['mixed_precision']} "
                    f"--precision {options['precision']}")
        try:
            if options["cpu_devices"]:
                distribute.cpu_devices(options["cpu_devices"])
            # Listing the devices is where TensorFlow probes for CUDA.
            with quiet_native_stderr():
                distribution = distribute.make_distribution(options["strategy"])
        except distribute.DistributionError as error:
            raise UsageMistake(str(error)) from error
        if (options["xla"] and distribution.strategy is not None
                and distribution.num_replicas > 1):
            raise UsageMistake(distribute.XLA_WITH_REPLICAS.format(
                replicas=distribution.num_replicas, name=distribution.name))
        if options["sync_batchnorm"] and distribution.strategy is None:
            logger.info("--sync-batchnorm: no TensorFlow strategy, nothing to synchronize")
        return distribution

    def _in_folder(self, keras, provides, cls, defaults, overrides, name, folder,
                   checkpoint_path):
        """The run, with the folder's lock held."""
        from kerasgen.utils.io import remove_leftovers

        options = self.options
        # Under the lock no other process writes here: temporary files are
        # a killed process's.
        remove_leftovers(folder)
        _SetAside.recover(folder)
        saved = self._previous_run(self.read_folder, self.resume_path)
        self._restore_train_options(saved)
        if options["mixed_precision"] is not None:
            options["precision"] = "mixed_" + options["mixed_precision"]
        # Sublayers take the global policy when they are built (a checkpoint
        # too, when it loads), so it is set before either and put back after.
        policy = keras.config.dtype_policy()
        keras.config.set_dtype_policy(options["precision"])
        try:
            self._run(keras, provides, cls, defaults, overrides, name, folder,
                      checkpoint_path, saved)
        finally:
            keras.config.set_dtype_policy(policy)

    def _run(self, keras, provides, cls, defaults, overrides, name, folder,
             checkpoint_path, saved):
        options = self.options

        # === Model ===
        # Built first (its data_spec says what to load), compiled last: the
        # run's length, known once the data is, goes to plan_run() before.
        if options["resume"]:
            model = self._load()
            self._distribute(model)
            if type(model) is not cls:
                raise UsageMistake(
                    f"{self.resume_path} holds a {type(model).__name__}, not a "
                    f"{cls.__name__}. Received: family={self.family}"
                )
            self._check_resume_overrides(model, defaults, overrides)
            click.echo(f"Resumed {self.resume_path} at step {_steps_done(model)}")
        else:
            missing = [
                key for key, value in defaults.items()
                if value is _EMPTY and key not in overrides
            ]
            if missing:
                raise UsageMistake(
                    f"Family '{self.family}' needs a value for "
                    f"{', '.join(missing)} (--{missing[0].replace('_', '-')} "
                    f"VALUE, or --set {missing[0]}=VALUE). Received: "
                    f"--set {' '.join(options['assignments']) or '(none)'}"
                )
            with self.distribution.scope():
                if options["from_preset"]:
                    model = self._from_preset(cls, overrides)
                else:
                    model = self._build(cls, overrides)
            self._distribute(model)
        done = _steps_done(model)

        # === Data ===
        spec = self.spec = model.data_spec()
        if provides(model, "sample") and spec.kind == "waveforms":
            self.sampler = "audio"
        elif provides(model, "sample"):
            self.sampler = "grid"
        elif provides(model, "translate"):
            self.sampler = "strips"
        elif provides(model, "swap"):
            self.sampler = "swap"
        self._resolve_sampling_options(cls)
        loader = _LOADERS.get(spec.kind)
        if loader is None:
            raise UserError(
                f"{cls.__name__} trains on {spec.kind}, and kerasgen train has "
                f"no {spec.kind} loader yet. Received: family={self.family}"
            )
        batch_size = options["batch_size"]
        data = loader(self, model, spec)
        try:
            self.distribution.check_batch_size(batch_size)
        except ValueError as error:
            raise UsageMistake(str(error)) from error
        total = data.total(batch_size)

        if options["resume"]:
            model_config = saved.get("model") or _config_of(model, defaults)
            self._check_resume_length(model, total)
        else:
            try:
                model.plan_run(total)
                with quiet_native_stderr(), self.distribution.scope():
                    model.compile(**self._compile_arguments())
            except LIBRARY_ERRORS as error:
                raise usage_mistake(error) from error
            model_config = _config_of(model, defaults, overrides)
        train_config = {key: options[key] for key in RESUMABLE}

        # === Config ===
        self._print_config(cls, name, folder, model_config, defaults, train_config,
                           data, total, done)
        if done >= total:
            # config.json stays the run's: nothing is trained with these options.
            click.echo(
                f"The run is at step {done}, which is --steps {total} or more: "
                "nothing to train. Pass a larger --steps to go on."
            )
            return
        # --overwrite: the old run is kept aside until the new one has saved
        # its first checkpoint, and put back if it ends before.
        aside = _SetAside.move(folder) if options["overwrite"] else None
        try:
            try:
                self._write_config(folder, cls, name, model_config, defaults,
                                   train_config, total, keras)
            except OSError as error:
                if error.errno != errno.ENOSPC:
                    raise
                raise UserError(self._disk_full(error, name, folder, done)) from error
            self._train(keras, cls, model, data, name, folder, checkpoint_path,
                        done, total, aside)
        except BaseException:
            if aside is not None and aside.kept:
                aside.restore()
                click.echo(f"The run that --overwrite replaced is back in {folder}.",
                           err=True)
            raise

    def _train(self, keras, cls, model, data, name, folder, checkpoint_path, done,
               total, aside):
        from kerasgen.cli import callbacks as callbacks_lib

        options = self.options
        batch_size = options["batch_size"]
        if options["xla"] is not None and keras.backend.backend() == "tensorflow":
            # A resumed model keeps the choice it was compiled with otherwise.
            model.jit_compile = bool(options["xla"])
            model.train_function = None
        summary = None
        if options["tensorboard"]:
            with quiet_native_stderr():  # may import TensorFlow, on JAX too
                summary = callbacks_lib.SummaryWriter.create(
                    os.path.join(folder, "tensorboard"), step=done
                )
        interval = min(options["checkpoint_every"], total)
        samples = self._sample_writer(
            model, data, os.path.join(folder, "samples"),
            min(options["sample_every"], total), total, summary,
        )
        clock = callbacks_lib.RunClock(os.path.join(folder, "timing.json"), done,
                                       keras.backend.backend())

        def on_save():
            if aside is not None:
                aside.discard()
            clock.update(checkpoint.saved_step)

        checkpoint = callbacks_lib.Checkpoint(checkpoint_path, interval, total,
                                              on_save=on_save)
        losses = callbacks_lib.LossLog(os.path.join(folder, "losses.csv"),
                                       summary=summary)
        progress = callbacks_lib.Progress(done, total, every=interval)
        # First: a batch with a non-finite loss stops fit() before any other
        # callback writes it (a black grid, a NaN row, a checkpoint).
        guard = callbacks_lib.FiniteGuard(
            (min(options["sample_every"], total), interval), total,
            skip_batches=(MAX_SKIPPED_BATCHES if options["on_nan"] == "skip-batch"
                          else 0))
        evaluation = self._evaluation(model, data, folder, summary)
        # The checkpoint before the sample grid and the evaluation: a step
        # the guard let through is saved even if drawing or measuring it
        # then fails.
        callbacks = [guard, callbacks_lib.LossScaleWatch(), losses, checkpoint] + (
            [samples] if samples else []) + (
            [evaluation] if evaluation else []) + [progress]
        rollbacks = 0
        while True:
            logger.info(
                "training %s from step %d to %d on %s", cls.__name__, done, total,
                keras.backend.backend(),
            )
            try:
                self._fit(model, data, batch_size, done, total, callbacks)
                break
            except callbacks_lib.Diverged as error:
                losses.close()
                progress.close()
                if options["on_nan"] != "rollback" or checkpoint.saved_step in (
                        None, 0) or rollbacks >= MAX_ROLLBACKS:
                    raise UserError(self._diverged_message(
                        error, checkpoint, checkpoint_path, rollbacks)) from error
                rollbacks += 1
                model = self._load()
                # The checkpoint holds the rates before any rollback.
                rates = _scale_learning_rates(model, ROLLBACK_LR_FACTOR ** rollbacks)
                done = _steps_done(model)
                progress.step = done
                if summary is not None:
                    summary.rewind(done)
                click.echo(
                    f"{error}: rollback {rollbacks} of {MAX_ROLLBACKS} to the "
                    f"checkpoint of step {done}, learning rates "
                    + (", ".join(f"{k} {v:.3g}" for k, v in rates.items())
                       or "unchanged (schedules)"),
                    err=True,
                )
            except LIBRARY_ERRORS as error:
                # Input was checked before training started: an error from
                # inside fit() is a bug, so it keeps its traceback.
                raise TrainingError(
                    f"Training stopped at step {losses.step} with an error: {error}"
                ) from error
            except OSError as error:
                if error.errno != errno.ENOSPC:
                    raise
                losses.close()
                progress.close()
                raise UserError(self._disk_full(
                    error, name, folder, checkpoint.saved_step, losses.step)
                ) from error
            except KeyboardInterrupt:
                losses.close()
                progress.close()  # ends a bar redrawn in place
                click.echo(
                    f"Interrupted at step {losses.step}. The last checkpoint is "
                    f"step {checkpoint.saved_step}, in {checkpoint_path}. Continue "
                    f"with:\n  {self._resume_command(name, folder)}",
                    err=True,
                )
                sys.exit(130)
            except Exception as error:
                from kerasgen.utils.compiled import xla_could_not_compile
                from kerasgen.utils.compiled import xla_failure_reason

                if not (options["xla"] and xla_could_not_compile(error)):
                    raise
                losses.close()
                progress.close()
                raise UserError(
                    f"XLA could not compile {cls.__name__}'s train step "
                    f"({xla_failure_reason(error)}): train without --xla. "
                    f"Received: --xla") from error
        click.echo(f"Run folder:  {folder}")
        if samples is not None:
            click.echo(f"Samples:     {samples.last_path}")
        click.echo(f"Checkpoint:  {checkpoint_path} (step {checkpoint.saved_step})")
        click.echo(f"Losses:      {losses.path}")
        if summary is not None:
            click.echo(f"TensorBoard: tensorboard --logdir {summary.logdir}")

    def _fit(self, model, data, batch_size, done, total, callbacks):
        for phase, start, stop, step_in_phase in run_segments(model, done, total):
            model.enter_phase(phase, step_in_phase)
            # A fresh, seeded stream per fit() call, so that a segment
            # does not replay the first batches of the previous one. Every
            # process reads the same stream and keeps its rows.
            batches = self.distribution.local_batches(
                data.batches(batch_size, seed=self.options["seed"] + start),
                batch_size)
            # The first fit() prints TensorFlow's graph-optimizer lines
            # (`E0000 ... remapper failed`), and a first save on JAX
            # imports TensorFlow.
            with quiet_native_stderr():
                model.fit(
                    batches,
                    epochs=1,
                    steps_per_epoch=stop - start,
                    callbacks=callbacks,
                    shuffle=False,  # the batches are shuffled already
                    verbose=0,  # `progress` draws the one bar of the run
                )

    def _disk_full(self, error, name, folder, saved_step, step=None):
        at = f" at step {step}" if step is not None else ""
        if not saved_step:
            return (f"The disk is full ({error.filename or folder}){at}, before "
                    f"the first checkpoint; free some space and start again.")
        return (f"The disk is full ({error.filename or folder}){at}. The last "
                f"checkpoint, step {saved_step}, is intact; free some space, "
                f"then continue with: {self._resume_command(name, folder)}")

    def _diverged_message(self, error, checkpoint, checkpoint_path, rollbacks):
        if checkpoint.saved_step:
            kept = (f"the last finite checkpoint, step {checkpoint.saved_step}, "
                    f"is kept in {checkpoint_path}")
        else:
            kept = "no checkpoint was written"
        if rollbacks:
            hint = f" after {rollbacks} rollbacks"
        elif self.options["on_nan"] == "skip-batch":
            hint = f" after {MAX_SKIPPED_BATCHES} skipped batches"
        elif self.options["on_nan"] == "rollback":
            hint = " with no checkpoint to roll back to"
        else:
            hint = ""
        advice = "" if self.options["on_nan"] != "stop" else " or pass --on-nan rollback"
        return (f"{error}{hint}; {kept}. Lower the learning rate (--lr){advice}.")


    # --- helpers ------------------------------------------------------------------

    def _load(self):
        """The run's checkpoint, loaded in the strategy's scope. Seeded
        first: the model is built (randomly) before its weights load, and
        the processes of a JAX run must build the same values."""
        from kerasgen.utils.seed import set_random_seed

        set_random_seed(self.options["seed"])
        with self.distribution.scope():
            return load_checkpoint(self.resume_path)

    def _distribute(self, model):
        """What --sync-batchnorm asks of a model built or loaded for the run."""
        if self.options["sync_batchnorm"]:
            self.distribution.sync_batchnorm(model)

    def _compile_arguments(self):
        """`compile()`'s arguments from --xla (none: the family's choice)."""
        if self.options["xla"] is None:
            return {}
        return {"jit_compile": bool(self.options["xla"])}

    def _build(self, cls, overrides):
        from kerasgen.utils.seed import set_random_seed

        set_random_seed(self.options["seed"])
        try:
            # The first model built is where TensorFlow probes for CUDA.
            with quiet_native_stderr():
                return cls(**overrides)
        except LIBRARY_ERRORS as error:
            raise usage_mistake(error) from error

    def _from_preset(self, cls, overrides):
        """The preset's model (its config, then the options given here on
        top), its weights loaded: the start of a fine-tuning run."""
        import json

        from kerasgen.zoo.registry import preset_arguments
        from kerasgen.zoo.registry import preset_path
        from kerasgen.zoo.registry import weights_path

        name = self.options["from_preset"]
        if self.options["resume"]:
            raise UsageMistake("--from-preset starts a run; --resume continues one "
                               f"from its checkpoint. Received: --from-preset {name} --resume")
        try:
            folder = preset_path(name)
        except ValueError as error:
            raise UsageMistake(str(error)) from error
        config = json.loads((folder / "config.json").read_text())
        if config.get("family") != self.family:
            raise UsageMistake(
                f"The preset {name} is a {config.get('class')} ({config.get('family')}), "
                f"not a {cls.__name__}: kerasgen train {config.get('family')} "
                f"--from-preset {name}. Received: --from-preset {name}")
        # The registry's checks of a preset's config, as for kerasgen.load.
        try:
            _, arguments = preset_arguments(config, f"The config of the preset {name}")
        except ValueError as error:
            raise UserError(str(error)) from error
        preset_config = dict(arguments)
        arguments.update(overrides)
        model = self._build(cls, arguments)
        try:
            with quiet_native_stderr():
                model.load_weights(weights_path(folder))
        except (ValueError, KeyError) as error:
            changed = sorted(k for k in overrides if k != "seed" and
                             overrides[k] != preset_config.get(k))
            raise UsageMistake(
                f"The weights of the preset {name} do not fit the {cls.__name__} "
                f"built with {', '.join(changed) or 'its config'} changed: fine-tune "
                f"with the preset's architecture. Received: --from-preset {name}"
            ) from error
        click.echo(f"Starting from the weights of the preset {name} ({folder})")
        return model

    def _check_resume_length(self, model, total):
        """A resumed run may not go past the end of its checkpoint's
        learning-rate decay (`constant_steps + decay_steps`, where a family
        has them): the steps after it would not change the weights."""
        decay_steps = getattr(model, "decay_steps", None)
        if not decay_steps:
            return
        decay_end = (getattr(model, "constant_steps", None) or 0) + decay_steps
        if total > decay_end:
            raise UsageMistake(
                f"The checkpoint's learning rate decays to 0 at step {decay_end} "
                f"(constant_steps + decay_steps), so steps after it would not "
                f"change the weights. Resume with --steps {decay_end} at most, or "
                f"start a new run (--name) with more steps. Received: --steps {total}"
            )

    def _resolve_sampling_options(self, cls):
        """Fills the defaults of --batch-size and --num-samples, which depend
        on the family (a resumed run has them from its config.json)."""
        options = self.options
        if options["batch_size"] is None:
            options["batch_size"] = int(cls.default_batch_size)
        if self.sampler == "strips":
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

    def _default_num_samples(self):
        return MAX_STRIP_IMAGES if self.sampler == "strips" else DEFAULT_NUM_SAMPLES

    def _sample_writer(self, model, data, folder, every, total, summary):
        """The callback that draws `samples/`: by what the model provides, a
        grid of `sample`, or strips of `translation_rows` on fixed images."""
        from kerasgen.cli import callbacks as callbacks_lib

        options = self.options
        if self.sampler == "grid":
            return callbacks_lib.SampleGrid(
                folder, every, total, n=options["num_samples"], seed=options["seed"],
                summary=summary,
            )
        if self.sampler == "audio":
            return callbacks_lib.AudioSamples(
                folder, every, total, n=min(options["num_samples"], MAX_AUDIO_SAMPLES),
                seed=options["seed"], sample_rate=self.spec.sample_rate, summary=summary,
            )
        if self.sampler == "strips":
            images_a, images_b, where = data.strip_images(options["num_samples"])
            logger.info(
                "sample strips: %d + %d fixed images from %s",
                len(images_a), len(images_b), where,
            )
            return callbacks_lib.TranslationStrips(
                folder, every, total, images_a=images_a, images_b=images_b,
                captions=getattr(model, "strip_captions", ()), summary=summary,
            )
        if self.sampler == "swap":
            from kerasgen.data import to_unit_range

            # The first training images, fixed for the run: structures down
            # the left, textures along the top.
            images = to_unit_range(data.data.images[:2 * MAX_STRIP_IMAGES])
            half = len(images) // 2
            return callbacks_lib.SwapGrid(
                folder, every, total, structure_images=images[:half],
                texture_images=images[half:], summary=summary,
            )
        logger.info("%s provides neither `sample` nor `translate`: no samples/.",
                    type(model).__name__)
        return None

    def _evaluation(self, model, data, folder, summary):
        """The `--eval-every` callback (None when off): a sampling family
        against the first --eval-n training images, a translating one on
        the test split (the strips' images), rows appended to eval.csv."""
        from kerasgen.cli import callbacks as callbacks_lib
        from kerasgen.cli.eval import check_extractor_name
        from kerasgen.metrics.callback import EvaluateEvery

        options = self.options
        if not options["eval_every"]:
            return None
        extractor = options["eval_extractor"]
        check_extractor_name(extractor, "--eval-extractor")
        n = options["eval_n"]
        if self.sampler in ("swap", "audio"):
            raise UsageMistake(
                f"--eval-every measures samples or translations; {type(model).__name__} "
                "swaps images: measure a checkpoint with `kerasgen eval` instead. "
                f"Received: --eval-every {options['eval_every']}")
        if self.sampler == "strips":
            inputs, targets, _ = data.strip_images(n)
            if not getattr(model, "paired", False) and extractor is None:
                raise UsageMistake(
                    "--eval-every on an unpaired translation family needs a domain "
                    "classifier: pass --eval-extractor (e.g. catdog-classifier-64).")
            real = dict(real_images=inputs, targets=targets)
        else:
            from kerasgen.metrics.evaluate import check_sample_count, default_extractor
            from kerasgen.metrics.extractors import load_extractor

            extractor = load_extractor(extractor or default_extractor(
                model.data_spec().shape))
            check_sample_count(n, extractor, ["fid"])
            real = dict(real_images=data.data.images)
        log = callbacks_lib.EvalLog(os.path.join(folder, "eval.csv"),
                                    after_step=callbacks_lib.model_step(model), summary=summary)
        return EvaluateEvery(options["eval_every"], n=n, extractor=extractor,
                             seed=options["seed"], on_result=log.write, **real)

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
            if saved.get("family") not in (None, self.family):
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
        """The constructor arguments set on the command line (`--set`, the
        model options, --lr/--beta1), plus the demo recipe and --seed on a
        fresh run; one argument given two ways is a mistake."""
        options = self.options
        try:
            overrides = config_lib.parse_assignments(
                options["assignments"], defaults, self.family
            )
            sources = {
                a.partition("=")[0].strip().replace("-", "_"): f"--set {a}"
                for a in options["assignments"]
            }
            for key, raw in self.model_values.items():
                flag = "--" + key.replace("_", "-")
                self._claim(sources, key, f"{flag} {raw}")
                overrides[key] = config_lib.parse_value(
                    key, raw, defaults[key], given_as=f"{flag} {raw}"
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
            self._claim(sources, key, f"--{option} {options[option]}")
            overrides[key] = options[option]
        if options["data"] is None and not options["resume"] and not options["from_preset"]:
            # The built-in digits are small: a family's paper configuration
            # (CycleGAN's 256x256 9-block generators) is far too slow there.
            for key, value in getattr(self.cls, "recipes", {}).get("demo", {}).items():
                overrides.setdefault(key, value)
        if not options["resume"] and not options["from_preset"]:
            # A family sized by its data (SinGAN by its image) reads it here;
            # what the command line gave wins.
            try:
                found = self.cls.configure_for_data(options["data"], dict(overrides))
            except ValueError as error:
                raise usage_mistake(error) from error
            for key, value in found.items():
                overrides.setdefault(key, value)
        if "seed" in defaults and "seed" not in overrides and not options["resume"]:
            # --seed seeds the family's training noise too (a resumed model
            # keeps the seed of its checkpoint).
            overrides["seed"] = options["seed"]
        return overrides

    @staticmethod
    def _claim(sources, key, given_as):
        if key in sources:
            raise UsageMistake(
                f"{sources[key]} and {given_as} both set {key!r}; pass one. "
                f"Received: {sources[key]} {given_as}"
            )
        sources[key] = given_as

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
                      data, total, done):
        lines = [f"kerasgen train {self.family}: run '{name}' in {folder}"]
        lines += config_lib.format_config(
            f"model ({cls.__name__}):", model_config, defaults
        )
        shown = dict(train_config, data=train_config["data"] or data.embedded)
        if shown["epochs"] is None:
            shown.pop("epochs")
            shown["steps"] = total
        else:
            shown["steps"] = f"{total} ({shown['epochs']} epochs)"
        train_defaults = dict(
            TRAIN_DEFAULTS, data=data.embedded,
            batch_size=int(cls.default_batch_size),
            num_samples=self._default_num_samples(),
        )
        lines += config_lib.format_config("training:", shown, train_defaults)
        lines += [f"  {line}" for line in data.describe()]
        lines.append(f"  strategy: {self.distribution.describe()}")
        lines.append(f"  steps done: {done} of {total}")
        click.echo("\n".join(lines))

    def _write_config(self, folder, cls, name, model_config, defaults, train_config,
                      total, keras):
        import kerasgen
        from kerasgen.utils.io import atomic_write

        record = {
            "family": self.family,
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
                # From the installed metadata: importing TensorFlow on JAX
                # just to read its version would cost seconds.
                "tensorflow": _installed_version("tensorflow"),
                "jax": _installed_version("jax"),
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


def run_segments(model, done, total):
    """The steps left, `[done, total)`, cut at the model's phase boundaries
    (`kerasgen.training.phases`): a list of `(phase, start, stop,
    step_in_phase)`, one `fit()` call each, entered with
    `model.enter_phase(phase, step_in_phase)`. A model without phases gets
    one segment, in its one implicit phase 0."""
    from kerasgen.training import phases as phases_lib

    phases = model.phases()
    return [
        (index, start, stop, phases_lib.phase_at(phases, start)[1])
        for index, start, stop in phases_lib.segments(phases, done, total)
    ]


class _ImageSet:
    """The data of a family that trains on images (`DataSpec` kind
    "images"): one set, with labels for the class-conditional ones."""

    embedded = "(embedded) scikit-learn digits"

    def __init__(self, run, model, spec):
        from kerasgen.data import load_images

        self.run = run
        self.with_labels = spec.with_labels
        source = run.options["data"]
        if source is None and type(model).default_data() is not None:
            source = type(model).default_data()
            self.embedded = f"(embedded) {os.path.basename(source)}"
        try:
            data = self.data = load_images(
                source, image_size=spec.image_size,
                channels=spec.channels, subset=run.options["subset"],
            )
        except ValueError as error:
            if "`subset`" not in str(error) and "subset holds" not in str(error):
                raise
            raise UsageMistake(str(error).replace("`subset`", "--subset")) from error
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


class _PairSets:
    """The data of a family that trains on image pairs (`DataSpec` kind
    "paired_images" or "unpaired_images"): two sets of images, aligned
    pairs (in the model's `direction`) or two unaligned domains, trained on
    as batches of `(a, b)`; `strip_images` are the fixed inputs of the
    sample strips."""

    embedded = "(embedded) pairs made from scikit-learn digits"

    def __init__(self, run, model, spec):
        from kerasgen.data import pairs

        self.run = run
        if run.options["subset"] is not None:
            raise UsageMistake(
                "--subset picks images of one set; a family that trains on "
                "image pairs reads its splits (train/, trainA/ trainB/). "
                f"Received: --subset {run.options['subset']}"
            )
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
        """Up to `n` fixed images per domain for the strips (and for
        `--eval-every`): from the test split (testA/ testB/, test/) where
        the source has one, else the first training images. Returns
        `(images_a, images_b, where)`."""
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


class _WaveformSet:
    """The data of a family that trains on audio (`DataSpec` kind
    "waveforms"): WAV recordings resampled and cut to the model's length
    (`kerasgen.data.audio`), with labels for a class-conditional model.
    Its training split where it has one (train/, or FSDD's takes 5-49); with
    no --data, the embedded synthetic tones (no recorded speech ships with a
    dependency); --subset ranges over the sorted files."""

    embedded = "(embedded) synthetic tones"

    def __init__(self, run, model, spec):
        from kerasgen.data.audio import load_waveforms

        self.run = run
        self.with_labels = spec.with_labels
        source = run.options["data"]
        try:
            self.data = load_waveforms(
                source, length=spec.shape[0], sample_rate=spec.sample_rate,
                split="train", subset=run.options["subset"])
        except ValueError as error:
            raise UsageMistake(str(error).replace("`subset`", "--subset")) from error
        except FileNotFoundError as error:
            raise UserError(str(error)) from error
        if hasattr(model, "adapt") and not (run.options["resume"]
                                            or run.options["from_preset"]):
            # A family normalized by its data's statistics (SpecGAN's
            # per-bin moments) takes them from the training clips.
            model.adapt(self.data.waveforms)
        if self.with_labels and self.data.labels is None:
            raise UserError(
                f"This {type(model).__name__} is class-conditional (num_classes="
                f"{model.num_classes}) but the recordings have no labels (class "
                f"subfolders, or <class>_*.wav names). Received: data={self.data.source}")
        if self.with_labels and self.data.num_classes > model.num_classes:
            raise UsageMistake(
                f"The data has {self.data.num_classes} classes but the model "
                f"num_classes={model.num_classes}; use --set "
                f"num_classes={self.data.num_classes}. Received: data={self.data.source}")

    def total(self, batch_size):
        if batch_size > len(self.data):
            raise UsageMistake(
                f"--batch-size is larger than the data ({len(self.data)} recordings "
                f"in {self.data.source}). Received: --batch-size {batch_size}")
        return self.run.total_steps(len(self.data) // batch_size)

    def describe(self):
        data = self.data
        return [f"{len(data)} recordings of {data.length} samples at {data.sample_rate} Hz "
                f"({data.seconds:.2f} s) from {data.source}"]

    def batches(self, batch_size, seed):
        from kerasgen.data.audio import make_waveform_batches

        return make_waveform_batches(self.data, batch_size, shuffle=True, seed=seed,
                                     with_labels=self.with_labels, repeat=True)


# The loader of each `DataSpec.kind`.
_LOADERS = {
    "images": _ImageSet,
    "paired_images": _PairSets,
    "unpaired_images": _PairSets,
    "waveforms": _WaveformSet,
}


def _installed_version(distribution):
    """The installed version of `distribution`, or None."""
    import importlib.metadata

    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _config_of(model, defaults, overrides=None):
    """The model's constructor arguments, as its `get_config` has them (so
    values the family normalized, `AtoB` -> `a2b`, or that plan_run set,
    show as the model holds them)."""
    # Keras's serialization imports TensorFlow when it is installed, on JAX
    # too (`serialize_keras_object` asks `tf.available`): its start-up lines.
    with quiet_native_stderr():
        config = model.get_config()
    overrides = overrides or {}
    return {
        key: config.get(key, overrides.get(key, value))
        for key, value in defaults.items()
    }


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


class _RunLock:
    """An exclusive `flock` on `<folder>/.lock`, which holds the PID of the
    process that has it. The OS releases it when the process ends, killed
    or not, so a lock is never stale. Creates the folder; a folder it
    created and that holds nothing else at `release()` is removed."""

    NAME = ".lock"

    def __init__(self, folder):
        import fcntl

        self.folder = folder
        self.fd = None
        self.created = not os.path.isdir(folder)
        self.path = os.path.join(folder, self.NAME)
        try:
            os.makedirs(folder, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise UserError(
                f"Cannot use {folder} as a run folder: "
                f"{error.strerror or error}. Received: run folder={folder}"
            ) from error
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            finally:
                os.close(fd)
            raise UserError(
                f"{folder} is in use by another kerasgen train (PID {holder}): "
                f"a run folder takes one process at a time. Wait for it to end "
                f"or stop it, or use --name/--out for another run. Received: "
                f"run folder={folder}"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self.fd = fd

    def release(self):
        if self.fd is None:
            return
        try:
            if self.created and os.listdir(self.folder) == [self.NAME]:
                # Nothing was written (a mistake found before training).
                os.remove(self.path)
                os.rmdir(self.folder)
        except OSError:
            pass
        os.close(self.fd)  # releases the lock
        self.fd = None


class _SetAside:
    """The run that --overwrite replaces, moved into `<folder>/.overwritten/`
    until the new run has saved its first checkpoint (`discard`), and put
    back if the new one ends before (`restore`)."""

    NAME = ".overwritten"
    ENTRIES = ("checkpoint.keras", "losses.csv", "config.json", "samples",
               "tensorboard")

    def __init__(self, folder):
        self.folder = folder
        self.path = os.path.join(folder, self.NAME)
        self.kept = os.path.isdir(self.path)

    @classmethod
    def move(cls, folder):
        import shutil

        aside = cls(folder)
        if aside.kept:  # `recover` has dealt with an older one
            shutil.rmtree(aside.path)
        os.makedirs(aside.path)
        for entry in cls.ENTRIES:
            source = os.path.join(folder, entry)
            if os.path.lexists(source):
                os.replace(source, os.path.join(aside.path, entry))
        aside.kept = True
        logger.info("--overwrite: the old run is kept in %s until the first "
                    "checkpoint", aside.path)
        return aside

    def discard(self):
        import shutil

        if self.kept:
            shutil.rmtree(self.path, ignore_errors=True)
            self.kept = False

    def restore(self):
        import shutil

        for entry in self.ENTRIES:
            new = os.path.join(self.folder, entry)
            old = os.path.join(self.path, entry)
            if os.path.isdir(new) and not os.path.islink(new):
                shutil.rmtree(new)
            elif os.path.lexists(new):
                os.remove(new)
            if os.path.lexists(old):
                os.replace(old, new)
        shutil.rmtree(self.path, ignore_errors=True)
        self.kept = False

    @classmethod
    def recover(cls, folder):
        """After a process killed while it held an old run aside: the old
        run comes back if the new one saved no checkpoint, else it goes."""
        aside = cls(folder)
        if not aside.kept:
            return
        if os.path.exists(os.path.join(folder, "checkpoint.keras")):
            aside.discard()
        else:
            logger.info("restoring the run an interrupted --overwrite set aside")
            aside.restore()


def _scale_learning_rates(model, factor):
    """Multiplies each optimizer's constant learning rate by `factor`;
    returns `{step name: new rate}`. A schedule is left as it is."""
    import keras

    rates = {}
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not hasattr(optimizer, "items"):
        return rates
    for name, child in optimizer.items():
        inner = getattr(child, "inner_optimizer", child)  # LossScaleOptimizer
        rate = getattr(inner, "_learning_rate", None)
        if isinstance(rate, keras.Variable):
            value = float(keras.ops.convert_to_numpy(rate)) * factor
            rate.assign(value)
            rates[name] = value
    return rates


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
