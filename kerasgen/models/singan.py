"""SinGAN (Shaham et al. 2019): a generative model learned from one image.

- SinGAN: Learning a Generative Model from a Single Natural Image:
  https://arxiv.org/abs/1905.01164

A pyramid of small, fully convolutional GANs, one per scale of the one
training image x (downscaled by `scale_factor` from the image's size to a
coarsest one whose short side is `min_size`). Each scale's generator takes
noise and the upsampled output of the scale below and adds a residual to
it (figure 4): `x_n = G_n(z_n + up(x_{n+1})) + up(x_{n+1})`, with the
coarsest one (no image below) made from noise alone. Each discriminator is
a patch critic (five 3x3 convolutions, an 11x11 receptive field): it
judges the distribution of patches, so a generator learns the image's
patch statistics at its scale rather than the image itself. Scales train
one after another, coarse to fine, each with the ones below frozen.

Losses (section 2.2): WGAN-GP for the adversarial term, plus a
reconstruction loss that makes one fixed noise map z* at the coarsest
scale (and no noise above it) give back the image:
`alpha * ||G_n(up(x~_{n+1})) - x_n||^2`. The reconstruction also sets how
much noise each scale gets, `sigma_n = noise_amp * RMSE(up(x~_{n+1}), x_n)`:
a scale where the coarser ones already explain the image gets little.

Because every network is convolutional, a sample of another size or aspect
ratio is the same pyramid run on noise maps of that size (`sample(size=)`),
and the paper's applications are the pyramid started at a finer scale from
a given image instead of noise (`inject`): paint-to-image, editing and
harmonization (section 4), `kerasgen inject RUN IMAGE --start N`.

Notation:

| code                    | paper                                       |
| ----------------------- | ------------------------------------------- |
| `scale`, `k`            | n, counted here from the coarsest (0) up     |
| `sizes`                 | the pyramid x_N ... x_0, coarsest first      |
| `reconstruction_noise`  | z*, the fixed coarsest noise map             |
| `noise_amplitudes`      | sigma_n, measured when scale n starts        |
| `reconstruction_weight` | alpha = 10                                   |
| `lambda_gp`             | the WGAN-GP weight, 0.1                      |

The gradient penalty is taken per pixel (the norm over channels of the
gradient of the summed patch scores, then the mean), as the authors' code
does; a whole-image norm holds the critic so flat that it cannot tell
colour noise from the image.

Deviations:
- Convolutions pad with zeros at every layer ("same"); the authors' code
  pads the input once and uses valid convolutions.
- The noise has the image's channels at every scale (the authors' code
  draws one channel at the coarsest and repeats it).
- The pyramid is resized with Keras's antialiased bilinear resize (the
  authors' code has a MATLAB-style bicubic one).
"""

import math

import keras
import numpy as np
from keras import layers
from keras import ops

from kerasgen.losses import gradient_penalty
from kerasgen.models.interfaces import DataSpec
from kerasgen.models.interfaces import LatentGenerator
from kerasgen.models.registry import register_family
from kerasgen.training import AssignStep
from kerasgen.training import GenerativeModel
from kerasgen.training import UpdateStep
from kerasgen.training.phases import Phase
from kerasgen.utils import arguments
from kerasgen.training.replicas import per_example


def pyramid_sizes(height, width, min_size=25, scale_factor=0.75):
    """The (height, width) of every scale, coarsest first: the image
    shrunk by about `scale_factor` per scale until its short side is
    `min_size` (the factor is adjusted so that it lands there exactly, as
    the authors' code does).

    Example:

    ```python
    pyramid_sizes(64, 96, min_size=25)
    # [(25, 38), (32, 47), (40, 60), (51, 76), (64, 96)]
    ```
    """
    short = min(height, width)
    if short <= min_size:
        return [(int(height), int(width))]
    scales = int(math.ceil(math.log(min_size / short) / math.log(scale_factor))) + 1
    factor = (min_size / short) ** (1.0 / (scales - 1))
    return [(max(1, round(height * factor ** (scales - 1 - k))),
             max(1, round(width * factor ** (scales - 1 - k)))) for k in range(scales)]


def scale_filters(scale, filters=32, max_filters=128):
    """Channels of scale `scale`'s networks: `filters`, doubled every 4
    scales, at most `max_filters` (the authors' code).

    Example:

    ```python
    [scale_filters(k) for k in (0, 3, 4, 8, 12)]  # [32, 32, 64, 128, 128]
    ```
    """
    return int(min(max_filters, filters * 2 ** (scale // 4)))


def _resize(images, size, antialias=False):
    return ops.image.resize(images, size, interpolation="bilinear", antialias=antialias)


# --- Networks -----------------------------------------------------------------


def _patch_stack(x, filters, num_layers, name):
    """`num_layers - 1` blocks of conv 3x3 -> BatchNorm -> leaky ReLU (0.2),
    the body of both networks (the last layer is each network's own)."""
    for i in range(num_layers - 1):
        # No bias: the BatchNorm after it removes any constant.
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False,
                          kernel_initializer=keras.initializers.RandomNormal(stddev=0.02),
                          name=f"{name}_conv_{i}")(x)
        x = layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name=f"{name}_bn_{i}")(x)
        x = layers.LeakyReLU(0.2, name=f"{name}_lrelu_{i}")(x)
    return x


def build_scale_generator(channels, filters=32, num_layers=5, name="generator"):
    """One scale's generator: `tanh(stack(noise + previous)) + previous`,
    on inputs of any height and width (fully convolutional).

    Example:

    ```python
    import numpy as np
    g = build_scale_generator(3, filters=8, num_layers=3)
    x = np.zeros((1, 13, 21, 3), "float32")
    g([x, x]).shape  # (1, 13, 21, 3)
    ```
    """
    noise = keras.Input((None, None, channels), name="noise")
    previous = keras.Input((None, None, channels), name="previous")
    x = _patch_stack(layers.Add(name="noise_plus_previous")([noise, previous]),
                     filters, num_layers, name)
    x = layers.Conv2D(channels, 3, padding="same", activation="tanh", name=f"{name}_tail")(x)
    outputs = layers.Add(name="residual")([x, previous])
    return keras.Model([noise, previous], outputs, name=name)


def build_patch_critic(channels, filters=32, num_layers=5, name="discriminator"):
    """One scale's critic: the same stack, then a 3x3 convolution to one
    score per patch (an 11x11 receptive field with 5 layers).

    Example:

    ```python
    import numpy as np
    d = build_patch_critic(3, filters=8, num_layers=3)
    d(np.zeros((1, 17, 9, 3), "float32")).shape  # (1, 17, 9, 1)
    ```
    """
    images = keras.Input((None, None, channels), name="images")
    x = _patch_stack(images, filters, num_layers, name)
    # No bias: a constant added to every score cancels in the WGAN loss.
    scores = layers.Conv2D(1, 3, padding="same", use_bias=False, name=f"{name}_tail")(x)
    return keras.Model(images, scores, name=name)


# --- The family ---------------------------------------------------------------


@register_family("singan")
class SinGAN(LatentGenerator, GenerativeModel):
    """SinGAN (Shaham et al. 2019), trained coarse to fine on one image.

    Args:
        image_height: int. The training image's height (its finest
            scale). `kerasgen train singan` sets it and the width from
            the image it trains on (`configure_for_data`).
        image_width: int. The training image's width.
        channels: int. 1 or 3. Defaults to 3.
        max_size: int. The longer side a larger training image is shrunk
            to by `configure_for_data`. Defaults to 250 (the paper's).
        min_size: int. The coarsest scale's short side. Defaults to 25.
        scale_factor: float in (0, 1). About how much each scale shrinks
            the next finer one. Defaults to 0.75 (r = 4/3).
        filters: int. Channels of the coarsest scales' networks (doubled
            every 4 scales). Defaults to 32.
        max_filters: int. Defaults to 128.
        num_layers: int. Convolutions per network. Defaults to 5.
        steps_per_scale: int or None. Batches per scale; None shares the
            planned run equally among the scales. Defaults to None.
        d_steps: int. Critic updates per batch. Defaults to 3.
        g_steps: int. Generator updates per batch. Defaults to 3.
        lambda_gp: float. Weight of the gradient penalty. Defaults to 0.1.
        reconstruction_weight: float. alpha. Defaults to 10.
        noise_amp: float. sigma_n per unit of the reconstruction's RMSE.
            Defaults to 0.1.
        learning_rate: float. Adam learning rate, x 0.1 after 80% of a
            scale's batches. Defaults to 5e-4.
        beta_1: float. Adam beta_1. Defaults to 0.5.
        beta_2: float. Adam beta_2. Defaults to 0.999.
        seed: int or None. Seeds z* and the training noise.

    Reference:
        Shaham et al. 2019, https://arxiv.org/abs/1905.01164

    Example:

    ```python
    import numpy as np
    model = SinGAN(image_height=16, image_width=24, min_size=10, filters=4,
                   num_layers=3, steps_per_scale=1, d_steps=1, g_steps=1)
    model.sizes  # ((10, 15), (13, 19), (16, 24))
    model.compile()
    image = np.random.uniform(-1, 1, (1, 16, 24, 3)).astype("float32")
    model.fit(image, batch_size=1, epochs=1, verbose=0)
    model.sample(2, seed=0).shape, model.sample(1, size=(16, 40)).shape
    # ((2, 16, 24, 3), (1, 16, 40, 3))
    ```
    """

    description = "SinGAN (Shaham et al. 2019): a pyramid of patch GANs on one image."
    interfaces = LatentGenerator.interfaces + ("inject",)
    default_batch_size = 1
    sample_options = ("size",)
    recipes = {"demo": dict(max_size=32, min_size=12, filters=8, max_filters=8,
                            num_layers=3, d_steps=1, g_steps=1)}

    def __init__(
        self,
        image_height,
        image_width,
        channels=3,
        max_size=250,
        min_size=25,
        scale_factor=0.75,
        filters=32,
        max_filters=128,
        num_layers=5,
        steps_per_scale=None,
        d_steps=3,
        g_steps=3,
        lambda_gp=0.1,
        reconstruction_weight=10.0,
        noise_amp=0.1,
        learning_rate=5e-4,
        beta_1=0.5,
        beta_2=0.999,
        seed=None,
        **kwargs,
    ):
        super().__init__(seed=seed, **kwargs)
        for name, value in (("image_height", image_height), ("image_width", image_width),
                            ("min_size", min_size), ("max_size", max_size),
                            ("num_layers", num_layers), ("d_steps", d_steps),
                            ("g_steps", g_steps), ("max_filters", max_filters)):
            arguments.check_count(self, name, value, 1)
        if channels not in (1, 3):
            arguments.refuse(self, "channels", channels, "1 or 3")
        if not 0.0 < float(scale_factor) < 1.0:
            arguments.refuse(self, "scale_factor", scale_factor, "a number in (0, 1)")
        if steps_per_scale is not None:
            arguments.check_count(self, "steps_per_scale", steps_per_scale, 1)
        # === Config ===
        self.image_height, self.image_width = int(image_height), int(image_width)
        self.channels, self.max_size, self.min_size = channels, max_size, min_size
        self.scale_factor = float(scale_factor)
        self.filters, self.max_filters, self.num_layers = filters, max_filters, num_layers
        self.steps_per_scale, self.d_steps, self.g_steps = steps_per_scale, d_steps, g_steps
        self.lambda_gp = float(lambda_gp)
        self.reconstruction_weight, self.noise_amp = float(reconstruction_weight), float(noise_amp)
        self.learning_rate, self.beta_1, self.beta_2 = learning_rate, beta_1, beta_2
        # A tuple: Keras would track a list attribute as a TrackedList.
        self.sizes = tuple(pyramid_sizes(self.image_height, self.image_width, min_size,
                                         self.scale_factor))
        self.num_scales = len(self.sizes)
        # === Layers: a generator and a critic per scale ===
        for k in range(self.num_scales):
            width = scale_filters(k, filters, max_filters)
            setattr(self, f"generator_{k}", build_scale_generator(
                channels, width, num_layers, name=f"generator_{k}"))
            setattr(self, f"discriminator_{k}", build_patch_critic(
                channels, width, num_layers, name=f"discriminator_{k}"))
        # === State that sampling needs: z* and each scale's sigma ===
        coarsest = self.sizes[0]
        self.reconstruction_noise = self.add_weight(
            shape=coarsest + (channels,), initializer="zeros", trainable=False,
            name="reconstruction_noise")
        # A stream of its own: seeded like sample_latents, z* would be the
        # first sample's coarsest noise map.
        stream = None if seed is None else [int(seed), 0x5A]
        self.reconstruction_noise.assign(np.random.default_rng(stream).standard_normal(
            coarsest + (channels,)).astype("float32"))
        # 1 at the coarsest scale (noise alone); 0 at the others until
        # their training measures them.
        self.noise_amplitudes = self.add_weight(
            shape=(self.num_scales,), initializer="zeros", trainable=False,
            name="noise_amplitudes")
        self.noise_amplitudes.assign(np.eye(1, self.num_scales, 0, dtype="float32")[0])
        # === Where the run is (set by enter_phase; the finished model) ===
        self.scale = self.num_scales - 1
        self._finish_networks()

    def generators(self):
        return [getattr(self, f"generator_{k}") for k in range(self.num_scales)]

    # --- The data: one image, sized before the model is built -------------------

    @classmethod
    def default_data(cls):
        """scikit-learn's sample photo `china.jpg` (427x640), the image the
        demo trains on when no --data is given."""
        import os

        import sklearn.datasets

        return os.path.join(os.path.dirname(sklearn.datasets.__file__), "images",
                            "china.jpg")

    @classmethod
    def configure_for_data(cls, source, config):
        """`image_height`, `image_width` and `channels` from the one image
        of `source` (shrunk so its longer side is at most `max_size`),
        where `config` does not give them.

        Example:

        ```python
        SinGAN.configure_for_data(SinGAN.default_data(), {"max_size": 64})
        # {'image_height': 43, 'image_width': 64, 'channels': 3}
        ```
        """
        import os

        from kerasgen.data import load_images

        if source is not None and os.path.isdir(source):
            raise ValueError(f"SinGAN trains on one image: pass an image file, not a "
                             f"folder. Received: data={source}")
        data = load_images(cls.default_data() if source is None else source)
        if len(data.images) != 1:
            raise ValueError(
                f"SinGAN trains on one image: pass an image file. Received: "
                f"{len(data.images)} images in {data.source}")
        height, width, channels = data.images.shape[1:]
        max_size = int(config.get("max_size", 250))
        shrink = min(1.0, max_size / max(height, width))
        return {key: value for key, value in (
            ("image_height", max(1, round(height * shrink))),
            ("image_width", max(1, round(width * shrink))),
            ("channels", 1 if channels == 1 else 3)) if key not in config}

    def data_spec(self):
        return DataSpec("images", (self.image_height, self.image_width, self.channels))

    # --- Phases: one per scale, coarse to fine -----------------------------------

    def plan_run(self, total_steps):
        """Shares a run of `total_steps` equally among the scales (the finest
        takes the remainder) when `steps_per_scale` was left at None."""
        if self.steps_per_scale is None and total_steps:
            self.steps_per_scale = max(1, int(total_steps) // self.num_scales)

    def phases(self):
        if self.steps_per_scale is None:
            return []
        return [Phase(f"scale {k} ({h}x{w})", self.steps_per_scale)
                for k, (h, w) in enumerate(self.sizes)]

    def enter_phase(self, index, step_in_phase):
        if self.steps_per_scale is None:
            return
        self.scale = index
        self.train_function = None  # the step reads the scale as Python

    # --- The pyramid ----------------------------------------------------------------

    def _noise(self, n, k):
        return per_example(keras.random.normal, (n,) + self.sizes[k] + (self.channels,),
                                   seed=self.seed_generator)

    def _run_scales(self, noises, sizes, start=0, image=None, training_scale=None):
        """Runs scales `start ... start + len(noises) - 1` up from `image`
        (zeros below the coarsest): at each, `G_k(sigma_k * z_k, up(x))`.
        Only `training_scale` runs in training mode; the others are frozen."""
        x = image
        for offset, (noise, size) in enumerate(zip(noises, sizes)):
            k = start + offset
            previous = ops.zeros_like(noise) if x is None else _resize(x, size)
            amplitude = ops.cast(ops.convert_to_tensor(self.noise_amplitudes)[k], noise.dtype)
            x = getattr(self, f"generator_{k}")([amplitude * noise, previous],
                                                training=k == training_scale)
        return x

    def _below(self, n, k, reconstruction):
        """The input of scale `k` from the scales below it (frozen): the
        reconstruction path (z* then no noise), or a random sample; None at
        the coarsest scale."""
        if k == 0:
            return None
        draw = self._reconstruction_noises if reconstruction else self._noise
        return ops.stop_gradient(self._run_scales([draw(n, j) for j in range(k)],
                                                  self.sizes[:k]))

    def _reconstruction_noises(self, n, k):
        if k == 0:
            return ops.repeat(self.reconstruction_noise[None], n, axis=0)
        return ops.zeros((n,) + self.sizes[k] + (self.channels,))

    def real_at_scale(self, images, k):
        """The training image at scale `k` (antialiased bilinear)."""
        images = ops.cast(images, "float32")
        if tuple(self.sizes[k]) == (self.image_height, self.image_width):
            return images
        return _resize(images, self.sizes[k], antialias=True)

    # --- Losses and update steps --------------------------------------------

    def measure_noise_amplitude(self, images, labels=None):
        """sigma_k = noise_amp * RMSE(up(reconstruction below), x_k), for
        every scale but the coarsest (whose sigma is 1: noise alone)."""
        k = self.scale
        real = self.real_at_scale(images, k)
        below = _resize(self._below(ops.shape(real)[0], k, reconstruction=True),
                        self.sizes[k])
        sigma = self.noise_amp * ops.sqrt(ops.mean(ops.square(real - below)))
        amplitudes = ops.where(ops.arange(self.num_scales) == k, sigma,
                               ops.convert_to_tensor(self.noise_amplitudes))
        return {"noise_amplitudes": amplitudes}, {"sigma": sigma}

    def _fake(self, n, k):
        below = self._below(n, k, reconstruction=False)
        return self._run_scales([self._noise(n, k)], [self.sizes[k]], start=k,
                                image=below, training_scale=k)

    def discriminator_step_loss(self, images, labels=None):
        """`E[D(G(z))] - E[D(x)] + lambda_gp * gp`, over every patch score."""
        k = self.scale
        real = self.real_at_scale(images, k)
        fake = ops.stop_gradient(self._fake(ops.shape(real)[0], k))
        critic = getattr(self, f"discriminator_{k}")
        wasserstein = ops.mean(critic(fake, training=True)) - ops.mean(critic(real, training=True))
        # Per pixel, as the authors' code: the critic's score is a sum of patches.
        gp = gradient_penalty(critic, real, fake, seed_generator=self.seed_generator,
                              per_pixel=True)
        loss = wasserstein + self.lambda_gp * gp
        return loss, {"d_loss": loss, "gp": gp}

    def generator_step_loss(self, images, labels=None):
        """`-E[D(G(z))] + alpha * ||G(z*) - x||^2` (the reconstruction)."""
        k = self.scale
        real = self.real_at_scale(images, k)
        n = ops.shape(real)[0]
        critic = getattr(self, f"discriminator_{k}")
        adversarial = -ops.mean(critic(self._fake(n, k), training=True))
        reconstruction = self._run_scales(
            [self._reconstruction_noises(n, k)], [self.sizes[k]], start=k,
            image=self._below(n, k, reconstruction=True), training_scale=k)
        rec_loss = ops.mean(ops.square(reconstruction - real))
        loss = adversarial + self.reconstruction_weight * rec_loss
        return loss, {"g_loss": loss, "rec_loss": rec_loss}

    def _steps_at(self, k):
        measure = [] if k == 0 else [AssignStep(
            f"noise_amplitude_{k}", self.measure_noise_amplitude, ("noise_amplitudes",))]
        return measure + [
            UpdateStep(f"discriminator_{k}", self.discriminator_step_loss,
                       (f"discriminator_{k}",), repeat=self.d_steps),
            UpdateStep(f"generator_{k}", self.generator_step_loss,
                       (f"generator_{k}",), repeat=self.g_steps),
        ]

    def update_steps(self):
        return self._steps_at(self.scale)

    def all_update_steps(self):
        return [step for k in range(self.num_scales) for step in self._steps_at(k)]

    def default_optimizers(self):
        def adam(name, repeat):
            rate = self.learning_rate
            if self.steps_per_scale is not None and self.steps_per_scale >= 5:
                # The authors' MultiStepLR: x 0.1 after 80% of the scale.
                rate = keras.optimizers.schedules.PiecewiseConstantDecay(
                    [int(0.8 * self.steps_per_scale) * repeat],
                    [self.learning_rate, self.learning_rate * 0.1])
            return keras.optimizers.Adam(rate, beta_1=self.beta_1, beta_2=self.beta_2,
                                         name=f"{name}_adam")

        optimizers = {}
        for k in range(self.num_scales):
            optimizers[f"discriminator_{k}"] = adam(f"discriminator_{k}", self.d_steps)
            optimizers[f"generator_{k}"] = adam(f"generator_{k}", self.g_steps)
        return optimizers

    # --- Sampling -----------------------------------------------------------

    def sizes_for(self, size=None):
        """The pyramid of an output of `size` (height, width): every scale
        stretched by the same ratio as the finest (the training size when
        None)."""
        if size is None:
            return list(self.sizes)
        height, width = (int(s) for s in size)
        if height < 1 or width < 1:
            raise ValueError(f"`size` must be two ints >= 1. Received: size={size}")
        sy, sx = height / self.image_height, width / self.image_width
        return [(max(1, round(h * sy)), max(1, round(w * sx))) for h, w in self.sizes[:-1]] + [
            (height, width)]

    @property
    def latent_shape(self):
        # Every scale's noise map, flattened: one point is one sample.
        return (sum(h * w for h, w in self.sizes) * self.channels,)

    @property
    def latent_dim(self):
        return self.latent_shape[0]

    def _split_latents(self, latents, sizes):
        maps, offset = [], 0
        for h, w in sizes:
            count = h * w * self.channels
            maps.append(ops.reshape(latents[:, offset:offset + count],
                                    (-1, h, w, self.channels)))
            offset += count
        return maps

    def decode_tensor(self, latents, labels=None):
        """The images of flattened noise maps (`latent_shape`), run through
        the scales trained so far and shown at the training size.

        Example:

        ```python
        SinGAN(image_height=16, image_width=24, min_size=10, filters=4,
               num_layers=3).sample(2, seed=0).shape  # (2, 16, 24, 3)
        ```
        """
        latents = ops.cast(latents, "float32")
        noises = self._split_latents(latents, self.sizes)[:self.scale + 1]
        images = self._run_scales(noises, self.sizes[:self.scale + 1])
        if self.scale < self.num_scales - 1:
            images = _resize(images, self.sizes[-1])
        return ops.clip(images, -1.0, 1.0)

    def call(self, latents, training=False):
        return self.decode_tensor(latents)

    def sample(self, n, seed=None, labels=None, size=None):
        """`n` images from noise drawn with `seed`; `size=(height, width)`
        draws them at another size or aspect ratio (the same pyramid on
        larger or smaller noise maps)."""
        if size is None:
            return super().sample(n, seed=seed, labels=labels)
        self.check_labels(labels, n)
        sizes = self.sizes_for(size)
        rng = np.random.default_rng(seed)
        noises = [rng.standard_normal((int(n), h, w, self.channels)).astype("float32")
                  for h, w in sizes]
        images = self._run_scales([ops.convert_to_tensor(z) for z in noises], sizes)
        return ops.convert_to_numpy(ops.clip(images, -1.0, 1.0)).astype("float32")

    # --- Applications: the pyramid started from an image -----------------------

    @property
    def default_injection_scale(self):
        """The scale `inject` starts at by default: the middle one."""
        return self.num_scales // 2

    def inject(self, images, start_scale=None, seed=None, mask=None):
        """Paint-to-image, editing and harmonization (section 4): `images`
        (resized to the training size, then down to scale `start_scale`)
        replace the output of the scales below `start_scale`, and the
        scales from there up add the training image's patch statistics.
        With a `mask` (1 where the image was edited or pasted), the result
        is kept inside it and the input outside, as the paper does.

        Args:
            images: array `(n, H, W, C)` in [-1, 1], any H and W.
            start_scale: int in [1, num_scales). Coarser starts change more
                (paint-to-image), finer ones less (harmonization). Defaults
                to `default_injection_scale`.
            seed: int or None. The noise of the scales run.
            mask: array `(n or 1, H, W, 1)` or `(H, W)` in [0, 1], or None.

        Returns:
            float32 numpy `(n, image_height, image_width, C)` in [-1, 1].
        """
        start = self.default_injection_scale if start_scale is None else start_scale
        if isinstance(start, bool) or not isinstance(start, (int, np.integer)) or not (
                1 <= start < self.num_scales):
            raise ValueError(
                f"`start_scale` must be an int in [1, {self.num_scales - 1}] (this "
                f"model has {self.num_scales} scales). Received: start_scale={start_scale!r}")
        images = np.asarray(images, "float32")
        if images.ndim != 4 or images.shape[-1] != self.channels:
            raise ValueError(
                f"`images` must be (n, H, W, {self.channels}). Received: shape={images.shape}")
        full = _resize(ops.convert_to_tensor(images), self.sizes[-1], antialias=True)
        rng = np.random.default_rng(seed)
        n, sizes = len(images), self.sizes[start:]
        noises = [ops.convert_to_tensor(
            rng.standard_normal((n, h, w, self.channels)).astype("float32")) for h, w in sizes]
        start_image = _resize(full, self.sizes[start], antialias=True)
        out = self._run_scales(noises, sizes, start=start, image=start_image)
        out = ops.clip(out, -1.0, 1.0)
        if mask is not None:
            mask = np.asarray(mask, "float32")
            mask = mask.reshape((1,) + mask.shape + (1,)) if mask.ndim == 2 else mask
            mask = ops.clip(_resize(ops.convert_to_tensor(mask), self.sizes[-1]), 0.0, 1.0)
            out = mask * out + (1.0 - mask) * full
        return ops.convert_to_numpy(out).astype("float32")

    # --- Config -------------------------------------------------------------

    def get_config(self):
        config = super().get_config()
        config.pop("ema_decay")
        config.update(
            image_height=self.image_height, image_width=self.image_width,
            channels=self.channels, max_size=self.max_size, min_size=self.min_size,
            scale_factor=self.scale_factor, filters=self.filters,
            max_filters=self.max_filters, num_layers=self.num_layers,
            steps_per_scale=self.steps_per_scale, d_steps=self.d_steps,
            g_steps=self.g_steps, lambda_gp=self.lambda_gp,
            reconstruction_weight=self.reconstruction_weight, noise_amp=self.noise_amp,
            learning_rate=self.learning_rate, beta_1=self.beta_1, beta_2=self.beta_2,
        )
        return config
