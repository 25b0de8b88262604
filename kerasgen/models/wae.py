"""Wasserstein autoencoder (Tolstikhin et al. 2018): an autoencoder whose
codes, as a whole, are pushed to the prior.

- Wasserstein Auto-Encoders, ICLR 2018: https://arxiv.org/abs/1711.01558

Notation:

| code                      | paper                                      |
| ------------------------- | ------------------------------------------ |
| `encoder(x)`              | Q(Z given X), deterministic here            |
| `decoder(z)`              | G(Z)                                       |
| `regularization_weight`   | lambda                                     |
| `maximum_mean_discrepancy`| MMD_k(P_Z, Q_Z) (WAE-MMD, Algorithm 2)     |
| `latent_discriminator`    | D_gamma (WAE-GAN, Algorithm 1)             |

Objective (eq. 4), averaged over a batch:

    c(x, G(Q(x))) + lambda * D_Z(Q_Z, P_Z),   P_Z = N(0, I)

where a VAE's KL pulls every image's posterior to the prior, the WAE's
D_Z compares the aggregate of the codes with it, so codes of different
images need not overlap and reconstructions stay sharp. D_Z is

- `regularizer="mmd"`: the unbiased MMD estimate with the inverse
  multiquadratic kernel k(x, y) = C / (C + ||x - y||^2), summed over
  C = s * 2 * d * sigma_z^2 for s in 0.1 ... 10 (the authors' code); one
  gradient step for encoder and decoder;
- `regularizer="gan"`: a discriminator on the latent space tells prior
  samples from codes (it gets its own step, first); the encoder gets lambda
  times the non-saturating GAN loss of its codes.

c is the squared error (the paper's c(x, y) = ||x - y||^2), as 1/2 of the
sum of squares on the [-1, 1] scale (`reconstruction="gaussian"`). The
paper's MNIST setting: latent size 8, lambda = 10 (MMD) and 1 (GAN),
Adam at 1e-3 (5e-4 for the discriminator), batch 100.
Deviations: the encoder and decoder are kerasgen's DCGAN-shaped stacks,
without batch normalization, at 32 filters rather than 1,024.
"""

import keras
from keras import layers
from keras import ops

from kerasgen.losses import discriminator_loss
from kerasgen.losses import generator_loss
from kerasgen.losses import maximum_mean_discrepancy
from kerasgen.models.autoencoder import Autoencoder
from kerasgen.models.registry import register_family
from kerasgen.training import UpdateStep
from kerasgen.training.replicas import per_example

REGULARIZERS = ("mmd", "gan")


def build_latent_discriminator(latent_dim, units=512, num_layers=4, name="latent_discriminator"):
    """WAE-GAN's D_gamma: an MLP from a code to one logit (prior = real).

    Example:

    ```python
    build_latent_discriminator(8, units=16, num_layers=2).output_shape  # (None, 1)
    ```
    """
    inputs = keras.Input((latent_dim,), name="z")
    x = inputs
    for i in range(num_layers):
        x = layers.Dense(units, activation="relu", name=f"dense_{i}")(x)
    outputs = layers.Dense(1, name="logit")(x)
    return keras.Model(inputs, outputs, name=name)


@register_family("wae")
class WAE(Autoencoder):
    """Wasserstein autoencoder: WAE-MMD (inverse multiquadratic kernel) or WAE-GAN.

    Args:
        image_size: int. Height and width of the images. Defaults to 28.
        channels: int. 1 or 3. Defaults to 1.
        latent_dim: int. Size of z. Defaults to 8 (the paper's MNIST).
        filters: int. Width of the encoder's first stage (and the decoder's
            last). Defaults to 32.
        regularizer: str. `"mmd"` or `"gan"`. Defaults to `"mmd"`.
        regularization_weight: float or None. lambda; None is the paper's
            for the regularizer (10 for MMD, 1 for GAN). Defaults to None.
        discriminator_units: int. WAE-GAN: width of D_gamma's layers.
            Defaults to 512.
        discriminator_layers: int. WAE-GAN: hidden layers of D_gamma.
            Defaults to 4.
        reconstruction: str. The cost c: `"gaussian"` (squared error on
            [-1, 1], the paper's) or `"bernoulli"` (cross-entropy).
            Defaults to `"gaussian"`.
        learning_rate: float. Adam's, for encoder and decoder. Defaults to
            1e-3.
        discriminator_learning_rate: float. Adam's, for D_gamma. Defaults
            to 5e-4.
        ema_decay: float or None. Average of the decoder's weights used for
            decoding. Defaults to None.
        seed: int or None. Seeds the prior samples.

    Reference:
        Tolstikhin et al. 2018, https://arxiv.org/abs/1711.01558

    Example:

    ```python
    import numpy as np
    model = WAE(image_size=8, latent_dim=2, filters=8, regularizer="gan",
                discriminator_units=8, discriminator_layers=1)
    model.compile()
    images = np.random.uniform(-1, 1, (16, 8, 8, 1)).astype("float32")
    model.fit(images, batch_size=8, epochs=1, verbose=0)
    model.sample(3, seed=0).shape  # (3, 8, 8, 1)
    ```
    """

    description = "Wasserstein autoencoder (Tolstikhin et al. 2018): WAE-MMD or WAE-GAN."
    default_batch_size = 100

    def __init__(
        self,
        image_size=28,
        channels=1,
        latent_dim=8,
        filters=32,
        regularizer="mmd",
        regularization_weight=None,
        discriminator_units=512,
        discriminator_layers=4,
        reconstruction="gaussian",
        learning_rate=1e-3,
        discriminator_learning_rate=5e-4,
        ema_decay=None,
        seed=None,
        **kwargs,
    ):
        if regularizer not in REGULARIZERS:
            raise ValueError(f"`regularizer` is one of {REGULARIZERS}. "
                             f"Received: regularizer={regularizer!r}")
        if regularization_weight is not None and not float(regularization_weight) >= 0.0:
            raise ValueError("`regularization_weight` must be >= 0. "
                             f"Received: regularization_weight={regularization_weight!r}")
        super().__init__(image_size=image_size, channels=channels, latent_dim=latent_dim,
                         filters=filters, reconstruction=reconstruction,
                         learning_rate=learning_rate, ema_decay=ema_decay, seed=seed,
                         **kwargs)
        self.regularizer = regularizer
        self.regularization_weight = regularization_weight
        self.discriminator_units = discriminator_units
        self.discriminator_layers = discriminator_layers
        self.discriminator_learning_rate = discriminator_learning_rate
        if regularizer == "gan":
            self.latent_discriminator = build_latent_discriminator(
                latent_dim, discriminator_units, discriminator_layers)

    @property
    def weight(self):
        """lambda, the regularizer's weight."""
        if self.regularization_weight is not None:
            return float(self.regularization_weight)
        return 10.0 if self.regularizer == "mmd" else 1.0

    def prior_samples(self, n):
        return per_example(keras.random.normal, (n, self.latent_dim), seed=self.seed_generator)

    # --- Losses -------------------------------------------------------------------

    def autoencoder_loss(self, images, labels=None):
        """c(x, G(Q(x))) + lambda * D_Z(Q_Z, P_Z) for the batch."""
        z, cost = self.reconstruct_and_code(images)
        reconstruction = ops.mean(cost)
        if self.regularizer == "mmd":
            penalty = maximum_mean_discrepancy(self.prior_samples(ops.shape(z)[0]), z)
            name = "mmd"
        else:
            penalty = generator_loss(self.latent_discriminator(z, training=False))
            name = "encoder_gan_loss"
        loss = reconstruction + self.weight * penalty
        return loss, {"loss": loss, "reconstruction": reconstruction, name: penalty}

    def discriminator_step_loss(self, images, labels=None):
        """WAE-GAN: D_gamma tells prior samples (real) from the codes."""
        z = ops.stop_gradient(ops.cast(self.encoder(images, training=True), "float32"))
        real = self.latent_discriminator(self.prior_samples(ops.shape(z)[0]), training=True)
        fake = self.latent_discriminator(z, training=True)
        loss = self.weight * discriminator_loss(real, fake)
        return loss, {"discriminator_loss": loss}

    # --- Update steps ---------------------------------------------------------

    def update_steps(self):
        steps = [UpdateStep("autoencoder", self.autoencoder_loss, ("encoder", "decoder"))]
        if self.regularizer == "gan":
            steps.insert(0, UpdateStep("discriminator", self.discriminator_step_loss,
                                       ("latent_discriminator",)))
        return steps

    def default_optimizers(self):
        optimizers = super().default_optimizers()
        if self.regularizer == "gan":
            optimizers["discriminator"] = keras.optimizers.Adam(
                self.discriminator_learning_rate, beta_1=0.5, name="discriminator_adam")
        return optimizers

    # --- Config -----------------------------------------------------------------

    def get_config(self):
        config = super().get_config()
        for key in ("corruption", "corruption_level"):  # a WAE does not corrupt
            config.pop(key)
        config.update(
            regularizer=self.regularizer,
            regularization_weight=self.regularization_weight,
            discriminator_units=self.discriminator_units,
            discriminator_layers=self.discriminator_layers,
            discriminator_learning_rate=self.discriminator_learning_rate,
        )
        return config
