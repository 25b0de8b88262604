"""Size and CPU latency of the exported models, per family and format.

What it measures, for `kerasgen.DCGAN(image_size=28, channels=1)` (the
MNIST default config: latent 100, 64 filters) and `kerasgen.VAE()` (its
defaults: 28x28x1, latent 16, 32 filters), freshly initialized (weights do
not change sizes or latencies):

- size on disk of the SavedModel version folder and of each TFLite file
  (float32, float16, dynamic-range int8);
- latency of ONE image (batch 1) on the CPU: the SavedModel's main signature
  (the endpoint the family names `serving_default`: `generate` for the
  DCGAN, `decode` for the VAE) called through
  `tf.saved_model.load`, and the same signature of each TFLite file run by
  LiteRT's signature runner (`ai_edge_litert`), each the median of
  `--runs` calls after `--warmup` calls.

Both are loaded back in this process from the files written, as a server
would load them. Run with the TensorFlow backend:

    KERAS_BACKEND=tensorflow .venv/bin/python benchmarks/export_latency.py

The machine (CPU model, cores, load average) is printed with the table;
wall-clock latencies on a shared machine vary from run to run.
"""

import argparse
import os
import platform
import statistics
import tempfile
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402


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


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args()

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

    print(f"Machine: {cpu_name()}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.2f} at the end; "
          f"TensorFlow {tf.__version__}, Keras {keras.__version__}")
    print(f"Latency of one image: median of {args.runs} runs after {args.warmup} warm-up runs.")
    print()
    print("| family | format | size | latency, 1 image |")
    print("| --- | --- | ---: | ---: |")
    for label, fmt, size, ms in rows:
        print(f"| {label} | {fmt} | {size / 1024:,.1f} KiB | {ms:.3f} ms |")


if __name__ == "__main__":
    main()
