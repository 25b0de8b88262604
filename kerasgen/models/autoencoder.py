"""Autoencoder, plain or denoising: a deterministic encoder and decoder
trained to reconstruct.

- Hinton and Salakhutdinov 2006, "Reducing the Dimensionality of Data with
  Neural Networks", Science 313.
- Denoising autoencoder: Vincent et al. 2008, "Extracting and Composing
  Robust Features with Denoising Autoencoders", ICML (masking noise,
  section 2.3); additive Gaussian noise is the other corruption they name.

Notation:

| code                | paper                                      |
| ------------------- | ------------------------------------------ |
| `encoder(x)`        | f_theta(x) = z, the code                   |
| `decoder(z)`        | g_theta'(z), Bernoulli logits of x         |
| `corrupt(x)`        | x~ ~ q_D(x~ given x) (Vincent et al.)      |

Objective: the mean over the batch of -log p(x | g(f(x~))), Bernoulli
cross-entropy on pixels in [0, 1] (`reconstruction="gaussian"`: squared
error on [-1, 1]), with x~ = x for the plain autoencoder.

The point the course notes make with it: nothing in this objective shapes
where the codes lie, so decoding latents drawn from N(0, I) (what
`sample` does, as for the VAE) mostly gives blurry non-digits, while a
VAE's KL term makes N(0, I) its codes' distribution and its samples valid.
`latent_grid` draws the decoded plane of a 2-D code (`latent_dim=2`), the
notes' "2D latent space of an autoencoder".
"""

import numpy as np
import keras
from keras import ops

from kerasgen.layers import build_conv_decoder
from kerasgen.layers import build_conv_encoder
from kerasgen.losses import bernoulli_nll
from kerasgen.losses import gaussian_nll
from kerasgen.models.interfaces import LatentGenerator
from kerasgen.models.registry import register_family
from kerasgen.models.serving import Endpoint
from kerasgen.models.serving import Input
from kerasgen.training import GenerativeModel
from kerasgen.training import UpdateStep
from kerasgen.training.replicas import per_example

RECONSTRUCTION_LOSSES = ("bernoulli", "gaussian")
CORRUPTIONS = ("none", "masking", "gaussian")


@register_family("autoencoder")
class Autoencoder(LatentGenerator, GenerativeModel):
    """Convolutional autoencoder, plain or denoising (masking or Gaussian noise).

    Args:
        image_size: int. Height and width of the images. Defaults to 28.
        channels: int. 1 or 3. Defaults to 1.
        latent_dim: int. Size of the code z (2 to draw the latent plane).
            Defaults to 16.
        filters: int. Width of the encoder's first stage (and the decoder's
            last). Defaults to 32.
        corruption: str. `"none"` (plain), `"masking"` (each pixel set to
            black with probability `corruption_level`) or `"gaussian"`
            (noise of std `corruption_level` on [-1, 1], clipped).
            Defaults to `"none"`.
        corruption_level: float. See `corruption`. Defaults to 0.3.
        reconstruction: str. `"bernoulli"` (cross-entropy on pixels in
            [0, 1]) or `"gaussian"` (squared error on [-1, 1]). Defaults to
            `"bernoulli"`.
        learning_rate: float. Adam learning rate. Defaults to 1e-3.
        ema_decay: float or None. Average of the decoder's weights used for
            decoding. Defaults to None.
        seed: int or None. Seeds the corruption noise.

    Reference:
        Vincent et al. 2008, https://doi.org/10.1145/1390156.1390294

    Example:

    ```python
    import numpy as np
    model = Autoencoder(image_size=8, latent_dim=2, filters=8, corruption="masking")
    model.compile()
    images = np.random.uniform(-1, 1, (16, 8, 8, 1)).astype("float32")
    model.fit(images, batch_size=8, epochs=1, verbose=0)
    model.encode(images[:3]).shape  # (3, 2)
    model.reconstruct(images[:3]).shape  # (3, 8, 8, 1)
    model.latent_grid(n=4).shape  # (16, 8, 8, 1)
    ```
    """

    interfaces = LatentGenerator.interfaces + ("encode",)
    description = "Autoencoder (plain or denoising); decoding N(0, I) shows why it is not a generative model."
    ema_network = "decoder"
    num_classes = 0

    def __init__(
        self,
        image_size=28,
        channels=1,
        latent_dim=16,
        filters=32,
        corruption="none",
        corruption_level=0.3,
        reconstruction="bernoulli",
        learning_rate=1e-3,
        ema_decay=None,
        seed=None,
        **kwargs,
    ):
        super().__init__(ema_decay=ema_decay, seed=seed, **kwargs)
        if reconstruction not in RECONSTRUCTION_LOSSES:
            raise ValueError(f"`reconstruction` is one of {RECONSTRUCTION_LOSSES}. "
                             f"Received: reconstruction={reconstruction!r}")
        if corruption not in CORRUPTIONS:
            raise ValueError(f"`corruption` is one of {CORRUPTIONS}. "
                             f"Received: corruption={corruption!r}")
        if not 0.0 <= float(corruption_level) < (1.0 if corruption == "masking" else np.inf):
            raise ValueError("`corruption_level` must be >= 0 (and < 1 for masking). "
                             f"Received: corruption_level={corruption_level!r}")
        if channels not in (1, 3):
            raise ValueError(f"`channels` must be 1 or 3. Received: channels={channels}")

        # === Layers ===
        self.encoder = build_conv_encoder(image_size, channels, output_dim=latent_dim,
                                          filters=filters, norm=None, name="encoder")
        self.decoder = build_conv_decoder(latent_dim, image_size, channels, filters=filters,
                                          norm=None, output_activation=None, name="decoder")

        # === Config ===
        self.image_size = image_size
        self.channels = channels
        self.latent_dim = latent_dim
        self.filters = filters
        self.corruption = corruption
        self.corruption_level = float(corruption_level)
        self.reconstruction = reconstruction
        self.learning_rate = learning_rate
        self._finish_networks()

    # --- Corruption (the denoising autoencoder) ----------------------------------

    def corrupt(self, images):
        """x~: the images with pixels masked to black or Gaussian noise
        added (clipped to [-1, 1]); the images as they are for `"none"`."""
        if self.corruption == "none" or self.corruption_level == 0.0:
            return images
        if self.corruption == "masking":
            keep = per_example(keras.random.uniform, ops.shape(images), seed=self.seed_generator)
            return ops.where(keep >= self.corruption_level, images, -1.0)
        noise = per_example(keras.random.normal, ops.shape(images), seed=self.seed_generator)
        return ops.clip(images + self.corruption_level * noise, -1.0, 1.0)

    # --- Loss ---------------------------------------------------------------------

    def reconstruction_cost(self, images, outputs):
        """-log p(x | decoder outputs) per image, `(n,)`."""
        if self.reconstruction == "bernoulli":
            return bernoulli_nll(images, outputs)
        return gaussian_nll(images, ops.tanh(outputs))

    def reconstruct_and_code(self, images):
        """Codes of the corrupted images and the reconstruction cost of the
        clean ones: `(z, cost per image)`."""
        z = ops.cast(self.encoder(self.corrupt(images), training=True), "float32")
        outputs = self.decoder(z, training=True)
        return z, self.reconstruction_cost(images, outputs)

    def autoencoder_loss(self, images, labels=None):
        _, cost = self.reconstruct_and_code(images)
        loss = ops.mean(cost)
        return loss, {"loss": loss}

    # --- Update steps ---------------------------------------------------------

    def update_steps(self):
        return [UpdateStep("autoencoder", self.autoencoder_loss, ("encoder", "decoder"))]

    def default_optimizers(self):
        return {"autoencoder": keras.optimizers.Adam(self.learning_rate,
                                                     name="autoencoder_adam")}

    # --- Inference ------------------------------------------------------------

    def _to_images(self, outputs):
        if self.reconstruction == "bernoulli":
            return 2.0 * ops.sigmoid(outputs) - 1.0
        return ops.tanh(outputs)

    def encode_tensor(self, images):
        """The codes z, `(n, latent_dim)`, in `keras.ops`."""
        return ops.cast(self.encoder(images, training=False), "float32")

    def decode_tensor(self, latents, labels=None):
        """Images in [-1, 1] for codes, in `keras.ops`."""
        decoder = self.sampling_network("decoder")
        return self._to_images(ops.cast(decoder(latents, training=False), "float32"))

    def encode(self, images, batch_size=256):
        """The codes of images, float32 numpy `(n, latent_dim)`."""
        images = np.asarray(images, dtype="float32")
        out = [ops.convert_to_numpy(self.encode_tensor(images[i:i + batch_size]))
               for i in range(0, len(images), batch_size)]
        return np.concatenate(out).astype("float32") if out else np.zeros(
            (0, self.latent_dim), "float32")

    def reconstruct(self, images):
        """Decodes the code of each image."""
        return self.decode(self.encode(images))

    def latent_grid(self, n=15, images=None, extent=2.0):
        """The decoded plane of a 2-D code: `n * n` images, row-major, over
        a regular grid. With `images`, the grid spans the 1st to 99th
        percentile of their codes on each axis (where the data lies);
        without, [-extent, extent]^2.

        Example:

        ```python
        model = Autoencoder(image_size=8, latent_dim=2, filters=4)
        model.latent_grid(n=3).shape  # (9, 8, 8, 1)
        ```
        """
        if self.latent_dim != 2:
            raise ValueError("latent_grid draws a 2-D latent space: build the model with "
                             f"latent_dim=2. Received: latent_dim={self.latent_dim}")
        if images is not None:
            codes = self.encode(images)
            low, high = np.percentile(codes, [1, 99], axis=0)
        else:
            low, high = np.full(2, -extent), np.full(2, extent)
        xs = np.linspace(low[0], high[0], n)
        ys = np.linspace(high[1], low[1], n)  # the top row is the largest z_2
        grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2).astype("float32")
        return self.decode(grid)

    # --- Serving ------------------------------------------------------------------

    serving_default = "decode"

    def serving_endpoints(self):
        """`decode`, `encode`, `reconstruct` and `generate_from_seed`."""
        size, channels = int(self.image_size), int(self.channels)
        images = Input("images", "float32", (None, size, size, channels))
        decode, from_seed = self.latent_endpoints(decode_name="decode")
        return [
            decode,
            Endpoint("encode", (images,), lambda images: {"z": self.encode_tensor(images)},
                     images=False, description="the code z of each image"),
            Endpoint("reconstruct", (images,),
                     lambda images: self.decode_tensor(self.encode_tensor(images)),
                     description="images decoded from their codes"),
            from_seed,
        ]

    def call(self, inputs, training=False):
        outputs = self.decoder(self.encoder(inputs, training=training), training=training)
        return self._to_images(outputs)

    # --- Config -----------------------------------------------------------------

    def get_config(self):
        config = super().get_config()
        config.update(
            image_size=self.image_size,
            channels=self.channels,
            latent_dim=self.latent_dim,
            filters=self.filters,
            corruption=self.corruption,
            corruption_level=self.corruption_level,
            reconstruction=self.reconstruction,
            learning_rate=self.learning_rate,
        )
        return config
