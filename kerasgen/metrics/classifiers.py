"""The small classifiers behind kerasgen's own feature extractors.

A sample-quality number is only as meaningful as the network that reads
the samples. For digits and for cat2dog kerasgen trains its own judges on
the shared data and ships them as presets (`zoo/lenet-mnist/`,
`zoo/catdog-classifier-64/`), the way TF-GAN ships `mnist_frechet_distance`'s
classifier and the "Frechet LeNet distance" literature trains a LeNet:

- `build_lenet`: LeNet-5 as most FID-on-MNIST papers use it (two 5x5
  convolution + max-pool stages, a 128-unit feature layer, 10 logits).
- `build_catdog_classifier`: a 4-stage CNN for cats (0) against dogs (1),
  the judge of CycleGAN's cat -> dog translations.
- `build_logmel_cnn`: a log-mel CNN for the ten spoken digits of FSDD,
  the judge of the audio families (`zoo/logmel-cnn-fsdd/`), as the WaveGAN
  paper judged SC09 with its own classifier.

Each network has two outputs, `[features, logits]`: the features feed the
Frechet distance, KID and precision/recall; the logits the Inception-Score
style metrics and the share of translations judged to be of the target
domain. `train_classifier` is how the shipped weights were made
(`benchmarks/train_extractors.py` runs it and writes the presets).
"""

import keras
from keras import layers

#: The builders a preset's `config.json` may name; nothing else is built.
BUILDERS = {}


def _builder(name):
    def register(function):
        BUILDERS[name] = function
        return function
    return register


@_builder("lenet")
def build_lenet(image_size=28, channels=1, num_classes=10, feature_dim=128):
    """LeNet-5 for digits: images in [-1, 1] -> `[features, logits]`.

    `conv5x5(32) - maxpool - conv5x5(64) - maxpool - dense(feature_dim) -
    dropout(0.5) - dense(num_classes)`, ReLU activations; the features are
    the `feature_dim` ReLU units before the classifier head.

    Args:
        image_size: int. Height and width. Defaults to 28.
        channels: int. Defaults to 1.
        num_classes: int. Defaults to 10.
        feature_dim: int. Width of the feature layer. Defaults to 128.

    Returns:
        A functional `keras.Model` with outputs `[features, logits]`.

    Example:

    ```python
    model = build_lenet()
    [tuple(shape) for shape in model.output_shape]  # [(None, 128), (None, 10)]
    ```
    """
    inputs = keras.Input((image_size, image_size, channels), name="image")
    x = inputs
    for filters in (32, 64):
        x = layers.Conv2D(filters, 5, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D()(x)
    x = layers.Flatten()(x)
    features = layers.Dense(feature_dim, activation="relu", name="features")(x)
    x = layers.Dropout(0.5)(features)
    logits = layers.Dense(num_classes, dtype="float32", name="logits")(x)
    return keras.Model(inputs, [features, logits], name="lenet")


@_builder("catdog_classifier")
def build_catdog_classifier(image_size=64, channels=3):
    """A 4-stage CNN for cats against dogs: images in [-1, 1] ->
    `[features, logits]` (one logit, that of "dog").

    Per stage two `conv3x3 - BatchNorm - ReLU` and a max-pool, 16, 32, 64
    and 128 filters, then global average pooling (the 128 features) and
    dropout 0.3 before the logit.

    Args:
        image_size: int. Height and width, a multiple of 16. Defaults to 64.
        channels: int. Defaults to 3.

    Returns:
        A functional `keras.Model` with outputs `[features, logits]`.

    Example:

    ```python
    model = build_catdog_classifier(32)
    [tuple(shape) for shape in model.output_shape]  # [(None, 128), (None, 1)]
    ```
    """
    inputs = keras.Input((image_size, image_size, channels))
    x = inputs
    for filters in (16, 32, 64, 128):
        for _ in range(2):
            x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
            x = layers.BatchNormalization()(x)
            x = layers.ReLU()(x)
        x = layers.MaxPooling2D()(x)
    features = layers.GlobalAveragePooling2D(name="features")(x)
    x = layers.Dropout(0.3)(features)
    logits = layers.Dense(1, dtype="float32", name="logits")(x)
    return keras.Model(inputs, [features, logits], name="catdog_classifier")


@_builder("logmel_cnn")
def build_logmel_cnn(length=8192, sample_rate=8000, num_classes=10, num_mels=40,
                     filters=(24, 48, 96)):
    """A spoken-word classifier: waveforms `(length, 1)` in [-1, 1] ->
    `[features, logits]`, the judge of the audio families.

    Log-mel features (`kerasgen.layers.spectral.LogMelSpectrogram`, 32 ms
    frames every 8 ms at 8 kHz, 40 mel bands), BatchNorm, then per stage two
    `conv3x3 - BatchNorm - ReLU` and a max-pool (`filters` wide), global
    average pooling (the features), dropout 0.3 and the logits.

    Args:
        length: int. Samples per clip. Defaults to 8192.
        sample_rate: int. Defaults to 8000.
        num_classes: int. Defaults to 10.
        num_mels: int. Defaults to 40.
        filters: tuple of int. Widths of the stages. Defaults to (24, 48, 96).

    Returns:
        A functional `keras.Model` with outputs `[features, logits]`.

    Example:

    ```python
    model = build_logmel_cnn(length=1024, filters=(4, 8))
    [tuple(shape) for shape in model.output_shape]  # [(None, 8), (None, 10)]
    ```
    """
    from kerasgen.layers.spectral import LogMelSpectrogram

    inputs = keras.Input((length, 1), name="waveforms")
    x = LogMelSpectrogram(sample_rate, num_mels=num_mels, name="log_mel")(inputs)
    x = layers.BatchNormalization(name="input_norm")(x)
    for filters_ in filters:
        for _ in range(2):
            x = layers.Conv2D(filters_, 3, padding="same", use_bias=False)(x)
            x = layers.BatchNormalization()(x)
            x = layers.ReLU()(x)
        x = layers.MaxPooling2D()(x)
    features = layers.GlobalAveragePooling2D(name="features")(x)
    x = layers.Dropout(0.3)(features)
    logits = layers.Dense(num_classes, dtype="float32", name="logits")(x)
    return keras.Model(inputs, [features, logits], name="logmel_cnn")


@keras.saving.register_keras_serializable(package="kerasgen")
class RandomDelayAndGain(layers.Layer):
    """Training-time augmentation of clips `(batch, length, 1)` that keeps
    the word: each clip delayed by 0 to `max_delay` samples (silence in
    front, the end cut) and scaled by a gain in [`min_gain`, 1].

    Example:

    ```python
    import numpy as np
    x = np.ones((2, 8, 1), "float32")
    RandomDelayAndGain(4)(x, training=False).shape  # (2, 8, 1)
    ```
    """

    def __init__(self, max_delay=1000, min_gain=0.3, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.max_delay = int(max_delay)
        self.min_gain = float(min_gain)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=False):
        from keras import ops

        if not training:
            return inputs
        batch, length = ops.shape(inputs)[0], ops.shape(inputs)[1]
        delays = keras.random.randint((batch,), 0, self.max_delay + 1,
                                      seed=self.seed_generator)
        gains = keras.random.uniform((batch, 1, 1), self.min_gain, 1.0,
                                     seed=self.seed_generator)
        padded = ops.pad(inputs, [[0, 0], [self.max_delay, 0], [0, 0]])
        index = ops.arange(length, dtype="int32")[None, :] + self.max_delay - delays[:, None]
        return ops.take_along_axis(padded, index[:, :, None], axis=1) * gains

    def get_config(self):
        config = super().get_config()
        config.update(max_delay=self.max_delay, min_gain=self.min_gain, seed=self.seed)
        return config


def train_classifier(model, images, labels, *, epochs, batch_size=64,
                     learning_rate=1e-3, augment="digits", seed=0, verbose=2):
    """Trains a `[features, logits]` classifier on images in [-1, 1].

    Adam with cosine decay, cross-entropy on the logits (binary for one
    logit), random augmentation that keeps the class: `"digits"` (shifts
    and zooms of 10%, no flips: a mirrored 2 is not a 2), `"photos"`
    (horizontal flips, shifts and zooms, reflected borders), `"audio"`
    (clips `(N, length, 1)` delayed by up to 1/8 of their length and
    scaled by a gain in [0.3, 1]) or `None`.

    Args:
        model: a model from one of the builders.
        images: float32 `(N, H, W, C)` in [-1, 1] (or clips `(N, length, 1)`).
        labels: int `(N,)`.
        epochs: int.
        batch_size: int. Defaults to 64.
        learning_rate: float. Defaults to 1e-3.
        augment: `"digits"`, `"photos"`, `"audio"` or `None`. Defaults to
            `"digits"`.
        seed: int. Defaults to 0.
        verbose: passed to `fit()`. Defaults to 2.

    Returns:
        The `fit()` history.

    Example:

    ```python
    import numpy as np
    model = build_lenet(image_size=8, feature_dim=4)
    x = np.random.uniform(-1, 1, (8, 8, 8, 1)).astype("float32")
    history = train_classifier(model, x, np.arange(8) % 10, epochs=1,
                               batch_size=4, verbose=0)
    len(history.history["loss"])  # 1
    ```
    """
    keras.utils.set_random_seed(seed)
    binary = model.output_shape[1][-1] == 1
    steps = epochs * max(1, len(images) // batch_size)
    fill = dict(fill_mode="reflect", seed=seed) if augment == "photos" else dict(
        fill_mode="constant", fill_value=-1.0, seed=seed)
    augmentation = {
        "digits": [layers.RandomTranslation(0.1, 0.1, **fill),
                   layers.RandomZoom(0.1, **fill)],
        "photos": [layers.RandomFlip("horizontal", seed=seed),
                   layers.RandomTranslation(0.1, 0.1, **fill),
                   layers.RandomZoom(0.1, **fill)],
        "audio": [RandomDelayAndGain(images.shape[1] // 8, seed=seed)],
        None: [],
    }[augment]
    inputs = keras.Input(images.shape[1:])
    x = inputs
    for layer in augmentation:
        x = layer(x)
    trainer = keras.Model(inputs, model(x)[1])
    loss = (keras.losses.BinaryCrossentropy(from_logits=True) if binary
            else keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    accuracy = "binary_accuracy" if binary else "sparse_categorical_accuracy"
    trainer.compile(
        keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(learning_rate, steps)),
        loss, metrics=[accuracy],
    )
    targets = labels.astype("float32") if binary else labels.astype("int32")
    return trainer.fit(images, targets, batch_size=batch_size, epochs=epochs,
                       shuffle=True, verbose=verbose)
