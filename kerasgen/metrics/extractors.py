"""Feature extractors with names: the network a metric reads samples with.

A Frechet distance means nothing without the network that made the
features, so every extractor has a name and every number is printed with
it: "FID (lenet-mnist)", never a bare "FID".

| name | network | input | features | classes |
| --- | --- | --- | --- | --- |
| `lenet-mnist` | LeNet-5 trained here on MNIST digits | 28x28 grey | 128 | 10 digits |
| `catdog-classifier-64` | 4-stage CNN trained here on cat2dog | 64x64 RGB | 128 | cat, dog |
| `logmel-cnn-fsdd` | log-mel CNN trained here on spoken digits (FSDD) | 8,192 samples at 8 kHz | 96 | 10 digits |
| `inception-v3` | the FID Inception of pytorch-fid / TF-GAN | 299x299 RGB | 2048 | 1008 |

The first three ship with kerasgen as presets (`zoo/<name>/`: `config.json`,
`model.weights.h5`, `metadata.json` with the weights' sha256, checked
before loading, and a `README.md` card with their held-out accuracy).
`inception-v3` needs the pytorch-fid weights file (see
`kerasgen.metrics.inception`).

Images go in as the families make them, floats in [-1, 1] (or uint8),
`(N, H, W, C)`; each extractor converts channels (RGB to grey with the
ITU-R 601 weights, grey to RGB by repetition) and resizes (bilinear, with
antialiasing when shrinking) to its own input. Audio goes in as clips
`(N, length, 1)` (or `(N, length)`) in [-1, 1] at the extractor's
`sample_rate`; each clip is cut or padded with silence to its length.
"""

import json
from pathlib import Path

import numpy as np

from kerasgen.utils.compiled import compiled


#: The extractors kerasgen knows, in the order `kerasgen eval` lists them.
EXTRACTOR_NAMES = ("lenet-mnist", "catdog-classifier-64", "logmel-cnn-fsdd", "inception-v3")

class FeatureExtractor:
    """A named network from images to features (and class logits).

    Args:
        name: str. The name printed beside every number it gives.
        network: a `keras.Model` from images in [-1, 1] of
            `input_shape` to `[features, logits]`.
        classes: list of str. The class names of the logits.
        metadata: dict. What the preset says about itself (data, accuracy).

    Example:

    ```python
    import numpy as np
    from kerasgen.metrics import load_extractor
    extractor = load_extractor("lenet-mnist")
    images = np.zeros((4, 16, 16, 1), "float32")  # any size, any channels
    extractor.features(images).shape  # (4, 128)
    ```
    """

    def __init__(self, name, network, classes, metadata=None, resize="antialiased"):
        self.name = name
        # "antialiased" (bilinear, antialiased when shrinking, as the
        # loaders resize) or "pytorch-fid" (bilinear without antialiasing,
        # exactly as pytorch-fid and TF-GAN feed their Inception).
        self.resize = resize
        self.network = network
        self.classes = list(classes)
        self.metadata = dict(metadata or {})
        self.input_shape = tuple(network.input_shape[1:])
        self.feature_dim = int(network.output_shape[0][-1])
        self._predict = None

    def __repr__(self):
        if self.is_audio:
            shown = f"{self.input_shape[0]} samples at {self.sample_rate} Hz"
        else:
            shown = "{}x{}x{}".format(*self.input_shape)
        return (f"FeatureExtractor({self.name!r}, input {shown}, "
                f"{self.feature_dim} features, {len(self.classes)} classes)")

    @property
    def is_audio(self):
        """Whether it reads clips `(length, 1)` rather than images."""
        return len(self.input_shape) == 2

    @property
    def sample_rate(self):
        """Samples per second of the clips an audio extractor reads."""
        layer = next((l for l in self.network.layers if hasattr(l, "sample_rate")), None)
        return None if layer is None else int(layer.sample_rate)

    def prepare_audio(self, clips):
        """Clips `(N, length[, 1])` in [-1, 1] as this network's input:
        float32 `(N, its length, 1)`, cut or padded with silence."""
        clips = np.asarray(clips, "float32")
        if clips.ndim == 3 and clips.shape[-1] == 1:
            clips = clips[..., 0]
        if clips.ndim != 2:
            raise ValueError(f"{self.name} reads mono clips (N, length) or (N, length, 1). "
                             f"Received: shape={clips.shape}")
        length = self.input_shape[0]
        clips = clips[:, :length]
        if clips.shape[1] < length:
            clips = np.pad(clips, [(0, 0), (0, length - clips.shape[1])])
        return np.clip(clips, -1.0, 1.0)[..., None]

    # --- Inputs -------------------------------------------------------------

    def prepare(self, images):
        """Images `(N, H, W, C)` (uint8, or floats in [-1, 1]) as this
        network's input: float32 in [-1, 1], its channels and size."""
        from keras import ops

        if self.is_audio:
            return self.prepare_audio(images)
        images = np.asarray(images)
        if images.ndim != 4:
            raise ValueError(
                f"Images must be (N, H, W, C). Received: shape={images.shape}")
        if images.dtype == np.uint8:
            images = images.astype("float32") / np.float32(127.5) - np.float32(1.0)
        images = images.astype("float32", copy=False)
        height, width, channels = self.input_shape
        if images.shape[-1] == 3 and channels == 1:
            images = images @ np.array([[0.299], [0.587], [0.114]], "float32")
        elif images.shape[-1] == 1 and channels == 3:
            images = np.repeat(images, 3, axis=-1)
        elif images.shape[-1] != channels:
            raise ValueError(
                f"{self.name} reads images with 1 or 3 channels. "
                f"Received: {images.shape[-1]} channels")
        if images.shape[1:3] != (height, width) and self.resize == "pytorch-fid":
            from kerasgen.metrics.inception import torch_bilinear_resize

            images = ops.convert_to_numpy(torch_bilinear_resize(images, (height, width)))
        elif images.shape[1:3] != (height, width):
            shrinking = images.shape[1] > height or images.shape[2] > width
            images = ops.convert_to_numpy(ops.image.resize(
                images, (height, width), interpolation="bilinear",
                antialias=shrinking))
        return np.clip(images, -1.0, 1.0)

    # --- Outputs ------------------------------------------------------------

    def run(self, images, batch_size=250):
        """`(features, logits)` of images, float32 numpy arrays, computed
        in batches on the backend in use."""
        features, logits = [], []
        for start in range(0, len(images), batch_size):
            batch = self.prepare(images[start:start + batch_size])
            f, l = self._call(batch)
            features.append(f)
            logits.append(l)
        if not features:
            return (np.zeros((0, self.feature_dim), "float32"),
                    np.zeros((0, len(self.classes)), "float32"))
        return np.concatenate(features), np.concatenate(logits)

    def features(self, images, batch_size=250):
        """The features of images, `(N, feature_dim)` float32."""
        return self.run(images, batch_size)[0]

    def probabilities(self, images, batch_size=250):
        """Class probabilities of images, `(N, len(classes))` float64 (a
        one-logit network gives `[1 - p, p]`)."""
        return logits_to_probabilities(self.run(images, batch_size)[1])

    def _call(self, batch):
        from keras import ops

        if self._predict is None:
            self._predict = compiled(lambda batch: self.network(batch, training=False),
                                     self.network.variables)
        features, logits = self._predict(batch)
        return ops.convert_to_numpy(features), ops.convert_to_numpy(logits)


def logits_to_probabilities(logits):
    """Softmax of logits in float64; one logit is a sigmoid, `[1 - p, p]`.

    Example:

    ```python
    import numpy as np
    logits_to_probabilities(np.zeros((1, 1))).tolist()  # [[0.5, 0.5]]
    ```
    """
    logits = np.asarray(logits, "float64")
    if logits.shape[-1] == 1:
        p = 1.0 / (1.0 + np.exp(-logits))
        return np.concatenate([1.0 - p, p], axis=-1)
    logits = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(logits)
    return e / e.sum(axis=-1, keepdims=True)


# --- Loading -----------------------------------------------------------------


def load_extractor(name, weights=None, download=False):
    """The feature extractor called `name` (see `EXTRACTOR_NAMES`).

    `lenet-mnist`, `catdog-classifier-64` and `logmel-cnn-fsdd` load from
    the presets that ship with kerasgen, after checking their weights against the sha256 in
    `metadata.json`; only builders kerasgen defines are built, and the
    weights file holds arrays only. `inception-v3` loads pytorch-fid's
    weights from `weights` or the cache (`kerasgen.metrics.inception`).

    Args:
        name: str. An extractor name.
        weights: str or None. The weights file of `inception-v3`.
            Defaults to None.
        download: bool. `inception-v3` only: download the weights file
            into the cache when it is missing (checked against its pinned
            sha256). Defaults to False: offline, a missing file is one
            clear error naming it.

    Returns:
        A `FeatureExtractor`.

    Example:

    ```python
    from kerasgen.metrics import load_extractor
    load_extractor("lenet-mnist")
    # FeatureExtractor('lenet-mnist', input 28x28x1, 128 features, 10 classes)
    ```
    """
    if name not in EXTRACTOR_NAMES:
        raise ValueError(
            f"Unknown feature extractor {name!r}. Known: "
            f"{', '.join(EXTRACTOR_NAMES)}. Received: extractor={name!r}")
    if name == "inception-v3":
        from kerasgen.metrics.inception import fid_inception_v3

        network = fid_inception_v3(weights=weights, include_logits=True,
                                   download=download)
        return FeatureExtractor(name, network, [str(i) for i in range(1008)],
                                {"weights": "pytorch-fid pt_inception-2015-12-05"},
                                resize="pytorch-fid")
    from kerasgen.zoo.registry import preset_path

    return load_preset_extractor(preset_path(name), name, verified=True)


def load_preset_extractor(folder, name=None, verified=False):
    """A `FeatureExtractor` from a preset folder (`config.json`,
    `model.weights.h5`, `metadata.json`), every file checked against the
    sha256 its metadata.json lists first (`kerasgen.zoo.registry
    .verify_folder`; `verified=True` when the caller just did)."""
    from kerasgen.metrics.classifiers import BUILDERS
    from kerasgen.zoo.registry import verify_folder

    folder = Path(folder)
    name = name or folder.name
    metadata = verify_folder(folder) if not verified else None
    weights = folder / "model.weights.h5"
    try:
        config = json.loads((folder / "config.json").read_text())
        metadata = metadata or json.loads((folder / "metadata.json").read_text())
    except (OSError, ValueError) as error:
        raise ValueError(
            f"The extractor preset {folder} is missing or unreadable "
            f"({type(error).__name__}: {error}).") from error
    if "model.weights.h5" not in metadata.get("files", {}):
        raise ValueError(
            f"The metadata.json of the extractor {name} lists no sha256 of "
            f"{weights}: refusing to load it.")
    builder = config.get("builder")
    if builder not in BUILDERS:
        raise ValueError(
            f"The extractor preset {folder} names the builder {builder!r}, "
            f"which kerasgen does not have ({', '.join(sorted(BUILDERS))}).")
    network = BUILDERS[builder](**config.get("config", {}))
    network.load_weights(weights)
    return FeatureExtractor(name, network, config["classes"], metadata)


def write_preset_extractor(folder, builder, config, network, classes, metadata,
                           card):
    """Writes an extractor preset folder atomically: `config.json`,
    `model.weights.h5`, `metadata.json` (with the weights' sha256 and
    size, and those of the other files) and the model card `README.md`;
    a folder of the shipped zoo is then added to its index."""
    from kerasgen.utils.io import atomic_write
    from kerasgen.zoo.registry import ZOO_FOLDER
    from kerasgen.zoo.registry import seal_folder
    from kerasgen.zoo.registry import update_index

    with atomic_write(folder, directory=True) as tmp:
        tmp = Path(tmp)
        tmp.chmod(0o755)  # mkdtemp's 0700 would hide a shipped preset
        weights = tmp / "model.weights.h5"
        network.save_weights(weights)
        (tmp / "config.json").write_text(json.dumps(
            {"builder": builder, "config": config, "classes": list(classes)},
            indent=2) + "\n")
        (tmp / "metadata.json").write_text(json.dumps(metadata, indent=2) + "\n")
        (tmp / "README.md").write_text(card)
        seal_folder(tmp)
    if Path(folder).resolve().parent == ZOO_FOLDER:
        update_index()
