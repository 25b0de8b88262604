"""Variational autoencoder (Kingma and Welling 2014), beta-VAE and conditional VAE.

- Auto-Encoding Variational Bayes: https://arxiv.org/abs/1312.6114
- beta-VAE (Higgins et al. 2017): https://openreview.net/forum?id=Sy2fzU9gl
- Conditional VAE (Sohn et al. 2015): "Learning Structured Output
  Representation using Deep Conditional Generative Models", NeurIPS 2015.

Notation:

| code                     | paper                     |
| ------------------------ | ------------------------- |
| `encoder(x)`             | q_phi(z given x): (mu, log sigma^2) |
| `decoder(z)`             | p_theta(x given z): Bernoulli logits |
| `beta`                   | beta (Higgins et al.)     |
| `num_classes`, `labels`  | the condition y (Sohn et al.) |

Objective, the negative ELBO (Kingma and Welling, eq. 3 and 10), averaged
over the batch:

    L = E_q[-log p(x | z)] + beta * KL(q(z | x) || N(0, I))

with z = mu + sigma * eps, eps ~ N(0, I) (the reparameterization trick,
section 2.4) and the KL in closed form (appendix B). With `num_classes > 0`
the encoder sees the image with the label as one-hot planes and the decoder
sees z with the one-hot label, so that `sample(n, labels=...)` draws a chosen
class.

Deviations: convolutional encoder and decoder (the paper's are MLPs); the
default likelihood is Bernoulli on pixels mapped to [0, 1]
(`reconstruction="gaussian"` gives unit-variance Gaussian on [-1, 1]).
"""

import numpy as np
import keras
from keras import ops

from kerasgen.layers import build_conv_decoder
from kerasgen.layers import build_conv_encoder
from kerasgen.losses import bernoulli_nll
from kerasgen.losses import gaussian_kl
from kerasgen.losses import gaussian_nll
from kerasgen.losses.likelihood import BIN_WIDTH
from kerasgen.losses.likelihood import dequantize
from kerasgen.models.interfaces import DensityModel
from kerasgen.models.interfaces import LatentGenerator
from kerasgen.models.serving import Endpoint
from kerasgen.models.serving import Input
from kerasgen.training import GenerativeModel
from kerasgen.training import UpdateStep
from kerasgen.models.registry import register_family
from kerasgen.training.replicas import per_example

RECONSTRUCTION_LOSSES = ("bernoulli", "gaussian")


@register_family("vae")
class VAE(LatentGenerator, DensityModel, GenerativeModel):
    """Convolutional variational autoencoder, optionally beta- and class-conditional.

    Args:
        image_size: int. Height and width of the images. Defaults to 28.
        channels: int. 1 or 3. Defaults to 1.
        latent_dim: int. Size of z. Defaults to 16.
        filters: int. Width of the encoder's first stage (and the decoder's
            last). Defaults to 32.
        num_classes: int. 0 for an unconditional VAE, else the number of
            classes of a conditional VAE. Defaults to 0.
        beta: float. Weight of the KL term (1 is the plain VAE). Defaults
            to 1.0.
        reconstruction: str. The likelihood p(x | z): `"bernoulli"` on
            pixels in [0, 1] or `"gaussian"` (unit variance) on [-1, 1].
            Defaults to `"bernoulli"`.
        learning_rate: float. Adam learning rate. Defaults to 1e-3.
        ema_decay: float or None. Average of the decoder's weights used for
            sampling. Defaults to None.
        seed: int or None. Seeds the reparameterization noise.

    Reference:
        Kingma and Welling 2014, https://arxiv.org/abs/1312.6114

    Example:

    ```python
    import numpy as np
    model = VAE(image_size=8, latent_dim=2, filters=8)
    model.compile()
    images = np.random.uniform(-1, 1, (16, 8, 8, 1)).astype("float32")
    model.fit(images, batch_size=8, epochs=1, verbose=0)
    model.reconstruct(images[:2]).shape  # (2, 8, 8, 1)
    model.sample(3, seed=0).shape  # (3, 8, 8, 1)
    ```
    """

    interfaces = LatentGenerator.interfaces + ("encode",) + DensityModel.interfaces
    # The ELBO: a lower bound on log P(x).
    log_prob_is_bound = True
    serve_with_noise = False
    description = "VAE (Kingma and Welling 2014): convolutional, beta, optional class conditioning."
    ema_network = "decoder"

    def __init__(
        self,
        image_size=28,
        channels=1,
        latent_dim=16,
        filters=32,
        num_classes=0,
        beta=1.0,
        reconstruction="bernoulli",
        learning_rate=1e-3,
        ema_decay=None,
        seed=None,
        **kwargs,
    ):
        super().__init__(ema_decay=ema_decay, seed=seed, **kwargs)
        if reconstruction not in RECONSTRUCTION_LOSSES:
            raise ValueError(
                f"Unknown reconstruction loss. Expected one of "
                f"{RECONSTRUCTION_LOSSES}. Received: reconstruction={reconstruction!r}"
            )
        if channels not in (1, 3):
            raise ValueError(f"`channels` must be 1 or 3. Received: channels={channels}")
        if num_classes < 0:
            raise ValueError(f"`num_classes` must be >= 0. Received: num_classes={num_classes}")

        # === Layers ===
        # Encoder: image (+ one-hot label planes) -> [mu, log sigma^2].
        self.encoder = build_conv_encoder(
            image_size, channels + num_classes, output_dim=2 * latent_dim,
            filters=filters, norm=None, name="encoder",
        )
        # Decoder: z (+ one-hot label) -> pixel logits.
        self.decoder = build_conv_decoder(
            latent_dim + num_classes, image_size, channels, filters=filters,
            norm=None, output_activation=None, name="decoder",
        )

        # === Config ===
        self.image_size = image_size
        self.channels = channels
        self.latent_dim = latent_dim
        self.filters = filters
        self.num_classes = num_classes
        self.beta = beta
        self.reconstruction = reconstruction
        self.learning_rate = learning_rate
        self._finish_networks()

    # --- Conditioning ------------------------------------------------------------

    def _one_hot(self, labels):
        return ops.one_hot(ops.cast(ops.reshape(labels, (-1,)), "int32"), self.num_classes)

    def _encoder_input(self, images, labels):
        if not self.num_classes:
            return images
        planes = self._one_hot(labels)[:, None, None, :]
        planes = ops.broadcast_to(
            ops.cast(planes, images.dtype),
            (ops.shape(images)[0], self.image_size, self.image_size, self.num_classes),
        )
        return ops.concatenate([images, planes], axis=-1)

    def _decoder_input(self, z, labels):
        if not self.num_classes:
            return z
        return ops.concatenate([z, ops.cast(self._one_hot(labels), z.dtype)], axis=-1)

    def _to_images(self, decoder_outputs):
        # Bernoulli logits -> mean in [0, 1] -> [-1, 1]; Gaussian -> tanh.
        if self.reconstruction == "bernoulli":
            return 2.0 * ops.sigmoid(decoder_outputs) - 1.0
        return ops.tanh(decoder_outputs)

    # --- Loss -----------------------------------------------------------------

    def _check_labels(self, labels):
        if self.num_classes and labels is None:
            raise ValueError(
                f"This VAE is conditional (num_classes={self.num_classes}): "
                "pass labels with the images."
            )

    def negative_elbo(self, images, labels=None):
        """Reconstruction NLL + beta * KL, the batch mean of each (eq. 10)."""
        self._check_labels(labels)
        stats = self.encoder(self._encoder_input(images, labels), training=True)
        mean, log_var = ops.split(ops.cast(stats, "float32"), 2, axis=-1)
        eps = per_example(keras.random.normal, ops.shape(mean), seed=self.seed_generator)
        z = mean + ops.exp(0.5 * log_var) * eps
        outputs = self.decoder(self._decoder_input(z, labels), training=True)
        if self.reconstruction == "bernoulli":
            recon = bernoulli_nll(images, outputs)
        else:
            recon = gaussian_nll(images, ops.tanh(outputs))
        recon = ops.mean(recon)
        kl = ops.mean(gaussian_kl(mean, log_var))
        loss = recon + self.beta * kl
        return loss, {"loss": loss, "recon_loss": recon, "kl": kl}

    # --- Update steps ---------------------------------------------------------

    def update_steps(self):
        return [UpdateStep("vae", self.negative_elbo, ("encoder", "decoder"))]

    def default_optimizers(self):
        return {"vae": keras.optimizers.Adam(self.learning_rate, name="vae_adam")}

    # --- Inference ------------------------------------------------------------

    def encode_tensor(self, images, labels=None):
        """The posterior's `{"mean", "log_var"}`, in `keras.ops`."""
        stats = self.encoder(self._encoder_input(images, labels), training=False)
        mean, log_var = ops.split(ops.cast(stats, "float32"), 2, axis=-1)
        return {"mean": mean, "log_var": log_var}

    def decode_tensor(self, latents, labels=None):
        """Images in [-1, 1] (the likelihood's mean) for latents, in `keras.ops`."""
        decoder = self.sampling_network("decoder")
        outputs = decoder(self._decoder_input(latents, labels), training=False)
        return self._to_images(ops.cast(outputs, "float32"))

    def encode(self, images, labels=None):
        """The posterior `(mean, log_var)`, each `(n, latent_dim)`, as numpy."""
        images = np.asarray(images, dtype="float32")
        if self.num_classes and labels is None:
            raise ValueError(
                f"This VAE is conditional (num_classes={self.num_classes}): "
                "pass the label of each image to encode it."
            )
        labels = self.check_labels(labels, len(images))
        stats = self.encode_tensor(images, labels)
        return (ops.convert_to_numpy(stats["mean"]).astype("float32"),
                ops.convert_to_numpy(stats["log_var"]).astype("float32"))

    # --- The evidence lower bound as a likelihood -----------------------------------

    @property
    def log_prob_data(self):
        # A Bernoulli decoder is a likelihood of binarized digits; the
        # Gaussian one a density, dequantized to the 8-bit images.
        return "binarized" if self.reconstruction == "bernoulli" else "8-bit"

    def log_prob_tensor(self, images, labels=None, noise=None):
        """The ELBO in nats, log p(x | z) - KL(q(z | x) || p(z)) at one z
        (eq. 10): of the binarized image (pixels above 1/2 on) for the
        Bernoulli decoder, of the 8-bit image (dequantized by `noise`) for
        the Gaussian one. z = mu + sigma * eps, eps from the first
        `latent_dim` values of `noise` through the normal quantile; without
        noise, z = mu (the exported signature: deterministic)."""
        if self.reconstruction == "bernoulli":
            x = ops.where(ops.cast(images, "float32") > 0.0, 1.0, -1.0)
        else:
            half = ops.full(ops.shape(images), 0.5, "float32")
            x = dequantize(images, half if noise is None else noise)
        stats = self.encode_tensor(x, labels)
        mean, log_var = stats["mean"], stats["log_var"]
        z = mean
        if noise is not None:
            flat = ops.reshape(ops.cast(noise, "float32"), (ops.shape(noise)[0], -1))
            u = ops.clip(flat[:, :self.latent_dim], 1e-6, 1.0 - 1e-6)
            z = mean + ops.exp(0.5 * log_var) * (2.0 ** 0.5) * ops.erfinv(2.0 * u - 1.0)
        decoder = self.sampling_network("decoder")
        outputs = ops.cast(decoder(self._decoder_input(z, labels), training=False), "float32")
        if self.reconstruction == "bernoulli":
            log_likelihood = -bernoulli_nll(x, outputs)
        else:
            dims = self.image_size * self.image_size * self.channels
            log_likelihood = (-gaussian_nll(x, ops.tanh(outputs))
                              - 0.5 * dims * np.log(2.0 * np.pi) + dims * np.log(BIN_WIDTH))
        return log_likelihood - gaussian_kl(mean, log_var)

    def reconstruct(self, images, labels=None):
        """Decodes the posterior mean of each image."""
        mean, _ = self.encode(images, labels)
        return self.decode(mean, labels)

    # --- Serving ------------------------------------------------------------------

    serving_default = "decode"

    def serving_endpoints(self):
        """`decode`, `encode`, `reconstruct`, `generate_from_seed` and
        `log_prob` (the ELBO at z = mu); with `num_classes > 0` each takes
        `labels` too."""
        size, channels = int(self.image_size), int(self.channels)
        images = Input("images", "float32", (None, size, size, channels))
        decode, from_seed = self.latent_endpoints(decode_name="decode")
        if self.num_classes:
            labels = (Input("labels", "int32", (None,)),)
            encode = self.encode_tensor

            def reconstruct(images, labels):
                return self.decode_tensor(self.encode_tensor(images, labels)["mean"], labels)
        else:
            labels = ()

            def encode(images):
                return self.encode_tensor(images)

            def reconstruct(images):
                return self.decode_tensor(self.encode_tensor(images)["mean"])
        return [
            decode,
            Endpoint("encode", (images,) + labels, encode, images=False,
                     description="the posterior's mean and log-variance"),
            Endpoint("reconstruct", (images,) + labels, reconstruct,
                     description="images decoded from their posterior mean"),
            from_seed,
            self.log_prob_endpoint(),
        ]

    def call(self, inputs, training=False):
        # Reconstruction: `images`, or `(images, labels)` when conditional.
        images, labels = inputs if self.num_classes else (inputs, None)
        stats = self.encoder(self._encoder_input(images, labels), training=training)
        mean, _ = ops.split(stats, 2, axis=-1)
        outputs = self.decoder(self._decoder_input(mean, labels), training=training)
        return self._to_images(outputs)

    # --- Config -----------------------------------------------------------------

    def get_config(self):
        config = super().get_config()
        config.update(
            image_size=self.image_size,
            channels=self.channels,
            latent_dim=self.latent_dim,
            filters=self.filters,
            num_classes=self.num_classes,
            beta=self.beta,
            reconstruction=self.reconstruction,
            learning_rate=self.learning_rate,
        )
        return config
