"""The truncation trick: trading variety for fidelity.

Samples drawn from the middle of the latent distribution look better and
vary less than samples from its tails. Two ways to stay in the middle,
written once against the latent interface:

- `truncate(latents, psi, mean)`: pull each latent toward the mean latent,
  `mean + psi (latent - mean)` (StyleGAN's psi: 1 is no truncation, 0 the
  mean latent, the "average image"). In Z the mean is the prior's, 0; in
  StyleGAN2's W (`model.w_space(psi=1)`) it is the mean of w = f(z),
  estimated from samples (`mean_latent`).
- `resample_beyond(latents, threshold)`: BigGAN's truncation trick, which
  redraws every component of z ~ N(0, I) whose magnitude exceeds the
  threshold until it lies inside (a truncated normal).

`Truncated(model, psi=..., threshold=...)` is a model with the latent
interface whose `sample_latents` is truncated and whose `decode` is the
model's, so every tool and metric written against that interface measures
the truncated model: `truncation_sweep` draws the precision/recall curve
(Kynkaanniemi et al. 2019: precision, the fidelity, rises as psi falls,
recall, the variety, falls).
"""

import numbers

import numpy as np

from kerasgen.latent.interpolation import _latent_shape
from kerasgen.latent.interpolation import refuse_shape
from kerasgen.utils.arguments import is_count
from kerasgen.utils.arguments import refuse

#: How many latents `mean_latent` averages by default.
MEAN_SAMPLES = 10000


def _check_psi(owner, psi):
    if (isinstance(psi, bool) or not isinstance(psi, numbers.Real)
            or not np.isfinite(float(psi))):
        refuse(owner, "psi", psi, "a finite number (1: no truncation, 0: the mean latent)")
    return float(psi)


def truncate(latents, psi, mean=None):
    """Latents pulled toward the mean: `mean + psi (latents - mean)`.

    Args:
        latents: array `(n,) + latent_shape` (or one latent).
        psi: float. 1 returns the latents unchanged, 0 the mean latent for
            every one of them, exactly; in between, the truncation trick;
            beyond 1 (or below 0) an exaggeration (or its opposite).
        mean: array of one latent's shape, or None for 0 (the mean of the
            N(0, I) prior). Defaults to None.

    Returns:
        float32 numpy of the latents' shape.

    Example:

    ```python
    import numpy as np
    z = np.array([[2.0, -4.0], [1.0, 1.0]], "float32")
    truncate(z, 0.5).tolist()  # [[1.0, -2.0], [0.5, 0.5]]
    truncate(z, 0.0, mean=[1.0, 2.0]).tolist()  # [[1.0, 2.0], [1.0, 2.0]]
    ```
    """
    psi = _check_psi("truncate", psi)
    latents = np.asarray(latents, dtype="float32")
    if mean is None:
        mean = np.zeros((), "float32")
    mean = np.asarray(mean, dtype="float32")
    try:
        np.broadcast_shapes(mean.shape, latents.shape)
    except ValueError:
        refuse_shape("truncate", "mean", mean.shape,
                     f"one latent, of the shape of the latents' {latents.shape[1:]}")
    if psi == 1.0:
        return latents.copy()
    if psi == 0.0:
        return np.broadcast_to(mean, np.broadcast_shapes(mean.shape, latents.shape)).copy()
    return (mean + np.float32(psi) * (latents - mean)).astype("float32")


def resample_beyond(latents, threshold, seed=None, max_rounds=10000):
    """BigGAN's truncation trick: every component of N(0, I) latents whose
    magnitude exceeds `threshold` is drawn again from N(0, 1) until it is
    inside, so the result follows a normal truncated to [-threshold,
    threshold] (Brock et al. 2019, section 3.1).

    Args:
        latents: array of N(0, I) draws, any shape.
        threshold: float > 0.
        seed: int or None. The redraws' seed. Defaults to None.
        max_rounds: int. A guard: a threshold this small (some 1e-5) is
            refused rather than drawn forever. Defaults to 10000.

    Returns:
        float32 numpy of the latents' shape; components already inside are
        unchanged.

    Example:

    ```python
    import numpy as np
    z = np.array([[0.5, -3.0, 2.5]], "float32")
    out = resample_beyond(z, 1.0, seed=0)
    float(out[0, 0]), bool(np.abs(out).max() <= 1.0)  # (0.5, True)
    ```
    """
    if (isinstance(threshold, bool) or not isinstance(threshold, numbers.Real)
            or not threshold > 0 or not np.isfinite(threshold)):
        refuse("resample_beyond", "threshold", threshold, "a finite number > 0")
    out = np.array(latents, dtype="float32", copy=True)
    rng = np.random.default_rng(seed)
    for _ in range(int(max_rounds)):
        outside = np.abs(out) > threshold
        count = int(outside.sum())
        if not count:
            return out
        out[outside] = rng.standard_normal(count).astype("float32")
    refuse("resample_beyond", "threshold", threshold,
           f"large enough to draw inside it in {max_rounds} rounds")


def mean_latent(model, n=MEAN_SAMPLES, seed=0):
    """The mean of `n` latents the model samples: StyleGAN's w-bar in W
    (`model.w_space(psi=1.0)`), about 0 in an N(0, I) Z.

    Example:

    ```python
    import kerasgen
    model = kerasgen.DCGAN(image_size=8, latent_dim=4, generator_filters=4,
                           discriminator_filters=4)
    mean_latent(model, n=100).shape  # (4,)
    ```
    """
    if not is_count(n, minimum=1):
        refuse("mean_latent", "n", n, "an int >= 1")
    return np.asarray(model.sample_latents(int(n), seed), "float64").mean(axis=0).astype(
        "float32")


def _standard_normal_prior(model):
    """Whether the model samples its latents with the latent interface's own
    N(0, I) `sample_latents` (the mean latent is then 0)."""
    from kerasgen.models.interfaces import LatentGenerator

    method = getattr(type(model), "sample_latents", None)
    return isinstance(model, LatentGenerator) and method is LatentGenerator.sample_latents


class Truncated:
    """A model whose samples are truncated: the latent interface, with
    `sample_latents` drawing the model's latents and truncating them, and
    `decode` the model's own. Anything written against the interface
    (`evaluate_samples`, the latent tools, the CLI) takes it in place of
    the model.

    Args:
        model: anything with the latent interface (a GAN, a VAE,
            `StyleGAN2.w_space(psi=1.0)`...).
        psi: float or None. `truncate` toward `mean`; None (or 1): no pull.
        threshold: float or None. `resample_beyond` first (latents of an
            N(0, I) prior only); None: no redraw.
        mean: array of one latent, or None: 0 for a model whose latents
            are N(0, I) (the latent interface's own `sample_latents`), else
            `mean_latent(model)` (10,000 samples, seed 0).

    Example:

    ```python
    import kerasgen
    model = kerasgen.DCGAN(image_size=8, latent_dim=4, generator_filters=4,
                           discriminator_filters=4)
    flat = Truncated(model, psi=0.0)
    flat.sample_latents(2, seed=1).tolist()  # [[0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]]
    flat.sample(3, seed=1).shape  # (3, 8, 8, 1)
    ```
    """

    def __init__(self, model, psi=None, threshold=None, mean=None):
        from kerasgen.models.interfaces import provides
        from kerasgen.models.interfaces import require

        require(model, "decode", hint="Truncation needs a model with latents to decode.")
        self.model = model
        self.psi = 1.0 if psi is None else _check_psi("Truncated", psi)
        if threshold is not None:
            if (isinstance(threshold, bool) or not isinstance(threshold, numbers.Real)
                    or not threshold > 0 or not np.isfinite(threshold)):
                refuse("Truncated", "threshold", threshold, "a finite number > 0, or None")
            if not _standard_normal_prior(model):
                refuse("Truncated", "threshold", threshold,
                       f"None for a {type(model).__name__}, whose latents are not "
                       "drawn from N(0, I) (resampling is for such latents; use psi)")
        self.threshold = threshold
        if mean is None and self.psi != 1.0:
            mean = (np.zeros(_latent_shape(model), "float32")
                    if _standard_normal_prior(model) else mean_latent(model))
        self.mean = None if mean is None else np.asarray(mean, "float32")
        self.interfaces = ("sample_latents", "decode", "sample") + (
            ("encode",) if provides(model, "encode") else ())

    def __repr__(self):
        return (f"Truncated({type(self.model).__name__}, psi={self.psi}, "
                f"threshold={self.threshold})")

    @property
    def latent_dim(self):
        return self.model.latent_dim

    @property
    def latent_shape(self):
        return _latent_shape(self.model)

    @property
    def num_classes(self):
        return int(getattr(self.model, "num_classes", 0) or 0)

    def sample_latents(self, n, seed=None):
        """The model's latents of `seed`, redrawn beyond the threshold,
        then pulled toward the mean by psi (float32 numpy)."""
        latents = np.asarray(self.model.sample_latents(n, seed), "float32")
        if self.threshold is not None:
            redraw = None if seed is None else np.random.SeedSequence([int(seed), 1])
            latents = resample_beyond(latents, self.threshold, seed=redraw)
        if self.psi != 1.0:
            latents = truncate(latents, self.psi, self.mean)
        return latents

    def check_labels(self, labels, n):
        from kerasgen.models.interfaces import check_labels

        return check_labels(self.model, labels, n)

    def decode(self, latents, labels=None, **kwargs):
        """The model's `decode`."""
        return self.model.decode(latents, labels, **kwargs)

    def decode_tensor(self, latents, labels=None):
        """The model's `decode_tensor` (for `kerasgen.latent.inversion`)."""
        return self.model.decode_tensor(latents, labels)

    def encode(self, *args, **kwargs):
        """The model's `encode`, where it has one."""
        return self.model.encode(*args, **kwargs)

    def sample(self, n, seed=None, labels=None):
        """`n` truncated samples in [-1, 1]."""
        return self.decode(self.sample_latents(n, seed), self.check_labels(labels, n))

    def data_spec(self):
        return self.model.data_spec()


def truncation_sweep(model, real_images, psis=(0.0, 0.5, 0.7, 1.0), n=1000, extractor=None,
                     seed=0, metrics=("pr",), threshold=None, mean=None, batch_size=250,
                     data_name="data", cache=True):
    """Precision and recall (and FID) of the model truncated at each psi,
    against real images (`evaluate_samples` of `Truncated(model, psi)`):
    the fidelity/variety trade-off as a table.

    Args:
        model: anything with the latent interface.
        real_images: uint8 or float images `(N, H, W, C)`.
        psis: floats. Defaults to `(0.0, 0.5, 0.7, 1.0)`.
        n: int. Samples per psi, and at most as many real images. Defaults
            to 1000.
        extractor: a name or `FeatureExtractor`; None for the default of
            the images (`default_extractor`).
        seed: int. The same latents at every psi. Defaults to 0.
        metrics: names from `("pr", "fid", "dc", "kid")`. Defaults to
            `("pr",)`; FID needs `n` above the extractor's feature
            dimensions (128 for `lenet-mnist`).
        threshold, mean: see `Truncated`.
        batch_size, data_name, cache: see `evaluate_samples`.

    Returns:
        A list of dicts, one per psi: `psi`, `precision`, `recall` (and
        `fid`, `density`, `coverage`, `kid` where asked), `extractor`, `n`.

    Example:

    ```python
    import kerasgen
    from kerasgen.data import load_images
    model = kerasgen.DCGAN(image_size=8, latent_dim=4, generator_filters=4,
                           discriminator_filters=4)
    real = load_images(image_size=8, max_images=100).images
    rows = truncation_sweep(model, real, psis=(0.5, 1.0), n=100, cache=False)
    [row["psi"] for row in rows], sorted(rows[0])
    # ([0.5, 1.0], ['extractor', 'n', 'precision', 'psi', 'recall'])
    ```
    """
    from kerasgen.metrics.evaluate import evaluate_samples
    from kerasgen.metrics.extractors import load_extractor

    psis = list(np.atleast_1d(np.asarray(psis, dtype=object)))
    if not psis:
        refuse("truncation_sweep", "psis", psis, "a non-empty sequence of numbers")
    psis = [_check_psi("truncation_sweep", p) for p in psis]
    metrics = [m for m in metrics]
    if not metrics or any(m not in ("pr", "fid", "dc", "kid") for m in metrics):
        refuse("truncation_sweep", "metrics", metrics, "names from ('pr', 'fid', 'dc', 'kid')")
    if isinstance(extractor, str):
        extractor = load_extractor(extractor)
    if mean is None and not _standard_normal_prior(model) and any(p != 1.0 for p in psis):
        mean = mean_latent(model)  # estimated once for every psi
    rows = []
    for psi in psis:
        result = evaluate_samples(Truncated(model, psi, threshold, mean), real_images, metrics,
                                  n=n, extractor=extractor, seed=seed, batch_size=batch_size,
                                  data_name=data_name, cache=cache)
        row = {"psi": psi}
        for entry in result["rows"]:
            row[entry["metric"]] = entry["value"]
        row["extractor"] = result["settings"]["extractor"]
        row["n"] = result["settings"]["n"]
        rows.append(row)
    return rows
