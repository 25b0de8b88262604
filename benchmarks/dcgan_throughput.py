"""Training throughput of kerasgen's DCGAN next to a plain reference.

What it measures: training images/s of `kerasgen.DCGAN(image_size=28,
channels=1)` (MNIST shapes: 28x28x1 images, latent 100, generator_filters=64,
discriminator_filters=64) trained with `model.fit()`, side by side with a
hand-written reference of the same architecture doing the same work, and the
ratio kerasgen / reference.

- `--backend tensorflow` (default): the reference is a `keras.Model` whose
  `train_step` is written the way the keras-io example "DCGAN overriding
  train_step" (examples/generative/dcgan_overriding_train_step.py) writes it:
  `d_optimizer` / `g_optimizer`, `BinaryCrossentropy(from_logits=True)`, two
  `GradientTape`s (one discriminator step on real + fake, then one generator
  step), `Mean` loss trackers. Its networks are built with kerasgen's own
  `build_conv_decoder` / `build_conv_encoder`, so they are identical to the
  DCGAN's. Both are trained with `fit()`; both run a plain `tf.function`
  (kerasgen's `jit_compile="auto"`; the reference gets `jit_compile=False`,
  since Keras's own "auto" picks XLA when a GPU is visible; see it with
  `--ref-keras-auto-jit`). `--xla` sets `jit_compile=True` for both. The
  reference's discriminator step runs one pass on the concatenated real +
  fake batch, as keras-io does; `--ref-d-pass split` runs one pass per half,
  as kerasgen does (same FLOPs either way).
- `--backend jax`: kerasgen's DCGAN on the JAX backend (jitted, as always on
  JAX) against a plain PyTorch DCGAN of the same architecture (parameter
  counts are checked and printed), eager PyTorch, Adam(2e-4, 0.5, 0.999),
  BCE with logits, on CUDA when available, else CPU. Unlike pytorch/examples'
  DCGAN, and like kerasgen, its generator step draws fresh latents and
  computes no gradient for the discriminator's weights. PyTorch is optional:
  without it the reference is skipped and the reason printed.

"images/s" counts real training images consumed per second: every batch of
`--batch-size` real images costs one discriminator step (on that batch and as
many generated images) and one generator step (on a fresh batch of latents),
so images/s = steps * batch_size / seconds.

Method: each implementation runs in its own Python process (KERAS_BACKEND is
set before Keras is imported). It warms up (one `fit` that traces/compiles,
then one more short `fit`), then times `--repeats` calls of
`fit(x, batch_size=B, steps_per_epoch=--steps, epochs=1, verbose=0)`, each
followed by a wait for the device to finish; the PyTorch reference times the
same number of batches of its own loop. The median of the repeats is
reported, with the process CPU time per step (all threads; on a shared CPU
it tells "more work" from "fewer cycles got" when wall times wobble). The
number of steps each `fit` ran is checked through the optimizers' iteration
counters.

Data: one in-memory float32 array in [-1, 1], the real MNIST digits of
../shared/datasets/mnist/t10k-images-idx3-ubyte.gz beside the checkout (or `--mnist PATH`)
when present, else uniform noise of the same shape (the output says which),
trimmed to whole batches and tiled when `--steps` batches need more.

Run it from the repository root (it benchmarks the kerasgen of this working
tree):

    .venv/bin/python benchmarks/dcgan_throughput.py                 # TF, defaults
    .venv/bin/python benchmarks/dcgan_throughput.py --xla           # TF + XLA, both
    .venv/bin/python benchmarks/dcgan_throughput.py --backend jax   # JAX vs PyTorch
    .venv/bin/python benchmarks/dcgan_throughput.py --steps 10 --repeats 1
    .venv/bin/python benchmarks/dcgan_throughput.py --json results.json

Numbers are only meaningful on a quiet machine: other processes on the same
CPU cores or GPU skew both sides, and not necessarily by the same amount.
"""

import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
# The checkout, for a machine where kerasgen is not installed (the GPU
# machine runs the benchmarks from a copy of it).
sys.path.append(str(REPO_ROOT))
from kerasgen.utils.machine import machine_info  # noqa: E402,F401  (the other benchmarks import it from here)
# ../shared/datasets beside the checkout, where this project keeps its data.
DEFAULT_MNIST = (
    Path(__file__).resolve().parents[2]
    / "shared" / "datasets" / "mnist" / "t10k-images-idx3-ubyte.gz"
)

# MNIST shapes and kerasgen.DCGAN's defaults.
IMAGE_SIZE = 28
CHANNELS = 1
LATENT_DIM = 100
FILTERS = 64
LEARNING_RATE = 2e-4
BETA_1 = 0.5
BETA_2 = 0.999

IMPLEMENTATIONS = {
    "tensorflow": ("kerasgen", "keras_io"),
    "jax": ("kerasgen", "torch"),
}
LABELS = {
    "kerasgen": "kerasgen DCGAN (fit)",
    "keras_io": "keras-io style reference (fit)",
    "torch": "PyTorch reference (eager loop)",
}


# --- Data ----------------------------------------------------------------------


def load_images(path):
    """Float32 `(N, 28, 28, 1)` in [-1, 1] and a line saying where it came
    from: the idx3 file at `path`, else uniform noise of the same shape."""
    import numpy as np

    path = Path(path)
    if path.is_file():
        with gzip.open(path, "rb") as f:
            raw = f.read()
        magic, count, rows, cols = np.frombuffer(raw[:16], dtype=">u4")
        if magic != 2051 or (rows, cols) != (IMAGE_SIZE, IMAGE_SIZE):
            raise ValueError(f"{path} is not an idx3 file of 28x28 images.")
        pixels = np.frombuffer(raw[16:], dtype=np.uint8).reshape(count, rows, cols, 1)
        images = pixels.astype("float32") / 127.5 - 1.0
        source = f"real MNIST digits ({count} images from {path})"
    else:
        count = 10000
        images = np.random.default_rng(0).uniform(
            -1.0, 1.0, (count, IMAGE_SIZE, IMAGE_SIZE, CHANNELS)
        ).astype("float32")
        source = (
            f"uniform noise in [-1, 1], shape ({count}, 28, 28, 1) "
            f"({path} not found)"
        )
    return images, source


def fit_array(images, batch_size, num_steps):
    """The array trimmed to whole batches and tiled so that one epoch holds at
    least `num_steps` batches (a `fit` that runs out of data stops early)."""
    import numpy as np

    whole = (len(images) // batch_size) * batch_size
    if whole == 0:
        raise ValueError(f"--batch-size {batch_size} is larger than the data.")
    images = images[:whole]
    reps = -(-num_steps * batch_size // whole)
    if reps > 1:
        images = np.concatenate([images] * reps)
    return np.ascontiguousarray(images)


# --- Machine and versions ------------------------------------------------------


def cpu_model():
    return machine_info()["cpu_model"]


# --- Timing (shared by the workers) --------------------------------------------


def log(label, message):
    print(f"  [{label}] {message}", flush=True)


def time_fit(model, images, opts, label, iterations, sync):
    """Warm-up, then `opts.repeats` timed `fit` calls of `opts.steps` steps."""
    batch = opts.batch_size
    fit_kwargs = dict(batch_size=batch, epochs=1, verbose=0)

    start = time.perf_counter()
    model.fit(images, steps_per_epoch=opts.warmup_steps, **fit_kwargs)
    sync()
    compile_s = time.perf_counter() - start
    # A second short fit: anything a fit pays only the second time around
    # (a retrace, a new iterator type) is paid here, not in the timings.
    start = time.perf_counter()
    model.fit(images, steps_per_epoch=opts.warmup_steps, **fit_kwargs)
    sync()
    second_s = time.perf_counter() - start
    log(label, f"warm-up: first fit {compile_s:.2f} s ({opts.warmup_steps} "
        f"steps + any trace/compile), second {second_s:.2f} s")

    runs, cpu_ms = [], []
    for r in range(opts.repeats):
        before = iterations()
        start = time.perf_counter()
        cpu_start = time.process_time()
        model.fit(images, steps_per_epoch=opts.steps, **fit_kwargs)
        sync()
        seconds = time.perf_counter() - start
        cpu_seconds = time.process_time() - cpu_start
        done = iterations() - before
        if done != opts.steps:
            raise RuntimeError(
                f"{label}: fit ran {done} steps, expected {opts.steps}."
            )
        runs.append(opts.steps * batch / seconds)
        cpu_ms.append(1000.0 * cpu_seconds / opts.steps)
        log(label, f"run {r + 1}/{opts.repeats}: {opts.steps} steps in "
            f"{seconds:.3f} s = {runs[-1]:.1f} images/s "
            f"(process CPU time {cpu_ms[-1]:.1f} ms/step)")
    return {"images_per_s": runs, "cpu_ms_per_step": cpu_ms,
            "warmup_first_fit_s": compile_s, "warmup_second_fit_s": second_s}


def network_counts(network):
    import numpy as np

    trainable = sum(int(np.prod(v.shape)) for v in network.trainable_weights)
    total = sum(int(np.prod(v.shape)) for v in network.weights)
    return {"trainable": trainable, "total": total}


def keras_info():
    import keras

    backend = keras.backend.backend()
    info = {"keras": keras.__version__, "backend": backend, "gpus": []}
    if backend == "tensorflow":
        import tensorflow as tf

        info["tensorflow"] = tf.__version__
        for gpu in tf.config.list_physical_devices("GPU"):
            details = tf.config.experimental.get_device_details(gpu)
            info["gpus"].append(details.get("device_name", gpu.name))
    elif backend == "jax":
        import jax
        import jaxlib

        info["jax"] = jax.__version__
        info["jaxlib"] = jaxlib.__version__
        info["jax_devices"] = [
            f"{d.platform}:{getattr(d, 'device_kind', '?')}" for d in jax.devices()
        ]
        info["gpus"] = [
            getattr(d, "device_kind", str(d))
            for d in jax.devices() if d.platform == "gpu"
        ]
    return info


def keras_sync(variables):
    """Waits until the device has finished the work `fit` queued."""
    import keras

    if keras.backend.backend() == "jax":
        import jax

        jax.block_until_ready([v.value for v in variables])
    else:
        # Reading a variable waits for the ops that write it; the generator's
        # output bias is written last in a step.
        keras.ops.convert_to_numpy(variables[-1])


# --- Worker: kerasgen ----------------------------------------------------------


def run_kerasgen(opts, images):
    import keras

    sys.path.insert(0, str(REPO_ROOT))
    import kerasgen

    keras.utils.set_random_seed(opts.seed)
    model = kerasgen.DCGAN(image_size=IMAGE_SIZE, channels=CHANNELS)
    assert (model.latent_dim, model.generator_filters,
            model.discriminator_filters) == (LATENT_DIM, FILTERS, FILTERS)
    if opts.xla:
        model.compile(jit_compile=True)
    else:
        model.compile()  # jit_compile="auto": tf.function on TF, jit on JAX
    label = "kerasgen"
    log(label, f"kerasgen from {Path(kerasgen.__file__).parent}, "
        f"jit_compile={model.jit_compile}")

    result = time_fit(
        model, images, opts, label,
        iterations=lambda: int(keras.ops.convert_to_numpy(model.optimizer.iterations)),
        sync=lambda: keras_sync(model.generator.trainable_variables),
    )
    summaries = []
    for network in (model.generator, model.discriminator):
        network.summary(print_fn=lambda line, *a, **k: summaries.append(line))
    result.update(
        jit_compile=bool(model.jit_compile),
        kerasgen_version=kerasgen.__version__,
        kerasgen_path=str(Path(kerasgen.__file__).parent),
        params={"generator": network_counts(model.generator),
                "discriminator": network_counts(model.discriminator)},
        summary="\n".join(summaries),
        info=keras_info(),
    )
    return result


# --- Worker: keras-io style reference (TensorFlow) -----------------------------


def make_keras_io_gan():
    import keras
    import tensorflow as tf

    class KerasIOGAN(keras.Model):
        """The keras-io "DCGAN overriding train_step" training step.

        Two deliberate differences from the example, so that the work per
        batch is the same as kerasgen's: labels are real = 1, fake = 0 (the
        example labels generated images 1 and real ones 0, and its generator
        targets 0), and there is no label noise (the example adds
        `0.05 * uniform` to the labels). Networks are called with
        `training=True`: the example's networks have no BatchNorm, ours do,
        and without it Keras 3 would run them in inference mode.

        `d_pass="concat"` runs the discriminator once on the concatenated
        real + fake batch, as the example does; `"split"` runs it on each
        half, as kerasgen does (BatchNorm then normalizes each half alone).
        """

        def __init__(self, discriminator, generator, latent_dim, d_pass="concat",
                     seed=None):
            super().__init__()
            self.discriminator = discriminator
            self.generator = generator
            self.latent_dim = latent_dim
            self.d_pass = d_pass
            self.seed_generator = keras.random.SeedGenerator(seed)

        def compile(self, d_optimizer, g_optimizer, loss_fn, jit_compile=False):
            super().compile(jit_compile=jit_compile)
            self.d_optimizer = d_optimizer
            self.g_optimizer = g_optimizer
            self.loss_fn = loss_fn
            self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
            self.g_loss_tracker = keras.metrics.Mean(name="g_loss")

        @property
        def metrics(self):
            return [self.d_loss_tracker, self.g_loss_tracker]

        def train_step(self, data):
            real_images, _, _ = keras.utils.unpack_x_y_sample_weight(data)
            batch_size = tf.shape(real_images)[0]

            # Discriminator step on real + generated images.
            latents = keras.random.normal(
                (batch_size, self.latent_dim), seed=self.seed_generator
            )
            generated_images = self.generator(latents, training=True)
            real_labels = tf.ones((batch_size, 1))
            fake_labels = tf.zeros((batch_size, 1))
            with tf.GradientTape() as tape:
                if self.d_pass == "concat":
                    combined = tf.concat([real_images, generated_images], axis=0)
                    predictions = self.discriminator(combined, training=True)
                    d_loss = self.loss_fn(
                        tf.concat([real_labels, fake_labels], axis=0), predictions
                    )
                else:
                    d_loss = self.loss_fn(
                        real_labels, self.discriminator(real_images, training=True)
                    ) + self.loss_fn(
                        fake_labels,
                        self.discriminator(generated_images, training=True),
                    )
            grads = tape.gradient(d_loss, self.discriminator.trainable_weights)
            self.d_optimizer.apply_gradients(
                zip(grads, self.discriminator.trainable_weights)
            )

            # Generator step on fresh latents: make D call its images real.
            latents = keras.random.normal(
                (batch_size, self.latent_dim), seed=self.seed_generator
            )
            with tf.GradientTape() as tape:
                predictions = self.discriminator(
                    self.generator(latents, training=True), training=True
                )
                g_loss = self.loss_fn(real_labels, predictions)
            grads = tape.gradient(g_loss, self.generator.trainable_weights)
            self.g_optimizer.apply_gradients(
                zip(grads, self.generator.trainable_weights)
            )

            self.d_loss_tracker.update_state(d_loss)
            self.g_loss_tracker.update_state(g_loss)
            return {"d_loss": self.d_loss_tracker.result(),
                    "g_loss": self.g_loss_tracker.result()}

    return KerasIOGAN


def run_keras_io(opts, images):
    import keras

    sys.path.insert(0, str(REPO_ROOT))
    from kerasgen.layers import build_conv_decoder
    from kerasgen.layers import build_conv_encoder

    keras.utils.set_random_seed(opts.seed)
    generator = build_conv_decoder(
        LATENT_DIM, IMAGE_SIZE, CHANNELS, filters=FILTERS, name="generator"
    )
    discriminator = build_conv_encoder(
        IMAGE_SIZE, CHANNELS, output_dim=1, filters=FILTERS, name="discriminator"
    )
    model = make_keras_io_gan()(discriminator, generator, LATENT_DIM,
                                d_pass=opts.ref_d_pass)

    def adam():
        return keras.optimizers.Adam(LEARNING_RATE, beta_1=BETA_1, beta_2=BETA_2)

    model.compile(
        d_optimizer=adam(), g_optimizer=adam(),
        loss_fn=keras.losses.BinaryCrossentropy(from_logits=True),
        # Keras's "auto" picks XLA when TF sees a GPU; kerasgen's "auto" is a
        # plain tf.function on TF. False: the same kind of graph on both
        # sides (--ref-keras-auto-jit shows what Keras's own default gives).
        jit_compile="auto" if opts.ref_keras_auto_jit else bool(opts.xla),
    )
    label = "keras_io"
    log(label, f"d_pass={opts.ref_d_pass}, jit_compile={model.jit_compile}")
    result = time_fit(
        model, images, opts, label,
        iterations=lambda: int(
            keras.ops.convert_to_numpy(model.g_optimizer.iterations)
        ),
        sync=lambda: keras_sync(generator.trainable_variables),
    )
    result.update(
        jit_compile=bool(model.jit_compile),
        d_pass=opts.ref_d_pass,
        params={"generator": network_counts(generator),
                "discriminator": network_counts(discriminator)},
        info=keras_info(),
    )
    return result


# --- Worker: PyTorch reference (for the JAX backend) ---------------------------


def run_torch(opts, images):
    try:
        import torch
        from torch import nn
    except Exception as e:  # ImportError, or a broken install
        return {"skipped": f"PyTorch is not importable ({type(e).__name__}: {e})"}

    torch.manual_seed(opts.seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # as pytorch/examples' DCGAN does

    width = FILTERS * 2  # 128 maps at 7x7, as kerasgen's decoder for 28x28
    generator = nn.Sequential(
        nn.Linear(LATENT_DIM, 7 * 7 * width, bias=False),
        nn.Unflatten(1, (width, 7, 7)),
        nn.BatchNorm2d(width, momentum=0.1, eps=1e-5),
        nn.ReLU(True),
        nn.ConvTranspose2d(width, FILTERS, 4, 2, 1, bias=False),
        nn.BatchNorm2d(FILTERS, momentum=0.1, eps=1e-5),
        nn.ReLU(True),
        nn.ConvTranspose2d(FILTERS, CHANNELS, 4, 2, 1),
        nn.Tanh(),
    ).to(device)
    discriminator = nn.Sequential(
        nn.Conv2d(CHANNELS, FILTERS, 4, 2, 1),
        nn.LeakyReLU(0.2, True),
        nn.Conv2d(FILTERS, width, 4, 2, 1, bias=False),
        nn.BatchNorm2d(width, momentum=0.1, eps=1e-5),
        nn.LeakyReLU(0.2, True),
        nn.Flatten(),
        nn.Linear(7 * 7 * width, 1),
    ).to(device)
    for module in list(generator) + list(discriminator):
        # N(0, 0.02) weights, as kerasgen (Radford et al. 2015).
        if isinstance(module, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(module.weight, 0.0, 0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)

    def counts(net):
        trainable = sum(p.numel() for p in net.parameters())
        stats = sum(b.numel() for name, b in net.named_buffers()
                    if not name.endswith("num_batches_tracked"))
        return {"trainable": trainable, "total": trainable + stats}

    opt_d = torch.optim.Adam(discriminator.parameters(), LEARNING_RATE,
                             betas=(BETA_1, BETA_2))
    opt_g = torch.optim.Adam(generator.parameters(), LEARNING_RATE,
                             betas=(BETA_1, BETA_2))
    bce = nn.BCEWithLogitsLoss()
    generator.train()
    discriminator.train()

    # NCHW once; batches are gathered on the host and copied to the device
    # every step, as Keras's fit does with an in-memory array.
    data = torch.from_numpy(images.transpose(0, 3, 1, 2).copy())
    if device.type == "cuda":
        data = data.pin_memory()
    batch = opts.batch_size
    ones = torch.ones(batch, 1, device=device)
    zeros = torch.zeros(batch, 1, device=device)
    d_params = list(discriminator.parameters())
    state = {"steps": 0}

    def train_step(real):
        # Discriminator step: real and generated halves in two passes, as
        # kerasgen does; no gradient through the generator.
        with torch.no_grad():
            fake = generator(torch.randn(batch, LATENT_DIM, device=device))
        opt_d.zero_grad(set_to_none=True)
        d_loss = bce(discriminator(real), ones) + bce(discriminator(fake), zeros)
        d_loss.backward()
        opt_d.step()
        # Generator step on fresh latents (pytorch/examples reuses the D
        # step's images; kerasgen draws new ones). D's weights get no
        # gradient here, as in kerasgen, which differentiates G's only.
        for p in d_params:
            p.requires_grad_(False)
        opt_g.zero_grad(set_to_none=True)
        g_loss = bce(
            discriminator(generator(torch.randn(batch, LATENT_DIM, device=device))),
            ones,
        )
        g_loss.backward()
        opt_g.step()
        for p in d_params:
            p.requires_grad_(True)
        state["steps"] += 1
        return d_loss.detach(), g_loss.detach()

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    class Loop:
        """`fit(x, steps_per_epoch=n)` for the timing helper: one shuffled
        epoch of `n` batches, losses averaged on the device."""

        def fit(self, x, steps_per_epoch, **unused):
            order = torch.randperm(len(data))
            total = torch.zeros(2, device=device)
            for i in range(steps_per_epoch):
                index = order[i * batch:(i + 1) * batch]
                real = data[index].to(device, non_blocking=True)
                d_loss, g_loss = train_step(real)
                total += torch.stack([d_loss, g_loss])
            return (total / steps_per_epoch).tolist()  # syncs, as fit's logs

    label = "torch"
    log(label, f"torch {torch.__version__} on {device}")
    result = time_fit(Loop(), images, opts, label,
                      iterations=lambda: state["steps"], sync=sync)
    result.update(
        params={"generator": counts(generator),
                "discriminator": counts(discriminator)},
        summary=f"{generator}\n{discriminator}",
        info={
            "torch": torch.__version__,
            "device": str(device),
            "gpus": [torch.cuda.get_device_name(0)] if device.type == "cuda" else [],
            "cudnn": torch.backends.cudnn.version() if device.type == "cuda" else None,
        },
    )
    return result


WORKERS = {"kerasgen": run_kerasgen, "keras_io": run_keras_io, "torch": run_torch}


def worker_main(opts):
    images, source = load_images(opts.mnist)
    images = fit_array(images, opts.batch_size,
                       max(opts.steps, opts.warmup_steps))
    result = WORKERS[opts.worker](opts, images)
    result["data"] = source
    result["num_images"] = len(images)
    Path(opts.worker_out).write_text(json.dumps(result))


# --- Driver --------------------------------------------------------------------


def run_worker(impl, opts):
    """Runs one implementation in a fresh process and returns its result."""
    env = dict(os.environ)
    env["KERAS_BACKEND"] = opts.backend
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        cmd = [
            sys.executable, str(Path(__file__).resolve()),
            "--backend", opts.backend,
            "--steps", str(opts.steps),
            "--repeats", str(opts.repeats),
            "--warmup-steps", str(opts.warmup_steps),
            "--batch-size", str(opts.batch_size),
            "--seed", str(opts.seed),
            "--mnist", str(opts.mnist),
            "--ref-d-pass", opts.ref_d_pass,
        ] + (["--ref-keras-auto-jit"] if opts.ref_keras_auto_jit else []) + [
            "--worker", impl, "--worker-out", str(out),
        ] + (["--xla"] if opts.xla else [])
        where = "" if impl == "torch" else f" (KERAS_BACKEND={opts.backend})"
        print(f"{LABELS[impl]}: starting{where}", flush=True)
        # Progress goes to stdout; stderr (TF/XLA start-up chatter) is shown
        # only when the worker fails, or with --verbose.
        proc = subprocess.run(
            cmd, env=env, cwd=str(REPO_ROOT),
            stderr=None if opts.verbose else subprocess.PIPE, text=True,
        )
        if proc.returncode != 0 or not out.is_file():
            tail = (proc.stderr or "").strip().splitlines()[-25:]
            print("\n".join(f"  | {line}" for line in tail), file=sys.stderr)
            return {"error": f"worker exited with status {proc.returncode}"}
        return json.loads(out.read_text())


def check_params(results, ref_name):
    """Parameter counts of kerasgen's networks and the reference's: whether
    they match (None when one side is missing) and the lines to print."""
    ours = results.get("kerasgen", {}).get("params")
    theirs = results.get(ref_name, {}).get("params")
    if not ours and not theirs:
        return None, []
    lines, match = [], True
    for net in ("generator", "discriminator"):
        for kind in ("trainable", "total"):
            a = ours[net][kind] if ours else None
            b = theirs[net][kind] if theirs else None
            match &= a == b
            verdict = ("ok" if a == b else "MISMATCH") if ours and theirs else ""
            a = "n/a" if a is None else f"{a:,}"
            b = "n/a" if b is None else f"{b:,}"
            lines.append(f"  {net:<13} {kind:<9} kerasgen {a:>9}   "
                         f"{ref_name} {b:>9}   {verdict}")
    return (match if ours and theirs else None), lines


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Training images/s of kerasgen's DCGAN (MNIST shapes) "
                    "next to a plain reference of the same architecture.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--backend", choices=sorted(IMPLEMENTATIONS),
                        default="tensorflow",
                        help="tensorflow: vs a keras-io style train_step; "
                             "jax: vs PyTorch")
    parser.add_argument("--steps", type=int, default=50,
                        help="batches per timed fit")
    parser.add_argument("--repeats", type=int, default=3,
                        help="timed fits per implementation (median reported)")
    parser.add_argument("--warmup-steps", type=int, default=5,
                        help="batches per warm-up fit (two warm-up fits)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--xla", action="store_true",
                        help="TensorFlow: jit_compile=True for both (JAX "
                             "always compiles with XLA)")
    parser.add_argument("--ref-d-pass", choices=("concat", "split"),
                        default="concat",
                        help="TF reference: one discriminator pass on real + "
                             "fake (keras-io) or one per half (kerasgen)")
    parser.add_argument("--ref-keras-auto-jit", action="store_true",
                        help="TF reference: Keras's own jit_compile='auto' "
                             "(XLA when TF sees a GPU) instead of False")
    parser.add_argument("--only", choices=("kerasgen", "reference"),
                        help="measure one side only")
    parser.add_argument("--verbose", action="store_true",
                        help="show the workers' stderr (TF/XLA logs)")
    parser.add_argument("--summaries", action="store_true",
                        help="print the Keras summaries and the PyTorch modules")
    parser.add_argument("--mnist", default=str(DEFAULT_MNIST),
                        help="idx3 .gz images; uniform noise when missing")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", metavar="PATH", help="also write results as JSON")
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--worker-out", help=argparse.SUPPRESS)
    opts = parser.parse_args(argv)
    if min(opts.steps, opts.repeats, opts.warmup_steps, opts.batch_size) < 1:
        parser.error("--steps, --repeats, --warmup-steps and --batch-size "
                     "must be positive")

    if opts.worker:
        os.environ["KERAS_BACKEND"] = opts.backend  # before Keras is imported
        return worker_main(opts)

    impls = IMPLEMENTATIONS[opts.backend]
    if opts.only == "kerasgen":
        impls = impls[:1]
    elif opts.only == "reference":
        impls = impls[1:]
    jit = ("XLA (jit_compile=True) on both" if opts.xla
           else "plain tf.function on both (jit_compile=False / kerasgen 'auto')")
    if opts.ref_keras_auto_jit:
        jit = (f"kerasgen {'XLA' if opts.xla else 'plain tf.function'}, "
               "reference with Keras's jit_compile='auto'")
    if opts.backend == "jax":
        jit = "kerasgen jitted with XLA (as always on JAX); PyTorch eager"
    print(f"DCGAN training throughput, MNIST shapes (28x28x1, latent {LATENT_DIM}, "
          f"G/D filters {FILTERS}), batch {opts.batch_size}, {opts.steps} steps "
          f"x {opts.repeats} repeats, backend {opts.backend}: {jit}", flush=True)

    results = {impl: run_worker(impl, opts) for impl in impls}

    machine = machine_info()
    print()
    data = next((r["data"] for r in results.values() if "data" in r), None)
    print(f"data:     {data}")
    print(f"machine:  {machine['cpu_model'] or machine['processor']} "
          f"(platform.processor()={machine['processor']!r}), "
          f"{machine['cpu_count']} CPUs, {machine['platform']}")
    for impl, r in results.items():
        info = r.get("info", {})
        versions = ", ".join(f"{k} {info[k]}" for k in
                             ("keras", "tensorflow", "jax", "jaxlib", "torch")
                             if info.get(k))
        where = ", ".join(info.get("gpus") or []) or "no GPU (CPU)"
        if info:
            print(f"{impl + ':':<9} {versions}; {where}")

    print()
    medians = {}
    for impl, r in results.items():
        if "images_per_s" in r:
            medians[impl] = statistics.median(r["images_per_s"])
            runs = ", ".join(f"{x:.1f}" for x in r["images_per_s"])
            cpu = statistics.median(r["cpu_ms_per_step"])
            print(f"{LABELS[impl]:<34} {medians[impl]:>10.1f} images/s "
                  f"(median; runs: {runs}; process CPU {cpu:.1f} ms/step)")
        else:
            what = "skipped" if "skipped" in r else "FAILED"
            reason = r.get("skipped") or r.get("error")
            print(f"{LABELS[impl]:<34} {what}: {reason}")
    ratio = None
    if len(medians) == 2:
        ratio = medians["kerasgen"] / medians[impls[1]]
        print(f"{'ratio kerasgen / reference':<34} {ratio:>10.3f}")

    params_match, lines = check_params(results, IMPLEMENTATIONS[opts.backend][1])
    if lines:
        print()
        print("parameter counts (total includes BatchNorm moving statistics):")
        print("\n".join(lines))
        if params_match is False:
            print("WARNING: the networks differ; the comparison is not like "
                  "for like.")
    if opts.summaries:
        for impl, r in results.items():
            if r.get("summary"):
                print(f"\n--- {impl} ---\n{r['summary']}")

    if opts.json:
        record = {
            "benchmark": "dcgan_throughput",
            "config": {
                "backend": opts.backend, "xla": opts.xla,
                "batch_size": opts.batch_size, "steps": opts.steps,
                "repeats": opts.repeats, "warmup_steps": opts.warmup_steps,
                "ref_d_pass": opts.ref_d_pass,
                "ref_keras_auto_jit": opts.ref_keras_auto_jit,
                "image_shape": [28, 28, 1],
                "latent_dim": LATENT_DIM, "filters": FILTERS, "seed": opts.seed,
            },
            "data": data,
            "machine": machine,
            "results": {
                impl: {k: v for k, v in r.items() if k != "summary"}
                | ({"median_images_per_s": medians[impl]} if impl in medians else {})
                for impl, r in results.items()
            },
            "ratio_kerasgen_over_reference": ratio,
            "params_match": params_match,
        }
        Path(opts.json).write_text(json.dumps(record, indent=2) + "\n")
        print(f"\nwrote {opts.json}")
    failed = any("error" in r for r in results.values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
