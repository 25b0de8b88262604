"""WaveGAN (Donahue, McAuley and Puckette 2019): a GAN on raw audio.

- Adversarial Audio Synthesis: https://arxiv.org/abs/1802.04208

DCGAN flattened to one dimension: the 5x5 kernels become 25 taps and the
stride-2 convolutions stride 4, so that five layers take a (16, 1024)
sequence to 16,384 samples (about 1 s at 16 kHz). Transposed convolutions
leave periodic artifacts at fixed phases, which a critic could learn to
spot; *phase shuffle* shifts each critic layer's activations by a random
-n..n samples so it cannot (section 3.3). Training is WGAN-GP (the
paper's best on SC09): the losses, the update steps and the optimizers
are `kerasgen.models.wgan`'s (`WassersteinGAN`, `GradientPenaltyCritic`),
with 1-D networks.

Notation:

| code             | paper                              |
| ---------------- | ---------------------------------- |
| `model_size`     | d (widths d, 2d, ... 16d)          |
| `length`         | samples per clip (16,384)          |
| `num_layers`     | 5 (upsampling layers of stride 4)  |
| `kernel_size`    | 25                                 |
| `shuffle_radius` | n of phase shuffle (2)             |
| `n_critic`       | D updates per G update (5)         |
| `lambda_gp`      | lambda of WGAN-GP (10)             |

Optional class conditioning (`num_classes > 0`, not in the paper): the
label's embedding is concatenated to z, and the critic adds a projection
term (Miyato and Koyama 2018).

Deviations:
- Length and sample rate are parameters: the zoo's FSDD preset makes
  8,192 samples at 8 kHz (start length 8 instead of 16).
- Phase shuffle draws one shift per example (the authors' code: one per
  batch).
- No post-processing filter (the paper's section 3.2 option, off in its
  best models).

Sampling draws z ~ N(0, I) and runs the generator: `sample(n)` returns
`(n, length, 1)` waveforms in [-1, 1]; `kerasgen sample` writes them as WAV
files with a picture of their waveforms and spectrograms.
"""

from kerasgen.layers.audio import build_wave_critic
from kerasgen.layers.audio import build_wave_generator
from kerasgen.models.interfaces import WaveformGenerator
from kerasgen.models.registry import register_family
from kerasgen.models.wgan import GradientPenaltyCritic
from kerasgen.models.wgan import WassersteinGAN
from kerasgen.training import GenerativeModel


@register_family("wavegan")
class WaveGAN(WaveformGenerator, GradientPenaltyCritic, WassersteinGAN):
    """WaveGAN: raw-audio generator and phase-shuffle critic, WGAN-GP.

    Args:
        length: int. Samples per clip; a multiple of `4 ** num_layers`.
            Defaults to 16384.
        sample_rate: int. Samples per second. Defaults to 16000.
        latent_dim: int. Size of z. Defaults to 100.
        model_size: int. d: the critic's first and the generator's last
            width. Defaults to 64.
        num_layers: int. Stride-4 layers of each network. Defaults to 5.
        kernel_size: int. Taps of every convolution. Defaults to 25.
        shuffle_radius: int. n of phase shuffle (0: off). Defaults to 2.
        num_classes: int. Classes of the labels (0: unconditional).
            Defaults to 0.
        n_critic: int. Critic updates per generator update. Defaults to 5.
        lambda_gp: float. Weight of the gradient penalty. Defaults to 10.
        learning_rate: float. Adam learning rate. Defaults to 1e-4.
        beta_1: float. Adam beta_1. Defaults to 0.5.
        beta_2: float. Adam beta_2. Defaults to 0.9.
        ema_decay: float or None. Average of the generator's weights used
            for sampling. Defaults to None.
        seed: int or None. Seeds the latents, interpolation weights and
            phase shuffles drawn in training.

    Reference:
        Donahue et al. 2019, https://arxiv.org/abs/1802.04208

    Example:

    ```python
    import numpy as np
    model = WaveGAN(length=256, sample_rate=4000, latent_dim=8, model_size=4,
                    num_layers=3, n_critic=1)
    model.compile()
    waves = np.random.uniform(-1, 1, (16, 256, 1)).astype("float32")
    model.fit(waves, batch_size=8, epochs=1, verbose=0)
    model.sample(2, seed=0).shape  # (2, 256, 1)
    ```
    """

    description = "WaveGAN (Donahue et al. 2019): raw-audio WGAN-GP with phase shuffle."
    ema_network = "generator"
    # Small and offline: the embedded synthetic tones at 1/8 s.
    recipes = {"demo": dict(length=1024, sample_rate=8000, latent_dim=32, model_size=8,
                            num_layers=4)}

    def __init__(
        self,
        length=16384,
        sample_rate=16000,
        latent_dim=100,
        model_size=64,
        num_layers=5,
        kernel_size=25,
        shuffle_radius=2,
        num_classes=0,
        n_critic=5,
        lambda_gp=10.0,
        learning_rate=1e-4,
        beta_1=0.5,
        beta_2=0.9,
        ema_decay=None,
        seed=None,
        **kwargs,
    ):
        GenerativeModel.__init__(self, ema_decay=ema_decay, seed=seed, **kwargs)
        for name, value in (("sample_rate", sample_rate), ("model_size", model_size),
                            ("num_layers", num_layers), ("kernel_size", kernel_size),
                            ("n_critic", n_critic)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"`{name}` must be an int >= 1. Received: {name}={value!r}")
        if int(num_classes) < 0 or int(shuffle_radius) < 0:
            raise ValueError(
                "`num_classes` and `shuffle_radius` must be >= 0. Received: "
                f"num_classes={num_classes}, shuffle_radius={shuffle_radius}")

        # === Layers ===
        self.generator = build_wave_generator(
            latent_dim, length, 1, model_size, num_layers, kernel_size,
            num_classes=int(num_classes))
        self.critic = build_wave_critic(
            length, 1, model_size, num_layers, kernel_size,
            shuffle_radius=int(shuffle_radius), num_classes=int(num_classes), seed=seed)

        # === Config ===
        self.length = int(length)
        self.sample_rate = int(sample_rate)
        self.latent_dim = latent_dim
        self.model_size = model_size
        self.num_layers = num_layers
        self.kernel_size = kernel_size
        self.shuffle_radius = int(shuffle_radius)
        self.num_classes = int(num_classes)
        self.n_critic = int(n_critic)
        self.lambda_gp = float(lambda_gp)
        self.learning_rate = learning_rate
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self._finish_networks()

    # --- Networks with their labels (the WGAN-GP losses call these) -----------------

    def _with_labels(self, inputs, labels):
        return [inputs, labels] if self.num_classes else inputs

    def fake_samples(self, latents, labels=None):
        return self.generator(self._with_labels(latents, labels), training=True)

    def critic_output(self, samples, labels=None):
        return self.critic(self._with_labels(samples, labels), training=True)

    # --- Sampling ---------------------------------------------------------------

    def decode_tensor(self, latents, labels=None):
        """G(z) (and y): waveforms `(n, length, 1)` in [-1, 1] (the EMA
        generator when there is one)."""
        return self.sampling_network("generator")(
            self._with_labels(latents, labels), training=False)

    def call(self, inputs, training=False):
        if self.num_classes:
            latents, labels = inputs
            return self.decode_tensor(latents, labels)
        return self.decode_tensor(inputs)

    # --- Config -----------------------------------------------------------------

    def get_config(self):
        config = GenerativeModel.get_config(self)
        config.update(
            length=self.length, sample_rate=self.sample_rate, latent_dim=self.latent_dim,
            model_size=self.model_size, num_layers=self.num_layers,
            kernel_size=self.kernel_size, shuffle_radius=self.shuffle_radius,
            num_classes=self.num_classes, n_critic=self.n_critic,
            lambda_gp=self.lambda_gp, learning_rate=self.learning_rate,
            beta_1=self.beta_1, beta_2=self.beta_2,
        )
        return config

