"""`kerasgen explore dream|attack`: the model probes of `kerasgen.probes`
on the zoo's own classifiers, from the shell.

CLASSIFIER is a classifier kerasgen ships as a feature extractor
(`lenet-mnist`, `catdog-classifier-64`). `dream` writes a DeepDream of one
of its layers; `attack` prints its accuracy under FGSM or PGD over a grid
of epsilons and writes the "image + perturbation = misclassified image"
figure. Keras is imported inside the commands, after `--backend` is read,
so `kerasgen --help` imports none.
"""

import math
import os
import re

import click

from kerasgen.cli.main import UsageMistake
from kerasgen.cli.main import UserError
from kerasgen.cli.main import backend_option
from kerasgen.cli.main import check_png_path
from kerasgen.cli.main import debug_option
from kerasgen.cli.main import figure_scale_option
from kerasgen.cli.main import select_backend
from kerasgen.cli.main import usage_mistake
from kerasgen.cli.main import user_errors

# Mirrors kerasgen.metrics.extractors.EXTRACTOR_NAMES without inception-v3
# (which needs a weights file and has no layers worth dreaming of here);
# checked against it in `_load_classifier`.
CLASSIFIERS = ("lenet-mnist", "catdog-classifier-64")


def _load_classifier(name):
    """The extractor CLASSIFIER names, refused in one line unless it is
    one of `CLASSIFIERS`."""
    from kerasgen.cli.main import import_keras
    from kerasgen.cli.main import quiet_native_stderr
    from kerasgen.metrics.extractors import EXTRACTOR_NAMES

    known = [n for n in EXTRACTOR_NAMES if n != "inception-v3" and n in CLASSIFIERS]
    if name not in known:
        raise UsageMistake(f"CLASSIFIER must be one of {', '.join(known)} (the "
                           f"classifiers kerasgen ships). Received: {name}")
    import_keras()
    from kerasgen.metrics import load_extractor

    with quiet_native_stderr():
        return load_extractor(name)


def _numbers(text, option, low, high, example):
    try:
        values = [float(part) for part in str(text).split(",") if part.strip()]
    except ValueError:
        values = []
    if not values or not all(math.isfinite(v) and low <= v <= high for v in values):
        raise UsageMistake(f"{option} takes comma-separated numbers in [{low:g}, "
                           f"{high:g}], e.g. {example}. Received: {option} {text}")
    return values


def _channels(text):
    if text is None:
        return None
    try:
        values = [int(part) for part in str(text).split(",") if part.strip()]
    except ValueError:
        values = []
    if not values or min(values) < 0:
        raise UsageMistake(f"--channel takes comma-separated channel indices >= 0, "
                           f"e.g. 0,1,2. Received: --channel {text}")
    return values if len(values) > 1 else values[0]


def _start_image(path, extractor):
    """The first image of a file or folder, uint8 at the classifier's size."""
    from kerasgen.data import load_images

    if not os.path.exists(path):
        raise UserError(f"--image: no such file or folder: {path}")
    height, width, channels = extractor.input_shape
    try:
        return load_images(path, image_size=(height, width), channels=channels,
                           max_images=1).images
    except ValueError as error:
        raise UserError(f"--image {path}: {error}") from error


@click.command("dream")
@click.argument("classifier")
@click.option("--image", type=click.Path(path_type=str), default=None,
              help="Start from this image (a file, or a folder's first image); "
                   "default: noise.")
@click.option("--layer", default="features", show_default=True,
              help="The layer to excite, e.g. conv2d, conv2d_1, features, logits (a "
                   "wrong name lists the classifier's layers).")
@click.option("--channel", default=None, metavar="C[,C...]",
              help="Excite these channels (units of a dense layer; classes of "
                   "logits) only, one dream each. Default: the whole layer.")
@click.option("--octaves", type=click.IntRange(min=1), default=3, show_default=True,
              help="Scales to dream at, the last at the classifier's input size.")
@click.option("--octave-scale", type=click.FloatRange(min=1), default=1.4,
              show_default=True, help="Size ratio of successive octaves.")
@click.option("--steps", type=click.IntRange(min=1), default=20, show_default=True,
              help="Gradient steps per octave.")
@click.option("--step-size", type=click.FloatRange(min=0, min_open=True), default=0.05,
              show_default=True,
              help="Typical change of a pixel per step, in [-1, 1] units.")
@click.option("--jitter", type=click.IntRange(min=0), default=0, show_default=True,
              help="Shift the image by up to this many pixels at random before "
                   "each step (smoother dreams).")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the start noise and the jitter.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=str),
              default="dream.png", show_default=True,
              help="PNG file: the start image, then the dream(s).")
@figure_scale_option
@backend_option
@debug_option
@user_errors
def dream(classifier, image, layer, channel, octaves, octave_scale, steps, step_size,
          jitter, seed, out, scale, backend):
    """DeepDream: gradient ascent on the image to raise a layer's mean
    activation in one of kerasgen's classifiers (Mordvintsev et al. 2015).

    CLASSIFIER: lenet-mnist or catdog-classifier-64.

    Example: kerasgen explore dream lenet-mnist --layer conv2d_1 --steps 20 --out dream.png
    """
    select_backend(backend)
    check_png_path(out, "--out")
    channels = _channels(channel)
    extractor = _load_classifier(classifier)
    import numpy as np

    from kerasgen.probes import deepdream
    from kerasgen.probes.networks import layer_names
    from kerasgen.utils.images import make_grid
    from kerasgen.utils.images import save_png
    from kerasgen.utils.images import upscale

    names = layer_names(extractor.network)
    if layer not in names:
        raise UsageMistake(f"--layer must be a layer of {classifier}: "
                           f"{', '.join(names)}. Received: --layer {layer}")
    start = None if image is None else _start_image(image, extractor)
    try:
        result = deepdream.dream(extractor, start, layer=layer, steps=steps,
                                 step_size=step_size, octaves=octaves,
                                 octave_scale=octave_scale, seed=seed,
                                 channel=channels, jitter=jitter)
    except ValueError as error:
        if "`channel`" not in str(error):
            raise
        message = str(error).replace("`channel`", "--channel").split(" Received:")[0]
        raise usage_mistake(ValueError(
            f"{message} Received: --channel {channel}")) from error
    tiles = result.images
    if start is not None:
        tiles = np.concatenate([extractor.prepare(start), tiles])
    save_png(upscale(make_grid(tiles, nrow=len(tiles)), factor=scale), out)
    what = layer if channels is None else f"{layer}, channel {channel}"
    change = ", ".join(f"{b:.4g} -> {a:.4g}" for b, a in zip(result.before, result.after))
    click.echo(f"Dreamed {len(result.images)} image(s) of {classifier} ({what}): mean "
               f"activation {change}. Wrote {out}")


def _default_split(data):
    """`test` for a folder with held-out split folders (test/, testA/,
    testB/), else None (the loader's default)."""
    if os.path.isdir(data) and any(re.fullmatch(r"test[ab]?", name, re.IGNORECASE)
                                   for name in os.listdir(data)):
        return "test"
    return None


def _labelled_images(extractor, data, subset, split, n, label):
    """`(images, labels, description)` of `--data`, refused in one line when
    they cannot be the classifier's (no labels and no --label, a label it
    does not have)."""
    import numpy as np

    from kerasgen.data import load_images

    if not os.path.exists(data):
        raise UserError(f"--data: no such file or folder: {data}")
    height, width, channels = extractor.input_shape
    split = split or _default_split(data)
    options = {} if split is None else {"split": split}
    try:
        loaded = load_images(data, image_size=(height, width), channels=channels,
                             max_images=n, subset=subset, **options)
    except ValueError as error:
        if "subset" in str(error):
            raise UsageMistake(str(error).replace("`subset`", "--subset")) from error
        raise
    classes = extractor.classes
    if label is not None:
        index = classes.index(label) if label in classes else None
        if index is None and re.fullmatch(r"\d+", label) and int(label) < len(classes):
            index = int(label)
        if index is None:
            raise UsageMistake(f"--label must be a class of {extractor.name}: "
                               f"{', '.join(classes)}. Received: --label {label}")
        labels = np.full(len(loaded.images), index)
        note = f"every image labelled {classes[index]}"
    elif loaded.labels is None:
        where = f"--data {data}" + ("" if split is None else f" --split {split}")
        raise UsageMistake(
            f"{where} has no labels (one folder, no class subfolders): give the "
            f"true class of every image with --label ({', '.join(classes)}). "
            f"Received: {where}")
    else:
        labels = loaded.labels
        if labels.max() >= len(classes):
            raise UserError(f"--data {data} has {loaded.num_classes} classes and "
                            f"{extractor.name} {len(classes)} ({', '.join(classes)}). "
                            f"Received: --data {data}")
        names = loaded.class_names or []
        note = ""
        if list(names[:len(classes)]) != list(classes) and names:
            note = "classes " + ", ".join(
                f"{a} = {b}" for a, b in zip(names, classes))
    return loaded.images, labels, f"{len(loaded.images)} images of {loaded.source}" + (
        f" ({note})" if note else "")


def _figure_choice(extractor, images, labels, epsilon, method, options, count):
    """Up to `count` indices of images the classifier gets right, those the
    attack fools first (among the first 200)."""
    import numpy as np

    from kerasgen.probes import adversarial

    candidates = np.arange(min(200, len(images)))
    right = candidates[extractor.probabilities(images[candidates]).argmax(-1)
                       == labels[candidates]]
    if not len(right):
        return candidates[:count]
    if method == "fgsm":
        attacked = adversarial.fgsm(extractor, images[right], labels[right], epsilon)
    else:
        attacked = adversarial.pgd(extractor, images[right], labels[right], epsilon,
                                   **options)
    fooled = extractor.probabilities(attacked).argmax(-1) != labels[right]
    return np.concatenate([right[fooled], right[~fooled]])[:count]


@click.command("attack")
@click.argument("classifier")
@click.option("--data", required=True,
              help="Labelled images: MNIST IDX files or their folder, a folder with "
                   "class subfolders (cat2dog: testA = cat, testB = dog), an .npz.")
@click.option("--subset", default=None, metavar="START:STOP",
              help="Images START to STOP of --data only (8000: for the digits "
                   "lenet-mnist never saw).")
@click.option("--split", default=None,
              help="Split of --data (default: test where the folder has one, e.g. "
                   "cat2dog's testA and testB).")
@click.option("--label", default=None,
              help="The true class of every image (a class name or index), for data "
                   "without labels such as --split testA.")
@click.option("--method", type=click.Choice(("fgsm", "pgd")), default="fgsm",
              show_default=True, help="FGSM (one step) or PGD (--steps steps).")
@click.option("--epsilons", default="0,0.05,0.1,0.2", show_default=True,
              help="Comma-separated L-inf budgets in [0, 1] image units (0.1 = 25.5 "
                   "of 255 levels).")
@click.option("--n", "n", type=click.IntRange(min=1), default=1000, show_default=True,
              help="At most this many images.")
@click.option("--steps", type=click.IntRange(min=1), default=10, show_default=True,
              help="PGD steps.")
@click.option("--step-size", type=click.FloatRange(min=0, max=1, min_open=True),
              default=None, help="PGD step in [0, 1] image units (default: 2.5 x "
                                 "epsilon / steps).")
@click.option("--random-start/--no-random-start", default=True, show_default=True,
              help="PGD: start from a random point of the epsilon ball.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of PGD's random start.")
@click.option("--figure-epsilon", type=click.FloatRange(min=0, max=1), default=None,
              help="Epsilon of the figure (default: the largest of --epsilons).")
@click.option("--figure-n", type=click.IntRange(min=1), default=4, show_default=True,
              help="Rows of the figure: images it gets right, those the attack "
                   "fools first.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=str),
              default="attack.png", show_default=True,
              help="PNG file: image, perturbation, attacked image, with labels.")
@backend_option
@debug_option
@user_errors
def attack(classifier, data, subset, split, label, method, epsilons, n, steps, step_size,
           random_start, seed, figure_epsilon, figure_n, out, backend):
    """Adversarial examples: the accuracy of a classifier under FGSM
    (Goodfellow et al. 2015) or PGD (Madry et al. 2018) over a grid of
    epsilons, and the figure of a few attacked images.

    CLASSIFIER: lenet-mnist or catdog-classifier-64.

    Example: kerasgen explore attack lenet-mnist --data mnist/ --subset 8000: --method pgd --out attack.png
    """
    select_backend(backend)
    check_png_path(out, "--out")
    grid = _numbers(epsilons, "--epsilons", 0, 1, "0,0.05,0.1,0.2")
    extractor = _load_classifier(classifier)
    from kerasgen.probes import adversarial
    from kerasgen.utils.images import save_png

    images, labels, described = _labelled_images(extractor, data, subset, split, n, label)
    options = {} if method == "fgsm" else dict(
        steps=steps, step_size=step_size, random_start=random_start, seed=seed)
    rows = adversarial.accuracy_under_attack(extractor, images, labels, grid,
                                             method=method, **options)
    detail = "" if method == "fgsm" else (
        f", {steps} steps{'' if random_start else ', no random start'}")
    click.echo(f"Accuracy of {classifier} under {method.upper()}{detail} on "
               f"{described}:")
    click.echo("| epsilon | 8-bit levels | accuracy |")
    click.echo("| ---: | ---: | ---: |")
    for row in rows:
        click.echo(f"| {row['epsilon']:g} | {row['levels']:g} | {row['accuracy']:.4f} |")
    shown = max(grid) if figure_epsilon is None else figure_epsilon
    chosen = _figure_choice(extractor, images, labels, shown, method, options, figure_n)
    picture, _ = adversarial.attack_figure(extractor, images[chosen], labels[chosen],
                                           shown, method=method, **options)
    save_png(picture, out)
    click.echo(f"Wrote the figure of {len(chosen)} images at epsilon {shown:g} to {out}")


COMMANDS = [dream, attack]
