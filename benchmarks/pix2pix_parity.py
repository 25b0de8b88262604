"""pix2pix parity: kerasgen against a plain PyTorch reference of the
authors' recipe on facades, at equal budget: L1 and SSIM to the test photos.

What it measures, per run: pix2pix trained on the shared facades set
(400 training pairs, label map -> photo, `direction="b2a"`) at
`--image-size` 128 with 32-filter networks, batch 1, for `--steps` steps
(learning rate constant for the first half, then linearly to 0), then
translates the 106 test label maps and compares with the real photos:

- **L1**: mean |G(x) - y| in [-1, 1] units (the paper's L1 term);
- **SSIM**: `tf.image.ssim` on [0, 1] images (11x11 Gaussian window,
  sigma 1.5, the standard constants), averaged over the test set;
- **grid peaks**: how much the translations' spectrum peaks at the
  frequencies of an 8-pixel grid (periods 8, 4 and 2, where the artifacts
  of stride-2 layers live), against the neighbouring frequencies: about 1
  without a grid (the real photos' value is printed beside it);
- **ms per step** from step 20 on.

`--impl reference` trains `benchmarks/reference/pix2pix_torch.py`
(PyTorch, BatchNorm as the authors' default, translated as their test.py
does without `--eval`); `--impl kerasgen` trains `kerasgen.Pix2Pix` with
`fit()`. `--set key=value` changes a kerasgen constructor argument.
Results append to `benchmarks/results/pix2pix_parity.jsonl`; `--table`
prints them.

    .venv/bin/python benchmarks/pix2pix_parity.py --impl reference
    .venv/bin/python benchmarks/pix2pix_parity.py --impl kerasgen
    .venv/bin/python benchmarks/pix2pix_parity.py --table
"""

import argparse
import os
import sys
from pathlib import Path

from parity_common import add_run_arguments
from parity_common import keras_progress
from parity_common import parse_settings
from parity_common import print_progress
from parity_common import print_step_times
from parity_common import read_results
from parity_common import run_and_record
from parity_common import used_config

BENCHMARKS = Path(__file__).resolve().parent
REPO = BENCHMARKS.parent
DEFAULT_DATA = REPO.parent / "shared" / "datasets" / "facades"
DEFAULT_RESULTS = BENCHMARKS / "results" / "pix2pix_parity.jsonl"


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_run_arguments(parser, steps=2000, image_size=128, filters=32,
                      data=DEFAULT_DATA, results=DEFAULT_RESULTS)
    parser.add_argument("--direction", default="b2a")
    parser.add_argument("--grid", default=None, help="write test translations here (PNG)")
    return parser.parse_args(argv)


def load(opts, split, image_size):
    from kerasgen.data import load_paired

    return load_paired(opts.data, image_size=image_size, split=split,
                       direction=opts.direction)


def train_reference(opts, timer):
    import random

    import torch

    sys.path.insert(0, str(BENCHMARKS / "reference"))
    import pix2pix_torch

    torch.set_num_threads(os.cpu_count())
    inputs, targets = load(opts, "train", pix2pix_torch.load_size_for(opts.image_size))
    data = pix2pix_torch.AlignedPairs(inputs.images, targets.images, opts.image_size,
                                      random.Random(opts.seed + 1000))
    model = pix2pix_torch.Pix2Pix(opts.image_size, generator_filters=opts.filters,
                                  discriminator_filters=opts.filters,
                                  total_steps=opts.steps, seed=opts.seed)
    for step in range(1, opts.steps + 1):
        logs = model.train_step(*data.batch())
        timer.step_done(step)
        print_progress(step, logs)
    return model.translate, dict(torch=torch.__version__)


def train_kerasgen(opts, timer):
    import keras

    import kerasgen
    from kerasgen.data import make_pair_batches

    keras.utils.set_random_seed(opts.seed)
    config = dict(image_size=opts.image_size, generator_filters=opts.filters,
                  discriminator_filters=opts.filters, direction=opts.direction,
                  seed=opts.seed, **parse_settings(opts.set))
    model = kerasgen.Pix2Pix(**config)
    model.plan_run(opts.steps)
    model.compile()
    inputs, targets = load(opts, "train", opts.image_size)
    model.fit(make_pair_batches(inputs, targets, 1, paired=True, seed=opts.seed),
              steps_per_epoch=opts.steps, epochs=1, shuffle=False, verbose=0,
              callbacks=[keras_progress(timer)])
    return model.translate, used_config(model)


def grid_peaks(images, period=8):
    """How far the translations' spectrum peaks on the lattice of a
    `period`-pixel grid (the artifacts of stride-2 layers: a U-Net's or a
    PatchGAN's three innermost strides give periods 2, 4 and 8).

    The luminance power spectrum is averaged over the images; at each
    lattice frequency (multiples of size/period on both axes, the zero
    frequency left out) its power is divided by the mean of its 8
    neighbouring frequencies. The result is the mean of those ratios:
    about 1 for images without a grid, well above 1 with one.
    """
    import numpy as np

    gray = images.mean(axis=-1)
    gray = gray - gray.mean(axis=(1, 2), keepdims=True)
    power = np.mean(np.abs(np.fft.fft2(gray)) ** 2, axis=0)
    neighbours = sum(np.roll(power, (dy, dx), (0, 1))
                     for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0)) / 8
    h, w = power.shape
    ratios = [power[y, x] / neighbours[y, x]
              for y in range(0, h, h // period) for x in range(0, w, w // period)
              if (y, x) != (0, 0)]
    return float(np.mean(ratios))


def score(translate, opts):
    import numpy as np
    import tensorflow as tf

    inputs, targets = load(opts, "test", opts.image_size)
    x = inputs.images.astype("float32") / 127.5 - 1.0
    y = targets.images.astype("float32") / 127.5 - 1.0
    out = np.clip(translate(x), -1, 1)
    ssim = tf.image.ssim(tf.constant((out + 1) / 2), tf.constant((y + 1) / 2), max_val=1.0)
    if opts.grid:
        from kerasgen.utils.images import save_grid

        rows = np.stack([x[:6], out[:6], y[:6]], 1).reshape((-1,) + x.shape[1:])
        save_grid(rows, opts.grid, nrow=3)
    return {
        "test_pairs": int(len(x)),
        "l1": round(float(np.mean(np.abs(out - y))), 4),
        "ssim": round(float(np.mean(ssim.numpy())), 4),
        "grid_peaks": round(grid_peaks(out), 2),
        "grid_peaks_real_photos": round(grid_peaks(y), 2),
    }


def print_table(path):
    rows = read_results(path)
    print("| run | backend | seed | steps | L1 to test photos | SSIM | grid peaks "
          "(real photos) | ms per step |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['label']} | {r['backend']} | {r['seed']} | {r['steps']} | "
              f"{r['l1']:.3f} | {r['ssim']:.3f} | "
              f"{r['grid_peaks']:.2f} ({r['grid_peaks_real_photos']:.2f}) | "
              f"{r['ms_per_step']:.0f} |")


def main(argv=None):
    opts = parse_args(argv)
    if opts.table:
        print_table(opts.results)
        print_step_times(opts.results)
        return 0
    run_and_record(opts, train_kerasgen, train_reference, score, REPO)
    return 0


if __name__ == "__main__":
    sys.exit(main())
