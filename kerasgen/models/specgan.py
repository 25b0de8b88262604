"""SpecGAN (Donahue, McAuley and Puckette 2019): a GAN on spectrograms.

- Adversarial Audio Synthesis: https://arxiv.org/abs/1802.04208

The paper's image-like baseline beside WaveGAN: a DCGAN, trained with
WGAN-GP, on 128x128 log-magnitude spectrograms, inverted to audio with
Griffin-Lim. The spectrogram of a clip (section 4 of the paper):

1. STFT with Hann frames of `frame_length` samples every `hop_length`
   (`kerasgen.layers.spectral.Spectrogram`), the top frequency bin
   dropped, so 8,192 samples with frames of 256 every 64 give 128 frames
   x 128 bins;
2. log magnitude, `log(|X| + 1e-6)`;
3. each frequency bin normalized to zero mean and unit variance with the
   training data's moments (`adapt`), clipped to 3 standard deviations
   and divided by 3, into [-1, 1].

The generator makes such images; sampling undoes steps 3 and 2 and runs
Griffin-Lim (`griffin_lim_iterations`, with zero initial phase and the fast
variant's momentum) to a waveform, in `keras.ops`, so the exported `generate` returns waveforms too.

Notation:

| code                     | paper                               |
| ------------------------ | ----------------------------------- |
| `frame_length`           | STFT window (16 ms at 16 kHz: 256)  |
| `hop_length`             | stride (8 ms: 128 samples at 16 kHz) |
| `bin_mean`, `bin_std`    | the per-bin moments of the data     |
| `griffin_lim_iterations` | 16                                  |

The losses, update steps and optimizers are WGAN-GP's
(`kerasgen.models.wgan`), with the real clips turned into normalized
spectrograms once per batch (`prepare_batch`) so that the critic and the
penalty see spectrograms.

Deviations:
- Fast Griffin-Lim (Perraudin et al. 2013) instead of plain: half the
  spectral error at the paper's 16 iterations.
- The networks are kerasgen's DCGAN stacks (4x4 kernels, `filters` wide,
  no batch norm in either network as in the paper) instead of the
  paper's 5x5 kernels.
- The hop is `2 * length / frame_length`, so that frames equal bins: at
  the FSDD length of 8,192 samples (8 kHz) with frames of 256, a hop of 64
  (8 ms, the paper's stride) and frames of 32 ms (the paper's 16 ms).
"""

import numpy as np
from keras import ops

from kerasgen.layers import build_conv_decoder
from kerasgen.layers.spectral import Spectrogram
from kerasgen.models.interfaces import WaveformGenerator
from kerasgen.models.registry import register_family
from kerasgen.models.wgan import GradientPenaltyCritic
from kerasgen.models.wgan import WassersteinGAN
from kerasgen.models.wgan import build_critic
from kerasgen.training import GenerativeModel

#: Added to |X| before the log, so silence stays finite.
LOG_EPSILON = 1e-6
#: Standard deviations kept by the normalization (the paper's 3).
CLIP_STD = 3.0


@register_family("specgan")
class SpecGAN(WaveformGenerator, GradientPenaltyCritic, WassersteinGAN):
    """SpecGAN: WGAN-GP on normalized log-magnitude spectrograms, inverted
    with Griffin-Lim.

    Call `adapt(waveforms)` on training clips before `fit()` (`kerasgen
    train` does): it sets the per-bin moments of the normalization.

    Args:
        length: int. Samples per clip; `length * 2 / frame_length` must
            equal `frame_length / 2` (frames = bins). Defaults to 16384.
        sample_rate: int. Samples per second. Defaults to 16000.
        frame_length: int. STFT frame (and DFT) size. Defaults to 256.
        latent_dim: int. Size of z. Defaults to 100.
        generator_filters: int. Width of the generator's last hidden stage.
            Defaults to 64.
        critic_filters: int. Width of the critic's first stage. Defaults
            to 64.
        griffin_lim_iterations: int. Iterations of the inversion when
            sampling. Defaults to 16.
        n_critic: int. Critic updates per generator update. Defaults to 5.
        lambda_gp: float. Weight of the gradient penalty. Defaults to 10.
        learning_rate: float. Adam learning rate. Defaults to 1e-4.
        beta_1: float. Adam beta_1. Defaults to 0.5.
        beta_2: float. Adam beta_2. Defaults to 0.9.
        ema_decay: float or None. Average of the generator's weights used
            for sampling. Defaults to None.
        seed: int or None. Seeds the latents and interpolation weights.

    Reference:
        Donahue et al. 2019, https://arxiv.org/abs/1802.04208

    Example:

    ```python
    import numpy as np
    model = SpecGAN(length=1024, sample_rate=4000, frame_length=64, latent_dim=8,
                    generator_filters=4, critic_filters=4, n_critic=1)
    waves = np.random.uniform(-1, 1, (16, 1024, 1)).astype("float32")
    model.adapt(waves)
    model.compile()
    model.fit(waves, batch_size=8, epochs=1, verbose=0)
    model.sample(2, seed=0).shape  # (2, 1024, 1)
    ```
    """

    description = "SpecGAN (Donahue et al. 2019): WGAN-GP on spectrograms, Griffin-Lim audio."
    # Griffin-Lim divides by |X| where the spectrum nearly cancels, so the
    # exported graph's float32 rounding moves samples away from Keras's:
    # measured up to 3.3e-4 (SavedModel) and 6.2e-4 (TFLite) on the demo
    # recipe, 20 int16 levels. The parity the exporter promises, with margin:
    serving_parity_atol = 2e-3
    ema_network = "generator"
    # Small and offline: the embedded synthetic tones, 32x32 spectrograms.
    recipes = {"demo": dict(length=1024, sample_rate=8000, frame_length=64, latent_dim=32,
                            generator_filters=8, critic_filters=8)}

    def __init__(
        self,
        length=16384,
        sample_rate=16000,
        frame_length=256,
        latent_dim=100,
        generator_filters=64,
        critic_filters=64,
        griffin_lim_iterations=16,
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
        length, frame_length = int(length), int(frame_length)
        bins = frame_length // 2
        hop, remainder = divmod(2 * length, frame_length)
        if remainder or frame_length % 2 or hop < 1 or length // hop != bins or (
                frame_length % hop):
            raise ValueError(
                "SpecGAN's spectrograms are square: `length * 2 / frame_length` "
                "frames must equal the `frame_length / 2` bins, with the hop dividing "
                "the frame (e.g. length 8192, frame_length 256). Received: "
                f"length={length}, frame_length={frame_length}")
        if int(griffin_lim_iterations) < 1 or int(n_critic) < 1:
            raise ValueError(
                "`griffin_lim_iterations` and `n_critic` must be >= 1. Received: "
                f"griffin_lim_iterations={griffin_lim_iterations}, n_critic={n_critic}")
        self.spectrogram = Spectrogram(frame_length, hop)

        # === Layers ===
        self.generator = build_conv_decoder(latent_dim, bins, 1, filters=generator_filters,
                                            norm=None, name="generator")
        self.critic = build_critic(bins, 1, critic_filters)
        # The normalization's moments: data, not learned; set by adapt().
        self.bin_mean = self.add_weight(shape=(bins,), initializer="zeros",
                                        trainable=False, name="bin_mean")
        self.bin_std = self.add_weight(shape=(bins,), initializer="ones",
                                       trainable=False, name="bin_std")

        # === Config ===
        self.length = length
        self.sample_rate = int(sample_rate)
        self.frame_length = frame_length
        self.hop_length = hop
        self.bins = bins
        self.latent_dim = latent_dim
        self.generator_filters = generator_filters
        self.critic_filters = critic_filters
        self.griffin_lim_iterations = int(griffin_lim_iterations)
        self.n_critic = int(n_critic)
        self.lambda_gp = float(lambda_gp)
        self.learning_rate = learning_rate
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.num_classes = 0
        self._finish_networks()

    # --- Spectrograms -------------------------------------------------------------

    def log_magnitude(self, waveforms):
        """`log(|STFT| + 1e-6)` of clips `(n, length, 1)`: `(n, frames,
        bins)`, the top bin dropped."""
        return ops.log(self.spectrogram.magnitude(waveforms)[:, :, :self.bins] + LOG_EPSILON)

    def adapt(self, waveforms, batch_size=256):
        """Sets the per-bin mean and standard deviation of the log
        magnitudes of `waveforms` `(n, length, 1)`, the training clips.

        Example:

        ```python
        import numpy as np
        model = SpecGAN(length=1024, frame_length=64, generator_filters=4, critic_filters=4)
        model.adapt(np.random.default_rng(0).normal(0, 0.1, (8, 1024, 1)))
        bool(np.all(np.asarray(model.bin_std) > 0))  # True
        ```
        """
        waveforms = np.asarray(waveforms, "float32")
        logs = np.concatenate([
            ops.convert_to_numpy(self.log_magnitude(waveforms[i:i + batch_size]))
            for i in range(0, len(waveforms), batch_size)]).reshape(-1, self.bins)
        self.bin_mean.assign(logs.mean(axis=0).astype("float32"))
        self.bin_std.assign(np.maximum(logs.std(axis=0), 1e-3).astype("float32"))

    def normalize(self, waveforms):
        """Clips `(n, length, 1)` as the critic sees them: `(n, frames,
        bins, 1)` in [-1, 1]."""
        z = (self.log_magnitude(waveforms) - self.bin_mean) / self.bin_std
        return (ops.clip(z, -CLIP_STD, CLIP_STD) / CLIP_STD)[..., None]

    def to_magnitude(self, spectrograms):
        """Normalized spectrograms `(n, frames, bins, 1)` back to |STFT|
        `(n, frames, bins + 1)` (the dropped top bin as silence)."""
        log_magnitude = spectrograms[..., 0] * CLIP_STD * self.bin_std + self.bin_mean
        magnitude = ops.maximum(ops.exp(log_magnitude) - LOG_EPSILON, 0.0)
        return ops.pad(magnitude, [[0, 0], [0, 0], [0, 1]])

    # --- Training: the critic and the penalty see spectrograms --------------------

    def prepare_batch(self, data):
        if isinstance(data, (tuple, list)):
            return (self.normalize(data[0]),) + tuple(data[1:])
        return self.normalize(data)

    # --- Sampling ---------------------------------------------------------------

    def spectrogram_tensor(self, latents):
        """G(z): normalized spectrograms `(n, frames, bins, 1)` in [-1, 1]."""
        return self.sampling_network("generator")(latents, training=False)

    def decode_tensor(self, latents, labels=None):
        """Waveforms `(n, length, 1)` in [-1, 1]: G(z), denormalized, then
        Griffin-Lim."""
        magnitude = self.to_magnitude(self.spectrogram_tensor(latents))
        # Fast Griffin-Lim: on the 300 FSDD test recordings, 16 iterations
        # leave a spectral convergence of 0.11 against plain Griffin-Lim's
        # 0.20 (benchmarks/audio_figures.py).
        waveforms = self.spectrogram.griffin_lim(
            magnitude, self.griffin_lim_iterations, length=self.length)
        return ops.clip(waveforms, -1.0, 1.0)[..., None]

    def call(self, latents, training=False):
        return self.decode_tensor(latents)

    # --- Config -----------------------------------------------------------------

    def get_config(self):
        config = GenerativeModel.get_config(self)
        config.update(
            length=self.length, sample_rate=self.sample_rate,
            frame_length=self.frame_length, latent_dim=self.latent_dim,
            generator_filters=self.generator_filters, critic_filters=self.critic_filters,
            griffin_lim_iterations=self.griffin_lim_iterations, n_critic=self.n_critic,
            lambda_gp=self.lambda_gp, learning_rate=self.learning_rate,
            beta_1=self.beta_1, beta_2=self.beta_2,
        )
        return config
