"""Every registered family through every command, on its demo recipe.

Parametrized over the registry, so a family added under `kerasgen/models/`
is covered here without editing this file: `kerasgen train` a few steps on
the embedded data, then `sample`, `translate` or `swap` (whichever the
family declares; the others must answer in one line), and on TensorFlow `export`
to a SavedModel and a TFLite file whose every builtin signature matches the
family's own endpoint run in Keras.
"""

import os

import keras
import numpy as np
import pytest

from cli_helpers import assert_one_line_error, invoke, output_atol

from kerasgen.models import get_family
from kerasgen.models import registry
from kerasgen.models.interfaces import WaveformGenerator
from kerasgen.models.interfaces import provides

ON_TF = keras.backend.backend() == "tensorflow"


def endpoint_inputs(endpoint, rng):
    """Fixed inputs for an endpoint: two of everything."""
    values = []
    for spec in endpoint.inputs:
        shape = [2 if d is None else d for d in spec.shape]
        if spec.dtype == "float32":
            value = rng.uniform(-1, 1, shape).astype("float32")
        elif spec.name == "seed":
            value = np.array(3, spec.dtype)
        elif spec.name == "n":
            value = np.array(2, spec.dtype)
        elif spec.name == "steps":
            value = np.array(3, spec.dtype)
        else:  # labels
            value = np.arange(int(np.prod(shape)) or 0).reshape(shape).astype(spec.dtype) % 2
        values.append(value)
    return values


def keras_outputs(endpoint, values):
    out = endpoint.function(*[keras.ops.convert_to_tensor(v) for v in values])
    if endpoint.images:
        out = {"images": out}
    return {k: keras.ops.convert_to_numpy(v).astype("float32") for k, v in out.items()}


@pytest.fixture(scope="module", params=registry.family_names())
def trained(request, tmp_path_factory):
    """A run folder of `family` trained 2 steps on its demo recipe."""
    family = request.param
    folder = tmp_path_factory.mktemp(family) / "run"
    result = invoke("train", family, "--steps", 2, "--sample-every", 2,
                    "--checkpoint-every", 2, "--no-tensorboard", "--out", folder)
    assert result.exit_code == 0, result.output
    assert os.path.isfile(folder / "checkpoint.keras")
    return family, folder


#: What each way of using a model runs on the command line, with the
#: command a refusal points to.
USES = ("sample", "translate", "swap")


def test_sample_translate_or_swap_as_declared(trained, tmp_path):
    family, folder = trained
    cls = get_family(family)
    declared = [use for use in USES if provides(cls, use)]
    assert declared, family
    samples = sorted(os.listdir(folder / "samples"))
    assert samples, "no sample grid, strip or swap figure written"
    picture = folder / "samples" / samples[-1]
    runs = {
        # Audio goes to a folder of WAV files, images to a PNG grid.
        "sample": lambda: invoke("sample", folder, "--n", 4, "--out", tmp_path / (
            "clips" if issubclass(cls, WaveformGenerator) else "grid.png")),
        "translate": lambda: invoke("translate", folder, picture,
                                    "--out", tmp_path / "translated"),
        "swap": lambda: invoke("swap", folder, "--structure", picture, "--texture", picture,
                               "--out", tmp_path / "swap.png"),
    }
    for use in USES:
        result = runs[use]()
        if use in declared:
            assert result.exit_code == 0, result.output
            assert any(tmp_path.iterdir())
        else:
            # Refused in one line that names a command the family does have.
            assert_one_line_error(result)
            assert any(f"kerasgen {other}" in result.stderr for other in declared), (
                use, result.stderr)


@pytest.mark.skipif(not ON_TF, reason="export runs on TensorFlow (checked on the TF run)")
def test_export_matches_keras(trained, tmp_path):
    import tensorflow as tf
    from ai_edge_litert.interpreter import Interpreter

    from kerasgen.cli.main import load_checkpoint

    family, folder = trained
    saved = invoke("export", folder, "--out", tmp_path / "exports", "--name", "m")
    assert saved.exit_code == 0, saved.output
    lite = invoke("export", folder, "--format", "tflite", "--out", tmp_path / "lite",
                  "--name", "m")
    assert lite.exit_code == 0, lite.output

    model = load_checkpoint(str(folder / "checkpoint.keras"))
    endpoints = model.serving_endpoints()
    loaded = tf.saved_model.load(str(tmp_path / "exports" / "m" / "1"))
    assert set(loaded.signatures) == {e.name for e in endpoints} | {"serving_default"}
    interpreter = Interpreter(model_path=str(tmp_path / "lite" / "m.tflite"))
    lite_signatures = interpreter.get_signature_list()
    assert set(lite_signatures) == {e.name for e in endpoints if e.builtin_ops}

    rng = np.random.default_rng(0)
    for endpoint in endpoints:
        values = endpoint_inputs(endpoint, rng)
        expected = keras_outputs(endpoint, values)
        kwargs = dict(zip(endpoint.input_names, values))
        served = loaded.signatures[endpoint.name](
            **{k: tf.constant(v) for k, v in kwargs.items()})
        for key, value in expected.items():
            # rtol too: a log-likelihood of hundreds of nats is a float32
            # sum whose last bits depend on the order of the additions.
            np.testing.assert_allclose(served[key].numpy(), value,
                                       atol=output_atol(endpoint, key, 1e-5), rtol=1e-5,
                                       err_msg=f"{family} {endpoint.name} {key}")
        if endpoint.builtin_ops:
            runner = interpreter.get_signature_runner(endpoint.name)
            ran = runner(**kwargs)
            for key, value in expected.items():
                np.testing.assert_allclose(ran[key], value, atol=output_atol(endpoint, key, 1e-4),
                                           rtol=1e-5,
                                           err_msg=f"{family} {endpoint.name} {key} (TFLite)")
