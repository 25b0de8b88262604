"""The preset registry: where each preset lives, its integrity, and loading it.

A preset is a folder (the layout of keras-hub presets, plus checksums):

- `config.json`: `{"family": "dcgan", "class": "DCGAN", "config": {...}}`,
  the registered family and its constructor's arguments;
- `model.weights.h5`: weights only (`Model.save_weights`), arrays in HDF5,
  no code;
- `metadata.json`: the family, the kerasgen version, the data it saw,
  steps, seed, backend, hardware, training time, the metrics (each with
  the settings that recompute it) and `files`: the sha256 and size of
  every other file of the folder;
- `README.md`: the model card, and `samples.png`, its sample grid.

Presets come from two places:

- **shipped** with kerasgen, under this package's folder, listed in
  `index.json` with the sha256 of each one's `metadata.json`;
- **registered** by a user (`register(name, handle, sha256)`): `https://`,
  `file://`, a local folder, `hf://owner/repo` or `kaggle://...`, with the
  sha256 of the preset's `metadata.json`, kept in
  `$KERASGEN_HOME/presets.json` and fetched once into
  `$KERASGEN_HOME/presets/` (`kerasgen.zoo.fetch`).

Either way one sha256 is the root of the checks: it vouches for
`metadata.json`, whose `files` vouch for every other file, and every file
is checked before anything is read from it. Loading builds the model of a
registered family from `config.json` (refusing unknown arguments and
values that are not plain JSON, so no Keras object is deserialized from
the file) and reads the weights file into it: nothing in a preset runs.
"""

import json
import os
import re
from pathlib import Path

from kerasgen.utils.io import atomic_write
from kerasgen.utils.io import cache_home
from kerasgen.utils.io import sha256_of

#: The folder of the shipped presets (this package).
ZOO_FOLDER = Path(__file__).resolve().parent
#: The index of the shipped presets.
INDEX_FILE = ZOO_FOLDER / "index.json"
#: The files a model preset must have besides metadata.json (and one of
#: WEIGHTS_FILES: the weights in one file, or Keras's sharded index).
MODEL_FILES = ("config.json",)
WEIGHTS_FILES = ("model.weights.h5", "model.weights.json")
#: Preset names: lower case letters, digits and `-`, as in `dcgan-mnist`.
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
_SHA256 = re.compile(r"[0-9a-f]{64}")


class PresetError(ValueError):
    """A preset that is unknown, incomplete, corrupt or of another family."""


# --- Where presets are ------------------------------------------------------------


def _read_json(path, what):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise PresetError(f"{what} {path} is missing or unreadable "
                          f"({type(error).__name__}: {error}). Received: path={path}"
                          ) from error


def shipped_index():
    """The index of the presets that ship with kerasgen: `{name: entry}`,
    each entry with `kind`, `family`, `data`, `resolution`, `headline`
    and `metadata_sha256`.

    Example:

    ```python
    shipped_index()["lenet-mnist"]["kind"]  # 'feature_extractor'
    ```
    """
    if not INDEX_FILE.is_file():
        return {}
    return dict(_read_json(INDEX_FILE, "The zoo index")["presets"])


def _user_registry_path():
    return cache_home() / "presets.json"


def registered_presets():
    """The presets registered by the user (`register`): `{name: {"handle",
    "sha256"}}`, from `$KERASGEN_HOME/presets.json`.

    Example:

    ```python
    isinstance(registered_presets(), dict)  # True
    ```
    """
    path = _user_registry_path()
    if not path.is_file():
        return {}
    return dict(_read_json(path, "The registry of your presets").get("presets", {}))


def check_sha256(sha256, what="sha256"):
    """A lower-case 64-digit hex sha256, or a one-line `PresetError`."""
    text = str(sha256 or "").strip().lower()
    if not _SHA256.fullmatch(text):
        raise PresetError(f"The {what} must be 64 hexadecimal digits. "
                          f"Received: sha256={sha256!r}")
    return text


def register(name, handle, sha256):
    """Registers a preset published at `handle` under `name`, for
    `load(name)`, `Family.from_preset(name)` and the CLI.

    `handle` is an `https://` or `file://` folder URL, a local folder,
    `hf://owner/repo[@revision]` or `kaggle://owner/model/framework/
    variation/version`; `sha256` is that of the preset's `metadata.json`
    (printed by `kerasgen zoo publish`), which lists the sha256 of every
    other file. Nothing is downloaded until the preset is first loaded.

    Example:

    ```python
    import os, tempfile
    os.environ["KERASGEN_HOME"] = tempfile.mkdtemp()
    register("my-dcgan", "https://example.org/presets/my-dcgan", "ab" * 32)
    registered_presets()["my-dcgan"]["handle"]  # 'https://example.org/presets/my-dcgan'
    ```
    """
    from kerasgen.zoo.fetch import resolve_url

    name = check_name(name)
    if name in shipped_index():
        raise PresetError(f"{name} is a preset that ships with kerasgen: register "
                          f"yours under another name. Received: name={name!r}")
    sha256 = check_sha256(sha256, "sha256 of the preset's metadata.json")
    url = resolve_url(handle, "metadata.json")  # a handle it cannot fetch fails now
    if url.startswith("file:") and "://" not in str(handle):
        # A local folder, kept absolute: the registry is read from anywhere.
        handle = Path(handle).expanduser().resolve()
    path = _user_registry_path()
    presets = registered_presets()
    presets[name] = {"handle": str(handle), "sha256": sha256}
    with atomic_write(path) as tmp:
        Path(tmp).write_text(json.dumps({"presets": presets}, indent=2) + "\n")
    return presets[name]


def unregister(name):
    """Removes a registered preset (its cached files stay until removed)."""
    presets = registered_presets()
    if name not in presets:
        raise PresetError(f"No preset registered as {name!r}. Received: name={name!r}")
    del presets[name]
    with atomic_write(_user_registry_path()) as tmp:
        Path(tmp).write_text(json.dumps({"presets": presets}, indent=2) + "\n")


def check_name(name):
    """A preset name (`dcgan-mnist`), or a one-line `PresetError`."""
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise PresetError("A preset name is lower-case letters, digits and '-', as "
                          f"in 'dcgan-mnist'. Received: name={name!r}")
    return name


def preset_names():
    """Every preset known here: shipped first, then registered.

    Example:

    ```python
    "lenet-mnist" in preset_names()  # True
    ```
    """
    names = list(shipped_index())
    return names + [name for name in registered_presets() if name not in names]


def is_preset(name):
    """Whether `name` is a shipped or registered preset (a path is not).

    Example:

    ```python
    is_preset("lenet-mnist"), is_preset("runs/dcgan")  # (True, False)
    ```
    """
    return isinstance(name, str) and name in preset_names()


def _unknown(name):
    import difflib

    names = preset_names()
    close = difflib.get_close_matches(str(name), names, n=3)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    return PresetError(f"Unknown preset {name!r}.{hint} Known presets: "
                       f"{', '.join(names) or '(none)'} (`kerasgen zoo list`). "
                       f"Received: preset={name!r}")


# --- Integrity --------------------------------------------------------------------


def verify_folder(folder, metadata_sha256=None):
    """Checks a preset folder: `metadata.json` against `metadata_sha256`
    (when given), then every file its `files` lists against its sha256
    and size. Returns the parsed metadata; a one-line `PresetError` names
    the first file that does not match.

    Example:

    ```python
    verify_folder(ZOO_FOLDER / "lenet-mnist")["name"]  # 'lenet-mnist'
    ```
    """
    folder = Path(folder)
    metadata_path = folder / "metadata.json"
    if metadata_sha256 is not None:
        if not metadata_path.is_file() or sha256_of(metadata_path) != metadata_sha256:
            raise PresetError(
                f"{metadata_path} does not match the sha256 it is registered with: "
                f"refusing the preset. Received: preset={folder}")
    metadata = _read_json(metadata_path, "The preset metadata")
    files = metadata.get("files")
    if not isinstance(files, dict) or not files:
        raise PresetError(f"{metadata_path} lists no files with their sha256. "
                          f"Received: preset={folder}")
    for filename, expected in files.items():
        path = folder / filename
        if Path(filename).name != filename or filename.startswith("."):
            raise PresetError(f"{metadata_path} lists a file outside the preset "
                              f"folder. Received: file={filename!r}")
        if not path.is_file():
            raise PresetError(f"The preset {folder} is missing {filename}. "
                              f"Received: preset={folder}")
        if os.path.getsize(path) != expected.get("bytes") or sha256_of(path) != \
                expected.get("sha256"):
            raise PresetError(
                f"{path} does not match the sha256 and size in its metadata.json "
                f"(a corrupt or altered file): refusing to load it. Received: "
                f"preset={folder}")
    return metadata


def seal_folder(folder):
    """Writes the sha256 and size of every file of a preset folder (except
    `metadata.json`) into its `metadata.json` `files`; returns the sha256
    of the new `metadata.json`.

    Example:

    ```python
    import json, tempfile
    from pathlib import Path
    folder = Path(tempfile.mkdtemp())
    (folder / "config.json").write_text("{}")
    (folder / "metadata.json").write_text(json.dumps({"name": "demo"}))
    len(seal_folder(folder))  # 64
    ```
    """
    folder = Path(folder)
    metadata = _read_json(folder / "metadata.json", "The preset metadata")
    metadata["files"] = {
        path.name: {"sha256": sha256_of(path), "bytes": os.path.getsize(path)}
        for path in sorted(folder.iterdir())
        if path.is_file() and path.name != "metadata.json" and not path.name.startswith(".")
    }
    (folder / "metadata.json").write_text(json.dumps(metadata, indent=2) + "\n")
    return sha256_of(folder / "metadata.json")


def update_index():
    """Rewrites `index.json` from the preset folders of the shipped zoo
    (every folder of this package with a `metadata.json`, each verified
    first): name, kind, family, data, resolution, headline metric and the
    sha256 of its `metadata.json`. `kerasgen zoo publish` calls it.

    Example:

    ```python
    # After a preset folder was added or removed (publish does it):
    # update_index()
    "lenet-mnist" in shipped_index()  # True
    ```
    """
    presets = {}
    for folder in sorted(ZOO_FOLDER.iterdir()):
        if folder.name.startswith((".", "_")) or not (folder / "metadata.json").is_file():
            continue
        metadata = verify_folder(folder)
        summary = _summary(folder.name, metadata, "shipped")
        presets[folder.name] = {
            key: summary[key]
            for key in ("kind", "family", "data", "resolution", "bytes", "headline")
        }
        presets[folder.name]["metadata_sha256"] = sha256_of(folder / "metadata.json")
    with atomic_write(INDEX_FILE) as tmp:
        Path(tmp).write_text(json.dumps({"presets": presets}, indent=2) + "\n")
    return presets


def preset_path(name, download=True):
    """The verified local folder of preset `name`: a shipped preset's
    folder in the package, or a registered one's in the cache (fetched
    first when `download` and it is not there yet). Every file is checked
    against its sha256 before the path is returned.

    Example:

    ```python
    preset_path("lenet-mnist").name  # 'lenet-mnist'
    ```
    """
    shipped = shipped_index()
    if name in shipped:
        folder = ZOO_FOLDER / name
        verify_folder(folder, shipped[name]["metadata_sha256"])
        return folder
    registered = registered_presets()
    if name not in registered:
        raise _unknown(name)
    from kerasgen.zoo.fetch import fetch_preset

    entry = registered[name]
    folder = cached_folder(entry["sha256"])
    if not download and not (folder / "metadata.json").is_file():
        raise PresetError(f"The preset {name} is registered but not downloaded yet "
                          f"(from {entry['handle']}). Received: preset={name!r}")
    if not download:
        verify_folder(folder, entry["sha256"])
        return folder
    try:
        # Checks every file against its sha256, the cached ones included
        # (a cached file that matches is not requested again).
        return fetch_preset(entry["handle"], entry["sha256"], cache_home() / "presets")
    except ValueError as error:
        raise PresetError(str(error)) from error


def cached_folder(sha256):
    """Where a registered preset is cached: `$KERASGEN_HOME/presets/`
    and the first 16 digits of its metadata.json's sha256 (as
    `kerasgen.zoo.fetch.fetch_preset` writes it)."""
    return cache_home() / "presets" / sha256[:16]


def _resolve_folder(source):
    """`(folder, label)` for a preset name or a local preset folder."""
    if is_preset(source):
        return preset_path(source), source
    if isinstance(source, (str, os.PathLike)) and Path(source).is_dir() and (
            Path(source) / "metadata.json").is_file():
        folder = Path(source)
        verify_folder(folder)
        return folder, str(source)
    raise _unknown(source)


# --- What presets say -------------------------------------------------------------


def _summary(name, metadata, where):
    metrics = metadata.get("metrics") or []
    if isinstance(metrics, dict):  # a feature extractor's {name: value}
        metrics = [{"label": key.replace("_", " "), "value": value}
                   for key, value in metrics.items() if "accuracy" in key]
    headline = next((m for m in metrics if m.get("headline")), metrics[0] if metrics else None)
    files = metadata.get("files", {})
    return {
        "name": name,
        "kind": metadata.get("kind", "model"),
        "family": metadata.get("family"),
        "data": metadata.get("data"),
        "resolution": metadata.get("resolution"),
        "bytes": sum(int(f.get("bytes", 0)) for f in files.values()),
        "headline": None if headline is None else {
            "label": headline.get("label"), "value": headline.get("value")},
        "where": where,
    }


def list_presets():
    """One summary per preset (`name`, `kind`, `family`, `data`,
    `resolution`, `bytes`, `headline` metric, `where`): the shipped ones
    from their metadata, the registered ones from the cache once fetched
    (before, only their handle is known). Exposed as `kerasgen.zoo.list()`.

    Example:

    ```python
    "lenet-mnist" in [p["name"] for p in list_presets()]  # True
    ```
    """
    rows = []
    for name in shipped_index():
        metadata = _read_json(ZOO_FOLDER / name / "metadata.json", "The preset metadata")
        rows.append(_summary(name, metadata, "shipped"))
    shipped = shipped_index()
    for name, entry in registered_presets().items():
        if name in shipped:
            continue
        folder = cached_folder(entry["sha256"])
        metadata = {}
        if (folder / "metadata.json").is_file():
            metadata = _read_json(folder / "metadata.json", "The preset metadata")
        rows.append(_summary(name, metadata, entry["handle"]))
    return rows


def info(name):
    """Everything a preset's metadata says, with `path` (its verified
    folder) and `card` (its README.md). Exposed as `kerasgen.zoo.info()`.

    Example:

    ```python
    info("lenet-mnist")["metrics"]["held_out_accuracy"]  # 0.992
    ```
    """
    folder, _ = _resolve_folder(name)
    metadata = _read_json(folder / "metadata.json", "The preset metadata")
    return dict(metadata, path=str(folder), card=str(folder / "README.md"))


# --- Loading ----------------------------------------------------------------------


def _plain_json(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, list):
        return all(_plain_json(item) for item in value)
    return False


def model_from_preset_config(config, where):
    """The (unbuilt-weights) model a preset's `config.json` describes,
    after `preset_arguments` checked it."""
    cls, arguments = preset_arguments(config, where)
    return cls(**arguments)


def preset_arguments(config, where):
    """`(family class, constructor arguments)` of a preset's `config.json`,
    after checking it: a family kerasgen registers, the class it
    registers under that name, only constructor arguments, only plain
    JSON values (no nested objects for Keras to deserialize), no absurd
    dimension."""
    from kerasgen.cli.config import constructor_defaults
    from kerasgen.models import registry

    family = config.get("family")
    try:
        entry = registry.find_entry(family)
    except ValueError as error:
        raise PresetError(f"{where} names the family {family!r}, which kerasgen "
                          f"does not have. Received: family={family!r}") from error
    if config.get("class") != entry.class_name:
        raise PresetError(f"{where} names the class {config.get('class')!r} for the "
                          f"family {family}, whose class is {entry.class_name}. "
                          f"Received: class={config.get('class')!r}")
    cls = registry.get_family(entry.name)
    arguments = config.get("config")
    if not isinstance(arguments, dict):
        raise PresetError(f"{where} has no `config` of constructor arguments. "
                          f"Received: config={arguments!r}")
    allowed = set(constructor_defaults(cls))
    unknown = sorted(set(arguments) - allowed)
    if unknown:
        raise PresetError(f"{where} gives {cls.__name__} arguments it does not take: "
                          f"{', '.join(unknown)}. Received: config={where}")
    bad = sorted(key for key, value in arguments.items() if not _plain_json(value))
    if bad:
        raise PresetError(f"{where} gives {', '.join(bad)} a value that is not a plain "
                          f"number, string or list: refusing it. Received: config={where}")
    try:
        registry.check_dimensions(arguments, where)
    except ValueError as error:
        raise PresetError(f"{error} Received: config={where}") from error
    return cls, dict(arguments)


def _check_shard_index(folder, listed, label):
    """The shards a sharded index names must be files of the preset (listed,
    so checked): an index cannot point Keras at a file elsewhere."""
    index = _read_json(folder / "model.weights.json", "The weights index")
    shards = set()
    for value in (index.get("weight_map") or {}).values():
        shards.update(value if isinstance(value, list) else [value])
    outside = sorted(str(name) for name in shards if name not in listed)
    if outside:
        raise PresetError(f"The weights index of the preset {label} names files that are "
                          f"not checked files of the preset: {', '.join(outside)}. "
                          f"Received: preset={label!r}")


def weights_path(folder):
    """The weights of a verified preset folder: `model.weights.h5`, or the
    sharded index `model.weights.json`."""
    folder = Path(folder)
    for name in WEIGHTS_FILES:
        if (folder / name).is_file():
            return folder / name
    raise PresetError(f"The preset {folder} has no weights ({' or '.join(WEIGHTS_FILES)}). "
                      f"Received: preset={folder}")


def load_preset_folder(folder, expected=None, label=None):
    """The model (or feature extractor) of a verified preset folder.

    Args:
        folder: the preset folder.
        expected: a family class: refuse a preset of another family (a
            preset of a subclass is fine). Defaults to None.
        label: how to name the preset in errors. Defaults to the folder.
    """
    folder = Path(folder)
    label = label or str(folder)
    metadata = _read_json(folder / "metadata.json", "The preset metadata")
    if metadata.get("kind") == "feature_extractor":
        if expected is not None:
            raise PresetError(f"The preset {label} is a feature extractor, not a "
                              f"{expected.__name__}: load it with kerasgen.load("
                              f"{label!r}). Received: preset={label!r}")
        from kerasgen.metrics.extractors import load_preset_extractor

        return load_preset_extractor(folder, metadata.get("name") or folder.name,
                                     verified=True)
    listed = metadata.get("files", {})
    missing = [name for name in MODEL_FILES if name not in listed]
    weights = next((name for name in WEIGHTS_FILES if name in listed), None)
    if weights is None:
        missing.append(" or ".join(WEIGHTS_FILES))
    if missing:
        raise PresetError(f"The preset {label} lacks {', '.join(missing)} (or its "
                          f"sha256). Received: preset={label!r}")
    config = _read_json(folder / "config.json", "The preset config")
    if expected is not None:
        from kerasgen.models import registry

        family = config.get("family")
        try:
            cls = registry.get_family(family)
        except ValueError:
            cls = None
        if cls is None or not issubclass(cls, expected):
            shown = cls.__name__ if cls is not None else family
            raise PresetError(
                f"The preset {label} is a {shown}, not a {expected.__name__}: load "
                f"it with kerasgen.{shown}.from_preset({label!r}) or kerasgen.load("
                f"{label!r}). Received: preset={label!r}")
    if weights == "model.weights.json":
        _check_shard_index(folder, listed, label)
    model = model_from_preset_config(config, f"The config of the preset {label}")
    try:
        model.load_weights(folder / weights)
    except (ValueError, KeyError, OSError) as error:
        raise PresetError(f"The weights of the preset {label} do not fit its "
                          f"{type(model).__name__} ({type(error).__name__}: "
                          f"{' '.join(str(error).split())[:200]}). Received: "
                          f"preset={label!r}") from error
    model.preset = {"name": label, "path": str(folder),
                    "metadata": {k: v for k, v in metadata.items() if k != "files"}}
    return model


def load(name, expected=None):
    """The model of preset `name` (a shipped or registered preset name, or a
    local preset folder), weights loaded, ready to sample, translate,
    export or fine-tune (compile it first). Exposed as `kerasgen.load`.

    A feature extractor preset (`lenet-mnist`) gives its
    `FeatureExtractor`.

    Example:

    ```python
    load("lenet-mnist").name  # 'lenet-mnist'
    ```
    """
    folder, label = _resolve_folder(name)
    return load_preset_folder(folder, expected, label)
