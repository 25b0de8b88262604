"""`kerasgen eval SOURCE --data DATA`: how good a trained model is.

A model that samples (GANs, VAEs) is measured against real images of
`--data`: FID, KID, IS, precision/recall, density/coverage on a named
feature extractor (`kerasgen.metrics.evaluate.evaluate_samples`). A model
that translates is measured on the held-out split of its pairs: L1, PSNR
and SSIM to the ground truth when paired (pix2pix), the share judged to be
of the target domain and the FID to it when unpaired (CycleGAN, with a
domain classifier such as `catdog-classifier-64`). A swapping autoencoder
is measured on held-out images of `--data`: the SWD of its structure/texture
swaps to them, and its reconstructions' L1, PSNR and SSIM. The table names the
extractor beside every number; `--json` writes the numbers with every
setting needed to reproduce them.
"""

import sys

import click

from kerasgen.cli.main import UsageMistake
from kerasgen.cli.main import allow_nonfinite_option
from kerasgen.cli.main import backend_option
from kerasgen.cli.main import debug_option
from kerasgen.cli.main import import_keras
from kerasgen.cli.main import load_source
from kerasgen.cli.main import resolve_source
from kerasgen.cli.main import select_backend
from kerasgen.cli.main import usage_mistake
from kerasgen.cli.main import user_errors


def _progress(label, total):
    return click.progressbar(length=total, label=f"{label:<34}", file=sys.stderr,
                             show_eta=False)


def check_extractor_name(name, option):
    """A `UsageMistake` unless `name` (an option's value) is None or a
    known feature extractor."""
    from kerasgen.metrics.extractors import EXTRACTOR_NAMES

    if name is not None and name not in EXTRACTOR_NAMES:
        raise UsageMistake(f"Unknown {option} {name}: choose from "
                           f"{', '.join(EXTRACTOR_NAMES)}. Received: {option} {name}")


def _real_images(data, spec, split, n, subset):
    """The real images a sampling model is compared with (an audio model's
    real clips, as `.images`)."""
    from kerasgen.data import load_images

    if spec.kind == "waveforms":
        import types

        from kerasgen.data.audio import load_waveforms

        try:
            clips = load_waveforms(data, length=spec.shape[0], sample_rate=spec.sample_rate,
                                   split=split, subset=subset, max_files=n)
        except ValueError as error:
            raise UsageMistake(str(error).replace("`subset`", "--subset")) from error
        except FileNotFoundError as error:
            raise UserError(str(error)) from error
        return types.SimpleNamespace(images=clips.waveforms, source=clips.source)

    try:
        images = load_images(data, image_size=spec.image_size, channels=spec.channels,
                             split=split, max_images=n, subset=subset)
    except ValueError as error:
        if subset is None or "subset" not in str(error):
            raise
        raise UsageMistake(str(error).replace("`subset`", "--subset")) from error
    if not len(images):
        raise UsageMistake(f"The data holds no images. Received: --data {data}")
    return images


@click.command(name="eval")
@click.argument("source", type=click.Path(dir_okay=True, path_type=str))
@click.option("--data", default=None,
              help="The real images: a folder, MNIST IDX files, an .npz, "
                   "tfds:NAME, or the pair folder of a translation model "
                   "(default: the built-in digits); audio: a folder of WAV files.")
@click.option("--split", default=None,
              help="Split of the data (default: train for sampling models, "
                   "test for translation models).")
@click.option("--subset", default=None, metavar="START:STOP",
              help="Sampling models: compare with images START to STOP of "
                   "--data only (e.g. 8000: for the digits the zoo's presets "
                   "held out). Default: all.")
@click.option("--metrics", default=None,
              help="Comma-separated: fid, kid, is, pr, dc, classes (the share of "
                   "samples the extractor classifies as each class), swd (sliced "
                   "Wasserstein distance of pyramid patches, no extractor), bpd "
                   "(likelihood families) for sampling models (default fid,kid); "
                   "l1, psnr, ssim (paired) or domain, fid (unpaired) for "
                   "translation models.")
@click.option("--n", "n", type=click.IntRange(min=1), default=10000, show_default=True,
              help="Samples to draw, and at most this many real images.")
@click.option("--extractor", default=None,
              help="Feature extractor: lenet-mnist, catdog-classifier-64, "
                   "logmel-cnn-fsdd or inception-v3 (default: lenet-mnist for "
                   "greyscale images, inception-v3 for colour, logmel-cnn-fsdd "
                   "for audio).")
@click.option("--weights", default=None, type=click.Path(dir_okay=False, path_type=str),
              help="The weights file of the inception-v3 extractor.")
@click.option("--download-weights", is_flag=True,
              help="Download the inception-v3 weights into the cache when "
                   "they are missing (needs a network; checked against "
                   "their sha256).")
@click.option("--direction", type=click.Choice(("a2b", "b2a")), default=None,
              help="Translation models: the direction to measure.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the latents and of KID's subsets.")
@click.option("--batch-size", type=click.IntRange(min=1), default=250, show_default=True,
              help="Images per batch when generating and extracting.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=str),
              default=None, help="Also write the numbers and settings to this JSON file.")
@click.option("--no-cache", is_flag=True,
              help="Do not read or write the cached features of the real images.")
@allow_nonfinite_option
@backend_option
@debug_option
@user_errors
def evaluate(source, data, split, subset, metrics, n, extractor, weights, download_weights,
             direction, seed,
             batch_size, json_path, no_cache, allow_nonfinite, backend):
    """Measure a checkpoint: FID, KID, IS, precision/recall, or translation scores.

    SOURCE is a `.keras` file, a run folder (its checkpoint.keras) or a zoo
    preset name (`kerasgen zoo list`).
    """
    select_backend(backend)
    resolved = resolve_source(source)
    path = resolved[1]
    check_extractor_name(extractor, "--extractor")
    chosen = None if metrics is None else [m for m in metrics.split(",") if m.strip()]
    model = load_source(resolved, allow_nonfinite=allow_nonfinite)
    from kerasgen.metrics import evaluate as ev
    from kerasgen.metrics.extractors import load_extractor
    from kerasgen.models.interfaces import provides

    spec = model.data_spec()
    if extractor is not None:
        extractor = load_extractor(extractor, weights=weights, download=download_weights)
    if provides(model, "translate"):
        if subset is not None:
            raise UsageMistake("--subset is for sampling models; a translation "
                               f"model is measured on a split. Received: --subset {subset}")
        result = _evaluate_translation(model, spec, data, split or "test", chosen,
                                       extractor, direction, n, batch_size, seed,
                                       not no_cache)
    elif provides(model, "sample"):
        if direction is not None:
            raise UsageMistake("--direction is for translation models. "
                               f"Received: --direction {direction}")
        real = _real_images(data, spec, split or "train", n, subset)
        pixels_only = chosen and all(m.strip().lower() in ev.PIXEL_METRICS for m in chosen)
        if extractor is None and not pixels_only:  # swd and bpd read pixels
            extractor = load_extractor(ev.default_extractor(spec.shape), weights=weights,
                                       download=download_weights)
        result = _as_usage_mistake(
            ev.evaluate_samples, model, real.images, chosen or ("fid", "kid"), n=n,
            extractor=extractor, seed=seed, batch_size=batch_size,
            data_name=f"{real.source}-{split or 'train'}", cache=not no_cache,
            progress=_progress)
    elif provides(model, "swap"):
        if direction is not None:
            raise UsageMistake("--direction is for translation models. "
                               f"Received: --direction {direction}")
        real = _real_images(data, spec, split or "train", n, subset)
        result = _as_usage_mistake(
            ev.evaluate_swaps, model, real.images, chosen or ev.SWAP_METRICS, seed=seed,
            data_name=f"{real.source}-{split or 'train'}")
    else:
        raise UsageMistake(f"{type(model).__name__} neither samples nor translates: "
                           "there is nothing kerasgen eval can measure.")
    result["settings"].update(checkpoint=path, backend=import_keras().backend.backend())
    click.echo(f"{path} ({type(model).__name__}, {result['settings']['seconds']:.1f} s)")
    click.echo(ev.format_table(result))
    if json_path:
        from kerasgen.utils.io import atomic_write

        with atomic_write(json_path) as tmp:
            with open(tmp, "w") as file:
                file.write(ev.to_json(result))
        click.echo(f"Wrote {json_path}")


def _evaluate_translation(model, spec, data, split, metrics, extractor, direction, n,
                          batch_size, seed, cache):
    from kerasgen.data import pairs
    from kerasgen.metrics import evaluate as ev

    paired = spec.pairing == "paired"
    options = dict(image_size=spec.image_size, channels=spec.channels, split=split,
                   max_images=n)
    if paired:
        inputs, targets = pairs.load_paired(data, direction=spec.direction, **options)
        direction = direction or spec.direction
    else:
        images_a, images_b = pairs.load_unpaired(data, **options)
        direction = direction or "a2b"
        inputs, targets = (images_a, images_b) if direction == "a2b" else (images_b, images_a)
    return _as_usage_mistake(
        ev.evaluate_translation,
        model, inputs.images, targets.images, metrics, direction=direction,
        extractor=extractor, batch_size=min(batch_size, 32), seed=seed,
        data_name=f"{inputs.source}-{split}", cache=cache, progress=_progress)


def _as_usage_mistake(function, *args, **kwargs):
    """Runs an evaluation; its ValueErrors (a metric name, --n, a
    direction) are wrong arguments: exit 2."""
    try:
        return function(*args, **kwargs)
    except ValueError as error:
        raise usage_mistake(error) from error
