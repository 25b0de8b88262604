"""What the parity benchmarks (`cyclegan_parity.py`, `pix2pix_parity.py`)
share: step timing, `--set` values, and the results file."""

import json
import time
from pathlib import Path


class StepTimer:
    """Wall and process CPU time per step from the end of step `start` to
    the last step seen (the first steps trace and compile). CPU time counts
    every thread of the process, so it moves less than wall time when other
    work shares the cores."""

    def __init__(self, start=20):
        self.start, self.begin, self.begin_cpu, self.steps = start, None, None, 0

    def step_done(self, step):
        if step == self.start:
            self.begin, self.begin_cpu = time.perf_counter(), time.process_time()
        elif step > self.start:
            self.end, self.end_cpu = time.perf_counter(), time.process_time()
        self.steps = step

    def ms_per_step(self):
        return 1000 * (self.end - self.begin) / (self.steps - self.start)

    def cpu_ms_per_step(self):
        return 1000 * (self.end_cpu - self.begin_cpu) / (self.steps - self.start)


def add_run_arguments(parser, steps, image_size, filters, data, results):
    """The options every parity benchmark takes, with its defaults."""
    parser.add_argument("--impl", choices=("kerasgen", "reference"), default="kerasgen")
    parser.add_argument("--backend", choices=("tensorflow", "jax"), default="tensorflow")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=steps)
    parser.add_argument("--image-size", type=int, default=image_size)
    parser.add_argument("--filters", type=int, default=filters)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a constructor argument of the kerasgen family")
    parser.add_argument("--label", default=None, help="the row's name in the table")
    parser.add_argument("--data", default=str(data))
    parser.add_argument("--results", default=str(results))
    parser.add_argument("--table", action="store_true", help="print the results and exit")
    parser.add_argument("--time-only", action="store_true",
                        help="train and time, skip the scoring (for clean step times)")


def print_progress(step, logs):
    """Every 500th step: its losses on one line."""
    if step % 500 == 0:
        print(f"step {step}: " + " ".join(
            f"{k} {float(v):.3f}" for k, v in sorted(logs.items())), flush=True)


def keras_progress(timer):
    """A Keras callback feeding `timer` and `print_progress`."""
    import keras

    class Progress(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            timer.step_done(batch + 1)
            print_progress(batch + 1, logs or {})

    return Progress()


def used_config(model):
    """The family config a run trained with, without names and seeds."""
    return {k: v for k, v in model.get_config().items()
            if k not in ("name", "trainable", "dtype", "seed")}


def parse_settings(pairs):
    """`["key=value", ...]` -> dict, values read as JSON where they parse
    (`3` -> 3, `true` -> True), else kept as strings."""
    settings = {}
    for pair in pairs:
        key, _, text = pair.partition("=")
        try:
            settings[key] = json.loads(text)
        except json.JSONDecodeError:
            settings[key] = text
    return settings


def append_result(path, result):
    """Prints a run's result and appends it as one JSON line to `path`."""
    print(json.dumps(result, indent=2))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        f.write(json.dumps(result) + "\n")


def run_and_record(opts, train_kerasgen, train_reference, score, repo, **fields):
    """Sets the backend, trains one side (`train_*(opts, timer)` calls
    `timer.step_done(step)` after each step and returns `(translate,
    config)`), scores its translations (`score(translate, opts)` returns a
    dict; skipped with `--time-only`) and appends the result."""
    import os
    import sys

    os.environ["KERAS_BACKEND"] = opts.backend if opts.impl == "kerasgen" else "tensorflow"
    sys.path.insert(0, str(repo))
    from dcgan_throughput import keras_info, machine_info

    start = time.time()
    train = train_reference if opts.impl == "reference" else train_kerasgen
    timer = StepTimer()
    translate, config = train(opts, timer)
    result = {
        "label": opts.label or opts.impl,
        "impl": opts.impl,
        "backend": "pytorch" if opts.impl == "reference" else opts.backend,
        "seed": opts.seed,
        "steps": opts.steps,
        "image_size": opts.image_size,
        "filters": opts.filters,
        **fields,
        "steps_timed": timer.steps - timer.start,
        "ms_per_step": round(timer.ms_per_step(), 1),
        "cpu_ms_per_step": round(timer.cpu_ms_per_step(), 1),
        "train_wall_s": round(time.time() - start, 1),
        **({"time_only": True} if opts.time_only else score(translate, opts)),
        "config": config,
        "machine": machine_info(),
        **({} if opts.impl == "reference" else keras_info()),
        "date": time.strftime("%Y-%m-%d"),
    }
    append_result(opts.results, result)
    return result


def read_results(path, time_only=False):
    """The result rows of `path`: scored runs, or with `time_only` the
    timing runs."""
    rows = [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
    return [r for r in rows if bool(r.get("time_only")) == time_only]


def print_step_times(path):
    """The `--time-only` rows of `path` as a markdown table."""
    rows = read_results(path, time_only=True)
    if not rows:
        return
    print("\n| run | backend | CPU | steps timed | ms per step | CPU ms per step |")
    print("| --- | --- | --- | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['label']} | {r['backend']} | {cpu_label(r['machine'])} | "
              f"{r['steps_timed']} | {r['ms_per_step']:.0f} | {r['cpu_ms_per_step']:.0f} |")


def cpu_label(machine):
    """`AMD EPYC 25/17, AVX-512` (rows from before family/model were
    recorded say only the model name)."""
    label = machine.get("cpu_model") or machine.get("processor") or "?"
    if machine.get("cpu_family_model"):
        label += f" {machine['cpu_family_model']}"
        label += ", AVX-512" if machine.get("avx512") else ", no AVX-512"
    return label
