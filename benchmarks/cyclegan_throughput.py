"""Training throughput of kerasgen's CycleGAN: images/s and wall time per epoch.

What it measures: `kerasgen.CycleGAN` at `--image-size` (default 128, with
the paper's 128x128 configuration: 6 residual blocks, 64 filters in the
generators and discriminators, batch size 1, the image pool and the random
jitter on) trained with `model.fit()` on the backend `--backend` names.
One step = one update of both generators and one of both discriminators on
one batch of A images and one of B images; "images/s" counts A (= B)
images per second, `steps * batch_size / seconds`, and "wall per epoch" is
the time of one epoch as the authors' code counts it,
`max(len(A), len(B))` images (1,000 for the shared cat2dog set).

Method: one warm-up `fit` (tracing/compiling) and one short `fit`, then
`--repeats` timed `fit(a, b, batch_size, steps_per_epoch=--steps)` calls,
each followed by a wait for the device; the median is reported, with the
process CPU time per step. Data: the cat2dog set beside the checkout
(`../shared/datasets/cat2dog`, or `--data DIR` with trainA/ and trainB/),
resized to the image size, else uniform noise (the output says which).

    .venv/bin/python benchmarks/cyclegan_throughput.py                     # TF, 128
    .venv/bin/python benchmarks/cyclegan_throughput.py --backend jax
    .venv/bin/python benchmarks/cyclegan_throughput.py --image-size 64 --steps 20
    .venv/bin/python benchmarks/cyclegan_throughput.py --json results.json

On a GPU machine without TensorFlow, `--backend jax` imports neither
TensorFlow nor tensorflow-datasets.
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

from dcgan_throughput import keras_info
from dcgan_throughput import keras_sync
from dcgan_throughput import machine_info

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "datasets" / "cat2dog"


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=("tensorflow", "jax"), default="tensorflow")
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--filters", type=int, default=64)
    parser.add_argument("--residual-blocks", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--steps", type=int, default=50, help="steps per timed fit")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--json", default=None, help="also write the results here")
    return parser.parse_args(argv)


def load_pairs(opts):
    import numpy as np

    if os.path.isdir(os.path.join(opts.data, "trainA")):
        from kerasgen.data import load_unpaired

        data_a, data_b = load_unpaired(opts.data, image_size=opts.image_size)
        scale = lambda d: d.images.astype("float32") / 127.5 - 1.0
        epoch_images = max(len(data_a), len(data_b))
        return scale(data_a), scale(data_b), epoch_images, opts.data
    rng = np.random.default_rng(0)
    shape = (1000, opts.image_size, opts.image_size, 3)
    noise = lambda: rng.uniform(-1, 1, shape).astype("float32")
    return noise(), noise(), 1000, "uniform noise (no cat2dog set found)"


def main(argv=None):
    opts = parse_args(argv)
    os.environ["KERAS_BACKEND"] = opts.backend
    sys.path.insert(0, str(REPO))
    import keras

    import kerasgen

    images_a, images_b, epoch_images, source = load_pairs(opts)
    n = min(len(images_a), len(images_b))
    steps = min(opts.steps, n // opts.batch_size)
    # fit() converts its arrays on every call: hand it just one fit's worth.
    images_a = images_a[:steps * opts.batch_size]
    images_b = images_b[:steps * opts.batch_size]

    keras.utils.set_random_seed(0)
    model = kerasgen.CycleGAN(
        image_size=opts.image_size, generator_filters=opts.filters,
        discriminator_filters=opts.filters,
        num_residual_blocks=opts.residual_blocks, seed=0,
    )
    model.compile()
    variables = model.generator_ab.trainable_variables

    def timed_fit(num_steps):
        start_wall, start_cpu = time.perf_counter(), time.process_time()
        model.fit(images_a, images_b, batch_size=opts.batch_size,
                  steps_per_epoch=num_steps, epochs=1, shuffle=False, verbose=0)
        keras_sync(variables)
        return time.perf_counter() - start_wall, time.process_time() - start_cpu

    print(f"CycleGAN {opts.image_size}x{opts.image_size}, {opts.residual_blocks} blocks, "
          f"{opts.filters} filters, batch {opts.batch_size}, {opts.backend}; data: {source}",
          flush=True)
    compile_seconds, _ = timed_fit(2)
    timed_fit(min(5, steps))
    walls, cpus = [], []
    before = int(model.optimizer.iterations)
    for _ in range(opts.repeats):
        wall, cpu = timed_fit(steps)
        walls.append(wall)
        cpus.append(cpu)
    assert int(model.optimizer.iterations) - before == steps * opts.repeats
    wall = statistics.median(walls)
    images_per_second = steps * opts.batch_size / wall
    result = {
        "family": "cyclegan",
        "image_size": opts.image_size,
        "residual_blocks": opts.residual_blocks,
        "filters": opts.filters,
        "batch_size": opts.batch_size,
        "steps_per_fit": steps,
        "repeats": opts.repeats,
        "images_per_second": round(images_per_second, 2),
        "ms_per_step": round(1000 * wall / steps, 1),
        "cpu_ms_per_step": round(1000 * statistics.median(cpus) / steps, 1),
        "epoch_images": epoch_images,
        "wall_per_epoch_s": round(epoch_images / images_per_second, 1),
        "first_fit_s": round(compile_seconds, 1),
        "data": source,
        "machine": machine_info(),
        **keras_info(),
    }
    print(json.dumps(result, indent=2))
    if opts.json:
        Path(opts.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
