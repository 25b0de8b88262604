"""Training on several devices and processes gives what one device gives.

Two logical CPU devices stand in for two GPUs, and two processes on
127.0.0.1 for two machines: each run trains the same global batches as a
one-device run, and the weights must agree to float32 rounding (the
replicas sum their gradients in another order than one device does).
"""

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import zipfile

import h5py
import numpy as np
import pytest

import keras

from backends import backend_independent

BACKEND = keras.backend.backend()

# Weights after a few Adam steps agree to this (measured: 1e-8 to 3e-6; a
# replica that drew the other replica's latents, or normalized with its own
# rows, is off by 1e-4 and more).
TOLERANCE = 2e-5

# Small configurations of the three families the issue names: BatchNorm
# (DCGAN), the gradient penalty (WGAN-GP), the pool and the jitter (CycleGAN).
FAMILIES = {
    "dcgan": "kerasgen.DCGAN(image_size=8, latent_dim=4, generator_filters=4, "
             "discriminator_filters=4, seed=1)",
    "wgan-gp": "kerasgen.WGANGP(image_size=8, latent_dim=4, generator_filters=4, "
               "critic_filters=4, n_critic=2, seed=1)",
    "cyclegan": "kerasgen.CycleGAN(image_size=16, generator_filters=4, "
                "discriminator_filters=4, num_residual_blocks=1, "
                "discriminator_layers=2, pool_size=3, seed=1)",
}

_COMPARE = """
import json, os, sys
import numpy as np
{setup}
import keras, kerasgen

def make(family, sync=False):
    keras.utils.set_random_seed(0)
    model = eval(FAMILIES[family])
    if sync:
        for layer in model._flatten_layers():
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.synchronized = True
    model.compile()
    return model

def fit(model, family):
    rng = np.random.default_rng(0)
    if family == "cyclegan":
        a, b = (rng.uniform(-1, 1, (8, 16, 16, 3)).astype("float32") for _ in "ab")
        model.fit(a, b, batch_size=4, epochs=1, shuffle=False, verbose=0)
    else:
        x = rng.uniform(-1, 1, (32, 8, 8, 1)).astype("float32")
        model.fit(x, batch_size=16, epochs=1, shuffle=False, verbose=0)

def values(model):
    out = []
    for v in model.weights + model.optimizer.variables:
        value = v.value
        value = value.values[0] if hasattr(value, "values") else value
        out.append(np.asarray(keras.ops.convert_to_numpy(value), "float64"))
    return out

FAMILIES = json.loads(sys.argv[1])
report = {{}}
for family in FAMILIES:
    one = make(family)
    fit(one, family)
    for sync in {syncs}[family]:
        with {scope}:
            two = make(family, sync)
        fit(two, family)
        gap = max(float(np.abs(a - b).max()) for a, b in zip(values(one), values(two)))
        report[f"{{family}} sync={{sync}}"] = gap
print(json.dumps(report))
"""


def _run_script(script, env=None, timeout=600):
    env = dict(os.environ, **(env or {}))
    out = subprocess.run([sys.executable, "-c", script, json.dumps(FAMILIES)],
                         env=env, capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(BACKEND != "tensorflow", reason="tf.distribute is TensorFlow's")
def test_mirrored_strategy_trains_as_one_device():
    setup = textwrap.dedent("""
        import tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    """)
    # BatchNorm both ways for DCGAN; WGAN-GP's generator has BatchNorm too;
    # the CycleGAN has none (instance norm).
    syncs = {"dcgan": (True, False), "wgan-gp": (True,), "cyclegan": (False,)}
    script = _COMPARE.format(setup=setup, syncs=syncs, scope="strategy.scope()")
    report = _run_script(script, {"KERAS_BACKEND": "tensorflow"})
    assert report["dcgan sync=True"] < TOLERANCE, report
    assert report["wgan-gp sync=True"] < TOLERANCE, report
    assert report["cyclegan sync=False"] < TOLERANCE, report
    # Each replica normalizing with its own 8 rows is another computation
    # (1e-3 measured): the choice --sync-batchnorm offers is a real one.
    assert report["dcgan sync=False"] > 10 * TOLERANCE, report


@pytest.mark.skipif(BACKEND != "jax", reason="keras.distribution on JAX")
def test_jax_data_parallel_trains_as_one_device():
    setup = textwrap.dedent("""
        import jax
        assert len(jax.devices()) == 2, jax.devices()
        import keras
        distribution = keras.distribution.DataParallel(devices=jax.devices())
        from kerasgen.training.distribute import _distribution_set
    """)
    script = _COMPARE.format(setup=setup, syncs={family: (False,) for family in FAMILIES},
                             scope="_distribution_set(distribution)")
    # fit() must run with the distribution set too: the scope covers only
    # building, so set it for the whole second half.
    script = script.replace(
        "        fit(two, family)",
        "            fit(two, family)\n"
        "            assert len(two.weights[0].value.sharding.device_set) == 2")
    report = _run_script(script, {
        "KERAS_BACKEND": "jax",
        "XLA_FLAGS": "--xla_force_host_platform_device_count=2"})
    for family in FAMILIES:
        assert report[f"{family} sync=False"] < TOLERANCE, report


# --- The command line: processes, checkpoints --------------------------------

TINY = ["--steps", "4", "--batch-size", "16", "--checkpoint-every", "2",
        "--sample-every", "2", "--num-samples", "4", "--no-tensorboard",
        "--set", "generator_filters=8", "--set", "discriminator_filters=8"]


def _free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _environment(**extra):
    env = dict(os.environ, PYTHONUNBUFFERED="1", TF_CPP_MIN_LOG_LEVEL="2",
               KERAS_BACKEND=BACKEND)
    env.pop("TF_CONFIG", None)
    env.update(extra)
    return env


def _kerasgen(args, cwd, env=None):
    return subprocess.Popen([sys.executable, "-m", "kerasgen.cli", *map(str, args)],
                            cwd=cwd, env=env or _environment(), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _finish(process, timeout=300):
    output, _ = process.communicate(timeout=timeout)
    assert process.returncode == 0, output[-3000:]
    return output


def _workers(args, cwd):
    """Two processes of one run: TF_CONFIG (TensorFlow) or the
    jax.distributed variables (JAX)."""
    ports = _free_ports(2)
    processes = []
    for index in range(2):
        if BACKEND == "tensorflow":
            env = _environment(TF_CONFIG=json.dumps({
                "cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
                "task": {"type": "worker", "index": index}}))
        else:
            env = _environment(JAX_COORDINATOR_ADDRESS=f"127.0.0.1:{ports[0]}",
                               JAX_NUM_PROCESSES="2", JAX_PROCESS_ID=str(index))
        processes.append(_kerasgen(
            ["train", *args, "--strategy", "multi-worker"], cwd, env))
    return processes


def checkpoint_weights(path):
    """Every array of a `.keras` file's weights (model and optimizers)."""
    arrays = {}
    with zipfile.ZipFile(path) as archive, archive.open("model.weights.h5") as f:
        with h5py.File(f, "r") as h5:
            h5.visititems(lambda name, item: arrays.__setitem__(name, item[()])
                          if isinstance(item, h5py.Dataset) else None)
    return arrays


def assert_same_weights(path_a, path_b, tolerance=TOLERANCE):
    a, b = checkpoint_weights(path_a), checkpoint_weights(path_b)
    assert sorted(a) == sorted(b)
    gaps = {k: float(np.abs(np.asarray(a[k], "float64") - np.asarray(b[k], "float64")).max())
            for k in a if np.asarray(a[k]).dtype.kind == "f"}
    assert max(gaps.values()) < tolerance, sorted(gaps.items(), key=lambda kv: -kv[1])[:3]


def test_two_processes_train_as_one(tmp_path):
    """DCGAN through `kerasgen train`: two processes (MultiWorkerMirrored
    from TF_CONFIG, or jax.distributed) against one, the same weights; only
    process 0 writes the run folder."""
    sync = ["--sync-batchnorm"] if BACKEND == "tensorflow" else []
    one = _kerasgen(["train", "dcgan", "--out", "one", *TINY], tmp_path)
    _finish(one)
    outputs = [_finish(p) for p in _workers(["dcgan", "--out", "two", *TINY, *sync],
                                           tmp_path)]
    assert "2 replicas in 2 processes" in outputs[0], outputs[0][-2000:]
    assert_same_weights(tmp_path / "one" / "checkpoint.keras",
                        tmp_path / "two" / "checkpoint.keras")
    # The other process's scratch folder is gone once it is done.
    assert sorted(p.name for p in (tmp_path / "two").iterdir() if p.name.startswith(".w")) == []


@pytest.mark.skipif(BACKEND != "tensorflow", reason="the TensorFlow run executes it; "
                    "JAX's checkpoints are the same files")
def test_a_checkpoint_moves_between_strategies(tmp_path):
    """Two steps on two replicas, two on one device, two on two replicas
    again: the same weights as the same three pieces on one device (each
    piece reads a fresh stream seeded by its first step, so pieces are
    compared with pieces)."""
    args = ["train", "dcgan", *TINY, "--sync-batchnorm"]
    mirrored = ["--strategy", "mirrored", "--cpu-devices", "2"]
    for out, strategies in (("one", ([], [], [])), ("moved", (mirrored, [], mirrored))):
        for steps, strategy in zip((2, 4, 6), strategies):
            resume = ["--resume"] if steps > 2 else []
            output = _finish(_kerasgen(
                args + ["--out", out, "--steps", steps, *resume, *strategy], tmp_path))
            if strategy:
                assert "mirrored: 2 replicas" in output
            if resume:
                assert f"at step {steps - 2}" in output
    assert_same_weights(tmp_path / "one" / "checkpoint.keras",
                        tmp_path / "moved" / "checkpoint.keras")


@pytest.mark.slow
def test_a_killed_worker_resumes_from_the_last_checkpoint(tmp_path):
    """A worker killed mid-run (SIGKILL): the run is restarted with --resume
    on both processes, goes on from the chief's last checkpoint and ends
    with one loss row per step and whole, finite weights. (Weights are not
    compared with one process here: over 200 GAN steps the all-reduce's
    rounding grows chaotically; the short runs above compare them.)"""
    args = ["dcgan", "--out", "run", *TINY, "--steps", "200",
            "--checkpoint-every", "10", "--sample-every", "200"]
    if BACKEND == "tensorflow":
        args.append("--sync-batchnorm")
    processes = _workers(args, tmp_path)
    checkpoint = tmp_path / "run" / "checkpoint.keras"
    deadline = time.time() + 240
    while not checkpoint.exists() and time.time() < deadline:
        time.sleep(0.5)
    assert checkpoint.exists(), processes[0].communicate(timeout=30)[0][-2000:]
    time.sleep(2)
    processes[1].send_signal(signal.SIGKILL)
    # The chief loses its peer: it fails or waits; it is stopped either way.
    time.sleep(3)
    processes[0].send_signal(signal.SIGKILL)
    for process in processes:
        process.communicate(timeout=60)
    # Whatever the kill interrupted, the checkpoint is whole.
    saved = checkpoint_weights(checkpoint)
    assert saved
    resumed = [_finish(p, timeout=600) for p in _workers(args + ["--resume"], tmp_path)]
    step = int(resumed[0].split("at step ")[1].split()[0])
    assert step > 0 and step % 10 == 0, resumed[0][-2000:]
    assert "(step 200)" in resumed[0]
    # One loss row per step, none twice (the rows the killed run wrote past
    # its checkpoint were dropped), and finite weights at the end.
    import csv
    with open(tmp_path / "run" / "losses.csv") as f:
        steps = [int(row[0]) for row in list(csv.reader(f))[1:]]
    assert steps == list(range(1, 201))
    for name, value in checkpoint_weights(checkpoint).items():
        assert np.isfinite(np.asarray(value, "float64")).all(), name


# --- One-line errors ------------------------------------------------------------


def test_strategy_mistakes_are_one_line_errors(tmp_path):
    from cli_helpers import assert_one_line_error
    from cli_helpers import train_tiny

    os.environ.pop("TF_CONFIG", None)
    result = train_tiny(tmp_path / "a", "--strategy", "multi-worker", "--steps", "1")
    assert_one_line_error(result)
    assert ("TF_CONFIG" if BACKEND == "tensorflow" else "JAX_COORDINATOR_ADDRESS") \
        in result.stderr or BACKEND == "jax"
    result = train_tiny(tmp_path / "b", "--mixed-precision", "float16",
                        "--precision", "mixed_bfloat16", "--steps", "1")
    assert_one_line_error(result)
    assert "--mixed-precision or --precision" in result.stderr
    result = train_tiny(tmp_path / "c", "--strategy", "tpu", "--steps", "1")
    assert_one_line_error(result)
    assert "found no TPU" in result.stderr


def test_cli_names_every_strategy():
    from kerasgen.cli import train
    from kerasgen.training import distribute

    assert train.STRATEGIES == distribute.STRATEGIES


@backend_independent  # the driver's logic; each backend's path is tested above
def test_throughput_benchmark_small_configuration(tmp_path):
    """The CPU part of benchmarks/throughput.py, in its small configuration:
    every model, strategy and precision trains and gets a number."""
    out = tmp_path / "throughput.json"
    script = os.path.join(os.path.dirname(__file__), "..", "benchmarks", "throughput.py")
    result = subprocess.run(
        [sys.executable, script, "--small", "--backends", BACKEND,
         "--strategies", "one-device,mirrored", "--precisions", "float32,mixed_bfloat16",
         "--xla", "off", "--json", str(out)],
        env=_environment(), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["failed"] == [] and report["machine"]
    combos = {(r["model"], r["strategy"], r["replicas"], r["precision"])
              for r in report["runs"]}
    assert combos == {(m, s, n, p) for m in ("dcgan-mnist", "cyclegan-128")
                      for s, n in (("one-device", 1), ("mirrored", 2))
                      for p in ("float32", "mixed_bfloat16")}, combos
    assert all("failed" not in r and r["images_per_second"] > 0 and r["small"]
               for r in report["runs"]), report["runs"]


# --- Mixed precision from the command line -------------------------------------


def test_mixed_float16_logs_its_loss_scales(tmp_path):
    from cli_helpers import train_tiny

    result = train_tiny(tmp_path / "run", "--mixed-precision", "float16", "--steps", "2")
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["train"]["precision"] == "mixed_float16"
    with open(tmp_path / "run" / "losses.csv") as f:
        header = f.readline().strip().split(",")
        rows = [line.strip().split(",") for line in f]
    columns = [c for c in header if c.startswith("loss_scale_")]
    assert sorted(columns) == ["loss_scale_discriminator", "loss_scale_generator"]
    # Keras's dynamic scale starts at 2**15; a finite step keeps it there.
    for row in rows:
        assert float(row[header.index("loss_scale_generator")]) == 2.0 ** 15


def test_a_falling_loss_scale_is_reported_once(capsys):
    from kerasgen.cli.callbacks import LossScaleWatch

    watch = LossScaleWatch()
    watch.step = 0
    for scale in (2.0 ** 15, 1.0, 0.5, 0.25):
        watch.on_train_batch_end(0, {"d_loss": 1.0, "loss_scale_generator": scale,
                                     "loss_scale_discriminator": 4.0})
    err = capsys.readouterr().err
    assert err.count("Warning") == 1
    assert "step 3" in err and "'generator' fell to 0.5" in err


@pytest.mark.skipif(BACKEND != "tensorflow", reason="--xla is TensorFlow's choice")
def test_xla_that_cannot_compile_is_a_one_line_error(tmp_path):
    """TensorFlow's XLA has no kernel for the bicubic resize of CycleGAN's
    jitter: the run says so in one line instead of a traceback."""
    from cli_helpers import assert_one_line_error
    from cli_helpers import invoke

    result = invoke("train", "cyclegan", "--xla", "--steps", "1", "--out", tmp_path / "run",
                    "--no-tensorboard", "--set", "image_size=16",
                    "--set", "generator_filters=4", "--set", "discriminator_filters=4",
                    "--set", "num_residual_blocks=1", "--set", "discriminator_layers=2")
    assert_one_line_error(result)
    assert "no XLA kernel for ResizeBicubic" in result.stderr
