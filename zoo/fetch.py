"""The download layer of the zoo: fetches a published preset into a local
cache, checking every byte against a sha256 before it is kept.

A user registers a preset with one sha256: that of its `metadata.json`.
`metadata.json` lists the sha256 and size of every other file of the
preset, so the one registered digest vouches for the whole folder (a chain
of trust, as in a signed package index). Nothing reaches its final name
until it is complete and its digest matches: each file is streamed into a
temporary `.part` file beside it, hashed on the way, fsynced and only then
renamed into place (`os.replace`, atomic), so a crash, a dropped connection
or a tampered server never leaves a file that looks valid.

Handles (`resolve_url`): an `https://` (or `http://`) folder URL, a
`file://` folder URL, a local folder, `hf://owner/repo[@revision]` (the
Hugging Face Hub) and `kaggle://owner/model/framework/variation/version`
(Kaggle Models).

Only the standard library is imported, so that resolving and fetching a
preset costs no NumPy or Keras import (`kerasgen zoo` commands and
`register` stay fast).

```python
resolve_url("hf://keras/dcgan-mnist@v1", "config.json")
# 'https://huggingface.co/keras/dcgan-mnist/resolve/v1/config.json'
```
"""

import hashlib
import http.client
import json
import os
import re
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

__all__ = ["PresetFetchError", "fetch_file", "fetch_preset", "resolve_url"]

# Big enough to keep the per-chunk overhead negligible, small enough that
# hashing as we go needs no noticeable memory.
CHUNK_BYTES = 1 << 20

_SHA256 = re.compile(r"[0-9a-f]{64}")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
# Hugging Face repo ids are `owner/name`, each letters, digits, `-`, `_`, `.`.
_HF_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
# Kaggle slugs: letters, digits, `-`, `_`, `.` (framework names like
# `tensorFlow2` and `keras` are mixed case).
_KAGGLE_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")

HF_ENDPOINT = "https://huggingface.co"
# The Kaggle Models API, as kagglehub uses it (github.com/Kaggle/kagglehub,
# src/kagglehub/clients.py: `KaggleApiV1Client` joins its endpoint
# "https://www.kaggle.com" (config.py, DEFAULT_KAGGLE_API_ENDPOINT) with
# "api/v1/" + path, and http_resolver.py `_build_model_download_url_path`
# builds "models/{owner}/{model}/{framework}/{variation}/{version}/download"
# plus "/{path}" for one file). Public models download without credentials;
# private ones need Kaggle's basic auth, which is the caller's `opener`'s job.
KAGGLE_ENDPOINT = "https://www.kaggle.com/api/v1/models"


class PresetFetchError(ValueError):
    """A preset (or one of its files) could not be fetched or failed its
    checks; nothing unverified was kept."""


def _one_line(text):
    # Server messages and OS errors can span lines; house style is one line.
    return " ".join(str(text).split())


def _check_sha256(sha256, what="sha256"):
    if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
        raise PresetFetchError(f"The {what} must be 64 lowercase hexadecimal digits. "
                               f"Received: sha256={sha256!r}")
    return sha256


def _check_file_name(filename):
    """`filename` if it is a plain file name (it becomes a path inside the
    preset's folder, and may come from a downloaded metadata.json)."""
    plain = (isinstance(filename, str) and filename not in ("", ".", "..")
             and not filename.startswith(".")
             and not any(c in filename for c in "/\\:\0")
             and filename.isprintable() and filename == filename.strip())
    if not plain:
        raise PresetFetchError(
            "A preset file name must be a plain name inside the preset's folder (no "
            "'/', '\\', ':', leading '.' or '..'). Received: filename=" + repr(filename))
    return filename


def _join_url(folder_url, filename):
    return folder_url.rstrip("/") + "/" + urllib.parse.quote(filename)


def _bad_handle(handle, why):
    return PresetFetchError(f"Cannot fetch a preset from this handle: {why}. "
                            f"Received: handle={handle!r}")


def resolve_url(handle, filename):
    """The URL of the file `filename` of the preset published at `handle`.

    Args:
        handle: where the preset's folder is published:
            - `https://host/path` or `http://host/path`: a folder URL (the
              scheme is kept: the sha256 checks catch tampering on http);
            - `file:///abs/folder`: a local folder as a URL;
            - a local folder (absolute or relative, `~` expanded): it must
              exist, and gives the `file://` URL of its absolute path;
            - `hf://owner/repo` or `hf://owner/repo@revision`: a Hugging
              Face Hub repo (revision `main` unless given), as
              `huggingface_hub.hf_hub_url` builds it;
            - `kaggle://owner/model/framework/variation/version`: a Kaggle
              Models version (the version is required, so that what was
              registered cannot change under it).
        filename: a plain file name of the preset (`config.json`).

    Returns:
        The URL, a string.

    Raises:
        PresetFetchError: any other handle (`ftp://`, `s3://`, empty, a
            folder that does not exist), or a file name that is a path.

    Example:

    ```python
    resolve_url("https://example.org/presets/dcgan/", "config.json")
    # 'https://example.org/presets/dcgan/config.json'
    resolve_url("kaggle://keras/dcgan/keras/mnist/2", "metadata.json")
    # 'https://www.kaggle.com/api/v1/models/keras/dcgan/keras/mnist/2/download/metadata.json'
    resolve_url("hf://keras/dcgan-mnist", "config.json")
    # 'https://huggingface.co/keras/dcgan-mnist/resolve/main/config.json'
    ```
    """
    _check_file_name(filename)
    if isinstance(handle, os.PathLike):
        handle = os.fspath(handle)
    if not isinstance(handle, str) or not handle.strip():
        raise _bad_handle(handle, "it is empty or not a string")
    scheme = _SCHEME.match(handle)
    if scheme is None:
        # No scheme: a local folder. Checked now, so that `register` fails
        # on a typo rather than at the first load.
        folder = Path(handle).expanduser()
        if not folder.is_dir():
            raise _bad_handle(handle, "it is not a URL and no such folder exists")
        return _join_url(folder.resolve().as_uri(), filename)
    kind = scheme.group(1).lower()
    rest = handle[scheme.end():]
    if kind in ("https", "http"):
        parts = urllib.parse.urlsplit(handle)
        if not parts.netloc or parts.query or parts.fragment:
            raise _bad_handle(handle, "a folder URL needs a host and no query or fragment")
        return _join_url(handle, filename)
    if kind == "file":
        parts = urllib.parse.urlsplit(handle)
        if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
            raise _bad_handle(handle, "a file:// URL must be an absolute local path "
                                      "(file:///abs/folder)")
        return _join_url(handle, filename)
    if kind == "hf":
        repo, at, revision = rest.partition("@")
        names = repo.rstrip("/").split("/")
        if (len(names) != 2 or not all(_HF_PART.fullmatch(n) for n in names)
                or any(".." in n for n in names) or (at and not revision)):
            raise _bad_handle(handle, "expected hf://owner/repo or hf://owner/repo@revision")
        # As huggingface_hub.hf_hub_url: the revision is quoted whole, so a
        # branch like `refs/pr/1` stays one path segment.
        revision = urllib.parse.quote(revision or "main", safe="")
        return f"{HF_ENDPOINT}/{'/'.join(names)}/resolve/{revision}/{urllib.parse.quote(filename)}"
    if kind == "kaggle":
        names = rest.rstrip("/").split("/")
        if (len(names) != 5 or not all(_KAGGLE_PART.fullmatch(n) for n in names)
                or not names[4].isdigit() or int(names[4]) < 1):
            raise _bad_handle(handle, "expected kaggle://owner/model/framework/variation/"
                                      "version, with a version number")
        return f"{KAGGLE_ENDPOINT}/{'/'.join(names)}/download/{urllib.parse.quote(filename)}"
    raise _bad_handle(handle, f"{kind}:// is not supported (use https://, file://, a "
                              "local folder, hf:// or kaggle://)")


def _sha256_of_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _remove(path):
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def _fsync_folder(folder):
    # Makes the rename itself durable; not possible everywhere (Windows).
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _partial_bytes(error):
    """The bytes an `IncompleteRead` says arrived: http.client re-raises a
    chunked body's failure with the finished chunks' bytes and chains the
    one it caught with the broken chunk's."""
    total = 0
    while isinstance(error, http.client.IncompleteRead):
        total += len(error.partial)
        error = error.__cause__ or error.__context__
    return total


def _download(url, tmp, destination, sha256, size, timeout, opener):
    """Streams `url` into the open temporary file `tmp`, checking it; raises
    PresetFetchError on anything but a complete, matching file."""
    received = 0
    digest = hashlib.sha256()
    where = f"url={url}, destination={destination}"
    try:
        with opener.open(url, timeout=timeout) as response:
            announced = response.headers.get("Content-Length")
            try:
                announced = int(announced) if announced is not None else None
            except ValueError:
                announced = None  # a malformed header proves nothing; the hash decides
            try:
                while True:
                    chunk = response.read(CHUNK_BYTES)
                    if not chunk:
                        break
                    received += len(chunk)
                    if size is not None and received > size:
                        # Stop early: a server must not fill the disk.
                        raise PresetFetchError(
                            f"The download of {url} is longer than the {size:,} bytes its "
                            f"metadata states; nothing was kept. Received: {where}")
                    digest.update(chunk)
                    tmp.write(chunk)
            except http.client.IncompleteRead as error:
                # Raised by some reads when the connection drops before
                # Content-Length bytes; others just return short (below).
                received += _partial_bytes(error)
                expected = f"{announced:,}" if announced is not None else "an unknown number of"
                raise PresetFetchError(
                    f"The download of {url} stopped mid-file: {received:,} of {expected} "
                    f"bytes arrived; nothing was kept. Received: {where}") from None
        if announced is not None and received != announced:
            raise PresetFetchError(
                f"The download of {url} stopped mid-file: {received:,} of {announced:,} "
                f"bytes the server announced arrived; nothing was kept. Received: {where}")
    except urllib.error.HTTPError as error:
        raise PresetFetchError(
            f"The download of {url} failed: HTTP {error.code} {_one_line(error.reason)}. "
            f"Received: {where}") from None
    except urllib.error.URLError as error:
        raise PresetFetchError(
            f"The download of {url} failed: {_one_line(error.reason)}. "
            f"Received: {where}") from None
    except TimeoutError:
        raise PresetFetchError(
            f"The download of {url} timed out after {timeout} s with {received:,} bytes "
            f"received; nothing was kept. Received: {where}") from None
    except (http.client.HTTPException, OSError) as error:
        # A dropped connection, a protocol error, or a write to a full disk.
        raise PresetFetchError(
            f"The download of {url} failed after {received:,} bytes "
            f"({type(error).__name__}: {_one_line(error)}); nothing was kept. "
            f"Received: {where}") from None
    if size is not None and received != size:
        raise PresetFetchError(
            f"The download of {url} is truncated: {received:,} of {size:,} bytes arrived; "
            f"nothing was kept. Received: {where}")
    actual = digest.hexdigest()
    if actual != sha256:
        raise PresetFetchError(
            f"The download of {url} is tampered or corrupt: its sha256 is {actual}, "
            f"expected {sha256}; nothing was kept. Received: {where}")


def fetch_file(url, destination, sha256, size=None, timeout=60, opener=None):
    """Makes `destination` hold the file at `url` whose sha256 is `sha256`.

    A `destination` that already has that sha256 is a cache hit: no request
    is made. Otherwise (missing, or another sha256: a corrupt or tampered
    copy, which is removed) the file is downloaded into a temporary
    `.<name>.*.part` file in the same folder, hashed as it arrives, checked,
    fsynced and renamed onto `destination` (atomic; mode 0o644). On any
    failure the temporary file is removed and `destination` is absent.

    Args:
        url: `https://`, `http://` or `file://` (from `resolve_url`).
        destination: the path to write; its folder is created if missing.
        sha256: the expected sha256, 64 lowercase hex digits (checked
            before any request).
        size: the expected size in bytes, or `None` to rely on the sha256
            (a longer download is stopped as soon as it passes `size`).
        timeout: seconds to wait for the connection and for each read.
        opener: an `urllib.request.OpenerDirector` (for example from
            `urllib.request.build_opener(...)`, to add credentials or
            headers); `None` for urllib's default (which honours the
            `*_proxy` environment variables).

    Returns:
        `(path, downloaded)`: `destination` as a `pathlib.Path`, and
        whether a download happened (`False` on a cache hit).

    Raises:
        PresetFetchError: a malformed argument, an HTTP or network error, a
            timeout, a download that stopped mid-file, is truncated, or
            whose sha256 differs, or a file that cannot be written.

    Example:

    ```python
    import hashlib, pathlib, tempfile
    with tempfile.TemporaryDirectory() as folder:
        source = pathlib.Path(folder, "published.txt")
        source.write_bytes(b"hello")
        digest = hashlib.sha256(b"hello").hexdigest()
        target = pathlib.Path(folder, "cache", "hello.txt")
        fetch_file(source.as_uri(), target, digest, size=5)[1]  # True
        fetch_file(source.as_uri(), target, digest, size=5)[1]  # False
    ```
    """
    _check_sha256(sha256)
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
        raise PresetFetchError(f"size must be a number of bytes (an int >= 0) or None. "
                               f"Received: size={size!r}")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise PresetFetchError(f"timeout must be a positive number of seconds. "
                               f"Received: timeout={timeout!r}")
    destination = Path(destination).expanduser()
    if opener is None:
        opener = urllib.request.build_opener()
    try:
        if destination.is_file():
            if _sha256_of_file(destination) == sha256:
                return destination, False
            # A stale, corrupt or tampered copy: it must not survive a
            # failed download either.
            destination.unlink()
        elif destination.exists():
            raise PresetFetchError(f"The destination of {url} exists and is not a file. "
                                   f"Received: destination={destination}")
        destination.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=destination.parent,
                                        prefix="." + destination.name + ".", suffix=".part")
    except OSError as error:
        raise PresetFetchError(f"Cannot prepare {destination} for the download of {url}: "
                               f"{_one_line(error)}. Received: destination={destination}") from None
    kept = False
    try:
        with os.fdopen(fd, "wb") as tmp:
            _download(url, tmp, destination, sha256, size, timeout, opener)
            try:
                tmp.flush()
                os.fsync(tmp.fileno())  # the bytes are on disk before the name is
            except OSError as error:
                raise PresetFetchError(f"Cannot write the download of {url}: "
                                       f"{_one_line(error)}. Received: destination="
                                       f"{destination}") from None
        try:
            os.chmod(tmp_name, 0o644)  # mkstemp makes 0o600; a cache is shared read
            os.replace(tmp_name, destination)
        except OSError as error:
            raise PresetFetchError(f"Cannot move the download of {url} into place: "
                                   f"{_one_line(error)}. Received: destination="
                                   f"{destination}") from None
        kept = True
        _fsync_folder(destination.parent)
    finally:
        if not kept:
            _remove(tmp_name)
    return destination, True


def _files_of(metadata_path, handle):
    """The `files` entries of a downloaded metadata.json, every one checked
    before anything is fetched."""
    try:
        metadata = json.loads(metadata_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise PresetFetchError(f"The metadata.json of the preset at {handle} is not valid "
                               f"JSON ({_one_line(error)}). Received: "
                               f"path={metadata_path}") from None
    files = metadata.get("files") if isinstance(metadata, dict) else None
    if not isinstance(files, dict):
        raise PresetFetchError(f"The metadata.json of the preset at {handle} has no 'files' "
                               f"object listing the preset's files. Received: "
                               f"files={files!r:.200}")
    checked = {}
    for name, entry in files.items():
        # A malicious metadata.json must not write outside the folder.
        _check_file_name(name)
        if name == "metadata.json":
            raise PresetFetchError(f"The metadata.json of the preset at {handle} lists "
                                   f"itself among its files. Received: filename={name!r}")
        sha256 = entry.get("sha256") if isinstance(entry, dict) else None
        size = entry.get("bytes") if isinstance(entry, dict) else None
        if (not isinstance(sha256, str) or not _SHA256.fullmatch(sha256)
                or isinstance(size, bool) or not isinstance(size, int) or size < 0):
            raise PresetFetchError(
                f"The metadata.json of the preset at {handle} must give each file a "
                f"'sha256' (64 lowercase hex digits) and 'bytes' (an int >= 0). "
                f"Received: {name}={entry!r:.200}")
        checked[name] = (sha256, size)
    return checked


def fetch_preset(handle, sha256, cache_dir):
    """Fetches the preset published at `handle` into `cache_dir`, checked
    file by file, and returns its folder.

    `sha256` is that of the preset's `metadata.json`, whose `files`
    (`{name: {"sha256": ..., "bytes": ...}}`) vouch for every other file.
    The folder is `<cache_dir>/<sha256[:16]>`. Files already there with the
    right sha256 are not fetched again, so a second call with everything
    cached makes no request; a corrupt cached file is fetched again.

    Args:
        handle: see `resolve_url`.
        sha256: the sha256 of the preset's `metadata.json`.
        cache_dir: the folder that holds the cached presets.

    Returns:
        The preset's folder, a `pathlib.Path`.

    Raises:
        PresetFetchError: a bad handle or sha256, a metadata.json that does
            not match `sha256`, is not JSON, has no `files` or names a file
            outside its folder, or any file that `fetch_file` refuses.

    Example:

    ```python
    import hashlib, json, pathlib, tempfile
    with tempfile.TemporaryDirectory() as folder:
        published = pathlib.Path(folder, "published")
        published.mkdir()
        (published / "config.json").write_text("{}")
        files = {"config.json": {"sha256": hashlib.sha256(b"{}").hexdigest(), "bytes": 2}}
        (published / "metadata.json").write_text(json.dumps({"files": files}))
        digest = hashlib.sha256((published / "metadata.json").read_bytes()).hexdigest()
        local = fetch_preset(published, digest, pathlib.Path(folder, "cache"))
        sorted(p.name for p in local.iterdir())  # ['config.json', 'metadata.json']
    ```
    """
    _check_sha256(sha256, "sha256 of the preset's metadata.json")
    folder = Path(cache_dir).expanduser() / sha256[:16]
    metadata_path, _ = fetch_file(resolve_url(handle, "metadata.json"),
                                  folder / "metadata.json", sha256)
    for name, (file_sha256, size) in _files_of(metadata_path, handle).items():
        fetch_file(resolve_url(handle, name), folder / name, file_sha256, size=size)
    return folder
