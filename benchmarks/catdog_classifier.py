"""A small cat/dog classifier: the judge of CycleGAN's cat -> dog translations.

Trained from scratch on the shared cat2dog set (`trainA` cats = 0, `trainB`
dogs = 1, 2,000 images), at the resolution of the translations it judges
(default 64x64), with random crops and flips; its accuracy is measured on
`testA`/`testB` (400 images it never saw). The weights go to
`benchmarks/weights/catdog-classifier-<size>/classifier.weights.h5`
(atomically), with `metrics.json` (test accuracy, the share of real test
cats it calls dogs, the weights' sha256). The 64x64 one is committed, so
every checkout scores CycleGAN runs with the same judge; loading checks
the sha256. `benchmarks/cyclegan_parity.py` trains one when it is missing.

    .venv/bin/python benchmarks/catdog_classifier.py              # 64x64
    .venv/bin/python benchmarks/catdog_classifier.py --image-size 32

Method: a 4-stage CNN (conv-BN-ReLU x2 and max-pool per stage, 16-128
filters, global average pool, dropout 0.3), Adam(1e-3) with cosine decay,
batch 64, `--epochs` 30, seed 0. Data loaded with `kerasgen.data.load_unpaired`
(the loader CycleGAN trains on), so the classifier sees the same resizing.
"""

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent
DEFAULT_DATA = BENCHMARKS.parent.parent / "shared" / "datasets" / "cat2dog"


def default_folder(image_size):
    return BENCHMARKS / "weights" / f"catdog-classifier-{image_size}"


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def build_classifier(image_size):
    """The CNN: images in [-1, 1] -> the logit of "dog"."""
    import keras
    from keras import layers

    inputs = keras.Input((image_size, image_size, 3))
    x = inputs
    for filters in (16, 32, 64, 128):
        for _ in range(2):
            x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
            x = layers.BatchNormalization()(x)
            x = layers.ReLU()(x)
        x = layers.MaxPooling2D()(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.3)(x)
    outputs = layers.Dense(1, dtype="float32")(x)
    return keras.Model(inputs, outputs, name="catdog_classifier")


def load_split(data, image_size, split):
    """(images in [-1, 1], labels): cats 0, dogs 1."""
    import numpy as np
    from kerasgen.data import load_unpaired

    cats, dogs = load_unpaired(data, image_size=image_size, split=split)
    images = np.concatenate([cats.images, dogs.images]).astype("float32") / 127.5 - 1
    labels = np.concatenate([np.zeros(len(cats)), np.ones(len(dogs))]).astype("float32")
    return images, labels


def p_dog(model, images, batch_size=100):
    """The classifier's probability of "dog" for images in [-1, 1]."""
    import numpy as np
    from keras import ops

    logits = model.predict(np.asarray(images, "float32"), batch_size=batch_size, verbose=0)
    return np.asarray(ops.convert_to_numpy(ops.sigmoid(logits)))[:, 0]


def load_classifier(image_size, data=DEFAULT_DATA, epochs=30):
    """The trained classifier at `image_size` (trained first if missing)."""
    folder = default_folder(image_size)
    weights = folder / "classifier.weights.h5"
    if not weights.exists():
        train(data, image_size, epochs)
    metrics = json.loads((folder / "metrics.json").read_text())
    if sha256(weights) != metrics["weights_sha256"]:
        raise SystemExit(f"Error: {weights} does not match the sha256 in its metrics.json.")
    model = build_classifier(image_size)
    model.load_weights(weights)
    return model, metrics


def train(data, image_size, epochs, seed=0):
    import keras
    import numpy as np

    keras.utils.set_random_seed(seed)
    x, y = load_split(data, image_size, "train")
    x_test, y_test = load_split(data, image_size, "test")
    augment = keras.Sequential([
        keras.layers.RandomFlip("horizontal", seed=seed),
        keras.layers.RandomTranslation(0.1, 0.1, fill_mode="reflect", seed=seed),
        keras.layers.RandomZoom(0.1, fill_mode="reflect", seed=seed),
    ])
    model = build_classifier(image_size)
    inputs = keras.Input(x.shape[1:])
    trainer = keras.Model(inputs, model(augment(inputs)))
    steps = epochs * (len(x) // 64)
    trainer.compile(
        keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(1e-3, steps)),
        keras.losses.BinaryCrossentropy(from_logits=True), metrics=["binary_accuracy"],
    )
    start = time.time()
    trainer.fit(x, y, batch_size=64, epochs=epochs, shuffle=True, verbose=2)
    seconds = time.time() - start
    probabilities = p_dog(model, x_test)
    cats = y_test == 0
    metrics = {
        "image_size": image_size,
        "epochs": epochs,
        "seed": seed,
        "train_images": int(len(x)),
        "test_images": int(len(x_test)),
        "test_accuracy": float(np.mean((probabilities > 0.5) == (y_test == 1))),
        "real_test_cats_judged_dog": float(np.mean(probabilities[cats] > 0.5)),
        "real_test_cats_mean_p_dog": float(np.mean(probabilities[cats])),
        "real_test_dogs_judged_dog": float(np.mean(probabilities[~cats] > 0.5)),
        "train_seconds": round(seconds, 1),
        "backend": keras.backend.backend(),
    }
    folder = default_folder(image_size)
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / "classifier.partial.weights.h5"
    model.save_weights(partial)
    metrics["weights_sha256"] = sha256(partial)
    os.replace(partial, folder / "classifier.weights.h5")
    (folder / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(json.dumps(metrics, indent=2))
    return metrics


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=30)
    opts = parser.parse_args(argv)
    train(opts.data, opts.image_size, opts.epochs)


if __name__ == "__main__":
    sys.exit(main())
