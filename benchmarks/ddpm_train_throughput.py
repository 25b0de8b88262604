"""DDPM training throughput per precision: train steps per second of the
ddpm-mnist U-Net and of a CelebA 64x64 one (the DDPM paper's layout at
half its width) in float32 and under Keras mixed precision, on the backend
and device this runs on.

    python benchmarks/ddpm_train_throughput.py                       # both, every precision
    KERAS_BACKEND=jax python benchmarks/ddpm_train_throughput.py --configs celeba64 \\
        --precisions float32,mixed_bfloat16 --steps 200

Each measurement builds the model under the policy (`kerasgen train
--precision` does the same), trains `--warmup` steps (compiling the step),
then times `--steps` more on random images in [-1, 1] (a DDPM's step costs
the same whatever the pixels), and appends a JSON line to
benchmarks/results/ddpm_train_throughput.jsonl with the device it ran on.
"""

import argparse
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from parity_common import append_result  # noqa: E402  (benchmarks/ is on the path)
RESULTS = os.path.join(ROOT, "benchmarks", "results", "ddpm_train_throughput.jsonl")

CONFIGS = {
    # The ddpm-mnist preset's network.
    "mnist": dict(model=dict(image_size=28, channels=1, num_classes=10, filters=32,
                             multipliers=(1, 2, 2), blocks_per_level=1,
                             attention_levels=(2,), dropout=0.0), batch=128),
    # Ho et al.'s CelebA-HQ/CIFAR layout (multipliers 1, 2, 2, 2, two blocks
    # per level, attention at 16x16) with 64 filters instead of 128.
    "celeba64": dict(model=dict(image_size=64, channels=3, filters=64,
                                multipliers=(1, 2, 2, 2), blocks_per_level=2,
                                attention_levels=(2,), dropout=0.1), batch=64),
}


def measure(name, precision, steps, warmup, batch=None):
    """Steps per second of config `name` under the dtype policy `precision`."""
    import keras
    import numpy as np

    from kerasgen.models.diffusion import DDPM

    config = CONFIGS[name]
    batch = batch or config["batch"]
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)
    try:
        model = DDPM(**config["model"])
        model.compile()
        spec = config["model"]
        rng = np.random.default_rng(0)
        size = batch * (warmup + steps)
        images = rng.uniform(-1, 1, (size, spec["image_size"], spec["image_size"],
                                     spec["channels"])).astype("float32")
        labels = rng.integers(0, spec.get("num_classes") or 1, size).astype("int32")
        data = (images, labels) if spec.get("num_classes") else (images,)
        began = time.perf_counter()
        model.fit(*(a[:batch * warmup] for a in data), batch_size=batch, epochs=1,
                  verbose=0, shuffle=False)
        compile_seconds = time.perf_counter() - began
        began = time.perf_counter()
        history = model.fit(*(a[batch * warmup:] for a in data), batch_size=batch,
                            epochs=1, verbose=0, shuffle=False)
        seconds = time.perf_counter() - began
        loss = float(history.history["loss"][-1])
        parameters = int(sum(np.prod(v.shape) for v in model.trainable_weights))
    finally:
        keras.config.set_dtype_policy(previous)
    return dict(steps_per_second=round(steps / seconds, 2),
                images_per_second=round(steps * batch / seconds, 1),
                seconds=round(seconds, 2), first_steps_seconds=round(compile_seconds, 2),
                loss=round(loss, 4), trainable_parameters=parameters, batch=batch)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", default="mnist,celeba64",
                        help=f"comma-separated, of {', '.join(CONFIGS)} (default: %(default)s)")
    parser.add_argument("--precisions", default="float32,mixed_bfloat16,mixed_float16")
    parser.add_argument("--steps", type=int, default=100, help="timed steps")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps first")
    parser.add_argument("--batch", type=int, default=None,
                        help="images per step (default: the config's)")
    args = parser.parse_args()

    import keras

    from kerasgen.utils.machine import machine_info

    for name in args.configs.split(","):
        if name not in CONFIGS:
            parser.error(f"unknown config {name!r}; choose from {', '.join(CONFIGS)}")
        for precision in args.precisions.split(","):
            row = dict(config=name, precision=precision, backend=keras.backend.backend(),
                       **measure(name, precision, args.steps, args.warmup, args.batch),
                       machine=machine_info())
            append_result(RESULTS, row)


if __name__ == "__main__":
    main()
