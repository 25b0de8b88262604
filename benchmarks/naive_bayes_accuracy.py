"""Naive Bayes as a classifier, the by-product of the generative model:
the accuracy of the `naive-bayes-mnist` preset (or a run folder) on the
2,000 held-out MNIST digits, next to the figure in the literature (about
84% on binarized MNIST, Murphy 2012, section 3.5.1.2).

    python benchmarks/naive_bayes_accuracy.py            # the preset
    python benchmarks/naive_bayes_accuracy.py runs/zoo/naive-bayes-mnist

Writes a row to benchmarks/results/naive_bayes_accuracy.jsonl and prints
the markdown used in the preset's card (benchmarks/zoo_notes/).
"""

import argparse
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", default="naive-bayes-mnist")
    parser.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "datasets", "mnist"))
    args = parser.parse_args()

    from kerasgen.cli.main import load_source, resolve_source
    from kerasgen.data import load_images
    from kerasgen.utils.machine import machine_info

    model = load_source(resolve_source(args.source))
    rows = {}
    for split, subset in (("train", "0:8000"), ("held-out", "8000:")):
        data = load_images(args.data, subset=subset)
        images = data.images.astype("float32") / 127.5 - 1.0
        start = time.time()
        rows[split] = {"accuracy": model.accuracy(images, data.labels),
                       "images": len(images), "seconds": round(time.time() - start, 2)}
    row = {"benchmark": "naive_bayes_accuracy", "source": args.source,
           "likelihood": model.likelihood, "threshold": model.threshold,
           "smoothing": model.smoothing, **{f"{k}_accuracy": v["accuracy"] for k, v in rows.items()},
           "published": 0.84, "machine": machine_info()}
    out = os.path.join(ROOT, "benchmarks", "results", "naive_bayes_accuracy.jsonl")
    with open(out, "a") as file:
        file.write(json.dumps(row) + "\n")
    print(f"Naive Bayes as a classifier ({model.likelihood} pixels, binarized at "
          f"{model.threshold}, Laplace smoothing {model.smoothing}): "
          f"{rows['held-out']['accuracy']:.1%} of the 2,000 held-out digits right "
          f"({rows['train']['accuracy']:.1%} of the 8,000 it counted), against about 84% "
          "on binarized MNIST in Murphy 2012, section 3.5.1.2 (trained on the 60,000 "
          "training digits).")


if __name__ == "__main__":
    main()
