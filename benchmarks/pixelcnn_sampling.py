"""PixelCNN sampling: the textbook loop (`sample_naive`: one full forward
pass per sub-pixel, from Python) against kerasgen's (`sample`: one compiled
loop that runs the network on the rows a sub-pixel depends on, and for the
gated network its vertical stack once per row, its horizontal stack on one
row), for 64 digits, in seconds and images per second.

    python benchmarks/pixelcnn_sampling.py                   # the preset
    python benchmarks/pixelcnn_sampling.py runs/zoo/pixelcnn-mnist
    KERAS_BACKEND=jax python benchmarks/pixelcnn_sampling.py --variant plain

With `--variant`, an untrained model of the preset's size (the timing does
not depend on the weights). Each sampler runs once to compile, then is
timed over `--repeats` runs; both must give the same images. Writes a row
to benchmarks/results/pixelcnn_sampling.jsonl.
"""

import argparse
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def timed(function, repeats):
    function()  # compiles
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        images = function()
        seconds.append(time.perf_counter() - start)
    return min(seconds), images


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", default="pixelcnn-mnist")
    parser.add_argument("--variant", choices=("gated", "plain"), default=None,
                        help="An untrained model of the preset's size instead.")
    parser.add_argument("--n", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    import keras
    import numpy as np

    import kerasgen
    from kerasgen.cli.main import load_source, resolve_source
    from kerasgen.utils.machine import machine_info

    if args.variant:
        model = kerasgen.PixelCNN(image_size=28, distribution="logistic_mixture", filters=32,
                                  depth=6, head_filters=64, variant=args.variant)
        source = f"untrained {args.variant}, pixelcnn-mnist's size"
    else:
        model = load_source(resolve_source(args.source))
        source = args.source
    fast, fast_images = timed(lambda: model.sample(args.n, seed=0), args.repeats)
    naive, naive_images = timed(lambda: model.sample_naive(args.n, seed=0), args.repeats)
    row = {
        "source": source, "variant": model.variant, "backend": keras.backend.backend(),
        "n": args.n, "image_size": model.image_size, "receptive_rows": model.receptive_rows,
        "naive_seconds": round(naive, 2), "kerasgen_seconds": round(fast, 2),
        "naive_images_per_second": round(args.n / naive, 2),
        "kerasgen_images_per_second": round(args.n / fast, 2),
        "speedup": round(naive / fast, 2),
        "same_images": bool(np.array_equal(fast_images, naive_images)),
        "machine": machine_info(),
    }
    print(json.dumps(row))
    with open(os.path.join(ROOT, "benchmarks", "results", "pixelcnn_sampling.jsonl"), "a") as f:
        f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
