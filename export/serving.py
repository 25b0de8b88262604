"""SavedModel export in TF Serving's layout, with a `models.config` beside it.

TF Serving watches `base_path/<model-name>/` and serves the folders in it
whose names are all digits, each a version. So an export goes to

    DIR/
      models.config            TF Serving's model config (text proto)
      <model-name>/
        1/                     saved_model.pb, variables/
        2/                     the next export of the same name

and never overwrites: the SavedModel is written into `.tmp-<pid>-<random>`
inside `DIR/<model-name>/` (TF Serving ignores a name that is not all
digits) and renamed to its version number only once it is complete, so an
export that is interrupted midway leaves no partial version for a server to
pick up.
"""

import logging
import os
import re
import shutil
import tempfile

from kerasgen.export.signatures import build_export_archive
from kerasgen.export.signatures import declared_endpoints
from kerasgen.export.signatures import default_model_name
from kerasgen.export.signatures import require_tensorflow_backend
from kerasgen.utils.io import atomic_write

logger = logging.getLogger("kerasgen.export")

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
#: Where `models.config` says the models are: `DIR` mounted at `/models`
#: in the TF Serving container (see export/GUIDE.md).
CONTAINER_BASE = "/models"


def check_model_name(name):
    """Raises unless `name` can be a TF Serving model name and a folder name.

    Example:

    ```python
    check_model_name("dcgan-mnist")  # passes
    ```
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(
            "A model name is letters, digits, '_', '.' and '-', starting with "
            f"a letter or digit. Received: name={name!r}"
        )


def versions(model_dir):
    """The version numbers already in `model_dir`, sorted (all-digit folders
    only, as TF Serving reads them).

    Example:

    ```python
    import os, tempfile
    d = tempfile.mkdtemp()
    for folder in ("1", "3", ".tmp-12-ab"):
        os.makedirs(os.path.join(d, folder))
    versions(d)  # [1, 3]
    ```
    """
    if not os.path.isdir(model_dir):
        return []
    return sorted(
        int(entry) for entry in os.listdir(model_dir)
        if entry.isdigit() and os.path.isdir(os.path.join(model_dir, entry))
    )


def write_models_config(out_dir, base_path=CONTAINER_BASE):
    """Writes `out_dir/models.config` listing every model folder in `out_dir`
    that holds at least one version, for `tensorflow_model_server
    --model_config_file`. Returns its path.

    Args:
        out_dir: str. The export folder (`DIR`).
        base_path: str. Where `out_dir` is seen by the server; defaults to
            `/models`, where the guide's `docker run` mounts it.

    Example:

    ```python
    import os, tempfile
    d = tempfile.mkdtemp()
    os.makedirs(os.path.join(d, "dcgan", "1"))
    print(open(write_models_config(d)).read())
    ```
    """
    names = sorted(
        entry for entry in os.listdir(out_dir)
        if _NAME.match(entry) and versions(os.path.join(out_dir, entry))
    )
    lines = ["model_config_list {"]
    for name in names:
        lines += [
            "  config {",
            f'    name: "{name}"',
            f'    base_path: "{base_path.rstrip("/")}/{name}"',
            '    model_platform: "tensorflow"',
            "  }",
        ]
    lines.append("}")
    path = os.path.join(out_dir, "models.config")
    with atomic_write(path) as tmp:
        with open(tmp, "w") as f:
            f.write("\n".join(lines) + "\n")
    return path


def saved_model(model, out_dir, *, name=None, version=None, batch_size=None):
    """Exports a kerasgen model as a SavedModel laid out for TF Serving.

    Writes `out_dir/<name>/<version>/` with one named signature per endpoint
    the model declares (`model.serving_endpoints()`), plus `serving_default`
    for its main one (see `kerasgen.export.signatures`), and rewrites
    `out_dir/models.config`. Runs on the TensorFlow backend only: a
    checkpoint trained on JAX is loaded with `KERAS_BACKEND=tensorflow` and
    exported from there.

    Args:
        model: a model that declares its serving endpoints (every kerasgen
            family). One that declares none is refused with a `ValueError`.
        out_dir: str. The export folder, TF Serving's `--model_base_path`
            parent; created if missing.
        name: str or None. The model name (a folder, and the name in the
            REST URL `/v1/models/<name>`). Defaults to the name the family
            is registered under (`default_model_name`).
        version: int or None. The version number. Defaults to one more than
            the highest version already there (1 for the first). An existing
            version is never overwritten: asking for one raises.
        batch_size: int or None. Fixes the batch dimension of the tensor
            inputs. Defaults to None (any batch).

    Returns:
        The path of the version folder, `out_dir/<name>/<version>`.

    Example:

    ```python
    import tempfile, keras, kerasgen
    if keras.backend.backend() == "tensorflow":
        model = kerasgen.DCGAN(image_size=8, latent_dim=4, generator_filters=4,
                               discriminator_filters=4)
        saved_model(model, tempfile.mkdtemp())  # '.../dcgan/1'
    ```
    """
    require_tensorflow_backend()
    declared_endpoints(model)  # refuses a model with nothing to serve, first
    name = default_model_name(model) if name is None else name
    check_model_name(name)
    if version is not None and (
        isinstance(version, bool) or not isinstance(version, int) or version < 1
    ):
        raise ValueError(
            f"`version` must be a positive int or None. Received: version={version!r}"
        )
    out_dir = os.path.abspath(os.fspath(out_dir))
    model_dir = os.path.join(out_dir, name)
    if version is not None and os.path.exists(os.path.join(model_dir, str(version))):
        raise ValueError(
            f"Version {version} of {name!r} already exists in {out_dir}; "
            "versions are never overwritten. Leave out the version to write the "
            f"next one ({max(versions(model_dir)) + 1}). Received: version={version}"
        )
    os.makedirs(model_dir, exist_ok=True)
    archive = build_export_archive(model, batch_size=batch_size)
    tmp = tempfile.mkdtemp(prefix=f".tmp-{os.getpid()}-", dir=model_dir)
    try:
        archive.write_out(tmp, verbose=False)
        _apply_umask(tmp)
        target = _claim_version(model_dir, tmp, version)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    write_models_config(out_dir)
    logger.debug("Wrote the SavedModel %s (%s)", target, _format_size(directory_size(target)))
    return target


def _current_umask():
    mask = os.umask(0o022)  # the only portable way to read it is to set it
    os.umask(mask)
    return mask


def _apply_umask(folder):
    """Gives `folder` (made 0700 by `mkdtemp`) and the folders under it the
    mode a plain `mkdir` would (0777 minus the umask), and its files 0666
    minus the umask: TF Serving often runs as another user, who must be
    able to read the version folder."""
    mask = _current_umask()
    os.chmod(folder, 0o777 & ~mask)
    for root, dirs, files in os.walk(folder):
        for name in dirs:
            os.chmod(os.path.join(root, name), 0o777 & ~mask)
        for name in files:
            os.chmod(os.path.join(root, name), 0o666 & ~mask)


def _claim_version(model_dir, tmp, version):
    """Renames the finished `tmp` to its version folder (the next free number
    when `version` is None, looking again if another export took it)."""
    number = version if version is not None else max(versions(model_dir), default=0) + 1
    while True:
        target = os.path.join(model_dir, str(number))
        if not os.path.exists(target):
            try:
                os.rename(tmp, target)
                return target
            except OSError:
                if not os.path.exists(target):
                    raise
        if version is not None:
            raise ValueError(
                f"Version {version} appeared in {model_dir} during the "
                f"export; it is not overwritten. Received: version={version}"
            )
        number += 1  # Another export took this number first.


def directory_size(path):
    """Total size in bytes of the files under `path`."""
    total = 0
    for root, _, files in os.walk(path):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    return total


def _format_size(size):
    for unit in ("B", "KiB", "MiB"):
        if size < 1024 or unit == "MiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
