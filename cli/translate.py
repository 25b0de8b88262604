"""`kerasgen translate CHECKPOINT IMAGES... --out DIR`: run a model that
provides `translate` (CycleGAN, Pix2Pix) on image files.

Every input (a file, or every image in a folder, recursively) is read with
Pillow, converted to the model's channels and resized to its `image_size`;
the translation is written to `DIR/<stem>.png` at the model's resolution
(not resized back to the input's size). An existing output is never
replaced unless `--overwrite` is given; a file Pillow cannot read is
skipped and counted in one warning.
"""

import logging
import os

import click

from kerasgen.cli.main import UsageMistake
from kerasgen.cli.main import UserError
from kerasgen.cli.main import allow_nonfinite_option
from kerasgen.cli.main import backend_option
from kerasgen.cli.main import debug_option
from kerasgen.cli.main import load_source
from kerasgen.cli.main import resolve_source
from kerasgen.cli.main import select_backend
from kerasgen.cli.main import usage_mistake
from kerasgen.cli.main import what_it_does
from kerasgen.cli.main import user_errors

logger = logging.getLogger("kerasgen.cli")

DIRECTIONS = ("a2b", "b2a")


def find_images(paths):
    """The image files named by `paths`: files as given, folders searched
    recursively for image extensions (png, jpg, ...), in natural order,
    without repeats.

    Example:

    ```python
    import os, tempfile
    folder = tempfile.mkdtemp()
    for name in ("b.png", "a.jpg", "notes.txt"):
        open(os.path.join(folder, name), "w").close()
    [os.path.basename(p) for p in find_images([folder])]  # ['a.jpg', 'b.png']
    ```
    """
    from kerasgen.data.sources import _list_image_files

    found = []
    for path in paths:
        path = os.fspath(path)
        if os.path.isdir(path):
            found.extend(_list_image_files(path))
        elif os.path.isfile(path):
            found.append(path)
        elif os.path.exists(path):  # a FIFO or device: reading it may block
            raise UsageMistake(
                f"{path} is not a regular file (a FIFO, device or socket). "
                f"Received: IMAGES={path}"
            )
        else:
            raise UsageMistake(
                f"No such image file or folder: {path}. Received: IMAGES={path}"
            )
    unique = []
    seen = set()
    for path in found:
        key = os.path.realpath(path)
        if key not in seen:
            seen.add(key)
            unique.append(path)
    return unique


def read_image(path, image_size, channels=3, half=None):
    """One image file as float32 `(image_size, image_size, channels)` in
    [-1, 1]: decoded by the training loader's reader
    (`kerasgen.data.sources.decode_image`: 16-bit, palette, EXIF alike),
    converted to RGB (or greyscale) and resized with Pillow (bilinear),
    without cropping; `half="left"` or `"right"` first takes that half of a
    side-by-side pair. Raises one of `IMAGE_READ_ERRORS` (`OSError`,
    `ValueError`, Pillow's `DecompressionBombError`) when Pillow cannot
    read it.

    Example:

    ```python
    import os, tempfile
    from PIL import Image
    path = os.path.join(tempfile.mkdtemp(), "x.png")
    Image.new("L", (20, 10), 255).save(path)
    read_image(path, 8).shape  # (8, 8, 3)
    ```
    """
    import numpy as np
    from PIL import Image

    from kerasgen.data import to_unit_range
    from kerasgen.data.sources import decode_image

    picture = decode_image(path, 3 if channels == 3 else 1)
    if half is not None:
        width, height = picture.size
        if abs(width - 2 * height) > 0.05 * width:
            raise UsageMistake(
                f"--pairs takes side-by-side pairs (width = 2 x height); "
                f"{path} is {width}x{height}. Received: --pairs"
            )
        left = 0 if half == "left" else width // 2
        picture = picture.crop((left, 0, left + width // 2, height))
    picture = picture.resize((image_size, image_size), Image.Resampling.BILINEAR)
    pixels = np.asarray(picture, np.uint8)
    return to_unit_range(pixels.reshape(image_size, image_size, channels))


def translation_direction(model, direction):
    """The direction to translate in: `direction`, else the model's own
    (a paired model has one generator, `data_spec().direction`) or `"a2b"`.
    A one-way model asked for the other direction, or a model that does not
    provide `translate`, is a `UsageMistake`.
    """
    from kerasgen.models.interfaces import require

    try:
        require(model, "translate", hint=what_it_does(model))
    except ValueError as error:
        raise usage_mistake(error) from error
    own = model.data_spec().direction
    if own is not None:  # One generator, trained for one direction.
        if direction is not None and direction != own:
            raise UsageMistake(
                f"This {type(model).__name__} translates {own} only (it has one "
                f"generator, trained with --direction {own}). Leave out "
                f"--direction, or train a model with --direction {direction}. "
                f"Received: --direction {direction}"
            )
        return own
    return direction or "a2b"


def _outputs(out, images, strip):
    """`{input path: [output paths]}`; the same stem twice is an error."""
    outputs, stems = {}, {}
    for path in images:
        stem = os.path.splitext(os.path.basename(path))[0]
        if stem in stems:
            raise UsageMistake(
                f"Two inputs would be written to the same {stem}.png: "
                f"{stems[stem]} and {path}. Translate them into different "
                f"--out folders. Received: IMAGES with {stem!r} twice"
            )
        stems[stem] = path
        targets = [os.path.join(out, f"{stem}.png")]
        if strip:
            targets.append(os.path.join(out, f"{stem}.strip.png"))
        outputs[path] = targets
    return outputs


@click.command("translate")
@click.argument("checkpoint", type=click.Path(dir_okay=True, path_type=str))
@click.argument("images", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("--out", type=click.Path(file_okay=False, path_type=str), required=True,
              help="Folder for the outputs, DIR/<stem>.png (created if missing).")
@click.option("--direction", type=click.Choice(DIRECTIONS), default=None,
              help="a2b or b2a. Default: a one-way model's own direction (the "
                   "only one it has, e.g. pix2pix's), else a2b.")
@click.option("--overwrite", is_flag=True,
              help="Replace outputs that exist already (else it stops before "
                   "writing anything).")
@click.option("--strip", is_flag=True,
              help="Also write DIR/<stem>.strip.png: input | output side by side.")
@click.option("--pairs", is_flag=True,
              help="IMAGES are side-by-side pairs (A | B, the pix2pix layout): "
                   "translate the input half (A for a2b, B for b2a); with "
                   "--strip the other half is shown as the target.")
@click.option("--batch-size", type=click.IntRange(min=1), default=16, show_default=True,
              help="Images per call of the generator.")
@allow_nonfinite_option
@backend_option
@debug_option
@user_errors
def translate(checkpoint, images, out, direction, overwrite, strip, pairs,
              batch_size, allow_nonfinite, backend):
    """Translate IMAGES with an image-to-image CHECKPOINT into --out DIR.

    CHECKPOINT is a `.keras` file, a run folder (its checkpoint.keras) or a
    zoo preset name of a model that translates (cyclegan, pix2pix). IMAGES are image files
    and/or folders
    (searched recursively). Each image is converted to RGB and resized to
    the model's image_size; DIR/<stem>.png is written at the model's
    resolution (not resized back to the input's size).

    Example: kerasgen translate runs/cyclegan photos/ --direction b2a --out out/
    """
    select_backend(backend)
    resolved = resolve_source(checkpoint)
    files = find_images(images)
    if not files:
        raise UsageMistake(
            "No images found (png, jpg, bmp, gif, webp, tiff) in "
            f"{', '.join(images)}. Received: IMAGES={' '.join(images)}"
        )
    outputs = _outputs(out, files, strip)
    if not overwrite:
        existing = [t for targets in outputs.values() for t in targets if os.path.exists(t)]
        if existing:
            shown = ", ".join(existing[:3]) + (", ..." if len(existing) > 3 else "")
            raise UserError(
                f"{len(existing)} output(s) exist already: {shown}. Pass "
                f"--overwrite to replace them, or another --out. Received: --out {out}"
            )

    model = load_source(resolved, allow_nonfinite=allow_nonfinite)
    direction = translation_direction(model, direction)
    spec = model.data_spec()
    size, channels = int(spec.image_size), int(spec.channels)

    from kerasgen.data.sources import IMAGE_READ_ERRORS

    halves = ("left", "right") if direction == "a2b" else ("right", "left")
    read, targets, skipped = [], {}, []
    for file in files:
        try:
            read.append((file, read_image(
                file, size, channels, half=halves[0] if pairs else None)))
            if pairs:
                targets[file] = read_image(file, size, channels, half=halves[1])
        except IMAGE_READ_ERRORS as error:  # one bad file skips only itself
            logger.debug("cannot read %s: %s", file, error)
            skipped.append(file)
    if skipped:
        logger.warning(
            "skipped %d unreadable image(s): %s%s", len(skipped),
            ", ".join(skipped[:3]), ", ..." if len(skipped) > 3 else "",
        )
    if not read:
        raise UserError(
            f"None of the {len(files)} image(s) could be read. "
            f"Received: IMAGES={' '.join(images)}"
        )

    import numpy as np

    from kerasgen.utils.images import make_grid
    from kerasgen.utils.images import save_png
    from kerasgen.utils.images import to_uint8

    inputs = np.stack([image for _, image in read])
    translated = np.asarray(
        model.translate(inputs, direction=direction, batch_size=batch_size)
    )
    os.makedirs(out, exist_ok=True)
    for (file, image), result in zip(read, translated):
        paths = outputs[file]
        save_png(to_uint8(result), paths[0])
        if strip:
            shown = [image, result] + ([targets[file]] if pairs else [])
            save_png(make_grid(np.stack(shown), nrow=len(shown)), paths[1])
    click.echo(
        f"Translated {len(read)} image(s) {direction} with {resolved[1]} into {out} "
        f"({size}x{size})" + (f"; skipped {len(skipped)} unreadable" if skipped else "")
    )
