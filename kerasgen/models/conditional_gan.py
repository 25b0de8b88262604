"""Conditional GAN (Mirza and Osindero 2014) and AC-GAN (Odena et al. 2017).

- Conditional Generative Adversarial Nets: https://arxiv.org/abs/1411.1784
- Conditional Image Synthesis with Auxiliary Classifier GANs:
  https://arxiv.org/abs/1610.09585

Both generators draw an image of a chosen class y: G(z, y). They differ in
how the discriminator uses the class.

- `ConditionalGAN`: the discriminator sees the class too, D(x, y), and
  judges whether x is a real image *of class y* (Mirza and Osindero, eq. 2).
- `ACGAN`: the discriminator sees only the image and has two heads: the
  probability that x is real, P(S | x), and a class distribution,
  P(C | x). Both players also maximize the log-likelihood of the correct
  class (Odena et al., eq. 1-2).

Notation:

| code                         | paper                              |
| ---------------------------- | ---------------------------------- |
| `latent_dim`                 | dim of z                           |
| `num_classes`                | number of classes K (y or c)       |
| `generator([z, y])`          | G(z \\| y) / X_fake = G(c, z)       |
| `discriminator([x, y])`      | logit of D(x \\| y) (cGAN)          |
| `discriminator(x)[:, 0]`     | logit of P(S = real \\| x) (AC-GAN) |
| `discriminator(x)[:, 1:]`    | logits of P(C \\| x) (AC-GAN)       |

Objectives, label convention real = 1 (`kerasgen.losses`), with the
non-saturating generator loss:

    cGAN   D: -log D(x|y) - log(1 - D(G(z|y')|y'))       (eq. 2)
           G: -log D(G(z|y')|y')
    AC-GAN L_S = E[log P(S=real|x_real)] + E[log P(S=fake|x_fake)]
           L_C = E[log P(C=c|x_real)]    + E[log P(C=c'|x_fake)]
           D maximizes L_S + L_C; G maximizes L_C - L_S      (eq. 2-3)

Here `y`, `c` are the labels of the real batch and `y'`, `c'` are drawn
uniformly from the K classes for the generated batch. In AC-GAN the real
half of L_C does not depend on G, so the generator's loss holds only the
fake half: `-log D_S(G(z, c')) - log P(C=c' | G(z, c'))`.

Deviations:
- Networks are the DCGAN stacks of `kerasgen.layers` (Radford et al.:
  BatchNorm, Adam(2e-4, beta_1=0.5), N(0, 0.02) weights) rather than the
  2014 paper's maxout MLPs or AC-GAN's ImageNet networks.
- The label enters the generator as a learned embedding (`embedding_dim`)
  concatenated with z, and the cGAN discriminator as a learned
  `image_size x image_size` map stacked on the image as one more channel;
  the 2014 paper fed one-hot vectors into hidden layers of MLPs.
- AC-GAN's discriminator is one network with `1 + num_classes` outputs (a
  shared body and a linear head), with no dropout.
"""

import numpy as np
import keras
from keras import layers
from keras import ops

from kerasgen.models.gan import AlternatingSteps
from kerasgen.models.interfaces import LatentGenerator
from kerasgen.layers import build_conv_decoder
from kerasgen.layers import build_conv_encoder
from kerasgen.losses import ADVERSARIAL_LOSSES
from kerasgen.losses import discriminator_loss
from kerasgen.losses import generator_loss
from kerasgen.training import GenerativeModel
from kerasgen.models.registry import register_family
from kerasgen.training.replicas import per_example


# --- Networks -----------------------------------------------------------------


def build_conditional_generator(latent_dim, num_classes, image_size, channels,
                                filters=64, embedding_dim=50):
    """G(z, y): `[z, embedding(y)]` -> the DCGAN generator.

    Example:

    ```python
    g = build_conditional_generator(8, 10, 28, 1, filters=8)
    g.output_shape  # (None, 28, 28, 1)
    ```
    """
    z = keras.Input((latent_dim,), name="z")
    label = keras.Input((), dtype="int32", name="label")
    embedded = layers.Embedding(num_classes, embedding_dim,
                                name="label_embedding")(label)
    h = layers.Concatenate(name="z_and_label")([z, embedded])
    decoder = build_conv_decoder(latent_dim + embedding_dim, image_size, channels,
                                 filters=filters, name="decoder")
    return keras.Model([z, label], decoder(h), name="generator")


def build_conditional_discriminator(num_classes, image_size, channels, filters=64):
    """D(x, y): the image with a learned label map as one more channel ->
    the DCGAN discriminator -> one logit.

    Example:

    ```python
    d = build_conditional_discriminator(10, 28, 1, filters=8)
    d.output_shape  # (None, 1)
    ```
    """
    image = keras.Input((image_size, image_size, channels), name="image")
    label = keras.Input((), dtype="int32", name="label")
    label_map = layers.Embedding(num_classes, image_size * image_size,
                                 name="label_map")(label)
    label_map = layers.Reshape((image_size, image_size, 1))(label_map)
    h = layers.Concatenate(name="image_and_label")([image, label_map])
    encoder = build_conv_encoder(image_size, channels + 1, output_dim=1,
                                 filters=filters, name="encoder")
    return keras.Model([image, label], encoder(h), name="discriminator")


# --- Losses ---------------------------------------------------------------------


def auxiliary_classifier_loss(labels, class_logits):
    """AC-GAN's class term `-E[log P(C = c | x)]`: mean cross-entropy.

    Args:
        labels: int tensor `(batch,)`, the classes c.
        class_logits: tensor `(batch, num_classes)`, logits of P(C | x).

    Returns:
        A scalar tensor.

    Example:

    ```python
    import numpy as np
    float(auxiliary_classifier_loss(np.array([0]), np.zeros((1, 4))))  # log 4
    ```
    """
    labels = ops.cast(labels, "int32")
    class_logits = ops.cast(class_logits, "float32")
    return ops.mean(ops.sparse_categorical_crossentropy(
        labels, class_logits, from_logits=True))


# --- The models -------------------------------------------------------------------


@register_family("cgan")
class ConditionalGAN(LatentGenerator, AlternatingSteps, GenerativeModel):
    """Class-conditional GAN (Mirza and Osindero 2014) on DCGAN stacks.

    Train with `(images, labels)` batches, labels int in [0, num_classes).

    Args:
        image_size: int. Height and width of the images. Defaults to 28.
        channels: int. 1 (grey) or 3 (RGB). Defaults to 1.
        latent_dim: int. Size of z. Defaults to 100.
        num_classes: int. Number of classes K. Defaults to 10.
        embedding_dim: int. Size of the generator's label embedding.
            Defaults to 50.
        generator_filters: int. Width of the generator's last hidden stage.
            Defaults to 64.
        discriminator_filters: int. Width of the discriminator's first
            stage. Defaults to 64.
        loss: str. Adversarial objective, one of `vanilla`, `lsgan`,
            `hinge`, `wasserstein`. Defaults to `"vanilla"`.
        learning_rate: float. Adam learning rate. Defaults to 2e-4.
        beta_1: float. Adam beta_1. Defaults to 0.5.
        ema_decay: float or None. Defaults to None.
        seed: int or None. Seeds the latents and labels drawn in training.

    Reference:
        Mirza and Osindero 2014, https://arxiv.org/abs/1411.1784

    Example:

    ```python
    import numpy as np
    model = ConditionalGAN(image_size=8, num_classes=3, latent_dim=4,
                           generator_filters=4, discriminator_filters=4)
    model.compile()
    images = np.random.uniform(-1, 1, (16, 8, 8, 1)).astype("float32")
    labels = np.arange(16) % 3
    model.fit(images, labels, batch_size=8, epochs=1, verbose=0)
    model.sample(6, seed=0).shape  # (6, 8, 8, 1), two of each class
    ```
    """

    description = "cGAN (Mirza and Osindero 2014): labels into G and D."
    ema_network = "generator"

    def __init__(
        self,
        image_size=28,
        channels=1,
        latent_dim=100,
        num_classes=10,
        embedding_dim=50,
        generator_filters=64,
        discriminator_filters=64,
        loss="vanilla",
        learning_rate=2e-4,
        beta_1=0.5,
        ema_decay=None,
        seed=None,
        **kwargs,
    ):
        super().__init__(ema_decay=ema_decay, seed=seed, **kwargs)
        if loss not in ADVERSARIAL_LOSSES:
            raise ValueError(
                f"Unknown loss. Expected one of {ADVERSARIAL_LOSSES}. "
                f"Received: loss={loss!r}"
            )
        if channels not in (1, 3):
            raise ValueError(f"`channels` must be 1 or 3. Received: channels={channels}")
        if int(num_classes) < 2:
            raise ValueError(
                f"`num_classes` must be at least 2. Received: num_classes={num_classes}"
            )

        # === Layers ===
        self.generator = build_conditional_generator(
            latent_dim, num_classes, image_size, channels,
            filters=generator_filters, embedding_dim=embedding_dim,
        )
        self.discriminator = self.build_discriminator(
            num_classes, image_size, channels, discriminator_filters
        )

        # === Config ===
        self.image_size = image_size
        self.channels = channels
        self.latent_dim = latent_dim
        self.num_classes = int(num_classes)
        self.embedding_dim = embedding_dim
        self.generator_filters = generator_filters
        self.discriminator_filters = discriminator_filters
        self.loss_kind = loss
        self.learning_rate = learning_rate
        self.beta_1 = beta_1
        self._finish_networks()

    def build_discriminator(self, num_classes, image_size, channels, filters):
        return build_conditional_discriminator(num_classes, image_size, channels,
                                               filters)

    # --- Losses ---------------------------------------------------------------

    def generated(self, batch_size):
        """`(G(z, y'), y')` for fresh latents and uniformly drawn classes."""
        z = per_example(keras.random.normal, (batch_size, self.latent_dim), seed=self.seed_generator)
        fake_labels = per_example(keras.random.randint,
            (batch_size,), 0, self.num_classes, seed=self.seed_generator
        )
        fake_labels = ops.cast(fake_labels, "int32")
        return self.generator([z, fake_labels], training=True), fake_labels

    def discriminator_step_loss(self, images, labels):
        """D's loss on real (x, y) and generated (G(z, y'), y') pairs."""
        labels = ops.cast(labels, "int32")
        fake, fake_labels = self.generated(ops.shape(images)[0])
        real_logits = self.discriminator([images, labels], training=True)
        fake_logits = self.discriminator([fake, fake_labels], training=True)
        loss = discriminator_loss(real_logits, fake_logits, self.loss_kind)
        return loss, {"d_loss": loss}

    def generator_step_loss(self, images, labels):
        """G's non-saturating loss on fresh latents and classes."""
        fake, fake_labels = self.generated(ops.shape(images)[0])
        fake_logits = self.discriminator([fake, fake_labels], training=True)
        loss = generator_loss(fake_logits, self.loss_kind)
        return loss, {"g_loss": loss}

    # --- Sampling -------------------------------------------------------------

    def call(self, inputs, training=False):
        return self.sampling_network("generator")(inputs, training=training)

    def decode_tensor(self, latents, labels=None):
        """G(z, y): images in [-1, 1] of classes `labels`.

        Example:

        ```python
        model = ACGAN(image_size=8, num_classes=3, generator_filters=4)
        model.sample(6, seed=0).shape  # (6, 8, 8, 1)
        ```
        """
        generator = self.sampling_network("generator")
        latents = ops.convert_to_tensor(latents, "float32")
        return generator([latents, ops.cast(labels, "int32")], training=False)

    # --- Config -----------------------------------------------------------------

    def get_config(self):
        config = super().get_config()
        config.update(
            image_size=self.image_size,
            channels=self.channels,
            latent_dim=self.latent_dim,
            num_classes=self.num_classes,
            embedding_dim=self.embedding_dim,
            generator_filters=self.generator_filters,
            discriminator_filters=self.discriminator_filters,
            loss=self.loss_kind,
            learning_rate=self.learning_rate,
            beta_1=self.beta_1,
        )
        return config


@register_family("acgan")
class ACGAN(ConditionalGAN):
    """Auxiliary classifier GAN (Odena et al. 2017) on DCGAN stacks.

    The generator is `ConditionalGAN`'s; the discriminator sees only the
    image and outputs `1 + num_classes` logits: real/fake, then the class.
    Both players add the class cross-entropy to their adversarial loss.
    Logs `d_loss`, `g_loss` and `aux_loss` (the discriminator's class
    cross-entropy, real plus generated). Takes `ConditionalGAN`'s arguments.

    Reference:
        Odena et al. 2017, https://arxiv.org/abs/1610.09585

    Example:

    ```python
    import numpy as np
    model = ACGAN(image_size=8, num_classes=3, latent_dim=4,
                  generator_filters=4, discriminator_filters=4)
    model.compile()
    images = np.random.uniform(-1, 1, (16, 8, 8, 1)).astype("float32")
    model.fit(images, np.arange(16) % 3, batch_size=8, epochs=1, verbose=0)
    model.sample(3, seed=0, labels=[2, 2, 2]).shape  # (3, 8, 8, 1)
    ```
    """

    description = "AC-GAN (Odena et al. 2017): discriminator with a class head."

    def build_discriminator(self, num_classes, image_size, channels, filters):
        return build_conv_encoder(image_size, channels, output_dim=1 + num_classes,
                                  filters=filters, name="discriminator")

    def heads(self, images):
        """`(source logit (batch, 1), class logits (batch, K))` of D(x)."""
        outputs = self.discriminator(images, training=True)
        return outputs[:, :1], outputs[:, 1:]

    def discriminator_step_loss(self, images, labels):
        """`-(L_S + L_C)`: real/fake loss plus the class loss on both."""
        labels = ops.cast(labels, "int32")
        fake, fake_labels = self.generated(ops.shape(images)[0])
        real_source, real_classes = self.heads(images)
        fake_source, fake_classes = self.heads(fake)
        source_loss = discriminator_loss(real_source, fake_source, self.loss_kind)
        aux_loss = (auxiliary_classifier_loss(labels, real_classes)
                    + auxiliary_classifier_loss(fake_labels, fake_classes))
        loss = source_loss + aux_loss
        return loss, {"d_loss": loss, "aux_loss": aux_loss}

    def generator_step_loss(self, images, labels):
        """Non-saturating `-L_S` on fakes plus their class loss."""
        fake, fake_labels = self.generated(ops.shape(images)[0])
        fake_source, fake_classes = self.heads(fake)
        loss = (generator_loss(fake_source, self.loss_kind)
                + auxiliary_classifier_loss(fake_labels, fake_classes))
        return loss, {"g_loss": loss}
