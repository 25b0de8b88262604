"""GAN (Goodfellow et al. 2014) and DCGAN (Radford et al. 2015).

- Generative Adversarial Networks: https://arxiv.org/abs/1406.2661
- Unsupervised Representation Learning with Deep Convolutional Generative
  Adversarial Networks: https://arxiv.org/abs/1511.06434

One family with two architectures: `GAN` uses multilayer perceptrons, as the
first paper did; `DCGAN` uses the strided-convolution generator and
discriminator of the second. The objective is the same.

Notation:

| code                  | paper        |
| --------------------- | ------------ |
| `latent_dim`          | dim of z     |
| `generator(z)`        | G(z)         |
| `discriminator(x)`    | logit of D(x)|

Objective (Goodfellow et al., eq. 1), with the label convention real = 1:

    min_G max_D  E_x[log D(x)] + E_z[log(1 - D(G(z)))]

The discriminator takes one step on that objective, then the generator one
step on the non-saturating form `max_G E_z[log D(G(z))]` (section 3), for
every batch (Algorithm 1 with k = 1). `loss` picks another adversarial
objective from `kerasgen.losses` (`lsgan`, `hinge`).

`r1_gamma > 0` adds the R1 penalty of Mescheder et al. 2018 (eq. 9,
https://arxiv.org/abs/1801.04406) to the discriminator's loss:
`gamma / 2 * E_x[||grad_x D(x)||^2]` on real images (D's logits).

Deviations: the MLP networks use LeakyReLU and no maxout or dropout (the
2014 paper's maxout discriminator is not what later work uses); the DCGAN
networks follow Radford et al. (BatchNorm everywhere but the generator's
output and the discriminator's input, ReLU / LeakyReLU(0.2), Adam(2e-4,
beta_1=0.5), N(0, 0.02) initial weights) with 4x4 kernels, and the
discriminator ends in a dense layer rather than a convolution, so that any
resolution from `resolution_plan` works.
"""

import numpy as np
import keras
from keras import layers
from keras import ops

from kerasgen.layers import build_conv_decoder
from kerasgen.layers import build_conv_encoder
from kerasgen.losses import ADVERSARIAL_LOSSES
from kerasgen.losses import discriminator_loss
from kerasgen.losses import generator_loss
from kerasgen.losses import r1_penalty
from kerasgen.models.interfaces import LatentGenerator
from kerasgen.training import GenerativeModel
from kerasgen.training import UpdateStep
from kerasgen.models.registry import register_family
from kerasgen.training.replicas import per_example

ARCHITECTURES = ("mlp", "dcgan")


# --- Networks -----------------------------------------------------------------


def build_mlp_generator(latent_dim, image_shape, hidden_units=(256, 512, 1024)):
    """MLP generator: z -> dense layers -> tanh image.

    Example:

    ```python
    build_mlp_generator(64, (28, 28, 1)).output_shape  # (None, 28, 28, 1)
    ```
    """
    inputs = keras.Input((latent_dim,), name="z")
    x = inputs
    for i, units in enumerate(hidden_units):
        x = layers.Dense(units, name=f"dense_{i}")(x)
        x = layers.LeakyReLU(0.2)(x)
    x = layers.Dense(int(np.prod(image_shape)), name="to_image")(x)
    x = layers.Activation("tanh", dtype="float32", name="output")(x)
    outputs = layers.Reshape(image_shape, dtype="float32")(x)
    return keras.Model(inputs, outputs, name="generator")


def build_mlp_discriminator(image_shape, hidden_units=(512, 256)):
    """MLP discriminator: image -> dense layers -> one logit.

    Example:

    ```python
    build_mlp_discriminator((28, 28, 1)).output_shape  # (None, 1)
    ```
    """
    inputs = keras.Input(image_shape, name="image")
    x = layers.Flatten()(inputs)
    for i, units in enumerate(hidden_units):
        x = layers.Dense(units, name=f"dense_{i}")(x)
        x = layers.LeakyReLU(0.2)(x)
    outputs = layers.Dense(1, dtype="float32", name="logit")(x)
    return keras.Model(inputs, outputs, name="discriminator")


# --- Update steps (shared by the GAN-objective families) -------------------------


class AlternatingSteps:
    """One discriminator step, then one generator step, per batch.

    Algorithm 1 of Goodfellow et al. 2014 with k = 1, each player with its
    own Adam(`learning_rate`, `beta_1`) (Radford et al.'s settings by
    default). A family mixes this in and writes `discriminator_step_loss`
    and `generator_step_loss`; `GAN` and `ConditionalGAN` share it.
    """

    def update_steps(self):
        return [
            UpdateStep("discriminator", self.discriminator_step_loss, ("discriminator",)),
            UpdateStep("generator", self.generator_step_loss, ("generator",)),
        ]

    def default_optimizers(self):
        return {
            name: keras.optimizers.Adam(
                self.learning_rate, beta_1=self.beta_1, name=f"{name}_adam"
            )
            for name in ("discriminator", "generator")
        }


# --- The model ------------------------------------------------------------------


@register_family("gan")
class GAN(LatentGenerator, AlternatingSteps, GenerativeModel):
    """Generative adversarial network with MLP (or DCGAN) networks.

    Args:
        image_size: int. Height and width of the images. Defaults to 28.
        channels: int. 1 (grey) or 3 (RGB). Defaults to 1.
        latent_dim: int. Size of z. Defaults to 100.
        architecture: str. The networks: `"mlp"` (the 2014 paper's dense
            layers) or `"dcgan"` (strided convolutions). Defaults to
            `"mlp"` (and to `"dcgan"` in `DCGAN`).
        generator_filters: int. DCGAN: width of the generator's last hidden
            stage; MLP: width of its first hidden layer (then x2, x4).
            Defaults to 64.
        discriminator_filters: int. DCGAN: width of the discriminator's first
            stage; MLP: width of its last hidden layer (before it, x2).
            Defaults to 64.
        loss: str. Adversarial objective, one of `vanilla`, `lsgan`, `hinge`,
            `wasserstein`. Defaults to `"vanilla"`.
        learning_rate: float. Adam learning rate of both networks. Defaults
            to 2e-4.
        beta_1: float. Adam beta_1. Defaults to 0.5.
        r1_gamma: float. Weight gamma of the R1 penalty
            `gamma / 2 * E[||grad_x D(x)||^2]` on real images, added to the
            discriminator's loss and logged (before the gamma / 2 factor)
            as `r1`. 0 turns it off. Defaults to 0.0.
        ema_decay: float or None. Average of the generator's weights used
            for sampling. Defaults to None.
        seed: int or None. Seeds the latents drawn in training.

    Reference:
        Goodfellow et al. 2014, https://arxiv.org/abs/1406.2661

    Example:

    ```python
    import numpy as np
    model = GAN(image_size=8, latent_dim=8, generator_filters=16,
                discriminator_filters=16)
    model.compile()
    images = np.random.uniform(-1, 1, (16, 8, 8, 1)).astype("float32")
    model.fit(images, batch_size=8, epochs=1, verbose=0)
    model.sample(4, seed=0).shape  # (4, 8, 8, 1)
    ```
    """

    description = "GAN (Goodfellow et al. 2014): MLP generator and discriminator."
    ema_network = "generator"

    def __init__(
        self,
        image_size=28,
        channels=1,
        latent_dim=100,
        architecture="mlp",
        generator_filters=64,
        discriminator_filters=64,
        loss="vanilla",
        learning_rate=2e-4,
        beta_1=0.5,
        r1_gamma=0.0,
        ema_decay=None,
        seed=None,
        **kwargs,
    ):
        super().__init__(ema_decay=ema_decay, seed=seed, **kwargs)
        if architecture not in ARCHITECTURES:
            raise ValueError(
                f"Unknown architecture. Expected one of {ARCHITECTURES}. "
                f"Received: architecture={architecture!r}"
            )
        if loss not in ADVERSARIAL_LOSSES:
            raise ValueError(
                f"Unknown loss. Expected one of {ADVERSARIAL_LOSSES}. "
                f"Received: loss={loss!r}"
            )
        if channels not in (1, 3):
            raise ValueError(f"`channels` must be 1 or 3. Received: channels={channels}")
        if float(r1_gamma) < 0:
            raise ValueError(
                f"`r1_gamma` must be 0 (off) or positive. Received: r1_gamma={r1_gamma}"
            )

        # === Layers ===
        image_shape = (image_size, image_size, channels)
        if architecture == "dcgan":
            self.generator = build_conv_decoder(
                latent_dim, image_size, channels, filters=generator_filters,
                name="generator",
            )
            self.discriminator = build_conv_encoder(
                image_size, channels, output_dim=1,
                filters=discriminator_filters, name="discriminator",
            )
        else:
            g = generator_filters * 4
            self.generator = build_mlp_generator(
                latent_dim, image_shape, hidden_units=(g, g * 2, g * 4)
            )
            d = discriminator_filters * 4
            self.discriminator = build_mlp_discriminator(
                image_shape, hidden_units=(d * 2, d)
            )

        # === Config ===
        self.image_size = image_size
        self.channels = channels
        self.latent_dim = latent_dim
        self.architecture = architecture
        self.generator_filters = generator_filters
        self.discriminator_filters = discriminator_filters
        self.loss_kind = loss
        self.learning_rate = learning_rate
        self.beta_1 = beta_1
        self.r1_gamma = float(r1_gamma)
        self._finish_networks()

    # --- Losses ---------------------------------------------------------------

    def _latents(self, batch_size):
        return per_example(keras.random.normal,
            (batch_size, self.latent_dim), seed=self.seed_generator
        )

    def discriminator_step_loss(self, images, labels=None):
        """D's loss on a real batch and as many generated images."""
        fake = self.generator(self._latents(ops.shape(images)[0]), training=True)
        real_logits = self.discriminator(images, training=True)
        fake_logits = self.discriminator(fake, training=True)
        loss = discriminator_loss(real_logits, fake_logits, self.loss_kind)
        logs = {"d_loss": loss}
        if self.r1_gamma > 0:
            r1 = r1_penalty(self.discriminator, images)
            loss = loss + 0.5 * self.r1_gamma * r1
            logs = {"d_loss": loss, "r1": r1}
        return loss, logs

    def generator_step_loss(self, images, labels=None):
        """G's (non-saturating) loss on a fresh batch of latents."""
        fake = self.generator(self._latents(ops.shape(images)[0]), training=True)
        fake_logits = self.discriminator(fake, training=True)
        loss = generator_loss(fake_logits, self.loss_kind)
        return loss, {"g_loss": loss}

    # --- Sampling -------------------------------------------------------------

    def call(self, z, training=False):
        return self.sampling_network("generator")(z, training=training)

    def decode_tensor(self, latents, labels=None):
        """G(z): images in [-1, 1] (the EMA generator when there is one).

        Example:

        ```python
        DCGAN(image_size=8, generator_filters=8).sample(2, seed=0).shape
        # (2, 8, 8, 1)
        ```
        """
        return self.sampling_network("generator")(latents, training=False)

    # --- Config -----------------------------------------------------------------

    def get_config(self):
        config = super().get_config()
        config.update(
            image_size=self.image_size,
            channels=self.channels,
            latent_dim=self.latent_dim,
            architecture=self.architecture,
            generator_filters=self.generator_filters,
            discriminator_filters=self.discriminator_filters,
            loss=self.loss_kind,
            learning_rate=self.learning_rate,
            beta_1=self.beta_1,
            r1_gamma=self.r1_gamma,
        )
        return config


@register_family("dcgan")
class DCGAN(GAN):
    """Deep convolutional GAN (Radford et al. 2015).

    A `GAN` whose architecture defaults to `"dcgan"`: stride-2 transposed
    convolutions with BatchNorm and ReLU in the generator, stride-2
    convolutions with BatchNorm and LeakyReLU(0.2) in the discriminator.
    Takes the same arguments as `GAN`.

    Reference:
        Radford et al. 2015, https://arxiv.org/abs/1511.06434

    Example:

    ```python
    import numpy as np
    model = DCGAN(image_size=8, latent_dim=8, generator_filters=8,
                  discriminator_filters=8)
    model.compile()
    images = np.random.uniform(-1, 1, (16, 8, 8, 1)).astype("float32")
    model.fit(images, batch_size=8, epochs=1, verbose=0)
    model.sample(4, seed=0).shape  # (4, 8, 8, 1)
    ```
    """

    description = "DCGAN (Radford et al. 2015): convolutional GAN with BatchNorm."

    def __init__(self, *, architecture="dcgan", **kwargs):
        super().__init__(architecture=architecture, **kwargs)
