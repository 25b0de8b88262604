"""CycleGAN (Zhu et al. 2017): unpaired image-to-image translation.

- Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial
  Networks: https://arxiv.org/abs/1703.10593
- Reference code: https://github.com/junyanz/pytorch-CycleGAN-and-pix2pix

Two generators translate between domains A and B, and a discriminator per
domain tells real images of that domain from translated ones. Translating
there and back must give the input again (cycle consistency).

Notation:

| code                  | paper    | junyanz's code |
| --------------------- | -------- | -------------- |
| `generator_ab`        | G: X->Y  | netG_A         |
| `generator_ba`        | F: Y->X  | netG_B         |
| `discriminator_b`     | D_Y      | netD_A         |
| `discriminator_a`     | D_X      | netD_B         |
| `cycle_weight`        | lambda   | lambda_A, lambda_B |
| `identity_weight`     | 0.5 (x lambda) | lambda_identity |

Objective (eq. 3, least-squares adversarial loss of section 4):

    G, F:  (D_Y(G(x)) - 1)^2 + (D_X(F(y)) - 1)^2
           + lambda * (|F(G(x)) - x|_1 + |G(F(y)) - y|_1)
           + 0.5 * lambda * (|G(y) - y|_1 + |F(x) - x|_1)     (identity)
    D_Y:   ((D_Y(y) - 1)^2 + D_Y(G(x)_pool)^2) / 2, and D_X alike

The identity term is the one the paper adds for photo<->painting (section
5.2) and the authors' code uses by default. Per batch: one step of both
generators together, then one of both discriminators together (one Adam
each, as in the authors' `itertools.chain`), the discriminators on images
from a history pool of 50 (`ImagePool`). Adam(2e-4, beta_1=0.5), batch
size 1; the learning rate is constant for half the run and then decays
linearly to 0 (`constant_steps`, `decay_steps`). Images are jittered
(resized to 286/256 of their size and randomly cropped back) and mirrored.

As the authors do, the discriminators judge the translations of the
generators' step (through the history pool), handed on with
`keep_for_later_steps`; stride-2 layers pad one pixel on every side
(`strided_padding="symmetric"`, PyTorch's alignment). Models saved before
these two options existed load with what they were trained with:
translations recomputed by the just-updated generators
(`discriminator_fakes="recomputed"`) and Keras's `"same"` padding.
Deviation: convolutions before instance normalization have no bias.
"""

import keras
import numpy as np

from kerasgen.models.image_translation.base import ImageTranslation
from kerasgen.layers import ImagePool
from kerasgen.layers import build_patch_discriminator
from kerasgen.layers import build_resnet_generator
from kerasgen.losses import discriminator_loss
from kerasgen.losses import generator_loss
from kerasgen.losses import mean_absolute_error
from kerasgen.training import GenerativeModel
from kerasgen.training import UpdateStep
from kerasgen.models.registry import register_family


#: Which translations the discriminators judge (see `discriminator_fakes`).
DISCRIMINATOR_FAKES = ("generator_step", "recomputed")


@register_family("cyclegan")
class CycleGAN(ImageTranslation, GenerativeModel):
    """Unpaired translation between two image domains A and B.

    Train with `fit()` on batches `(images_a, images_b)` in [-1, 1] (see
    `kerasgen.data.load_unpaired` and `make_pair_batches`).

    Args:
        image_size: int. Height and width, a multiple of 4. Defaults to 256.
        channels: int. Channels of both domains' images. Defaults to 3.
        generator_filters: int. Width of the generators' first layer.
            Defaults to 64.
        discriminator_filters: int. Width of the discriminators' first
            layer. Defaults to 64.
        num_residual_blocks: int. Residual blocks per generator: the paper
            uses 6 at 128x128, 9 at 256x256. Defaults to 9.
        discriminator_layers: int. Stride-2 layers of the PatchGAN
            discriminators: 3 gives the paper's 70x70 patches (images of
            at least 24x24); fewer give smaller patches. Defaults to 3.
        cycle_weight: float. lambda, the weight of the cycle losses.
            Defaults to 10.0.
        identity_weight: float. The identity loss weight, as a fraction of
            `cycle_weight`; 0 turns it off. Defaults to 0.5.
        pool_size: int. Generated images kept for the discriminators; 0
            shows them only the latest. Defaults to 50.
        learning_rate: float. Adam's initial learning rate. Defaults to 2e-4.
        beta_1: float. Adam's beta_1. Defaults to 0.5.
        constant_steps: int or None. Steps at the initial learning rate
            before the decay starts. Defaults to None.
        decay_steps: int or None. Steps of the linear decay to 0; 0 keeps
            the learning rate constant. With both left at None, `plan_run`
            (run by `kerasgen train`, and by `fit()` when it knows its
            length) makes half the run constant and half decaying, as in
            the paper. Defaults to None.
        jitter: bool. Random jitter and mirroring in training. Defaults to
            True.
        strided_padding: `"symmetric"` (the authors' one pixel of zeros on
            every side of a stride-2 layer) or `"same"` (Keras's, pads
            only the bottom and right). Defaults to `"symmetric"`.
        discriminator_fakes: `"generator_step"` (the discriminators judge
            the translations the generators' step made, as the authors
            do) or `"recomputed"` (translated again by the generators
            just updated: two more generator passes per step). Defaults to
            `"generator_step"`.
        seed: int or None. Seeds the jitter and the pool's choices.

    Example:

    ```python
    import numpy as np
    model = CycleGAN(image_size=8, generator_filters=4,
                     discriminator_filters=4, num_residual_blocks=1, discriminator_layers=1)
    model.compile()
    a = np.random.uniform(-1, 1, (2, 8, 8, 3)).astype("float32")
    b = np.random.uniform(-1, 1, (2, 8, 8, 3)).astype("float32")
    model.fit(a, b, batch_size=1, epochs=1, verbose=0)
    model.translate(a, direction="a2b").shape  # (2, 8, 8, 3)
    ```
    """

    description = "CycleGAN (Zhu et al. 2017): unpaired translation A <-> B."
    #: The embedded digit pairs are 8x8: a small model at 32x32 trains
    #: in a couple of minutes on a CPU.
    recipes = {"demo": dict(image_size=32, generator_filters=16,
                          discriminator_filters=16, num_residual_blocks=3)}
    paired = False

    def __init__(
        self,
        image_size=256,
        channels=3,
        generator_filters=64,
        discriminator_filters=64,
        num_residual_blocks=9,
        discriminator_layers=3,
        cycle_weight=10.0,
        identity_weight=0.5,
        pool_size=50,
        learning_rate=2e-4,
        beta_1=0.5,
        constant_steps=None,
        decay_steps=None,
        jitter=True,
        strided_padding="symmetric",
        discriminator_fakes="generator_step",
        seed=None,
        **kwargs,
    ):
        super().__init__(seed=seed, **kwargs)
        if channels not in (1, 3):
            raise ValueError(f"`channels` must be 1 or 3. Received: channels={channels}")
        if float(cycle_weight) < 0 or float(identity_weight) < 0 or int(pool_size) < 0:
            raise ValueError(
                "`cycle_weight`, `identity_weight` and `pool_size` must be >= 0. "
                f"Received: cycle_weight={cycle_weight}, "
                f"identity_weight={identity_weight}, pool_size={pool_size}"
            )
        if discriminator_fakes not in DISCRIMINATOR_FAKES:
            raise ValueError(
                f"`discriminator_fakes` must be one of {DISCRIMINATOR_FAKES}. "
                f"Received: discriminator_fakes={discriminator_fakes!r}"
            )

        # === Networks ===
        def generator(name):
            return build_resnet_generator(
                image_size, channels, filters=generator_filters,
                num_residual_blocks=num_residual_blocks, name=name,
                strided_padding=strided_padding,
            )

        def discriminator(name):
            return build_patch_discriminator(
                image_size, channels, filters=discriminator_filters,
                num_layers=discriminator_layers, name=name,
            )

        self.generator_ab = generator("generator_ab")
        self.generator_ba = generator("generator_ba")
        self.discriminator_a = discriminator("discriminator_a")
        self.discriminator_b = discriminator("discriminator_b")
        image_shape = (image_size, image_size, channels)
        self.pool_a = ImagePool(pool_size, image_shape, name="pool_a")
        self.pool_b = ImagePool(pool_size, image_shape, name="pool_b")

        # === Config ===
        self.image_size = image_size
        self.channels = channels
        self.generator_filters = generator_filters
        self.discriminator_filters = discriminator_filters
        self.num_residual_blocks = num_residual_blocks
        self.discriminator_layers = discriminator_layers
        self.cycle_weight = float(cycle_weight)
        self.identity_weight = float(identity_weight)
        self.pool_size = int(pool_size)
        self.learning_rate = learning_rate
        self.beta_1 = beta_1
        self.constant_steps = constant_steps
        self.decay_steps = decay_steps
        self.jitter = bool(jitter)
        self.strided_padding = strided_padding
        self.discriminator_fakes = discriminator_fakes
        self._finish_networks()

    # --- Update steps -----------------------------------------------------------

    def update_steps(self):
        return [
            UpdateStep("generator", self.generator_step_loss,
                       ("generator_ab", "generator_ba")),
            UpdateStep("discriminator", self.discriminator_step_loss,
                       ("discriminator_a", "discriminator_b")),
        ]

    # --- Losses -----------------------------------------------------------------

    def generator_step_loss(self, real_a, real_b):
        """Both generators: adversarial + cycle + identity losses."""
        fake_b = self.generator_ab(real_a, training=True)
        fake_a = self.generator_ba(real_b, training=True)
        # The authors' least-squares GANLoss has no 1/2 on the generator's
        # side: twice kerasgen's `lsgan` generator loss.
        adversarial_ab = 2.0 * generator_loss(
            self.discriminator_b(fake_b, training=True), "lsgan")
        adversarial_ba = 2.0 * generator_loss(
            self.discriminator_a(fake_a, training=True), "lsgan")
        cycle_a = mean_absolute_error(self.generator_ba(fake_b, training=True), real_a)
        cycle_b = mean_absolute_error(self.generator_ab(fake_a, training=True), real_b)
        loss = adversarial_ab + adversarial_ba + self.cycle_weight * (cycle_a + cycle_b)
        logs = {"g_ab_loss": adversarial_ab, "g_ba_loss": adversarial_ba,
                "cycle_a": cycle_a, "cycle_b": cycle_b}
        if self.identity_weight > 0:
            identity_b = mean_absolute_error(self.generator_ab(real_b, training=True), real_b)
            identity_a = mean_absolute_error(self.generator_ba(real_a, training=True), real_a)
            loss = loss + self.identity_weight * self.cycle_weight * (identity_a + identity_b)
            logs.update(identity_a=identity_a, identity_b=identity_b)
        logs["g_loss"] = loss
        if self.discriminator_fakes == "generator_step":
            self.keep_for_later_steps(fake_a=fake_a, fake_b=fake_b)
        return loss, logs

    def discriminator_step_loss(self, real_a, real_b):
        """Both discriminators, on real images and pooled translations."""
        fake_b = self.kept_from_earlier_step("fake_b")
        fake_a = self.kept_from_earlier_step("fake_a")
        if fake_b is None or fake_a is None:
            # "recomputed", or this loss called on its own.
            fake_b = self.generator_ab(real_a, training=True)
            fake_a = self.generator_ba(real_b, training=True)
        fake_b = self.pool_b.query(fake_b, self.seed_generator)
        fake_a = self.pool_a.query(fake_a, self.seed_generator)
        d_b = discriminator_loss(
            self.discriminator_b(real_b, training=True),
            self.discriminator_b(fake_b, training=True), "lsgan")
        d_a = discriminator_loss(
            self.discriminator_a(real_a, training=True),
            self.discriminator_a(fake_a, training=True), "lsgan")
        return d_a + d_b, {"d_a_loss": d_a, "d_b_loss": d_b}

    # --- Translation --------------------------------------------------------------

    def call(self, images, training=False):
        return self.generator_ab(images, training=training)

    def translate(self, images, direction="a2b", batch_size=32):
        """Translates images `(N, H, W, C)` in [-1, 1] from A to B (`"a2b"`)
        or from B to A (`"b2a"`).

        Example:

        ```python
        import numpy as np
        model = CycleGAN(image_size=8, generator_filters=4,
                         discriminator_filters=4, num_residual_blocks=1,
                         discriminator_layers=1)
        model.translate(np.zeros((1, 8, 8, 3)), direction="b2a").shape
        # (1, 8, 8, 3)
        ```
        """
        direction = self._check_direction(direction)
        network = self.generator_ab if direction == "a2b" else self.generator_ba
        return self._run(network, images, batch_size)

    def translation_rows(self, images_a, images_b):
        """Rows `[a, G(a), F(G(a))]` for each `a`, then `[b, F(b), G(F(b))]`
        for each `b`: shape `(len(a) + len(b), 3, H, W, C)`."""
        rows = []
        for images, there, back in ((images_a, "a2b", "b2a"), (images_b, "b2a", "a2b")):
            images = np.asarray(images, dtype="float32")
            if not len(images):
                continue
            translated = self.translate(images, there)
            rows.append(np.stack([images, translated, self.translate(translated, back)], 1))
        return np.concatenate(rows)

    # --- Serving ----------------------------------------------------------------------

    serving_default = "translate_a2b"
    strip_captions = (("A -> B -> A", ("a", "G(a)", "F(G(a))")),
                      ("B -> A -> B", ("b", "F(b)", "G(F(b))")))

    def serving_endpoints(self):
        """`translate_a2b` (G, `generator_ab`) and `translate_b2a` (F)."""
        return [
            self.translation_endpoint("translate_a2b", "generator_ab", "G: A -> B"),
            self.translation_endpoint("translate_b2a", "generator_ba", "F: B -> A"),
        ]

    # --- Config ---------------------------------------------------------------------

    def get_config(self):
        config = super().get_config()
        config.pop("ema_decay")
        config.update(
            image_size=self.image_size,
            channels=self.channels,
            generator_filters=self.generator_filters,
            discriminator_filters=self.discriminator_filters,
            num_residual_blocks=self.num_residual_blocks,
            discriminator_layers=self.discriminator_layers,
            cycle_weight=self.cycle_weight,
            identity_weight=self.identity_weight,
            pool_size=self.pool_size,
            learning_rate=self.learning_rate,
            beta_1=self.beta_1,
            constant_steps=self.constant_steps,
            decay_steps=self.decay_steps,
            jitter=self.jitter,
            strided_padding=self.strided_padding,
            discriminator_fakes=self.discriminator_fakes,
        )
        return config

    @classmethod
    def from_config(cls, config):
        # A model saved before these options existed was trained with them
        # like this; its weights need the padding they were trained with.
        config = {"strided_padding": "same", "discriminator_fakes": "recomputed",
                  **config}
        return super().from_config(config)
