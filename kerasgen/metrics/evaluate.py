"""Evaluating a model: generate (or translate), extract features, compare.

Written once against the families' interfaces, so every family is measured
the same way:

- a **latent generator** (`sample`): `evaluate_samples` draws `n` samples
  (balanced over the classes of a conditional model), reads them and `n`
  real images with a named extractor, and computes FID, KID, Inception
  Score, precision/recall and density/coverage;
- a **swapping model** (`swap`): `evaluate_swaps` swaps held-out images'
  structure and texture and measures the swaps' SWD to the real images,
  and the reconstructions' L1, PSNR and SSIM;
- a **translation model** (`translate`): `evaluate_translation` translates
  held-out inputs; paired, it compares them with the ground truth (L1,
  PSNR, SSIM); unpaired, it asks a domain classifier how many it assigns to
  the target domain, and measures the FID of the translations to the real
  images of that domain.

The real side's features are computed once per (images, extractor) and
cached as `.npz` under `$KERASGEN_HOME/stats/` (default
`~/.cache/kerasgen/stats/`), keyed by the images' sha256, so a second
evaluation against the same data only generates and reads the fakes.

Every number comes back with the extractor's name, `"FID (lenet-mnist)"`,
and the settings needed to reproduce it.
"""

import hashlib
import json
import os
import re
import time
from pathlib import Path

import numpy as np

from kerasgen.metrics import statistics
from kerasgen.metrics import translation
from kerasgen.utils.io import cache_home

#: Metrics of samples, by the names `--metrics` takes.
SAMPLE_METRICS = ("fid", "kid", "is", "pr", "dc", "classes", "bpd", "swd")
#: Sample metrics computed on pixels, without a feature extractor.
PIXEL_METRICS = ("bpd", "swd")
#: Metrics of translations.
TRANSLATION_METRICS = ("l1", "psnr", "ssim", "domain", "fid")
#: Metrics of structure/texture swaps: the swaps' SWD, the reconstructions'
#: L1, PSNR and SSIM.
SWAP_METRICS = ("swd", "l1", "psnr", "ssim")
#: How each metric is shown.
TITLES = {"fid": "FID", "kid": "KID", "is": "IS", "precision": "precision",
          "recall": "recall", "density": "density", "coverage": "coverage",
          "l1": "L1", "psnr": "PSNR (dB)", "ssim": "SSIM",
          "domain": "judged target domain", "label_accuracy": "label accuracy",
          "bpd": "NLL (bits/dim)", "bpd_bound": "NLL bound (bits/dim)",
          "swd": "SWD x1e3"}


def default_extractor(image_shape):
    """The extractor used when none is named: `lenet-mnist` for greyscale
    images, `inception-v3` for colour, `logmel-cnn-fsdd` for audio clips
    `(length, 1)`.

    Example:

    ```python
    default_extractor((28, 28, 1)), default_extractor((64, 64, 3)), default_extractor((8192, 1))
    # ('lenet-mnist', 'inception-v3', 'logmel-cnn-fsdd')
    ```
    """
    if len(image_shape) == 2:
        return "logmel-cnn-fsdd"
    return "lenet-mnist" if image_shape[-1] == 1 else "inception-v3"


def _progress_none(label, total):
    return _NoProgress()


class _NoProgress:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def update(self, count):
        pass


# --- Generation --------------------------------------------------------------


class ImageSamples:
    """Images someone already generated, offered as a sampler, so that
    `evaluate_samples` measures them like a model's samples: sample `i`
    is image `i` (uint8 images are scaled to [-1, 1]).

    Args:
        images: uint8 or float array `(N, H, W, C)`.

    Example:

    ```python
    import numpy as np
    samples = ImageSamples(np.zeros((3, 8, 8, 1), "uint8"))
    float(samples.decode(samples.sample_latents(2)).max())  # -1.0
    ```
    """

    interfaces = ("sample_latents", "decode", "sample")
    num_classes = 0

    def __init__(self, images):
        self.images = np.asarray(images)

    def sample_latents(self, n, seed=None):
        if n > len(self.images):
            raise ValueError(f"Asked for {n} samples of {len(self.images)} images. "
                             f"Received: n={n}")
        return np.arange(n)

    def decode(self, latents, labels=None, batch_size=None):
        images = self.images[np.asarray(latents)]
        if images.dtype == np.uint8:
            return images.astype("float32") / np.float32(127.5) - np.float32(1.0)
        return images.astype("float32")

    def sample(self, n, seed=None, labels=None):
        return self.decode(self.sample_latents(n, seed))


def generate_samples(model, n, seed=0, batch_size=250, progress=None):
    """`n` samples of a latent generator, in [-1, 1], float32.

    A conditional model gets balanced labels (`i % num_classes`), so every
    class is measured equally. Latents come from `model.sample_latents(n,
    seed)`: the same seed gives the same samples.

    Args:
        model: a model that provides `sample` (drawn through
            `sample_latents` and `decode` where it has them).
        n: int. How many.
        seed: int. Defaults to 0.
        batch_size: int. Defaults to 250.
        progress: a callable `(label, total)` giving a context manager with
            `update(count)` (e.g. `click.progressbar`), or None.

    Returns:
        A float32 array `(n, H, W, C)`.

    Example:

    ```python
    import kerasgen
    model = kerasgen.DCGAN(image_size=8, latent_dim=4, generator_filters=4,
                           discriminator_filters=4)
    generate_samples(model, 10, batch_size=4).shape  # (10, 8, 8, 1)
    ```
    """
    from kerasgen.models.interfaces import provides
    from kerasgen.models.interfaces import require

    require(model, "sample")
    progress = progress or _progress_none
    labels = sample_labels(model, n)
    if not provides(model, "decode"):
        # A sampler without latents (PixelCNN, a mixture): one draw of n,
        # so that the seed fixes all of them as it fixes the latents above.
        with progress("generating", n) as bar:
            images = model.sample(n, seed=seed, labels=labels)
            bar.update(len(images))
        return np.asarray(images, dtype="float32")
    latents = model.sample_latents(n, seed)
    out = []
    with progress("generating", n) as bar:
        for start in range(0, n, batch_size):
            chunk = slice(start, start + batch_size)
            out.append(model.decode(latents[chunk], None if labels is None else labels[chunk],
                                    batch_size=batch_size))
            bar.update(len(out[-1]))
    return np.concatenate(out).astype("float32")


def sample_labels(model, n):
    """The labels `generate_samples` draws `n` samples with: balanced,
    `i % num_classes`, for a conditional model; None for another.

    Example:

    ```python
    import kerasgen
    model = kerasgen.ConditionalGAN(image_size=8, latent_dim=4, num_classes=3)
    sample_labels(model, 5)  # array([0, 1, 2, 0, 1], dtype=int32)
    ```
    """
    classes = int(getattr(model, "num_classes", 0) or 0)
    return (np.arange(n) % classes).astype("int32") if classes else None


def extract(extractor, images, batch_size=250, progress=None, label="reading"):
    """`(features, logits)` of images, read in batches with a progress bar."""
    progress = progress or _progress_none
    features, logits = [], []
    with progress(f"{label} ({extractor.name})", len(images)) as bar:
        for start in range(0, len(images), batch_size):
            f, l = extractor.run(images[start:start + batch_size], batch_size)
            features.append(f)
            logits.append(l)
            bar.update(len(f))
    return np.concatenate(features), np.concatenate(logits)


# --- Reference statistics ------------------------------------------------------


def _images_digest(images):
    digest = hashlib.sha256()
    digest.update(str((images.shape, str(images.dtype))).encode())
    digest.update(np.ascontiguousarray(images).tobytes())
    return digest.hexdigest()


def reference_features(images, extractor, name="data", cache=True, batch_size=250,
                       progress=None):
    """The extractor's features and logits of real images, cached as `.npz`.

    The cache file is `$KERASGEN_HOME/stats/<name>-<N>x<H>x<W>x<C>-
    <extractor>-<digest>.npz`, where the digest is the first 16 hex digits
    of the sha256 of the images (so a changed dataset never reuses stale
    statistics); it holds `features`, `logits`, `mean` and `covariance`
    (float64) and is written atomically. It holds numbers only and is
    read with `allow_pickle=False`.

    Args:
        images: uint8 or float array `(N, H, W, C)`.
        extractor: a `FeatureExtractor`.
        name: str. A readable part of the file name (e.g. the dataset and
            split). Defaults to `"data"`.
        cache: bool. Whether to read and write the cache. Defaults to True.
        batch_size: int. Defaults to 250.
        progress: see `generate_samples`.

    Returns:
        A dict with `features`, `logits`, `mean`, `covariance` and `path`
        (the cache file, or None).
    """
    from kerasgen.utils.io import atomic_write

    images = np.asarray(images)
    shape = "x".join(str(d) for d in images.shape)
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(name)).strip("_") or "data"
    path = (cache_home() / "stats" /
            f"{safe}-{shape}-{extractor.name}-{_images_digest(images)[:16]}.npz")
    if cache and path.is_file():
        try:
            with np.load(path, allow_pickle=False) as stored:
                return dict({k: stored[k] for k in stored.files}, path=path)
        except (OSError, ValueError):
            pass  # unreadable: computed again and replaced below
    features, logits = extract(extractor, images, batch_size, progress, "reading real images")
    result = dict(features=features, logits=logits)
    if len(features) > 1:
        result["mean"], result["covariance"] = statistics.feature_statistics(features)
    if cache:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(path) as tmp:
            with open(tmp, "wb") as file:
                np.savez(file, **result)
    return dict(result, path=path if cache else None)


# --- Sample metrics ------------------------------------------------------------


def _check_metrics(metrics, known):
    metrics = [m.strip().lower() for m in metrics if m.strip()]
    unknown = [m for m in metrics if m not in known]
    if unknown or not metrics:
        raise ValueError(
            f"Unknown metric {', '.join(unknown) or '(none given)'}: choose from "
            f"{', '.join(known)}. Received: metrics={','.join(metrics)}")
    return metrics


def _row(metric, extractor, value, std=None):
    title = TITLES[metric]
    label = f"{title} ({extractor})" if extractor else title
    return {"metric": metric, "label": label, "extractor": extractor,
            "value": float(value), "std": None if std is None else float(std)}


def class_share_rows(fake_logits, class_names, extractor_name, labels=None):
    """Class coverage: the share of samples the extractor's classifier puts
    in each class (`metric` "class_share", `label` naming the class), and,
    for samples drawn with `labels`, the share classified as their label
    ("label_accuracy").

    Example:

    ```python
    import numpy as np
    logits = np.array([[5.0, 0.0], [5.0, 0.0], [0.0, 5.0], [5.0, 0.0]])
    rows = class_share_rows(logits, ["cat", "dog"], "demo", labels=[0, 1, 1, 0])
    [round(row["value"], 2) for row in rows]  # [0.75, 0.25, 0.75]
    ```
    """
    predicted = np.argmax(np.asarray(fake_logits), axis=-1)
    counts = np.bincount(predicted, minlength=len(class_names))
    rows = [
        {"metric": "class_share", "label": f"share judged {name} ({extractor_name})",
         "extractor": extractor_name, "class": str(name),
         "value": float(count / len(predicted)), "std": None}
        for name, count in zip(class_names, counts)
    ]
    if labels is not None:
        rows.append(_row("label_accuracy", extractor_name,
                         np.mean(predicted == np.asarray(labels))))
    return rows


def sample_metric_rows(metrics, fake_features, fake_logits, real, extractor_name,
                       kid_subsets=100, kid_subset_size=1000, seed=0, class_names=None,
                       labels=None):
    """The rows of `metrics` for fake features against `real` (a dict from
    `reference_features`); "classes" needs the extractor's `class_names`
    (and the samples' `labels` for a conditional model)."""
    rows = []
    for metric in metrics:
        if metric == "fid":
            rows.append(_row("fid", extractor_name, _fid_to_reference(fake_features, real)))
        elif metric == "kid":
            mean, std = statistics.kernel_inception_distance(
                fake_features, real["features"], kid_subsets, kid_subset_size, seed)
            rows.append(_row("kid", extractor_name, mean, std))
        elif metric == "is":
            from kerasgen.metrics.extractors import logits_to_probabilities

            mean, std = statistics.inception_score(logits_to_probabilities(fake_logits))
            rows.append(_row("is", extractor_name, mean, std))
        elif metric == "pr":
            result = statistics.precision_recall(real["features"], fake_features)
            rows += [_row("precision", extractor_name, result["precision"]),
                     _row("recall", extractor_name, result["recall"])]
        elif metric == "dc":
            result = statistics.density_coverage(real["features"], fake_features)
            rows += [_row("density", extractor_name, result["density"]),
                     _row("coverage", extractor_name, result["coverage"])]
        elif metric == "classes":
            rows += class_share_rows(fake_logits, class_names, extractor_name, labels)
    return rows


def likelihood_row(model, images, batch_size=256):
    """The row of a density model's negative log-likelihood of `images`
    (real, held-out) in bits per dimension: metric `"bpd"`, labelled as a
    bound when the family's number is one (`log_prob_is_bound`).

    Example:

    ```python
    import numpy as np
    import kerasgen
    model = kerasgen.GaussianMixture(image_size=4, components=2)
    row = likelihood_row(model, np.zeros((8, 4, 4, 1), "uint8"))
    row["label"]  # 'NLL bound (bits/dim)'
    ```
    """
    images = np.asarray(images)
    if images.dtype == np.uint8:
        images = images.astype("float32") / np.float32(127.5) - np.float32(1.0)
    value = model.bits_per_dim(images, batch_size=batch_size)
    row = _row("bpd", None, value)
    if getattr(model, "log_prob_is_bound", False):
        row["label"] = TITLES["bpd_bound"]
    data = getattr(model, "log_prob_data", "8-bit")
    if data != "8-bit":  # another unit: say so wherever the row is shown
        row["label"] = row["label"].replace("bits/dim", f"bits/dim, {data}")
        row["data"] = data
    return row


def swd_rows(real_images, fake_images, seed=0):
    """Progressive GAN's sliced Wasserstein distance (`kerasgen.metrics.swd`)
    of samples to real images: the mean over the Laplacian pyramid's
    levels (metric `"swd"`) and one row per level (`"swd_level"`).

    Example:

    ```python
    import numpy as np
    rng = np.random.default_rng(0)
    real = rng.integers(0, 256, (32, 16, 16, 1)).astype("uint8")
    [r["label"] for r in swd_rows(real, real[::-1])]
    # ['SWD x1e3 (Laplacian pyramid 16)', 'SWD x1e3 at 16 px']
    ```
    """
    from kerasgen.metrics.swd import multiscale_swd
    from kerasgen.utils.images import to_uint8

    real_images = np.asarray(real_images)
    fake_images = np.asarray(fake_images)
    if real_images.dtype == np.uint8 and fake_images.dtype != np.uint8:
        fake_images = to_uint8(fake_images)  # quantized as the real images are
    if len(real_images) == 1:
        # A model of one image (SinGAN): its patches are drawn afresh
        # against each sample's.
        real_images = np.repeat(real_images, len(fake_images), axis=0)
    n = min(len(real_images), len(fake_images))
    result = multiscale_swd(real_images[:n], fake_images[:n], seed=seed)
    levels = ", ".join(str(level) for level in result["levels"])
    rows = [dict(_row("swd", None, result["mean"]),
                 label=f"{TITLES['swd']} (Laplacian pyramid {levels})")]
    for level, value in zip(result["levels"], result["per_level"]):
        rows.append({"metric": "swd_level", "label": f"{TITLES['swd']} at {level} px",
                     "extractor": None, "level": level, "value": float(value), "std": None})
    return rows


def _fid_to_reference(fake_features, real):
    """FID of fake features to `real` (from `reference_features`), on the
    real side's cached mean and covariance; both sets must have more
    samples than dimensions (`check_sample_count`)."""
    for name, count in (("samples", len(fake_features)), ("real images", len(real["features"]))):
        if count <= fake_features.shape[1]:
            raise ValueError(
                f"FID needs more {name} than the {fake_features.shape[1]} feature "
                f"dimensions. Received: {count} {name}")
    return statistics.frechet_distance(*statistics.feature_statistics(fake_features),
                                       real["mean"], real["covariance"])


def check_sample_count(n, extractor, metrics):
    """A one-line `ValueError` when `n` samples cannot give the metrics on
    this extractor (FID needs more samples than feature dimensions)."""
    if "fid" in metrics and n <= extractor.feature_dim:
        raise ValueError(
            f"FID ({extractor.name}) needs more samples than its "
            f"{extractor.feature_dim} feature dimensions (a covariance of "
            f"fewer is singular): pass --n {extractor.feature_dim + 1} or more. "
            f"Received: n={n}")
    if "is" in metrics and n < 10:
        raise ValueError(f"IS splits the samples in 10: pass --n 10 or more. Received: n={n}")


def evaluate_samples(model, real_images, metrics=("fid", "kid"), n=10000, extractor=None,
                     seed=0, batch_size=250, data_name="data", cache=True, progress=None):
    """Sample-quality metrics of a latent generator against real images.

    Draws `n` samples (`generate_samples`), reads them and the first `n`
    real images with the extractor, and computes the metrics.

    Args:
        model: a model that provides `sample`.
        real_images: uint8 or float array `(N, H, W, C)`, the real data.
        metrics: names from `SAMPLE_METRICS`. Defaults to `("fid", "kid")`.
        n: int. Samples (and at most as many real images). Defaults to
            10000.
        extractor: a name from `EXTRACTOR_NAMES`, a `FeatureExtractor`, or
            None for `default_extractor` of the model's images.
        seed: int. Latents and KID's subsets. Defaults to 0.
        batch_size: int. Defaults to 250.
        data_name: str. Names the real data in the cache and the settings.
        cache: bool. Cache the real features. Defaults to True.
        progress: see `generate_samples`.

    Returns:
        A dict: `rows` (one per number: `metric`, `label` such as
        `"FID (lenet-mnist)"`, `extractor`, `value`, `std`) and `settings`.

    Example:

    ```python
    import kerasgen
    from kerasgen.data import load_images
    model = kerasgen.DCGAN(image_size=8, latent_dim=4, generator_filters=4,
                           discriminator_filters=4)
    real = load_images(image_size=8, max_images=200).images
    result = evaluate_samples(model, real, ["fid"], n=200, cache=False)
    result["rows"][0]["label"]  # "FID (lenet-mnist)"
    ```
    """
    from kerasgen.metrics.extractors import load_extractor

    metrics = _check_metrics(metrics, SAMPLE_METRICS)
    real_images = np.asarray(real_images)
    if "bpd" in metrics:
        from kerasgen.models.interfaces import require

        require(model, "log_prob", hint="bpd is the negative log-likelihood of "
                "the real images, for the families that give one.")
    sample_metrics = [m for m in metrics if m not in PIXEL_METRICS]
    if not sample_metrics:
        start = time.time()
        rows = []
        if "swd" in metrics:
            fakes = generate_samples(model, int(n), seed, batch_size, progress)
            rows += swd_rows(real_images[:int(n)], fakes, seed)
        if "bpd" in metrics:
            rows.append(likelihood_row(model, real_images[:int(n)], batch_size=batch_size))
        settings = {"model": type(model).__name__, "metrics": metrics, "n": int(n),
                    "real_images": int(min(int(n), len(real_images))), "data": data_name,
                    "seed": seed, "batch_size": batch_size,
                    "seconds": round(time.time() - start, 2)}
        return {"rows": rows, "settings": settings}
    if extractor is None:
        extractor = default_extractor(real_images.shape[1:])
    if isinstance(extractor, str):
        extractor = load_extractor(extractor)
    rate = getattr(model, "sample_rate", None)
    if extractor.is_audio and rate and int(rate) != extractor.sample_rate:
        raise ValueError(
            f"{extractor.name} reads audio at {extractor.sample_rate} Hz and this "
            f"{type(model).__name__} makes it at {rate} Hz: measure it with an "
            f"extractor of its rate. Received: extractor={extractor.name}")
    n = int(n)
    check_sample_count(min(n, len(real_images)), extractor, metrics)
    start = time.time()
    real = reference_features(real_images[:n], extractor, f"{data_name}-n{n}", cache,
                              batch_size, progress)
    fakes = generate_samples(model, n, seed, batch_size, progress)
    fake_features, fake_logits = extract(extractor, fakes, batch_size, progress,
                                         "reading samples")
    if "classes" in metrics and not extractor.classes:
        raise ValueError(f"The {extractor.name} extractor has no classes to count "
                         f"samples in. Received: metrics={','.join(metrics)}")
    rows = sample_metric_rows(sample_metrics, fake_features, fake_logits, real,
                              extractor.name, seed=seed, class_names=extractor.classes,
                              labels=sample_labels(model, n))
    if "swd" in metrics:
        rows += swd_rows(real_images[:n], fakes, seed)
    if "bpd" in metrics:
        rows.append(likelihood_row(model, real_images[:n], batch_size=batch_size))
    settings = {
        "model": type(model).__name__, "metrics": metrics, "n": n,
        "real_images": int(min(n, len(real_images))), "data": data_name,
        "extractor": extractor.name, "seed": seed, "batch_size": batch_size,
        "kid": {"subsets": 100, "subset_size": 1000},
        "precision_recall_k": 3, "density_coverage_k": 5, "is_splits": 10,
        "reference_cache": None if real["path"] is None else str(real["path"]),
        "seconds": round(time.time() - start, 2),
    }
    return {"rows": rows, "settings": settings}


def evaluate_real(images, reference_images, metrics=("fid",), extractor=None, seed=0,
                  batch_size=250, data_name="data", cache=True):
    """The sample metrics of real data read as if it were samples: what a
    generator that reproduced the data would score (the upper bound beside
    a model's numbers, e.g. the training recordings against the test ones).

    Args:
        images: array `(N, ...)`, the "samples" (real data).
        reference_images: array `(M, ...)`, the real data they are compared
            with (held out).
        metrics: names from `SAMPLE_METRICS` but the pixel ones. Defaults
            to `("fid",)`.
        extractor: a name or a `FeatureExtractor`; None for
            `default_extractor` of the images.
        seed, batch_size, data_name, cache: as in `evaluate_samples`.

    Returns:
        A dict with `rows` and `settings`, as `evaluate_samples`.

    Example:

    ```python
    from kerasgen.data import load_images
    real = load_images(image_size=8, max_images=400).images
    rows = evaluate_real(real[:200], real[200:], ["fid"], cache=False)["rows"]
    rows[0]["label"]  # 'FID (lenet-mnist)'
    ```
    """
    from kerasgen.metrics.extractors import load_extractor

    metrics = _check_metrics(metrics, [m for m in SAMPLE_METRICS if m not in PIXEL_METRICS])
    images, reference_images = np.asarray(images), np.asarray(reference_images)
    if extractor is None:
        extractor = default_extractor(images.shape[1:])
    if isinstance(extractor, str):
        extractor = load_extractor(extractor)
    check_sample_count(min(len(images), len(reference_images)), extractor, metrics)
    start = time.time()
    real = reference_features(reference_images, extractor, data_name, cache, batch_size)
    # In a random order, as samples come: IS scores splits of consecutive
    # samples, and a dataset sorted by class would give each split one class.
    images = images[np.random.default_rng(seed).permutation(len(images))]
    features, logits = extract(extractor, images, batch_size)
    rows = sample_metric_rows(metrics, features, logits, real, extractor.name, seed=seed,
                              class_names=extractor.classes)
    settings = {"metrics": metrics, "n": int(len(images)),
                "real_images": int(len(reference_images)), "data": data_name,
                "extractor": extractor.name, "seed": seed,
                "seconds": round(time.time() - start, 2)}
    return {"rows": rows, "settings": settings}


# --- Translation metrics ---------------------------------------------------------


def evaluate_translation(model, inputs, targets, metrics=None, direction="a2b",
                         extractor=None, target_class=None, batch_size=32, seed=0,
                         data_name="data", cache=True, progress=None):
    """Translation metrics on held-out images.

    - `paired=True` models (pix2pix): `targets[i]` is the ground truth of
      `inputs[i]`; `l1`, `psnr` and `ssim` compare the translations with
      it, in [-1, 1] units (L1) and on [0, 1] images (PSNR, SSIM).
    - unpaired models (CycleGAN): `targets` are real images of the target
      domain; `domain` is the share of translations a domain classifier
      assigns to it (the classifier's classes are `[A, B]`, so the target
      of `"a2b"` is its second class unless `target_class` says), and
      `fid` the Frechet distance of the translations' features to the
      targets'.

    Args:
        model: a model that provides `translate`.
        inputs: uint8 or float images `(N, H, W, C)`.
        targets: uint8 or float images: ground truth (paired) or target
            domain images (unpaired).
        metrics: names from `TRANSLATION_METRICS`, or None: `l1, psnr,
            ssim` when paired, `domain, fid` when not.
        direction: `"a2b"` or `"b2a"`. Defaults to `"a2b"`.
        extractor: the domain classifier / feature extractor (a name or a
            `FeatureExtractor`); needed for `domain` and `fid`.
        target_class: int or None. Index of the target domain among the
            classifier's classes.
        batch_size: int. Defaults to 32.
        seed: int. Defaults to 0.
        data_name: str. Names the data in the cache and settings.
        cache: bool. Defaults to True.
        progress: see `generate_samples`.

    Returns:
        A dict with `rows` and `settings`, as `evaluate_samples`.
    """
    from kerasgen.data import to_unit_range
    from kerasgen.metrics.extractors import load_extractor, logits_to_probabilities
    from kerasgen.models.interfaces import require

    require(model, "translate")
    paired = bool(getattr(model, "paired", False))
    if metrics is None:
        metrics = ("l1", "psnr", "ssim") if paired else ("domain", "fid")
    metrics = _check_metrics(metrics, TRANSLATION_METRICS)

    def as_float(images):
        images = np.asarray(images)
        return to_unit_range(images) if images.dtype == np.uint8 else images.astype("float32")

    inputs, targets = as_float(inputs), as_float(targets)
    if paired and any(m in metrics for m in ("l1", "psnr", "ssim")) and len(inputs) != len(targets):
        raise ValueError(f"Paired metrics need one target per input. Received: "
                         f"{len(inputs)} inputs, {len(targets)} targets")
    start = time.time()
    translated = []
    progress = progress or _progress_none
    with progress("translating", len(inputs)) as bar:
        for i in range(0, len(inputs), batch_size):
            translated.append(np.clip(model.translate(inputs[i:i + batch_size], direction,
                                                      batch_size=batch_size), -1, 1))
            bar.update(len(translated[-1]))
    translated = np.concatenate(translated)
    rows = []
    if "l1" in metrics:
        rows.append(_row("l1", None, translation.mean_absolute_error(translated, targets)))
    if "psnr" in metrics:
        rows.append(_row("psnr", None, translation.psnr(translated, targets, max_value=2.0)))
    if "ssim" in metrics:
        rows.append(_row("ssim", None, translation.ssim(
            (translated + 1) / 2, (targets + 1) / 2, max_value=1.0)))
    name = None
    if "domain" in metrics or "fid" in metrics:
        if extractor is None:
            raise ValueError("The domain and fid metrics need a classifier: pass "
                             "--extractor (e.g. catdog-classifier-64).")
        if isinstance(extractor, str):
            extractor = load_extractor(extractor)
        name = extractor.name
        if "fid" in metrics:
            check_sample_count(min(len(translated), len(targets)), extractor, ["fid"])
        fake_features, fake_logits = extract(extractor, translated, batch_size, progress,
                                             "reading translations")
        if "domain" in metrics:
            if target_class is None:
                target_class = len(extractor.classes) - 1 if direction == "a2b" else 0
            p = logits_to_probabilities(fake_logits)[:, int(target_class)]
            rows.append(_row("domain", name, translation.target_domain_share(p)))
            rows[-1]["label"] = (f"judged {extractor.classes[int(target_class)]} "
                                 f"({name})")
        if "fid" in metrics:
            real = reference_features(targets, extractor, f"{data_name}-targets", cache,
                                      batch_size, progress)
            rows.append(_row("fid", name, _fid_to_reference(fake_features, real)))
    settings = {
        "model": type(model).__name__, "metrics": metrics, "direction": direction,
        "inputs": int(len(inputs)), "targets": int(len(targets)), "data": data_name,
        "extractor": name, "target_class": target_class, "paired": paired,
        "psnr_ssim_range": "[0, 1] (L1 in [-1, 1] units)", "seed": seed,
        "seconds": round(time.time() - start, 2),
    }
    return {"rows": rows, "settings": settings}


# --- Swap metrics -------------------------------------------------------------------


def evaluate_swaps(model, images, metrics=SWAP_METRICS, seed=0, data_name="data"):
    """A swapping autoencoder on held-out images, as its paper measures it
    (section 4.1): the realism of swaps, and the fidelity of
    reconstructions.

    - `swd`: SWD (`swd_rows`) of the swaps to the real images, where swap
      i has the structure of image i and the texture of image i + n/2
      (mod n), as the model trained;
    - `l1`, `psnr`, `ssim`: G(E(x)) against x, in [-1, 1] units (L1) and on
      [0, 1] images (PSNR, SSIM).

    Args:
        model: a model that provides `swap` (and `reconstruct`).
        images: uint8 or float images `(N, H, W, C)`, N >= 2.
        metrics: names from `SWAP_METRICS`. Defaults to all.
        seed: int. The SWD's random projections. Defaults to 0.
        data_name: str. Names the data in the settings.

    Returns:
        A dict with `rows` and `settings`, as `evaluate_samples`.

    Example:

    ```python
    # rows = evaluate_swaps(kerasgen.load("swapae-celeba64"), faces)["rows"]
    ```
    """
    from kerasgen.data import to_unit_range
    from kerasgen.models.interfaces import require
    from kerasgen.utils.images import to_uint8

    require(model, "swap")
    metrics = _check_metrics(metrics, SWAP_METRICS)
    images = np.asarray(images)
    real = to_unit_range(images) if images.dtype == np.uint8 else images.astype("float32")
    if len(real) < 2:
        raise ValueError(f"Swaps need two images or more. Received: {len(real)} images")
    start = time.time()
    rows = []
    if "swd" in metrics:
        swapped = model.swap(real, np.roll(real, len(real) // 2, axis=0))
        for row in swd_rows(to_uint8(real), swapped, seed=seed):
            row["label"] = row["label"].replace(TITLES["swd"], f"{TITLES['swd']} of swaps", 1)
            rows.append(row)
    if any(m in metrics for m in ("l1", "psnr", "ssim")):
        reconstructed = model.reconstruct(real)  # batched by the model
        values = {
            "l1": lambda: translation.mean_absolute_error(reconstructed, real),
            "psnr": lambda: translation.psnr(reconstructed, real, max_value=2.0),
            "ssim": lambda: translation.ssim((reconstructed + 1) / 2, (real + 1) / 2,
                                             max_value=1.0)}
        for metric in ("l1", "psnr", "ssim"):
            if metric in metrics:
                row = _row(metric, None, values[metric]())
                row["label"] = f"reconstruction {row['label']}"
                rows.append(row)
    settings = {"model": type(model).__name__, "metrics": metrics, "images": int(len(real)),
                "data": data_name, "texture_of": "image i + n/2 (mod n)",
                "psnr_ssim_range": "[0, 1] (L1 in [-1, 1] units)", "seed": seed,
                "seconds": round(time.time() - start, 2)}
    return {"rows": rows, "settings": settings}


# --- Presenting -------------------------------------------------------------------


def format_table(result):
    """The rows as a small text table, the extractor named in each label.

    Example:

    ```python
    print(format_table({"rows": [{"label": "FID (lenet-mnist)", "value": 1.5,
                                  "std": None}]}))
    # FID (lenet-mnist)  1.5000
    ```
    """
    rows = result["rows"]
    width = max((len(r["label"]) for r in rows), default=0)
    lines = []
    for r in rows:
        value = f"{r['value']:.4f}" + (f" ± {r['std']:.4f}" if r.get("std") is not None else "")
        lines.append(f"{r['label']:<{width}}  {value}")
    return "\n".join(lines)


def to_json(result):
    """The result as JSON text (infinities as strings, which JSON lacks)."""
    def clean(value):
        if isinstance(value, float) and not np.isfinite(value):
            return str(value)
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value
    return json.dumps(clean(result), indent=2) + "\n"
