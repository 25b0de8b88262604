"""Size, CPU latency and error of the exported models, per family and format.

Two parts (`--part fresh`, `--part presets`, default both):

fresh: `kerasgen.DCGAN(image_size=28, channels=1)` (the MNIST default
config: latent 100, 64 filters) and `kerasgen.VAE()` (its defaults: 28x28x1,
latent 16, 32 filters), freshly initialized (weights do not change sizes or
latencies):

- size on disk of the SavedModel version folder and of each TFLite file
  (float32, float16, dynamic-range int8, int8);
- latency of ONE image (batch 1) on the CPU: the SavedModel's main signature
  (the endpoint the family names `serving_default`: `generate` for the
  DCGAN, `decode` for the VAE) called through
  `tf.saved_model.load`, and the same signature of each TFLite file run by
  LiteRT's signature runner (`ai_edge_litert`), each the median of
  `--runs` calls after `--warmup` calls.

presets: the trained zoo presets `dcgan-mnist` (`generate`) and
`cyclegan-cat2dog` (`translate_a2b`, `translate_b2a`), exported as
float32 (`none`), `float16`, `dynamic-int8` and `int8` TFLite files with
the batch left dynamic (the default), and float32 and int8 with `--batch 1`
(static shapes). The
int8 file of the DCGAN is calibrated on latents of its prior (no data); the
CycleGAN's on the first `--calibration-steps` images of cat2dog's trainA
(for a2b) and trainB (for b2a). For each file:

- its size, and the ratio to the float32 file's;
- the latency of one image with LiteRT's default XNNPACK delegate at 1 and 2
  threads (`--threads`): the median of `--runs` calls after `--warmup`,
  the variants measured in turn in `--rounds` rounds so that a change in the
  machine's load falls on all of them;
- its error against the float32 file (of the same batch) on fixed inputs: 256 latents (seed 0)
  for the DCGAN, the first `--error-images` test images (testA, testB) for
  the CycleGAN: the mean and max absolute difference of `images` (in
  [-1, 1]), and of `images_uint8` (levels), and the PSNR of `images_uint8`
  against the float32 file's (peak 255).

Rows go to benchmarks/results/export_latency.jsonl (one per file; appended),
with the machine and its load average. Run with the TensorFlow backend:

    KERAS_BACKEND=tensorflow .venv/bin/python benchmarks/export_latency.py

Wall-clock latencies on a shared machine vary from run to run.
"""

import argparse
import json
import math
import os
import platform
import statistics
import tempfile
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "benchmarks", "results", "export_latency.jsonl")
CAT2DOG = os.path.join(ROOT, "..", "shared", "datasets", "cat2dog")


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def median_ms(call, warmup, runs):
    for _ in range(warmup):
        call()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return 1000.0 * statistics.median(times)


def fresh(args):
    """The freshly initialized DCGAN and VAE: SavedModel and every TFLite
    variant, one thread setting (LiteRT's default)."""
    import keras
    import tensorflow as tf
    from ai_edge_litert.interpreter import Interpreter

    import kerasgen
    import kerasgen.export
    from kerasgen.export.serving import directory_size
    from kerasgen.export.signatures import declared_endpoints

    keras.utils.set_random_seed(0)
    families = [
        ("DCGAN 28x28x1", kerasgen.DCGAN(image_size=28, channels=1)),
        ("VAE 28x28x1", kerasgen.VAE()),
    ]
    rows = []
    out = tempfile.mkdtemp(prefix="kerasgen-export-bench-")
    for label, model in families:
        # The main endpoint, on one random input of its declared shapes.
        endpoint = declared_endpoints(model)[0]
        signature = endpoint.name
        rng = np.random.default_rng(0)
        arrays = {
            spec.name: rng.standard_normal(
                [1 if d is None else d for d in spec.shape_for(1)]).astype(spec.dtype)
            for spec in endpoint.inputs
        }
        path = kerasgen.export.saved_model(model, out)
        loaded = tf.saved_model.load(path)
        function = loaded.signatures[signature]
        tensors = {name: tf.constant(value) for name, value in arrays.items()}
        ms = median_ms(lambda: function(**tensors), args.warmup, args.runs)
        rows.append((label, f"SavedModel `{signature}`", directory_size(path), ms))
        for quantize in kerasgen.export.QUANTIZATIONS:
            file = kerasgen.export.tflite(model, out, quantize=quantize)
            runner = Interpreter(model_path=file).get_signature_runner(signature)
            ms = median_ms(lambda: runner(**arrays), args.warmup, args.runs)
            rows.append((label, f"TFLite {quantize}", os.path.getsize(file), ms))

    print(f"Latency of one image: median of {args.runs} runs after {args.warmup} warm-up runs.")
    print()
    print("| family | format | size | latency, 1 image |")
    print("| --- | --- | ---: | ---: |")
    for label, fmt, size, ms in rows:
        print(f"| {label} | {fmt} | {size / 1024:,.1f} KiB | {ms:.3f} ms |")
    print()


def interleaved_latency(runners, feeds, warmup, runs, rounds):
    """Median ms per runner: `rounds` rounds, each running every runner
    `runs // rounds` times in turn (after `warmup` calls each)."""
    for runner in runners.values():
        for _ in range(warmup):
            runner(**feeds)
    times = {name: [] for name in runners}
    per_round = max(1, runs // rounds)
    for _ in range(rounds):
        for name, runner in runners.items():
            for _ in range(per_round):
                start = time.perf_counter()
                runner(**feeds)
                times[name].append(time.perf_counter() - start)
    return {name: 1000.0 * statistics.median(values) for name, values in times.items()}


def errors(reference, outputs):
    """Error of `outputs` against `reference` (lists of runner outputs)."""
    want = np.concatenate([o["images"] for o in reference])
    got = np.concatenate([o["images"] for o in outputs])
    want8 = np.concatenate([o["images_uint8"] for o in reference]).astype("float64")
    got8 = np.concatenate([o["images_uint8"] for o in outputs]).astype("float64")
    difference = np.abs(got - want)
    mse = float(np.mean((got8 - want8) ** 2))
    return {
        "images_mean_abs": float(difference.mean()),
        "images_max_abs": float(difference.max()),
        "uint8_mean_levels": float(np.abs(got8 - want8).mean()),
        "uint8_max_levels": float(np.abs(got8 - want8).max()),
        "uint8_psnr_db": math.inf if mse == 0 else 10 * math.log10(255.0 ** 2 / mse),
    }


def presets(args, machine):
    import tensorflow as tf
    from ai_edge_litert.interpreter import Interpreter

    import kerasgen
    import kerasgen.export
    from kerasgen.data import load_unpaired
    from kerasgen.data import to_unit_range

    # (quantize, batch): every variant with the batch left dynamic (the
    # default export), and float32 and int8 with `--batch 1` too.
    variants = [("none", None), ("float16", None), ("dynamic-int8", None), ("int8", None),
                ("none", 1), ("int8", 1)]
    test_a, test_b = load_unpaired(CAT2DOG, image_size=64, channels=3, split="test",
                                   max_images=args.error_images)
    cases = [
        # (preset, {signature: fixed inputs}, int8 calibration data)
        ("dcgan-mnist",
         {"generate": {"z": np.random.default_rng(0).standard_normal((256, 100)).astype(
             "float32")}}, None),
        ("cyclegan-cat2dog",
         {"translate_a2b": {"images": to_unit_range(test_a.images)},
          "translate_b2a": {"images": to_unit_range(test_b.images)}}, CAT2DOG),
    ]
    out = tempfile.mkdtemp(prefix="kerasgen-export-presets-")
    table = []
    for preset, fixed, data in cases:
        model = kerasgen.load(preset)
        files, seconds = {}, {}
        for variant in variants:
            quantize, batch = variant
            start = time.perf_counter()
            extra = {}
            if quantize == "int8":
                extra = dict(calibration_data=data, calibration_steps=args.calibration_steps)
            name = preset if batch is None else f"{preset}-batch{batch}"
            files[variant] = kerasgen.export.tflite(model, out, quantize=quantize, name=name,
                                                    batch_size=batch, **extra)
            seconds[variant] = time.perf_counter() - start
            print(f"{preset}: {quantize}, batch {batch or 'any'}, exported in "
                  f"{seconds[variant]:.1f} s", flush=True)
        size = {v: os.path.getsize(f) for v, f in files.items()}
        # Error against the float32 file of the same batch, one input at a time.
        error = {}
        for signature, inputs in fixed.items():
            count = len(next(iter(inputs.values())))
            outputs = {}
            for variant, file in files.items():
                runner = Interpreter(model_path=file).get_signature_runner(signature)
                outputs[variant] = [
                    runner(**{k: v[i:i + 1] for k, v in inputs.items()}) for i in range(count)]
            for variant in variants:
                error[(signature, variant)] = errors(outputs[("none", variant[1])],
                                                     outputs[variant])
        # Latency of one input, per thread count, variants interleaved.
        latency = {}
        for signature, inputs in fixed.items():
            feeds = {k: v[:1] for k, v in inputs.items()}
            for threads in args.threads:
                load_before = os.getloadavg()[0]
                runners = {v: Interpreter(model_path=f, num_threads=threads)
                           .get_signature_runner(signature) for v, f in files.items()}
                measured = interleaved_latency(runners, feeds, args.warmup, args.runs,
                                               args.rounds)
                load_after = os.getloadavg()[0]
                for variant, ms in measured.items():
                    latency[(signature, variant, threads)] = (ms, load_before, load_after)
                print(f"{preset} {signature} {threads} thread(s): "
                      + ", ".join(f"{q}/{b or 'any'} {ms:.2f} ms"
                                  for (q, b), ms in measured.items())
                      + f" (load {load_before:.1f} -> {load_after:.1f})", flush=True)
        for signature in fixed:
            for variant in variants:
                quantize, batch = variant
                reference = ("none", batch)
                row = {
                    "benchmark": "export_latency", "part": "presets", "preset": preset,
                    "signature": signature, "quantize": quantize,
                    "batch": "any" if batch is None else batch,
                    "file": os.path.basename(files[variant]), "size_bytes": size[variant],
                    "size_ratio_to_float32": size[variant] / size[reference],
                    "export_seconds": round(seconds[variant], 1),
                    "latency_ms": {str(t): latency[(signature, variant, t)][0]
                                   for t in args.threads},
                    "load_average": {str(t): latency[(signature, variant, t)][1:]
                                     for t in args.threads},
                    "latency": {"batch": 1, "runs": args.runs, "warmup": args.warmup,
                                "rounds": args.rounds, "delegate": "XNNPACK (default)"},
                    "error_vs_float32": error[(signature, variant)],
                    "error_inputs": ("256 latents z ~ N(0, I), seed 0" if data is None else
                                     f"the first {args.error_images} cat2dog test images "
                                     f"({'testA' if signature.endswith('a2b') else 'testB'})"),
                    "calibration": (None if quantize != "int8" else
                                    {"steps": args.calibration_steps,
                                     "data": "latent prior" if data is None else
                                     "cat2dog trainA (a2b) / trainB (b2a), first images"}),
                    "versions": {"tensorflow": tf.__version__,
                                 "ai_edge_litert": _version("ai-edge-litert")},
                    "machine": machine,
                }
                with open(args.results, "a") as file:
                    file.write(json.dumps(row) + "\n")
                table.append(row)

    print()
    head = " | ".join(f"{t} thread{'s' if t > 1 else ''}" for t in args.threads)
    print(f"| preset | signature | variant | batch | size | x float32 | {head} | "
          "mean abs | max abs | PSNR uint8 |")
    print("| --- | --- | --- | --- | ---: | ---: | " + " | ".join("---:" for _ in args.threads)
          + " | ---: | ---: | ---: |")
    for row in table:
        e = row["error_vs_float32"]
        times = " | ".join(f"{row['latency_ms'][str(t)]:.2f} ms" for t in args.threads)
        psnr = "exact" if math.isinf(e["uint8_psnr_db"]) else f"{e['uint8_psnr_db']:.1f} dB"
        print(f"| {row['preset']} | {row['signature']} | {row['quantize']} | {row['batch']} | "
              f"{row['size_bytes'] / 1024:,.1f} KiB | {row['size_ratio_to_float32']:.3f} | "
              f"{times} | {e['images_mean_abs']:.2e} | {e['images_max_abs']:.2e} | {psnr} |")


def _version(distribution):
    import importlib.metadata

    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", choices=("fresh", "presets", "both"), default="both")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=5,
                        help="presets: the variants take turns in this many rounds")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--error-images", type=int, default=50,
                        help="presets: test images per CycleGAN direction for the error")
    parser.add_argument("--calibration-steps", type=int, default=100)
    parser.add_argument("--results", default=RESULTS, help="the JSONL file rows go to")
    args = parser.parse_args()

    import keras
    import tensorflow as tf

    from kerasgen.utils.machine import machine_info

    machine = machine_info()
    print(f"Machine: {cpu_name()}, {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.2f} at the start; TensorFlow {tf.__version__}, "
          f"Keras {keras.__version__}, ai-edge-litert {_version('ai-edge-litert')}")
    if args.part in ("fresh", "both"):
        fresh(args)
    if args.part in ("presets", "both"):
        presets(args, machine)
    print(f"Load average {os.getloadavg()[0]:.2f} at the end.")


if __name__ == "__main__":
    main()
