"""Atomic writes of files and folders; the cache folder; file digests.

A checkpoint that is half written when a run is killed must never replace the
last good one. `atomic_write` hands out a temporary sibling of the target (in
the same folder, so on the same file system) and moves it into place with
`os.replace` only when the block finished without an exception.
"""

import contextlib
import hashlib
import logging
import os
import re
import shutil
import tempfile
from pathlib import Path

logger = logging.getLogger("kerasgen.utils")

# The names `atomic_write` gives its temporary files and folders:
# `.<stem>.tmp-<tempfile's 8 characters><suffix>` and `.<name>.old-<8>`.
_LEFTOVER = re.compile(r"^\..+\.(tmp|old)-[a-z0-9_]{8}(\..+)?$")


@contextlib.contextmanager
def atomic_write(path, *, directory=False):
    """Writes a file or a folder so that readers see the old one or the new one.

    Yields a temporary path beside `path`; write the file (or fill the folder)
    there. When the block exits normally the temporary path replaces `path`
    (`os.replace`, atomic for files on POSIX). When the block raises, the
    temporary path is removed and `path` is left as it was.

    The temporary name keeps the suffix of `path` (writers such as
    `keras.Model.save` check for `.keras`) and starts with a dot so that
    globbing the folder does not pick it up.

    A folder cannot be swapped in one system call when the target already
    exists: the old folder is first renamed to a hidden sibling, the new one
    moved into place, then the old one deleted. A crash between those two
    renames leaves the old folder under `.<name>.old-*`, never a torn one.

    Args:
        path: str or `os.PathLike`. The file or folder to write.
        directory: bool. Whether `path` is a folder. Defaults to `False`.

    Example:

    ```python
    import os, tempfile
    path = os.path.join(tempfile.mkdtemp(), "losses.csv")
    with atomic_write(path) as tmp:  # e.g. `model.save(tmp)` for a .keras file
        with open(tmp, "w") as f:
            f.write("step,loss")
    open(path).read()  # "step,loss"
    ```
    """
    path = os.path.abspath(os.fspath(path))
    parent, name = os.path.split(path)
    os.makedirs(parent, exist_ok=True)
    stem, suffix = _split_suffix(name)
    prefix = f".{stem}.tmp-"
    if directory:
        tmp = tempfile.mkdtemp(prefix=prefix, suffix=suffix, dir=parent)
    else:
        fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=parent)
        os.close(fd)
        # Some writers refuse to overwrite, or open in exclusive mode.
        os.remove(tmp)
    try:
        yield tmp
        if not os.path.exists(tmp):
            raise FileNotFoundError(
                "Nothing was written to the temporary path of an atomic "
                f"write. Received: path={path}, temporary path={tmp}"
            )
        if directory:
            _replace_directory(tmp, path)
        else:
            _fsync_file(tmp)
            os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise


def remove_leftovers(folder, *, depth=1):
    """Removes the temporary files and folders `atomic_write` left in
    `folder` (and its subfolders, `depth` levels down) when its process was
    killed mid-write. Only names of its pattern are touched; call it only
    while no other process writes there (under the run folder's lock).
    Returns the paths removed."""
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if _LEFTOVER.match(entry.name):
            _remove(entry.path)
            removed.append(entry.path)
        elif depth > 0 and entry.is_dir(follow_symlinks=False):
            removed += remove_leftovers(entry.path, depth=depth - 1)
    if removed:
        logger.info("removed %d temporary files of a killed process in %s",
                    len(removed), folder)
    return removed


def _split_suffix(name):
    for suffix in (".weights.h5", ".tar.gz"):
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)], suffix
    stem, suffix = os.path.splitext(name)
    return stem, suffix


def _fsync_file(path):
    try:
        with open(path, "rb") as f:
            os.fsync(f.fileno())
    except OSError:
        pass  # Best effort: some file systems do not support fsync.


def _replace_directory(tmp, path):
    if not os.path.lexists(path):
        os.replace(tmp, path)
        return
    if os.path.islink(path) or not os.path.isdir(path):
        os.remove(path)
        os.replace(tmp, path)
        return
    parent, name = os.path.split(path)
    old = tempfile.mkdtemp(prefix=f".{name}.old-", dir=parent)
    os.rmdir(old)
    os.replace(path, old)
    os.replace(tmp, path)
    shutil.rmtree(old, ignore_errors=True)


def _remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.lexists(path):
        try:
            os.remove(path)
        except OSError:
            pass


def cache_home():
    """`$KERASGEN_HOME`, default `~/.cache/kerasgen` (or under
    `$XDG_CACHE_HOME`): where kerasgen keeps downloads and statistics.

    Example:

    ```python
    import os
    os.environ["KERASGEN_HOME"] = "/tmp/kg"
    str(cache_home())  # "/tmp/kg"
    ```
    """
    home = os.environ.get("KERASGEN_HOME")
    if home:
        return Path(home)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "kerasgen"


def sha256_of(path):
    """The hex sha256 of a file, read in 1 MiB blocks.

    Example:

    ```python
    import tempfile
    path = tempfile.mktemp()
    open(path, "wb").write(b"abc")
    sha256_of(path)[:8]  # "ba7816bf"
    ```
    """
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
