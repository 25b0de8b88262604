"""The model probes of `kerasgen.probes` on the zoo's two classifiers,
measured and drawn for the README (issue 14, "model probes").

    KERAS_BACKEND=tensorflow python benchmarks/explore_probes_figures.py [lenet] [catdog]

(both parts when neither is named).

Writes to docs/images/:

- `probes-deepdream-lenet-mnist.png`: DeepDream on lenet-mnist: each
  class logit and ten `conv2d_1` channels dreamed from noise, and held-out
  digits dreamed at the `features` layer;
- `probes-deepdream-catdog.png`: held-out cats dreamed at `re_lu_5` (the
  third stage), at `features` and at the dog logit of catdog-classifier-64;
- `probes-fgsm-lenet-mnist.png`: the "panda + noise = gibbon" figure of
  Goodfellow et al. on held-out digits (FGSM, epsilon 0.1);
- `probes-fgsm-catdog.png`: the same on cat2dog test images
  (epsilon 2/255).

and appends to benchmarks/results/explore_probes.jsonl the accuracy of
lenet-mnist on the 2,000 held-out digits (MNIST test 8000-9999) and of
catdog-classifier-64 on the 400 cat2dog test images under FGSM and PGD
(10 steps of 2.5 epsilon / 10, random start) over a grid of epsilons, in
[0, 1] image units, and the activations before and after each dream.
Prints the markdown tables.
"""

import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
DATA = os.path.join(ROOT, "..", "shared", "datasets")
IMAGES = os.path.join(ROOT, "docs", "images")
RESULTS = os.path.join(ROOT, "benchmarks", "results", "explore_probes.jsonl")

MNIST_EPSILONS = [0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3]
CATDOG_EPSILONS = [0.0, 0.25 / 255, 0.5 / 255, 1 / 255, 2 / 255, 4 / 255]
PGD = dict(steps=10, step_size=None, random_start=True, seed=0)


def append(row):
    from kerasgen.utils.machine import machine_info

    import keras

    row = dict(benchmark="explore_probes", backend=keras.backend.backend(), **row,
               machine=machine_info())
    with open(RESULTS, "a") as file:
        file.write(json.dumps(row) + "\n")


def accuracy_tables(extractor, images, labels, epsilons, data_name):
    from kerasgen.probes.adversarial import accuracy_under_attack

    table = {}
    for method in ("fgsm", "pgd"):
        options = {} if method == "fgsm" else PGD
        start = time.time()
        rows = accuracy_under_attack(extractor, images, labels, epsilons, method=method,
                                     **options)
        seconds = round(time.time() - start, 1)
        for row in rows:
            append(dict(kind="attack", classifier=extractor.name, data=data_name,
                        seconds=seconds, **row))
        table[method] = rows
        print(f"{extractor.name} {method}: {seconds} s", flush=True)
    lines = [f"| epsilon (8-bit levels) | FGSM | PGD-{PGD['steps']} |",
             "| ---: | ---: | ---: |"]
    for fgsm_row, pgd_row in zip(table["fgsm"], table["pgd"]):
        lines.append(f"| {fgsm_row['epsilon']:.4g} ({fgsm_row['levels']:.3g}) | "
                     f"{fgsm_row['accuracy']:.4f} | {pgd_row['accuracy']:.4f} |")
    print(f"\n{extractor.name} on {data_name} ({len(images)} images):")
    print("\n".join(lines), flush=True)
    return table


def fooled_examples(extractor, images, labels, epsilon, count, candidates=300):
    """Indices of `count` images the classifier gets right and FGSM at
    `epsilon` fools, the most confident mistakes first."""
    import numpy as np

    from kerasgen.probes.adversarial import fgsm

    index = np.arange(min(candidates, len(images)))
    right = index[extractor.probabilities(images[index]).argmax(-1) == labels[index]]
    attacked = extractor.probabilities(fgsm(extractor, images[right], labels[right],
                                            epsilon))
    wrong = attacked.argmax(-1) != labels[right]
    confidence = attacked.max(-1)
    order = np.argsort(-np.where(wrong, confidence, -1.0))
    return right[order[:count]]


def dream_row(extractor, result, layer, channel, settings, start):
    for i, (before, after) in enumerate(zip(result.before, result.after)):
        append(dict(kind="deepdream", classifier=extractor.name, layer=layer,
                    channel=None if channel is None else channel[i] if isinstance(
                        channel, list) else channel,
                    start=start, activation_before=before, activation_after=after,
                    **settings))


def lenet_figures(images, labels):
    import numpy as np

    from kerasgen.metrics import load_extractor
    from kerasgen.probes.adversarial import attack_figure
    from kerasgen.probes.deepdream import dream
    from kerasgen.utils.images import make_strips
    from kerasgen.utils.images import save_png

    lenet = load_extractor("lenet-mnist")
    settings = dict(steps=30, step_size=0.05, octaves=3, octave_scale=1.4, jitter=1,
                    seed=0)
    classes = dream(lenet, layer="logits", channel=list(range(10)), **settings)
    dream_row(lenet, classes, "logits", list(range(10)), settings, "noise")
    called = lenet.probabilities(classes.images).argmax(-1).tolist()
    channels = dream(lenet, layer="conv2d_1", channel=list(range(10)), **settings)
    dream_row(lenet, channels, "conv2d_1", list(range(10)), settings, "noise")
    digits = lenet.prepare(images[:5])
    dreamed = dream(lenet, images[:5], layer="features", **settings)
    dream_row(lenet, dreamed, "features", None, settings, "held-out digits 8000-8004")
    pairs = np.stack([digits, dreamed.images], axis=1).reshape((10,) + digits.shape[1:])
    rows = np.stack([classes.images, channels.images, pairs])
    picture = make_strips(rows, [
        (1, "logits: one class each, from noise (lenet calls them "
            f"{''.join(map(str, called))})", [str(c) for c in range(10)]),
        (1, "conv2d_1: channels 0-9, from noise", [f"ch {c}" for c in range(10)]),
        (1, "features: held-out digits and their dreams", ["digit", "dream"] * 5),
    ], min_size=640)
    save_png(picture, os.path.join(IMAGES, "probes-deepdream-lenet-mnist.png"))
    print(f"lenet class dreams are called {called}; features dream activation "
          f"{dreamed.before.round(3).tolist()} -> {dreamed.after.round(3).tolist()}")

    chosen = fooled_examples(lenet, images, labels, 0.1, 3)
    picture, captions = attack_figure(lenet, images[chosen], labels[chosen], 0.1)
    save_png(picture, os.path.join(IMAGES, "probes-fgsm-lenet-mnist.png"))
    append(dict(kind="figure", classifier="lenet-mnist", method="fgsm", epsilon=0.1,
                images=[int(8000 + i) for i in chosen], rows=captions))
    print("FGSM figure:", captions)
    return lenet


def catdog_figures(images, labels):
    import numpy as np

    from kerasgen.metrics import load_extractor
    from kerasgen.probes.adversarial import attack_figure
    from kerasgen.probes.deepdream import dream
    from kerasgen.utils.images import make_strips
    from kerasgen.utils.images import save_png

    catdog = load_extractor("catdog-classifier-64")
    cats = images[labels == 0][:4]
    settings = dict(steps=20, step_size=0.01, octaves=5, octave_scale=1.5, jitter=4,
                    seed=0)
    columns = [catdog.prepare(cats)]
    for layer, channel in (("re_lu_5", None), ("features", None), ("logits", 0)):
        result = dream(catdog, cats, layer=layer, channel=channel, **settings)
        dream_row(catdog, result, layer, channel, settings, "test cats 0-3")
        columns.append(result.images)
        print(f"catdog {layer}: {result.before.round(3).tolist()} -> "
              f"{result.after.round(3).tolist()}; p(dog) "
              f"{catdog.probabilities(result.images)[:, 1].round(3).tolist()}")
    picture = make_strips(np.stack(columns, axis=1), [
        (len(cats), "catdog-classifier-64: test cats dreamed at",
         ["cat", "re_lu_5", "features", "dog logit"])])
    save_png(picture, os.path.join(IMAGES, "probes-deepdream-catdog.png"))

    epsilon = 2 / 255
    chosen = np.concatenate([
        np.flatnonzero(labels == 0)[fooled_examples(
            catdog, images[labels == 0], labels[labels == 0], epsilon, 1)],
        np.flatnonzero(labels == 1)[fooled_examples(
            catdog, images[labels == 1], labels[labels == 1], epsilon, 1)]])
    picture, captions = attack_figure(catdog, images[chosen], labels[chosen], epsilon)
    save_png(picture, os.path.join(IMAGES, "probes-fgsm-catdog.png"))
    append(dict(kind="figure", classifier="catdog-classifier-64", method="fgsm",
                epsilon=epsilon, images=chosen.tolist(), rows=captions))
    print("FGSM figure:", captions)
    return catdog


def main():
    import keras

    from kerasgen.data import load_images

    parts = [a for a in sys.argv[1:] if a in ("lenet", "catdog")] or ["lenet", "catdog"]
    keras.utils.set_random_seed(0)
    start = time.time()
    if "lenet" in parts:
        mnist = load_images(os.path.join(DATA, "mnist"), subset="8000:")
        lenet = lenet_figures(mnist.images, mnist.labels)
        accuracy_tables(lenet, mnist.images, mnist.labels, MNIST_EPSILONS,
                        "MNIST test 8000-9999 (held out)")
        print(f"lenet-mnist done in {time.time() - start:.0f} s", flush=True)
    if "catdog" in parts:
        cat2dog = load_images(os.path.join(DATA, "cat2dog"), image_size=64, split="test")
        catdog = catdog_figures(cat2dog.images, cat2dog.labels)
        accuracy_tables(catdog, cat2dog.images, cat2dog.labels, CATDOG_EPSILONS,
                        "cat2dog testA (cats) + testB (dogs)")
        print(f"done in {time.time() - start:.0f} s", flush=True)


if __name__ == "__main__":
    main()
