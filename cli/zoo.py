"""`kerasgen zoo`: the presets (list, info, path), publishing a run as a
preset, and registering one published elsewhere.

`list`, `info`, `path` and `register` read JSON files and hash files only:
they import neither Keras nor a backend (a registered preset's first
`path` downloads it). `publish` loads the run and measures it.
"""

import json
import os

import click

from kerasgen.cli.main import UsageMistake
from kerasgen.cli.main import UserError
from kerasgen.cli.main import backend_option
from kerasgen.cli.main import debug_enabled
from kerasgen.cli.main import debug_option
from kerasgen.cli.main import import_keras
from kerasgen.cli.main import quiet_native_stderr
from kerasgen.cli.main import select_backend
from kerasgen.cli.main import user_errors

#: Where the project's datasets are, relative to a checkout (its cards
#: record data relative to this root, so another checkout recomputes them).
DEFAULT_DATASETS = os.path.join("..", "shared", "datasets")


def _preset_errors(function):
    """A `PresetError` (unknown name, failed check) as one `Error:` line
    with exit 1 (2 for an unknown name: a wrong argument)."""
    import functools

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        from kerasgen.zoo.registry import PresetError

        try:
            return function(*args, **kwargs)
        except PresetError as error:
            if debug_enabled():
                raise
            if str(error).startswith(("Unknown preset", "A preset name")):
                raise UsageMistake(str(error)) from error
            raise UserError(str(error)) from error

    return wrapper


@click.group("zoo")
def zoo():
    """The pretrained presets: list, info, path, publish, register.

    Example: kerasgen zoo list
    """


def _headline(row):
    headline = row.get("headline")
    if not headline:
        return ""
    value = headline["value"]
    return f"{headline['label']} {value:.4g}" if isinstance(value, float) else \
        f"{headline['label']} {value}"


@zoo.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
@debug_option
@user_errors
@_preset_errors
def list_command(as_json):
    """List the presets: family, data, resolution, size, headline metric."""
    from kerasgen.zoo.registry import list_presets

    rows = list_presets()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("No presets.")
        return
    table = [("name", "family", "resolution", "size", "headline metric", "data")]
    for row in rows:
        table.append((
            row["name"], row["family"] or row["kind"].replace("_", " "),
            row["resolution"] or "", f"{row['bytes'] / 2**20:.1f} MiB",
            _headline(row), (row["data"] or row["where"])[:60]))
    widths = [max(len(str(r[i])) for r in table) for i in range(len(table[0]))]
    for line in table:
        click.echo("  ".join(str(cell).ljust(width) for cell, width in zip(line, widths)).rstrip())


@zoo.command("info")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the whole metadata as JSON.")
@debug_option
@user_errors
@_preset_errors
def info_command(name, as_json):
    """Show what a preset's metadata says (its files checked first)."""
    from kerasgen.zoo.registry import info

    metadata = info(name)
    if as_json:
        click.echo(json.dumps(metadata, indent=2))
        return
    training = metadata.get("training") or {}
    lines = [
        ("name", metadata.get("name")), ("family", metadata.get("family") or metadata.get("kind")),
        ("data", metadata.get("data")), ("resolution", metadata.get("resolution")),
        ("steps", training.get("steps")), ("batch size", training.get("batch_size")),
        ("backend", metadata.get("backend")),
        ("training time", None if training.get("train_seconds") is None
         else f"{training['train_seconds'] / 60:.1f} min"),
        ("weights", metadata.get("weights_dtype")),
        ("path", metadata["path"]), ("card", metadata["card"]),
    ]
    for key, value in lines:
        if value is not None:
            click.echo(f"{key:<14} {value}")
    metrics = metadata.get("metrics") or []
    if isinstance(metrics, dict):
        metrics = [{"label": key, "value": value} for key, value in metrics.items()]
    shares = [row for row in metrics if row.get("metric") == "class_share"]
    for row in metrics:
        if row.get("metric") == "class_share":
            if row is shares[0]:
                values = ", ".join(f"{r['class']}: {r['value']:.3f}" for r in shares)
                click.echo(f"{'metric':<14} class shares ({row['extractor']}): {values}")
            continue
        value = row["value"]
        shown = f"{value:.4g}" if isinstance(value, float) else f"{value}"
        click.echo(f"{'metric':<14} {row['label']}: {shown}")


@zoo.command("path")
@click.argument("name")
@debug_option
@user_errors
@_preset_errors
def path_command(name):
    """Print a preset's local folder (a registered one is downloaded and
    checked first)."""
    from kerasgen.zoo.registry import preset_path

    click.echo(str(preset_path(name)))


@zoo.command("register")
@click.argument("name")
@click.argument("handle")
@click.option("--sha256", required=True,
              help="The sha256 of the preset's metadata.json (printed by `kerasgen "
                   "zoo publish`); it vouches for every other file.")
@debug_option
@user_errors
@_preset_errors
def register_command(name, handle, sha256):
    """Register a preset published at HANDLE under NAME: an https:// or
    file:// folder URL, a local folder, hf://owner/repo[@revision] or
    kaggle://owner/model/framework/variation/version. It is downloaded
    (into $KERASGEN_HOME) and checked on first use.
    """
    from kerasgen.zoo.registry import register

    entry = register(name, handle, sha256)
    click.echo(f"Registered {name}: {entry['handle']} (metadata.json sha256 {entry['sha256']})")


@zoo.command("publish")
@click.argument("run", type=click.Path(file_okay=False, path_type=str))
@click.option("--name", required=True, help="The preset's name, e.g. dcgan-mnist.")
@click.option("--out", type=click.Path(file_okay=False, path_type=str), default=None,
              help="Where to write the preset folder (default: the zoo's, which is "
                   "then re-indexed).")
@click.option("--datasets", type=click.Path(file_okay=False, path_type=str),
              default=DEFAULT_DATASETS, show_default=True,
              help="The root of the datasets; data under it is recorded relative to "
                   "it so that another checkout can recompute the card.")
@click.option("--n", "n", type=click.IntRange(min=1), default=None,
              help="Samples (and held-out images) per metric (default 2,000; "
                   "translation: every test image).")
@click.option("--extractor", default=None,
              help="Feature extractor or domain classifier of the metrics (default: "
                   "lenet-mnist for grey images, inception-v3 for colour).")
@click.option("--metrics", default=None, help="Comma-separated metrics (as kerasgen eval).")
@click.option("--description", default=None, help="The card's first paragraph.")
@click.option("--data-note", default=None, help="How the card names the data.")
@click.option("--notes", type=click.Path(dir_okay=False, path_type=str), default=None,
              help="A markdown file added to the card (e.g. the recipes tried).")
@click.option("--weights-dtype", type=click.Choice(("auto", "float16", "float32")),
              default="auto", show_default=True,
              help="auto: float16 when every metric agrees with float32's within "
                   "the zoo's tolerance.")
@click.option("--without-ema", is_flag=True,
              help="Ship the trained network instead of its moving average (for a run "
                   "whose ema_decay was too slow for its length); the card says so.")
@backend_option
@debug_option
@user_errors
@_preset_errors
def publish_command(run, name, out, datasets, n, extractor, metrics, description,
                    data_note, notes, weights_dtype, without_ema, backend):
    """Turn a finished run folder into a preset: weights, config, metrics measured
    from the shipped weights, sample grid, model card, sha256 of every file.

    Example: kerasgen zoo publish runs/dcgan-mnist --name dcgan-mnist
    """
    select_backend(backend)
    import_keras()
    from kerasgen.zoo.publish import publish

    notes_text = ""
    if notes is not None:
        try:
            with open(notes) as file:
                notes_text = file.read()
        except OSError as error:
            raise UsageMistake(f"Cannot read --notes {notes}: {error.strerror}. "
                               f"Received: --notes {notes}") from error
    chosen = None if metrics is None else [m.strip() for m in metrics.split(",") if m.strip()]
    with quiet_native_stderr():
        folder = publish(run, name, out=out, description=description,
                         datasets=datasets if os.path.isdir(datasets) else None, n=n,
                         extractor=extractor, metrics=chosen, notes=notes_text,
                         data_note=data_note, weights_dtype=weights_dtype,
                         without_ema=without_ema,
                         progress=lambda text: click.echo(text, err=True))
    from kerasgen.zoo.registry import verify_folder

    metadata = verify_folder(folder)
    click.echo(f"Published {name} in {folder} ({metadata['weights_dtype']} weights)")
    for row in metadata["metrics"]:
        if row["metric"] != "class_share":
            click.echo(f"  {row['label']}: {row['value']:.4g}")
