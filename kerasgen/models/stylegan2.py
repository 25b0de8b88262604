"""StyleGAN2 (Karras et al. 2020): a style-based generator with modulated
convolutions, a residual discriminator, lazy R1 and style mixing.

- Analyzing and Improving the Image Quality of StyleGAN:
  https://arxiv.org/abs/1912.04958
- A Style-Based Generator Architecture for GANs (StyleGAN, the mapping
  network, style mixing and truncation): https://arxiv.org/abs/1812.04948

A mapping network f (8 dense layers, learning rate x 0.01) turns z into
w; the synthesis network starts from a learned 4x4 constant and, per
resolution, runs modulated and demodulated 3x3 convolutions
(`kerasgen.layers.style`), each with per-pixel noise, a bias and a leaky
ReLU; each resolution's toRGB (modulated 1x1, not demodulated) adds to the
upsampled image so far (the "skip" generator, figure 7). Every synthesis
layer takes its own w (`num_ws` of them), which is what style mixing
exploits: layers below a crossover take the styles of one latent ("coarse":
pose, face shape), the rest another's ("fine": colours, texture).

Notation:

| code             | paper                                   |
| ---------------- | --------------------------------------- |
| `mapping(z)`     | f(z) = w                                |
| `ws`             | w per synthesis layer, `(n, num_ws, w_dim)` |
| `w_avg`          | the mean w, tracked in training (beta 0.995) |
| `truncation_psi` | psi: w' = w_avg + psi (w - w_avg)       |
| `r1_gamma`       | gamma of R1 = gamma/2 E||grad D(x)||^2  |
| `r1_interval`    | lazy regularization: R1 every 16 batches, times 16 |
| `style_mixing`   | share of batches trained with two latents |
| `path_length_weight` | w_pl of the path length penalty (eq. 4) |
| `pl_mean`        | a, the running mean of the path lengths |

Losses (the paper's config F): non-saturating logistic for both networks,
R1 on reals every `r1_interval` batches (scaled by the interval), style
mixing in 90% of the batches; EMA of the generator for sampling. Path
length regularization (section 3.2, eq. 4) is optional
(`path_length_weight`, 0 by default; the paper's 2): every
`path_length_interval` batches, on half a batch,

    E_{w, y ~ N(0, I)} (||J_w^T y||_2 - a)^2,   J_w = dG(w)/dw,

with y scaled by 1/sqrt(H W) and a the running mean of the lengths.

Deviations:
- Upsampling is nearest neighbour before the 3x3 convolution and
  downsampling an average pool (the paper filters with [1, 3, 3, 1]).
- The lazy R1 step has its own Adam (the paper's shares the main one with
  a corrected learning rate and betas).
- Path length: `a` is updated from a draw of its own (an assign step
  just before the penalty's, on another half batch), where the paper
  updates it from the lengths the penalty itself computes; both estimate
  the same mean. The Jacobian is taken with each layer's fixed noise.
- No mixed-precision layers.
- W is a latent space through `w_space()`, not the model's own
  `sample_latents` (which stays Z, as the export's `generate(z)`).
- The minibatch standard deviation is over the whole batch (the paper's
  groups of 4), as in `kerasgen.models.progan`.
"""

import keras
from keras import ops

from kerasgen.layers.progressive import CriticHead
from kerasgen.layers.progressive import EqualizedConv2D
from kerasgen.layers.progressive import EqualizedDense
from kerasgen.layers.progressive import resolution_levels
from kerasgen.layers.progressive import upsample
from kerasgen.layers.style import SQRT2
from kerasgen.layers.style import ModulatedConv2D
from kerasgen.layers.style import NoiseInjection
from kerasgen.layers.style import lrelu
from kerasgen.layers.style import residual_down
from kerasgen.layers.style import residual_down_block
from kerasgen.losses import r1_penalty
from kerasgen.training.input_gradients import input_gradient
from kerasgen.models.interfaces import LatentGenerator
from kerasgen.models.progan import feature_maps
from kerasgen.models.registry import register_family
from kerasgen.training import AssignStep
from kerasgen.training import GenerativeModel
from kerasgen.training import UpdateStep
from kerasgen.utils import arguments
from kerasgen.training.replicas import per_example



def mix_styles(ws_a, ws_b, crossover):
    """Style mixing: layers `[0, crossover)` take `ws_a`'s w (the coarse
    styles), the others `ws_b`'s.

    Example:

    ```python
    import numpy as np
    a, b = np.zeros((1, 4, 2), "float32"), np.ones((1, 4, 2), "float32")
    mix_styles(a, b, 1)[0, :, 0]  # [0.0, 1.0, 1.0, 1.0]
    ```
    """
    layer = ops.arange(ops.shape(ws_a)[1])[None, :, None]
    return ops.where(layer < crossover, ws_a, ws_b)


# --- Networks -----------------------------------------------------------------


@keras.saving.register_keras_serializable(package="kerasgen")
class StyleGenerator(keras.Model):
    """Mapping network and skip synthesis network (figure 7, config F).

    Example:

    ```python
    import numpy as np
    g = StyleGenerator(8, w_dim=8, mapping_layers=2, image_size=8, channels=1,
                       fmap_base=16, fmap_max=8)
    g.num_ws, g(np.zeros((2, 8), "float32")).shape  # (4, (2, 8, 8, 1))
    ```
    """

    def __init__(self, latent_dim, w_dim, mapping_layers, image_size, channels,
                 fmap_base=16384, fmap_max=512, **kwargs):
        super().__init__(**kwargs)
        self.latent_dim, self.w_dim = int(latent_dim), int(w_dim)
        self.mapping_layers, self.image_size = int(mapping_layers), int(image_size)
        self.channels, self.fmap_base, self.fmap_max = int(channels), int(fmap_base), int(fmap_max)
        self.levels = resolution_levels(type(self).__name__, image_size)
        self.num_ws = 2 * self.levels + 2
        # === Mapping f: z -> w ===
        self.mapping_dense = []
        for i in range(self.mapping_layers):
            dense = EqualizedDense(w_dim, lr_multiplier=0.01, name=f"mapping_{i}")
            dense.build((None, latent_dim if i == 0 else w_dim))
            self.mapping_dense.append(dense)
        # === Synthesis ===
        width = [feature_maps(4 * 2**k, fmap_base, fmap_max) for k in range(self.levels + 1)]
        self.const = self.add_weight(name="const", shape=(4, 4, width[0]),
                                     initializer=keras.initializers.RandomNormal(0.0, 1.0))
        self.convs, self.noises, self.biases, self.to_rgb = [], [], [], []
        for k in range(self.levels + 1):
            size = 4 * 2**k
            for i in range(1 if k == 0 else 2):
                inputs = width[k] if (k == 0 or i == 1) else width[k - 1]
                conv = ModulatedConv2D(width[k], 3, upsample=(k > 0 and i == 0),
                                       name=f"conv_{size}x{size}_{i}")
                conv.build([(None, size // (2 if conv.upsample else 1),
                             size // (2 if conv.upsample else 1), inputs), (None, w_dim)])
                noise = NoiseInjection(name=f"noise_{size}x{size}_{i}")
                noise.build((None, size, size, width[k]))
                bias = self.add_weight(name=f"bias_{size}x{size}_{i}", shape=(width[k],),
                                       initializer="zeros")
                self.convs.append(conv)
                self.noises.append(noise)
                self.biases.append(bias)
            to_rgb = ModulatedConv2D(channels, 1, demodulate=False, name=f"to_rgb_{size}x{size}")
            to_rgb.build([(None, size, size, width[k]), (None, w_dim)])
            self.to_rgb.append(to_rgb)
        self.rgb_biases = [self.add_weight(name=f"rgb_bias_{4 * 2**k}", shape=(channels,),
                                           initializer="zeros")
                           for k in range(self.levels + 1)]
        self.built = True

    def mapping(self, z):
        """w = f(z), z normalized to unit mean square first."""
        z = ops.cast(z, "float32")
        x = z * ops.rsqrt(ops.mean(ops.square(z), axis=-1, keepdims=True) + 1e-8)
        for dense in self.mapping_dense:
            x = ops.leaky_relu(dense(x), 0.2)
        return x

    def broadcast(self, w):
        """One w for every synthesis layer: `(n, num_ws, w_dim)`."""
        return ops.repeat(w[:, None, :], self.num_ws, axis=1)

    def synthesis(self, ws, seed_generator=None):
        """Images from per-layer styles `ws`; fresh noise from
        `seed_generator` (training) or each layer's fixed draw (None)."""
        n = ops.shape(ws)[0]
        x = ops.broadcast_to(self.const[None], (n, *self.const.shape))
        image, layer = None, 0
        for k in range(self.levels + 1):
            for i in range(1 if k == 0 else 2):
                # 4x4's conv takes w 0; at level k, conv i takes w 2k - 1 + i
                # and toRGB w 2k + 1 (which the next level's first conv shares).
                index = 0 if k == 0 else 2 * k - 1 + i
                x = self.convs[layer]([x, ws[:, index]])
                noise = None
                if seed_generator is not None:
                    noise = per_example(keras.random.normal, (n, x.shape[1], x.shape[2], 1),
                                                seed=seed_generator)
                x = self.noises[layer](x, noise)
                x = lrelu(x + ops.cast(self.biases[layer], x.dtype))
                layer += 1
            rgb = self.to_rgb[k]([x, ws[:, 2 * k + 1]]) + self.rgb_biases[k]
            image = rgb if image is None else upsample(image) + rgb
        return image

    def call(self, z, training=False):
        return self.synthesis(self.broadcast(self.mapping(z)))

    def get_config(self):
        return {**super().get_config(), "latent_dim": self.latent_dim, "w_dim": self.w_dim,
                "mapping_layers": self.mapping_layers, "image_size": self.image_size,
                "channels": self.channels, "fmap_base": self.fmap_base,
                "fmap_max": self.fmap_max}


@keras.saving.register_keras_serializable(package="kerasgen")
class ResidualDiscriminator(keras.Model):
    """The residual discriminator (figure 7c): fromRGB at full resolution,
    then per halving two 3x3 convolutions beside a 1x1 skip, summed and
    scaled by 1/sqrt(2); at 4x4 the minibatch standard deviation, a conv,
    a dense layer and the score.

    Example:

    ```python
    import numpy as np
    d = ResidualDiscriminator(image_size=8, channels=1, fmap_base=16, fmap_max=8)
    d(np.zeros((2, 8, 8, 1), "float32")).shape  # (2, 1)
    ```
    """

    def __init__(self, image_size, channels, fmap_base=16384, fmap_max=512, **kwargs):
        super().__init__(**kwargs)
        self.image_size, self.channels = int(image_size), int(channels)
        self.fmap_base, self.fmap_max = int(fmap_base), int(fmap_max)
        self.levels = resolution_levels(type(self).__name__, image_size)
        width = [feature_maps(4 * 2**k, fmap_base, fmap_max) for k in range(self.levels + 1)]
        top = self.levels
        self.from_rgb = EqualizedConv2D(width[top], 1, name="from_rgb")
        self.from_rgb.build((None, image_size, image_size, channels))
        self.blocks = []
        for k in range(top, 0, -1):
            self.blocks.append(residual_down_block(4 * 2**k, width[k], width[k - 1]))
        self.head = CriticHead(width[0], activation_gain=SQRT2, name="head")
        self.head.build()
        self.width = width
        self.built = True

    def call(self, images, training=False):
        x = lrelu(self.from_rgb(images))
        for block in self.blocks:
            x = residual_down(x, block)
        return self.head(x)

    def get_config(self):
        return {**super().get_config(), "image_size": self.image_size,
                "channels": self.channels, "fmap_base": self.fmap_base,
                "fmap_max": self.fmap_max}


# --- The family ---------------------------------------------------------------


@register_family("stylegan2")
class StyleGAN2(LatentGenerator, GenerativeModel):
    """StyleGAN2 (Karras et al. 2020), config F (path length
    regularization optional).

    Args:
        image_size: int. 4 times a power of 2. Defaults to 64.
        channels: int. 1 or 3. Defaults to 3.
        latent_dim: int. Size of z. Defaults to 512.
        w_dim: int. Size of w. Defaults to 512.
        mapping_layers: int. Dense layers of f. Defaults to 8.
        fmap_base: int. Channels min(fmap_max, 2 * fmap_base / resolution).
            Defaults to 16384.
        fmap_max: int. Defaults to 512.
        r1_gamma: float. R1 weight gamma (0: off). Defaults to 10.
        r1_interval: int. Batches between R1 steps. Defaults to 16.
        style_mixing: float. Share of batches with two latents. Defaults
            to 0.9.
        path_length_weight: float. w_pl of the path length penalty (0:
            off; the paper's config F: 2). Defaults to 0.
        path_length_interval: int. Batches between path length steps
            (lazy regularization). Defaults to 4.
        path_length_decay: float. Rate of the running mean `a` of the
            path lengths. Defaults to 0.01.
        truncation_psi: float. psi used when sampling (1: none). Defaults
            to 1.0.
        w_avg_beta: float. Decay of the tracked mean w. Defaults to 0.995.
        learning_rate: float. Adam learning rate. Defaults to 0.002.
        beta_1: float. Defaults to 0.0.
        beta_2: float. Defaults to 0.99.
        ema_decay: float or None. EMA of G for sampling. Defaults to 0.999.
        seed: int or None. Seeds latents, noise and mixing.

    Reference:
        Karras et al. 2020, https://arxiv.org/abs/1912.04958

    Example:

    ```python
    import numpy as np
    model = StyleGAN2(image_size=8, channels=1, latent_dim=8, w_dim=8,
                      mapping_layers=2, fmap_base=16, fmap_max=8)
    model.compile()
    images = np.random.uniform(-1, 1, (8, 8, 8, 1)).astype("float32")
    model.fit(images, batch_size=4, epochs=1, verbose=0)
    model.sample(2, seed=0).shape  # (2, 8, 8, 1)
    ```
    """

    description = "StyleGAN2 (Karras et al. 2020): modulated convolutions, style mixing."
    ema_network = "generator"
    #: `mix(z_coarse, z_fine, crossover)`: `kerasgen mix` draws its figure.
    interfaces = LatentGenerator.interfaces + ("mix",)
    default_batch_size = 32
    recipes = {"demo": dict(image_size=16, channels=1, latent_dim=64, w_dim=64,
                            mapping_layers=4, fmap_base=128, fmap_max=64, r1_gamma=1.0)}

    def __init__(
        self,
        image_size=64,
        channels=3,
        latent_dim=512,
        w_dim=512,
        mapping_layers=8,
        fmap_base=16384,
        fmap_max=512,
        r1_gamma=10.0,
        r1_interval=16,
        style_mixing=0.9,
        path_length_weight=0.0,
        path_length_interval=4,
        path_length_decay=0.01,
        truncation_psi=1.0,
        w_avg_beta=0.995,
        learning_rate=0.002,
        beta_1=0.0,
        beta_2=0.99,
        ema_decay=0.999,
        seed=None,
        **kwargs,
    ):
        super().__init__(ema_decay=ema_decay, seed=seed, **kwargs)
        resolution_levels(self, image_size)
        if channels not in (1, 3):
            arguments.refuse(self, "channels", channels, "1 or 3")
        arguments.check_count(self, "mapping_layers", mapping_layers, 1)
        arguments.check_count(self, "r1_interval", r1_interval, 1)
        if not 0.0 <= float(style_mixing) <= 1.0:
            arguments.refuse(self, "style_mixing", style_mixing, "a share in [0, 1]")
        if float(r1_gamma) < 0:
            arguments.refuse(self, "r1_gamma", r1_gamma, "0 (off) or positive")
        if float(path_length_weight) < 0:
            arguments.refuse(self, "path_length_weight", path_length_weight,
                             "0 (off) or positive")
        arguments.check_count(self, "path_length_interval", path_length_interval, 1)
        if not 0.0 < float(path_length_decay) <= 1.0:
            arguments.refuse(self, "path_length_decay", path_length_decay, "a rate in (0, 1]")
        # === Layers ===
        self.generator = StyleGenerator(latent_dim, w_dim, mapping_layers, image_size,
                                        channels, fmap_base, fmap_max, name="generator")
        self.discriminator = ResidualDiscriminator(image_size, channels, fmap_base, fmap_max,
                                                   name="discriminator")
        self.w_avg = self.add_weight(name="w_avg", shape=(w_dim,), initializer="zeros",
                                     trainable=False)
        if float(path_length_weight) > 0:
            # Only with the penalty on, so that models without it (the
            # presets) keep their list of weights.
            self.pl_mean = self.add_weight(name="pl_mean", shape=(), initializer="zeros",
                                           trainable=False)
        # === Config ===
        self.image_size, self.channels = image_size, channels
        self.latent_dim, self.w_dim, self.mapping_layers = latent_dim, w_dim, mapping_layers
        self.fmap_base, self.fmap_max = fmap_base, fmap_max
        self.r1_gamma, self.r1_interval = float(r1_gamma), int(r1_interval)
        self.style_mixing, self.truncation_psi = float(style_mixing), float(truncation_psi)
        self.path_length_weight = float(path_length_weight)
        self.path_length_interval = int(path_length_interval)
        self.path_length_decay = float(path_length_decay)
        self.w_avg_beta = float(w_avg_beta)
        self.learning_rate, self.beta_1, self.beta_2 = learning_rate, beta_1, beta_2
        self.num_ws = self.generator.num_ws
        self._finish_networks()

    # --- Styles: mapping, mixing, truncation --------------------------------

    def _z(self, n):
        return per_example(keras.random.normal, (n, self.latent_dim), seed=self.seed_generator)

    def training_ws(self, n):
        """`ws` of a training batch: w = f(z), and with probability
        `style_mixing` a second latent's w from a random crossover on."""
        g = self.generator
        ws = g.broadcast(g.mapping(self._z(n)))
        if self.style_mixing > 0:
            other = g.broadcast(g.mapping(self._z(n)))
            cutoff = keras.random.randint((), 1, self.num_ws, seed=self.seed_generator)
            mixing = keras.random.uniform((), seed=self.seed_generator) < self.style_mixing
            ws = mix_styles(ws, other, ops.where(mixing, cutoff, self.num_ws))
        return ws

    def truncate(self, w, psi=None):
        """w' = w_avg + psi (w - w_avg): psi = 0 is the mean w, psi = 1 w."""
        psi = self.truncation_psi if psi is None else float(psi)
        return self.w_avg + psi * (w - self.w_avg)

    def styles(self, z, psi=None):
        """The per-layer styles of latents z, truncated: `(n, num_ws, w_dim)`."""
        g = self.sampling_network("generator")
        return g.broadcast(self.truncate(g.mapping(z), psi))

    def synthesize(self, ws):
        """Images in [-1, 1] from per-layer styles (the fixed noise)."""
        images = self.sampling_network("generator").synthesis(ops.convert_to_tensor(ws))
        return ops.clip(images, -1.0, 1.0)

    def w_space(self, psi=None):
        """The latent interface in W instead of Z (`WSpace`): latents are
        w = f(z), truncated by `psi`, decoded with one w for every layer,
        so the latent tools (interpolation, arithmetic, directions) work
        in the space where StyleGAN's edits are made.

        Example:

        ```python
        model = StyleGAN2(image_size=8, channels=1, latent_dim=8, w_dim=6,
                          mapping_layers=2, fmap_base=16, fmap_max=8)
        space = model.w_space()
        space.sample_latents(3, seed=0).shape, space.sample(3, seed=0).shape
        # ((3, 6), (3, 8, 8, 1))
        ```
        """
        return WSpace(self, psi)

    @property
    def coarse_layers(self):
        """The synthesis layers of the 4x4 and 8x8 resolutions, the
        StyleGAN paper's "coarse styles" (pose, face shape, glasses): 4."""
        return min(4, self.num_ws)

    def mix(self, z_coarse, z_fine, crossover=None, psi=None):
        """Style mixing (StyleGAN, figure 3): layers `[0, crossover)` take
        the styles of `z_coarse`, the rest those of `z_fine`.

        Args:
            z_coarse, z_fine: latents `(n, latent_dim)`, the same n.
            crossover: int in [0, num_ws] or None for `coarse_layers`.
            psi: float or None. Truncation (None: `truncation_psi`).

        Example:

        ```python
        import numpy as np
        model = StyleGAN2(image_size=8, channels=1, latent_dim=8, w_dim=8,
                          mapping_layers=2, fmap_base=16, fmap_max=8)
        z = model.sample_latents(2, seed=0)
        model.mix(z[:1], z[1:], crossover=2).shape  # (1, 8, 8, 1)
        ```
        """
        crossover = self.coarse_layers if crossover is None else int(crossover)
        if not 0 <= crossover <= self.num_ws:
            arguments.refuse(self, "crossover", crossover, f"an int in [0, {self.num_ws}]")
        ws = mix_styles(self.styles(z_coarse, psi), self.styles(z_fine, psi), crossover)
        return keras.ops.convert_to_numpy(self.synthesize(ws))

    # --- Losses and update steps --------------------------------------------

    def discriminator_step_loss(self, images, labels=None):
        """softplus(D(G(z))) + softplus(-D(x)), the logistic loss."""
        ws = self.training_ws(ops.shape(images)[0])
        fake = self.generator.synthesis(ws, seed_generator=self.seed_generator)
        real_logits = self.discriminator(images, training=True)
        fake_logits = self.discriminator(fake, training=True)
        loss = ops.mean(ops.softplus(fake_logits)) + ops.mean(ops.softplus(-real_logits))
        return loss, {"d_loss": loss}

    def r1_step_loss(self, images, labels=None):
        """Lazy R1: gamma/2 E||grad D(x)||^2 times the interval (eq. of
        Mescheder et al. 2018; section B of StyleGAN2)."""
        r1 = r1_penalty(self.discriminator, images)
        return 0.5 * self.r1_gamma * self.r1_interval * r1, {"r1": r1}

    def generator_step_loss(self, images, labels=None):
        """softplus(-D(G(z))), the non-saturating loss."""
        ws = self.training_ws(ops.shape(images)[0])
        fake = self.generator.synthesis(ws, seed_generator=self.seed_generator)
        loss = ops.mean(ops.softplus(-self.discriminator(fake, training=True)))
        return loss, {"g_loss": loss}

    def path_lengths(self, ws, y=None):
        """||J_w^T y|| of each image (the root mean over the synthesis
        layers of the squared norm of its w's gradient), with J_w the
        Jacobian of the synthesis (fixed noise) at `ws` and y ~ N(0, I) /
        sqrt(H W), drawn when None.

        Example:

        ```python
        model = StyleGAN2(image_size=8, channels=1, latent_dim=8, w_dim=8,
                          mapping_layers=2, fmap_base=16, fmap_max=8,
                          path_length_weight=2.0)
        ws = model.training_ws(3)
        model.path_lengths(ws).shape  # (3,)
        ```
        """
        g = self.generator
        if y is None:
            shape = (ops.shape(ws)[0], self.image_size, self.image_size, self.channels)
            y = per_example(keras.random.normal, shape, seed=self.seed_generator) / self.image_size
        gradients = input_gradient(lambda v: ops.sum(g.synthesis(v) * y, axis=(1, 2, 3)), ws)
        return ops.sqrt(ops.mean(ops.sum(ops.square(gradients), axis=2), axis=1))

    def _path_length_ws(self, images):
        # Half the batch (the paper's pl_batch_shrink 2), at least one.
        return self.training_ws(ops.shape(images[::2])[0])

    def path_length_mean_update(self, images, labels=None):
        """a <- a + decay (mean length - a), from a half batch of its own."""
        lengths = ops.stop_gradient(self.path_lengths(self._path_length_ws(images)))
        mean = self.pl_mean + self.path_length_decay * (ops.mean(lengths) - self.pl_mean)
        return {"pl_mean": mean}, {"pl_mean": mean}

    def path_length_step_loss(self, images, labels=None):
        """w_pl E(||J_w^T y|| - a)^2, times the interval (eq. 4, lazy)."""
        lengths = self.path_lengths(self._path_length_ws(images))
        penalty = ops.mean(ops.square(lengths - self.pl_mean))
        weight = self.path_length_weight * self.path_length_interval
        return weight * penalty, {"pl_penalty": penalty}

    def w_avg_update(self, images, labels=None):
        """w_avg <- lerp(mean f(z) of a batch, w_avg, w_avg_beta); logs its
        norm (a mapping collapsing to a point shows as a flat line)."""
        w = ops.mean(self.generator.mapping(self._z(ops.shape(images)[0])), axis=0)
        w_avg = w + self.w_avg_beta * (self.w_avg - w)
        return {"w_avg": w_avg}, {"w_avg_norm": ops.sqrt(ops.sum(ops.square(w_avg)))}

    def update_steps(self):
        steps = [UpdateStep("discriminator", self.discriminator_step_loss, ("discriminator",))]
        if self.r1_gamma > 0:
            steps.append(UpdateStep("r1", self.r1_step_loss, ("discriminator",),
                                    every=self.r1_interval))
        steps.append(UpdateStep("generator", self.generator_step_loss, ("generator",)))
        if self.path_length_weight > 0:
            every = self.path_length_interval
            steps += [AssignStep("pl_mean", self.path_length_mean_update, ("pl_mean",),
                                 every=every),
                      UpdateStep("path_length", self.path_length_step_loss, ("generator",),
                                 every=every)]
        steps.append(AssignStep("w_avg", self.w_avg_update, ("w_avg",)))
        return steps

    def default_optimizers(self):
        names = ["discriminator", "generator"] + (["r1"] if self.r1_gamma > 0 else [])
        names += ["path_length"] if self.path_length_weight > 0 else []
        return {name: keras.optimizers.Adam(self.learning_rate, beta_1=self.beta_1,
                                            beta_2=self.beta_2, epsilon=1e-8,
                                            name=f"{name}_adam") for name in names}

    # --- Sampling -----------------------------------------------------------

    def decode_tensor(self, latents, labels=None):
        """G(z) in [-1, 1]: f(z), truncated by `truncation_psi`, then the
        synthesis with its fixed noise (the EMA generator)."""
        return self.synthesize(self.styles(latents))

    def call(self, z, training=False):
        return self.decode_tensor(z)

    # --- Config -------------------------------------------------------------

    def get_config(self):
        config = super().get_config()
        config.update(
            image_size=self.image_size, channels=self.channels, latent_dim=self.latent_dim,
            w_dim=self.w_dim, mapping_layers=self.mapping_layers, fmap_base=self.fmap_base,
            fmap_max=self.fmap_max, r1_gamma=self.r1_gamma, r1_interval=self.r1_interval,
            style_mixing=self.style_mixing, path_length_weight=self.path_length_weight,
            path_length_interval=self.path_length_interval,
            path_length_decay=self.path_length_decay, truncation_psi=self.truncation_psi,
            w_avg_beta=self.w_avg_beta, learning_rate=self.learning_rate,
            beta_1=self.beta_1, beta_2=self.beta_2,
        )
        return config


class WSpace(LatentGenerator):
    """StyleGAN2's W as a latent space (`StyleGAN2.w_space()`): the same
    latent interface as the model's own Z (`sample_latents`, `decode`,
    `sample`), with latents `(n, w_dim)`. `sample_latents(n, seed)` maps
    the model's z of that seed through f (and truncation), so
    `space.sample(n, seed)` is `model.sample(n, seed)` at the same psi.

    Args:
        model: a `StyleGAN2`.
        psi: float or None. Truncation of the sampled w (None: the model's
            `truncation_psi`).
    """

    num_classes = 0

    def __init__(self, model, psi=None):
        self.model, self.psi = model, psi

    @property
    def latent_dim(self):
        return int(self.model.w_dim)

    def sample_latents(self, n, seed=None):
        """w = truncate(f(z)) for the model's z of `seed`, float32 numpy."""
        z = self.model.sample_latents(n, seed)
        styles = self.model.styles(z, self.psi)
        return ops.convert_to_numpy(styles[:, 0]).astype("float32")

    def decode_tensor(self, latents, labels=None):
        """The images of w, one w for every synthesis layer."""
        w = ops.convert_to_tensor(latents, "float32")
        return self.model.synthesize(ops.repeat(w[:, None], self.model.num_ws, axis=1))
