"""pix2pix (Isola et al. 2017): paired image-to-image translation.

- Image-to-Image Translation with Conditional Adversarial Networks:
  https://arxiv.org/abs/1611.07004
- Reference code: https://github.com/junyanz/pytorch-CycleGAN-and-pix2pix

A conditional GAN whose condition is an image x: the U-Net generator G
maps x to an output y' and the PatchGAN discriminator D judges the pair
(x, y), patch by patch. There is no z: dropout in the generator is the only
noise (section 2.1).

Notation:

| code                          | paper       |
| ----------------------------- | ----------- |
| `generator(x)`                | G(x)        |
| `discriminator([x, y])`       | logits of D(x, y) per patch |
| `l1_weight`                   | lambda      |

Objective (eq. 4), with the non-saturating generator loss:

    G*: min_G  -log D(x, G(x)) + lambda * |y - G(x)|_1
    D:  max_D  (log D(x, y) + log(1 - D(x, G(x)))) / 2

lambda = 100; the discriminator's loss is halved "to slow down the rate at
which D learns relative to G" (section 3.3). Per batch one step of D, then
one of G (the authors' code does G's forward pass first and D's update
first, as here). Adam(2e-4, beta_1=0.5), batch size 1, the learning rate
constant for half the run and then decaying linearly to 0; random jitter
(286 -> 256 crop) and mirroring, the same for x and y.

`direction` says which half of the paired data is the input: `"a2b"`
translates A into B. (For the facades set, whose files are photo | label
map, label map -> photo is `"b2a"`, as in the authors' instructions.)

Deviations: instance normalization instead of BatchNorm. The paper trains
with batch size 1 and applies batch statistics at test time, which is
instance normalization (section 3.3); instance normalization keeps that
behaviour at every batch size. `translate()` runs the generator in
inference mode (no dropout), so that a translation is deterministic and
the exported model serves it; the paper keeps dropout at test time.
"""

import keras
import numpy as np

from kerasgen.models.image_translation.base import ImageTranslation
from kerasgen.layers import build_patch_discriminator
from kerasgen.layers import build_unet_generator
from kerasgen.losses import discriminator_loss
from kerasgen.losses import generator_loss
from kerasgen.losses import mean_absolute_error
from kerasgen.training import GenerativeModel
from kerasgen.training import UpdateStep
from kerasgen.models.registry import register_family


@register_family("pix2pix")
class Pix2Pix(ImageTranslation, GenerativeModel):
    """Paired translation: a U-Net generator and a conditional PatchGAN.

    Train with `fit()` on aligned batches `(inputs, targets)` in [-1, 1]
    (see `kerasgen.data.load_paired` and `make_pair_batches`).

    Args:
        image_size: int. A power of 2, at least 8. Defaults to 256.
        channels: int. Channels of inputs and targets. Defaults to 3.
        generator_filters: int. Width of the U-Net's first stage. Defaults
            to 64.
        discriminator_filters: int. Width of the discriminator's first
            layer. Defaults to 64.
        discriminator_layers: int. Stride-2 layers of the PatchGAN: 3 gives
            70x70 patches (the paper's choice). Defaults to 3.
        dropout: float. Dropout rate in the U-Net decoder. Defaults to 0.5.
        l1_weight: float. lambda, the weight of the L1 loss. Defaults to 100.
        direction: `"a2b"` or `"b2a"`: which half of the paired data is the
            input. Defaults to `"a2b"`.
        learning_rate: float. Adam's initial learning rate. Defaults to 2e-4.
        beta_1: float. Adam's beta_1. Defaults to 0.5.
        constant_steps: int or None. Steps at the initial learning rate.
        decay_steps: int or None. Steps of the linear decay to 0; 0 keeps
            it constant. With both left at None, `plan_run` (run by
            `kerasgen train`, and by `fit()` when it knows its length) makes
            half the run constant and half decaying. Defaults to None.
        jitter: bool. Random jitter and mirroring in training. Defaults to
            True.
        seed: int or None. Seeds the jitter.

    Example:

    ```python
    import numpy as np
    model = Pix2Pix(image_size=8, generator_filters=4,
                    discriminator_filters=4, discriminator_layers=1)
    model.compile()
    x = np.random.uniform(-1, 1, (2, 8, 8, 3)).astype("float32")
    model.fit(x, -x, batch_size=1, epochs=1, verbose=0)
    model.translate(x).shape  # (2, 8, 8, 3)
    ```
    """

    description = "pix2pix (Isola et al. 2017): paired translation, U-Net + PatchGAN."
    #: The embedded digit pairs are 8x8: a small model at 32x32 trains
    #: in a couple of minutes on a CPU.
    recipes = {"demo": dict(image_size=32, generator_filters=16,
                          discriminator_filters=16)}
    paired = True
    optimizer_steps = ("discriminator", "generator")

    def __init__(
        self,
        image_size=256,
        channels=3,
        generator_filters=64,
        discriminator_filters=64,
        discriminator_layers=3,
        dropout=0.5,
        l1_weight=100.0,
        direction="a2b",
        learning_rate=2e-4,
        beta_1=0.5,
        constant_steps=None,
        decay_steps=None,
        jitter=True,
        seed=None,
        **kwargs,
    ):
        super().__init__(seed=seed, **kwargs)
        direction = self._check_direction(direction)
        if channels not in (1, 3):
            raise ValueError(f"`channels` must be 1 or 3. Received: channels={channels}")

        # === Networks ===
        self.generator = build_unet_generator(
            image_size, channels, filters=generator_filters, dropout=dropout,
            name="generator",
        )
        self.discriminator = build_patch_discriminator(
            image_size, channels, filters=discriminator_filters,
            num_layers=discriminator_layers, condition_channels=channels,
            name="discriminator",
        )

        # === Config ===
        self.image_size = image_size
        self.channels = channels
        self.generator_filters = generator_filters
        self.discriminator_filters = discriminator_filters
        self.discriminator_layers = discriminator_layers
        self.dropout = float(dropout)
        self.l1_weight = float(l1_weight)
        self.direction = direction
        self.learning_rate = learning_rate
        self.beta_1 = beta_1
        self.constant_steps = constant_steps
        self.decay_steps = decay_steps
        self.jitter = bool(jitter)
        self._finish_networks()

    # --- Update steps -----------------------------------------------------------

    def update_steps(self):
        return [
            UpdateStep("discriminator", self.discriminator_step_loss, ("discriminator",)),
            UpdateStep("generator", self.generator_step_loss, ("generator",)),
        ]

    # --- Losses -----------------------------------------------------------------

    def discriminator_step_loss(self, inputs, targets):
        """D on real pairs (x, y) and generated pairs (x, G(x)), halved."""
        outputs = self.generator(inputs, training=True)
        real_logits = self.discriminator([inputs, targets], training=True)
        fake_logits = self.discriminator([inputs, outputs], training=True)
        loss = 0.5 * discriminator_loss(real_logits, fake_logits, "vanilla")
        return loss, {"d_loss": loss}

    def generator_step_loss(self, inputs, targets):
        """G: fool D on (x, G(x)) and stay close to y in L1."""
        outputs = self.generator(inputs, training=True)
        adversarial = generator_loss(
            self.discriminator([inputs, outputs], training=True), "vanilla")
        l1 = mean_absolute_error(outputs, targets)
        loss = adversarial + self.l1_weight * l1
        return loss, {"g_loss": loss, "g_gan": adversarial, "l1": l1}

    # --- Translation --------------------------------------------------------------

    def call(self, images, training=False):
        return self.generator(images, training=training)

    def translate(self, images, direction=None, batch_size=32):
        """Translates input images `(N, H, W, C)` in [-1, 1].

        `direction` may be None or the model's own `direction`: pix2pix
        has one generator, trained one way.

        Example:

        ```python
        import numpy as np
        model = Pix2Pix(image_size=8, generator_filters=4,
                        discriminator_filters=4, discriminator_layers=1)
        model.translate(np.zeros((1, 8, 8, 3))).shape  # (1, 8, 8, 3)
        ```
        """
        if direction is not None and self._check_direction(direction) != self.direction:
            raise ValueError(
                f"This pix2pix model translates {self.direction} only (one "
                f"generator, trained one way). Received: direction={direction!r}"
            )
        return self._run(self.generator, images, batch_size)

    def translation_rows(self, inputs, targets):
        """Rows `[input, output, target]`: shape `(N, 3, H, W, C)`."""
        inputs = np.asarray(inputs, dtype="float32")
        targets = np.asarray(targets, dtype="float32")
        return np.stack([inputs, self.translate(inputs), targets], 1)

    # --- Serving ----------------------------------------------------------------------

    serving_default = "translate"
    strip_captions = (("pairs", ("input", "output", "target")),)

    def serving_endpoints(self):
        """`translate(images)`: the generator, in the trained direction."""
        return [self.translation_endpoint(
            "translate", "generator", f"translates inputs {self.direction}")]

    # --- Config ---------------------------------------------------------------------

    def get_config(self):
        config = super().get_config()
        config.pop("ema_decay")
        config.update(
            image_size=self.image_size,
            channels=self.channels,
            generator_filters=self.generator_filters,
            discriminator_filters=self.discriminator_filters,
            discriminator_layers=self.discriminator_layers,
            dropout=self.dropout,
            l1_weight=self.l1_weight,
            direction=self.direction,
            learning_rate=self.learning_rate,
            beta_1=self.beta_1,
            constant_steps=self.constant_steps,
            decay_steps=self.decay_steps,
            jitter=self.jitter,
        )
        return config
