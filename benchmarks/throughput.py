"""Training throughput per backend, strategy and precision, as JSON.

What it measures: images/s of `model.fit()` for each model in `--models`
(DCGAN at MNIST's shapes, the dcgan-mnist preset's configuration, batch 64;
CycleGAN at 128x128 with the paper's 128 configuration, 6 residual blocks,
64 filters, batch 1 per replica), for every combination of `--backends`,
`--strategies` (kerasgen's `--strategy` names; `mirrored` splits the CPU
into `--cpu-devices` logical devices where there is no accelerator),
`--precisions` (Keras dtype policies) and, on TensorFlow, `--xla` (off, on).
A step is one update of every network (DCGAN: D then G on one batch;
CycleGAN: both generators, then both discriminators), so images/s is
`steps * global batch / seconds`; "seconds per 1,000 images" is the wall
time of one epoch of a 1,000-image set (cat2dog's trainA).

Method: one Python process per (backend, strategy), since the backend and
the device split are fixed when a process starts; inside it, each model and
precision is built and compiled in the strategy's scope, warmed up with one
`fit()` (tracing/compiling), then `--repeats` timed `fit()` calls of
`--steps` steps; the median is reported, with the process CPU time per step.
Data: uniform noise of the right shapes (the throughput does not depend on
the pixels).

`--small` is the configuration CI runs (tests/test_distribute.py): tiny
networks, 2 steps, one repeat; its numbers only show that every
combination trains.

    .venv/bin/python benchmarks/throughput.py --json benchmarks/results/throughput.json
    .venv/bin/python benchmarks/throughput.py --models dcgan-mnist --backends jax \\
        --strategies one-device,mirrored --precisions float32,mixed_bfloat16
    .venv/bin/python benchmarks/throughput.py --small --json /tmp/small.json

On a GPU machine without TensorFlow, `--backends jax` imports neither
TensorFlow nor tensorflow-datasets.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

MODELS = {
    # Constructor arguments and the global batch per replica.
    "dcgan-mnist": dict(family="DCGAN", batch=64, config=dict(
        image_size=28, channels=1, latent_dim=100, generator_filters=64,
        discriminator_filters=64, seed=0)),
    "cyclegan-128": dict(family="CycleGAN", batch=1, config=dict(
        image_size=128, channels=3, generator_filters=64, discriminator_filters=64,
        num_residual_blocks=6, seed=0)),
}
SMALL = {
    "dcgan-mnist": dict(image_size=8, latent_dim=4, generator_filters=4,
                        discriminator_filters=4),
    "cyclegan-128": dict(image_size=16, generator_filters=4, discriminator_filters=4,
                         num_residual_blocks=1, discriminator_layers=2),
}
EPOCH_IMAGES = 1000


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="dcgan-mnist,cyclegan-128")
    parser.add_argument("--backends", default="tensorflow,jax")
    parser.add_argument("--strategies", default="one-device,mirrored")
    parser.add_argument("--precisions", default="float32,mixed_bfloat16")
    parser.add_argument("--xla", default="off,on",
                        help="TensorFlow only (JAX always compiles with XLA)")
    parser.add_argument("--cpu-devices", type=int, default=2,
                        help="logical CPU devices for `mirrored` without accelerators")
    parser.add_argument("--steps", type=int, default=None,
                        help="steps per timed fit (default: 20 DCGAN, 5 CycleGAN)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--small", action="store_true",
                        help="tiny networks, 2 steps, 1 repeat (CI)")
    parser.add_argument("--json", default=None, help="write the results here")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def split(text):
    return [part for part in text.split(",") if part]


# --- One process: a backend and a strategy --------------------------------------


def worker(opts):
    backend, strategy = opts.worker.split(":")
    os.environ["KERAS_BACKEND"] = backend
    sys.path.insert(0, str(REPO))
    sys.path.insert(0, str(REPO / "benchmarks"))
    import keras
    import numpy as np

    from kerasgen.training import distribute
    from kerasgen.utils.compiled import xla_failure_reason

    # Only the CPU platform is split: on an accelerator (TF's GPUs, JAX's
    # default backend) `mirrored` uses the accelerators. (Asking JAX which
    # backend it has would start it, after which the CPU cannot be split.)
    if strategy == "mirrored" and opts.cpu_devices > 1 and (
            backend == "jax" or not _has_accelerators(backend)):
        distribute.cpu_devices(opts.cpu_devices)
    distribution = distribute.make_distribution(strategy)
    import kerasgen
    from dcgan_throughput import keras_info

    rows = []
    with distribution.run_scope():
        for name in split(opts.models):
            spec = MODELS[name]
            config = dict(spec["config"], **(SMALL[name] if opts.small else {}))
            batch = spec["batch"] * max(distribution.num_replicas, 1)
            steps = 2 if opts.small else (opts.steps or (20 if name.startswith("dcgan") else 5))
            repeats = 1 if opts.small else opts.repeats
            for precision in split(opts.precisions):
                for xla in (split(opts.xla) if backend == "tensorflow" else ["on"]):
                    if xla == "on" and backend == "tensorflow" and distribution.num_replicas > 1:
                        # kerasgen train refuses it: XLA-compiled replicas
                        # reach across devices (see distribute.XLA_WITH_REPLICAS).
                        continue
                    keras.config.set_dtype_policy(precision)
                    keras.utils.set_random_seed(0)
                    with distribution.scope():
                        model = getattr(kerasgen, spec["family"])(**config)
                        model.compile(jit_compile=(xla == "on") if backend == "tensorflow"
                                      else "auto")
                    size, channels = config["image_size"], config.get("channels", 3)
                    shape = (batch * steps, size, size, channels)
                    rng = np.random.default_rng(0)
                    arrays = [rng.uniform(-1, 1, shape).astype("float32")
                              for _ in range(2 if spec["family"] == "CycleGAN" else 1)]

                    def fit():
                        model.fit(*arrays, batch_size=batch, epochs=1,
                                  steps_per_epoch=steps, shuffle=False, verbose=0)
                        keras.ops.convert_to_numpy(model.optimizer.iterations)

                    try:
                        fit()  # trace / compile
                    except Exception as error:  # noqa: BLE001 (recorded, not hidden)
                        # e.g. TF's XLA cannot compile CycleGAN's bicubic jitter.
                        rows.append({"model": name, "backend": backend,
                                     "strategy": distribution.name, "precision": precision,
                                     "xla": xla == "on",
                                     "failed": xla_failure_reason(error)})
                        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
                        keras.config.set_dtype_policy("float32")
                        continue
                    walls, cpus = [], []
                    for _ in range(repeats):
                        cpu0, wall0 = _cpu_seconds(), time.perf_counter()
                        fit()
                        walls.append(time.perf_counter() - wall0)
                        cpus.append(_cpu_seconds() - cpu0)
                    wall = statistics.median(walls)
                    rows.append({
                        "model": name, "backend": backend, "strategy": distribution.name,
                        "replicas": distribution.num_replicas,
                        "devices": distribution.devices, "precision": precision,
                        "xla": xla == "on", "global_batch": batch, "steps": steps,
                        "repeats": repeats, "small": opts.small,
                        "seconds_per_step": wall / steps,
                        "images_per_second": steps * batch / wall,
                        "seconds_per_1000_images": EPOCH_IMAGES * wall / (steps * batch),
                        "cpu_seconds_per_step": statistics.median(cpus) / steps,
                        "config": config,
                    })
                    print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
                    keras.config.set_dtype_policy("float32")
    print(json.dumps({"rows": rows, "keras": keras_info()}))


def _has_accelerators(backend):
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU") or
                tf.config.list_physical_devices("TPU"))


def _cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- The driver ---------------------------------------------------------------------


def main(argv=None):
    opts = parse_args(argv)
    if opts.worker:
        worker(opts)
        return 0
    sys.path.insert(0, str(REPO))
    from kerasgen.utils.machine import machine_info

    forwarded = [a for a in (argv if argv is not None else sys.argv[1:])
                 if not a.startswith("--json")]
    if "--json" in forwarded:
        forwarded = forwarded[:forwarded.index("--json")]
    results = {"machine": machine_info(), "runs": [], "failed": []}
    for backend in split(opts.backends):
        for strategy in split(opts.strategies):
            env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2")
            args = [sys.executable, __file__, "--worker", f"{backend}:{strategy}",
                    "--models", opts.models, "--precisions", opts.precisions,
                    "--xla", opts.xla, "--cpu-devices", str(opts.cpu_devices),
                    "--repeats", str(opts.repeats)]
            args += ["--steps", str(opts.steps)] if opts.steps else []
            args += ["--small"] if opts.small else []
            out = subprocess.run(args, env=env, capture_output=True, text=True)
            if out.returncode != 0:
                results["failed"].append({"backend": backend, "strategy": strategy,
                                          "error": out.stderr.strip().splitlines()[-1:]})
                print(f"{backend} {strategy}: FAILED {out.stderr[-500:]}", file=sys.stderr)
                continue
            report = json.loads(out.stdout.strip().splitlines()[-1])
            results["runs"].extend(report["rows"])
            results.setdefault("versions", {})[backend] = report["keras"]
            for row in report["rows"]:
                if "failed" in row:
                    print(f"{row['model']:13s} {backend:10s} {row['strategy']:10s} "
                          f"{row['precision']:15s} xla={'on ' if row['xla'] else 'off'} "
                          f"FAILED {row['failed']}")
                    continue
                print(f"{row['model']:13s} {backend:10s} {row['strategy']:10s} "
                      f"x{row['replicas']} {row['precision']:15s} "
                      f"xla={'on ' if row['xla'] else 'off'} "
                      f"{row['images_per_second']:10.2f} images/s  "
                      f"{row['seconds_per_step']:.3f} s/step  "
                      f"{row['seconds_per_1000_images']:.1f} s per 1,000 images")
    if opts.json:
        Path(opts.json).parent.mkdir(parents=True, exist_ok=True)
        with open(opts.json, "w") as f:
            json.dump(results, f, indent=1)
            f.write("\n")
    return 1 if results["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
