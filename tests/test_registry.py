"""The family registry: one decorator per family, and nothing else to edit."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

import kerasgen
from kerasgen import models

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


def test_index_read_from_source_matches_the_imported_registry():
    registered = models.load_all()
    entries = models.index()
    assert [e.name for e in entries] == sorted(registered)
    for entry in entries:
        cls = registered[entry.name]
        assert cls.__name__ == entry.class_name
        assert cls.__module__ == entry.module
        assert cls.family_name == entry.name
        assert getattr(kerasgen, entry.class_name) is cls
        assert entry.class_name in kerasgen.__all__
        assert keras.saving.get_registered_name(cls) == f"kerasgen>{entry.class_name}"


def test_unknown_family_names_close_matches():
    with pytest.raises(ValueError, match="Did you mean: cyclegan"):
        models.get_family("cylegan")
    with pytest.raises(AttributeError):
        kerasgen.NoSuchFamily  # noqa: B018


def test_two_families_cannot_share_a_name():
    @models.register_family("test-only-family")
    class First(keras.Model):
        pass

    with pytest.raises(ValueError, match="Two families are registered"):
        @models.register_family("test-only-family")
        class Second(keras.Model):
            pass


def test_import_kerasgen_imports_no_keras():
    code = (
        "import sys, kerasgen\n"
        "assert 'keras' not in sys.modules\n"
        "assert 'jax' not in sys.modules and 'tensorflow' not in sys.modules\n"
        "assert 'DCGAN' in dir(kerasgen)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]


@pytest.mark.parametrize("family", ["dcgan", "vae", "cyclegan"])
def test_checkpoints_from_before_the_move_still_load(family):
    # Written by main at 1735052, when DCGAN lived in kerasgen/gan.py: the
    # file records module "kerasgen.gan", which no longer exists.
    with open(os.path.join(FIXTURES, "checkpoints.json")) as f:
        record = json.load(f)[family]
    path = os.path.join(FIXTURES, f"{family}-pre-models-move.keras")
    model = keras.saving.load_model(path)
    assert type(model).__name__ == record["class"]
    assert type(model).__module__.startswith("kerasgen.models.")
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == record["steps"]
    if family == "cyclegan":
        rgb = np.random.default_rng(1).uniform(-1, 1, (2, 8, 8, 3)).astype("float32")
        output = model.translate(rgb, "a2b")
    else:
        output = model.sample(2, seed=0)
    # Weights written on TensorFlow: the same outputs, within float error.
    np.testing.assert_allclose(np.sum(output), record["output_sum"], atol=1e-3)
