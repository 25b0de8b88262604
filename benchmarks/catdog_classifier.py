"""A small cat/dog classifier: the judge of CycleGAN's cat -> dog translations.

Trained from scratch on the shared cat2dog set (`trainA` cats = 0, `trainB`
dogs = 1, 2,000 images), at the resolution of the translations it judges
(default 64x64), with random crops and flips; its accuracy is measured on
`testA`/`testB` (400 images it never saw). The network is
`kerasgen.metrics.classifiers.build_catdog_classifier`; the 64x64 one ships
with kerasgen as the `catdog-classifier-64` feature extractor
(`zoo/catdog-classifier-64/`: its weights' sha256 in `metadata.json`,
checked on every load, and its accuracy in the card), so every checkout
scores CycleGAN runs with the same judge. Other sizes are trained here
into `benchmarks/weights/catdog-classifier-<size>/` in the same layout.

    .venv/bin/python benchmarks/catdog_classifier.py --image-size 32

Method: a 4-stage CNN (conv-BN-ReLU x2 and max-pool per stage, 16-128
filters, global average pool, dropout 0.3), Adam(1e-3) with cosine decay,
batch 64, `--epochs` 30, seed 0. Data loaded with `kerasgen.data.load_unpaired`
(the loader CycleGAN trains on), so the classifier sees the same resizing.
The shipped 64x64 weights were trained by this method (790 s on a 2-core
CPU; a retrain on another checkout reproduced them exactly).
"""

import argparse
import sys
import time
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent
DEFAULT_DATA = BENCHMARKS.parent.parent / "shared" / "datasets" / "cat2dog"
#: The metrics the parity rows carry, as the preset's metadata names them.
CARD_METRICS = ("test_accuracy", "real_test_cats_judged_dog", "real_test_cats_mean_p_dog")


def default_folder(image_size):
    return BENCHMARKS / "weights" / f"catdog-classifier-{image_size}"


def load_split(data, image_size, split):
    """(images in [-1, 1], labels): cats 0, dogs 1."""
    import numpy as np
    from kerasgen.data import load_unpaired

    cats, dogs = load_unpaired(data, image_size=image_size, split=split)
    images = np.concatenate([cats.images, dogs.images]).astype("float32") / 127.5 - 1
    labels = np.concatenate([np.zeros(len(cats)), np.ones(len(dogs))]).astype("float32")
    return images, labels


def p_dog(classifier, images, batch_size=100):
    """The classifier's probability of "dog" for images in [-1, 1]."""
    return classifier.probabilities(images, batch_size)[:, 1]


def load_classifier(image_size, data=DEFAULT_DATA, epochs=30):
    """`(FeatureExtractor, metrics)`: the shipped `catdog-classifier-64`
    at 64x64, else the one trained here at `image_size` (first trained if
    missing); the sha256 is checked before loading."""
    from kerasgen.metrics.extractors import load_extractor, load_preset_extractor

    if image_size == 64:
        classifier = load_extractor("catdog-classifier-64")
    else:
        folder = default_folder(image_size)
        if not (folder / "model.weights.h5").exists():
            train(data, image_size, epochs)
        classifier = load_preset_extractor(folder)
    return classifier, classifier.metadata["metrics"]


def train(data, image_size, epochs, seed=0, folder=None):
    import keras
    import numpy as np

    from kerasgen.metrics.classifiers import build_catdog_classifier
    from kerasgen.metrics.extractors import FeatureExtractor, write_preset_extractor

    keras.utils.set_random_seed(seed)
    x, y = load_split(data, image_size, "train")
    x_test, y_test = load_split(data, image_size, "test")
    augment = keras.Sequential([
        keras.layers.RandomFlip("horizontal", seed=seed),
        keras.layers.RandomTranslation(0.1, 0.1, fill_mode="reflect", seed=seed),
        keras.layers.RandomZoom(0.1, fill_mode="reflect", seed=seed),
    ])
    model = build_catdog_classifier(image_size)
    inputs = keras.Input(x.shape[1:])
    trainer = keras.Model(inputs, model(augment(inputs))[1])
    steps = epochs * (len(x) // 64)
    trainer.compile(
        keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(1e-3, steps)),
        keras.losses.BinaryCrossentropy(from_logits=True), metrics=["binary_accuracy"],
    )
    start = time.time()
    trainer.fit(x, y, batch_size=64, epochs=epochs, shuffle=True, verbose=2)
    seconds = time.time() - start
    probabilities = p_dog(FeatureExtractor("new", model, ["cat", "dog"]), x_test)
    cats = y_test == 0
    metrics = {
        "test_accuracy": float(np.mean((probabilities > 0.5) == (y_test == 1))),
        "real_test_cats_judged_dog": float(np.mean(probabilities[cats] > 0.5)),
        "real_test_cats_mean_p_dog": float(np.mean(probabilities[cats])),
        "real_test_dogs_judged_dog": float(np.mean(probabilities[~cats] > 0.5)),
        "test_images": int(len(x_test)),
    }
    metadata = {
        "name": f"catdog-classifier-{image_size}", "kind": "feature_extractor",
        "data": f"cat2dog trainA (cats, 0) and trainB (dogs, 1) at {image_size}x{image_size}; "
                "held out: testA, testB",
        "epochs": epochs, "batch_size": 64, "seed": seed,
        "backend": keras.backend.backend(), "keras": keras.__version__,
        "train_seconds": round(seconds, 1), "parameters": model.count_params(),
        "metrics": metrics, "trained_by": "benchmarks/catdog_classifier.py",
    }
    folder = folder or default_folder(image_size)
    write_preset_extractor(folder, "catdog_classifier", {"image_size": image_size}, model,
                           ["cat", "dog"], metadata,
                           f"# catdog-classifier-{image_size}\n\nTrained by "
                           f"`benchmarks/catdog_classifier.py`: {metrics}\n")
    print(metadata)
    return metadata


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--out", default=None,
                        help="preset folder to write (default: benchmarks/weights/"
                             "catdog-classifier-<size>; the shipped 64x64 one is not "
                             "replaced unless named here)")
    opts = parser.parse_args(argv)
    train(opts.data, opts.image_size, opts.epochs, folder=opts.out)


if __name__ == "__main__":
    sys.exit(main())
