"""`kerasgen export SOURCE`: a SavedModel for TF Serving, or TFLite files.

SOURCE is a training checkpoint: a `.keras` file or a run folder (its
`checkpoint.keras`). Preset names of the zoo come with the zoo; until then a
SOURCE that is not a path is refused with a message saying so.

Export runs through TensorFlow. Started on JAX from the console script, the
command starts itself again with `KERAS_BACKEND=tensorflow` (the `.keras`
file is the same on either backend); called in a process that already runs
Keras on JAX, it stops with one `Error:` line saying to set
`KERAS_BACKEND=tensorflow`.
"""

import os

import click

from kerasgen.cli.main import UsageMistake
from kerasgen.cli.main import UserError
from kerasgen.cli.main import allow_nonfinite_option
from kerasgen.cli.main import debug_option
from kerasgen.cli.main import load_source
from kerasgen.cli.main import resolve_source
from kerasgen.cli.main import select_backend
from kerasgen.cli.main import user_errors

FORMATS = ("saved_model", "tflite")
QUANTIZE_CHOICES = ("none", "float16", "dynamic-int8", "int8")


def default_name(source, path):
    """The preset's name, the run folder's name for
    `runs/<name>/checkpoint.keras`, else the file's stem."""
    if source == path and not os.path.exists(path):  # a zoo preset
        return source
    if os.path.basename(path) == "checkpoint.keras":
        return os.path.basename(os.path.dirname(os.path.abspath(path)))
    return os.path.splitext(os.path.basename(path))[0]


def _use_tensorflow():
    import keras

    if keras.backend.backend() == "tensorflow":
        return
    try:
        select_backend("tensorflow")  # Starts the command again on TF, if it can.
    except UsageMistake:
        pass
    raise UsageMistake(
        "Export runs through TensorFlow and this process runs Keras on "
        f"{keras.backend.backend()!r}. Run it with KERAS_BACKEND=tensorflow "
        "(a checkpoint trained on JAX loads there unchanged). "
        f"Received: KERAS_BACKEND={keras.backend.backend()}"
    )


@click.command("export")
@click.argument("source", type=str)
@click.option("--format", "format_", type=click.Choice(FORMATS), default="saved_model",
              show_default=True, help="SavedModel for TF Serving, or TFLite (LiteRT).")
@click.option("--out", type=click.Path(file_okay=False, path_type=str), default="exports",
              show_default=True, help="Export folder (TF Serving's base path).")
@click.option("--name", type=str, default=None,
              help="Model name (default: the run folder's name, else the file's stem).")
@click.option("--version", "version", type=click.IntRange(min=1), default=None,
              help="SavedModel version (default: the next one; never overwritten).")
@click.option("--quantize", type=click.Choice(QUANTIZE_CHOICES), multiple=True,
              help="TFLite quantization; repeat for several files (default: none).")
@click.option("--calibration-data", "calibration_data", type=str, default=None,
              metavar="SOURCE",
              help="--quantize int8: data to calibrate on (any kerasgen data source: "
                   "a folder, IDX files, .npz, tfds:NAME). Default: latents from the "
                   "prior, labels over the classes and, for image inputs, the model's "
                   "own samples (a model that does not sample needs it).")
@click.option("--calibration-steps", "calibration_steps", type=click.IntRange(min=1),
              default=100, show_default=True,
              help="--quantize int8: representative examples per signature.")
@click.option("--batch", "batch", type=click.IntRange(min=1), default=None,
              help="Fix the batch dimension of the inputs (default: any batch).")
@click.option("--select-tf-ops", is_flag=True,
              help="TFLite: allow TensorFlow ops (needs the Flex delegate); adds "
                   "the signatures that need them (generate_from_seed).")
@click.option("--overwrite", is_flag=True,
              help="TFLite: replace a .tflite file of the same name (refused "
                   "otherwise; SavedModel versions are never replaced).")
@allow_nonfinite_option
@debug_option
@user_errors
def export(source, format_, out, name, version, quantize, calibration_data,
           calibration_steps, batch, select_tf_ops, overwrite, allow_nonfinite):
    """Export a checkpoint as a SavedModel (for TF Serving) or TFLite files.

    SOURCE is a .keras checkpoint, a run folder (runs/<name>) or a zoo preset
    name (`kerasgen zoo list`). SavedModels go to OUT/<name>/<version>/ with
    OUT/models.config beside them; TFLite files to OUT/<name>[.<quantize>].tflite.
    --quantize int8 calibrates on representative inputs (--calibration-data).
    Serving guide: export/GUIDE.md.
    """
    if format_ == "saved_model" and quantize:
        raise UsageMistake(
            "--quantize applies to --format tflite only. "
            f"Received: --format saved_model --quantize {' '.join(quantize)}"
        )
    if format_ == "tflite" and version is not None:
        raise UsageMistake(
            "--version applies to --format saved_model only. "
            f"Received: --format tflite --version {version}"
        )
    if format_ == "saved_model" and overwrite:
        raise UsageMistake(
            "--overwrite applies to --format tflite only: SavedModel versions "
            "are never replaced (leave out --version to write the next one). "
            "Received: --format saved_model --overwrite"
        )
    calibration_given = calibration_data is not None or (
        click.get_current_context().get_parameter_source("calibration_steps").name
        != "DEFAULT")
    if calibration_given and "int8" not in quantize:
        raise UsageMistake(
            "--calibration-data and --calibration-steps apply to --format tflite "
            "--quantize int8 only. "
            f"Received: --format {format_} --quantize {' '.join(quantize) or '(none)'}"
        )
    if calibration_data is not None and not calibration_data.startswith("tfds:") \
            and not os.path.exists(calibration_data):
        raise UsageMistake(
            "--calibration-data: no such file or folder (a data source is a path "
            f"or tfds:NAME). Received: --calibration-data {calibration_data}"
        )
    resolved = resolve_source(source)
    path = resolved[1]
    name = name or default_name(source, path)
    from kerasgen.export.serving import check_model_name

    check_model_name(name)
    _use_tensorflow()
    model = load_source(resolved, allow_nonfinite=allow_nonfinite)
    import kerasgen.export

    if format_ == "saved_model":
        target = kerasgen.export.saved_model(
            model, out, name=name, version=version, batch_size=batch
        )
        from kerasgen.export.serving import directory_size

        click.echo(f"Wrote the SavedModel {target} ({directory_size(target):,} bytes)")
        click.echo(f"TF Serving config: {os.path.join(os.path.abspath(out), 'models.config')}")
        return
    from kerasgen.export.litert import tflite_file_name

    kinds = quantize or ("none",)
    if not overwrite:  # all of them checked before the first conversion
        taken = [
            file for file in (
                os.path.join(out, tflite_file_name(name, kind)) for kind in kinds
            ) if os.path.lexists(file)
        ]
        if taken:
            raise UserError(
                f"{', '.join(taken)} exist(s) already. Pass --overwrite to "
                f"replace, or another --name or --out. Received: --name {name}"
            )
    # int8 first: its calibration data is read before any file is written.
    for kind in sorted(kinds, key=lambda kind: kind != "int8"):
        calibration = dict(calibration_data=calibration_data,
                           calibration_steps=calibration_steps) if kind == "int8" else {}
        target = kerasgen.export.tflite(
            model, out, quantize=kind, name=name, batch_size=batch,
            select_tf_ops=select_tf_ops, overwrite=overwrite, **calibration,
        )
        click.echo(f"Wrote {target} ({kind}, {os.path.getsize(target):,} bytes)")
