"""Sanity of kerasgen's metrics on real digits, and their speed.

Rows (FID and KID on `lenet-mnist`, against a random half, 5,000, of the
10,000 shared MNIST digits, 5,000 images a side unless said):

- the other 5,000 (small: two draws of one distribution);
- MNIST's last 5,000 test digits against its first 5,000 (written by
  other people: LeCun's note calls the first 5,000 cleaner and easier);
- those other 5,000 blurred (Gaussian, sigma 1 pixel);
- 5,000 images of uniform noise;
- the digits of one class only (the 1s among the other 5,000; KID's
  subsets then hold all of them, so its std is 0);
- each `--checkpoint` given (a trained DCGAN, VAE, AC-GAN...): 5,000
  samples (balanced over classes for a conditional model).

`--speed`: the wall time of `kerasgen.metrics.evaluate_samples` with a
10,000-sample FID of a 28x28 DCGAN on `lenet-mnist` (generation, feature
extraction and the Frechet distance), with the real digits' features
cached (the usual case) and without (the first evaluation).

    .venv/bin/python benchmarks/metrics_sanity.py
    .venv/bin/python benchmarks/metrics_sanity.py --checkpoint runs/dcgan-mnist
    .venv/bin/python benchmarks/metrics_sanity.py --speed

Results are appended to `benchmarks/results/metrics_sanity.jsonl`.
"""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent
REPO = BENCHMARKS.parent
MNIST = REPO.parent / "shared" / "datasets" / "mnist"
RESULTS = BENCHMARKS / "results" / "metrics_sanity.jsonl"


def sanity_rows(checkpoints):
    import numpy as np
    from scipy import ndimage

    from kerasgen.data import load_images
    from kerasgen.metrics.evaluate import ImageSamples as Fixed
    from kerasgen.metrics.evaluate import evaluate_samples

    digits = load_images(MNIST)
    # A random half against the other half: MNIST's first 5,000 test digits
    # come from other writers than its last 5,000 (LeCun's note: "cleaner
    # and easier"), so first against last is its own row.
    order = np.random.default_rng(0).permutation(len(digits.images))
    real, other = digits.images[order[:5000]], digits.images[order[5000:]]
    blurred = ndimage.gaussian_filter(other.astype("float32"), sigma=(0, 1, 1, 0))
    noise = np.random.default_rng(0).integers(0, 256, other.shape).astype("uint8")
    ones = other[digits.labels[order[5000:]] == 1]
    cases = [("real digits (the other 5,000)", Fixed(other), 5000),
             ("real digits, last 5,000 against first 5,000 (other writers)",
              Fixed(digits.images[5000:]), 5000),
             ("real digits, blurred (sigma 1)", Fixed(np.clip(blurred, 0, 255).round()
                                                      .astype("uint8")), 5000),
             ("uniform noise", Fixed(noise), 5000),
             (f"one class only (the {len(ones)} 1s)", Fixed(ones), len(ones))]
    for path in checkpoints:
        import keras

        import kerasgen  # noqa: F401 (registers the families)
        from kerasgen.cli.main import resolve_checkpoint

        file = resolve_checkpoint(path)
        model = keras.saving.load_model(file)
        steps = int(keras.ops.convert_to_numpy(model.optimizer.iterations))
        cases.append((f"{type(model).__name__} ({path}, step {steps})", model, 5000))
    rows = []
    for label, sampler, n in cases:
        reference = digits.images[:5000] if "first 5,000" in label else real
        result = evaluate_samples(sampler, reference, ["fid", "kid"], n=n,
                                  extractor="lenet-mnist", data_name="mnist-half")
        values = {r["metric"]: r for r in result["rows"]}
        rows.append({"case": label, "n": n, "fid": values["fid"]["value"],
                     "kid": values["kid"]["value"], "kid_std": values["kid"]["std"]})
        print(f"| {label} | {n} | {rows[-1]['fid']:.2f} | "
              f"{rows[-1]['kid']:.4f} ± {rows[-1]['kid_std']:.4f} |", flush=True)
    return rows


def speed_rows(repeats=3):
    import keras

    import kerasgen
    from kerasgen.data import load_images
    from kerasgen.metrics.evaluate import evaluate_samples

    digits = load_images(MNIST)
    keras.utils.set_random_seed(0)
    model = kerasgen.DCGAN(image_size=28, latent_dim=100)
    rows = []
    for cached in (False, True):
        times = []
        for _ in range(repeats):
            if not cached:
                os.environ["KERASGEN_HOME"] = tempfile.mkdtemp()
            start = time.perf_counter()
            evaluate_samples(model, digits.images, ["fid"], n=10000, extractor="lenet-mnist",
                             data_name="mnist")
            times.append(time.perf_counter() - start)
        rows.append({"case": "FID of 10,000 DCGAN 28x28 samples (lenet-mnist), real "
                             + ("features cached" if cached else "features computed"),
                     "seconds": [round(t, 2) for t in times],
                     "best_seconds": round(min(times), 2)})
        print(f"| {rows[-1]['case']} | {rows[-1]['best_seconds']:.1f} s "
              f"(runs: {rows[-1]['seconds']}) |", flush=True)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", action="append", default=[])
    parser.add_argument("--speed", action="store_true")
    parser.add_argument("--results", default=str(RESULTS))
    opts = parser.parse_args(argv)
    sys.path.insert(0, str(BENCHMARKS))
    import keras

    from dcgan_throughput import machine_info

    if opts.speed:
        kind, rows = "speed", speed_rows()
    else:
        print("| samples against 5,000 MNIST digits | n | FID (lenet-mnist) "
              "| KID (lenet-mnist) |\n| --- | ---: | ---: | ---: |")
        kind, rows = "sanity", sanity_rows(opts.checkpoint)
    record = {"kind": kind, "rows": rows, "backend": keras.backend.backend(),
              "keras": keras.__version__, "machine": machine_info(),
              "date": time.strftime("%Y-%m-%d")}
    Path(opts.results).parent.mkdir(parents=True, exist_ok=True)
    with open(opts.results, "a") as file:
        file.write(json.dumps(record) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
