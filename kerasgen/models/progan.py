"""Progressive GAN (Karras et al. 2018): grown from 4x4 by doubling.

- Progressive Growing of GANs for Improved Quality, Stability, and
  Variation: https://arxiv.org/abs/1710.10196

Training starts with a generator and a discriminator for 4x4 images and
adds a block to each for every doubling of the resolution (figure 1). A new
block fades in (figure 2): for a phase, the generator's output is
`(1 - alpha) * upsample(toRGB_old(h_old)) + alpha * toRGB_new(block(h_old))`
and the discriminator's input path mixes the same way, with alpha going
from 0 to 1; the real images are blended between the two resolutions
alike. A stabilizing phase at the new resolution follows. The other
ingredients (section 4): equalized learning rate, pixelwise feature
normalization in the generator, the minibatch standard deviation before
the discriminator's last block, and the WGAN-GP loss with a drift term
`epsilon_drift * E[D(x)^2]` that keeps the critic's scores near zero.

Notation:

| code             | paper                                   |
| ---------------- | --------------------------------------- |
| `level`          | resolution 4 * 2**level                 |
| `alpha`          | alpha, the fade-in weight (section 3)   |
| `lambda_gp`      | lambda = 10 (WGAN-GP)                   |
| `epsilon_drift`  | epsilon_drift = 0.001 (appendix A.1)    |
| `fmap_base`, `fmap_max` | feature maps min(fmap_max, 2 * fmap_base / resolution) |

The phases (`phases()`): "4x4", then "8x8 fade-in" and "8x8", and so on to
`image_size`, each `phase_steps` batches long (the last one runs until the
run ends). Left at None, `plan_run` (which `kerasgen train` calls with the
run's length) shares the run equally among the phases, so `kerasgen train
progan --data DIR --set image_size=64` picks its schedule from the target
resolution. A model that never had a plan trains at full resolution from
the start (a plain WGAN-GP with these networks).

Deviations:
- The paper counts phases in images (800k each); here they are batches
  (`phase_steps`), and the batch size stays the same at every resolution
  (the authors' code shrinks it as the resolution grows).
- Minibatch standard deviation as the paper states it (one number over the
  whole minibatch); the authors' code takes it per group of 4.
- Samples below the final resolution (during training) are shown
  upsampled to `image_size`; outputs are clipped to [-1, 1] when sampled
  (the generator's toRGB is linear, as in the paper).
"""

import keras
from keras import ops

from kerasgen.layers.progressive import CriticHead
from kerasgen.layers.progressive import EqualizedConv2D
from kerasgen.layers.progressive import EqualizedDense
from kerasgen.layers.progressive import PixelNormalization
from kerasgen.layers.progressive import downsample
from kerasgen.layers.progressive import fade_in
from kerasgen.layers.progressive import resolution_levels
from kerasgen.layers.progressive import upsample
from kerasgen.losses import gradient_penalty
from kerasgen.models.interfaces import LatentGenerator
from kerasgen.models.registry import register_family
from kerasgen.training import GenerativeModel
from kerasgen.training import UpdateStep
from kerasgen.training.phases import Phase
from kerasgen.utils import arguments
from kerasgen.training.replicas import per_example


def feature_maps(resolution, fmap_base=8192, fmap_max=512):
    """Channels of the blocks at `resolution`: `min(fmap_max, 2 * fmap_base
    / resolution)`, the paper's 512 up to 32x32, then halving to 16 at
    1024x1024 (table 2).

    Example:

    ```python
    [feature_maps(r) for r in (4, 32, 64, 1024)]  # [512, 512, 256, 16]
    ```
    """
    return int(min(fmap_max, max(1, 2 * fmap_base // resolution)))


def _lrelu(x):
    return ops.leaky_relu(x, 0.2)


# --- Networks -----------------------------------------------------------------


@keras.saving.register_keras_serializable(package="kerasgen")
class ProgressiveGenerator(keras.Model):
    """The generator at every resolution up to `4 * 2**levels` (table 2):
    z -> PixelNorm -> dense 4x4 -> conv 3x3, then per doubling: upsample,
    two conv 3x3, each followed by a leaky ReLU (0.2) and PixelNorm; a
    linear 1x1 toRGB per resolution. Every layer exists from the start; a
    call runs the blocks up to `level`.

    Args:
        latent_dim: int. Size of z.
        levels: int. Doublings above 4x4 (4 for 64x64).
        channels: int. Output image channels.
        fmap_base, fmap_max: ints. See `feature_maps`.

    Example:

    ```python
    import numpy as np
    g = ProgressiveGenerator(8, levels=2, channels=1, fmap_base=32, fmap_max=16)
    z = np.zeros((2, 8), "float32")
    g(z).shape, g(z, level=1).shape  # ((2, 16, 16, 1), (2, 8, 8, 1))
    ```
    """

    def __init__(self, latent_dim, levels, channels, fmap_base=8192, fmap_max=512,
                 **kwargs):
        super().__init__(**kwargs)
        self.latent_dim, self.levels, self.channels = int(latent_dim), int(levels), int(channels)
        self.fmap_base, self.fmap_max = int(fmap_base), int(fmap_max)
        width = [feature_maps(4 * 2**k, fmap_base, fmap_max) for k in range(levels + 1)]
        self.norm = PixelNormalization(name="pixel_norm")
        self.norm.build((None, latent_dim))  # no weights; marked built for fit()
        self.dense = EqualizedDense(16 * width[0], name="dense_4x4")
        self.dense.build((None, self.latent_dim))
        self.convs, self.to_rgb = [], []
        for k in range(levels + 1):
            size, pair = 4 * 2**k, []
            for i in range(1 if k == 0 else 2):
                conv = EqualizedConv2D(width[k], 3, name=f"conv_{size}x{size}_{i}")
                conv.build((None, size, size, width[k] if (k == 0 or i == 1) else width[k - 1]))
                pair.append(conv)
            self.convs.append(pair)
            to_rgb = EqualizedConv2D(channels, 1, gain=1.0, name=f"to_rgb_{size}x{size}")
            to_rgb.build((None, size, size, width[k]))
            self.to_rgb.append(to_rgb)
        self.width = width
        self.built = True

    def features(self, z, level):
        """The last block's features at `level`, and the previous level's."""
        h = self.dense(self.norm(z))
        h = self.norm(_lrelu(ops.reshape(h, (-1, 4, 4, self.width[0]))))
        h = self.norm(_lrelu(self.convs[0][0](h)))
        previous = None
        for k in range(1, level + 1):
            previous = h
            h = upsample(h)
            for conv in self.convs[k]:
                h = self.norm(_lrelu(conv(h)))
        return h, previous

    def call(self, z, level=None, alpha=1.0, training=False):
        level = self.levels if level is None else int(level)
        h, previous = self.features(z, level)
        images = self.to_rgb[level](h)
        if level == 0 or (isinstance(alpha, (int, float)) and alpha == 1.0):
            return images
        return fade_in(upsample(self.to_rgb[level - 1](previous)), images, alpha)

    def get_config(self):
        return {**super().get_config(), "latent_dim": self.latent_dim,
                "levels": self.levels, "channels": self.channels,
                "fmap_base": self.fmap_base, "fmap_max": self.fmap_max}


@keras.saving.register_keras_serializable(package="kerasgen")
class ProgressiveDiscriminator(keras.Model):
    """The discriminator (critic) mirroring the generator (table 2): a 1x1
    fromRGB per resolution, per halving two conv 3x3 and an average pool,
    then at 4x4 the minibatch standard deviation, a conv 3x3, a dense layer
    and a linear score. Leaky ReLU (0.2) everywhere, no normalization.

    Example:

    ```python
    import numpy as np
    d = ProgressiveDiscriminator(levels=2, channels=1, fmap_base=32, fmap_max=16)
    d(np.zeros((2, 16, 16, 1), "float32")).shape  # (2, 1)
    d(np.zeros((2, 8, 8, 1), "float32"), level=1).shape  # (2, 1)
    ```
    """

    def __init__(self, levels, channels, fmap_base=8192, fmap_max=512, **kwargs):
        super().__init__(**kwargs)
        self.levels, self.channels = int(levels), int(channels)
        self.fmap_base, self.fmap_max = int(fmap_base), int(fmap_max)
        width = [feature_maps(4 * 2**k, fmap_base, fmap_max) for k in range(levels + 1)]
        self.from_rgb, self.convs = [], []
        for k in range(levels + 1):
            size = 4 * 2**k
            from_rgb = EqualizedConv2D(width[k], 1, name=f"from_rgb_{size}x{size}")
            from_rgb.build((None, size, size, channels))
            self.from_rgb.append(from_rgb)
            pair = []
            if k > 0:
                for i, (inputs, outputs) in enumerate([(width[k], width[k]),
                                                       (width[k], width[k - 1])]):
                    conv = EqualizedConv2D(outputs, 3, name=f"conv_{size}x{size}_{i}")
                    conv.build((None, size, size, inputs))
                    pair.append(conv)
            self.convs.append(pair)
        self.head = CriticHead(width[0], name="head")
        self.head.build()
        self.width = width
        self.built = True

    def block(self, k, h):
        for conv in self.convs[k]:
            h = _lrelu(conv(h))
        return downsample(h)

    def call(self, images, level=None, alpha=1.0, training=False):
        level = self.levels if level is None else int(level)
        h = _lrelu(self.from_rgb[level](images))
        if level > 0:
            h = self.block(level, h)
            if not (isinstance(alpha, (int, float)) and alpha == 1.0):
                skip = _lrelu(self.from_rgb[level - 1](downsample(images)))
                h = fade_in(skip, h, alpha)
            for k in range(level - 1, 0, -1):
                h = self.block(k, h)
        return self.head(h)

    def get_config(self):
        return {**super().get_config(), "levels": self.levels, "channels": self.channels,
                "fmap_base": self.fmap_base, "fmap_max": self.fmap_max}


# --- The family ---------------------------------------------------------------


@register_family("progan")
class ProGAN(LatentGenerator, GenerativeModel):
    """Progressive GAN (Karras et al. 2018), WGAN-GP loss with drift.

    Args:
        image_size: int. The final height and width, 4 times a power of 2.
            Defaults to 64.
        channels: int. 1 or 3. Defaults to 3.
        latent_dim: int. Size of z. Defaults to 512.
        fmap_base: int. See `feature_maps`. Defaults to 8192.
        fmap_max: int. See `feature_maps`. Defaults to 512.
        phase_steps: int or None. Batches per phase (each fade-in and each
            stabilization); None shares the planned run equally among the
            phases. Defaults to None.
        lambda_gp: float. Weight of the gradient penalty. Defaults to 10.
        epsilon_drift: float. Weight of E[D(x)^2]. Defaults to 0.001.
        learning_rate: float. Adam learning rate. Defaults to 1e-3.
        beta_1: float. Adam beta_1. Defaults to 0.0.
        beta_2: float. Adam beta_2. Defaults to 0.99.
        ema_decay: float or None. Average of G's weights used for sampling.
            Defaults to 0.999.
        seed: int or None. Seeds the latents and interpolation weights.

    Reference:
        Karras et al. 2018, https://arxiv.org/abs/1710.10196

    Example:

    ```python
    import numpy as np
    model = ProGAN(image_size=8, channels=1, latent_dim=8, fmap_base=16,
                   fmap_max=8, phase_steps=1)
    [p.name for p in model.phases()]  # ['4x4', '8x8 fade-in', '8x8']
    model.compile()
    images = np.random.uniform(-1, 1, (8, 8, 8, 1)).astype("float32")
    model.fit(images, batch_size=4, epochs=1, verbose=0)
    model.sample(2, seed=0).shape  # (2, 8, 8, 1)
    ```
    """

    description = "Progressive GAN (Karras et al. 2018): grown from 4x4 with fade-ins."
    ema_network = "generator"
    default_batch_size = 16
    recipes = {"demo": dict(image_size=16, channels=1, latent_dim=64, fmap_base=128,
                            fmap_max=64)}

    def __init__(
        self,
        image_size=64,
        channels=3,
        latent_dim=512,
        fmap_base=8192,
        fmap_max=512,
        phase_steps=None,
        lambda_gp=10.0,
        epsilon_drift=0.001,
        learning_rate=1e-3,
        beta_1=0.0,
        beta_2=0.99,
        ema_decay=0.999,
        seed=None,
        **kwargs,
    ):
        super().__init__(ema_decay=ema_decay, seed=seed, **kwargs)
        levels = resolution_levels(self, image_size)
        if channels not in (1, 3):
            arguments.refuse(self, "channels", channels, "1 or 3")
        if phase_steps is not None:
            arguments.check_count(self, "phase_steps", phase_steps, 1)
        # === Layers ===
        self.levels = int(levels)
        self.generator = ProgressiveGenerator(latent_dim, self.levels, channels, fmap_base,
                                              fmap_max, name="generator")
        self.discriminator = ProgressiveDiscriminator(self.levels, channels, fmap_base,
                                                      fmap_max, name="discriminator")
        # === Config ===
        self.image_size, self.channels, self.latent_dim = image_size, channels, latent_dim
        self.fmap_base, self.fmap_max = fmap_base, fmap_max
        self.phase_steps = phase_steps
        self.lambda_gp, self.epsilon_drift = float(lambda_gp), float(epsilon_drift)
        self.learning_rate, self.beta_1, self.beta_2 = learning_rate, beta_1, beta_2
        # === Where the run is (set by enter_phase; the finished model) ===
        self.level, self.fading, self.phase_start = self.levels, False, 0
        self._finish_networks()

    # --- Phases: 4x4, then a fade-in and a stabilization per doubling -------

    def plan_run(self, total_steps):
        """Shares a run of `total_steps` equally among the phases (the last
        takes the remainder) when `phase_steps` was left at None."""
        if self.phase_steps is None and total_steps:
            self.phase_steps = max(1, int(total_steps) // (2 * self.levels + 1))

    def phases(self):
        if self.phase_steps is None:
            return []
        phases = [Phase("4x4", self.phase_steps)]
        for level in range(1, self.levels + 1):
            size = 4 * 2**level
            phases += [Phase(f"{size}x{size} fade-in", self.phase_steps),
                       Phase(f"{size}x{size}", self.phase_steps)]
        return phases

    def enter_phase(self, index, step_in_phase):
        if self.phase_steps is None:
            return
        self.level, self.fading = (index + 1) // 2, index % 2 == 1
        self.phase_start = index * self.phase_steps
        self.train_function = None  # the step reads the level as Python

    def alpha(self):
        """The fade-in weight of the batch about to be trained: from 0 at
        the fade-in's first batch towards 1 (read from the optimizer's
        batch counter, so a resumed run continues where it stopped); 1.0
        outside a fade-in."""
        if not self.fading or getattr(self, "optimizer", None) is None:
            return 1.0
        done = ops.cast(ops.convert_to_tensor(self.optimizer.iterations), "float32")
        return ops.clip((done - self.phase_start) / float(self.phase_steps), 0.0, 1.0)

    def real_at_level(self, images, alpha):
        """The real batch at the current resolution, blended between it and
        the previous one during a fade-in as the generator's output is."""
        images = downsample(ops.cast(images, "float32"), 2 ** (self.levels - self.level))
        if self.fading and self.level > 0:
            images = fade_in(upsample(downsample(images)), images, alpha)
        return images

    # --- Losses and update steps --------------------------------------------

    def _fake(self, n, alpha):
        z = per_example(keras.random.normal, (n, self.latent_dim), seed=self.seed_generator)
        return self.generator(z, level=self.level, alpha=alpha, training=True)

    def _critic(self, alpha):
        return lambda x, training=True: self.discriminator(
            x, level=self.level, alpha=alpha, training=training)

    def discriminator_step_loss(self, images, labels=None):
        """`E[D(G(z))] - E[D(x)] + lambda_gp * gp + epsilon_drift * E[D(x)^2]`."""
        alpha = self.alpha()
        real = self.real_at_level(images, alpha)
        fake = self._fake(ops.shape(real)[0], alpha)
        critic = self._critic(alpha)
        real_scores, fake_scores = critic(real), critic(fake)
        wasserstein = ops.mean(fake_scores) - ops.mean(real_scores)
        gp = gradient_penalty(critic, real, fake, seed_generator=self.seed_generator)
        drift = ops.mean(ops.square(real_scores))
        loss = wasserstein + self.lambda_gp * gp + self.epsilon_drift * drift
        return loss, {"d_loss": loss, "gp": gp}

    def generator_step_loss(self, images, labels=None):
        """`-E[D(G(z))]` on fresh latents."""
        alpha = self.alpha()
        fake = self._fake(ops.shape(images)[0], alpha)
        loss = -ops.mean(self._critic(alpha)(fake))
        return loss, {"g_loss": loss}

    def update_steps(self):
        return [
            UpdateStep("discriminator", self.discriminator_step_loss, ("discriminator",)),
            UpdateStep("generator", self.generator_step_loss, ("generator",)),
        ]

    def default_optimizers(self):
        return {
            name: keras.optimizers.Adam(self.learning_rate, beta_1=self.beta_1,
                                        beta_2=self.beta_2, epsilon=1e-8, name=f"{name}_adam")
            for name in ("discriminator", "generator")
        }

    # --- Sampling -----------------------------------------------------------

    def decode_tensor(self, latents, labels=None):
        """G(z) in [-1, 1] at the current resolution, shown at `image_size`
        (the EMA generator when there is one).

        Example:

        ```python
        ProGAN(image_size=8, channels=1, latent_dim=8, fmap_base=16,
               fmap_max=8).sample(2, seed=0).shape  # (2, 8, 8, 1)
        ```
        """
        images = self.sampling_network("generator")(latents, level=self.level,
                                                    alpha=self.alpha())
        return ops.clip(upsample(images, 2 ** (self.levels - self.level)), -1.0, 1.0)

    def call(self, z, training=False):
        return self.decode_tensor(z)

    # --- Config -------------------------------------------------------------

    def get_config(self):
        config = super().get_config()
        config.update(
            image_size=self.image_size, channels=self.channels, latent_dim=self.latent_dim,
            fmap_base=self.fmap_base, fmap_max=self.fmap_max, phase_steps=self.phase_steps,
            lambda_gp=self.lambda_gp, epsilon_drift=self.epsilon_drift,
            learning_rate=self.learning_rate, beta_1=self.beta_1, beta_2=self.beta_2,
        )
        return config
