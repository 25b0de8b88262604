"""`kerasgen explore directions|dissect`: interpretable directions
(GANSpace, SeFa) and GAN dissection from the shell.

Each command takes a SOURCE (a zoo preset name, a run folder or a `.keras`
file), writes a PNG (`--out`) and prints a small table of what it measured.
Keras is imported inside the commands, after `--backend` is read, so
`kerasgen --help` imports none. The library behind them is
`kerasgen.latent.directions` and `kerasgen.latent.dissection`.
"""

import click

from kerasgen.cli.main import UsageMistake
from kerasgen.cli.main import backend_option
from kerasgen.cli.main import check_png_path
from kerasgen.cli.main import debug_option
from kerasgen.cli.main import select_backend
from kerasgen.cli.main import usage_mistake
from kerasgen.cli.main import user_errors

#: Samples (seed 0) the PCA of `directions` is taken over, and that the
#: walks' scale is measured on.
PCA_SEED = 0


def _layer_arg(text):
    """`--layer` as an int index (a number) or a name."""
    if text is None:
        return None
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        return text


def _load(source, space, psi=None):
    """`(model, latent_model)`: SOURCE's model and the space to work in."""
    from kerasgen.cli.explore import load_latent_model
    from kerasgen.cli.main import import_keras

    import_keras()  # first, so that the backend's start-up lines are hidden
    model = load_latent_model(source)
    if space == "z":
        if psi is not None:
            raise UsageMistake(f"--psi is the truncation of StyleGAN2's W (--space w). "
                               f"Received: --psi {psi}")
        return model, model
    if not callable(getattr(model, "w_space", None)):
        raise UsageMistake(f"--space w is StyleGAN2's W; a {type(model).__name__} has no W "
                           f"space (use --space z). Received: --space {space}")
    return model, model.w_space(psi)


def latent_std(model, directions, n=2000, seed=PCA_SEED):
    """The standard deviation of `n` sampled latents along each direction
    (1 for N(0, I) latents; W's spread differs from one direction to the
    next)."""
    import numpy as np

    latents = np.asarray(model.sample_latents(n, seed), dtype="float64")
    return (latents @ np.asarray(directions, dtype="float64").T).std(axis=0)


@click.command("directions")
@click.argument("source", type=str)
@click.option("--method", type=click.Choice(["pca", "sefa"]), default="pca",
              show_default=True,
              help="pca: GANSpace (principal components of the latents, or of --layer's "
                   "activations carried back to the latents); sefa: eigenvectors of the "
                   "first linear layer's weights (SeFa).")
@click.option("--k", "k", type=click.IntRange(min=1), default=5, show_default=True,
              help="How many directions (one row each).")
@click.option("--layer", default=None, metavar="NAME|INDEX",
              help="pca: take the PCA of this generator layer's activations (e.g. "
                   "project, the DCGAN's first dense layer) instead of the latents'.")
@click.option("--n", "n", type=click.IntRange(min=2), default=2000, show_default=True,
              help="pca: samples (seed 0) to take the PCA of.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the sample the walks start from.")
@click.option("--steps", type=click.IntRange(min=2), default=7, show_default=True,
              help="Images per walk.")
@click.option("--scale", type=click.FloatRange(min=0, min_open=True), default=2.0,
              show_default=True,
              help="How far each walk goes either side of the sample, in standard "
                   "deviations of the sampled latents along the direction.")
@click.option("--space", type=click.Choice(["z", "w"]), default="z", show_default=True,
              help="The latent space: z (the model's own latents) or w (StyleGAN2's W, "
                   "where GANSpace takes its PCA).")
@click.option("--psi", type=float, default=None,
              help="--space w: truncation psi of the sampled w (default: the model's).")
@click.option("--label", type=int, default=None,
              help="Class of every image (conditional models only; default 0).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=str),
              default="directions.png", show_default=True,
              help="PNG file: one row per direction, the sample in the middle.")
@backend_option
@debug_option
@user_errors
def directions(source, method, k, layer, n, seed, steps, scale, space, psi, label, out,
               backend):
    """Interpretable directions without labels: GANSpace's principal
    components or SeFa's eigenvectors, each walked from one sample.

    Example: kerasgen explore directions dcgan-mnist --layer project --k 5 --out pcs.png
    """
    select_backend(backend)
    check_png_path(out, "--out")
    if method == "sefa" and layer is not None:
        raise UsageMistake(f"--layer is for --method pca (SeFa reads the first linear "
                           f"layer's weights). Received: --layer {layer}")
    model, latent_model = _load(source, space, psi)
    import numpy as np

    from kerasgen.latent import directions as lib
    from kerasgen.utils.images import make_strips
    from kerasgen.utils.images import save_png

    if label is not None and not getattr(latent_model, "num_classes", 0):
        raise UsageMistake(f"--label is for conditional models; a {type(model).__name__} "
                           f"is unconditional. Received: --label {label}")
    try:
        if method == "pca":
            found, values = lib.pca_directions(
                latent_model, k=k, n=n, seed=PCA_SEED, layer=_layer_arg(layer),
                labels=None if label is None else np.full((n,), label))
        else:
            found, values = lib.sefa_directions(latent_model, k=k)
        spread = latent_std(latent_model, found)
        rows = lib.walk(latent_model, found, seed=seed, steps=steps, scale=scale * spread,
                        label=label)
    except ValueError as error:
        raise usage_mistake(error) from error
    columns = [f"{t:+.1f}sd" for t in np.linspace(-scale, scale, steps)]
    if method == "pca":
        where = f"layer {layer}" if layer is not None else f"the latents ({space})"
        titles = [f"PC{j + 1}: {values[j]:.1%} of the variance of {where}" for j in range(k)]
    else:
        titles = [f"SeFa {j + 1}: eigenvalue {values[j]:.3g}" for j in range(k)]
    save_png(make_strips(rows, [(1, title, columns) for title in titles]), out)
    if method == "pca":
        click.echo(f"direction  explained variance   (PCA of {where}, n={n})")
        for j in range(k):
            click.echo(f"{j + 1:>9}  {values[j]:>18.1%}")
    else:
        share = values / max(float(np.sum(values)), 1e-30)
        click.echo(f"direction  {'eigenvalue':>10}  {'share of top k':>14}   (SeFa of "
                   f"{lib.latent_linear_layer(latent_model).name})")
        for j in range(k):
            click.echo(f"{j + 1:>9}  {values[j]:>10.4g}  {share[j]:>14.1%}")
    click.echo(f"Wrote {k} walks of {steps} images (seed {seed}, +-{scale:g} sd) to {out}")


def _concept_class(classifier, concept):
    """`--concept` (a class name or index) as a class index, None for each
    sample's own class."""
    if concept is None:
        return None
    names = [str(name) for name in classifier.classes]
    if concept in names:
        return names.index(concept)
    try:
        index = int(concept)
    except ValueError:
        index = -1
    if not 0 <= index < len(names):
        raise UsageMistake(f"--concept must be a class of {classifier.name} (a name or an "
                           f"index: {', '.join(names[:12])}{'...' if len(names) > 12 else ''}"
                           f"). Received: --concept {concept}")
    return index


def overlay_maps(images, maps):
    """Activation maps `(n, h, w)` laid over their images `(n, H, W, C)`
    in [-1, 1] for a figure: RGB, the image in grey, each map enlarged to
    the image (bilinear) and scaled by its largest value over the n
    images, in orange where the unit is active."""
    import numpy as np
    from keras import ops

    images = np.asarray(images, dtype="float32")
    maps = np.maximum(np.asarray(maps, dtype="float32"), 0.0)
    maps = maps / (float(maps.max()) or 1.0)
    height, width = images.shape[1:3]
    heat = np.clip(ops.convert_to_numpy(ops.image.resize(
        maps[..., None], (height, width), interpolation="bilinear")), 0.0, 1.0)
    grey = (images.mean(axis=-1, keepdims=True) + 1.0) / 2.0 * 0.8
    orange = np.array([1.0, 0.55, 0.0], "float32")
    rgb = grey * (1.0 - heat) + heat * orange
    return rgb * 2.0 - 1.0


def _rgb(images):
    return images if images.shape[-1] == 3 else images.repeat(3, axis=-1)


def dissection_picture(model, split, latents, labels, top_units, control_units, maps=4,
                       concept_name=""):
    """The dissect figure (uint8): the samples, the same with the top
    units ablated, with `control_units` (random) ablated, then where each
    of the first `maps` top units is active on those samples (orange)."""
    import numpy as np

    from kerasgen.latent.dissection import unit_activation_maps
    from kerasgen.utils.images import make_strips

    before = split.decode(latents, labels)
    after = split.decode(latents, labels, top_units)
    control = split.decode(latents, labels, control_units)
    shown = list(top_units[:maps])
    rows = [_rgb(before), _rgb(after), _rgb(control)]
    groups = [(1, f"samples{' read as ' + concept_name if concept_name else ''}", None),
              (1, f"top {len(top_units)} units of {split.layer} ablated", None),
              (1, f"{len(control_units)} random units ablated (control)", None)]
    if shown:
        activations = unit_activation_maps(model, split, latents, shown, labels)
        if activations.ndim == 4:
            for j in range(len(shown)):
                rows.append(overlay_maps(before, activations[..., j]))
            groups.append((len(shown), "where units " + ", ".join(map(str, shown))
                           + " are active (the top units, in order)", None))
    return make_strips(np.stack(rows), groups)


@click.command("dissect")
@click.argument("source", type=str)
@click.option("--layer", default=None, metavar="NAME|INDEX",
              help="The generator layer whose units to dissect (default: its first "
                   "activation with a feature map, the DCGAN's first ReLU).")
@click.option("--top", type=click.IntRange(min=1), default=8, show_default=True,
              help="Ablate the top N units together (and N random units, the control).")
@click.option("--concept", default=None, metavar="CLASS",
              help="The class (name or index of --extractor's classes) whose probability "
                   "is the concept; default: each sample's own class.")
@click.option("--extractor", default=None, metavar="NAME",
              help="The classifier that measures the concept (default: lenet-mnist for "
                   "greyscale images, catdog-classifier-64 for colour).")
@click.option("--n", "n", type=click.IntRange(min=1), default=500, show_default=True,
              help="Samples to rank the units on (seed --seed); the effect of the top "
                   "units is measured on as many others (seed --seed + 1).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the samples.")
@click.option("--samples", type=click.IntRange(min=1), default=8, show_default=True,
              help="Samples in the figure (read as --concept).")
@click.option("--label", type=int, default=None,
              help="Class of every sample (conditional models only).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=str),
              default="dissection.png", show_default=True,
              help="PNG file: samples, top units ablated, random units ablated, and the "
                   "top units' activation maps.")
@backend_option
@debug_option
@user_errors
def dissect(source, layer, top, concept, extractor, n, seed, samples, label, out, backend):
    """GAN dissection: rank a layer's units by how much switching each
    off lowers a classifier's probability of the concept, then switch the
    top ones off together (Bau et al. 2019).

    Example: kerasgen explore dissect dcgan-mnist --concept 8 --top 8 --out units.png
    """
    select_backend(backend)
    check_png_path(out, "--out")
    model, _ = _load(source, "z")
    import numpy as np

    from kerasgen.latent import dissection as lib
    from kerasgen.metrics.extractors import load_extractor

    shape = tuple(model.data_spec().shape)
    name = extractor or ("lenet-mnist" if shape[-1] == 1 else "catdog-classifier-64")
    try:
        classifier = load_extractor(name)
    except ValueError as error:
        raise usage_mistake(error) from error
    concept_class = _concept_class(classifier, concept)
    labels = None
    if label is not None:
        from kerasgen.models.interfaces import check_labels

        try:
            labels = check_labels(model, label, n)
        except ValueError as error:
            raise usage_mistake(ValueError(f"--label {label}: {error}")) from error
    try:
        where = _layer_arg(layer)
        if where is None:
            where = lib.default_layer(model)
            if where is None:
                raise ValueError(f"{type(model).__name__}'s generator has no activation "
                                 f"with a feature map: name one with --layer. "
                                 f"Received: --layer None")
        split = lib.split_generator(model, where)
        if top > split.units:
            raise UsageMistake(f"--top is at most the {split.units} units of "
                               f"{split.layer}. Received: --top {top}")
        ranking = lib.rank_units(model, split, classifier.probabilities, n=n, seed=seed,
                                 labels=labels, concept_class=concept_class)
        top_units = ranking.units[:top]
        control_units = np.sort(np.random.default_rng(seed).choice(split.units, top,
                                                                   replace=False))
        effect = lib.ablation_effect(model, split, top_units, classifier.probabilities,
                                     n=n, seed=seed + 1, labels=labels,
                                     concept_class=concept_class)
        control = lib.ablation_effect(model, split, control_units, classifier.probabilities,
                                      n=n, seed=seed + 1, labels=labels,
                                      concept_class=concept_class)
    except ValueError as error:
        raise usage_mistake(error) from error
    # The figure's samples: the first of seed + 1 that carry the concept.
    latents = model.sample_latents(n, seed + 1)
    reading = classifier.probabilities(split.decode(latents, labels)).argmax(axis=1)
    keep = np.arange(n) if concept_class is None else np.flatnonzero(reading == concept_class)
    keep = keep[:samples]
    from kerasgen.utils.images import save_png

    concept_name = "" if concept_class is None else str(classifier.classes[concept_class])
    picture = dissection_picture(model, split, latents[keep],
                                 None if labels is None else labels[keep], top_units,
                                 control_units, concept_name=concept_name)
    save_png(picture, out)
    what = (f"P({concept_name})" if concept_class is not None
            else "P(own class)")
    click.echo(f"rank  unit  effect   (drop of {what} ablating the unit alone, "
               f"{ranking.samples} samples, {classifier.name}, layer {split.layer})")
    for rank, (unit, value) in enumerate(zip(ranking.units[:top], ranking.effects[:top])):
        click.echo(f"{rank + 1:>4}  {unit:>4}  {value:>+6.3f}")
    for title, result in ((f"top {top} units", effect), (f"{top} random units", control)):
        share = ""
        if result["share_before"] is not None:
            share = (f"; read as {concept_name or 'own class'}: "
                     f"{result['share_before']:.1%} -> {result['share_after']:.1%}")
        click.echo(f"{title} ablated together: {what} {result['score_before']:.3f} -> "
                   f"{result['score_after']:.3f} (drop {result['drop']:+.3f}, "
                   f"{result['samples']} samples of seed {seed + 1}){share}")
    click.echo(f"Wrote the dissection of {split.layer} ({len(keep)} samples) to {out}")


COMMANDS = [directions, dissect]
