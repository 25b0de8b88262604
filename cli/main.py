"""The `kerasgen` command: one click group with `families`, `train`, `sample`,
`translate` and `export`.

Errors: a mistake of the user's (an unknown family, a bad path, a bad
`--set`, a missing checkpoint) ends the command with one `Error: ...` line
on stderr and a non-zero exit code (2 for a wrong argument, 1 for data or a
file that cannot be used). kerasgen's `ValueError`, `TypeError` and
`FileNotFoundError` are turned into such a line here, at the boundary; pass
`--debug` to see the traceback instead. Any other exception is a bug and
keeps its traceback.

Logging: the library only logs (`logging.getLogger("kerasgen.*")`); this
module installs the one handler, on stderr.
"""

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


# The exceptions kerasgen raises for bad input (see STYLE.md, "Errors").
LIBRARY_ERRORS = (ValueError, TypeError, FileNotFoundError, NotADirectoryError)


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

    Keras fixes its backend when it is first imported, and `import kerasgen`
    (which ran before this command could parse its options) imports it. So
    when `--backend` differs from the running one, the command starts itself
    again (`python -m kerasgen.cli`, same arguments) with `KERAS_BACKEND`
    set. That costs one import of the first backend: setting
    `KERAS_BACKEND` in the environment avoids it.
    """
    if backend is None:
        return
    if "keras" not in sys.modules:
        os.environ["KERAS_BACKEND"] = backend
        return
    import keras

    current = keras.backend.backend()
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


# --- The group ------------------------------------------------------------------


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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
@click.option("--out", type=click.Path(dir_okay=False, path_type=str),
              default="samples.png", show_default=True, help="PNG file to write.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the latents: the same seed gives the same grid.")
@click.option("--nrow", type=click.IntRange(min=1), default=None,
              help="Images per row (default: a square grid).")
@click.option("--label", type=int, default=None,
              help="Class of every sample (class-conditional models only).")
@backend_option
@debug_option
@user_errors
def sample(checkpoint, n, out, seed, nrow, label, backend):
    """Draw samples from a checkpoint into a PNG grid.

    CHECKPOINT is a `.keras` file or a run folder (its checkpoint.keras).
    """
    select_backend(backend)
    path = resolve_checkpoint(checkpoint)
    model = load_checkpoint(path)
    from kerasgen.utils.images import save_grid

    if label is None:
        images = model.sample(n, seed=seed)
    else:
        try:
            images = model.sample(n, seed=seed, labels=[label] * n)
        except (ValueError, TypeError) as error:
            raise usage_mistake(ValueError(f"--label {label}: {error}")) from error
    save_grid(images, out, nrow=nrow)
    click.echo(f"Wrote {len(images)} samples of {path} to {out}")


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
            f"No such checkpoint: {checkpoint}. Pass a .keras file or a run "
            f"folder such as runs/<name>. Received: checkpoint={checkpoint}"
        )
    if not path.endswith(".keras"):
        raise UsageMistake(
            f"A checkpoint is a .keras file (or a run folder). "
            f"Received: checkpoint={checkpoint}"
        )
    return path


def load_checkpoint(path):
    """`keras.saving.load_model` (safe mode) after registering kerasgen."""
    import keras

    from kerasgen.models import load_all

    load_all()  # registers every family with Keras

    try:
        return keras.saving.load_model(path)
    except (ValueError, TypeError, OSError, KeyError) as error:
        if debug_enabled():
            raise
        reason = " ".join(str(error).split())[:300]
        raise UserError(
            f"Could not load the checkpoint {path}: {reason}. "
            f"Received: checkpoint={path}"
        ) from error


def _register_commands():
    from kerasgen.cli.export import export
    from kerasgen.cli.train import train
    from kerasgen.cli.translate import translate

    cli.add_command(train)
    cli.add_command(translate)
    cli.add_command(export)


_register_commands()


def main(argv=None):
    """The console script `kerasgen`."""
    args = list(sys.argv[1:] if argv is None else argv)
    return cli.main(args=args, prog_name="kerasgen", obj={"argv": args})
