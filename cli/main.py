"""The `kerasgen` command: one click group with `families`, `train`, `sample`,
`translate`, `eval` and `export`.

Errors: a mistake of the user's (an unknown family, a bad path, a bad
`--set`, a missing checkpoint) ends the command with one `Error: ...` line
on stderr and a non-zero exit code (2 for a wrong argument, 1 for data or a
file that cannot be used). kerasgen's `ValueError`, `TypeError` and
`FileNotFoundError` are turned into such a line here, at the boundary; pass
`--debug` to see the traceback instead. Any other exception is a bug and
keeps its traceback.

Logging: the library only logs (`logging.getLogger("kerasgen.*")`); this
module installs the one handler, on stderr.

Start-up: `kerasgen --help` and `kerasgen families` import neither Keras nor
a backend (the family index is read from the source). The commands that
need Keras import it through `import_keras()`, which hides what
TensorFlow's C++ code prints on stderr while it loads (`I0000 ...` and
`E0000 ... cuInit` lines, whatever `TF_CPP_MIN_LOG_LEVEL` says), as does
`quiet_native_stderr()` around the other calls that print such lines
(building a model, the first `fit()`); `--debug` shows them.
"""

import contextlib
import functools
import logging
import os
import sys

import click

logger = logging.getLogger("kerasgen.cli")

BACKENDS = ("tensorflow", "jax")
# Set in the environment of a process that `--backend` started again.
_REEXEC_ENV = "KERASGEN_CLI_REEXEC"


# --- Errors ---------------------------------------------------------------------


class UserError(click.ClickException):
    """A mistake the user can fix: printed as one `Error: ...` line, exit 1."""

    exit_code = 1

    def __init__(self, message):
        super().__init__(" ".join(str(message).split()))


class UsageMistake(UserError):
    """A wrong argument or option: one `Error: ...` line, exit 2."""

    exit_code = 2


# The exceptions kerasgen raises for bad input: ValueError, TypeError and the
# file errors, never assert (the library's convention). A name that is taken
# (an export over an existing file or folder) or a folder the user cannot
# write is the user's to fix as well.
LIBRARY_ERRORS = (
    ValueError, TypeError, FileNotFoundError, NotADirectoryError,
    FileExistsError, IsADirectoryError, PermissionError,
)


def debug_enabled():
    ctx = click.get_current_context(silent=True)
    return bool(ctx is not None and ctx.find_root().meta.get("kerasgen.debug"))


def user_errors(function):
    """Turns kerasgen's input errors into one-line `Error:` messages
    (unless `--debug`), and Ctrl-C into a short message and exit 130."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except click.ClickException:
            raise
        except LIBRARY_ERRORS as error:
            if debug_enabled():
                raise
            raise UserError(_describe(error)) from error
        except KeyboardInterrupt:
            if debug_enabled():
                raise
            click.echo("Interrupted.", err=True)
            sys.exit(130)

    return wrapper


def usage_mistake(error):
    """`error` (a kerasgen ValueError about an argument) as a `UsageMistake`;
    with `--debug`, the original error is raised instead, with its traceback."""
    if debug_enabled():
        raise error
    return UsageMistake(str(error))


def _describe(error):
    if isinstance(error, OSError) and error.strerror and error.filename:
        return f"{error.strerror}: {error.filename}"
    return str(error) or type(error).__name__


def _set_debug(ctx, param, value):
    if value:
        ctx.find_root().meta["kerasgen.debug"] = True
        _configure_logging(logging.DEBUG)
    return value


debug_option = click.option(
    "--debug",
    is_flag=True,
    is_eager=True,
    expose_value=False,
    callback=_set_debug,
    help="Show full tracebacks and debug logs.",
)


# --- Native output ------------------------------------------------------------

# The process's real stderr, duplicated once and kept open: Python code that
# runs inside `quiet_native_stderr` writes here, and anything that keeps a
# reference to `sys.stderr` from then on (a handler made at import) keeps
# writing where the user can see it.
_visible_stderr = None
_quiet_depth = 0


def _writes_to_fd2(stream):
    try:
        return stream.fileno() == 2
    except (AttributeError, OSError, ValueError):
        return False


@contextlib.contextmanager
def quiet_native_stderr():
    """Discards what native code (TensorFlow's C++ logging, absl, CUDA
    probes) writes to file descriptor 2 inside the block, unless `--debug`.

    Python's own writes stay visible: when `sys.stderr` is the process's
    fd 2 it is pointed, for the block, at a copy of the original stderr.
    Exceptions pass through untouched, and fd 2 is restored in every case.
    """
    global _visible_stderr, _quiet_depth
    if _quiet_depth or debug_enabled():
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield  # no usable fd 2 (an embedded interpreter): nothing to hide
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    original = sys.stderr
    swap = _writes_to_fd2(original)
    if swap and _visible_stderr is None:
        _visible_stderr = os.fdopen(
            os.dup(saved), "w", buffering=1,
            encoding=getattr(original, "encoding", None) or "utf-8",
            errors="backslashreplace",
        )
    _quiet_depth += 1
    try:
        os.dup2(devnull, 2)
        if swap:
            sys.stderr = _visible_stderr
        yield
    finally:
        _quiet_depth -= 1
        if swap:
            _visible_stderr.flush()
            sys.stderr = original
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_keras():
    """`import keras` (which imports its backend), with the backend's native
    start-up lines hidden (see `quiet_native_stderr`). Every command imports
    Keras through this."""
    if "keras" not in sys.modules:
        with quiet_native_stderr():
            import keras  # noqa: F401
    return sys.modules["keras"]


# --- Logging --------------------------------------------------------------------


class _EchoHandler(logging.Handler):
    """Writes records with `click.echo(err=True)`, to the stderr of the moment
    (so that click's test runner, which swaps it, captures them)."""

    def emit(self, record):
        try:
            click.echo(self.format(record), err=True)
        except Exception:  # noqa: BLE001  (logging must never raise)
            self.handleError(record)


class _Formatter(logging.Formatter):
    def format(self, record):
        message = record.getMessage()
        if record.levelno >= logging.WARNING:
            return f"{record.levelname.lower()}: {message}"
        return message


def _configure_logging(level=logging.INFO):
    root = logging.getLogger("kerasgen")
    handler = next(
        (h for h in root.handlers if isinstance(h, _EchoHandler)), None
    )
    if handler is None:
        handler = _EchoHandler()
        handler.setFormatter(_Formatter())
        root.addHandler(handler)
    if root.level == logging.NOTSET or level < root.level:
        root.setLevel(level)


# --- Backend --------------------------------------------------------------------


def select_backend(backend):
    """Makes Keras run on `backend` ("tensorflow" or "jax").

    Keras fixes its backend when it is first imported. The commands import
    it only after their options are parsed (`kerasgen train` reads
    --backend before it imports the family), so this usually just sets
    `KERAS_BACKEND`. Where Keras is loaded already on another backend (the
    command run from a Python process that imported it), the command
    starts itself again (`python -m kerasgen.cli`, same arguments) with
    `KERAS_BACKEND` set.
    """
    if backend is None:
        return
    if "keras" not in sys.modules:
        os.environ["KERAS_BACKEND"] = backend
        return
    current = import_keras().backend.backend()
    if current == backend:
        return
    ctx = click.get_current_context()
    argv = (ctx.find_root().obj or {}).get("argv")
    if argv is not None and os.environ.get(_REEXEC_ENV) != backend:
        env = dict(os.environ, KERAS_BACKEND=backend, **{_REEXEC_ENV: backend})
        sys.stdout.flush()
        sys.stderr.flush()
        os.execve(
            sys.executable, [sys.executable, "-m", "kerasgen.cli", *argv], env
        )
    raise UsageMistake(
        f"Keras is already running on the {current!r} backend in this process. "
        f"Set KERAS_BACKEND={backend} in the environment instead. "
        f"Received: --backend {backend}"
    )


backend_option = click.option(
    "--backend",
    type=click.Choice(BACKENDS),
    default=None,
    help="Keras backend (default: KERAS_BACKEND, else Keras's own default).",
)


allow_nonfinite_option = click.option(
    "--allow-nonfinite", is_flag=True,
    help="Use a checkpoint whose weights hold NaN or infinity (refused "
         "otherwise: such a model samples garbage).",
)


# --- Option types ---------------------------------------------------------------


# Mirrors kerasgen.utils.images.VIEW_SIZE, which imports numpy: the help
# of `kerasgen --help` must not.
VIEW_SIZE = 512


class ScaleType(click.ParamType):
    """`auto` (None: upscale to `VIEW_SIZE`) or an integer factor >= 1."""

    name = "auto|N"

    def convert(self, value, param, ctx):
        if value is None or (isinstance(value, str) and value.lower() == "auto"):
            return None
        try:
            factor = int(value)
        except (TypeError, ValueError):
            self.fail(f"expected auto or an integer >= 1. Received: {value!r}",
                      param, ctx)
        if factor < 1:
            self.fail(f"expected auto or an integer >= 1. Received: {value!r}",
                      param, ctx)
        return factor


#: `--scale` of the commands that write a figure or strip (mix, inject,
#: swap, and the explore commands).
figure_scale_option = click.option(
    "--scale", type=ScaleType(), default="auto", show_default=True,
    help="Enlarge the picture by this integer factor (nearest neighbour); auto: "
         f"until its long side is {VIEW_SIZE} px or more.")


class SizeType(click.ParamType):
    """`HxW`, e.g. `64x128`: a height and a width, ints >= 1."""

    name = "HxW"

    def convert(self, value, param, ctx):
        if value is None or isinstance(value, tuple):
            return value
        height, _, width = str(value).lower().partition("x")
        try:
            size = (int(height), int(width))
        except ValueError:
            size = None
        if size is None or min(size) < 1:
            self.fail(f"expected HEIGHTxWIDTH, e.g. 64x128. Received: {value!r}", param, ctx)
        return size


# --- The group ------------------------------------------------------------------


def _one_line(error):
    """A click usage error (unknown option, bad value) as a `UsageMistake`:
    one `Error:` line that points to the command's --help, instead of
    click's usage block."""
    if type(error).__name__ == "NoArgsIsHelpError":
        return error  # `kerasgen` alone prints the help: not a mistake
    where = f" (see `{error.ctx.command_path} --help`)" if error.ctx else ""
    mistake = UsageMistake(f"{error.format_message()}{where}")
    mistake.exit_code = error.exit_code
    return mistake


class OneLineUsageGroup(click.Group):
    """The root group: every usage error of every command, click's own
    included, ends in one `Error:` line."""

    def make_context(self, info_name, args, parent=None, **extra):
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.UsageError as error:
            raise _one_line(error) from None

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except click.UsageError as error:
            raise _one_line(error) from None


@click.group(cls=OneLineUsageGroup,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="kerasgen", prog_name="kerasgen")
@debug_option
def cli():
    """kerasgen: train and sample the generative models of the zoo."""
    _configure_logging()


@cli.command()
@debug_option
@user_errors
def families():
    """List the model families that `kerasgen train` knows."""
    from kerasgen.models import index

    entries = index()
    width = max(len(entry.name) for entry in entries)
    for entry in entries:
        click.echo(f"{entry.name:<{width}}  {entry.summary}")


@cli.command()
@click.argument("checkpoint", type=click.Path(dir_okay=True, path_type=str))
@click.option("--n", "n", type=click.IntRange(min=1), default=64, show_default=True,
              help="How many samples.")
@click.option("--out", type=click.Path(path_type=str), default=None,
              help="PNG file to write (another extension, such as .jpg, is "
                   "refused); for an audio model, the folder of the WAV files "
                   "and their picture. Default: samples.png, or samples/ for audio.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the latents: the same seed gives the same grid.")
@click.option("--nrow", type=click.IntRange(min=1), default=None,
              help="Images per row (default: a square grid).")
@click.option("--label", type=int, default=None,
              help="Class of every sample (class-conditional models only).")
@click.option("--scale", type=ScaleType(), default="auto", show_default=True,
              help="Enlarge the grid by this integer factor (nearest "
                   f"neighbour); auto: until its long side is {VIEW_SIZE} px "
                   "or more; 1: as sampled.")
@click.option("--steps", type=click.IntRange(min=1), default=None,
              help="Sampling steps, for a family that samples in steps (diffusion: "
                   "DDIM steps).")
@click.option("--guidance", type=click.FloatRange(min=0), default=None,
              help="Classifier-free guidance scale w (conditional diffusion).")
@click.option("--eta", type=click.FloatRange(min=0), default=None,
              help="DDIM noise: 0 deterministic, 1 DDPM's variances (diffusion).")
@click.option("--sampler", type=str, default=None,
              help="The family's sampler, e.g. ddim or ddpm (diffusion).")
@click.option("--size", type=SizeType(), default=None,
              help="Samples of another size or aspect ratio, HEIGHTxWIDTH, for a "
                   "family that generates at any size (SinGAN).")
@allow_nonfinite_option
@backend_option
@debug_option
@user_errors
def sample(checkpoint, n, out, seed, nrow, label, scale, steps, guidance, eta, sampler,
           size, allow_nonfinite, backend):
    """Draw samples from a checkpoint or zoo preset into a PNG grid (audio:
    WAV files and a PNG of their waveforms and spectrograms).

    CHECKPOINT is a `.keras` file, a run folder (its checkpoint.keras) or a
    zoo preset name (`kerasgen zoo list`).

    Example: kerasgen sample dcgan-mnist --n 64 --out grid.png

    Example: kerasgen sample wavegan-fsdd --n 16 --out samples/
    """
    select_backend(backend)
    if out is not None and not out.endswith(os.sep) and not os.path.isdir(out):
        check_png_path(out, "--out")
    resolved = resolve_source(checkpoint)
    path = resolved[1]
    model = load_source(resolved, allow_nonfinite=allow_nonfinite)
    audio = model.data_spec().kind == "waveforms"
    if audio:
        out = "samples" if out is None else out
        if os.path.splitext(out)[1].lower() == ".png" or os.path.isfile(out):
            raise UsageMistake(
                f"{type(model).__name__} makes audio: --out is the folder its WAV "
                f"files and their picture go to, e.g. --out samples/. Received: --out {out}")
    else:
        out = "samples.png" if out is None else out
        if out.endswith(os.sep) or os.path.isdir(out):
            raise UsageMistake(f"--out is the PNG file to write, not a folder. "
                               f"Received: --out {out}")
    from kerasgen.models.interfaces import require
    from kerasgen.utils.images import make_grid
    from kerasgen.utils.images import save_png
    from kerasgen.utils.images import upscale

    try:
        require(model, "sample", hint=what_it_does(model))
    except ValueError as error:
        raise usage_mistake(error) from error
    options = sampling_options(model, steps=steps, guidance=guidance, eta=eta,
                               sampler=sampler, size=size)
    if label is None:
        try:
            images = model.sample(n, seed=seed, **options)
        except ValueError as error:
            if not options:
                raise
            raise usage_mistake(error) from error
    else:
        try:
            images = model.sample(n, seed=seed, labels=[label] * n, **options)
        except (ValueError, TypeError) as error:
            raise usage_mistake(ValueError(f"--label {label}: {error}")) from error
    if audio:
        from kerasgen.utils.audio import write_audio_samples

        try:
            written = write_audio_samples(out, images, model.data_spec().sample_rate)
        except OSError as error:
            raise UserError(f"Cannot write to {out}: {error.strerror or error}. "
                            f"Received: --out {out}") from error
        click.echo(f"Wrote {len(images)} WAV files of {path} to {out} "
                   f"({os.path.basename(written[0])} ...) and their picture, {written[-1]}")
        return
    grid = make_grid(images, nrow=nrow)
    save_png(upscale(grid, factor=scale), out)
    click.echo(f"Wrote {len(images)} samples of {path} to {out}")


def _seeds(text, option):
    try:
        seeds = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        seeds = []
    if not seeds:
        raise UsageMistake(f"{option} takes comma-separated integer seeds, e.g. 1,2,3. "
                           f"Received: {option} {text}")
    return seeds


@cli.command()
@click.argument("checkpoint", type=click.Path(dir_okay=True, path_type=str))
@click.option("--coarse", required=True, metavar="SEEDS",
              help="Seeds of the sources A (comma-separated): their coarse styles "
                   "(layers below --crossover) go into every image of their row.")
@click.option("--fine", required=True, metavar="SEEDS",
              help="Seeds of the sources B (comma-separated): the rest of the styles, "
                   "one column each.")
@click.option("--crossover", type=click.IntRange(min=0), default=None,
              help="Synthesis layers [0, N) take the styles of A. Default: the "
                   "family's coarse range (StyleGAN2: the 4x4 and 8x8 layers).")
@click.option("--psi", type=float, default=None,
              help="Truncation psi (1: none). Default: the model's.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=str),
              default="mixing.png", show_default=True, help="PNG file to write.")
@figure_scale_option
@allow_nonfinite_option
@backend_option
@debug_option
@user_errors
def mix(checkpoint, coarse, fine, crossover, psi, out, scale, allow_nonfinite, backend):
    """Style mixing figure: the sources B along the top, the sources A down
    the left, and in each cell A's coarse styles with B's fine ones.

    Example: kerasgen mix runs/stylegan2 --coarse 1,2,3 --fine 4,5,6 --out mix.png
    """
    select_backend(backend)
    check_png_path(out, "--out")
    coarse_seeds, fine_seeds = _seeds(coarse, "--coarse"), _seeds(fine, "--fine")
    resolved = resolve_source(checkpoint)
    model = load_source(resolved, allow_nonfinite=allow_nonfinite)
    import numpy as np

    from kerasgen.models.interfaces import require
    from kerasgen.utils.images import make_grid
    from kerasgen.utils.images import save_png
    from kerasgen.utils.images import upscale

    try:
        require(model, "mix", hint="Style mixing needs a style-based generator "
                "(stylegan2).")
    except ValueError as error:
        raise usage_mistake(error) from error
    a = np.concatenate([model.sample_latents(1, seed=s) for s in coarse_seeds])
    b = np.concatenate([model.sample_latents(1, seed=s) for s in fine_seeds])
    try:
        sources_a = model.mix(a, a, crossover=0, psi=psi)
        sources_b = model.mix(b, b, crossover=0, psi=psi)
        rows = [np.concatenate([np.full_like(sources_b[:1], -1.0), sources_b])]
        for i in range(len(a)):
            cells = model.mix(np.repeat(a[i:i + 1], len(b), axis=0), b, crossover, psi)
            rows.append(np.concatenate([sources_a[i:i + 1], cells]))
    except ValueError as error:
        raise usage_mistake(error) from error
    grid = make_grid(np.concatenate(rows), nrow=len(b) + 1)
    save_png(upscale(grid, factor=scale), out)
    click.echo(f"Wrote a {len(a)} x {len(b)} style mixing figure of {resolved[1]} to {out}")


@cli.command()
@click.argument("checkpoint", type=click.Path(dir_okay=True, path_type=str))
@click.argument("image", type=click.Path(dir_okay=False, path_type=str))
@click.option("--start", type=int, default=None,
              help="The scale the image enters at (1 is the coarsest after the "
                   "first): coarse starts repaint more (paint-to-image), fine ones "
                   "keep more (harmonization). Default: the middle scale.")
@click.option("--mask", type=click.Path(dir_okay=False, path_type=str), default=None,
              help="Greyscale image, white where IMAGE was edited or pasted: the "
                   "result is kept there and IMAGE elsewhere.")
@click.option("--n", "n", type=click.IntRange(min=1), default=4, show_default=True,
              help="How many results (different noise).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the noise.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=str),
              default="injected.png", show_default=True,
              help="PNG file: IMAGE (as the model sees it), then the results.")
@figure_scale_option
@allow_nonfinite_option
@backend_option
@debug_option
@user_errors
def inject(checkpoint, image, start, mask, n, seed, out, scale, allow_nonfinite, backend):
    """Run IMAGE up a multi-scale generator from scale --start: SinGAN's
    paint-to-image, editing and harmonization (Shaham et al. 2019, section 4).

    Example: kerasgen inject runs/singan painted.png --start 2 --out painted_out.png
    """
    select_backend(backend)
    check_png_path(out, "--out")
    resolved = resolve_source(checkpoint)
    model = load_source(resolved, allow_nonfinite=allow_nonfinite)
    import numpy as np

    from kerasgen.data import load_images
    from kerasgen.data import to_unit_range
    from kerasgen.models.interfaces import require
    from kerasgen.utils.images import make_grid
    from kerasgen.utils.images import save_png
    from kerasgen.utils.images import upscale

    try:
        require(model, "inject", hint="Injecting an image needs a multi-scale "
                "generator (singan).")
        picture = load_images(image, channels=model.channels).images
        weights = None
        if mask is not None:
            weights = load_images(mask, channels=1).images[0, ..., 0] / 255.0
        picture = to_unit_range(picture)
        results = model.inject(np.repeat(picture, n, axis=0), start_scale=start,
                               seed=seed, mask=weights)
    except ValueError as error:
        raise usage_mistake(error) from error
    import keras

    # IMAGE as the model saw it: at the training size.
    shown = keras.ops.image.resize(picture, results.shape[1:3], antialias=True)
    strip = np.concatenate([np.clip(keras.ops.convert_to_numpy(shown), -1, 1), results])
    save_png(upscale(make_grid(strip, nrow=n + 1), factor=scale), out)
    click.echo(f"Wrote {n} results of {image} injected into {resolved[1]} to {out}")


@cli.command()
@click.argument("checkpoint", type=click.Path(dir_okay=True, path_type=str))
@click.option("--structure", "structure", required=True, multiple=True, metavar="PATH",
              help="Image file or folder (repeatable): the structure sources, one row "
                   "each.")
@click.option("--texture", "texture", required=True, multiple=True, metavar="PATH",
              help="Image file or folder (repeatable): the texture sources, one column "
                   "each.")
@click.option("--max-images", type=click.IntRange(min=1), default=8, show_default=True,
              help="At most this many images from each of --structure and --texture.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=str),
              default="swap.png", show_default=True, help="PNG file to write.")
@figure_scale_option
@allow_nonfinite_option
@backend_option
@debug_option
@user_errors
def swap(checkpoint, structure, texture, max_images, out, scale, allow_nonfinite, backend):
    """Structure/texture swap figure: the texture sources along the top,
    the structure sources down the left, and in each cell the row's
    structure with the column's texture (swapping autoencoder).

    Example: kerasgen swap swapae-celeba64 --structure faces/a.jpg --texture faces/ --out swap.png
    """
    select_backend(backend)
    check_png_path(out, "--out")
    resolved = resolve_source(checkpoint)
    model = load_source(resolved, allow_nonfinite=allow_nonfinite)
    from kerasgen.models.interfaces import require
    from kerasgen.utils.images import make_grid
    from kerasgen.utils.images import save_png
    from kerasgen.utils.images import upscale

    try:
        require(model, "swap", hint=what_it_does(model))
    except ValueError as error:
        raise usage_mistake(error) from error
    structures = _images_of(model, structure, max_images, "--structure")
    textures = _images_of(model, texture, max_images, "--texture")
    images, nrow = model.swap_figure(structures, textures)
    save_png(upscale(make_grid(images, nrow=nrow), factor=scale), out)
    click.echo(f"Wrote a {len(structures)} x {len(textures)} swap figure of {resolved[1]} "
               f"to {out}")


def _images_of(model, paths, max_images, option):
    """Images in [-1, 1] at the model's size from files or folders, at most
    `max_images` in all."""
    import numpy as np

    from kerasgen.data import load_images
    from kerasgen.data import to_unit_range

    spec = model.data_spec()
    found = []
    for path in paths:
        if not os.path.exists(path):
            raise UserError(f"{option}: no such file or folder: {path}")
        try:
            data = load_images(path, image_size=spec.image_size, channels=spec.channels,
                               max_images=max_images - sum(len(f) for f in found))
        except ValueError as error:
            raise UserError(f"{option} {path}: {error}") from error
        found.append(to_unit_range(data.images))
        if sum(len(f) for f in found) >= max_images:
            break
    return np.concatenate(found)[:max_images]


#: What the commands do with each capability, for the one-line refusals.
USES = {"sample": "draw samples with `kerasgen sample CHECKPOINT`",
        "translate": "translate images with `kerasgen translate CHECKPOINT IMAGES... "
                     "--out DIR`",
        "swap": "swap structure and texture with `kerasgen swap CHECKPOINT --structure "
                "IMAGES --texture IMAGES`",
        "mix": "mix styles with `kerasgen mix CHECKPOINT --coarse SEEDS --fine SEEDS`"}


def what_it_does(model):
    """A refusal's hint: the commands that work on `model`, from what it
    provides ("" when none of them does)."""
    from kerasgen.models.interfaces import provides

    uses = [text for interface, text in USES.items() if provides(model, interface)]
    return f"It can: {'; '.join(uses)}." if uses else ""


def sampling_options(model, **given):
    """The options given on the command line (not None) as keyword
    arguments of `model.sample`, refused in one line where the family's
    `sample_options` lacks one."""
    options = {name: value for name, value in given.items() if value is not None}
    offered = tuple(getattr(model, "sample_options", ()))
    for name, value in options.items():
        if name not in offered:
            raise UsageMistake(
                f"{type(model).__name__} takes no --{name} (its sampling options: "
                f"{', '.join('--' + o for o in offered) or 'none'}). "
                f"Received: --{name} {value}")
    return options


def check_png_path(path, option):
    """Refuses a file name whose extension names another format than PNG:
    kerasgen writes PNG only, and `x.jpg` holding PNG bytes misleads."""
    extension = os.path.splitext(os.fspath(path))[1]
    if extension and extension.lower() != ".png":
        raise UsageMistake(
            f"{option} must be a .png file: kerasgen writes PNG only. "
            f"Received: {option} {path}"
        )


def resolve_source(source):
    """What a SOURCE argument names: `("preset", name)` for a zoo preset
    name (one that is not also a path here), else `("checkpoint", path)`
    for a `.keras` file or run folder (`resolve_checkpoint`)."""
    if not os.path.exists(source) and os.sep not in source:
        from kerasgen.zoo.registry import is_preset

        if is_preset(source):
            return "preset", source
    return "checkpoint", resolve_checkpoint(source)


def load_source(resolved, allow_nonfinite=False):
    """The model of a `resolve_source` result: a checkpoint through
    `load_checkpoint`, a preset through the zoo (its files checked against
    their sha256 first); a preset that is not a generative model (a
    feature extractor) or fails its checks is one `UserError`."""
    kind, where = resolved
    if kind == "checkpoint":
        return load_checkpoint(where, allow_nonfinite=allow_nonfinite)
    import_keras()
    from kerasgen.training.base import GenerativeModel
    from kerasgen.zoo.registry import load

    try:
        with quiet_native_stderr():
            model = load(where)
    except ValueError as error:
        if debug_enabled():
            raise
        raise UserError(_describe(error)) from error
    if not isinstance(model, GenerativeModel):
        raise UsageMistake(
            f"The preset {where} is a feature extractor (for `kerasgen eval "
            f"--extractor {where}`), not a generative model. Received: {where}"
        )
    return model


def resolve_checkpoint(checkpoint):
    """A `.keras` file, given itself or its run folder."""
    path = checkpoint
    if os.path.isdir(path):
        path = os.path.join(path, "checkpoint.keras")
        if not os.path.isfile(path):
            raise UsageMistake(
                f"The folder {checkpoint} holds no checkpoint.keras (is it a "
                f"kerasgen run folder?). Received: checkpoint={checkpoint}"
            )
    elif not os.path.exists(path):
        raise UsageMistake(
            f"No such checkpoint or zoo preset: {checkpoint}. Pass a .keras "
            f"file, a run folder such as runs/<name>, or a preset name "
            f"(`kerasgen zoo list`). Received: checkpoint={checkpoint}"
        )
    if not path.endswith(".keras"):
        raise UsageMistake(
            f"A checkpoint is a .keras file (or a run folder). "
            f"Received: checkpoint={checkpoint}"
        )
    return path


def _read_archive_config(path):
    """The `config.json` of a `.keras` archive, after checking every member
    against its CRC (a flipped byte in the weights would otherwise load as
    wrong, or NaN, weights); a `UserError` naming what is wrong."""
    import json
    import zipfile
    import zlib

    where = f"Received: checkpoint={path}"
    if not zipfile.is_zipfile(path):
        raise UserError(
            f"The checkpoint {path} ({os.path.getsize(path):,} bytes) is not a "
            f".keras archive: it is not a zip file (truncated, corrupt, or "
            f"another format). {where}"
        )
    try:
        with zipfile.ZipFile(path) as archive:
            broken = archive.testzip()
            if broken is not None:
                raise UserError(
                    f"The checkpoint {path} is corrupt: its member {broken} "
                    f"fails its CRC check (a damaged copy?). {where}"
                )
            if "config.json" not in archive.namelist():
                raise UserError(
                    f"The checkpoint {path} is a zip file but not a .keras "
                    f"archive: it has no config.json. {where}"
                )
            return json.loads(archive.read("config.json"))
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError,
            ValueError) as error:  # json.JSONDecodeError is a ValueError
        if debug_enabled():
            raise
        reason = " ".join(str(error).split())[:200]
        raise UserError(
            f"The checkpoint {path} is corrupt ({type(error).__name__}: "
            f"{reason}). {where}"
        ) from error


def _check_dimensions(config, path):
    """Refuses an absurd dimension in the model's config
    (`kerasgen.models.registry.check_dimensions`) before anything is built."""
    from kerasgen.models.registry import check_dimensions

    try:
        check_dimensions((config or {}).get("config"), f"The checkpoint {path}")
    except ValueError as error:
        raise UserError(f"{error} Received: checkpoint={path}") from error


def _check_finite(model, path):
    """Refuses weights with NaN or infinity: such a model samples garbage
    (a run that diverged), which is better said than drawn."""
    import numpy as np

    keras = import_keras()
    bad = [
        variable.path for variable in model.weights
        if not np.isfinite(keras.ops.convert_to_numpy(variable)).all()
    ]
    if bad:
        raise UserError(
            f"{len(bad)} of the {len(model.weights)} weight variables of the "
            f"checkpoint {path} hold NaN or infinite values (e.g. {bad[0]}): "
            f"the run diverged. Pass --allow-nonfinite to use it anyway. "
            f"Received: checkpoint={path}"
        )


def load_checkpoint(path, allow_nonfinite=True):
    """`keras.saving.load_model` (safe mode) after registering kerasgen.

    Every failure is one `UserError` that says what is wrong with the file:
    not a zip (truncated, random bytes), a member that fails its CRC (a
    flipped byte), an absurd dimension in its config (see
    `kerasgen.models.registry.MAX_CONFIG_DIMENSION`), a model that is not
    a kerasgen family, or,
    when `allow_nonfinite` is False, weights with NaN or infinite values.
    The commands that use the weights (sample, translate, export) pass
    False unless `--allow-nonfinite`; the default, True, leaves resuming
    a run (`kerasgen train --resume`) as it was.
    """
    keras = import_keras()
    from kerasgen.models import load_all

    families = load_all()  # registers every family with Keras
    config = _read_archive_config(path)
    _check_dimensions(config, path)
    try:
        # Building the model is where TensorFlow probes for CUDA (an
        # `E0000 ... cuInit` line on a machine without a GPU).
        with quiet_native_stderr():
            model = keras.saving.load_model(path)
    except (ValueError, TypeError, OSError, KeyError, MemoryError) as error:
        if debug_enabled():
            raise
        reason = " ".join(str(error).split())[:300] or type(error).__name__
        raise UserError(
            f"Could not load the checkpoint {path}: {reason}. "
            f"Received: checkpoint={path}"
        ) from error
    except Exception as error:
        # The backends' out-of-memory errors (TensorFlow's
        # ResourceExhaustedError, XLA's RESOURCE_EXHAUSTED status on JAX),
        # told by name so that neither backend is imported for it.
        out_of_memory = type(error).__name__ == "ResourceExhaustedError" or (
            "RESOURCE_EXHAUSTED" in str(error)
            and type(error).__name__ in ("XlaRuntimeError", "JaxRuntimeError")
        )
        if debug_enabled() or not out_of_memory:
            raise
        raise UserError(
            f"Out of memory while building the model of the checkpoint "
            f"{path}. Received: checkpoint={path}"
        ) from error
    from kerasgen.training.base import GenerativeModel

    # A user's subclass of a family is welcome; a plain Keras model is not.
    if not isinstance(model, GenerativeModel):
        raise UserError(
            f"The checkpoint {path} holds a {type(model).__name__}, which is "
            f"not a kerasgen family ({', '.join(sorted(families))}): kerasgen "
            f"loads the checkpoints that `kerasgen train` writes. "
            f"Received: checkpoint={path}"
        )
    if not allow_nonfinite:
        _check_finite(model, path)
    return model


def _register_commands():
    from kerasgen.cli.eval import evaluate
    from kerasgen.cli.explore import explore
    from kerasgen.cli.export import export
    from kerasgen.cli.train import train
    from kerasgen.cli.translate import translate
    from kerasgen.cli.zoo import zoo

    cli.add_command(train)
    cli.add_command(translate)
    cli.add_command(evaluate)
    cli.add_command(export)
    cli.add_command(zoo)
    cli.add_command(explore)


_register_commands()


def main(argv=None):
    """The console script `kerasgen`."""
    args = list(sys.argv[1:] if argv is None else argv)
    return cli.main(args=args, prog_name="kerasgen", obj={"argv": args})
