"""Denoising diffusion (DDPM, Ho et al. 2020) with DDIM sampling (Song et
al. 2021) and classifier-free guidance (Ho and Salimans 2022).

- Denoising Diffusion Probabilistic Models: https://arxiv.org/abs/2006.11239
- Improved DDPM (the cosine schedule): https://arxiv.org/abs/2102.09672
- Denoising Diffusion Implicit Models: https://arxiv.org/abs/2010.02502
- Classifier-Free Diffusion Guidance: https://arxiv.org/abs/2207.12598
- Progressive Distillation (v-prediction): https://arxiv.org/abs/2202.00512

The forward process adds Gaussian noise over T steps with variances
beta_1..beta_T; in closed form (DDPM eq. 4)

    q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I),  abar_t = prod_s (1 - beta_s)

A U-Net (`kerasgen.layers.diffusion_unet`) learns to predict the noise eps
in x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps (or v = sqrt(abar_t) eps -
sqrt(1 - abar_t) x_0), trained with the "simple" loss ||eps - eps_theta||^2
(DDPM eq. 14). Sampling runs the learned reverse process from x_T ~ N(0, I):

- `sampler="ddpm"`: ancestral sampling, all T steps, with the posterior
  q(x_{t-1} | x_t, x_0) at the predicted x_0 (DDPM eq. 6-7, variance
  beta-tilde);
- `sampler="ddim"`: any number of steps S on a subsequence of the
  timesteps (DDIM eq. 12), with noise eta times DDPM's; deterministic at
  eta = 0, which makes x_T a latent code of the image: `encode` runs the
  same steps backwards (DDIM inversion, eq. 13's ODE), `decode` forwards.

Notation:

| code                     | paper                                              |
| ------------------------ | -------------------------------------------------- |
| `timesteps`              | T (t = 0..T-1 here is the paper's t = 1..T)          |
| `alpha_bar`              | abar_t (DDPM eq. 4)                                  |
| `posterior_variance`     | beta-tilde_t (DDPM eq. 7)                            |
| `ddim_sigma(eta)`        | sigma_tau(eta) (DDIM eq. 16)                         |
| `guidance` w             | eps~ = (1 + w) eps(x, y) - w eps(x, none) (CFG eq. 6) |
| `label_dropout`          | p_uncond (CFG algorithm 1)                           |

The whole sampling loop is one compiled `fori_loop` (jitted on JAX, a
`tf.function` on TensorFlow), so a step is not retraced; the exported
`generate_from_seed(seed, n, steps)` runs that same loop inside the
SavedModel graph. DDIM's S timesteps are the "trailing" ones,
`tau_i = (i + 1) T / S - 1` (Lin et al. 2024, table 2): the first step
starts at t = T - 1, where x_T is pure noise; at S = T they are every
timestep.

Deviations, each for a reason:

- Both samplers clip the predicted x_0 to [-1, 1] before each update
  (`clip_denoised`), as the DDPM reference code does for ancestral
  sampling; DDIM then takes the noise that the clipped x_0 implies at x_t,
  eps = (x_t - sqrt(abar_t) x_0) / sqrt(1 - abar_t). The DDIM paper does
  not clip. Neither does DDIM inversion, so decoding its x_T with clipping
  does not undo it: a 50-step round trip of a tiny model's digits was off
  by 0.76 RMS with clipping and 0.044 without. Why clip: an
  epsilon-predicting network gives x_0 = (x_t - sqrt(1 - abar) eps) /
  sqrt(abar), whose error at t near T is the noise error times
  sqrt((1 - abar) / abar), about 60 at t = 900 of the linear schedule;
  unclipped, deterministic DDIM from a half-trained `ddpm-mnist` (2,000
  steps) drew saturated noise and specks, clipped it drew strokes.
- Random numbers of a seed come from the backend's stateless generator
  (`kerasgen.models.serving.seeded_normal`), so `sample(seed=...)` and the
  SavedModel's `generate_from_seed` give the same images; TensorFlow and
  JAX draw different ones.
"""

import keras
import numpy as np
from keras import ops

from kerasgen.layers.diffusion_unet import build_diffusion_unet
from kerasgen.models.interfaces import LatentGenerator
from kerasgen.models.registry import register_family
from kerasgen.models.serving import Endpoint
from kerasgen.models.serving import Input
from kerasgen.models.serving import seeded_normal
from kerasgen.training import GenerativeModel
from kerasgen.training import UpdateStep
from kerasgen.utils.compiled import compiled
from kerasgen.utils import arguments
from kerasgen.training.replicas import per_example

# `generate` runs the whole DDIM chain: each of its steps rounds in the
# exported graph's op order, and the chain carries the differences to the
# images (measured on a test model: 4.2e-5 in the SavedModel, 1.2e-4 in
# TFLite, at one pixel of 128; one network call stays within the exporter's
# usual 1e-5 / 1e-4).
GENERATE_PARITY_ATOL = 5e-4

SCHEDULES = ("linear", "cosine")
PREDICTIONS = ("epsilon", "v")
SAMPLERS = ("ddim", "ddpm")


# --- The noise schedule --------------------------------------------------------------


def noise_schedule(kind="linear", timesteps=1000):
    """beta_t, float64 `(timesteps,)`: DDPM's linear 1e-4 to 0.02 (scaled by
    1000 / T so that another T keeps the same total noise), or the cosine
    schedule of Nichol and Dhariwal (abar_t = f(t) / f(0), f(t) =
    cos^2((t/T + s) / (1 + s) pi/2), s = 0.008, betas clipped at 0.999).

    Example:

    ```python
    betas = noise_schedule("linear", 1000)
    float(betas[0]), float(betas[-1])  # (0.0001, 0.02)
    ```
    """
    if kind not in SCHEDULES:
        raise ValueError(f"`schedule` must be one of {SCHEDULES}. Received: schedule={kind!r}")
    if kind == "linear":
        scale = 1000.0 / timesteps
        return np.linspace(scale * 1e-4, scale * 0.02, timesteps, dtype="float64")
    s = 0.008
    f = np.cos((np.arange(timesteps + 1, dtype="float64") / timesteps + s) / (1 + s)
               * np.pi / 2) ** 2
    return np.clip(1.0 - f[1:] / f[:-1], 0.0, 0.999)


def alpha_bar(betas):
    """abar_t = prod_{s <= t} (1 - beta_s) (DDPM eq. 4).

    Example:

    ```python
    import numpy as np
    alpha_bar(np.array([0.5, 0.5])).tolist()  # [0.5, 0.25]
    ```
    """
    return np.cumprod(1.0 - np.asarray(betas, "float64"))


def posterior_variance(betas):
    """beta-tilde_t = beta_t (1 - abar_{t-1}) / (1 - abar_t), the variance
    of q(x_{t-1} | x_t, x_0) (DDPM eq. 7; 0 at t = 0, where abar_{-1} = 1).

    Example:

    ```python
    import numpy as np
    posterior_variance(np.array([0.5, 0.5])).tolist()  # [0.0, 0.3333333333333333]
    ```
    """
    betas = np.asarray(betas, "float64")
    bars = alpha_bar(betas)
    previous = np.concatenate([[1.0], bars[:-1]])
    return betas * (1.0 - previous) / (1.0 - bars)


def ddim_sigma(alpha_bar_t, alpha_bar_previous, eta):
    """DDIM's sigma (eq. 16): eta sqrt((1 - abar_prev) / (1 - abar_t))
    sqrt(1 - abar_t / abar_prev), in `keras.ops` or numpy. At eta = 1 on
    consecutive timesteps its square is DDPM's `posterior_variance`.

    Example:

    ```python
    float(ddim_sigma(0.25, 0.5, 0.0))  # 0.0
    ```
    """
    return eta * ops.sqrt((1.0 - alpha_bar_previous) / (1.0 - alpha_bar_t)
                          * (1.0 - alpha_bar_t / alpha_bar_previous))


def ddim_timestep(i, steps, timesteps):
    """tau_i, the i-th of the S = `steps` timesteps DDIM visits (i from 0):
    the trailing spacing (i + 1) T / S - 1 in integer division, so tau_(S-1)
    = T - 1 and tau_(-1) = -1 (the clean image). Ints or int tensors (so
    that `steps` may be an input of a traced graph).

    Example:

    ```python
    [ddim_timestep(i, 4, 1000) for i in range(-1, 4)]  # [-1, 249, 499, 749, 999]
    ```
    """
    return ((i + 1) * timesteps) // steps - 1


def q_sample(images, t, noise, alpha_bars):
    """x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps (DDPM eq. 4), per
    example: `t (n,)` int, `alpha_bars (T,)` float32.

    Example:

    ```python
    import numpy as np
    x = q_sample(np.ones((1, 2, 2, 1), "float32"), np.array([0]), np.zeros((1, 2, 2, 1), "float32"),
                 np.array([0.25], "float32"))
    float(x[0, 0, 0, 0])  # 0.5
    ```
    """
    a = ops.reshape(ops.take(ops.convert_to_tensor(alpha_bars, "float32"), t), (-1, 1, 1, 1))
    return ops.sqrt(a) * images + ops.sqrt(1.0 - a) * noise


def _per_example(value, n):
    """A scalar (or `(n,)`) tensor as `(n, 1, 1, 1)`."""
    return ops.reshape(ops.broadcast_to(value, (n,)), (-1, 1, 1, 1))


# --- The family ----------------------------------------------------------------------


@register_family("ddpm")
class DDPM(LatentGenerator, GenerativeModel):
    """A denoising diffusion model with DDPM and DDIM samplers and
    classifier-free guidance.

    Args:
        image_size: int. Height and width, divisible by
            `2 ** (len(multipliers) - 1)`. Defaults to 28.
        channels: int. Defaults to 1.
        num_classes: int. Classes to condition on; 0 for none. Defaults to 0.
        timesteps: int. T. Defaults to 1000.
        schedule: `"linear"` or `"cosine"`. Defaults to `"linear"`.
        prediction: what the network predicts: `"epsilon"` (the noise) or
            `"v"`. Defaults to `"epsilon"`.
        filters: int. The U-Net's first width. Defaults to 64.
        multipliers: tuple of int. Width multiplier per resolution.
            Defaults to `(1, 2, 2)`.
        blocks_per_level: int. Residual blocks per resolution. Defaults to 2.
        attention_levels: tuple of int. Resolutions (0 = full) with
            attention over their pixels. Defaults to `(2,)`.
        groups: int. Group normalization groups. Defaults to 8.
        dropout: float. Defaults to 0.1.
        label_dropout: float. Probability of training a labelled image
            without its label, so that one network is also the
            unconditional model guidance needs. Defaults to 0.1.
        sampling_steps: int. DDIM steps of `decode` and `sample` unless told
            otherwise. Defaults to 50.
        guidance: float. Guidance scale w of `decode` and `sample` unless
            told otherwise (0: the conditional model as it is). Defaults to
            0.0.
        clip_denoised: bool. Clip each step's predicted x_0 to [-1, 1]
            when sampling and decoding (as diffusers' `clip_sample`; steadier
            images from a model still learning). `encode` never clips, so
            an exact round trip `decode(encode(x))` wants it False.
            Defaults to True.
        learning_rate: float. Adam learning rate. Defaults to 2e-4.
        ema_decay: float or None. Average of the network that sampling
            uses. Defaults to 0.9999.
        seed: int or None.

    Reference:
        Ho et al. 2020, https://arxiv.org/abs/2006.11239

    Example:

    ```python
    import numpy as np
    model = DDPM(image_size=8, filters=8, multipliers=(1, 2), blocks_per_level=1,
                 attention_levels=(), groups=4, timesteps=20, sampling_steps=5)
    model.compile()
    images = np.random.uniform(-1, 1, (8, 8, 8, 1)).astype("float32")
    model.fit(images, batch_size=8, epochs=1, verbose=0)
    model.sample(2, seed=0, steps=5).shape  # (2, 8, 8, 1)
    ```
    """

    description = "Denoising diffusion (Ho et al. 2020) with DDIM sampling and guidance."
    interfaces = LatentGenerator.interfaces + ("encode",)
    serving_default = "generate_from_seed"
    ema_network = "denoiser"
    default_batch_size = 64
    #: Keyword arguments of `sample` beyond n, seed and labels (the CLI's
    #: `kerasgen sample --steps/--guidance/--eta/--sampler`).
    sample_options = ("steps", "guidance", "eta", "sampler")
    # The demo decodes without clipping: a barely trained network clipped at
    # every step makes a trajectory so sensitive that the SavedModel's
    # rounding (1e-7) grows to 1e-2 in 20 steps (a trained one stays at
    # 1e-5, tests/test_diffusion.py).
    recipes = {"demo": dict(image_size=8, num_classes=10, filters=16, multipliers=(1, 2),
                            blocks_per_level=1, attention_levels=(1,), timesteps=200,
                            sampling_steps=20, ema_decay=0.99, dropout=0.0,
                            clip_denoised=False)}

    def __init__(
        self,
        image_size=28,
        channels=1,
        num_classes=0,
        timesteps=1000,
        schedule="linear",
        prediction="epsilon",
        filters=64,
        multipliers=(1, 2, 2),
        blocks_per_level=2,
        attention_levels=(2,),
        groups=8,
        dropout=0.1,
        label_dropout=0.1,
        sampling_steps=50,
        guidance=0.0,
        clip_denoised=True,
        learning_rate=2e-4,
        ema_decay=0.9999,
        seed=None,
        **kwargs,
    ):
        super().__init__(ema_decay=ema_decay, seed=seed, **kwargs)
        multipliers = tuple(int(m) for m in multipliers)
        attention_levels = tuple(int(level) for level in attention_levels)
        self._check_arguments(image_size, channels, num_classes, timesteps, schedule, prediction,
                              multipliers, attention_levels, filters, groups, blocks_per_level,
                              dropout, label_dropout, sampling_steps, guidance)

        # === Config ===
        self.image_size = image_size
        self.channels = channels
        self.num_classes = num_classes
        self.timesteps = timesteps
        self.schedule = schedule
        self.prediction = prediction
        self.filters = filters
        self.multipliers = multipliers
        self.blocks_per_level = blocks_per_level
        self.attention_levels = attention_levels
        self.groups = groups
        self.dropout = float(dropout)
        self.label_dropout = float(label_dropout)
        self.sampling_steps = sampling_steps
        self.clip_denoised = bool(clip_denoised)
        self.guidance = float(guidance)
        self.learning_rate = learning_rate

        # === The forward process (constants, not weights) ===
        self.betas = noise_schedule(schedule, timesteps)
        self.alpha_bars = alpha_bar(self.betas)

        # === Networks ===
        self.denoiser = build_diffusion_unet(
            image_size, channels, filters, multipliers, blocks_per_level, attention_levels,
            groups, self.dropout, num_classes, name="denoiser")
        self._finish_networks()

    def _check_arguments(self, image_size, channels, num_classes, timesteps, schedule, prediction,
                         multipliers, attention_levels, filters, groups, blocks_per_level,
                         dropout, label_dropout, sampling_steps, guidance):
        def refuse(name, value, expected):
            arguments.refuse("DDPM", name, value, expected)

        if schedule not in SCHEDULES:
            refuse("schedule", schedule, f"one of {SCHEDULES}")
        if prediction not in PREDICTIONS:
            refuse("prediction", prediction, f"one of {PREDICTIONS}")
        for name, value, minimum in (("image_size", image_size, 1), ("channels", channels, 1),
                                     ("num_classes", num_classes, 0),
                                     ("timesteps", timesteps, 2), ("filters", filters, 1),
                                     ("groups", groups, 1),
                                     ("blocks_per_level", blocks_per_level, 1),
                                     ("sampling_steps", sampling_steps, 1)):
            arguments.check_count("DDPM", name, value, minimum)
        if not multipliers or min(multipliers) < 1:
            refuse("multipliers", multipliers, "a non-empty tuple of ints >= 1")
        if image_size % 2 ** (len(multipliers) - 1):
            refuse("image_size", image_size,
                   f"divisible by 2 ** (len(multipliers) - 1) = {2 ** (len(multipliers) - 1)}")
        if any(not 0 <= level < len(multipliers) for level in attention_levels):
            refuse("attention_levels", attention_levels,
                   f"levels in [0, {len(multipliers) - 1}]")
        widths = {filters * m for m in multipliers} | {filters}
        if any(width % groups for width in widths):
            refuse("groups", groups, f"a divisor of every U-Net width {sorted(widths)}")
        if sampling_steps > timesteps:
            refuse("sampling_steps", sampling_steps, f"at most timesteps={timesteps}")
        for name, value in (("dropout", dropout), ("label_dropout", label_dropout)):
            if not 0.0 <= float(value) < 1.0:
                refuse(name, value, "a number in [0, 1)")
        if float(guidance) < 0:
            refuse("guidance", guidance, "a number >= 0")

    # --- The training objective -----------------------------------------------------

    def denoising_loss(self, images, labels=None):
        """The simple loss (DDPM eq. 14): the mean squared error of the
        network's eps (or v) at a uniform timestep, with labels dropped to
        "none" at rate `label_dropout` (classifier-free guidance)."""
        images = ops.cast(images, "float32")
        n = ops.shape(images)[0]
        t = per_example(keras.random.randint, (n,), 0, self.timesteps, seed=self.seed_generator)
        noise = per_example(keras.random.normal, ops.shape(images), seed=self.seed_generator)
        alpha_bars = ops.convert_to_tensor(self.alpha_bars, "float32")
        noisy = q_sample(images, t, noise, alpha_bars)
        inputs = [noisy, t]
        if self.num_classes:
            labels = ops.cast(labels, "int32")
            if self.label_dropout:
                dropped = per_example(keras.random.uniform, (n,), seed=self.seed_generator) < self.label_dropout
                labels = ops.where(dropped, self.num_classes, labels)
            inputs.append(labels)
        output = self.denoiser(inputs, training=True)
        if self.prediction == "epsilon":
            target = noise
        else:
            a = ops.reshape(ops.take(alpha_bars, t), (-1, 1, 1, 1))
            target = ops.sqrt(a) * noise - ops.sqrt(1.0 - a) * images
        loss = ops.mean(ops.square(output - target))
        return loss, {"loss": loss}

    def update_steps(self):
        return [UpdateStep("denoiser", self.denoising_loss, ("denoiser",))]

    def default_optimizers(self):
        return {"denoiser": keras.optimizers.Adam(self.learning_rate, name="denoiser_adam")}

    # --- The reverse process ------------------------------------------------------------

    @property
    def guidable(self):
        """Whether the network also learned the unconditional model (a
        conditional model trained with label dropout)."""
        return bool(self.num_classes) and self.label_dropout > 0

    def predict_noise(self, noisy, t, labels=None, guidance=None, network=None):
        """(eps, x_0) predicted at `noisy` x_t and timestep `t` (a scalar or
        `(n,)`), guided with scale `guidance` (a float or tensor; None: no
        guidance, one pass of the network)."""
        network = network or self.sampling_network("denoiser")
        noisy = ops.cast(noisy, "float32")
        n = ops.shape(noisy)[0]
        t = ops.broadcast_to(ops.cast(t, "int32"), (n,))
        labels = None if labels is None else ops.cast(labels, "int32")
        if not self.num_classes:
            output = network([noisy, t])
        elif guidance is None:
            output = network([noisy, t, labels])
        else:
            # One pass on the batch twice over: with the labels, then with none.
            both = network([ops.concatenate([noisy, noisy]), ops.concatenate([t, t]),
                            ops.concatenate([labels, ops.full((n,), self.num_classes, "int32")])])
            conditional, unconditional = both[:n], both[n:]
            output = conditional + ops.cast(guidance, "float32") * (conditional - unconditional)
        a = _per_example(ops.take(ops.convert_to_tensor(self.alpha_bars, "float32"), t), n)
        if self.prediction == "epsilon":
            eps = output
            x0 = (noisy - ops.sqrt(1.0 - a) * eps) / ops.sqrt(a)
        else:
            x0 = ops.sqrt(a) * noisy - ops.sqrt(1.0 - a) * output
            eps = ops.sqrt(1.0 - a) * noisy + ops.sqrt(a) * output
        return eps, x0

    def _alpha_bar_at(self, t):
        """abar_t for t in [-1, T): abar_{-1} = 1 (no noise)."""
        table = ops.convert_to_tensor(np.concatenate([[1.0], self.alpha_bars]), "float32")
        return ops.take(table, ops.cast(t, "int32") + 1)

    def _step_noise(self, seed, index, shape):
        n = shape[0]
        size = int(np.prod(shape[1:]))
        return ops.reshape(seeded_normal(seed, n, size, stream=index + 1), shape)

    def reverse_process(self, noise, seed, labels=None, steps=None, guidance=None, eta=0.0,
                        sampler="ddim"):
        """Images in [-1, 1] from x_T = `noise`, in `keras.ops` (one
        `fori_loop`, so it compiles and exports as one loop).

        Args:
            noise: `(n, H, W, C)` x_T.
            seed: int tensor. Seeds the noise each step adds (eta > 0, or
                DDPM); unused when `eta` is the Python number 0 (the loop
                then has no random op, so it converts to TFLite builtins).
            labels: int32 `(n,)` or None.
            steps: int or int tensor. DDIM steps S (DDPM: always T).
            guidance: float, tensor or None (no guidance).
            eta: float or tensor. DDIM's noise scale (0: deterministic).
            sampler: `"ddim"` or `"ddpm"` (a Python string: it picks the
                update).
        """
        x = ops.cast(noise, "float32")
        shape = ops.shape(x)
        if sampler == "ddpm":
            steps = self.timesteps
        elif steps is None:
            steps = self.sampling_steps
        steps = ops.cast(steps, "int32")
        posterior = ops.convert_to_tensor(posterior_variance(self.betas), "float32")
        betas = ops.convert_to_tensor(self.betas, "float32")
        stochastic = sampler == "ddpm" or not (isinstance(eta, (int, float)) and eta == 0)
        eta = ops.cast(eta, "float32")

        def ddim_update(index, x):
            i = steps - 1 - index
            t = ddim_timestep(i, steps, self.timesteps)
            t_previous = ddim_timestep(i - 1, steps, self.timesteps)
            eps, x0 = self.predict_noise(x, t, labels, guidance)
            a, a_previous = self._alpha_bar_at(t), self._alpha_bar_at(t_previous)
            if self.clip_denoised:
                # With the noise that the clipped x_0 implies at x_t, so that
                # the step stays on the line through x_t and x_0.
                x0 = ops.clip(x0, -1.0, 1.0)
                eps = (x - ops.sqrt(a) * x0) / ops.sqrt(1.0 - a)
            if not stochastic:
                return ops.sqrt(a_previous) * x0 + ops.sqrt(1.0 - a_previous) * eps
            sigma = ddim_sigma(a, a_previous, eta)
            direction = ops.sqrt(ops.maximum(1.0 - a_previous - sigma ** 2, 0.0))
            return (ops.sqrt(a_previous) * x0 + direction * eps
                    + sigma * self._step_noise(seed, index, shape))

        def ddpm_update(index, x):
            t = self.timesteps - 1 - index
            _, x0 = self.predict_noise(x, t, labels, guidance)
            if self.clip_denoised:
                x0 = ops.clip(x0, -1.0, 1.0)
            a, a_previous = self._alpha_bar_at(t), self._alpha_bar_at(t - 1)
            beta = ops.take(betas, t)
            # The posterior mean (DDPM eq. 7).
            mean = (beta * ops.sqrt(a_previous) / (1.0 - a) * x0
                    + (1.0 - a_previous) * ops.sqrt(1.0 - beta) / (1.0 - a) * x)
            return mean + ops.sqrt(ops.take(posterior, t)) * self._step_noise(seed, index, shape)

        update = ddpm_update if sampler == "ddpm" else ddim_update
        # A tensor even where an eager loop counts in Python ints.
        x = ops.fori_loop(0, steps, lambda index, x: update(
            ops.convert_to_tensor(index, "int32"), x), x)
        return ops.clip(x, -1.0, 1.0)

    def ddim_inversion(self, images, labels=None, steps=None, guidance=None):
        """x_T from images by running deterministic DDIM backwards (DDIM
        section 4.3): from x_{tau_(i-1)} to x_{tau_i} with the noise the
        network predicts at x_{tau_(i-1)} and tau_i, in `keras.ops`."""
        x = ops.cast(images, "float32")
        steps = ops.cast(self.sampling_steps if steps is None else steps, "int32")

        def invert(i, x):
            i = ops.convert_to_tensor(i, "int32")
            t = ddim_timestep(i, steps, self.timesteps)
            t_previous = ddim_timestep(i - 1, steps, self.timesteps)
            a, a_previous = self._alpha_bar_at(t), self._alpha_bar_at(t_previous)
            eps, _ = self.predict_noise(x, t, labels, guidance)
            x0 = (x - ops.sqrt(1.0 - a_previous) * eps) / ops.sqrt(a_previous)
            return ops.sqrt(a) * x0 + ops.sqrt(1.0 - a) * eps

        return ops.fori_loop(0, steps, invert, x)

    # --- The latent interface and sampling ----------------------------------------------

    @property
    def latent_shape(self):
        """x_T has the images' shape."""
        return tuple(self.data_spec().shape)

    def sample_latents(self, n, seed=None):
        """x_T ~ N(0, I) drawn from `seed` by the backend's stateless
        generator (the draw the exported `generate_from_seed` makes)."""
        seed = np.random.SeedSequence().entropy % 2**31 if seed is None else seed
        draws = seeded_normal(ops.convert_to_tensor(int(seed), "int64"), int(n),
                              int(np.prod(self.latent_shape)))
        return np.asarray(ops.convert_to_numpy(draws), "float32").reshape(
            (int(n),) + self.latent_shape)

    def _guidance_for(self, guidance):
        guidance = self.guidance if guidance is None else float(guidance)
        if guidance < 0:
            raise ValueError(f"`guidance` must be >= 0. Received: guidance={guidance}")
        if guidance and not self.guidable:
            raise ValueError(
                "Guidance needs a conditional model trained with label dropout "
                f"(num_classes={self.num_classes}, label_dropout={self.label_dropout}). "
                f"Received: guidance={guidance}")
        return guidance if guidance else None

    def _steps_for(self, steps, sampler):
        if sampler not in SAMPLERS:
            raise ValueError(f"`sampler` must be one of {SAMPLERS}. Received: sampler={sampler!r}")
        if sampler == "ddpm":
            if steps not in (None, self.timesteps):
                raise ValueError(f"DDPM sampling takes all timesteps={self.timesteps} steps. "
                                 f"Received: steps={steps}")
            return self.timesteps
        steps = self.sampling_steps if steps is None else steps
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or not (
                1 <= steps <= self.timesteps):
            raise ValueError(f"`steps` must be an int in [1, timesteps={self.timesteps}]. "
                             f"Received: steps={steps!r}")
        return int(steps)

    def _compiled(self, kind, guided, sampler="ddim"):
        """The compiled reverse process (or inversion), one per kind, made
        once and kept (not a tracked attribute: a function is not state)."""
        cache = self.__dict__.setdefault("_compiled_loops", {})
        key = (kind, guided, sampler, self.clip_denoised)
        if key not in cache:
            variables = self.sampling_network("denoiser").variables
            if kind == "sample":
                def run(noise, seed, labels, steps, guidance, eta):
                    return self.reverse_process(noise, seed, labels, steps,
                                                guidance if guided else None, eta, sampler)
            elif kind == "decode":
                def run(noise, labels, steps, guidance):
                    return self.reverse_process(noise, 0, labels, steps,
                                                guidance if guided else None)
            else:
                def run(images, labels, steps, guidance):
                    return self.ddim_inversion(images, labels, steps,
                                               guidance if guided else None)
            cache[key] = compiled(run, variables)
        return cache[key]

    def sample(self, n, seed=None, labels=None, steps=None, guidance=None, eta=0.0,
               sampler="ddim"):
        """`n` images in [-1, 1] (the same for the same seed and options).

        Args:
            n: int.
            seed: int or None.
            labels: see `check_labels` (conditional models).
            steps: int. DDIM steps; defaults to `sampling_steps`.
            guidance: float. Classifier-free guidance scale w; defaults to
                the model's `guidance`.
            eta: float. DDIM noise (0: deterministic, 1: DDPM's variances).
            sampler: `"ddim"` or `"ddpm"` (ancestral, all T steps).
        """
        steps = self._steps_for(steps, sampler)
        guidance = self._guidance_for(guidance)
        if not 0.0 <= float(eta):
            raise ValueError(f"`eta` must be >= 0. Received: eta={eta}")
        labels = self.check_labels(labels, n)
        seed = np.random.SeedSequence().entropy % 2**31 if seed is None else int(seed)
        noise = self.sample_latents(n, seed)
        if int(n) == 0:
            return noise
        if sampler == "ddim" and float(eta) == 0:
            # Deterministic: the loop without random ops (= `decode`).
            return self.decode(noise, labels, steps=steps, guidance=guidance or 0.0)
        run = self._compiled("sample", guidance is not None, sampler)
        images = run(noise, np.int64(seed), labels, np.int32(steps),
                     np.float32(guidance or 0.0), np.float32(eta))
        return np.asarray(ops.convert_to_numpy(images), "float32")

    def decode_tensor(self, latents, labels=None):
        """Deterministic DDIM (eta = 0) from x_T = `latents`, with the
        model's `sampling_steps` and `guidance`."""
        guidance = self.guidance if self.guidable and self.guidance else None
        return self.reverse_process(latents, 0, labels, self.sampling_steps, guidance)

    def decode(self, latents, labels=None, batch_size=256, steps=None, guidance=None):
        """Images for x_T `latents` by deterministic DDIM (compiled)."""
        return self._deterministic_loop("decode", latents, labels, batch_size, steps, guidance)

    def encode(self, images, labels=None, batch_size=256, steps=None, guidance=None):
        """x_T for `images` in [-1, 1] by DDIM inversion: `decode` (with
        the same steps and guidance, and `clip_denoised` False) maps it
        back to about the images."""
        return self._deterministic_loop("invert", images, labels, batch_size, steps, guidance)

    def _deterministic_loop(self, kind, x, labels, batch_size, steps, guidance):
        """`decode` or `encode` of numpy `x`, compiled, in batches."""
        x = np.asarray(x, "float32")
        if x.shape[1:] != self.latent_shape:
            what = "latents" if kind == "decode" else "images"
            raise ValueError(f"DDPM {kind}s {what} of shape (n,) + {self.latent_shape}. "
                             f"Received: {what}.shape={x.shape}")
        steps = self._steps_for(steps, "ddim")
        guidance = self._guidance_for(guidance)
        labels = self.check_labels(labels, len(x))
        run = self._compiled(kind, guidance is not None)
        out = []
        for i in range(0, len(x), batch_size):
            chunk = None if labels is None else labels[i:i + batch_size]
            out.append(ops.convert_to_numpy(run(x[i:i + batch_size], chunk, np.int32(steps),
                                                np.float32(guidance or 0.0))))
        return (np.concatenate(out) if out else x).astype("float32")

    # --- Serving ------------------------------------------------------------------

    def serving_endpoints(self):
        """`generate_from_seed(seed, n | labels, steps, eta[, guidance])`:
        the whole DDIM loop in the graph; `generate(z[, labels])`: DDIM from
        x_T = z; `denoise(noisy_images, timesteps[, labels])`: one pass of
        the network (eps and x_0, TFLite builtins) and `alpha_bar(timesteps)`
        for a client that runs the loop itself (export/GUIDE.md)."""
        shape = self.latent_shape
        dim = int(np.prod(shape))
        seed = Input("seed", "int64")
        steps = Input("steps", "int32")
        eta = Input("eta", "float32")
        z = Input("z", "float32", (None,) + shape)
        noisy = Input("noisy_images", "float32", (None,) + shape)
        timesteps = Input("timesteps", "int32", (None,))

        def from_seed(seed, n, steps, eta, labels=None, guidance=None):
            noise = ops.reshape(seeded_normal(seed, n, dim), (-1,) + shape)
            return self.reverse_process(noise, seed, labels, steps, guidance, eta)

        def denoise(noisy, t, labels=None):
            eps, x0 = self.predict_noise(noisy, t, labels)
            return {"epsilon": eps, "x0": x0}

        alpha_bar_endpoint = Endpoint(
            "alpha_bar", (timesteps,),
            lambda t: {"alpha_bar": self._alpha_bar_at(t)}, images=False,
            description="abar_t of the noise schedule, for a client-side loop")
        if not self.num_classes:
            return [
                Endpoint("generate_from_seed", (seed, Input("n", "int32"), steps, eta),
                         lambda seed, n, steps, eta: from_seed(seed, n, steps, eta),
                         builtin_ops=False,
                         description="n images by DDIM in `steps` steps, x_T drawn from seed"),
                Endpoint("generate", (z,), lambda z: self.decode_tensor(z),
                         description=f"images by deterministic DDIM ({self.sampling_steps} "
                                     "steps) from x_T = z",
                         parity_atol=GENERATE_PARITY_ATOL),
                Endpoint("denoise", (noisy, timesteps), denoise, images=False,
                         description="the network's eps and x_0 at x_t, t"),
                alpha_bar_endpoint,
            ]
        batch_labels = Input("labels", "int32", (None,))
        seed_inputs = (seed, Input("labels", "int32", (None,), batched=False), steps, eta)
        if self.guidable:
            def generate_from_seed(seed, labels, steps, eta, guidance):
                return from_seed(seed, ops.shape(labels)[0], steps, eta, labels, guidance)

            seed_inputs = seed_inputs + (Input("guidance", "float32"),)
        else:
            def generate_from_seed(seed, labels, steps, eta):
                return from_seed(seed, ops.shape(labels)[0], steps, eta, labels)
        return [
            Endpoint("generate_from_seed", seed_inputs, generate_from_seed, builtin_ops=False,
                     description="one image per label by DDIM in `steps` steps, x_T from seed"),
            Endpoint("generate", (z, batch_labels), self.decode_tensor,
                     description=f"images of classes labels by deterministic DDIM "
                                 f"({self.sampling_steps} steps) from x_T = z",
                     parity_atol=GENERATE_PARITY_ATOL),
            Endpoint("denoise", (noisy, timesteps, batch_labels), denoise, images=False,
                     description="the network's eps and x_0 at x_t, t for labels "
                                 f"({self.num_classes}: none)"),
            alpha_bar_endpoint,
        ]

    # --- Config -----------------------------------------------------------------

    def get_config(self):
        config = super().get_config()
        config.update(
            image_size=self.image_size,
            channels=self.channels,
            num_classes=self.num_classes,
            timesteps=self.timesteps,
            schedule=self.schedule,
            prediction=self.prediction,
            filters=self.filters,
            multipliers=list(self.multipliers),
            blocks_per_level=self.blocks_per_level,
            attention_levels=list(self.attention_levels),
            groups=self.groups,
            dropout=self.dropout,
            label_dropout=self.label_dropout,
            sampling_steps=self.sampling_steps,
            clip_denoised=self.clip_denoised,
            guidance=self.guidance,
            learning_rate=self.learning_rate,
        )
        return config
