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


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _code_references(path, class_names):
    """Lines of `path` whose code (not strings or comments) names a family
    class other than as the public `kerasgen.<Class>`."""
    import ast

    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), filename=path)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in class_names:
            found.append(node.lineno)
        elif isinstance(node, ast.Attribute) and node.attr in class_names:
            if not (isinstance(node.value, ast.Name) and node.value.id == "kerasgen"):
                found.append(node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if any(alias.name in class_names for alias in node.names):
                found.append(node.lineno)
    return found


def test_only_the_models_name_a_family_in_code():
    # The CLI, export, the zoo and the rest of the library work through the
    # registry and the declared interfaces: a new family edits none of them.
    class_names = {entry.class_name for entry in models.index()}
    offenders = []
    for top in ("kerasgen", "cli", "export", "zoo"):
        for root, _, files in os.walk(os.path.join(ROOT, top)):
            if os.path.join("kerasgen", "models") in root:
                continue
            for file in files:
                if file.endswith(".py"):
                    path = os.path.join(root, file)
                    offenders += [f"{os.path.relpath(path, ROOT)}:{line}"
                                  for line in _code_references(path, class_names)]
    assert not offenders, offenders
