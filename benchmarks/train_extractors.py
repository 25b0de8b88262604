"""Trains kerasgen's own feature extractors and writes them as presets.

- `lenet-mnist` (`zoo/lenet-mnist/`): `kerasgen.metrics.classifiers.build_lenet`
  on the first 8,000 of the shared MNIST test digits (the split every
  kerasgen MNIST number uses: train on the first 8,000, measure on the
  last 2,000), 20 epochs, Adam(1e-3) with cosine decay, batch 128, shifts
  and zooms of 10%, seed 0; its accuracy on the last 2,000 goes in its card.

- `logmel-cnn-fsdd` (`zoo/logmel-cnn-fsdd/`): `build_logmel_cnn` on FSDD's
  training split (takes 5-49), 30 epochs, batch 64, random delays and
  gains; its accuracy on the test split (takes 0-4) goes in its card.

`catdog-classifier-64` (`zoo/catdog-classifier-64/`) is the cat/dog judge
of the CycleGAN parity runs, trained by `benchmarks/catdog_classifier.py`
(its weights were committed in `benchmarks/weights/` and moved, values
unchanged, into the preset layout; `catdog_classifier.py --out
zoo/catdog-classifier-64 --image-size 64` trains it again).

    .venv/bin/python benchmarks/train_extractors.py lenet-mnist

Each preset folder is written atomically; a rerun replaces it.
"""

import argparse
import json
import sys
import time
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent
REPO = BENCHMARKS.parent
SHARED = REPO.parent / "shared" / "datasets"
ZOO = REPO / "zoo"

LENET_CARD = """# lenet-mnist: the digit feature extractor

The network behind every "(lenet-mnist)" number of kerasgen: FID, KID and
precision/recall of digit models, the analogue of TF-GAN's
`mnist_frechet_distance` classifier and of the "Frechet LeNet distance" of
the literature. Numbers on it compare with other kerasgen numbers, not
with FIDs measured on another network.

- **Network**: LeNet-5 (`kerasgen.metrics.classifiers.build_lenet`):
  conv5x5(32) - maxpool - conv5x5(64) - maxpool - dense(128, ReLU: the
  features) - dropout(0.5) - dense(10). {params:,} parameters.
- **Input**: 28x28 greyscale in [-1, 1] (other sizes and RGB are converted).
- **Data**: MNIST (LeCun, Cortes and Burges; CC BY-SA 3.0), the 10,000
  official test digits in `../shared/datasets/mnist`: trained on the first
  8,000, measured on the last 2,000 (never seen).
- **Training**: {epochs} epochs, batch 128, Adam(1e-3) with cosine decay,
  random shifts and zooms of 10%, seed {seed}; {seconds:.0f} s on a 2-core
  CPU ({backend} backend).
- **Held-out accuracy** (last 2,000 digits): **{accuracy:.4f}**.

Made by `benchmarks/train_extractors.py lenet-mnist`.
"""

def write_classifier(name, builder, network, classes, data, x_test, y_test, count_key,
                     card, *, epochs, batch_size, seed, seconds, resolution):
    """Measures a trained judge on its held-out data and writes its preset
    (`zoo/<name>/`), the card filled in from the same facts."""
    import keras
    import numpy as np

    from kerasgen.metrics.extractors import write_preset_extractor

    logits = network.predict(x_test, batch_size=100, verbose=0)[1]
    accuracy = float(np.mean(np.argmax(logits, -1) == y_test))
    facts = dict(params=network.count_params(), epochs=epochs, seed=seed,
                 seconds=seconds, backend=keras.backend.backend(), accuracy=accuracy)
    metadata = {
        "name": name, "kind": "feature_extractor", "data": data, "resolution": resolution,
        "epochs": epochs, "batch_size": batch_size, "seed": seed,
        "backend": keras.backend.backend(), "keras": keras.__version__,
        "train_seconds": round(seconds, 1), "parameters": network.count_params(),
        "metrics": {"held_out_accuracy": accuracy, count_key: int(len(y_test))},
        "date": time.strftime("%Y-%m-%d"),
    }
    write_preset_extractor(ZOO / name, builder, {}, network, classes, metadata,
                           card.format(**facts))
    print(json.dumps(metadata, indent=2))


def lenet_mnist(seed=0, epochs=20):
    import keras

    from kerasgen.data import load_images
    from kerasgen.metrics.classifiers import build_lenet, train_classifier

    data = load_images(SHARED / "mnist")
    images = data.images.astype("float32") / 127.5 - 1.0
    x, y = images[:8000], data.labels[:8000]
    x_test, y_test = images[8000:], data.labels[8000:]
    keras.utils.set_random_seed(seed)
    network = build_lenet()
    start = time.time()
    train_classifier(network, x, y, epochs=epochs, batch_size=128, augment="digits",
                     seed=seed)
    seconds = time.time() - start
    write_classifier("lenet-mnist", "lenet", network, [str(i) for i in range(10)],
                     "MNIST test digits 0-7999 (train), 8000-9999 (held out)",
                     x_test, y_test, "held_out_images", LENET_CARD, epochs=epochs,
                     batch_size=128, seed=seed, seconds=seconds, resolution="28x28")


FSDD_CARD = """# logmel-cnn-fsdd: the spoken-digit judge

The network behind every "(logmel-cnn-fsdd)" number of kerasgen: the
Inception-Score analogue and the FID of the audio families, as the WaveGAN
paper measured SC09 with a classifier of its own. Numbers on it compare
with other kerasgen numbers on FSDD, not with scores on another network.

- **Network**: `kerasgen.metrics.classifiers.build_logmel_cnn`: log-mel
  features (Hann frames of 256 samples every 64, 40 mel bands, log power),
  BatchNorm, three stages of two conv3x3-BatchNorm-ReLU and a max-pool
  (24, 48, 96 wide), global average pooling (the 96 features), dropout 0.3,
  10 logits. {params:,} parameters.
- **Input**: 8,192 samples (1.02 s) at 8 kHz in [-1, 1]; shorter clips
  are padded with silence, longer ones cut.
- **Data**: the Free Spoken Digit Dataset (CC BY-SA 4.0), 6 speakers x 10
  digits x 50 takes, in `../shared/datasets/fsdd`: trained on the training
  split (takes 5-49, 2,700 recordings), measured on the test split (takes
  0-4, 300 recordings, never seen). Each recording is scaled to a peak of 1
  and padded to 8,192 samples, as `kerasgen.data.audio` loads it. The
  split is the dataset's own: the test speakers are the training speakers.
- **Training**: {epochs} epochs, batch 64, Adam(1e-3) with cosine decay,
  random delays of up to 1,024 samples and gains of 0.3 to 1, seed {seed};
  {seconds:.0f} s on a 2-core CPU ({backend} backend).
- **Held-out accuracy** (300 test recordings): **{accuracy:.4f}**.

Made by `benchmarks/train_extractors.py logmel-cnn-fsdd`.
"""


def logmel_cnn_fsdd(seed=0, epochs=30):
    import keras

    from kerasgen.data.audio import load_waveforms
    from kerasgen.metrics.classifiers import build_logmel_cnn, train_classifier

    folder = SHARED / "fsdd" / "recordings"
    train = load_waveforms(folder, split="train")
    test = load_waveforms(folder, split="test")
    keras.utils.set_random_seed(seed)
    network = build_logmel_cnn()
    start = time.time()
    train_classifier(network, train.waveforms, train.labels, epochs=epochs, batch_size=64,
                     augment="audio", seed=seed)
    seconds = time.time() - start
    write_classifier("logmel-cnn-fsdd", "logmel_cnn", network, train.class_names,
                     "Free Spoken Digit Dataset: takes 5-49 (train, 2,700), takes 0-4 "
                     "(held out, 300)", test.waveforms, test.labels, "held_out_recordings",
                     FSDD_CARD, epochs=epochs, batch_size=64, seed=seed, seconds=seconds,
                     resolution="8192 samples at 8 kHz")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("name", choices=("lenet-mnist", "logmel-cnn-fsdd"))
    parser.add_argument("--epochs", type=int, default=None,
                        help="Default: 20 (lenet-mnist), 30 (logmel-cnn-fsdd).")
    opts = parser.parse_args(argv)
    if opts.name == "lenet-mnist":
        lenet_mnist(epochs=opts.epochs or 20)
    else:
        logmel_cnn_fsdd(epochs=opts.epochs or 30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
