"""Publishing: a finished `kerasgen train` run becomes a preset folder.

`kerasgen zoo publish RUN --name NAME` (and `publish()` here) is how the
project's own presets are made, so a user makes theirs the same way:

1. the run's checkpoint is loaded (safe mode) and must have finished: a
   run short of its `--steps` is refused, so an unfinished training never
   reaches the index;
2. `config.json` is the family and its constructor's arguments,
   `model.weights.h5` the weights (`save_weights`: arrays only), stored as
   float16 when that keeps every metric within `TOLERANCE` of the float32
   weights' (both are measured; the card says which shipped and both
   numbers), else float32;
3. the metrics are measured from the weights that ship, with settings
   recorded in `metadata.json` (`evaluation`), so `recompute_metrics()`
   (and the zoo's test) gets them again from the shipped file: FID and class
   shares of samples against held-out images (the complement of the
   run's `--subset`, or the source's test split), translation scores on the
   test split;
4. `samples.png` is drawn from the shipped weights, the model card
   `README.md` is written from the run and the metrics, and `metadata.json`
   lists the sha256 of every file (`registry.seal_folder`); the folder is
   written atomically, then added to the index when it is in the zoo.
"""

import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from kerasgen.zoo import registry

#: How far a metric of the float16 weights may be from the float32
#: weights' for float16 to ship, and how far a recomputed metric may be
#: from its card (the same backend gives the same numbers to float
#: rounding; another backend or BLAS moves FID by a few hundredths).
TOLERANCE = {"relative": 0.02, "absolute": 0.01}
#: A weights file over this is stored as float16 whatever the metrics say
#: (the zoo's limit per file is 16 MiB).
MAX_WEIGHTS_BYTES = 16 * 1024 * 1024
#: Samples (and held-out images) per metric of a sampling model.
DEFAULT_N = 2000
#: Test images per domain in a translation model's card picture.
STRIP_IMAGES = 4
#: Structure sources (rows) and texture sources (columns) of a swap card.
SWAP_IMAGES = 5
# Clips in an audio preset's picture.
AUDIO_CLIPS = 8
_CONFIG_SKIP = ("name", "trainable", "dtype")


class PublishError(ValueError):
    """A run that cannot become a preset (unfinished, diverged, no data)."""


# --- The run ----------------------------------------------------------------------


def _read_run(folder):
    folder = Path(folder)
    checkpoint = folder / "checkpoint.keras"
    config_path = folder / "config.json"
    if not checkpoint.is_file() or not config_path.is_file():
        raise PublishError(f"{folder} is not a finished kerasgen run folder (it needs "
                           f"config.json and checkpoint.keras). Received: run={folder}")
    run = json.loads(config_path.read_text())
    timing_path = folder / "timing.json"
    run["timing"] = json.loads(timing_path.read_text()) if timing_path.is_file() else None
    return run, checkpoint


def _load_run_model(checkpoint):
    import keras

    from kerasgen.models import load_all

    load_all()
    model = keras.saving.load_model(checkpoint)  # safe_mode=True
    for variable in model.weights:
        if not np.isfinite(keras.ops.convert_to_numpy(variable)).all():
            raise PublishError(f"The checkpoint {checkpoint} holds non-finite weights "
                               f"({variable.path}): the run diverged. Received: "
                               f"run={checkpoint.parent}")
    return model


def _steps_done(model):
    import keras

    if getattr(model, "optimizer", None) is None:
        return 0
    return int(keras.ops.convert_to_numpy(model.optimizer.iterations))


def preset_config(model):
    """The `config.json` of a preset of `model`: its family, class and
    constructor arguments (Keras's name/trainable/dtype left out: a preset
    builds in float32 under the name of its family).

    Example:

    ```python
    import kerasgen
    model = kerasgen.DCGAN(image_size=8, latent_dim=4, generator_filters=4,
                           discriminator_filters=4)
    preset_config(model)["family"]  # 'dcgan'
    ```
    """
    config = {key: value for key, value in model.get_config().items()
              if key not in _CONFIG_SKIP}
    return {"family": type(model).family_name, "class": type(model).__name__,
            "config": json.loads(json.dumps(config))}


# --- Weights ----------------------------------------------------------------------


def to_float16(source, destination):
    """Copies a `.weights.h5` file with its float32 arrays as float16
    (anything else, such as the seed state, unchanged). Keras casts them
    back to each variable's float32 on `load_weights`.

    Example:

    ```python
    import h5py, tempfile, os
    folder = tempfile.mkdtemp()
    with h5py.File(os.path.join(folder, "a.h5"), "w") as f:
        f["w"] = np.array([1.5, 2.0], "float32")
    to_float16(os.path.join(folder, "a.h5"), os.path.join(folder, "b.h5"))
    str(h5py.File(os.path.join(folder, "b.h5"))["w"].dtype)  # 'float16'
    ```
    """
    import h5py

    with h5py.File(source, "r") as src, h5py.File(destination, "w") as dst:
        for key, value in src.attrs.items():
            dst.attrs[key] = value

        def copy(name, item):
            if isinstance(item, h5py.Group):
                group = dst.require_group(name)
                for key, value in item.attrs.items():
                    group.attrs[key] = value
            else:
                data = item[()]
                if getattr(data, "dtype", None) == np.float32:
                    data = data.astype(np.float16)
                dst.create_dataset(name, data=data)
                for key, value in item.attrs.items():
                    dst[name].attrs[key] = value

        src.visititems(copy)


def _shipped_weights(model, weights, float16, folder):
    """`{file name: path}` of the weights to ship: `model.weights.h5`, or,
    over `MAX_WEIGHTS_BYTES`, Keras's sharded layout (`model.weights.json`
    naming `model_NNNNN.weights.h5` shards, each under the limit), written
    from `model` (whose values are those of `weights`) and cast to float16
    shard by shard when `float16`."""
    if os.path.getsize(weights) <= MAX_WEIGHTS_BYTES:
        return {"model.weights.h5": weights}
    folder.mkdir()
    # Shards are cut by their float32 size; float16 halves them.
    limit_gb = (MAX_WEIGHTS_BYTES * 0.75 * (2 if float16 else 1)) / 1024**3
    model.save_weights(folder / "model.weights.json", max_shard_size=limit_gb)
    files = {}
    for path in sorted(folder.iterdir()):
        if path.suffix == ".h5" and float16:
            cast = path.with_name(path.name + ".tmp")
            to_float16(path, cast)
            os.replace(cast, path)
        if path.stat().st_size > MAX_WEIGHTS_BYTES:
            raise PublishError(f"A weights shard takes {path.stat().st_size / 2**20:.1f} MiB, "
                               f"over the zoo's 16 MiB per file: one variable is too large.")
        files[path.name] = path
    return files


# --- Metrics ----------------------------------------------------------------------


def _complement(subset):
    """The held-out part of a training `--subset`: `0:8000` -> `8000:`."""
    if not subset:
        return None
    start, _, stop = str(subset).partition(":")
    if start.strip() in ("", "0") and stop.strip():
        return f"{stop.strip()}:"
    return None


def _dataset_reference(data, datasets):
    """`{"dataset": relative}` when `data` lies under the `datasets` root (a
    card that other checkouts can recompute), else `{"data": absolute}`."""
    if data is None:
        return {"data": None}
    path = Path(data).expanduser().resolve()
    if datasets is not None:
        root = Path(datasets).expanduser().resolve()
        try:
            return {"dataset": str(path.relative_to(root))}
        except ValueError:
            pass
    return {"data": str(path)}


def default_evaluation(model, run, datasets=None, n=None, extractor=None, metrics=None):
    """The evaluation settings a preset of `model` (trained by `run`) gets:
    held-out images and the family's measures. Returns a dict for
    `metadata.json`'s `evaluation`."""
    from kerasgen.metrics.evaluate import PIXEL_METRICS
    from kerasgen.metrics.evaluate import default_extractor
    from kerasgen.models.interfaces import provides

    spec = model.data_spec()
    train = run.get("train", {})
    evaluation = dict(_dataset_reference(train.get("data"), datasets), seed=0)
    if provides(model, "translate"):
        paired = spec.pairing == "paired"
        evaluation.update(
            kind="translation", split="test", n=n or 10000,
            direction=spec.direction if paired else "a2b",
            metrics=metrics or (["l1", "psnr", "ssim"] if paired else ["domain", "fid"]),
            extractor=extractor if not paired else None)
        if not paired and evaluation["extractor"] is None:
            raise PublishError("An unpaired translation model is measured by a domain "
                               "classifier: pass --extractor (e.g. catdog-classifier-64).")
        return evaluation
    held_out = _complement(train.get("subset"))
    if spec.kind == "waveforms":
        # The dataset's own test split, read by the audio judge; the bounds
        # (real recordings, the untrained generator) are measured beside it.
        evaluation.update(kind="samples", subset=held_out,
                          split="train" if held_out else "test", n=n or DEFAULT_N,
                          extractor=extractor or default_extractor(spec.shape),
                          metrics=metrics or ["is", "fid", "classes"], bounds=True)
        return evaluation
    if provides(model, "swap"):
        # Swaps and reconstructions of held-out images, measured on pixels.
        evaluation.update(kind="swap", subset=held_out, split="train" if held_out else "test",
                          n=n or DEFAULT_N, extractor=None,
                          metrics=metrics or ["swd", "l1", "psnr", "ssim"])
        return evaluation
    if extractor is None and not (metrics and set(metrics) <= set(PIXEL_METRICS)):
        extractor = default_extractor(spec.shape)  # pixel metrics need none
    evaluation.update(
        kind="samples", subset=held_out, split="train" if held_out else "test",
        n=n or DEFAULT_N, extractor=extractor,
        metrics=metrics or (["fid", "classes"] if extractor == "lenet-mnist" else ["fid"]))
    if _one_image(train.get("data")):
        # A model of one image (SinGAN) is measured against that image.
        evaluation.update(split="train", reference="training image")
    if metrics is None and provides(model, "log_prob"):
        # A density family's own measure: the held-out images' likelihood.
        evaluation["metrics"] = evaluation["metrics"] + ["bpd"]
    return evaluation


def _one_image(data):
    from kerasgen.data.sources import IMAGE_EXTENSIONS

    return bool(data) and os.path.isfile(data) and str(data).lower().endswith(IMAGE_EXTENSIONS)


def _data_path(evaluation, datasets):
    if evaluation.get("dataset") is not None:
        if datasets is None:
            raise PublishError("The card's data is a dataset of the shared datasets "
                               f"folder ({evaluation['dataset']}): pass its root.")
        return str(Path(datasets) / evaluation["dataset"])
    return evaluation.get("data")


def held_out_data(spec, data, evaluation, split=None, n=None):
    """The real data a card measures against: an `ImageData`, or for an
    audio family an `AudioData` (its clips as `.images` too)."""
    from kerasgen.data import load_images

    split = split or evaluation.get("split", "train")
    n = n or evaluation["n"]
    if spec.kind == "waveforms":
        from kerasgen.data.audio import load_waveforms

        clips = load_waveforms(data, length=spec.shape[0], sample_rate=spec.sample_rate,
                               split=split, subset=evaluation.get("subset"), max_files=n)
        clips.images = clips.waveforms
        return clips
    return load_images(data, image_size=spec.image_size, channels=spec.channels,
                       split=split, subset=evaluation.get("subset"), max_images=n)


def bound_rows(model, evaluation, datasets=None, cache=True):
    """The scores the card's numbers sit between: `"real"`, the training
    data read as samples against the held-out data (what a generator that
    reproduced the data would get), and `"untrained"`, the same network
    freshly initialized (seed 0). Both with the card's metrics, extractor
    and n.

    Example:

    ```python
    # bounds = bound_rows(kerasgen.load("wavegan-fsdd"),
    #                     kerasgen.zoo.info("wavegan-fsdd")["evaluation"],
    #                     datasets="../shared/datasets")
    ```
    """
    import keras

    from kerasgen.metrics import evaluate as ev

    spec = model.data_spec()
    data = _data_path(evaluation, datasets)
    held_out = held_out_data(spec, data, evaluation)
    # n training examples drawn over the whole split (a split sorted by
    # class would give its first n few classes), seeded.
    training = held_out_data(spec, data, evaluation, split="train", n=10 ** 9).images
    picked = np.sort(np.random.default_rng(evaluation["seed"]).choice(
        len(training), min(evaluation["n"], len(training)), replace=False))
    real = ev.evaluate_real(training[picked], held_out.images, evaluation["metrics"],
                            extractor=evaluation["extractor"], seed=evaluation["seed"],
                            data_name=f"{held_out.source}-{evaluation.get('split')}",
                            cache=cache)["rows"]
    keras.utils.set_random_seed(0)
    untrained = type(model).from_config(model.get_config())
    return {"real": real, "untrained": recompute_metrics(untrained, evaluation, datasets,
                                                          cache)}


def recompute_metrics(model, evaluation, datasets=None, cache=True):
    """The metric rows of `model` with a card's `evaluation` settings (as
    `publish` measured them, and as the zoo's test measures them again).

    Example:

    ```python
    # rows = recompute_metrics(kerasgen.load("dcgan-mnist"),
    #                          kerasgen.zoo.info("dcgan-mnist")["evaluation"],
    #                          datasets="../shared/datasets")
    ```
    """
    from kerasgen.data import pairs
    from kerasgen.metrics import evaluate as ev

    data = _data_path(evaluation, datasets)
    spec = model.data_spec()
    if evaluation["kind"] in ("samples", "swap"):
        real = held_out_data(spec, data, evaluation)
        if evaluation["kind"] == "swap":
            return ev.evaluate_swaps(model, real.images, evaluation["metrics"],
                                     seed=evaluation["seed"], data_name=real.source)["rows"]
        return ev.evaluate_samples(
            model, real.images, evaluation["metrics"], n=evaluation["n"],
            extractor=evaluation["extractor"], seed=evaluation["seed"],
            data_name=f"{real.source}-{evaluation.get('split')}", cache=cache)["rows"]
    options = dict(image_size=spec.image_size, channels=spec.channels,
                   split=evaluation["split"], max_images=evaluation["n"])
    if spec.pairing == "paired":
        inputs, targets = pairs.load_paired(data, direction=spec.direction, **options)
    else:
        images_a, images_b = pairs.load_unpaired(data, **options)
        inputs, targets = ((images_a, images_b) if evaluation["direction"] == "a2b"
                           else (images_b, images_a))
    return ev.evaluate_translation(
        model, inputs.images, targets.images, evaluation["metrics"],
        direction=evaluation["direction"], extractor=evaluation.get("extractor"),
        seed=evaluation["seed"], data_name=f"{inputs.source}-{evaluation['split']}",
        cache=cache)["rows"]


def within_tolerance(value, reference, tolerance=None):
    """Whether `value` is within `TOLERANCE` (relative or absolute,
    whichever is larger) of `reference`.

    Example:

    ```python
    within_tolerance(63.5, 63.0), within_tolerance(70.0, 63.0)  # (True, False)
    ```
    """
    tolerance = tolerance or TOLERANCE
    allowed = max(tolerance["absolute"], tolerance["relative"] * abs(reference))
    return abs(float(value) - float(reference)) <= allowed


def _same_metrics(rows, reference_rows):
    return all(within_tolerance(a["value"], b["value"])
               for a, b in zip(rows, reference_rows))


# --- Pictures and the card ------------------------------------------------------


def render_samples(model, evaluation, datasets=None, path=None):
    """The card's picture, from the shipped weights: 64 samples (a row per
    class for a conditional model), or translation strips of 4 test
    images per domain. Returns the uint8 picture; writes it to `path` as PNG."""
    from kerasgen.models.interfaces import provides
    from kerasgen.utils.images import make_grid
    from kerasgen.utils.images import make_strips
    from kerasgen.utils.images import save_png
    from kerasgen.utils.images import upscale

    if model.data_spec().kind == "waveforms":
        from kerasgen.utils.audio import audio_figure

        picture = audio_figure(model.sample(AUDIO_CLIPS, seed=0), model.data_spec().sample_rate)
    elif provides(model, "sample"):
        classes = int(getattr(model, "num_classes", 0) or 0)
        n, nrow = (classes * 8, 8) if classes else (64, 8)
        picture = upscale(make_grid(model.sample(n, seed=0), nrow=nrow))
    elif provides(model, "swap"):
        from kerasgen.data import load_images
        from kerasgen.data import to_unit_range

        spec = model.data_spec()
        held_out = load_images(_data_path(evaluation, datasets), image_size=spec.image_size,
                               channels=spec.channels, split=evaluation.get("split", "train"),
                               subset=evaluation.get("subset"), max_images=SWAP_IMAGES * 2)
        images = to_unit_range(held_out.images)
        picture = upscale(make_grid(*model.swap_figure(images[:SWAP_IMAGES],
                                                       images[SWAP_IMAGES:])))
    else:
        from kerasgen.data import pairs
        from kerasgen.data import to_unit_range

        spec = model.data_spec()
        data = _data_path(evaluation, datasets)
        options = dict(image_size=spec.image_size, channels=spec.channels,
                       split="test", max_images=STRIP_IMAGES)
        load = pairs.load_paired if spec.pairing == "paired" else pairs.load_unpaired
        if spec.pairing == "paired":
            options["direction"] = spec.direction
        first, second = load(data, **options)
        rows = np.asarray(model.translation_rows(to_unit_range(first.images),
                                                 to_unit_range(second.images)))
        counts = [len(first), len(second)][:len(model.strip_captions)]
        groups = None
        if model.strip_captions and sum(counts) == len(rows):
            groups = [(count, title, columns)
                      for count, (title, columns) in zip(counts, model.strip_captions)]
        # Tall and narrow: enlarged until the height is twice the usual.
        picture = make_strips(rows, groups, min_size=1024)
    if path is not None:
        save_png(picture, path)
    return picture


def _metric_table(rows, float32_rows=None):
    """The card's table: one row per number, the class shares in one."""
    header = "| metric | value |" + (" float32 weights |" if float32_rows else "")
    lines = [header, "| --- | ---: |" + (" ---: |" if float32_rows else "")]

    def shown(row):
        return f"{row['value']:.4g}" + (f" ± {row['std']:.2g}" if row.get("std") else "")

    shares = [i for i, row in enumerate(rows) if row["metric"] == "class_share"]
    for i, row in enumerate(rows):
        if row["metric"] == "class_share":
            if i != shares[0]:
                continue
            extractor = row["extractor"]
            values = ", ".join(f"{rows[j]['class']}: {rows[j]['value']:.3f}" for j in shares)
            extra = ""
            if float32_rows:
                extra = " " + ", ".join(f"{float32_rows[j]['value']:.3f}" for j in shares) + " |"
            lines.append(f"| class shares ({extractor}) | {values} |{extra}")
            continue
        extra = f" {shown(float32_rows[i])} |" if float32_rows else ""
        lines.append(f"| {row['label']} | {shown(row)} |{extra}")
    return "\n".join(lines)


def _describe_evaluation(evaluation, conditional=False):
    if evaluation.get("dataset"):
        where = f"`../shared/datasets/{evaluation['dataset']}`"
    else:
        where = f"`{evaluation['data']}`" if evaluation.get("data") else "the embedded digits"
    if evaluation["kind"] == "samples":
        held = (f"images {evaluation['subset']} of {where}" if evaluation.get("subset")
                else f"the {evaluation['split']} split of {where}")
        held += ", held out from training"
        if evaluation.get("reference") == "training image":
            held = f"the one image it learned, {where}"
        balanced = ", one class in turn" if conditional else ""
        features = (f"; features of `{evaluation['extractor']}`"
                    if evaluation.get("extractor") else "")
        return (f"{evaluation['n']:,} samples (seed {evaluation['seed']}{balanced}) against "
                f"{held}{features}")
    if evaluation["kind"] == "swap":
        held = (f"images {evaluation['subset']} of {where}" if evaluation.get("subset")
                else f"the {evaluation['split']} split of {where}")
        return (f"{held}, held out from training (the first {evaluation['n']:,}): each image's structure with the texture of "
                "the image n/2 further on (the swaps, against the real images), and each "
                "image's reconstruction")
    return (f"the {evaluation['split']} split of {where} (every image, up to "
            f"{evaluation['n']:,}), direction {evaluation['direction']}"
            + (f"; judged by `{evaluation['extractor']}`" if evaluation.get("extractor")
               else ""))


def _bounds_table(bounds, rows):
    """The card's lines putting each number between its bounds."""
    if not bounds:
        return []
    lines = ["Between the bounds: the training recordings read as if they were "
             "samples (the score of a generator that reproduced them), and the same "
             "network untrained (seed 0):", "",
             "| metric | untrained | this preset | real training data |",
             "| --- | ---: | ---: | ---: |"]
    for i, row in enumerate(rows):
        if row["metric"] == "class_share":
            continue
        lines.append(f"| {row['label']} | {bounds['untrained'][i]['value']:.4g} | "
                     f"**{row['value']:.4g}** | {bounds['real'][i]['value']:.4g} |")
    return lines + [""]


def write_card(name, model, metadata, notes=""):
    """The model card (`README.md`) of a preset, from its metadata."""
    from kerasgen.utils.machine import describe_machine

    cls = type(model).__name__
    train = metadata["training"]
    seconds = train.get("train_seconds")
    minutes = "not recorded" if seconds is None else f"{seconds / 60:.1f} min"
    sample_line = (f"clips = model.sample(16, seed=0)  # (16, {', '.join(map(str, model.data_spec().shape))}) in [-1, 1]"
                   if model.data_spec().kind == "waveforms" else
                   f"images = model.sample(16, seed=0)  # (16, {', '.join(map(str, model.data_spec().shape))})"
                   if "sample" in model.interfaces else
                   "outputs = model.swap(structure_images, texture_images)  # (N, H, W, C) "
                   "in [-1, 1]" if "swap" in model.interfaces else
                   "outputs = model.translate(images)  # images: (N, H, W, C) in [-1, 1]")
    lines = [
        f"# {name}", "",
        f"{metadata['description']}", "",
        "```python", "import kerasgen", "",
        f'model = kerasgen.{cls}.from_preset("{name}")  # or kerasgen.load("{name}")',
        sample_line, "```", "",
        f"![samples of {name}](samples.png)", "",
        "| | |", "| --- | --- |",
        f"| family | `{metadata['family']}` ({cls}) |",
        f"| data | {metadata['data']} |",
        f"| resolution | {metadata['resolution']} |",
        f"| training | {train['steps']:,} steps of batch {train['batch_size']}, seed "
        f"{train['seed']}, {metadata['backend']} backend |",
        f"| training time | {minutes} on {describe_machine(train.get('machine') or {})} |",
        *([f"| network | {metadata['shipped_network']} |"]
          if metadata.get("shipped_network") else []),
        f"| weights | {metadata['weights_dtype']}, "
        f"{metadata['weights_bytes'] / 2**20:.1f} MiB, {metadata['parameters']:,} parameters |",
        f"| kerasgen | {metadata['version']} (Keras {metadata['keras']}) |", "",
        "## Metrics", "",
        "Measured from the shipped weights on "
        f"{_describe_evaluation(metadata['evaluation'], bool(getattr(model, 'num_classes', 0)))}; "
        f"the zoo's test measures them again and must agree within "
        f"{TOLERANCE['relative']:.0%} (or {TOLERANCE['absolute']} absolute).", "",
        _metric_table(metadata["metrics"], metadata.get("float32_metrics")), "",
        *_bounds_table(metadata.get("bounds"), metadata["metrics"]),
        "## Training command", "",
        "```bash", train.get("command") or "(not recorded)", "```", "",
    ]
    if notes:
        lines += [notes.strip(), ""]
    lines += ["## License", "",
              metadata.get("license") or "The weights: Apache-2.0, as kerasgen. The "
              "data's own license applies to what it is (see the datasets' README).", ""]
    return "\n".join(lines)


# --- Publish ----------------------------------------------------------------------


def _without_average(model, run_folder):
    """The weights of `model` less its EMA copy's, in `get_weights` order."""
    if getattr(model, "ema_decay", None) is None:
        raise PublishError(f"The run {run_folder} keeps no moving average to leave out. "
                           f"Received: without_ema=True")
    average = {id(v) for v in getattr(model, f"{model.ema_network}_ema").weights}
    import keras

    return [keras.ops.convert_to_numpy(v) for v in model.weights if id(v) not in average]


def _family_summary(family):
    from kerasgen.models import registry as families

    return families.find_entry(family).summary


def publish(run_folder, name, *, out=None, description=None, datasets=None, n=None,
            extractor=None, metrics=None, notes="", data_note=None, license=None,
            weights_dtype="auto", without_ema=False, progress=None):
    """Turns a finished run folder into the preset folder `out` (default:
    `zoo/<name>` in the shipped zoo, which is then re-indexed).

    Args:
        run_folder: a `kerasgen train` run folder.
        name: the preset's name, e.g. `"dcgan-mnist"`.
        out: where to write the preset folder. Defaults to the zoo's.
        description: the card's first paragraph. Defaults to the family's
            one-line description.
        datasets: the root the run's data lies under (recorded relative to
            it, so another checkout can recompute the card). Defaults to
            None (the data's absolute path is recorded).
        n, extractor, metrics: override `default_evaluation`'s.
        notes: markdown added to the card (e.g. the recipes tried).
        data_note: how the card names the data. Defaults to the path and
            subset.
        license: the card's license paragraph.
        weights_dtype: `"auto"` (float16 when the metrics agree within
            `TOLERANCE`), `"float16"` or `"float32"`.
        without_ema: bool. Ship the trained network instead of its moving
            average (the preset's `ema_decay` is then None), for a run whose
            average was too slow for its length; the card says so.
        progress: a callable taking a line of text, or None.

    Returns:
        The preset folder, a `Path`.
    """
    import keras

    import kerasgen

    say = progress or (lambda text: None)
    name = registry.check_name(name)
    if weights_dtype not in ("auto", "float16", "float32"):
        raise PublishError("weights_dtype must be auto, float16 or float32. "
                           f"Received: weights_dtype={weights_dtype!r}")
    run, checkpoint = _read_run(run_folder)
    model = _load_run_model(checkpoint)
    done, total = _steps_done(model), int(run.get("total_steps") or 0)
    if done < total:
        raise PublishError(f"The run {run_folder} stopped at step {done} of {total}: "
                           f"finish it (kerasgen train ... --resume) before publishing. "
                           f"Received: run={run_folder}")
    evaluation = default_evaluation(model, run, datasets, n, extractor, metrics)
    out = Path(out) if out is not None else registry.ZOO_FOLDER / name

    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        config = preset_config(model)
        values = model.get_weights()
        if without_ema:
            values = _without_average(model, run_folder)
            config["config"]["ema_decay"] = None
        # The weights alone: a copy built from the config, so that the run's
        # optimizer state (twice the weights again, for Adam) stays out.
        bare = registry.model_from_preset_config(config, "the run's config")
        bare.set_weights(values)
        float32_path = scratch / "float32.weights.h5"
        bare.save_weights(float32_path)
        float16_path = scratch / "float16.weights.h5"
        to_float16(float32_path, float16_path)

        def measure(weights):
            shipped = registry.model_from_preset_config(config, "the run's config")
            shipped.load_weights(weights)
            return shipped, recompute_metrics(shipped, evaluation, datasets)

        say("measuring the float32 weights")
        float32_model, float32_rows = measure(float32_path)
        say("measuring the float16 weights")
        float16_model, float16_rows = measure(float16_path)
        too_big = os.path.getsize(float32_path) > MAX_WEIGHTS_BYTES
        use16 = weights_dtype == "float16" or (weights_dtype == "auto" and (
            too_big or _same_metrics(float16_rows, float32_rows)))
        shipped_model, rows = (float16_model, float16_rows) if use16 else (
            float32_model, float32_rows)
        weights_files = _shipped_weights(shipped_model, float16_path if use16 else float32_path,
                                         use16, scratch / "sharded")
        if rows:
            rows[0] = dict(rows[0], headline=True)
        bounds = None
        if evaluation.get("bounds"):
            say("measuring the bounds (real data, untrained network)")
            bounds = bound_rows(shipped_model, evaluation, datasets)

        from kerasgen.utils.machine import machine_info

        timing = run.get("timing") or {}
        segments = timing.get("segments") or []
        train = run.get("train", {})
        spec = model.data_spec()
        metadata = {
            "name": name, "kind": "model", "family": config["family"],
            "class": config["class"],
            "description": description or _family_summary(config["family"]),
            "version": kerasgen.__version__, "keras": keras.__version__,
            "backend": run.get("backend"),
            "data": data_note or (
                f"{train.get('data') or 'the embedded digits'}"
                + (f", images {train['subset']}" if train.get("subset") else "")),
            "resolution": (f"{spec.shape[0]} samples at {spec.sample_rate / 1000:g} kHz"
                           if spec.kind == "waveforms" else
                           "x".join(map(str, spec.shape[:2])) if spec.shape else None),
            "training": {
                "steps": done, "batch_size": train.get("batch_size"),
                "seed": train.get("seed"), "subset": train.get("subset"),
                "train_seconds": timing.get("train_seconds"),
                "machine": segments[-1]["machine"] if segments else None,
                "segments": len(segments) or None, "command": run.get("command"),
            },
            "parameters": int(sum(np.prod(v.shape) for v in shipped_model.weights)),
            "weights_dtype": "float16" if use16 else "float32",
            "weights_bytes": sum(os.path.getsize(path) for path in weights_files.values()),
            "shipped_network": ("trained (the run's moving average, decay "
                                f"{model.ema_decay}, left out)" if without_ema else None),
            "evaluation": evaluation, "tolerance": TOLERANCE,
            "metrics": rows, "float32_metrics": None if not use16 else float32_rows,
            "bounds": bounds,
            "published": time.strftime("%Y-%m-%d"), "published_on": machine_info(),
            "license": license,
        }
        from kerasgen.utils.io import atomic_write

        with atomic_write(out, directory=True) as tmp:
            tmp = Path(tmp)
            tmp.chmod(0o755)  # mkdtemp's 0700 would hide a shipped preset
            (tmp / "config.json").write_text(json.dumps(config, indent=2) + "\n")
            for filename, path in weights_files.items():
                os.replace(path, tmp / filename)
            say("drawing samples.png")
            render_samples(shipped_model, evaluation, datasets, tmp / "samples.png")
            (tmp / "metadata.json").write_text(json.dumps(metadata, indent=2) + "\n")
            (tmp / "README.md").write_text(write_card(name, shipped_model, metadata, notes))
            for path in tmp.iterdir():
                path.chmod(0o644)
            metadata_sha256 = registry.seal_folder(tmp)
    if out.resolve().parent == registry.ZOO_FOLDER:
        registry.update_index()
    say(f"sha256 of metadata.json: {metadata_sha256}")
    return out

