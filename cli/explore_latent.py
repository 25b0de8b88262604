"""`kerasgen explore interpolate|arithmetic|truncation|invert`: the latent
tools of `kerasgen.latent` from the shell.

Each command takes a SOURCE (a zoo preset name, a run folder or a `.keras`
file) of a family with a latent space to decode (`--space w`: StyleGAN2's
W), writes a PNG (`--out`) and prints what it measured. Keras is imported
inside the commands, after `--backend` is read, so `kerasgen --help`
imports none.
"""

import os

import click

from kerasgen.cli.main import UsageMistake
from kerasgen.cli.main import UserError
from kerasgen.cli.main import backend_option
from kerasgen.cli.main import check_png_path
from kerasgen.cli.main import debug_option
from kerasgen.cli.main import select_backend
from kerasgen.cli.main import usage_mistake
from kerasgen.cli.main import user_errors

_SPACE_HELP = ("The latent space: z (the model's own latents) or w (StyleGAN2's W, "
               "where its edits are made).")


def _ints(text, option, minimum=None):
    """Comma-separated ints, refused in one line."""
    try:
        values = [int(part) for part in str(text).split(",") if part.strip()]
    except ValueError:
        values = []
    if not values or (minimum is not None and min(values) < minimum):
        least = "" if minimum is None else f" >= {minimum}"
        raise UsageMistake(f"{option} takes comma-separated integers{least}, e.g. 1,2,3. "
                           f"Received: {option} {text}")
    return values


def _floats(text, option):
    import math

    try:
        values = [float(part) for part in str(text).split(",") if part.strip()]
    except ValueError:
        values = []
    if not values or not all(math.isfinite(v) for v in values):
        raise UsageMistake(f"{option} takes comma-separated numbers, e.g. 0,0.5,0.7,1. "
                           f"Received: {option} {text}")
    return values


def _load(source, space, psi=None):
    """`(model, space_model)`: SOURCE's model and the latent space to work
    in (the model itself, or its W)."""
    from kerasgen.cli.explore import load_latent_model
    from kerasgen.cli.main import import_keras

    import_keras()  # first, so that the backend's start-up lines are hidden
    model = load_latent_model(source)
    if space == "z":
        return model, model
    if not callable(getattr(model, "w_space", None)):
        raise UsageMistake(f"--space w is StyleGAN2's W; a {type(model).__name__} has no W "
                           f"space (use --space z). Received: --space {space}")
    return model, model.w_space(psi)


def _label(model, label, n):
    """`--label` as labels for `n` latents; refused in one line."""
    if label is None:
        return None
    from kerasgen.models.interfaces import check_labels

    try:
        return check_labels(model, label, n)
    except ValueError as error:
        raise usage_mistake(ValueError(f"--label {label}: {error}")) from error


def _image_size(model):
    spec = model.data_spec()
    return spec.image_size, spec.channels


def _read_images(model, paths, option):
    """Images in [-1, 1] at the model's size, one per file."""
    import numpy as np

    from kerasgen.data import load_images
    from kerasgen.data import to_unit_range

    size, channels = _image_size(model)
    out = []
    for path in paths:
        if not os.path.isfile(path):
            raise UserError(f"{option} takes an image file; there is none at {path}. "
                            f"Received: {option} {path}")
        try:
            data = load_images(path, image_size=size, channels=channels)
        except ValueError as error:
            raise UserError(f"{option} {path}: {error}") from error
        out.append(to_unit_range(data.images[:1]))
    return np.concatenate(out)


space_option = click.option("--space", type=click.Choice(["z", "w"]), default="z",
                            show_default=True, help=_SPACE_HELP)
label_option = click.option("--label", type=int, default=None,
                            help="Class of every image (conditional models only).")


@click.command("interpolate")
@click.argument("source", type=str)
@click.option("--seeds", default="1,2", show_default=True, metavar="SEEDS",
              help="Seeds of the end points in pairs: 1,2,3,4 walks from 1 to 2 (row 1) "
                   "and from 3 to 4 (row 2).")
@click.option("--image", "images", multiple=True, metavar="PATH",
              help="Image files as end points instead of seeds, in pairs (repeat "
                   "--image), for a model that encodes (VAE, autoencoder, flow).")
@click.option("--steps", type=click.IntRange(min=2), default=8, show_default=True,
              help="Frames per walk, the end points included.")
@click.option("--method", type=click.Choice(["slerp", "lerp"]), default="slerp",
              show_default=True, help="Spherical or linear interpolation.")
@click.option("--crossfades", type=click.IntRange(min=0), default=1, show_default=True,
              help="Rows of pixel crossfade (the same end images blended) under the "
                   "walks, for the first N walks.")
@label_option
@space_option
@click.option("--out", type=click.Path(dir_okay=False, path_type=str),
              default="interpolation.png", show_default=True, help="PNG file to write.")
@click.option("--gif", type=click.Path(dir_okay=False, path_type=str), default=None,
              help="Also write the walks as an animated GIF (ping-pong loop).")
@click.option("--duration-ms", type=click.IntRange(min=1), default=120, show_default=True,
              help="How long each GIF frame shows.")
@backend_option
@debug_option
@user_errors
def interpolate(source, seeds, images, steps, method, crossfades, label, space, out, gif,
                duration_ms, backend):
    """Walk between latents (slerp or lerp) and decode the frames, with the
    pixel crossfade of the same end images beneath.

    Example: kerasgen explore interpolate dcgan-mnist --seeds 1,2,3,4 --gif walk.gif
    """
    select_backend(backend)
    check_png_path(out, "--out")
    if gif is not None and not gif.lower().endswith(".gif"):
        raise UsageMistake(f"--gif must be a .gif file. Received: --gif {gif}")
    model, latent_model = _load(source, space)
    import numpy as np

    from kerasgen.latent import interpolation
    from kerasgen.models.interfaces import provides
    from kerasgen.utils.images import make_strips
    from kerasgen.utils.images import save_png

    if images:
        if len(images) % 2:
            raise UsageMistake(f"--image takes end points in pairs (start, end). "
                               f"Received: {len(images)} images")
        if not provides(latent_model, "encode"):
            raise UsageMistake(
                f"A {type(model).__name__} has no encoder: start from --seeds, or find "
                f"an image's latent with `kerasgen explore invert`. Received: --image "
                f"{images[0]}")
        pictures = _read_images(model, images, "--image")
        labels = _label(latent_model, label, len(pictures))
        try:
            latents = interpolation.encode_images(latent_model, pictures, labels)
        except ValueError as error:
            raise usage_mistake(error) from error
        where = f"{len(images) // 2} pair(s) of images"
    else:
        ends = _ints(seeds, "--seeds", minimum=0)
        if len(ends) % 2:
            raise UsageMistake(f"--seeds takes end points in pairs (start,end,...). "
                               f"Received: --seeds {seeds}")
        latents = interpolation.latents_from_seeds(latent_model, ends)
        where = "seeds " + ", ".join(f"{a}->{b}" for a, b in zip(ends[::2], ends[1::2]))
    start, end = latents[0::2], latents[1::2]
    labels = _label(latent_model, label, len(start))
    if crossfades > len(start):
        raise UsageMistake(f"--crossfades is at most the number of walks ({len(start)}). "
                           f"Received: --crossfades {crossfades}")
    try:
        rows = interpolation.interpolation_rows(latent_model, start, end, steps, method,
                                                labels, crossfades)
    except ValueError as error:
        raise usage_mistake(error) from error
    columns = [f"t={t:.2g}" for t in np.linspace(0.0, 1.0, steps)]
    groups = [(len(start), f"{method} in latent space ({space})", columns)]
    if crossfades:
        groups.append((crossfades, "pixel crossfade", columns))
    save_png(make_strips(rows, groups), out)
    click.echo(f"Wrote {len(start)} {method} walk(s) of {steps} frames ({where}) to {out}")
    if gif is not None:
        interpolation.save_gif(rows[:len(start)], gif, duration_ms=duration_ms, bounce=True,
                               nrow=1)
        click.echo(f"Wrote the animation to {gif}")


@click.command("arithmetic")
@click.argument("source", type=str)
@click.option("--a", "a", default=None, metavar="SEEDS",
              help="Seeds of the latents of group A (comma-separated).")
@click.option("--b", "b", default=None, metavar="SEEDS", help="Seeds of group B.")
@click.option("--c", "c", default=None, metavar="SEEDS", help="Seeds of group C.")
@click.option("--classes", default=None, metavar="A,B,C",
              help="Instead of seeds: the groups are the samples a classifier "
                   "(--extractor) puts in these three classes, e.g. 7,1,4.")
@click.option("--extractor", default=None, metavar="NAME",
              help="The classifier of --classes (default: lenet-mnist for greyscale "
                   "images).")
@click.option("--n", "n", type=click.IntRange(min=1), default=500, show_default=True,
              help="Samples to classify for --classes.")
@click.option("--per-group", type=click.IntRange(min=1), default=16, show_default=True,
              help="At most this many latents in each --classes group.")
@click.option("--min-confidence", type=click.FloatRange(0, 1, max_open=True), default=0.9,
              show_default=True, help="Keep the samples classified with at least this "
                                      "probability (--classes).")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the samples of --classes.")
@label_option
@space_option
@click.option("--out", type=click.Path(dir_okay=False, path_type=str),
              default="arithmetic.png", show_default=True, help="PNG file to write.")
@backend_option
@debug_option
@user_errors
def arithmetic(source, a, b, c, classes, extractor, n, per_group, min_confidence, seed, label,
               space, out, backend):
    """Latent arithmetic: decode mean(A) - mean(B) + mean(C), beside the
    same sum of the groups' mean images in pixel space.

    Example: kerasgen explore arithmetic dcgan-mnist --classes 7,1,4 --out sum.png
    """
    select_backend(backend)
    check_png_path(out, "--out")
    given = [g is not None for g in (a, b, c)]
    if classes is None and not all(given):
        raise UsageMistake("Give the groups as --a, --b and --c seeds, or as --classes "
                           "A,B,C. Received: " + (", ".join(
                               f"--{k}" for k, g in zip("abc", given) if g) or "neither"))
    if classes is not None and any(given):
        raise UsageMistake(f"Give --a/--b/--c seeds or --classes, not both. Received: "
                           f"--classes {classes}")
    if classes is not None:
        wanted = _ints(classes, "--classes", minimum=0)
        if len(wanted) != 3:
            raise UsageMistake(f"--classes takes three classes, A,B,C. Received: "
                               f"--classes {classes}")
    model, latent_model = _load(source, space)
    from kerasgen.latent import arithmetic as lib
    from kerasgen.latent.interpolation import latents_from_seeds
    from kerasgen.utils.images import save_png

    if label is not None:
        _label(latent_model, label, 1)
    if classes is None:
        groups = [latents_from_seeds(latent_model, _ints(text, f"--{name}", minimum=0))
                  for name, text in (("a", a), ("b", b), ("c", c))]
        names = ("A", "B", "C")
    else:
        from kerasgen.metrics.evaluate import default_extractor
        from kerasgen.metrics.extractors import load_extractor

        name = extractor or default_extractor(tuple(model.data_spec().shape))
        try:
            classifier = load_extractor(name)
        except ValueError as error:
            raise usage_mistake(error) from error
        if not classifier.classes:
            raise UsageMistake(f"The {name} extractor has no classes. Received: "
                               f"--extractor {name}")
        if max(wanted) >= len(classifier.classes):
            raise UsageMistake(f"--classes are indices of the {len(classifier.classes)} "
                               f"classes of {name}. Received: --classes {classes}")
        labels = None if label is None else _label(latent_model, label, n)
        found = lib.latents_by_class(latent_model, classifier, n, seed, min_confidence,
                                     labels)
        missing = [k for k in wanted if k not in found]
        if missing:
            raise UserError(
                f"No sample of {n} was classified as {classifier.classes[missing[0]]} "
                f"with probability >= {min_confidence}: raise --n or lower "
                f"--min-confidence. Received: --classes {classes}")
        groups = [found[k][:per_group] for k in wanted]
        names = tuple(str(classifier.classes[k]) for k in wanted)
    result = lib.latent_arithmetic(latent_model, *groups, labels=label)
    save_png(lib.arithmetic_grid(result, names), out)
    sizes = ", ".join(f"{nm}: {len(g)}" for nm, g in zip(names, groups))
    click.echo(f"Wrote {names[0]} - {names[1]} + {names[2]} (latents per group: {sizes}) "
               f"in latent and pixel space to {out}")


@click.command("truncation")
@click.argument("source", type=str)
@click.option("--psi", "psis", default="0,0.5,0.7,1", show_default=True, metavar="PSIS",
              help="Truncation psi values (1: none, 0: the mean latent).")
@click.option("--data", required=True, type=click.Path(exists=True, path_type=str),
              help="Real images to measure against (a folder, IDX or .npz file).")
@click.option("--subset", default=None, metavar="START:STOP",
              help="Only these images of --data (e.g. 8000: for the held-out digits).")
@click.option("--n", "n", type=click.IntRange(min=10), default=1000, show_default=True,
              help="Samples per psi (and at most as many real images).")
@click.option("--extractor", default=None, metavar="NAME",
              help="Feature extractor (default: lenet-mnist for greyscale images, "
                   "inception-v3 for colour).")
@click.option("--threshold", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Also redraw N(0, I) components beyond this (BigGAN's truncation).")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the latents (the same at every psi).")
@click.option("--samples", type=click.IntRange(min=1), default=8, show_default=True,
              help="Samples per psi in the picture.")
@space_option
@click.option("--out", type=click.Path(dir_okay=False, path_type=str),
              default="truncation.png", show_default=True,
              help="PNG file: one row of samples per psi (the same latents).")
@backend_option
@debug_option
@user_errors
def truncation(source, psis, data, subset, n, extractor, threshold, seed, samples, space, out,
               backend):
    """The truncation trick's trade-off: precision (fidelity) and recall
    (variety) of the samples at each psi, and a row of samples per psi.

    Example: kerasgen explore truncation dcgan-mnist --data mnist/ --subset 8000: --n 2000
    """
    select_backend(backend)
    check_png_path(out, "--out")
    values = _floats(psis, "--psi")
    model, latent_model = _load(source, space, psi=1.0)
    import numpy as np

    from kerasgen.data import load_images
    from kerasgen.latent import truncation as lib
    from kerasgen.metrics.evaluate import default_extractor
    from kerasgen.metrics.extractors import load_extractor
    from kerasgen.utils.images import make_strips
    from kerasgen.utils.images import save_png

    spec = model.data_spec()
    try:
        real = load_images(data, image_size=spec.image_size, channels=spec.channels,
                           subset=subset).images
    except ValueError as error:
        raise UserError(f"--data {data}: {error}") from error
    if len(real) < 10:
        raise UserError(f"--data {data} holds {len(real)} images; precision and recall "
                        f"need 10 or more. Received: --data {data}")
    name = extractor or default_extractor(tuple(spec.shape))
    try:
        if threshold is not None:
            lib.Truncated(latent_model, 1.0, threshold)  # refused here, in one line
        reader = load_extractor(name)
    except ValueError as error:
        raise usage_mistake(error) from error
    metrics = ["pr"] + (["fid"] if min(n, len(real)) > reader.feature_dim else [])
    rows = lib.truncation_sweep(latent_model, real, values, n, reader, seed, metrics,
                                threshold, data_name=os.path.basename(os.path.normpath(data)))
    header = f"{'psi':>6}  {'precision':>9}  {'recall':>7}" + ("  FID" if "fid" in metrics
                                                               else "")
    click.echo(f"{header}   ({reader.name}, n={rows[0]['n']}, seed {seed})")
    for row in rows:
        fid = f"  {row['fid']:.2f}" if "fid" in row else ""
        click.echo(f"{row['psi']:>6.2f}  {row['precision']:>9.3f}  {row['recall']:>7.3f}{fid}")
    mean = None
    if any(v != 1.0 for v in values) and not lib._standard_normal_prior(latent_model):
        mean = lib.mean_latent(latent_model)
    strips = np.stack([lib.Truncated(latent_model, v, threshold, mean).sample(samples, seed)
                       for v in values])
    save_png(make_strips(strips, [(1, f"psi={v:g}", None) for v in values]), out)
    click.echo(f"Wrote {samples} samples at each psi to {out}")


@click.command("invert")
@click.argument("source", type=str)
@click.option("--image", required=True, type=click.Path(dir_okay=False, path_type=str),
              help="The image file to invert (resized to the model's size).")
@click.option("--steps", type=click.IntRange(min=1), default=300, show_default=True,
              help="Adam steps.")
@click.option("--learning-rate", type=click.FloatRange(min=0, min_open=True), default=0.05,
              show_default=True, help="Adam's step size.")
@click.option("--restarts", type=click.IntRange(min=1), default=4, show_default=True,
              help="Random starting latents; the best is kept.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the starting latents.")
@label_option
@space_option
@click.option("--out", type=click.Path(dir_okay=False, path_type=str),
              default="inverted.png", show_default=True,
              help="PNG file: the image (at the model's size) and its reconstruction.")
@backend_option
@debug_option
@user_errors
def invert(source, image, steps, learning_rate, restarts, seed, label, space, out, backend):
    """Find the latent whose decode matches an image (gradient descent on
    the squared error, through the generator) and print the error.

    Example: kerasgen explore invert dcgan-mnist --image digit.png --out inverted.png
    """
    select_backend(backend)
    check_png_path(out, "--out")
    model, latent_model = _load(source, space, psi=1.0)
    import numpy as np

    from kerasgen.latent.inversion import invert as run_inversion
    from kerasgen.utils.images import make_strips
    from kerasgen.utils.images import save_png

    target = _read_images(model, [image], "--image")
    labels = _label(latent_model, label, 1)
    try:
        found = run_inversion(latent_model, target, steps=steps, learning_rate=learning_rate,
                              seed=seed, labels=labels, restarts=restarts)
    except ValueError as error:
        raise usage_mistake(error) from error
    reconstruction = latent_model.decode(found.latents, labels)
    save_png(make_strips(np.stack([target, reconstruction], axis=1),
                         [(1, None, ("target", "reconstruction"))]), out)
    click.echo(f"Reconstruction error (MSE in [-1, 1] units): {found.errors[0]:.4f}")
    click.echo(f"Wrote the image and its reconstruction to {out}")


COMMANDS = [interpolate, arithmetic, truncation, invert]
