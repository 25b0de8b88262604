"""One CycleGAN training step on this CPU: kerasgen (TensorFlow, JAX) next
to a plain PyTorch CycleGAN of the same architecture, knob by knob.

What it times: one training step of the paper's 128x128 configuration
(batch 1, 6 residual blocks, 64 filters in the generators and the
discriminators, the image pool of 50 on, random jitter on): both
generators' update, then both discriminators' update, on one A and one B
image.

- PyTorch: `benchmarks/reference/cyclegan_torch.py` (the authors' recipe,
  written plainly: eager modules, one Adam for the generators and one for
  the discriminators), `torch.set_num_threads(<cores>)`. A step is the
  numpy jitter of one A and one B image (crop from 286/256 of the size and
  flip; the images are resized once up front, as the authors' loader
  would) plus `CycleGAN.train_step`. Variants: `torch` (NCHW, eager),
  `torch_channels_last` (networks and inputs in `channels_last`),
  `torch_compile` (each of the four networks `torch.compile`d, inductor
  on the CPU), `torch_compile_channels_last` (both), `torch_ftz`
  (`torch.set_flush_denormal(True)`, as TensorFlow's CPU threads flush
  denormals), `torch_omp_passive` (`OMP_WAIT_POLICY=PASSIVE`: OpenMP
  threads sleep instead of spinning while they wait).
- kerasgen: `kerasgen.CycleGAN(image_size=128, generator_filters=64,
  discriminator_filters=64, num_residual_blocks=6)` trained with `fit()`;
  a step is one batch of `fit` (its jitter runs inside the step: a bicubic
  resize to 143x143, a random crop and flip). Variants: `tf` (the default:
  `compile()`, a plain `tf.function`, oneDNN on as TF 2.21 ships it),
  `tf_onednn_off` (`TF_ENABLE_ONEDNN_OPTS=0`), `tf_xla`
  (`compile(jit_compile=True)`), `tf_no_jitter` and `tf_xla_no_jitter`
  (`jitter=False`: XLA has no kernel for the jitter's bicubic resize, so
  `tf_xla` fails with it on; these two compare XLA without it),
  `tf_threads_2_1` / `tf_threads_1_2`
  (`tf.config.threading` intra-op / inter-op threads), `tf_recomputed`
  (the step as it was before the authors' hand-off: the discriminators
  judge translations recomputed by the updated generators, two more
  generator passes, and Keras's `"same"` stride-2 padding), `jax` (the JAX
  backend, jitted as always there).

Method: every variant runs in its own Python process (environment variables
such as `KERAS_BACKEND` and `TF_ENABLE_ONEDNN_OPTS` are set before anything
is imported), one at a time. Each runs `--warmup` steps (tracing,
compiling, first-touch allocations) that are not timed, then `--steps`
timed steps; the wall time of each step ends when its results are on the
host (the step's losses read back), and its process CPU time (all threads)
is recorded with it. Reported per run: the median step's seconds, images/s (1 /
seconds at batch 1), days for 200 epochs of 1,000 images (the cat2dog set
CycleGAN trains on here), the median CPU seconds per step, and the load
average before the run. On a shared machine wall time wobbles with what
else runs; CPU time per step tells "more work" from "fewer cycles got". So
that the comparison is fair under such load, the default order runs the two
baselines (`torch`, `tf`) first, in the middle and last; compare a variant
with the baseline runs next to it. `--summarize` prints a table of all
recorded runs, pooling per variant only the quiet ones (`quiet`: steps
within 10% of each other and the process on both cores).

Data: uniform noise in [-1, 1] (the speed of a step does not depend on the
pixels), the same shapes for both sides.

Each result is appended as one JSON line to
`benchmarks/results/cyclegan_cpu_speed.jsonl` (`--out`), with the machine
(`dcgan_throughput.machine_info`) and the versions.

    .venv/bin/python benchmarks/cyclegan_cpu_speed.py                 # all, default order
    .venv/bin/python benchmarks/cyclegan_cpu_speed.py --variants tf,tf_threads_1_2,tf
    .venv/bin/python benchmarks/cyclegan_cpu_speed.py --variants torch --steps 5
    .venv/bin/python benchmarks/cyclegan_cpu_speed.py --image-size 64 --out /tmp/x.jsonl
    .venv/bin/python benchmarks/cyclegan_cpu_speed.py --summarize      # the table

PyTorch is optional (`pip install -e ".[reference]"`); without it the torch
variants are recorded as skipped.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
DEFAULT_OUT = HERE / "results" / "cyclegan_cpu_speed.jsonl"
EPOCH_IMAGES = 1000
EPOCHS = 200

#: Variant name -> (implementation, environment, options).
VARIANTS = {
    "torch": ("torch", {}, {}),
    "torch_channels_last": ("torch", {}, {"channels_last": True}),
    "torch_compile": ("torch", {}, {"compile": True}),
    "torch_ftz": ("torch", {}, {"flush_denormal": True}),
    # OpenMP threads that sleep instead of spinning while they wait: on a
    # CPU another process shares, spinning threads steal its cycles.
    "torch_omp_passive": ("torch", {"OMP_WAIT_POLICY": "PASSIVE"}, {}),
    "torch_channels_last_ftz": ("torch", {}, {"channels_last": True,
                                              "flush_denormal": True}),
    "torch_compile_channels_last": ("torch", {}, {"compile": True, "channels_last": True}),
    "tf": ("kerasgen", {"KERAS_BACKEND": "tensorflow"}, {}),
    "tf_onednn_off": ("kerasgen", {"KERAS_BACKEND": "tensorflow",
                                   "TF_ENABLE_ONEDNN_OPTS": "0"}, {}),
    # XLA has no kernel for the bicubic resize of the jitter (ResizeBicubic):
    # compared with the jitter off, on both sides of the comparison.
    "tf_xla": ("kerasgen", {"KERAS_BACKEND": "tensorflow"}, {"jit_compile": True}),
    "tf_xla_no_jitter": ("kerasgen", {"KERAS_BACKEND": "tensorflow"},
                         {"jit_compile": True, "jitter": False}),
    "tf_no_jitter": ("kerasgen", {"KERAS_BACKEND": "tensorflow"}, {"jitter": False}),
    "tf_threads_2_1": ("kerasgen", {"KERAS_BACKEND": "tensorflow"},
                       {"intra_op": 2, "inter_op": 1}),
    "tf_threads_1_2": ("kerasgen", {"KERAS_BACKEND": "tensorflow"},
                       {"intra_op": 1, "inter_op": 2}),
    "jax": ("kerasgen", {"KERAS_BACKEND": "jax"}, {}),
    # The step before issue 18 (the README's earlier 4.1 s): discriminators on
    # translations recomputed by the updated generators (two more generator
    # passes per step) and Keras's "same" padding of the stride-2 layers.
    "tf_recomputed": ("kerasgen", {"KERAS_BACKEND": "tensorflow"},
                      {"discriminator_fakes": "recomputed", "strided_padding": "same"}),
}
DEFAULT_ORDER = ("torch,tf,torch_channels_last,torch_ftz,torch_omp_passive,tf_onednn_off,"
                 "tf_no_jitter,tf_xla_no_jitter,torch,tf,tf_threads_2_1,tf_threads_1_2,"
                 "tf_recomputed,jax,torch_compile,torch_compile_channels_last,torch,tf")


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--variants", default=DEFAULT_ORDER,
                        help=f"comma-separated, run in this order; from {sorted(VARIANTS)}")
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--filters", type=int, default=64)
    parser.add_argument("--residual-blocks", type=int, default=6)
    parser.add_argument("--warmup", type=int, default=4, help="untimed steps first")
    parser.add_argument("--steps", type=int, default=5, help="timed steps")
    parser.add_argument("--timeout", type=float, default=1800,
                        help="seconds a variant may take in all")
    parser.add_argument("--out", default=str(DEFAULT_OUT))
    parser.add_argument("--note", default="", help="recorded with each result")
    parser.add_argument("--summarize", action="store_true",
                        help="print a table of the results in --out and exit")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# --- Workers ----------------------------------------------------------------------


def summarize(walls, cpus):
    wall = statistics.median(walls)
    return {
        "seconds_per_step": round(wall, 3),
        "images_per_second": round(1.0 / wall, 3),
        # The fastest step: on a shared CPU, the closest to an idle machine.
        "min_seconds_per_step": round(min(walls), 3),
        "days_200_epochs": round(EPOCHS * EPOCH_IMAGES * wall / 86400, 2),
        "cpu_seconds_per_step": round(statistics.median(cpus), 3),
        "step_seconds": [round(w, 3) for w in walls],
        "step_cpu_seconds": [round(c, 3) for c in cpus],
    }


def run_torch(opts, options):
    import random

    import numpy as np
    import torch

    sys.path.insert(0, str(HERE / "reference"))
    import cyclegan_torch as ref

    torch.set_num_threads(os.cpu_count())
    if options.get("flush_denormal"):
        # Denormal floats flushed to zero, as TensorFlow's CPU threads do.
        assert torch.set_flush_denormal(True)
    model = ref.CycleGAN(generator_filters=opts.filters, discriminator_filters=opts.filters,
                         num_blocks=opts.residual_blocks, total_steps=1000, seed=0)
    networks = ("g_ab", "g_ba", "d_a", "d_b")
    if options.get("channels_last"):
        for name in networks:
            getattr(model, name).to(memory_format=torch.channels_last)
        to_torch = ref._to_torch

        def channels_last_input(images):
            return to_torch(images).contiguous(memory_format=torch.channels_last)

        ref._to_torch = channels_last_input
    if options.get("compile"):
        for name in networks:
            setattr(model, name, torch.compile(getattr(model, name)))

    # The reference's loader without files: images already at the load size.
    data = ref.UnalignedImages.__new__(ref.UnalignedImages)
    data.crop_size = opts.image_size
    data.load_size = ref.load_size_for(opts.image_size)
    data.rng = random.Random(0)
    rng = np.random.default_rng(0)
    shape = (16, data.load_size, data.load_size, 3)
    data.a = rng.integers(0, 256, shape, dtype=np.uint8)
    data.b = rng.integers(0, 256, shape, dtype=np.uint8)
    data._order = []

    def step():
        losses = model.train_step(*data.batch())  # .item()/float(): on the host
        assert all(np.isfinite(v) for v in losses.values())

    walls, cpus = [], []
    start = time.perf_counter()
    for _ in range(opts.warmup):
        step()
    warmup_s = time.perf_counter() - start
    for _ in range(opts.steps):
        wall, cpu = time.perf_counter(), time.process_time()
        step()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    info = {"torch": torch.__version__,
            "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY"),
            "torch_threads": torch.get_num_threads(),
            "mkldnn": torch.backends.mkldnn.is_available()}
    return walls, cpus, warmup_s, info


def run_kerasgen(opts, options):
    import numpy as np

    if os.environ["KERAS_BACKEND"] == "tensorflow":
        import tensorflow as tf

        if "intra_op" in options:
            tf.config.threading.set_intra_op_parallelism_threads(options["intra_op"])
            tf.config.threading.set_inter_op_parallelism_threads(options["inter_op"])
    import keras

    sys.path.insert(0, str(REPO))
    import kerasgen
    from dcgan_throughput import keras_info

    keras.utils.set_random_seed(0)
    model = kerasgen.CycleGAN(
        image_size=opts.image_size, generator_filters=opts.filters,
        discriminator_filters=opts.filters, num_residual_blocks=opts.residual_blocks,
        jitter=options.get("jitter", True),
        discriminator_fakes=options.get("discriminator_fakes", "generator_step"),
        strided_padding=options.get("strided_padding", "symmetric"), seed=0,
    )
    model.plan_run(1000)  # the schedule of a run, so fit() does not re-plan
    if "jit_compile" in options:
        model.compile(jit_compile=options["jit_compile"])
    else:
        model.compile()
    total = opts.warmup + opts.steps
    rng = np.random.default_rng(0)
    shape = (total, opts.image_size, opts.image_size, 3)
    images_a = rng.uniform(-1, 1, shape).astype("float32")
    images_b = rng.uniform(-1, 1, shape).astype("float32")

    marks = []

    class StepTimer(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            marks.append((time.perf_counter(), time.process_time()))

        def on_train_batch_end(self, batch, logs=None):
            # The step is done when its losses are on the host.
            for value in (logs or {}).values():
                np.asarray(keras.ops.convert_to_numpy(value))
            marks.append((time.perf_counter(), time.process_time()))

    model.fit(images_a, images_b, batch_size=1, epochs=1, shuffle=False, verbose=0,
              callbacks=[StepTimer()])
    if int(keras.ops.convert_to_numpy(model.optimizer.iterations)) != total:
        raise RuntimeError("fit ran another number of steps than asked")
    walls = [b[0] - a[0] for a, b in zip(marks, marks[1:])]
    cpus = [b[1] - a[1] for a, b in zip(marks, marks[1:])]
    info = {**keras_info(), "kerasgen": kerasgen.__version__,
            "jit_compile": bool(model.jit_compile)}
    if os.environ["KERAS_BACKEND"] == "tensorflow":
        import tensorflow as tf

        info["intra_op_threads"] = tf.config.threading.get_intra_op_parallelism_threads()
        info["inter_op_threads"] = tf.config.threading.get_inter_op_parallelism_threads()
    info["TF_ENABLE_ONEDNN_OPTS"] = os.environ.get("TF_ENABLE_ONEDNN_OPTS")
    warmup_s = sum(walls[:opts.warmup])
    return walls[opts.warmup:], cpus[opts.warmup:], warmup_s, info


def worker(opts):
    implementation, _, options = VARIANTS[opts.worker]
    run = run_torch if implementation == "torch" else run_kerasgen
    walls, cpus, warmup_s, info = run(opts, options)
    result = {"variant": opts.worker, "implementation": implementation,
              "options": options, **summarize(walls, cpus),
              "warmup_steps": opts.warmup, "warmup_seconds": round(warmup_s, 1),
              "versions": info}
    print("RESULT " + json.dumps(result), flush=True)


# --- Table ------------------------------------------------------------------------


def quiet(record):
    """Whether a run had the machine to itself: its steps within 10% of each
    other and its process using both cores (CPU time at least 1.8 times the
    wall time). A run that shared the CPU with another process fails one or
    the other."""
    walls, cpus = record["step_seconds"], record["step_cpu_seconds"]
    return max(walls) <= 1.1 * min(walls) and sum(cpus) >= 1.8 * sum(walls)


def summarize_file(path):
    """A markdown table of every variant in the JSON lines at `path`: the
    timed steps of its quiet runs (`quiet`) pooled, their median and the
    median CPU time per step; then the median over all its runs."""
    runs = {}
    for line in Path(path).read_text().splitlines():
        record = json.loads(line)
        if "error" not in record and record.get("image_size") == 128:
            runs.setdefault(record["variant"], []).append(record)
    print("| variant | quiet runs | s/step | images/s | days, 200 epochs of 1,000 "
          "| CPU s/step | all runs: s/step, CPU s/step |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, records in runs.items():
        pooled = lambda key, rs: statistics.median([x for r in rs for x in r[key]])
        calm = [r for r in records if quiet(r)]
        every = (f"{pooled('step_seconds', records):.2f}, "
                 f"{pooled('step_cpu_seconds', records):.2f} ({len(records)})")
        if not calm:
            print(f"| {name} | 0 of {len(records)} | | | | | {every} |")
            continue
        wall = pooled("step_seconds", calm)
        print(f"| {name} | {len(calm)} of {len(records)} | {wall:.2f} | {1 / wall:.3f} "
              f"| {EPOCHS * EPOCH_IMAGES * wall / 86400:.1f} "
              f"| {pooled('step_cpu_seconds', calm):.2f} | {every} |")


# --- Driver -----------------------------------------------------------------------


def main(argv=None):
    opts = parse_args(argv)
    if opts.worker:
        return worker(opts)
    if opts.summarize:
        return summarize_file(opts.out)
    from dcgan_throughput import machine_info

    machine = machine_info()
    names = [n.strip() for n in opts.variants.split(",") if n.strip()]
    unknown = sorted(set(names) - set(VARIANTS))
    if unknown:
        raise SystemExit(f"unknown variants {unknown}; known: {sorted(VARIANTS)}")
    out = Path(opts.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    run_id = time.strftime("%Y-%m-%dT%H:%M:%S")
    forwarded = ["--image-size", str(opts.image_size), "--filters", str(opts.filters),
                 "--residual-blocks", str(opts.residual_blocks),
                 "--warmup", str(opts.warmup), "--steps", str(opts.steps)]
    for position, name in enumerate(names):
        _, env_vars, _ = VARIANTS[name]
        env = {k: v for k, v in os.environ.items()
               if k not in ("KERAS_BACKEND", "TF_ENABLE_ONEDNN_OPTS", "OMP_WAIT_POLICY")}
        env.update(env_vars)
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        load = os.getloadavg()
        print(f"[{position + 1}/{len(names)}] {name} (load average "
              f"{load[0]:.2f}) ...", flush=True)
        start = time.perf_counter()
        record = {"run": run_id, "position": position, "variant": name,
                  "image_size": opts.image_size, "filters": opts.filters,
                  "residual_blocks": opts.residual_blocks, "batch_size": 1,
                  "pool_size": 50, "timed_steps": opts.steps,
                  "load_average_before": [round(x, 2) for x in load]}
        try:
            proc = subprocess.run(
                [sys.executable, __file__, "--worker", name, *forwarded],
                env=env, capture_output=True, text=True, timeout=opts.timeout,
            )
            lines = [l for l in proc.stdout.splitlines() if l.startswith("RESULT ")]
            if proc.returncode or not lines:
                tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
                record.update(error=f"exit {proc.returncode}: " + " | ".join(tail))
            else:
                record.update(json.loads(lines[-1][len("RESULT "):]))
        except subprocess.TimeoutExpired:
            record.update(error=f"timed out after {opts.timeout:.0f} s")
        record["process_seconds"] = round(time.perf_counter() - start, 1)
        record["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
        if opts.note:
            record["note"] = opts.note
        record["machine"] = machine
        with out.open("a") as f:
            f.write(json.dumps(record) + "\n")
        if "error" in record:
            print(f"    {name}: {record['error']}", flush=True)
        else:
            print(f"    {name}: {record['seconds_per_step']:.3f} s/step, "
                  f"{record['images_per_second']:.3f} images/s, "
                  f"{record['days_200_epochs']:.2f} days for 200 epochs, CPU "
                  f"{record['cpu_seconds_per_step']:.3f} s/step "
                  f"(steps {record['step_seconds']}; warm-up "
                  f"{record['warmup_seconds']} s)", flush=True)


if __name__ == "__main__":
    main()
