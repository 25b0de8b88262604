"""Tests of kerasgen.export and `kerasgen export`.

Export runs through TensorFlow. On the TensorFlow run, one module-scoped
fixture exports three tiny models (a DCGAN with EMA, a Bernoulli VAE and a
conditional Gaussian VAE) once, as a SavedModel and as the three TFLite
variants, and ONE subprocess that never imports kerasgen loads every file
and computes the outputs for fixed inputs; the parity tests compare those
with Keras. On the JAX run those tests are skipped (the TF run executes
them); the JAX run checks the clear error of exporting on JAX and that a
checkpoint it saves exports under TensorFlow.
"""

import json
import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from click.testing import CliRunner

import keras

import kerasgen
import kerasgen.export
from cli_helpers import assert_one_line_error
from kerasgen.cli.main import cli
from kerasgen.export import serving
from kerasgen.export import signatures
from kerasgen.models.serving import Endpoint
from kerasgen.models.serving import Input

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)
ON_TF = keras.backend.backend() == "tensorflow"
tf_only = pytest.mark.skipif(
    not ON_TF, reason="export runs through TensorFlow: the KERAS_BACKEND=tensorflow run executes this"
)

# Tolerances. SavedModel vs Keras 1e-5 and TFLite float32 vs Keras 1e-4, as
# the issue asks. For the quantized files, (mean, max) absolute error bounds
# about ten times what these tiny models measure (outputs in [-1, 1]; worst
# over all signatures: float16 mean 8.6e-5, max 2.1e-4; dynamic int8 mean
# 3.7e-4, max 1.3e-3), and about three times for full-integer int8 (mean
# 6.4e-3, max 2.0e-2; calibrated on the models' own latents and samples, not
# on these inputs). A trained DCGAN errs more: see export/GUIDE.md.
QUANT_TOLERANCE = {"float16": (1e-3, 3e-3), "dynamic-int8": (4e-3, 1.5e-2),
                   "int8": (2e-2, 6e-2)}


def env(**extra):
    return dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", **extra)


def run(args, timeout=300, **extra_env):
    return subprocess.run(
        [str(a) for a in args], env=env(**extra_env), capture_output=True,
        text=True, timeout=timeout, cwd=ROOT,
    )


def perturb(network, seed):
    """Moves every weight (so that an export using the wrong copy shows)."""
    rng = np.random.default_rng(seed)
    values = []
    for variable in network.weights:
        value = np.array(variable)
        if "variance" in variable.path:
            values.append(np.abs(value) + rng.uniform(0.5, 1.5, value.shape))
        else:
            values.append(value + 0.1 * rng.standard_normal(value.shape))
    network.set_weights([v.astype("float32") for v in values])


# The adversarial families beside GAN/DCGAN: each declares the generator
# endpoints of `LatentGenerator` (conditional ones take labels).
OTHER_GENERATORS = {
    "WGAN": dict(image_size=8, latent_dim=16, generator_filters=4, critic_filters=4),
    "WGANGP": dict(image_size=8, latent_dim=16, generator_filters=4, critic_filters=4),
    "ConditionalGAN": dict(image_size=8, latent_dim=16, num_classes=3,
                           generator_filters=4, discriminator_filters=4),
    "ACGAN": dict(image_size=8, latent_dim=16, num_classes=3,
                  generator_filters=4, discriminator_filters=4),
}


def tiny_models():
    keras.utils.set_random_seed(0)
    dcgan = kerasgen.DCGAN(image_size=8, latent_dim=16, generator_filters=8,
                           discriminator_filters=4, ema_decay=0.9)
    perturb(dcgan.generator_ema, 1)  # the export must serve the EMA copy
    vae = kerasgen.VAE(image_size=8, latent_dim=8, filters=8)
    cvae = kerasgen.VAE(image_size=8, latent_dim=8, filters=8, num_classes=3,
                        reconstruction="gaussian")
    models = {"dcgan": dcgan, "vae": vae, "cvae": cvae}
    # The other generator families, as generators (conditional ones take labels).
    for family, kwargs in OTHER_GENERATORS.items():
        models[family] = getattr(kerasgen, family)(**kwargs)
    return models


def fixed_inputs():
    rng = np.random.default_rng(42)
    return {
        "dcgan_z": rng.standard_normal((3, 16)).astype("float32"),
        "vae_z": rng.standard_normal((3, 8)).astype("float32"),
        "images": rng.uniform(-1, 1, (3, 8, 8, 1)).astype("float32"),
        "labels": np.array([0, 2, 1], "int32"),
    }


def keras_outputs(models, inputs):
    dcgan, vae, cvae = models["dcgan"], models["vae"], models["cvae"]
    labels = inputs["labels"]
    vae_mean, vae_log_var = vae.encode(inputs["images"])
    cvae_mean, cvae_log_var = cvae.encode(inputs["images"], labels)
    return {
        "dcgan/generate/images": dcgan.decode(inputs["dcgan_z"]),
        "vae/encode/mean": vae_mean,
        "vae/encode/log_var": vae_log_var,
        "vae/decode/images": vae.decode(inputs["vae_z"]),
        "vae/reconstruct/images": vae.reconstruct(inputs["images"]),
        "cvae/encode/mean": cvae_mean,
        "cvae/encode/log_var": cvae_log_var,
        "cvae/decode/images": cvae.decode(inputs["vae_z"], labels),
        "cvae/reconstruct/images": cvae.reconstruct(inputs["images"], labels),
        **{
            f"{family}/generate/images": models[family].decode(
                inputs["dcgan_z"], *([labels] if getattr(models[family], "num_classes", 0) else []))
            for family in OTHER_GENERATORS
        },
    }


# The requests each family's signatures get: (signature, {input: array key}).
CALLS = {
    "dcgan": [("generate", {"z": "dcgan_z"})],
    "vae": [("encode", {"images": "images"}), ("decode", {"z": "vae_z"}),
            ("reconstruct", {"images": "images"})],
    "cvae": [("encode", {"images": "images", "labels": "labels"}),
             ("decode", {"z": "vae_z", "labels": "labels"}),
             ("reconstruct", {"images": "images", "labels": "labels"})],
    "WGAN": [("generate", {"z": "dcgan_z"})],
    "WGANGP": [("generate", {"z": "dcgan_z"})],
    "ConditionalGAN": [("generate", {"z": "dcgan_z", "labels": "labels"})],
    "ACGAN": [("generate", {"z": "dcgan_z", "labels": "labels"})],
}

# Loads every exported file WITHOUT kerasgen and writes what each returns.
SERVER_SCRIPT = textwrap.dedent('''
    import json, sys
    import numpy as np
    import tensorflow as tf
    from ai_edge_litert.interpreter import Interpreter

    job = json.load(open(sys.argv[1]))
    inputs = dict(np.load(job["inputs"]))
    results, info = {}, {"signatures": {}, "tflite_signatures": {}, "int8_tensors": {}}
    for family, path in job["saved_models"].items():
        loaded = tf.saved_model.load(path)
        info["signatures"][family] = sorted(loaded.signatures.keys())
        for signature, feeds in job["calls"][family]:
            function = loaded.signatures[signature]
            outputs = function(**{k: tf.constant(inputs[v]) for k, v in feeds.items()})
            for key, value in outputs.items():
                results[f"saved_model/{family}/{signature}/{key}"] = value.numpy()
            # A REST request in the "instances" (row) format, built as the
            # guide builds it, mapped to tensors the way TF Serving maps it:
            # each named input is the stack of the instances' values.
            n = len(inputs[next(iter(feeds.values()))])
            body = json.dumps({"signature_name": signature, "instances": [
                {k: inputs[v][i].tolist() for k, v in feeds.items()} for i in range(n)]})
            request = json.loads(body)
            specs = function.structured_input_signature[1]
            tensors = {k: tf.constant(np.stack([row[k] for row in request["instances"]]),
                                      dtype=specs[k].dtype) for k in specs}
            outputs = function(**tensors)
            predictions = [{k: v[i].numpy().tolist() for k, v in outputs.items()} for i in range(n)]
            reply = json.loads(json.dumps({"predictions": predictions}))
            for key in outputs:
                results[f"rest/{family}/{signature}/{key}"] = np.array(
                    [row[key] for row in reply["predictions"]])
        if family == "dcgan":
            seeded = loaded.signatures["generate_from_seed"]
            a = seeded(seed=tf.constant(7, tf.int64), n=tf.constant(3))["images"].numpy()
            b = seeded(seed=tf.constant(7, tf.int64), n=tf.constant(3))["images"].numpy()
            z = tf.random.stateless_normal([3, 16], seed=[7, 0])
            c = loaded.signatures["generate"](z=z)["images"].numpy()
            results["seeded/dcgan/a"], results["seeded/dcgan/b"] = a, b
            results["seeded/dcgan/via_generate"] = c
        if family == "cvae":
            seeded = loaded.signatures["generate_from_seed"]
            out = seeded(seed=tf.constant(1, tf.int64), labels=tf.constant([0, 1, 2, 2]))
            results["seeded/cvae/images"] = out["images"].numpy()
    for family, files in job["tflite"].items():
        for quantize, path in files.items():
            interpreter = Interpreter(model_path=path)
            interpreter.allocate_tensors()
            info["tflite_signatures"][f"{family}/{quantize}"] = interpreter.get_signature_list()
            info["int8_tensors"][f"{family}/{quantize}"] = sum(
                d["dtype"] == np.int8 for d in interpreter.get_tensor_details())
            for signature, feeds in job["calls"][family]:
                runner = interpreter.get_signature_runner(signature)
                outputs = runner(**{k: inputs[v] for k, v in feeds.items()})
                for key, value in outputs.items():
                    results[f"tflite-{quantize}/{family}/{signature}/{key}"] = value
    info["kerasgen_imported"] = "kerasgen" in sys.modules
    info["keras_imported"] = "keras" in sys.modules
    np.savez(job["results"], **results)
    json.dump(info, open(job["info"], "w"))
''')


def build_exports(root):
    """Exports the tiny models into `root`, runs the server script on them
    and saves Keras's outputs beside; returns nothing (all on disk)."""
    models = tiny_models()
    inputs = fixed_inputs()
    out = root / "serving"
    saved, tflite_files = {}, {}
    for family, model in models.items():
        saved[family] = kerasgen.export.saved_model(model, out, name=family)
        tflite_files[family] = {
            q: kerasgen.export.tflite(model, root / "tflite", quantize=q, name=family)
            for q in kerasgen.export.QUANTIZATIONS
        }
    np.savez(root / "inputs.npz", **inputs)
    job = {
        "inputs": str(root / "inputs.npz"), "saved_models": saved,
        "tflite": tflite_files, "calls": CALLS,
        "results": str(root / "results.npz"), "info": str(root / "info.json"),
    }
    (root / "job.json").write_text(json.dumps(job))
    (root / "server.py").write_text(SERVER_SCRIPT)
    expected = keras_outputs(models, inputs)
    # What the DCGAN's raw (not averaged) generator gives, to tell them apart.
    expected["raw/dcgan/generate/images"] = keras.ops.convert_to_numpy(
        models["dcgan"].generator(inputs["dcgan_z"], training=False))
    np.savez(root / "expected.npz", **expected)
    # Run from an empty folder, so that the repository is not on sys.path.
    work = root / "elsewhere"
    work.mkdir()
    result = subprocess.run(
        [sys.executable, str(root / "server.py"), str(root / "job.json")],
        env=env(), capture_output=True, text=True, timeout=300, cwd=work,
    )
    assert result.returncode == 0, result.stderr[-4000:]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """The exports, built once per test session: with pytest-xdist, the first
    worker to get here builds them and the others wait and read them."""
    if not ON_TF:
        pytest.skip("export runs through TensorFlow: the KERAS_BACKEND=tensorflow run executes this")
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # this session's folder, shared by its workers
    root = base / "kerasgen-export-shared"
    root.mkdir(exist_ok=True)
    try:
        os.mkdir(root / ".building")
        builder = True
    except FileExistsError:
        builder = False
    if builder:
        try:
            build_exports(root)
        except BaseException as error:
            (root / ".failed").write_text(repr(error)[:4000])
            raise
        (root / ".done").write_text("")
    else:
        deadline = time.monotonic() + 600
        while not (root / ".done").exists():
            if (root / ".failed").exists():
                pytest.fail("building the exports failed in another worker: "
                            + (root / ".failed").read_text())
            if time.monotonic() > deadline:
                pytest.fail("timed out waiting for another worker to build the exports")
            time.sleep(0.5)
    job = json.loads((root / "job.json").read_text())
    return {
        "root": root, "out": root / "serving",
        "inputs": dict(np.load(root / "inputs.npz")),
        "saved": job["saved_models"], "tflite": job["tflite"],
        "expected": dict(np.load(root / "expected.npz")),
        "results": dict(np.load(root / "results.npz")),
        "info": json.loads((root / "info.json").read_text()),
    }


def to_uint8(images):
    return np.clip(np.round((images + 1.0) * 127.5), 0, 255).astype("uint8")


# --- parity ---------------------------------------------------------------------


def test_loaded_without_kerasgen(exported):
    assert exported["info"]["kerasgen_imported"] is False


def test_saved_model_signatures(exported):
    signatures = exported["info"]["signatures"]
    for family in ("dcgan", *OTHER_GENERATORS):
        assert signatures[family] == ["generate", "generate_from_seed", "serving_default"]
    for family in ("vae", "cvae"):
        assert signatures[family] == [
            "decode", "encode", "generate_from_seed", "log_prob", "reconstruct",
            "serving_default"
        ]


@pytest.mark.parametrize("source, atol", [("saved_model", 1e-5), ("rest", 1e-5),
                                          ("tflite-none", 1e-4)])
def test_parity_with_keras(exported, source, atol):
    results, expected = exported["results"], exported["expected"]
    for key, want in expected.items():
        if key.startswith("raw/"):
            continue
        got = results[f"{source}/{key}"]
        assert got.shape == want.shape, key
        np.testing.assert_allclose(got, want, atol=atol, rtol=0, err_msg=f"{source}/{key}")
        if key.endswith("/images"):
            uint8 = results[f"{source}/{key}_uint8"]
            assert uint8.dtype == np.uint8 or source == "rest"
            # Rounding at .5 may differ by one level between runtimes.
            assert np.abs(uint8.astype(int) - to_uint8(want).astype(int)).max() <= 1


@pytest.mark.parametrize("quantize", ["float16", "dynamic-int8", "int8"])
def test_quantized_tflite_close_to_keras(exported, quantize):
    mean_bound, max_bound = QUANT_TOLERANCE[quantize]
    results = exported["results"]
    for key, want in exported["expected"].items():
        if key.startswith("raw/"):
            continue
        got = results[f"tflite-{quantize}/{key}"]
        error = np.abs(got - want)
        assert error.mean() < mean_bound, (key, float(error.mean()))
        assert error.max() < max_bound, (key, float(error.max()))
    if quantize == "dynamic-int8":
        # The dense layers (>= 1024 weights) really are stored as int8.
        for family in ("dcgan", "vae", "cvae"):
            assert exported["info"]["int8_tensors"][f"{family}/{quantize}"] > 0, family


def test_tflite_files_keep_named_signatures(exported):
    signatures = exported["info"]["tflite_signatures"]
    assert signatures["dcgan/none"] == {
        "generate": {"inputs": ["z"], "outputs": ["images", "images_uint8"]}
    }
    assert set(signatures["cvae/dynamic-int8"]) == {"encode", "decode", "reconstruct",
                                                     "log_prob"}
    assert sorted(signatures["cvae/float16"]["decode"]["inputs"]) == ["labels", "z"]
    assert sorted(signatures["vae/none"]["encode"]["outputs"]) == ["log_var", "mean"]


def test_generate_from_seed_is_deterministic_and_draws_in_graph(exported):
    results = exported["results"]
    np.testing.assert_array_equal(results["seeded/dcgan/a"], results["seeded/dcgan/b"])
    np.testing.assert_allclose(results["seeded/dcgan/a"], results["seeded/dcgan/via_generate"],
                               atol=1e-6)
    assert results["seeded/cvae/images"].shape == (4, 8, 8, 1)


def test_export_serves_the_ema_generator(exported):
    raw = exported["expected"]["raw/dcgan/generate/images"]
    served = exported["results"]["saved_model/dcgan/generate/images"]
    assert np.abs(raw - served).max() > 1e-3  # and served == EMA: see the parity tests


# --- saved_model_cli ------------------------------------------------------------


@tf_only
def test_saved_model_cli_show_and_run(exported):
    path = exported["saved"]["dcgan"]
    shown = run([os.path.join(BIN, "saved_model_cli"), "show", "--dir", path, "--all"])
    assert shown.returncode == 0, shown.stderr[-2000:]
    text = shown.stdout
    for expected in ("signature_def['generate']", "signature_def['generate_from_seed']",
                     "signature_def['serving_default']", "inputs['z'] tensor_info",
                     "inputs['seed'] tensor_info", "dtype: DT_INT64",
                     "outputs['images_uint8'] tensor_info", "dtype: DT_UINT8",
                     "shape: (-1, 16)", "shape: (-1, 8, 8, 1)"):
        assert expected in text, expected
    out_dir = exported["root"] / f"cli_run_{os.getpid()}"
    z = exported["inputs"]["dcgan_z"]
    np.save(out_dir.with_suffix(".npy"), z)
    ran = run([os.path.join(BIN, "saved_model_cli"), "run", "--dir", path, "--tag_set", "serve",
               "--signature_def", "generate", "--inputs", f"z={out_dir.with_suffix('.npy')}",
               "--outdir", out_dir])
    assert ran.returncode == 0, ran.stderr[-2000:]
    images = np.load(out_dir / "images.npy")
    assert images.shape == (3, 8, 8, 1) and images.dtype == np.float32
    np.testing.assert_allclose(images, exported["expected"]["dcgan/generate/images"], atol=1e-5)
    assert np.load(out_dir / "images_uint8.npy").dtype == np.uint8


# --- layout -----------------------------------------------------------------------


def test_models_config_lists_every_model(exported):
    text = (exported["out"] / "models.config").read_text()
    families = ("dcgan", "vae", "cvae", *OTHER_GENERATORS)
    for family in families:
        assert f'name: "{family}"' in text
        assert f'base_path: "/models/{family}"' in text
    assert text.count("config {") == len(families)
    assert sorted(os.listdir(exported["out"] / "dcgan")) == ["1"]


@tf_only
def test_versions_go_up_and_are_never_overwritten(tmp_path):
    model = kerasgen.DCGAN(image_size=8, latent_dim=4, generator_filters=4,
                           discriminator_filters=4)
    (tmp_path / "dcgan" / ".tmp-1-stale").mkdir(parents=True)  # left by a killed export
    first = kerasgen.export.saved_model(model, tmp_path)
    second = kerasgen.export.saved_model(model, tmp_path)
    assert first.endswith(os.path.join("dcgan", "1")) and second.endswith(os.path.join("dcgan", "2"))
    seventh = kerasgen.export.saved_model(model, tmp_path, version=7)
    assert kerasgen.export.saved_model(model, tmp_path) == str(tmp_path / "dcgan" / "8")
    with pytest.raises(ValueError, match="never overwritten"):
        kerasgen.export.saved_model(model, tmp_path, version=2)
    assert os.path.isfile(os.path.join(seventh, "saved_model.pb"))
    with pytest.raises(ValueError, match="model name"):
        kerasgen.export.saved_model(model, tmp_path, name="../x")


@tf_only
def test_interrupted_export_leaves_no_version_folder(tmp_path, monkeypatch):
    import tensorflow as tf

    model = kerasgen.DCGAN(image_size=8, latent_dim=4, generator_filters=4,
                           discriminator_filters=4)
    kerasgen.export.saved_model(model, tmp_path)
    real_save = tf.saved_model.save

    def save_then_die(obj, path, *args, **kwargs):
        real_save(obj, path, *args, **kwargs)  # a complete-looking folder
        os.remove(os.path.join(path, "saved_model.pb"))
        raise KeyboardInterrupt  # killed before the rename

    monkeypatch.setattr(tf.saved_model, "save", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        kerasgen.export.saved_model(model, tmp_path)
    assert sorted(os.listdir(tmp_path / "dcgan")) == ["1"]  # no "2", no temp folder
    assert serving.versions(tmp_path / "dcgan") == [1]


@tf_only
def test_killed_export_process_leaves_only_a_hidden_temp_folder(tmp_path):
    # A real process killed (SIGKILL) after writing the whole SavedModel,
    # just before the rename that publishes it: the worst moment.
    code = textwrap.dedent(f'''
        import os, signal, kerasgen, kerasgen.export
        model = kerasgen.DCGAN(image_size=8, latent_dim=4, generator_filters=4,
                               discriminator_filters=4)
        def die(*args, **kwargs):
            os.kill(os.getpid(), signal.SIGKILL)
        os.rename = die
        kerasgen.export.saved_model(model, {str(tmp_path)!r})
        print("not killed")
    ''')
    result = run([sys.executable, "-c", code], KERAS_BACKEND="tensorflow")
    assert result.returncode == -9, result.stderr[-2000:]
    entries = os.listdir(tmp_path / "dcgan")
    assert len(entries) == 1 and entries[0].startswith(".tmp-"), entries
    assert os.path.isfile(tmp_path / "dcgan" / entries[0] / "saved_model.pb")
    assert serving.versions(tmp_path / "dcgan") == []


# --- TFLite errors ----------------------------------------------------------------


@tf_only
def test_unsupported_op_is_named_with_the_family(tmp_path):
    model = kerasgen.DCGAN(image_size=8, latent_dim=4, generator_filters=4,
                           discriminator_filters=4)
    with pytest.raises(kerasgen.export.UnsupportedOpsError,
                       match=r"StatelessRandomNormalV2.*DCGAN.*select_tf_ops=True"):
        kerasgen.export.tflite(model, tmp_path, signatures=["generate_from_seed"])
    with pytest.raises(ValueError, match="quantize"):
        kerasgen.export.tflite(model, tmp_path, quantize="int4")
    assert not list(tmp_path.glob("*.tflite"))
    # The explicit option converts it, with the TF kernels inside (running it
    # needs the Flex delegate, which ai-edge-litert's interpreter lacks).
    from ai_edge_litert.interpreter import Interpreter

    path = kerasgen.export.tflite(model, tmp_path, select_tf_ops=True)
    signatures = Interpreter(model_path=path).get_signature_list()
    assert sorted(signatures) == ["generate", "generate_from_seed"]
    assert sorted(signatures["generate_from_seed"]["inputs"]) == ["n", "seed"]


# --- full-integer int8 ---------------------------------------------------------------

# The int8 file of the 32x32 DCGAN below against its float32 file, on 16
# latents, in absolute error of `images` (outputs in [-1, 1]): measured mean
# 1.1e-3, max 4.0e-3; bounded at about three times that.
INT8_VS_FLOAT32 = (4e-3, 1.2e-2)


def ops_with_input_dtypes(path):
    """`[(op name, [input dtypes])]` of a TFLite file, from the interpreter's
    op and tensor details (without XNNPACK, whose nodes replace the ops)."""
    from ai_edge_litert.interpreter import Interpreter
    from ai_edge_litert.interpreter import OpResolverType

    interpreter = Interpreter(
        model_path=str(path),
        experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    interpreter.allocate_tensors()
    dtypes = {t["index"]: np.dtype(t["dtype"]) for t in interpreter.get_tensor_details()}
    return [(op["op_name"], [dtypes[int(i)] for i in op["inputs"] if int(i) >= 0])
            for op in interpreter._get_ops_details()]


@tf_only
def test_int8_file_is_full_integer_small_and_close_to_float32(tmp_path):
    from ai_edge_litert.interpreter import Interpreter

    keras.utils.set_random_seed(0)
    # Big enough (1.2 MB in float32) that the weights, not the graph, set the size.
    model = kerasgen.DCGAN(image_size=32, latent_dim=64, generator_filters=32,
                           discriminator_filters=4)
    float32 = kerasgen.export.tflite(model, tmp_path, quantize="none")
    int8 = kerasgen.export.tflite(model, tmp_path, quantize="int8", calibration_steps=50)
    assert os.path.basename(int8) == "dcgan.int8.tflite"
    assert os.path.getsize(int8) < 0.3 * os.path.getsize(float32)
    # The matrix ops take int8 activations and int8 weights (int32 biases).
    matrix = [(op, dtypes) for op, dtypes in ops_with_input_dtypes(int8)
              if op in ("FULLY_CONNECTED", "CONV_2D", "TRANSPOSE_CONV")]
    assert sorted({op for op, _ in matrix}) == ["FULLY_CONNECTED", "TRANSPOSE_CONV"]
    for op, dtypes in matrix:
        assert np.dtype("float32") not in dtypes, (op, dtypes)
        assert dtypes.count(np.dtype("int8")) == 2, (op, dtypes)
    assert kerasgen.export.litert.float_matrix_ops(open(int8, "rb").read()) == []
    float_ops = [op for op, dtypes in ops_with_input_dtypes(float32)]
    assert "FULLY_CONNECTED" in float_ops and "QUANTIZE" not in float_ops

    # The same signature, inputs and outputs as the float32 file.
    reference, quantized = Interpreter(model_path=float32), Interpreter(model_path=int8)
    assert quantized.get_signature_list() == reference.get_signature_list()
    want_runner = reference.get_signature_runner("generate")
    got_runner = quantized.get_signature_runner("generate")
    assert ({k: v["dtype"] for k, v in got_runner.get_input_details().items()}
            == {k: v["dtype"] for k, v in want_runner.get_input_details().items()})
    z = np.random.default_rng(7).standard_normal((16, 64)).astype("float32")
    want, got = want_runner(z=z), got_runner(z=z)
    assert got["images"].dtype == np.float32 and got["images_uint8"].dtype == np.uint8
    error = np.abs(got["images"] - want["images"])
    assert error.mean() < INT8_VS_FLOAT32[0], float(error.mean())
    assert error.max() < INT8_VS_FLOAT32[1], float(error.max())
    # images_uint8 is its own images in [0, 255] (computed in float32: in
    # int8, x + 1 took the scale of (x + 1) * 127.5 and was off by 64 levels).
    levels = np.abs(got["images_uint8"].astype(int) - to_uint8(got["images"]).astype(int))
    assert levels.max() <= 1


@tf_only
def test_representative_inputs_follow_the_declared_inputs():
    from kerasgen.export.calibration import representative_dataset
    from kerasgen.export.calibration import representative_inputs

    cvae = kerasgen.VAE(image_size=8, latent_dim=4, filters=4, num_classes=3)
    inputs = representative_inputs(cvae, ["decode", "encode"], steps=6)
    assert inputs["decode"]["z"].shape == (6, 4)
    labels = inputs["decode"]["labels"]
    assert labels.dtype == np.int32 and labels.min() >= 0 and labels.max() < 3
    images = inputs["encode"]["images"]  # no data: the model's own samples
    assert images.shape == (6, 8, 8, 1) and np.abs(images).max() <= 1
    data = np.random.default_rng(0).uniform(-1, 1, (4, 8, 8, 1)).astype("float32")
    inputs = representative_inputs(cvae, ["encode"], data=data, steps=6)
    np.testing.assert_array_equal(inputs["encode"]["images"], data[[0, 1, 2, 3, 0, 1]])
    batches = list(representative_dataset(inputs, batch_size=4)())
    assert [(key, value["images"].shape) for key, value in batches] == [
        ("encode", (4, 8, 8, 1)), ("encode", (4, 8, 8, 1))]

    # A model that does not sample needs data for its image inputs.
    cyclegan = kerasgen.CycleGAN(image_size=16, generator_filters=4, discriminator_filters=4,
                                 num_residual_blocks=1, discriminator_layers=1)
    with pytest.raises(ValueError) as error:
        representative_inputs(cyclegan, steps=2)
    assert "\n" not in str(error.value) and "--calibration-data" in str(error.value)

    # An input it does not know (a scalar) is refused, naming it, unless given.
    critic = tiny(CriticDCGAN)
    with pytest.raises(ValueError, match=r"'temperature' \(a float32 scalar\) of signature "
                                         r"'score'.*representative_data"):
        representative_inputs(critic, steps=2)
    inputs = representative_inputs(critic, steps=3, representative_data={
        "score": {"temperature": np.float32(2.0)}})
    assert inputs["score"]["images"].shape == (3, 8, 8, 1)
    assert [value["temperature"].shape for _, value in representative_dataset(inputs)()] == [
        ()] * 3


@tf_only
def test_int8_refuses_calibration_of_the_wrong_shape_in_one_line(tmp_path):
    vae = kerasgen.VAE(image_size=8, latent_dim=4, filters=4)
    calls = [
        dict(calibration_data=np.zeros((4, 5, 5, 1), "float32")),
        dict(calibration_data=np.full((4, 8, 8, 1), np.nan, "float32")),
        dict(representative_data={"decode": {"z": np.zeros((4, 3), "float32")}}),
        dict(representative_data={"generate": {"z": np.zeros((4, 4), "float32")}}),
        dict(calibration_data=str(tmp_path / "missing")),
    ]
    for kwargs in calls:
        with pytest.raises(ValueError) as error:
            kerasgen.export.tflite(vae, tmp_path, quantize="int8", **kwargs)
        assert "\n" not in str(error.value), kwargs
    with pytest.raises(ValueError, match="quantize='int8' only"):
        kerasgen.export.tflite(vae, tmp_path, quantize="float16",
                               calibration_data=np.zeros((4, 8, 8, 1), "float32"))
    assert not list(tmp_path.glob("*.tflite"))


@tf_only
def test_cli_int8_calibrates_on_data_and_refuses_bad_data_in_one_line(tmp_path):
    from PIL import Image

    keras.utils.set_random_seed(0)
    model = kerasgen.CycleGAN(image_size=16, generator_filters=4, discriminator_filters=4,
                              num_residual_blocks=1, discriminator_layers=1)
    model.save(tmp_path / "m.keras")
    rng = np.random.default_rng(0)
    for domain in ("trainA", "trainB"):
        (tmp_path / "data" / domain).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(rng.integers(0, 256, (20, 20, 3), dtype=np.uint8)).save(
                tmp_path / "data" / domain / f"{i}.png")
    (tmp_path / "loose").mkdir()
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(tmp_path / "loose" / "a.png")
    base = ["export", str(tmp_path / "m.keras"), "--format", "tflite", "--out",
            str(tmp_path / "out")]
    bad = [
        ([], "needs examples of its data", 1),  # a translation model samples nothing
        (["--calibration-data", str(tmp_path / "missing")], "no such file or folder", 2),
        (["--calibration-data", str(tmp_path / "loose")], "has no trainA/ and trainB/", 1),
        (["--calibration-steps", "0"], "--calibration-steps", 2),
    ]
    for extra, message, code in bad:
        result = CliRunner().invoke(cli, base + ["--quantize", "none", "--quantize", "int8"]
                                    + extra)
        assert_one_line_error(result, code)
        assert message in result.stderr, result.stderr
    result = CliRunner().invoke(cli, base + ["--calibration-data", str(tmp_path / "data")])
    assert_one_line_error(result, 2)
    assert "--quantize int8 only" in result.stderr
    assert not (tmp_path / "out").exists()  # nothing written by a refused export

    result = CliRunner().invoke(cli, base + ["--quantize", "int8", "--calibration-data",
                                             str(tmp_path / "data"), "--calibration-steps", "4"])
    assert result.exit_code == 0, result.output
    assert os.listdir(tmp_path / "out") == ["m.int8.tflite"]
    assert "(int8," in result.stdout
    ops = ops_with_input_dtypes(tmp_path / "out" / "m.int8.tflite")
    convolutions = [dtypes for op, dtypes in ops if op in ("CONV_2D", "TRANSPOSE_CONV")]
    assert convolutions and all(np.dtype("float32") not in d for d in convolutions)


# --- backends ---------------------------------------------------------------------


@pytest.mark.skipif(ON_TF, reason="checks the error raised on the JAX backend")
def test_export_on_jax_says_to_use_tensorflow(tmp_path):
    model = kerasgen.DCGAN(image_size=8, latent_dim=4, generator_filters=4,
                           discriminator_filters=4)
    for export in (kerasgen.export.saved_model, kerasgen.export.tflite):
        with pytest.raises(RuntimeError, match="KERAS_BACKEND=tensorflow"):
            export(model, tmp_path)


def test_checkpoint_saved_on_jax_exports_on_tensorflow(tmp_path):
    pytest.importorskip("jax")
    checkpoint = tmp_path / "run" / "checkpoint.keras"
    checkpoint.parent.mkdir()
    save = ("import keras, kerasgen, numpy as np\n"
            "keras.utils.set_random_seed(3)\n"
            "m = kerasgen.VAE(image_size=8, latent_dim=4, filters=4)\n"
            f"m.save({str(checkpoint)!r})\n"
            f"np.save({str(tmp_path / 'expected.npy')!r}, m.decode(np.ones((2, 4))))\n")
    if ON_TF:
        saved = run([sys.executable, "-c", save], KERAS_BACKEND="jax")
        assert saved.returncode == 0, saved.stderr[-2000:]
        path = CliRunner().invoke(cli, ["export", str(checkpoint.parent), "--out",
                                        str(tmp_path / "out")])
        assert path.exit_code == 0, path.output
    else:
        exec(save, {})
        # Started on JAX, the command starts itself again on TensorFlow.
        exported_cli = run([sys.executable, "-m", "kerasgen.cli", "export",
                            checkpoint.parent, "--out", tmp_path / "out"],
                           KERAS_BACKEND="jax")
        assert exported_cli.returncode == 0, exported_cli.stderr[-2000:]
    version = tmp_path / "out" / "run" / "1"
    check = ("import numpy as np, tensorflow as tf\n"
             f"f = tf.saved_model.load({str(version)!r}).signatures['decode']\n"
             "print(np.abs(f(z=tf.ones((2, 4)))['images'].numpy() - "
             f"np.load({str(tmp_path / 'expected.npy')!r})).max())\n")
    if ON_TF:
        exec(check.replace("print(", "error = ("), scope := {})
        assert scope["error"] < 1e-5
    else:
        checked = run([sys.executable, "-c", check])
        assert checked.returncode == 0, checked.stderr[-2000:]
        assert float(checked.stdout.split()[-1]) < 1e-5


# --- CLI ------------------------------------------------------------------------------


def test_cli_refuses_a_name_that_is_neither_a_path_nor_a_preset():
    result = CliRunner().invoke(cli, ["export", "dcgan-mnits"])
    assert_one_line_error(result, 2)
    assert "No such checkpoint or zoo preset: dcgan-mnits" in result.stderr


def test_cli_refuses_quantize_for_saved_model(tmp_path):
    result = CliRunner().invoke(cli, ["export", str(tmp_path / "x.keras"),
                                      "--quantize", "float16"])
    assert_one_line_error(result)
    assert "--quantize applies to --format tflite" in result.stderr


@pytest.mark.skipif(ON_TF, reason="checks the error raised on the JAX backend")
def test_cli_on_jax_in_process_says_to_use_tensorflow(tmp_path):
    model = kerasgen.DCGAN(image_size=8, latent_dim=4, generator_filters=4,
                           discriminator_filters=4)
    model.save(tmp_path / "m.keras")
    result = CliRunner().invoke(cli, ["export", str(tmp_path / "m.keras")])
    assert_one_line_error(result)
    assert "KERAS_BACKEND=tensorflow" in result.stderr


@tf_only
def test_cli_exports_tflite_variants_and_prints_sizes(tmp_path):
    model = kerasgen.DCGAN(image_size=8, latent_dim=4, generator_filters=4,
                           discriminator_filters=4)
    model.save(tmp_path / "m.keras")
    result = CliRunner().invoke(cli, [
        "export", str(tmp_path / "m.keras"), "--format", "tflite", "--out",
        str(tmp_path / "out"), "--quantize", "none", "--quantize", "float16", "--batch", "2",
    ])
    assert result.exit_code == 0, result.output
    assert sorted(os.listdir(tmp_path / "out")) == ["m.float16.tflite", "m.tflite"]
    assert "bytes)" in result.stdout and "float16" in result.stdout
    from ai_edge_litert.interpreter import Interpreter

    runner = Interpreter(model_path=str(tmp_path / "out" / "m.tflite")).get_signature_runner("generate")
    assert runner.get_input_details()["z"]["shape_signature"].tolist() == [2, 4]


# --- export follows declarations -----------------------------------------------------


@keras.saving.register_keras_serializable(package="kerasgen_tests")
class SilentDCGAN(kerasgen.DCGAN):
    """A DCGAN that declares no endpoints: export must not fall back on what
    its class is."""

    def serving_endpoints(self):
        return []


@keras.saving.register_keras_serializable(package="kerasgen_tests")
class CriticDCGAN(kerasgen.DCGAN):
    """A DCGAN that serves only its discriminator's scores, in a dict: what
    it declares, not its class, decides what is exported."""

    serving_default = "score"

    def serving_endpoints(self):
        images = Input("images", "float32", (None, self.image_size, self.image_size, 1))
        temperature = Input("temperature", "float32")  # a scalar, no batch

        def score(images, temperature):
            logits = keras.ops.cast(self.discriminator(images, training=False), "float32")
            return {"logits": logits, "scaled": logits / temperature}

        return [Endpoint("score", (images, temperature), score, images=False)]


class Undeclared(kerasgen.GenerativeModel):
    """No networks and the base class's empty declaration."""


def tiny(cls):
    return cls(image_size=8, latent_dim=4, generator_filters=4, discriminator_filters=4)


def test_a_model_declaring_no_endpoints_is_refused_in_one_line():
    for model in (Undeclared(), keras.Sequential([keras.layers.Dense(1)])):
        kind = type(model).__name__
        with pytest.raises(ValueError) as error:
            signatures.signature_names(model)
        message = str(error.value)
        assert "\n" not in message
        assert message.startswith(f"{kind} declares no serving endpoints")
        assert message.endswith(f"Received: model of type {kind}")


def test_a_serving_default_not_declared_is_refused():
    class Misnamed(CriticDCGAN):
        serving_default = "generate"

    with pytest.raises(ValueError, match=r"serving_default='generate' is not one of .*'score'"):
        signatures.signature_names(tiny(Misnamed))


@tf_only
def test_export_refuses_a_model_declaring_no_endpoints(tmp_path):
    model = tiny(SilentDCGAN)
    for export in (kerasgen.export.saved_model, kerasgen.export.tflite):
        with pytest.raises(ValueError, match=r"^SilentDCGAN declares no serving endpoints.*"
                                             r"Received: model of type SilentDCGAN$"):
            export(model, tmp_path / "out")
    assert not (tmp_path / "out").exists()  # refused before anything is written
    model.save(tmp_path / "silent.keras")
    result = CliRunner().invoke(cli, ["export", str(tmp_path / "silent.keras"),
                                      "--out", str(tmp_path / "out")])
    assert_one_line_error(result)
    assert "SilentDCGAN declares no serving endpoints" in result.stderr
    assert not (tmp_path / "out").exists()


@tf_only
def test_export_serves_exactly_the_declared_endpoint(tmp_path):
    import tensorflow as tf
    from ai_edge_litert.interpreter import Interpreter

    keras.utils.set_random_seed(0)
    model = tiny(CriticDCGAN)
    assert signatures.signature_names(model) == ["score"]
    path = kerasgen.export.saved_model(model, tmp_path)
    assert path == str(tmp_path / "dcgan" / "1")  # the registered name it inherits
    loaded = tf.saved_model.load(path)
    assert sorted(loaded.signatures.keys()) == ["score", "serving_default"]
    score = loaded.signatures["score"]
    specs = score.structured_input_signature[1]
    assert {k: (v.dtype, v.shape.as_list()) for k, v in specs.items()} == {
        "images": (tf.float32, [None, 8, 8, 1]), "temperature": (tf.float32, [])}
    images = np.random.default_rng(0).uniform(-1, 1, (3, 8, 8, 1)).astype("float32")
    want = keras.ops.convert_to_numpy(model.discriminator(images, training=False))
    for function in (score, loaded.signatures["serving_default"]):
        got = function(images=tf.constant(images), temperature=tf.constant(2.0))
        assert sorted(got) == ["logits", "scaled"]  # no images/images_uint8 added
        np.testing.assert_allclose(got["logits"].numpy(), want, atol=1e-5, rtol=0)
        np.testing.assert_allclose(got["scaled"].numpy(), want / 2, atol=1e-5, rtol=0)
    file = kerasgen.export.tflite(model, tmp_path, name="critic")
    interpreter = Interpreter(model_path=file)
    assert interpreter.get_signature_list() == {
        "score": {"inputs": ["images", "temperature"], "outputs": ["logits", "scaled"]}}
    got = interpreter.get_signature_runner("score")(images=images,
                                                    temperature=np.array(2.0, "float32"))
    np.testing.assert_allclose(got["logits"], want, atol=1e-4, rtol=0)


def test_describe_signatures_lists_the_declared_endpoints():
    lines = signatures.describe_signatures(tiny(CriticDCGAN))
    assert lines[2:] == [
        "| `score` (= `serving_default`) | `images` float32 `(n, 8, 8, 1)`, "
        "`temperature` float32 `()` | `logits` `(n, 1)`, `scaled` `(n, 1)` |  |"
    ]
    lines = signatures.describe_signatures(kerasgen.VAE(image_size=8, latent_dim=2, filters=4))
    assert [line.split(" |")[0] for line in lines[2:]] == [
        "| `decode` (= `serving_default`)", "| `encode`", "| `reconstruct`",
        "| `generate_from_seed`", "| `log_prob`"]
    assert "`mean` `(n, 2)`, `log_var` `(n, 2)`" in lines[3]


def test_default_model_names_are_the_registered_names():
    from kerasgen.models import family_names

    for name in family_names():  # "wgan-gp" has a dash: TF Serving takes it
        serving.check_model_name(name)
    assert signatures.default_model_name(tiny(CriticDCGAN)) == "dcgan"
    assert signatures.default_model_name(Undeclared()) == "undeclared"  # not registered
