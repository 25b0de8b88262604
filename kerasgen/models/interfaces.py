"""What a family consumes and produces, and the interfaces it provides.

Metrics, latent tools, the exporter and the CLI are written once against
these, never against a family:

- **Latent interface** (`LatentGenerator`): `sample_latents(n, seed)`,
  `decode(latents, labels=None)` (latents to images in [-1, 1]) and
  `sample(n, seed, labels)`. A family supplies `decode_tensor`, one
  `keras.ops` function that both `decode` and the exported `generate`
  signatures run.
- **Sampling without a latent space** (`Sampler`): `sample(n, seed,
  labels)` only (PixelCNN, a Gaussian mixture, Naive Bayes).
- **Density interface** (`DensityModel`): `log_prob(images, labels=None)`,
  the log-probability in nats of each 8-bit image (exact, or a lower bound
  for a VAE's ELBO and a dequantized density), and `bits_per_dim`; exported
  as a `log_prob` signature. A family supplies `log_prob_tensor`.
- **Swapping** (`swap(structure_images, texture_images)`): the swapping
  autoencoder's images with the structure of one and the texture of another.
- **Translation interface** (`kerasgen.models.image_translation.base.
  ImageTranslation`): `translate(images, direction)`.

A family says which it provides in its `interfaces` (the mixins set it), and
`provides(model, "translate")` asks. Its `data_spec()` says what `fit()`
takes (`DataSpec`): images (with or without labels), aligned or unaligned
image pairs, or 1-D waveforms; the loaders and sample writers follow it.
"""

import dataclasses
from typing import Optional, Tuple

import numpy as np
from keras import ops

from kerasgen.models.serving import Endpoint
from kerasgen.models.serving import Input
from kerasgen.models.serving import seeded_normal

#: Every interface name a family may declare.
INTERFACES = ("sample_latents", "decode", "sample", "encode", "translate", "log_prob",
              "mix", "inject", "swap")
#: What a family's `fit()` consumes.
DATA_KINDS = ("images", "paired_images", "unpaired_images", "waveforms", "vectors")


@dataclasses.dataclass(frozen=True)
class DataSpec:
    """What a family trains on and produces.

    Args:
        kind: str. `"images"` (batches of images, or `(images, labels)`),
            `"paired_images"` (aligned `(inputs, targets)`),
            `"unpaired_images"` (`(images_a, images_b)`) or `"waveforms"`
            (`(n, length, channels)` audio in [-1, 1]) or `"vectors"`
            (`(n, dim)` features, such as another model's latents).
        shape: tuple. One example's shape: `(H, W, C)` for images,
            `(length, channels)` for waveforms.
        num_classes: int. Classes of the labels the batches carry; 0 for
            none. Defaults to 0.
        direction: str or None. Paired families: which half of a pair is
            the input (`"a2b"` or `"b2a"`). Defaults to None.
        sample_rate: int or None. Waveforms: samples per second. Defaults to
            None.

    Example:

    ```python
    spec = DataSpec("images", (28, 28, 1), num_classes=10)
    spec.image_size, spec.channels, spec.with_labels  # (28, 1, True)
    ```
    """

    kind: str
    shape: Tuple[int, ...]
    num_classes: int = 0
    direction: Optional[str] = None
    sample_rate: Optional[int] = None

    def __post_init__(self):
        if self.kind not in DATA_KINDS:
            raise ValueError(
                f"`kind` is one of {DATA_KINDS}. Received: kind={self.kind!r}"
            )
        object.__setattr__(self, "shape", tuple(int(d) for d in self.shape))

    @property
    def with_labels(self):
        return self.num_classes > 0

    @property
    def is_image(self):
        return self.kind not in ("waveforms", "vectors")

    @property
    def pairing(self):
        """`"paired"`, `"unpaired"` or None (not an image-pair family)."""
        return {"paired_images": "paired", "unpaired_images": "unpaired"}.get(self.kind)

    @property
    def image_size(self):
        """The side of square images, else `(height, width)`."""
        self._require_images("image_size")
        height, width = self.shape[0], self.shape[1]
        return height if height == width else (height, width)

    @property
    def channels(self):
        return self.shape[-1]

    def _require_images(self, what):
        if not self.is_image:
            raise ValueError(
                f"`{what}` is a property of image data. Received: kind={self.kind!r}"
            )


def provides(model, interface):
    """Whether `model` (or a family class) declares `interface`.

    Example:

    ```python
    import kerasgen
    provides(kerasgen.DCGAN, "sample"), provides(kerasgen.DCGAN, "translate")
    # (True, False)
    ```
    """
    if interface not in INTERFACES:
        raise ValueError(
            f"Unknown interface. Expected one of {INTERFACES}. "
            f"Received: interface={interface!r}"
        )
    return interface in getattr(model, "interfaces", ())


def require(model, interface, hint=""):
    """Raises a one-line `ValueError` unless `model` provides `interface`.

    Example:

    ```python
    import kerasgen
    require(kerasgen.VAE, "decode")  # passes
    ```
    """
    if not provides(model, interface):
        name = model.__name__ if isinstance(model, type) else type(model).__name__
        offered = ", ".join(getattr(model, "interfaces", ())) or "none"
        raise ValueError(
            f"{name} does not provide `{interface}` (it provides: {offered})."
            f"{' ' + hint if hint else ''} Received: a {name}"
        )


def check_labels(model, labels, n):
    """`labels` as int32 `(n,)` for `model` (its `num_classes`), None for
    an unconditional model.

    None gives a conditional model one block per class in class-major
    order (`label_i = i * K // n`), so a grid of `n // K` images per row
    has one row per class; an int gives `n` images of that class.

    Example:

    ```python
    import kerasgen
    model = kerasgen.ConditionalGAN(image_size=8, latent_dim=4, num_classes=2)
    check_labels(model, None, 4)  # array([0, 0, 1, 1], dtype=int32)
    ```
    """
    k = int(getattr(model, "num_classes", 0) or 0)
    if not k:
        if labels is not None:
            raise ValueError(
                f"{type(model).__name__} is unconditional (num_classes=0); "
                f"it takes no labels. Received: labels={labels!r}"
            )
        return None
    if labels is None:
        return (np.arange(n) * k // max(n, 1)).astype("int32")
    array = np.asarray(labels)
    if array.ndim == 0:
        array = np.full((n,), array)
    if array.shape != (n,):
        raise ValueError(
            f"Pass one label per sample ({n}). Received: labels of shape "
            f"{array.shape}"
        )
    if array.dtype.kind not in "iu" and not (
        array.dtype.kind == "f" and np.all(array == np.round(array))
    ):
        raise ValueError(f"Labels must be integers. Received: labels={labels!r}")
    if array.size and (array.min() < 0 or array.max() > k - 1):
        raise ValueError(
            f"Labels must be in [0, {k - 1}] (num_classes={k}). "
            f"Received: labels with min {array.min()} and max {array.max()}"
        )
    return array.astype("int32")


class Sampler:
    """Mixin of the families that sample without a latent space to decode
    from (PixelCNN, a Gaussian mixture, Naive Bayes): the family writes
    `sample(n, seed=None, labels=None)`, images in [-1, 1] as float32
    numpy, the same for the same seed on every backend, and reads its
    labels with `check_labels`."""

    interfaces = ("sample",)
    serving_default = "generate_from_seed"
    #: Keyword arguments `sample` takes beyond n, seed and labels (offered
    #: as `kerasgen sample --NAME`); none by default.
    sample_options = ()

    def check_labels(self, labels, n):
        """See `kerasgen.models.interfaces.check_labels`."""
        return check_labels(self, labels, n)


class DensityModel:
    """Mixin of the families that give probabilities to images.

    The family writes `log_prob_tensor(images, labels, noise)`: the
    log-probability in nats of each 8-bit image of a batch (images in
    [-1, 1] as loaded, labels int32 or None), in `keras.ops`, networks in
    inference mode; `noise` (uniform in [0, 1), the images' shape) is the
    dequantization noise of a family with a density on continuous pixels
    (`kerasgen.losses.likelihood`), ignored by a discrete one. It sets
    `log_prob_is_bound` when the number is a lower bound (an ELBO, or a
    dequantized density). A conditional family asked without labels gives
    the marginal, `log (1/K) sum_y P(x | y)`.
    """

    interfaces = ("log_prob",)
    #: True when `log_prob` is a lower bound on log P(x), not its value.
    log_prob_is_bound = False
    #: What `log_prob` is a probability of: `"8-bit"` images, or
    #: `"binarized"` ones (a Bernoulli model of pixels on or off), whose
    #: bits per dimension do not compare with 8-bit ones.
    log_prob_data = "8-bit"
    #: Whether the exported `log_prob` passes noise 0.5 (the middle of each
    #: bin); False passes None, for a family whose noise needs ops the
    #: TFLite builtins lack (it then picks its own deterministic value).
    serve_with_noise = True

    def log_prob_tensor(self, images, labels=None, noise=None):
        raise NotImplementedError(
            f"{type(self).__name__} must implement log_prob_tensor()."
        )

    def _density_shape(self):
        return tuple(self.data_spec().shape)

    def log_prob(self, images, labels=None, seed=0, batch_size=256):
        """log P(x) in nats of each image, float64 numpy `(n,)`.

        Args:
            images: array `(n,) + data_spec().shape` in [-1, 1] (8-bit
                levels, as loaded).
            labels: int labels `(n,)` of a conditional family, or None (the
                marginal over the classes, uniform prior).
            seed: int. The dequantization noise (families with a density
                on continuous pixels). Defaults to 0.
            batch_size: int. Defaults to 256.
        """
        images = np.asarray(images, dtype="float32")
        shape = self._density_shape()
        if images.shape[1:] != shape:
            raise ValueError(
                f"{type(self).__name__} gives probabilities to images of shape "
                f"(n,) + {shape}. Received: images.shape={images.shape}")
        k = int(getattr(self, "num_classes", 0) or 0)
        noise = np.random.default_rng(seed).uniform(size=images.shape).astype("float32")
        if k and labels is None:
            per_class = np.stack([
                self.log_prob(images, np.full(len(images), y), seed, batch_size)
                for y in range(k)], axis=1)
            top = per_class.max(axis=1, keepdims=True)
            return (top[:, 0] + np.log(np.exp(per_class - top).sum(axis=1))
                    - np.log(k))
        labels = check_labels(self, labels, len(images))
        out = []
        for i in range(0, len(images), batch_size):
            chunk = None if labels is None else labels[i:i + batch_size]
            value = self.log_prob_tensor(images[i:i + batch_size], chunk,
                                         noise[i:i + batch_size])
            out.append(np.asarray(ops.convert_to_numpy(value), dtype="float64"))
        return np.concatenate(out) if out else np.zeros((0,), "float64")

    def bits_per_dim(self, images, labels=None, seed=0, batch_size=256):
        """The mean of `-log P(x) / (D ln 2)` over the images.

        Example:

        ```python
        import numpy as np
        import kerasgen
        model = kerasgen.GaussianMixture(image_size=4, components=2)
        images = np.zeros((3, 4, 4, 1), "float32")
        model.bits_per_dim(images) > 0  # True
        ```
        """
        from kerasgen.losses.likelihood import bits_per_dim
        from kerasgen.losses.likelihood import event_size

        log_prob = self.log_prob(images, labels, seed=seed, batch_size=batch_size)
        return float(bits_per_dim(np.mean(log_prob), event_size(self._density_shape())))

    def log_prob_endpoint(self):
        """The `log_prob(images[, labels])` export signature: nats per image,
        dequantized at the middle of each bin (noise 0.5)."""
        images = Input("images", "float32", (None,) + self._density_shape())

        def log_prob(images, labels=None):
            noise = ops.full(ops.shape(images), 0.5, "float32") if self.serve_with_noise else None
            return {"log_prob": self.log_prob_tensor(images, labels, noise)}

        if getattr(self, "num_classes", 0):
            return Endpoint("log_prob", (images, Input("labels", "int32", (None,))),
                            log_prob, images=False,
                            description="log P(x | y) in nats of each 8-bit image")
        return Endpoint("log_prob", (images,), lambda images: log_prob(images),
                        images=False, description="log P(x) in nats of each 8-bit image")


class LatentGenerator:
    """Mixin of the families with a latent space: GANs, VAEs and the like.

    The family sets `latent_dim` and `num_classes` (0: unconditional) and
    writes `decode_tensor(latents, labels)`: latents (and int32 labels, or
    None) to images in [-1, 1], in `keras.ops`, networks in inference mode.
    This mixin gives it the latent interface and the generator signatures
    of export: `generate(z[, labels])` and `generate_from_seed(seed, n)` (or
    `(seed, labels)` when conditional).
    """

    interfaces = ("sample_latents", "decode", "sample")
    #: The signature `serving_default` points to.
    serving_default = "generate"
    #: Keyword arguments `sample` takes beyond n, seed and labels (offered
    #: as `kerasgen sample --NAME`, e.g. a diffusion model's `steps`).
    sample_options = ()

    def decode_tensor(self, latents, labels=None):
        raise NotImplementedError(
            f"{type(self).__name__} must implement decode_tensor()."
        )

    @property
    def latent_shape(self):
        return (int(self.latent_dim),)

    def sample_latents(self, n, seed=None):
        """`n` latents from N(0, I) as float32 numpy; the same `seed` gives
        the same latents (on every backend)."""
        return np.random.default_rng(seed).standard_normal(
            (int(n),) + self.latent_shape
        ).astype("float32")

    def check_labels(self, labels, n):
        """See `kerasgen.models.interfaces.check_labels`."""
        return check_labels(self, labels, n)

    def decode(self, latents, labels=None, batch_size=256):
        """Images `(n, ...)` in [-1, 1], float32 numpy, for latents
        `(n,) + latent_shape` (and labels, for a conditional family)."""
        latents = np.asarray(latents, dtype="float32")
        if latents.shape[1:] != self.latent_shape:
            raise ValueError(
                f"{type(self).__name__} decodes latents of shape (n,) + "
                f"{self.latent_shape}. Received: latents.shape={latents.shape}"
            )
        labels = self.check_labels(labels, len(latents))
        out = []
        for i in range(0, len(latents), batch_size):
            chunk = None if labels is None else labels[i:i + batch_size]
            out.append(ops.convert_to_numpy(
                self.decode_tensor(latents[i:i + batch_size], chunk)))
        return np.concatenate(out).astype("float32")

    def sample(self, n, seed=None, labels=None):
        """`n` images in [-1, 1] from latents drawn with `seed`
        (deterministic for a given seed); a conditional family takes
        `labels` (see `check_labels`)."""
        return self.decode(self.sample_latents(n, seed), self.check_labels(labels, n))

    # --- Serving ------------------------------------------------------------------

    def latent_endpoints(self, decode_name="generate"):
        """`decode_name(z[, labels])` and `generate_from_seed`."""
        dim = int(self.latent_dim)
        z = Input("z", "float32", (None, dim))
        seed = Input("seed", "int64")
        if getattr(self, "num_classes", 0):
            labels = Input("labels", "int32", (None,))

            def from_seed(seed, labels):
                n = ops.shape(labels)[0]
                return self.decode_tensor(seeded_normal(seed, n, dim), labels)

            return [
                Endpoint(decode_name, (z, labels), self.decode_tensor,
                         description="images for latents z of classes labels"),
                Endpoint("generate_from_seed",
                         (seed, Input("labels", "int32", (None,), batched=False)),
                         from_seed, builtin_ops=False,
                         description="one image per label, z ~ N(0, I) drawn from seed"),
            ]

        def from_seed(seed, n):
            return self.decode_tensor(seeded_normal(seed, n, dim))

        return [
            Endpoint(decode_name, (z,), lambda z: self.decode_tensor(z),
                     description="images for latents z"),
            Endpoint("generate_from_seed", (seed, Input("n", "int32")), from_seed,
                     builtin_ops=False, description="n images, z ~ N(0, I) drawn from seed"),
        ]

    def serving_endpoints(self):
        """The export signatures (see `kerasgen.models.serving`)."""
        return self.latent_endpoints()


class WaveformGenerator(LatentGenerator):
    """Mixin of the audio families with a latent space (WaveGAN, SpecGAN).

    The latent interface of `LatentGenerator`, producing waveforms
    `(n, length, 1)` in [-1, 1] at `sample_rate`; the family sets `length`,
    `sample_rate` and `num_classes`. Its data is `"waveforms"` (the CLI
    loads WAV folders for it, `kerasgen.data.audio`), and its endpoints
    serve `waveforms` (float32) and `waveforms_int16` (16-bit PCM)
    instead of images.
    """

    #: `Endpoint.parity_atol` of its endpoints; None: the exporter's usual.
    serving_parity_atol = None

    def data_spec(self):
        return DataSpec("waveforms", (int(self.length), 1),
                        num_classes=int(getattr(self, "num_classes", 0) or 0),
                        sample_rate=int(self.sample_rate))

    def serving_endpoints(self):
        from kerasgen.models.serving import waveform_outputs

        def serve(function):
            return lambda *inputs: waveform_outputs(function(*inputs))

        return [
            Endpoint(e.name, e.inputs, serve(e.function), images=False,
                     builtin_ops=e.builtin_ops, parity_atol=self.serving_parity_atol,
                     description=e.description.replace("images", "waveforms")
                     .replace("one image", "one waveform"))
            for e in self.latent_endpoints()
        ]
