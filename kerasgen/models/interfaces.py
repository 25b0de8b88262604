"""What a family consumes and produces, and the interfaces it provides.

Metrics, latent tools, the exporter and the CLI are written once against
these, never against a family:

- **Latent interface** (`LatentGenerator`): `sample_latents(n, seed)`,
  `decode(latents, labels=None)` (latents to images in [-1, 1]) and
  `sample(n, seed, labels)`. A family supplies `decode_tensor`, one
  `keras.ops` function that both `decode` and the exported `generate`
  signatures run.
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
INTERFACES = ("sample_latents", "decode", "sample", "encode", "translate")
#: What a family's `fit()` consumes.
DATA_KINDS = ("images", "paired_images", "unpaired_images", "waveforms")


@dataclasses.dataclass(frozen=True)
class DataSpec:
    """What a family trains on and produces.

    Args:
        kind: str. `"images"` (batches of images, or `(images, labels)`),
            `"paired_images"` (aligned `(inputs, targets)`),
            `"unpaired_images"` (`(images_a, images_b)`) or `"waveforms"`
            (`(n, length, channels)` audio in [-1, 1]).
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
        return self.kind != "waveforms"

    @property
    def pairing(self):
        """`"paired"`, `"unpaired"` or None (not an image-pair family)."""
        return {"paired_images": "paired", "unpaired_images": "unpaired"}.get(self.kind)

    @property
    def image_size(self):
        self._require_images("image_size")
        return self.shape[0]

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
        """`labels` as int32 `(n,)`, None for an unconditional family.

        None gives a conditional family one block per class in class-major
        order (`label_i = i * K // n`), so a grid of `n // K` images per row
        has one row per class; an int gives `n` images of that class.
        """
        k = int(getattr(self, "num_classes", 0) or 0)
        if not k:
            if labels is not None:
                raise ValueError(
                    f"{type(self).__name__} is unconditional (num_classes=0); "
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
