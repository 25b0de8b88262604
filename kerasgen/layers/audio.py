"""Layers of the audio families: WaveGAN's phase shuffle and 1-D stacks.

- `PhaseShuffle` (Donahue et al. 2019, section 3.3): shifts a critic's
  activations by a random number of samples in [-n, n], filling the edge
  by reflection, so the critic cannot tell real from generated audio by
  the periodic artifacts of transposed convolutions alone.
- `build_wave_generator` / `build_wave_critic`: the paper's Tables 2 and
  3, stride-4 convolutions of 25 taps, for any length `4 ** num_layers *
  start_length`, with an optional class label (an embedding concatenated
  to z; a projection term in the critic, Miyato and Koyama 2018).
"""

import keras
from keras import layers
from keras import ops
from kerasgen.training.replicas import per_example


@keras.saving.register_keras_serializable(package="kerasgen")
class PhaseShuffle(layers.Layer):
    """Shifts each example of `(batch, length, channels)` by an integer in
    [-radius, radius], drawn per example, with reflection padding: output
    sample t is input sample t - shift, reflected at the ends. The identity
    at radius 0 and outside training.

    The authors' code draws one shift per batch; here each example gets its
    own, which perturbs the critic's input phases at least as much.

    Args:
        radius: int. n, the largest shift. Defaults to 2 (the paper's).
        seed: int or None. Seeds the shifts. Defaults to None.

    Example:

    ```python
    import numpy as np
    x = np.arange(8, dtype="float32").reshape(1, 8, 1)
    np.asarray(PhaseShuffle(2)(x, training=False))[0, :, 0].tolist() == list(range(8))
    # True
    ```
    """

    def __init__(self, radius=2, seed=None, **kwargs):
        super().__init__(**kwargs)
        if int(radius) < 0:
            raise ValueError(f"`radius` must be >= 0. Received: radius={radius}")
        self.radius = int(radius)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def shift(self, inputs, shifts):
        """`inputs` shifted by the int32 `shifts` `(batch,)`, in [-radius, radius]."""
        n = self.radius
        length = ops.shape(inputs)[1]
        padded = ops.pad(inputs, [[0, 0], [n, n], [0, 0]], mode="reflect")
        # Output t reads padded[t + n - shift].
        index = ops.arange(length, dtype="int32")[None, :] + n - ops.cast(shifts, "int32")[:, None]
        return ops.take_along_axis(padded, index[:, :, None], axis=1)

    def call(self, inputs, training=False):
        if not training or self.radius == 0:
            return inputs
        shifts = per_example(keras.random.randint,
            (ops.shape(inputs)[0],), -self.radius, self.radius + 1,
            seed=self.seed_generator)
        return self.shift(inputs, shifts)

    def compute_output_shape(self, input_shape):
        return input_shape

    # Keras does not save SeedGenerator states: saved here, so that a
    # resumed run shuffles as the uninterrupted one would have.
    _SEED_STATE_KEY = "phase_shuffle_seed_state"

    def save_own_variables(self, store):
        super().save_own_variables(store)
        store[self._SEED_STATE_KEY] = keras.ops.convert_to_numpy(self.seed_generator.state.value)

    def load_own_variables(self, store):
        super().load_own_variables({k: store[k] for k in store.keys()
                                    if k != self._SEED_STATE_KEY})
        if self._SEED_STATE_KEY in store.keys():
            self.seed_generator.state.assign(store[self._SEED_STATE_KEY])

    def get_config(self):
        config = super().get_config()
        config.update(radius=self.radius, seed=self.seed)
        return config


def wave_widths(model_size, num_layers):
    """Channels after the dense layer and each upsampling, WaveGAN's
    `16d, 8d, 4d, 2d, d` for 5 layers.

    Example:

    ```python
    wave_widths(64, 5)  # [1024, 512, 256, 128, 64]
    ```
    """
    return [int(model_size) * 2 ** (num_layers - 1 - i) for i in range(num_layers)]


def _label_embedding(num_classes, dim, name):
    labels = keras.Input((), dtype="int32", name="labels")
    embedded = layers.Embedding(num_classes, dim, name=name)(labels)
    return labels, embedded


def build_wave_generator(latent_dim, length, channels=1, model_size=64, num_layers=5,
                         kernel_size=25, stride=4, num_classes=0, name="generator"):
    """WaveGAN's generator: `Dense -> (length / stride**L, 16d) -> ReLU`,
    then L transposed convolutions of `kernel_size` taps and `stride`
    (ReLU between, tanh at the end).

    Example:

    ```python
    g = build_wave_generator(8, 256, model_size=4, num_layers=3)
    g.output_shape  # (None, 256, 1)
    ```
    """
    start, widths = _start_length(length, stride, num_layers), wave_widths(model_size, num_layers)
    z = keras.Input((latent_dim,), name="z")
    inputs, h = [z], z
    if num_classes:
        labels, embedded = _label_embedding(num_classes, latent_dim, "label_embedding")
        inputs.append(labels)
        h = layers.Concatenate(name="z_and_label")([z, embedded])
    h = layers.Dense(start * widths[0], name="project")(h)
    h = layers.Reshape((start, widths[0]), name="to_sequence")(h)
    h = layers.ReLU(name="project_relu")(h)
    for i, width in enumerate(widths[1:] + [channels]):
        h = layers.Conv1DTranspose(width, kernel_size, strides=stride, padding="same",
                                   name=f"upconv_{i}")(h)
        last = i == num_layers - 1
        h = layers.Activation("tanh", dtype="float32", name="waveform")(h) if last else (
            layers.ReLU(name=f"upconv_{i}_relu")(h))
    return keras.Model(inputs if num_classes else z, h, name=name)


def build_wave_critic(length, channels=1, model_size=64, num_layers=5, kernel_size=25,
                      stride=4, shuffle_radius=2, num_classes=0, seed=None, name="critic"):
    """WaveGAN's critic: L convolutions of `kernel_size` taps and `stride`
    (widths `d, 2d, ... 16d`), LeakyReLU(0.2) and phase shuffle after each
    but the last, then one linear score (no bias); a class-conditional critic adds
    the projection `<embed(y), h>` of the flattened features.

    Example:

    ```python
    c = build_wave_critic(256, model_size=4, num_layers=3)
    c.output_shape  # (None, 1)
    ```
    """
    _start_length(length, stride, num_layers)
    widths = wave_widths(model_size, num_layers)[::-1]
    x = keras.Input((length, channels), name="waveforms")
    inputs, h = [x], x
    for i, width in enumerate(widths):
        h = layers.Conv1D(width, kernel_size, strides=stride, padding="same",
                          name=f"conv_{i}")(h)
        h = layers.LeakyReLU(0.2, name=f"conv_{i}_lrelu")(h)
        if i < num_layers - 1:
            h = PhaseShuffle(shuffle_radius, seed=None if seed is None else seed + i,
                             name=f"phase_shuffle_{i}")(h)
    features = layers.Flatten(name="features")(h)
    # No bias: a constant added to f cancels in WGAN's losses and penalty
    # (as in `kerasgen.models.wgan.build_critic`).
    score = layers.Dense(1, use_bias=False, dtype="float32", name="score")(features)
    if num_classes:
        labels, embedded = _label_embedding(num_classes, int(features.shape[-1]),
                                            "label_projection")
        inputs.append(labels)
        projection = layers.Dot(axes=1, dtype="float32", name="projection")([features, embedded])
        score = layers.Add(dtype="float32", name="score_and_projection")([score, projection])
    return keras.Model(inputs if num_classes else x, score, name=name)


def _start_length(length, stride, num_layers):
    start, remainder = divmod(int(length), int(stride) ** int(num_layers))
    if remainder or start < 1:
        raise ValueError(
            f"`length` must be a multiple of stride ** num_layers "
            f"({stride}**{num_layers} = {stride ** num_layers}). Received: length={length}")
    return start
