"""Packaging: the one `kerasgen` namespace, the backend rule, the console script.

setup.cfg maps the top-level folders cli/, zoo/ and export/ to
`kerasgen.cli`, `kerasgen.zoo` and `kerasgen.export`. These tests check that
the mapping resolves (from the repository root too, where the source folder
`kerasgen/` is first on `sys.path`), that the wheel has the same layout, and
that `import kerasgen` on JAX leaves TensorFlow unimported.
"""

import configparser
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import zipfile

import pytest

from backends import backend_independent

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAPPED = {"kerasgen": "kerasgen", "kerasgen.zoo": "zoo", "kerasgen.cli": "cli",
          "kerasgen.export": "export"}


def run_python(code, cwd, **env):
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", **env)
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=environment,
        capture_output=True, text=True, timeout=300,
    )


def setup_cfg():
    parser = configparser.ConfigParser()
    parser.read(os.path.join(ROOT, "setup.cfg"))
    return parser


def test_import_kerasgen_on_jax_does_not_import_tensorflow(tmp_path):
    pytest.importorskip("jax")
    code = (
        "import sys\n"
        "import kerasgen, kerasgen.data, kerasgen.cli, kerasgen.cli.train\n"
        "import kerasgen.cli.callbacks, kerasgen.zoo, kerasgen.export, kerasgen.utils\n"
        "import kerasgen.models; kerasgen.models.load_all()\n"
        "import keras\n"
        "assert keras.backend.backend() == 'jax', keras.backend.backend()\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('tensorflow', 'tensorboard', 'tf_keras'))\n"
        "print(loaded)\n"
        "assert not loaded, loaded\n"
    )
    result = run_python(code, cwd=tmp_path, KERAS_BACKEND="jax")
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.mark.parametrize("cwd", ["root", "elsewhere"])
def test_mapped_packages_resolve_to_their_folders(cwd, tmp_path):
    # From the repository root, `kerasgen` is the source folder found through
    # sys.path[0]; the mapped sub-packages must still resolve.
    code = (
        "import importlib, os\n"
        f"for name, folder in {MAPPED!r}.items():\n"
        "    module = importlib.import_module(name)\n"
        "    where = os.path.dirname(os.path.abspath(module.__file__))\n"
        f"    expected = os.path.join({ROOT!r}, folder)\n"
        "    assert where == expected, (name, where, expected)\n"
        "import kerasgen.cli.main\n"
        "assert callable(kerasgen.cli.main.main)\n"
    )
    result = run_python(code, cwd=ROOT if cwd == "root" else tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]


def test_no_top_level_cli_or_export_module_is_installed(tmp_path):
    code = (
        "import importlib.util\n"
        "for name in ('cli', 'export', 'zoo'):\n"
        "    spec = importlib.util.find_spec(name)\n"
        f"    assert spec is None or not (spec.origin or '').startswith({ROOT!r}), name\n"
    )
    result = run_python(code, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]


def test_setup_cfg_lists_every_package_folder():
    listed = set(setup_cfg()["options"]["packages"].split())
    found = set()
    for package, folder in MAPPED.items():
        base = os.path.join(ROOT, folder)
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = [d for d in dirnames if d != "__pycache__"]
            if "__init__.py" in filenames:
                relative = os.path.relpath(dirpath, base)
                suffix = "" if relative == "." else "." + relative.replace(os.sep, ".")
                found.add(package + suffix)
    # Mapped sub-packages were walked twice (as kerasgen/... they do not exist).
    assert found - listed == set(), "add these to [options] packages in setup.cfg"
    assert listed - found == set(), "setup.cfg lists packages that do not exist"


def test_package_dir_maps_the_top_level_folders():
    mapping = {}
    for line in setup_cfg()["options"]["package_dir"].strip().splitlines():
        key, _, value = line.partition("=")
        mapping[key.strip()] = value.strip()
    assert mapping == MAPPED


def test_console_script_is_installed_and_runs(tmp_path):
    (entry,) = [
        ep for ep in importlib.metadata.entry_points(group="console_scripts")
        if ep.name == "kerasgen"
    ]
    assert entry.value == "kerasgen.cli.main:main"
    assert callable(entry.load())
    script = os.path.join(os.path.dirname(sys.executable), "kerasgen")
    if not os.path.exists(script):
        script = shutil.which("kerasgen")
    assert script, "the `kerasgen` console script is not installed"
    result = subprocess.run(
        [script, "--help"], cwd=tmp_path, capture_output=True, text=True, timeout=300,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "train" in result.stdout and "families" in result.stdout


def test_zoo_exposes_the_registry():
    import kerasgen.zoo

    public = {n for n in vars(kerasgen.zoo) if not n.startswith("_")}
    assert {"list", "info", "path", "load", "register"} <= public
    assert callable(kerasgen.load) and "load" in kerasgen.__all__


@backend_independent
def test_wheel_installs_cli_zoo_and_export_inside_kerasgen(tmp_path):
    # Built without build isolation (no download): needs setuptools >= 64 and
    # `wheel` (which setuptools < 70.1 uses for bdist_wheel) in this venv.
    setuptools = pytest.importorskip("setuptools")
    if int(setuptools.__version__.split(".")[0]) < 64:
        pytest.skip(f"setuptools {setuptools.__version__} < 64")
    pytest.importorskip("wheel")
    # Build from a copy, so that the build leaves nothing in the checkout.
    source = tmp_path / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build")
    for name in ("kerasgen", "cli", "zoo", "export"):
        shutil.copytree(os.path.join(ROOT, name), source / name, ignore=ignore)
    for name in ("setup.cfg", "pyproject.toml", "README.md"):
        shutil.copy(os.path.join(ROOT, name), source / name)
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--disable-pip-version-check", "-q", str(source), "-w", str(tmp_path / "w")],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (wheel,) = (tmp_path / "w").glob("kerasgen-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for module in ("kerasgen/__init__.py", "kerasgen/cli/__init__.py",
                   "kerasgen/cli/main.py", "kerasgen/cli/__main__.py",
                   "kerasgen/zoo/__init__.py", "kerasgen/export/__init__.py",
                   "kerasgen/utils/images.py", "kerasgen/zoo/index.json",
                   "kerasgen/zoo/lenet-mnist/model.weights.h5",
                   "kerasgen/zoo/lenet-mnist/metadata.json"):
        assert module in names
    # Every file of every shipped preset, its sample grid too.
    for folder in sorted(p for p in os.listdir(os.path.join(ROOT, "zoo"))
                         if os.path.isfile(os.path.join(ROOT, "zoo", p, "metadata.json"))):
        for file in os.listdir(os.path.join(ROOT, "zoo", folder)):
            assert f"kerasgen/zoo/{folder}/{file}" in names
    top_level = {name.split("/")[0] for name in names}
    assert {n for n in top_level if not n.endswith(".dist-info")} == {"kerasgen"}


def test_every_document_the_repository_names_is_in_it():
    # Comments and docs once pointed readers at notes kept outside the
    # repository. Every `<name>.md` a tracked file names must be a file
    # of the repository (named from its root).
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    tracked = subprocess.run(["git", "ls-files"], cwd=root, capture_output=True,
                             text=True, check=True).stdout.split()
    missing = set()
    for path in tracked:
        if not path.endswith((".py", ".md", ".cfg", ".toml", ".txt")) and path != "Makefile":
            continue
        with open(os.path.join(root, path), encoding="utf-8") as f:
            for name in re.findall(r"[A-Za-z0-9_./-]+\.md\b", f.read()):
                if name not in tracked:
                    missing.add(f"{path}: {name}")
    assert not missing, sorted(missing)
