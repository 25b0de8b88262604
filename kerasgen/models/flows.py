"""Normalizing flows: RealNVP (Dinh et al. 2017) and Glow (Kingma and
Dhariwal 2018).

- Density estimation using Real NVP: https://arxiv.org/abs/1605.08803
- Glow: Generative Flow with Invertible 1x1 Convolutions:
  https://arxiv.org/abs/1807.03039

Notation:

| code                       | paper                                         |
| -------------------------- | --------------------------------------------- |
| `flow.forward(y)`          | z = f(y), with log abs det(df/dy)             |
| `flow.inverse(z)`          | y = f^-1(z) = g(z)                            |
| `scales`                   | the scales (RealNVP 3.6), Glow's levels L     |
| `flow_depth`               | Glow's K, steps of flow per level             |
| `AffineCoupling`           | RealNVP eq. 7-9, Glow table 1 (coupling)      |
| `ActNorm`, `InvertibleConv1x1` | Glow 3.1, 3.2                             |
| `LogitTransform`           | RealNVP 4.1, logit(alpha + (1 - 2 alpha) y')  |
| `temperature`              | Glow 5, T: the prior's standard deviation     |

The change of variables (RealNVP eq. 3) gives the density of a point y of
[-1, 1]^D:

    log p(y) = log N(f(y); 0, I) + log |det df/dy|

Training minimizes the negative log-likelihood of the 8-bit images: each
image x is dequantized, y = (k + u) / 128 - 1 with u ~ U[0, 1) (RealNVP 4.1;
`kerasgen.losses.likelihood`), and

    loss = -(log p(y) + D log(2 / 256))

per image, averaged over the batch, an unbiased estimate of a lower bound on
-log P(x) (Theis et al. 2016). `bits_per_dim` is the same in bits per pixel.

The multi-scale architecture (RealNVP 3.6, Glow figure 2b): after each scale
but the last, half of the channels are factored out to the prior, so the
latent z (of size D = H * W * C, one flat vector per image) is the
factored-out parts and the last scale's output. A RealNVP scale is three
checkerboard couplings, a squeeze and three channel couplings (the last
scale: four checkerboard couplings); a Glow level is a squeeze and K steps of
ActNorm, invertible 1x1 convolution and channel coupling.

Deviations, each for a reason:

- No batch normalization and no weight normalization (RealNVP 3.7, 4.1): a
  flow's density would then depend on the batch in training. RealNVP's s
  and t come from a plain ResNet; Glow's coupling network has no ActNorm
  inside.
- Factored-out channels go to N(0, I); Glow's learned prior on them (a
  zero-initialised convolution of the kept half) is left out.
- The coupling's log-scale is bounded: RealNVP's `c * tanh(h)`; for Glow the
  code's `sigmoid(h + 2)`, divided by sigmoid(2) so that the zero-initialised
  coupling is the identity.
- ActNorm's data-dependent initial values are non-trainable state written on
  the first training batch, and its trainable parameters the offsets from
  them (see `kerasgen.layers.flow_layers.ActNorm`): the same function and
  gradients, and it works inside JAX's stateless train step.
- Unconditional only (`num_classes=0`).
"""

import math

import keras
import numpy as np
from keras import ops

from kerasgen.layers.flow_layers import ActNorm
from kerasgen.layers.flow_layers import AffineCoupling
from kerasgen.layers.flow_layers import InvertibleConv1x1
from kerasgen.layers.flow_layers import LogitTransform
from kerasgen.layers.flow_layers import MultiScaleFlow
from kerasgen.layers.flow_layers import Squeeze
from kerasgen.losses.likelihood import bits_per_dim
from kerasgen.losses.likelihood import dequantize
from kerasgen.losses.likelihood import discrete_log_prob
from kerasgen.models.interfaces import DensityModel
from kerasgen.models.interfaces import LatentGenerator
from kerasgen.models.registry import register_family
from kerasgen.models.serving import Endpoint
from kerasgen.models.serving import Input
from kerasgen.training import GenerativeModel
from kerasgen.training import UpdateStep
from kerasgen.utils.arguments import check_count
from kerasgen.training.replicas import per_example

_LOG_2PI = math.log(2.0 * math.pi)


def standard_normal_log_density(z):
    """log N(z; 0, I) of each row of `z (n, D)`, summed over D.

    Example:

    ```python
    import numpy as np
    round(float(standard_normal_log_density(np.zeros((1, 2), "float32"))[0]), 4)  # -1.8379
    ```
    """
    return -0.5 * ops.sum(z * z + _LOG_2PI, axis=1)


class MultiScaleFlowModel(LatentGenerator, DensityModel, GenerativeModel):
    """What RealNVP and Glow share: the dequantized likelihood, its update
    step, encoding, decoding and sampling, and the serving endpoints. A
    family builds its bijections, one list per scale, and passes them to
    `_finish_flow`; `flow` is then the one network trained.

    Args:
        image_size: int. Height and width of the images.
        channels: int. 1 or 3.
        scales: int. Scales of the multi-scale architecture.
        learning_rate: float. Adam learning rate.
        num_classes: int. 0: the flows here are unconditional.
        seed: int or None. Seeds the dequantization noise.
    """

    interfaces = LatentGenerator.interfaces + ("encode",) + DensityModel.interfaces
    serving_default = "generate"
    log_prob_is_bound = True  # a dequantized density bounds the bin's mass
    float32_only = True
    default_batch_size = 64

    def __init__(self, image_size, channels, scales, learning_rate, num_classes=0,
                 seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        name = type(self).__name__
        if num_classes != 0:
            raise ValueError(f"{name} is unconditional: `num_classes` must be 0. "
                             f"Received: num_classes={num_classes!r}")
        if channels not in (1, 3):
            raise ValueError(f"`channels` must be 1 or 3. Received: channels={channels!r}")
        check_count(self, "image_size", image_size, 1)
        check_count(self, "scales", scales, 1)
        self.image_size = image_size
        self.channels = channels
        self.scales = scales
        self.learning_rate = learning_rate
        self.num_classes = 0

    def _finish_flow(self, scales):
        """Builds `flow` from the bijections of each scale (called by the
        family at the end of its `__init__`)."""
        self.flow = MultiScaleFlow(scales, (self.image_size,) * 2 + (self.channels,),
                                   name="flow")
        self.latent_dim = self.flow.latent_dim
        self._finish_networks()

    @property
    def event_size(self):
        """D, the pixels of one image (and the size of its latent)."""
        return self.image_size * self.image_size * self.channels

    # --- The likelihood -------------------------------------------------------

    def log_prob_tensor(self, images, labels=None, noise=None, training=False):
        """log P(x) in nats of each 8-bit image, bounded through the
        dequantized point `noise` picks (the bin centre when None):
        log N(f(y); 0, I) + log |det df/dy| + D log(2 / 256)."""
        images = ops.cast(images, "float32")
        if noise is None:
            noise = ops.full(ops.shape(images), 0.5, "float32")
        z, log_det = self.flow.forward(dequantize(images, noise), training=training)
        return discrete_log_prob(standard_normal_log_density(z) + log_det, self.event_size)

    def negative_log_likelihood(self, images, labels=None):
        """The batch mean of -log P(x) (nats per image) with fresh uniform
        dequantization noise: the loss."""
        noise = per_example(keras.random.uniform, ops.shape(images), seed=self.seed_generator)
        log_prob = ops.mean(self.log_prob_tensor(images, noise=noise, training=True))
        loss = -log_prob
        return loss, {"loss": loss, "bits_per_dim": bits_per_dim(log_prob, self.event_size)}

    # --- Update steps ---------------------------------------------------------

    def update_steps(self):
        return [UpdateStep("flow", self.negative_log_likelihood, ("flow",))]

    def default_optimizers(self):
        return {"flow": keras.optimizers.Adam(self.learning_rate, name="flow_adam")}

    # --- Inference ------------------------------------------------------------

    def encode_tensor(self, images):
        """z = f(y) `(n, D)` of images in [-1, 1], dequantized at the centre
        of each bin, in `keras.ops`."""
        images = ops.cast(images, "float32")
        y = dequantize(images, ops.full(ops.shape(images), 0.5, "float32"))
        return self.flow.forward(y)[0]

    def encode(self, images):
        """The latents `(n, latent_dim)` of images `(n, H, W, C)` in [-1, 1],
        as float32 numpy."""
        images = np.asarray(images, dtype="float32")
        shape = tuple(self.data_spec().shape)
        if images.shape[1:] != shape:
            raise ValueError(f"{type(self).__name__} encodes images of shape (n,) + {shape}. "
                             f"Received: images.shape={images.shape}")
        return ops.convert_to_numpy(self.encode_tensor(images)).astype("float32")

    def decode_tensor(self, latents, labels=None):
        """Images in [-1, 1] for latents: y = f^-1(z) on the 8-bit scale,
        `((y + 1) * 128 - 1/2) / 127.5 - 1`, so that the centre of bin k is
        image k exactly (and `decode(encode(x))` is x); clipped."""
        y = self.flow.inverse(ops.cast(latents, "float32"))
        levels = (y + 1.0) * 128.0 - 0.5
        return ops.clip(levels / 127.5 - 1.0, -1.0, 1.0)

    def sample(self, n, seed=None, labels=None, temperature=1.0):
        """`n` images in [-1, 1] from z ~ N(0, T^2 I) drawn with `seed`
        (deterministic for a given seed). `temperature` T scales the prior's
        standard deviation (Glow section 5): below 1 gives smoother, more
        typical images; 0 decodes z = 0."""
        if not float(temperature) >= 0.0:
            raise ValueError(f"`temperature` must be >= 0. Received: temperature={temperature!r}")
        self.check_labels(labels, n)
        return self.decode(self.sample_latents(n, seed) * np.float32(temperature))

    # --- Serving ------------------------------------------------------------------

    def serving_endpoints(self):
        """`generate(z)`, `generate_from_seed(seed, n)`, `encode(images)`
        and `log_prob(images)`."""
        size, channels = int(self.image_size), int(self.channels)
        images = Input("images", "float32", (None, size, size, channels))
        generate, from_seed = self.latent_endpoints()
        encode = Endpoint("encode", (images,), lambda images: {"z": self.encode_tensor(images)},
                          images=False, description="the latent z = f(x) of each image")
        return [generate, from_seed, encode, self.log_prob_endpoint()]

    # --- Config -----------------------------------------------------------------

    def get_config(self):
        config = super().get_config()
        config.pop("ema_decay")  # nothing to average
        config.update(image_size=self.image_size, channels=self.channels, scales=self.scales,
                      learning_rate=self.learning_rate, num_classes=self.num_classes)
        return config


@register_family("realnvp")
class RealNVP(MultiScaleFlowModel):
    """RealNVP: affine couplings with checkerboard and channel masks, in a
    multi-scale architecture, on logit-transformed pixels.

    Each scale but the last: three checkerboard couplings (alternating
    masks), a squeeze, three channel couplings (alternating halves), then
    half of the channels factored out; the last scale: four checkerboard
    couplings. The scales squeeze `scales - 1` times, so `image_size` must
    be divisible by 2^(scales - 1). The defaults are the paper's CIFAR-10
    network (section 4.1: 8 residual blocks, 64 feature maps, one
    downscaling).

    Args:
        image_size: int. Height and width of the images. Defaults to 32.
        channels: int. 1 or 3. Defaults to 3.
        scales: int. Scales of the multi-scale architecture. Defaults to 2.
        filters: int. Feature maps of the ResNet of each coupling. Defaults
            to 64.
        blocks: int. Residual blocks of the ResNet of each coupling.
            Defaults to 8.
        logit_alpha: float. alpha of the logit transform
            `logit(alpha + (1 - 2 alpha) (y + 1) / 2)`, in (0, 0.5).
            Defaults to 0.05.
        learning_rate: float. Adam learning rate. Defaults to 1e-3.
        num_classes: int. 0 only (unconditional). Defaults to 0.
        seed: int or None. Seeds the dequantization noise.

    Reference:
        Dinh, Sohl-Dickstein and Bengio 2017, https://arxiv.org/abs/1605.08803

    Example:

    ```python
    import numpy as np
    model = RealNVP(image_size=4, channels=1, scales=2, filters=4, blocks=1)
    model.compile()
    images = np.random.randint(0, 256, (8, 4, 4, 1)) / 127.5 - 1
    model.fit(images.astype("float32"), batch_size=8, epochs=1, verbose=0)
    model.encode(images).shape  # (8, 16)
    model.sample(2, seed=0, temperature=0.7).shape  # (2, 4, 4, 1)
    ```
    """

    description = "RealNVP (Dinh et al. 2017): checkerboard and channel affine couplings, multi-scale."
    recipes = {"demo": dict(image_size=8, channels=1, scales=2, filters=16, blocks=1)}

    def __init__(
        self,
        image_size=32,
        channels=3,
        scales=2,
        filters=64,
        blocks=8,
        logit_alpha=0.05,
        learning_rate=1e-3,
        num_classes=0,
        seed=None,
        **kwargs,
    ):
        super().__init__(image_size=image_size, channels=channels, scales=scales,
                         learning_rate=learning_rate, num_classes=num_classes, seed=seed,
                         **kwargs)
        check_count(self, "blocks", blocks, 0)
        if not 0.0 < float(logit_alpha) < 0.5:
            raise ValueError("`logit_alpha` must be in (0, 0.5). "
                             f"Received: logit_alpha={logit_alpha!r}")
        if image_size % 2 ** (scales - 1):
            raise ValueError(
                f"RealNVP squeezes the image scales - 1 = {scales - 1} times, so `image_size` "
                f"must be divisible by {2 ** (scales - 1)}. "
                f"Received: image_size={image_size}, scales={scales}")

        # === Config ===
        self.filters = filters
        self.blocks = blocks
        self.logit_alpha = float(logit_alpha)

        # === Layers ===
        self._finish_flow(self.realnvp_scales())

    def coupling(self, mask, parity, name):
        return AffineCoupling(mask, parity % 2, filters=self.filters, blocks=self.blocks,
                              scale="tanh", name=name)

    def realnvp_scales(self):
        """The bijections of each scale (section 3.6), the logit transform
        first."""
        scales = [[LogitTransform(self.logit_alpha, name="logit")]]
        for s in range(self.scales - 1):
            scales[-1] += [self.coupling("checkerboard", i, f"scale{s}_checkerboard{i}")
                           for i in range(3)]
            scales[-1].append(Squeeze(name=f"scale{s}_squeeze"))
            scales[-1] += [self.coupling("channel", i, f"scale{s}_channel{i}") for i in range(3)]
            scales.append([])
        last = self.scales - 1
        scales[-1] += [self.coupling("checkerboard", i, f"scale{last}_checkerboard{i}")
                       for i in range(4)]
        return scales

    def get_config(self):
        config = super().get_config()
        config.update(filters=self.filters, blocks=self.blocks, logit_alpha=self.logit_alpha)
        return config


@register_family("glow")
class Glow(MultiScaleFlowModel):
    """Glow: levels of squeeze and K steps of ActNorm, invertible 1x1
    convolution (LU) and affine coupling, in a multi-scale architecture.

    Each level squeezes, runs `flow_depth` steps, and (all but the last)
    factors out half of the channels, so `image_size` must be divisible by
    2^scales. The defaults are the paper's CIFAR-10 model (section 5:
    L = 3, K = 32, 512 channels in the coupling networks).

    Args:
        image_size: int. Height and width of the images. Defaults to 32.
        channels: int. 1 or 3. Defaults to 3.
        scales: int. L, the levels. Defaults to 3.
        flow_depth: int. K, the steps of flow per level. Defaults to 32.
        filters: int. Channels of the hidden layers of each coupling
            network. Defaults to 512.
        zero_init: bool. Zero the last convolution of each coupling network
            (Glow section 3.3), so that every step starts as the identity.
            Defaults to True.
        learning_rate: float. Adam learning rate. Defaults to 1e-3.
        num_classes: int. 0 only (unconditional). Defaults to 0.
        seed: int or None. Seeds the dequantization noise.

    Reference:
        Kingma and Dhariwal 2018, https://arxiv.org/abs/1807.03039

    Example:

    ```python
    import numpy as np
    model = Glow(image_size=4, channels=1, scales=2, flow_depth=2, filters=4)
    model.compile()
    images = np.random.randint(0, 256, (8, 4, 4, 1)) / 127.5 - 1
    model.fit(images.astype("float32"), batch_size=8, epochs=1, verbose=0)
    model.bits_per_dim(images) > 0  # True
    model.sample(2, seed=0, temperature=0.7).shape  # (2, 4, 4, 1)
    ```
    """

    description = "Glow (Kingma and Dhariwal 2018): ActNorm, LU 1x1 convolutions, affine couplings."
    recipes = {"demo": dict(image_size=8, channels=1, scales=2, flow_depth=4, filters=16)}

    def __init__(
        self,
        image_size=32,
        channels=3,
        scales=3,
        flow_depth=32,
        filters=512,
        zero_init=True,
        learning_rate=1e-3,
        num_classes=0,
        seed=None,
        **kwargs,
    ):
        super().__init__(image_size=image_size, channels=channels, scales=scales,
                         learning_rate=learning_rate, num_classes=num_classes, seed=seed,
                         **kwargs)
        check_count(self, "flow_depth", flow_depth, 1)
        if image_size % 2 ** scales:
            raise ValueError(
                f"Glow squeezes the image once per level, so `image_size` must be divisible "
                f"by 2^scales = {2 ** scales}. Received: image_size={image_size}, "
                f"scales={scales}")

        # === Config ===
        self.flow_depth = flow_depth
        self.filters = filters
        self.zero_init = bool(zero_init)

        # === Layers ===
        self._finish_flow(self.glow_scales())

    def step_of_flow(self, name):
        """ActNorm, invertible 1x1 convolution, affine coupling (figure 2a)."""
        return [
            ActNorm(name=f"{name}_actnorm"),
            InvertibleConv1x1(name=f"{name}_conv1x1"),
            AffineCoupling("channel", 0, filters=self.filters, blocks=0, scale="sigmoid",
                           zero_init=self.zero_init, name=f"{name}_coupling"),
        ]

    def glow_scales(self):
        """The bijections of each level (figure 2b)."""
        scales = []
        for level in range(self.scales):
            scale = [Squeeze(name=f"level{level}_squeeze")]
            for k in range(self.flow_depth):
                scale += self.step_of_flow(f"level{level}_step{k}")
            scales.append(scale)
        return scales

    def get_config(self):
        config = super().get_config()
        config.update(flow_depth=self.flow_depth, filters=self.filters,
                      zero_init=self.zero_init)
        return config
