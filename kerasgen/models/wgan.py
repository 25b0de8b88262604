"""WGAN (Arjovsky et al. 2017) and WGAN-GP (Gulrajani et al. 2017).

- Wasserstein GAN: https://arxiv.org/abs/1701.07875
- Improved Training of Wasserstein GANs: https://arxiv.org/abs/1704.00028

A critic f (no sigmoid: its output is a score, not a probability) estimates
the Wasserstein-1 distance between the data and the generator's
distribution, and the generator minimizes that estimate. The two papers
differ in how they keep f 1-Lipschitz: WGAN clips every critic weight to
[-c, c] after each critic update; WGAN-GP penalizes the critic's gradient
norm at random points between real and generated images.

Notation:

| code             | paper                          |
| ---------------- | ------------------------------ |
| `latent_dim`     | dim of z                       |
| `generator(z)`   | g_theta(z) / G(z)              |
| `critic(x)`      | f_w(x) / D(x)                  |
| `n_critic`       | n_critic                       |
| `clip_value`     | c (WGAN)                       |
| `lambda_gp`      | lambda (WGAN-GP)               |
| `gp`             | E[(norm of grad D(x_hat) - 1)^2] |

Objectives, with real = 1 in the sense that the critic scores real images
high (`kerasgen.losses`, `wasserstein`):

    critic:    min_f  E_z[f(G(z))] - E_x[f(x)]                  (WGAN, eq. 3)
               + lambda E_x_hat[(||grad f(x_hat)||_2 - 1)^2]    (WGAN-GP, eq. 3)
    generator: min_G  -E_z[f(G(z))]

with `x_hat = eps x + (1 - eps) G(z)`, `eps ~ U[0, 1]` per example. Each
batch runs `n_critic` critic updates, then one generator update
(Algorithm 1 of both papers). Optimizers are the papers': RMSprop(5e-5) for
WGAN, Adam(1e-4, beta_1=0, beta_2=0.9) for WGAN-GP.

Deviations:
- The critic sees the same real batch in all `n_critic` updates of a step
  (the papers draw a fresh real batch per critic update); the latents are
  fresh every time. With `fit()` one batch is one step, so a run of N steps
  sees N real batches and N * n_critic critic updates.
- Networks are the DCGAN stacks (`kerasgen.layers`): BatchNorm in the
  generator, none in the critic (WGAN-GP, section 4: batch norm changes
  the critic's problem from single inputs to batches, which breaks the
  per-example penalty). The papers' 64x64 experiments used the same
  DCGAN shapes; the critic ends in a dense layer without bias (a
  constant offset of f cancels in both losses and never learns).
- WGAN clips the critic's weights after each update only; the initial
  weights (N(0, 0.02)) are not clipped.
"""

import keras
from keras import layers
from keras import ops

from kerasgen.models.gan import GAN
from kerasgen.models.interfaces import LatentGenerator
from kerasgen.layers import build_conv_decoder
from kerasgen.layers import build_conv_encoder
from kerasgen.layers.conv_stacks import dcgan_initializer
from kerasgen.losses import discriminator_loss
from kerasgen.losses import generator_loss
from kerasgen.losses import gradient_penalty
from kerasgen.training import GenerativeModel
from kerasgen.training import UpdateStep
from kerasgen.models.registry import register_family
from kerasgen.training.replicas import per_example


@keras.saving.register_keras_serializable(package="kerasgen")
class ClipValue(keras.constraints.Constraint):
    """Clips every weight to [-clip_value, clip_value] (WGAN's constraint).

    Keras optimizers apply a variable's constraint right after each update,
    on TensorFlow and in JAX's stateless update alike.

    Args:
        clip_value: float. c. Defaults to 0.01.

    Example:

    ```python
    import numpy as np
    ClipValue(0.01)(np.array([-1.0, 0.005, 1.0]))  # [-0.01, 0.005, 0.01]
    ```
    """

    def __init__(self, clip_value=0.01):
        self.clip_value = float(clip_value)

    def __call__(self, w):
        return ops.clip(w, -self.clip_value, self.clip_value)

    def get_config(self):
        return {"clip_value": self.clip_value}


# --- Networks -----------------------------------------------------------------


def build_critic(image_size, channels, filters=64):
    """The critic: the DCGAN encoder without BatchNorm, one linear score.

    `Conv2D(4, stride 2) -> LeakyReLU(0.2)` per stage (`resolution_plan`),
    doubling the width, then `Dense(1)` with no bias and no sigmoid. The
    bias is left out because a constant added to f cancels in
    `E[f(G(z))] - E[f(x)]` and in the gradient penalty: it would never
    receive a gradient.

    Example:

    ```python
    build_critic(28, 1, filters=8).output_shape  # (None, 1)
    ```
    """
    encoder = build_conv_encoder(
        image_size, channels, output_dim=1, filters=filters, norm=None,
        name="critic",
    )
    features = encoder.get_layer("head").input
    score = layers.Dense(1, use_bias=False, kernel_initializer=dcgan_initializer(),
                         dtype="float32", name="score")(features)
    return keras.Model(encoder.input, score, name="critic")


class WassersteinGAN(LatentGenerator, GenerativeModel):
    """What WGAN and WGAN-GP share: networks, losses, steps, sampling.

    Not a family of its own: it has no constructor and no way to keep the
    critic Lipschitz. `WGAN` and `WGANGP` call `_init_wasserstein` and add
    theirs (weight clipping, gradient penalty).
    """

    ema_network = "generator"

    def _init_wasserstein(
        self, image_size, channels, latent_dim, generator_filters,
        critic_filters, n_critic, learning_rate, ema_decay, seed, **kwargs,
    ):
        GenerativeModel.__init__(self, ema_decay=ema_decay, seed=seed, **kwargs)
        if channels not in (1, 3):
            raise ValueError(f"`channels` must be 1 or 3. Received: channels={channels}")
        if int(n_critic) < 1:
            raise ValueError(f"`n_critic` must be at least 1. Received: n_critic={n_critic}")

        # === Layers ===
        self.generator = build_conv_decoder(
            latent_dim, image_size, channels, filters=generator_filters,
            name="generator",
        )
        self.critic = build_critic(image_size, channels, critic_filters)

        # === Config ===
        self.image_size = image_size
        self.channels = channels
        self.latent_dim = latent_dim
        self.generator_filters = generator_filters
        self.critic_filters = critic_filters
        self.n_critic = int(n_critic)
        self.learning_rate = learning_rate

    # --- Losses ---------------------------------------------------------------

    def _latents(self, batch_size):
        return per_example(keras.random.normal,
            (batch_size, self.latent_dim), seed=self.seed_generator
        )

    def fake_samples(self, latents, labels=None):
        """G(z) in training mode; a conditional subclass uses `labels`."""
        return self.generator(latents, training=True)

    def critic_output(self, samples, labels=None):
        """f(x) in training mode; a conditional subclass uses `labels`."""
        return self.critic(samples, training=True)

    def critic_scores(self, images, labels=None):
        """`(fake, f(x), f(G(z)))` for a real batch and as many latents."""
        fake = self.fake_samples(self._latents(ops.shape(images)[0]), labels)
        return fake, self.critic_output(images, labels), self.critic_output(fake, labels)

    def critic_step_loss(self, images, labels=None):
        """The critic's loss `E[f(G(z))] - E[f(x)]` (WGAN eq. 3, negated)."""
        _, real_scores, fake_scores = self.critic_scores(images, labels)
        loss = discriminator_loss(real_scores, fake_scores, "wasserstein")
        return loss, {"d_loss": loss}

    def generator_step_loss(self, images, labels=None):
        """The generator's loss `-E[f(G(z))]` on a fresh batch of latents."""
        fake = self.fake_samples(self._latents(ops.shape(images)[0]), labels)
        loss = generator_loss(self.critic_output(fake, labels), "wasserstein")
        return loss, {"g_loss": loss}

    # --- Update steps ---------------------------------------------------------

    def update_steps(self):
        return [
            UpdateStep("critic", self.critic_step_loss, ("critic",),
                       repeat=self.n_critic),
            UpdateStep("generator", self.generator_step_loss, ("generator",)),
        ]

    # --- Sampling (the GAN's: z ~ N(0, I) -> generator) -------------------------

    call = GAN.call
    decode_tensor = GAN.decode_tensor

    # --- Config -----------------------------------------------------------------

    def get_config(self):
        config = super().get_config()
        config.update(
            image_size=self.image_size,
            channels=self.channels,
            latent_dim=self.latent_dim,
            generator_filters=self.generator_filters,
            critic_filters=self.critic_filters,
            n_critic=self.n_critic,
            learning_rate=self.learning_rate,
        )
        return config


@register_family("wgan")
class WGAN(WassersteinGAN):
    """Wasserstein GAN with weight clipping (Arjovsky et al. 2017).

    Args:
        image_size: int. Height and width of the images. Defaults to 28.
        channels: int. 1 (grey) or 3 (RGB). Defaults to 1.
        latent_dim: int. Size of z. Defaults to 100.
        generator_filters: int. Width of the generator's last hidden stage.
            Defaults to 64.
        critic_filters: int. Width of the critic's first stage. Defaults
            to 64.
        n_critic: int. Critic updates per generator update. Defaults to 5.
        clip_value: float. c: critic weights are clipped to [-c, c] after
            every critic update. Defaults to 0.01.
        learning_rate: float. RMSprop learning rate of both networks.
            Defaults to 5e-5.
        ema_decay: float or None. Average of the generator's weights used
            for sampling. Defaults to None.
        seed: int or None. Seeds the latents drawn in training.

    Reference:
        Arjovsky et al. 2017, https://arxiv.org/abs/1701.07875

    Example:

    ```python
    import numpy as np
    model = WGAN(image_size=8, latent_dim=4, generator_filters=4,
                 critic_filters=4, n_critic=2)
    model.compile()
    images = np.random.uniform(-1, 1, (16, 8, 8, 1)).astype("float32")
    model.fit(images, batch_size=8, epochs=1, verbose=0)
    model.sample(4, seed=0).shape  # (4, 8, 8, 1)
    ```
    """

    description = "WGAN (Arjovsky et al. 2017): critic with weight clipping."

    def __init__(
        self,
        image_size=28,
        channels=1,
        latent_dim=100,
        generator_filters=64,
        critic_filters=64,
        n_critic=5,
        clip_value=0.01,
        learning_rate=5e-5,
        ema_decay=None,
        seed=None,
        **kwargs,
    ):
        self._init_wasserstein(
            image_size, channels, latent_dim, generator_filters, critic_filters,
            n_critic, learning_rate, ema_decay, seed, **kwargs,
        )
        if float(clip_value) <= 0:
            raise ValueError(
                f"`clip_value` must be positive. Received: clip_value={clip_value}"
            )
        # === Constraint ===
        self.clip_value = float(clip_value)
        for variable in self.critic.trainable_variables:
            variable.constraint = ClipValue(self.clip_value)
        self._finish_networks()

    def default_optimizers(self):
        return {
            name: keras.optimizers.RMSprop(self.learning_rate, name=f"{name}_rmsprop")
            for name in ("critic", "generator")
        }

    def get_config(self):
        config = super().get_config()
        config["clip_value"] = self.clip_value
        return config


class GradientPenaltyCritic:
    """WGAN-GP's critic loss and optimizers, for any `WassersteinGAN`:
    `E[f(G(z))] - E[f(x)] + lambda_gp * gp`, Adam(learning_rate, beta_1,
    beta_2) for both networks. The family sets `lambda_gp`, `beta_1` and
    `beta_2`; `WGANGP` (images) and `WaveGAN` (audio) use it."""

    def critic_step_loss(self, images, labels=None):
        """`E[f(G(z))] - E[f(x)] + lambda_gp * gp` (WGAN-GP, eq. 3)."""
        fake, real_scores, fake_scores = self.critic_scores(images, labels)
        wasserstein = discriminator_loss(real_scores, fake_scores, "wasserstein")
        gp = gradient_penalty(
            lambda x, training=True: self.critic_output(x, labels), images, fake,
            seed_generator=self.seed_generator,
        )
        loss = wasserstein + self.lambda_gp * gp
        return loss, {"d_loss": loss, "gp": gp}

    def default_optimizers(self):
        return {
            name: keras.optimizers.Adam(
                self.learning_rate, beta_1=self.beta_1, beta_2=self.beta_2,
                name=f"{name}_adam",
            )
            for name in ("critic", "generator")
        }


@register_family("wgan-gp")
class WGANGP(GradientPenaltyCritic, WassersteinGAN):
    """WGAN with gradient penalty (Gulrajani et al. 2017).

    The critic's loss adds `lambda_gp * E[(||grad f(x_hat)||_2 - 1)^2]` at
    random interpolates `x_hat` between real and generated images; no
    weight clipping. Logs `gp`, the penalty before the `lambda_gp` factor.

    Args:
        image_size: int. Height and width of the images. Defaults to 28.
        channels: int. 1 (grey) or 3 (RGB). Defaults to 1.
        latent_dim: int. Size of z. Defaults to 100.
        generator_filters: int. Width of the generator's last hidden stage.
            Defaults to 64.
        critic_filters: int. Width of the critic's first stage. Defaults
            to 64.
        n_critic: int. Critic updates per generator update. Defaults to 5.
        lambda_gp: float. Weight of the gradient penalty. Defaults to 10.
        learning_rate: float. Adam learning rate. Defaults to 1e-4.
        beta_1: float. Adam beta_1. Defaults to 0.0.
        beta_2: float. Adam beta_2. Defaults to 0.9.
        ema_decay: float or None. Defaults to None.
        seed: int or None. Seeds the latents and interpolation weights.

    Reference:
        Gulrajani et al. 2017, https://arxiv.org/abs/1704.00028

    Example:

    ```python
    import numpy as np
    model = WGANGP(image_size=8, latent_dim=4, generator_filters=4,
                   critic_filters=4, n_critic=2)
    model.compile()
    images = np.random.uniform(-1, 1, (16, 8, 8, 1)).astype("float32")
    model.fit(images, batch_size=8, epochs=1, verbose=0)
    model.sample(4, seed=0).shape  # (4, 8, 8, 1)
    ```
    """

    description = "WGAN-GP (Gulrajani et al. 2017): critic with a gradient penalty."

    def __init__(
        self,
        image_size=28,
        channels=1,
        latent_dim=100,
        generator_filters=64,
        critic_filters=64,
        n_critic=5,
        lambda_gp=10.0,
        learning_rate=1e-4,
        beta_1=0.0,
        beta_2=0.9,
        ema_decay=None,
        seed=None,
        **kwargs,
    ):
        self._init_wasserstein(
            image_size, channels, latent_dim, generator_filters, critic_filters,
            n_critic, learning_rate, ema_decay, seed, **kwargs,
        )
        self.lambda_gp = float(lambda_gp)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self._finish_networks()

    def get_config(self):
        config = super().get_config()
        config.update(lambda_gp=self.lambda_gp, beta_1=self.beta_1,
                      beta_2=self.beta_2)
        return config
