"""Export of the image-to-image families (CycleGAN, Pix2Pix).

As in tests/test_export.py: on the TensorFlow run, one module fixture
exports a tiny CycleGAN (through `kerasgen.export`) and a tiny Pix2Pix
(through `kerasgen export`, from a checkpoint) as a SavedModel and a float32
TFLite file, and ONE subprocess that never imports kerasgen runs every
signature on fixed images; the tests compare with `model.translate`. On
the JAX run they are skipped, as in tests/test_export.py.
"""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from click.testing import CliRunner

import keras

import kerasgen
from kerasgen.cli.main import cli
from kerasgen.export import signatures

ON_TF = keras.backend.backend() == "tensorflow"


def tiny_cyclegan():
    return kerasgen.CycleGAN(image_size=16, generator_filters=4, discriminator_filters=4,
                             num_residual_blocks=1, discriminator_layers=1)


def tiny_pix2pix(direction="b2a"):
    return kerasgen.Pix2Pix(image_size=8, generator_filters=4, discriminator_filters=4,
                            discriminator_layers=1, direction=direction)


@pytest.mark.skipif(not ON_TF, reason="export is TensorFlow's: the TF run checks this "
                    "(building the models costs the JAX run ~20 s of first-call compiles)")
def test_signature_names_of_the_translation_families():
    cyclegan, pix2pix = tiny_cyclegan(), tiny_pix2pix()
    assert signatures.signature_names(cyclegan) == ["translate_a2b", "translate_b2a"]
    assert signatures.signature_names(pix2pix) == ["translate"]
    assert signatures.default_model_name(cyclegan) == "cyclegan"
    assert signatures.default_model_name(pix2pix) == "pix2pix"


# Loads the exports WITHOUT kerasgen (or Keras) and runs every signature.
SERVER_SCRIPT = textwrap.dedent('''
    import json, sys
    import numpy as np
    import tensorflow as tf
    from ai_edge_litert.interpreter import Interpreter

    job = json.load(open(sys.argv[1]))
    results, info = {}, {"signatures": {}, "tflite_signatures": {}}
    for family, path in job["saved_models"].items():
        loaded = tf.saved_model.load(path)
        info["signatures"][family] = sorted(loaded.signatures.keys())
        images = tf.constant(np.load(job["inputs"][family]))
        for name in loaded.signatures.keys():
            for key, value in loaded.signatures[name](images=images).items():
                results[f"saved_model/{family}/{name}/{key}"] = value.numpy()
    for family, path in job["tflite"].items():
        interpreter = Interpreter(model_path=path)
        info["tflite_signatures"][family] = interpreter.get_signature_list()
        images = np.load(job["inputs"][family])
        for name in interpreter.get_signature_list():
            outputs = interpreter.get_signature_runner(name)(images=images)
            for key, value in outputs.items():
                results[f"tflite/{family}/{name}/{key}"] = value
    info["kerasgen_imported"] = "kerasgen" in sys.modules
    info["keras_imported"] = "keras" in sys.modules
    np.savez(job["results"], **results)
    json.dump(info, open(job["info"], "w"))
''')


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    if not ON_TF:
        pytest.skip("export runs through TensorFlow: the KERAS_BACKEND=tensorflow run executes this")
    import kerasgen.export

    root = tmp_path_factory.mktemp("translation-export")
    keras.utils.set_random_seed(0)
    cyclegan, pix2pix = tiny_cyclegan(), tiny_pix2pix()
    rng = np.random.default_rng(7)
    inputs = {
        "cyclegan": rng.uniform(-1, 1, (3, 16, 16, 3)).astype("float32"),
        "pix2pix": rng.uniform(-1, 1, (3, 8, 8, 3)).astype("float32"),
    }
    saved = {"cyclegan": kerasgen.export.saved_model(cyclegan, root / "serving")}
    tflite = {"cyclegan": kerasgen.export.tflite(cyclegan, root / "tflite")}
    # The Pix2Pix goes through the command line, from a checkpoint.
    pix2pix.save(root / "p2p.keras")
    for format_ in ("saved_model", "tflite"):
        result = CliRunner().invoke(cli, [
            "export", str(root / "p2p.keras"), "--format", format_, "--out",
            str(root / ("serving" if format_ == "saved_model" else "tflite")),
        ])
        assert result.exit_code == 0, result.output + result.stderr
    saved["pix2pix"] = str(root / "serving" / "p2p" / "1")
    tflite["pix2pix"] = str(root / "tflite" / "p2p.tflite")

    expected = {
        "cyclegan/a2b": cyclegan.translate(inputs["cyclegan"], "a2b"),
        "cyclegan/b2a": cyclegan.translate(inputs["cyclegan"], "b2a"),
        "pix2pix/b2a": pix2pix.translate(inputs["pix2pix"]),
    }
    job = {
        "saved_models": saved, "tflite": tflite,
        "inputs": {family: str(root / f"{family}.npy") for family in inputs},
        "results": str(root / "results.npz"), "info": str(root / "info.json"),
    }
    for family, images in inputs.items():
        np.save(job["inputs"][family], images)
    (root / "job.json").write_text(json.dumps(job))
    (root / "server.py").write_text(SERVER_SCRIPT)
    work = root / "elsewhere"  # not the repository: kerasgen is not importable by path
    work.mkdir()
    result = subprocess.run(
        [sys.executable, str(root / "server.py"), str(root / "job.json")],
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"), capture_output=True,
        text=True, timeout=300, cwd=work,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return {
        "expected": expected,
        "results": dict(np.load(job["results"])),
        "info": json.loads((root / "info.json").read_text()),
    }


def test_loaded_without_kerasgen(exported):
    assert exported["info"]["kerasgen_imported"] is False


def test_saved_model_and_tflite_signatures(exported):
    info = exported["info"]
    assert info["signatures"]["cyclegan"] == [
        "serving_default", "translate_a2b", "translate_b2a"]
    assert info["signatures"]["pix2pix"] == ["serving_default", "translate"]
    io = {"inputs": ["images"], "outputs": ["images", "images_uint8"]}
    assert info["tflite_signatures"]["cyclegan"] == {"translate_a2b": io, "translate_b2a": io}
    assert info["tflite_signatures"]["pix2pix"] == {"translate": io}


# SavedModel vs Keras 1e-5 and TFLite float32 vs Keras 1e-4, as in test_export.py.
@pytest.mark.parametrize("source, atol", [("saved_model", 1e-5), ("tflite", 1e-4)])
def test_parity_with_translate(exported, source, atol):
    results, expected = exported["results"], exported["expected"]
    calls = [
        ("cyclegan", "translate_a2b", "cyclegan/a2b"),
        ("cyclegan", "translate_b2a", "cyclegan/b2a"),
        ("pix2pix", "translate", "pix2pix/b2a"),
    ]
    if source == "saved_model":
        calls += [("cyclegan", "serving_default", "cyclegan/a2b"),
                  ("pix2pix", "serving_default", "pix2pix/b2a")]
    for family, signature, key in calls:
        want = expected[key]
        got = results[f"{source}/{family}/{signature}/images"]
        assert got.shape == want.shape, (family, signature)
        np.testing.assert_allclose(got, want, atol=atol, rtol=0,
                                   err_msg=f"{source}/{family}/{signature}")
        uint8 = results[f"{source}/{family}/{signature}/images_uint8"]
        assert uint8.dtype == np.uint8
        reference = np.clip(np.round((want + 1.0) * 127.5), 0, 255)
        assert np.abs(uint8.astype(int) - reference.astype(int)).max() <= 1
