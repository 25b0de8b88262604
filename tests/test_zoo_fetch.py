"""The zoo's download layer (`kerasgen.zoo.fetch`), against a local HTTP
server on 127.0.0.1 that can misbehave on request: stop mid-file, serve a
truncated body, serve a tampered file or answer 404. Each test checks that
only complete files with the right sha256 are ever kept, and that nothing
is written outside the cache folder."""

import hashlib
import http.server
import json
import os
import random
import re
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path

import pytest

from kerasgen.zoo.fetch import PresetFetchError
from kerasgen.zoo.fetch import fetch_file
from kerasgen.zoo.fetch import fetch_preset
from kerasgen.zoo.fetch import resolve_url

FETCH_PY = Path(__file__).resolve().parent.parent / "zoo" / "fetch.py"
PREFIX = "/presets/dcgan-test"


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest's output clean
        pass

    def do_GET(self):
        state = self.server.state
        path = self.path.split("?")[0]
        with state["lock"]:
            state["requests"][path] += 1
            state["headers"].append(dict(self.headers))
        mode = state["modes"].get(path, "ok")
        body = state["files"].get(path)
        if body is None or mode == "404":
            self.send_error(404, "Not Found")
            return
        if mode == "short":
            # A truncated file served "correctly": only size= or the
            # sha256 can tell.
            body = body[: len(body) // 2]
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if mode == "chunked-midfile":
            # One chunk announced whole, a quarter of it sent, then the
            # connection closes: http.client raises IncompleteRead.
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"%x\r\n" % len(body) + body[: len(body) // 4])
            self.wfile.flush()
            self.close_connection = True
            return
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if mode == "midfile":
            # The full length announced, a third sent, then the connection
            # closes: urllib's read() just returns short.
            self.wfile.write(body[: len(body) // 3])
            self.wfile.flush()
            self.close_connection = True
            return
        if mode == "stall":
            time.sleep(1.0)
        self.wfile.write(body)


@pytest.fixture
def server():
    """A local HTTP server; `server.state` holds the files it serves
    (`files`: path -> bytes), per-path `modes` and the `requests` counted
    per path."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    httpd.state = {"files": {}, "modes": {}, "requests": Counter(), "headers": [],
                   "lock": threading.Lock()}
    httpd.base_url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


def _preset_files(extra_files=None):
    """A small fake preset: `{name: bytes}` with its metadata.json, and the
    sha256 of that metadata.json."""
    files = {
        "config.json": json.dumps({"family": "dcgan", "class": "DCGAN",
                                   "config": {"latent_dim": 8}}).encode(),
        "model.weights.h5": random.Random(0).randbytes(4096),
    }
    listed = {name: {"sha256": _sha256(data), "bytes": len(data)}
              for name, data in files.items()}
    listed.update(extra_files or {})
    metadata = json.dumps({"family": "dcgan", "files": listed}, indent=2).encode()
    files["metadata.json"] = metadata
    return files, _sha256(metadata)


def _publish(server, extra_files=None):
    """Puts the fake preset on `server`: `(handle, sha256, files)`."""
    files, sha256 = _preset_files(extra_files)
    for name, data in files.items():
        server.state["files"][f"{PREFIX}/{name}"] = data
    return server.base_url + PREFIX, sha256, files


def _requests(server):
    return {path.rsplit("/", 1)[1]: n for path, n in server.state["requests"].items()}


def _all_files(folder):
    return sorted(str(p.relative_to(folder)) for p in Path(folder).rglob("*") if p.is_file())


def _assert_nothing_kept(folder, *names):
    for name in names:
        assert not (folder / name).exists(), name
    assert not list(folder.parent.rglob("*.part")), "a .part file was left behind"


def test_fetch_preset_downloads_every_file_once(server, tmp_path):
    handle, sha256, files = _publish(server)
    folder = fetch_preset(handle, sha256, tmp_path / "cache")
    assert folder == tmp_path / "cache" / sha256[:16]
    assert isinstance(folder, Path)
    assert _all_files(folder) == sorted(files)
    for name, data in files.items():
        assert (folder / name).read_bytes() == data
        assert (folder / name).stat().st_mode & 0o777 == 0o644
    assert _requests(server) == {"metadata.json": 1, "config.json": 1, "model.weights.h5": 1}


def test_second_fetch_is_a_cache_hit(server, tmp_path):
    handle, sha256, _ = _publish(server)
    fetch_preset(handle, sha256, tmp_path / "cache")
    before = sum(server.state["requests"].values())
    assert before == 3
    fetch_preset(handle, sha256, tmp_path / "cache")
    assert sum(server.state["requests"].values()) == before


def test_fetch_file_reports_whether_it_downloaded(server, tmp_path):
    handle, _, files = _publish(server)
    url = resolve_url(handle, "config.json")
    data = files["config.json"]
    path, downloaded = fetch_file(url, tmp_path / "sub" / "config.json", _sha256(data),
                                  size=len(data))
    assert (path, downloaded) == (tmp_path / "sub" / "config.json", True)
    assert fetch_file(url, path, _sha256(data)) == (path, False)
    assert _requests(server) == {"config.json": 1}


def test_tampered_server_file_is_refused(server, tmp_path):
    handle, sha256, files = _publish(server)
    # One byte changed on the server after the preset was published.
    weights = bytearray(files["model.weights.h5"])
    weights[100] ^= 0x01
    server.state["files"][f"{PREFIX}/model.weights.h5"] = bytes(weights)
    with pytest.raises(PresetFetchError, match=r"model\.weights\.h5 is tampered or corrupt"):
        fetch_preset(handle, sha256, tmp_path / "cache")
    _assert_nothing_kept(tmp_path / "cache" / sha256[:16], "model.weights.h5")


def test_tampered_cached_file_is_fetched_again(server, tmp_path):
    handle, sha256, files = _publish(server)
    folder = fetch_preset(handle, sha256, tmp_path / "cache")
    weights = bytearray((folder / "model.weights.h5").read_bytes())
    weights[0] ^= 0xFF
    (folder / "model.weights.h5").write_bytes(bytes(weights))
    fetch_preset(handle, sha256, tmp_path / "cache")
    assert (folder / "model.weights.h5").read_bytes() == files["model.weights.h5"]
    assert _requests(server) == {"metadata.json": 1, "config.json": 1, "model.weights.h5": 2}


def test_corrupt_cached_file_is_removed_even_when_the_refetch_fails(server, tmp_path):
    handle, sha256, _ = _publish(server)
    folder = fetch_preset(handle, sha256, tmp_path / "cache")
    (folder / "model.weights.h5").write_bytes(b"not the weights")
    server.state["modes"][f"{PREFIX}/model.weights.h5"] = "404"
    with pytest.raises(PresetFetchError, match="HTTP 404"):
        fetch_preset(handle, sha256, tmp_path / "cache")
    _assert_nothing_kept(folder, "model.weights.h5")


def test_truncated_download_is_refused_by_its_size(server, tmp_path):
    handle, sha256, _ = _publish(server)
    server.state["modes"][f"{PREFIX}/model.weights.h5"] = "short"
    with pytest.raises(PresetFetchError,
                       match=r"model\.weights\.h5 is truncated: 2,048 of 4,096 bytes arrived"):
        fetch_preset(handle, sha256, tmp_path / "cache")
    _assert_nothing_kept(tmp_path / "cache" / sha256[:16], "model.weights.h5")


def test_truncated_download_is_refused_by_its_sha256(server, tmp_path):
    handle, _, files = _publish(server)
    server.state["modes"][f"{PREFIX}/model.weights.h5"] = "short"
    destination = tmp_path / "cache" / "model.weights.h5"
    with pytest.raises(PresetFetchError, match="tampered or corrupt"):
        fetch_file(resolve_url(handle, "model.weights.h5"), destination,
                   _sha256(files["model.weights.h5"]))  # no size=: the hash decides
    _assert_nothing_kept(destination.parent, "model.weights.h5")


@pytest.mark.parametrize("mode, arrived", [("midfile", "1,365 of 4,096"),
                                           ("chunked-midfile", "1,024 of an unknown number of")])
def test_server_stopping_mid_file_is_refused(server, tmp_path, mode, arrived):
    handle, sha256, files = _publish(server)
    server.state["modes"][f"{PREFIX}/model.weights.h5"] = mode
    # Without size=, so that the connection's own accounting must catch it.
    destination = tmp_path / "cache" / "model.weights.h5"
    with pytest.raises(PresetFetchError,
                       match=rf"model\.weights\.h5 stopped mid-file: {arrived} bytes"):
        fetch_file(resolve_url(handle, "model.weights.h5"), destination,
                   _sha256(files["model.weights.h5"]))
    _assert_nothing_kept(destination.parent, "model.weights.h5")
    with pytest.raises(PresetFetchError, match="stopped mid-file"):
        fetch_preset(handle, sha256, tmp_path / "cache")
    _assert_nothing_kept(tmp_path / "cache" / sha256[:16], "model.weights.h5")


def test_timeout_is_refused(server, tmp_path):
    handle, _, files = _publish(server)
    server.state["modes"][f"{PREFIX}/config.json"] = "stall"
    destination = tmp_path / "config.json"
    with pytest.raises(PresetFetchError, match="timed out"):
        fetch_file(resolve_url(handle, "config.json"), destination,
                   _sha256(files["config.json"]), timeout=0.2)
    _assert_nothing_kept(tmp_path, "config.json")


def test_wrong_registered_sha256_is_refused(server, tmp_path):
    handle, sha256, _ = _publish(server)
    wrong = _sha256(b"some other metadata.json")
    with pytest.raises(PresetFetchError, match=r"metadata\.json is tampered or corrupt.*"
                                               + f"expected {wrong}"):
        fetch_preset(handle, wrong, tmp_path / "cache")
    assert _all_files(tmp_path) == []
    assert _requests(server) == {"metadata.json": 1}  # nothing it lists was fetched


@pytest.mark.parametrize("bad", ["abc", "A" * 64, "g" * 64, "a" * 63, "a" * 65, 123, None,
                                 " " + "a" * 63])
def test_malformed_sha256_is_refused_before_any_request(server, tmp_path, bad):
    handle, _, _ = _publish(server)
    with pytest.raises(PresetFetchError, match=r"64 lowercase hexadecimal digits\. Received"):
        fetch_preset(handle, bad, tmp_path / "cache")
    with pytest.raises(PresetFetchError, match="64 lowercase hexadecimal digits"):
        fetch_file(resolve_url(handle, "config.json"), tmp_path / "config.json", bad)
    assert sum(server.state["requests"].values()) == 0
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["../evil", "/etc/x", "..", ".hidden", "sub/x", "a\\b",
                                  "C:evil", ""])
def test_metadata_naming_a_path_is_refused(server, tmp_path, name):
    evil = {name: {"sha256": _sha256(b"evil"), "bytes": 4}}
    handle, sha256, _ = _publish(server, extra_files=evil)
    server.state["files"][PREFIX + "/evil"] = b"evil"
    server.state["files"]["/etc/x"] = b"evil"
    cache = tmp_path / "nested" / "cache"
    with pytest.raises(PresetFetchError, match="plain name"):
        fetch_preset(handle, sha256, cache)
    # Every entry is checked before any listed file is fetched.
    assert _requests(server) == {"metadata.json": 1}
    assert _all_files(tmp_path) == [f"nested/cache/{sha256[:16]}/metadata.json"]


def test_metadata_that_is_not_a_file_list_is_refused(server, tmp_path):
    for body, message in [(b"{not json", "not valid JSON"), (b'{"files": []}', "no 'files'"),
                          (b'{"files": {"config.json": {"sha256": "ab"}}}', "'sha256'")]:
        server.state["files"][PREFIX + "/metadata.json"] = body
        with pytest.raises(PresetFetchError, match=message):
            fetch_preset(server.base_url + PREFIX, _sha256(body), tmp_path / "cache")


def test_404_names_the_url(server, tmp_path):
    handle, sha256, _ = _publish(server)
    del server.state["files"][f"{PREFIX}/config.json"]
    url = resolve_url(handle, "config.json")
    with pytest.raises(PresetFetchError, match=r"download of " + re.escape(url)
                       + r" failed: HTTP 404 Not Found\. Received: url="):
        fetch_preset(handle, sha256, tmp_path / "cache")
    _assert_nothing_kept(tmp_path / "cache" / sha256[:16], "config.json")


def test_opener_is_used(server, tmp_path):
    handle, _, files = _publish(server)
    opener = urllib.request.build_opener()
    opener.addheaders = [("X-Preset-Test", "yes")]
    fetch_file(resolve_url(handle, "config.json"), tmp_path / "config.json",
               _sha256(files["config.json"]), opener=opener)
    assert server.state["headers"][-1].get("X-Preset-Test") == "yes"


def test_error_messages_are_one_line(server, tmp_path):
    handle, sha256, _ = _publish(server)
    server.state["modes"][f"{PREFIX}/model.weights.h5"] = "midfile"
    with pytest.raises(PresetFetchError) as error:
        fetch_preset(handle, sha256, tmp_path / "cache")
    assert "\n" not in str(error.value) and "Received: url=" in str(error.value)


@pytest.mark.parametrize("handle, expected", [
    ("https://example.org/presets/dcgan", "https://example.org/presets/dcgan/config.json"),
    ("https://example.org/presets/dcgan/", "https://example.org/presets/dcgan/config.json"),
    ("http://127.0.0.1:8000/p", "http://127.0.0.1:8000/p/config.json"),
    ("file:///srv/presets/dcgan", "file:///srv/presets/dcgan/config.json"),
    ("file:///srv/presets/dcgan/", "file:///srv/presets/dcgan/config.json"),
    ("hf://keras/dcgan-mnist",
     "https://huggingface.co/keras/dcgan-mnist/resolve/main/config.json"),
    ("hf://keras/dcgan-mnist@v1.0",
     "https://huggingface.co/keras/dcgan-mnist/resolve/v1.0/config.json"),
    ("hf://keras/dcgan-mnist@refs/pr/1",
     "https://huggingface.co/keras/dcgan-mnist/resolve/refs%2Fpr%2F1/config.json"),
    ("kaggle://keras/dcgan/keras/mnist/3",
     "https://www.kaggle.com/api/v1/models/keras/dcgan/keras/mnist/3/download/config.json"),
])
def test_resolve_url(handle, expected):
    assert resolve_url(handle, "config.json") == expected


def test_resolve_url_of_a_local_folder(tmp_path, monkeypatch):
    folder = tmp_path / "my preset"
    folder.mkdir()
    expected = folder.resolve().as_uri() + "/config.json"
    assert expected.startswith("file:///") and "my%20preset" in expected
    assert resolve_url(str(folder), "config.json") == expected
    assert resolve_url(folder, "config.json") == expected  # a Path works too
    monkeypatch.chdir(tmp_path)
    assert resolve_url("my preset", "config.json") == expected
    monkeypatch.setenv("HOME", str(tmp_path))
    assert resolve_url("~/my preset", "config.json") == expected


@pytest.mark.parametrize("handle", [
    "ftp://example.org/presets", "s3://bucket/presets", "", "   ", None,
    "/no/such/folder/anywhere", "no-such-relative-folder",
    "https:///no-host", "https://example.org/p?x=1",
    "file://otherhost/srv/presets",
    "hf://keras", "hf://keras/dcgan/extra", "hf://keras/dcgan@", "hf://../dcgan",
    "kaggle://keras/dcgan/keras/mnist", "kaggle://keras/dcgan/keras/mnist/latest",
    "kaggle://keras/dcgan/keras//3", "kaggle://keras/dcgan/keras/mnist/3/4",
])
def test_resolve_url_refuses_other_handles(handle, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(PresetFetchError, match=r"Received: handle="):
        resolve_url(handle, "config.json")


def test_resolve_url_refuses_a_path_as_file_name():
    with pytest.raises(PresetFetchError, match=r"plain name.*Received: filename='\.\./x'"):
        resolve_url("https://example.org/p", "../x")


def test_fetch_preset_from_a_local_folder(server, tmp_path):
    files, sha256 = _preset_files()
    published = tmp_path / "published"
    published.mkdir()
    for name, data in files.items():
        (published / name).write_bytes(data)
    for handle in (published, published.as_uri(), str(published) + "/"):
        cache = tmp_path / f"cache-{len(str(handle))}"
        folder = fetch_preset(handle, sha256, cache)
        assert {n: (folder / n).read_bytes() for n in _all_files(folder)} == files
    assert sum(server.state["requests"].values()) == 0
    # A tampered local copy is refused just the same.
    (published / "config.json").write_bytes(b"{}")
    with pytest.raises(PresetFetchError, match=r"config\.json is truncated"):
        fetch_preset(published, sha256, tmp_path / "cache-tampered")
    _assert_nothing_kept(tmp_path / "cache-tampered" / sha256[:16], "config.json")


def test_module_imports_nothing_heavy():
    # By path, not through the package: kerasgen.zoo's __init__ may import
    # more, and this checks the file alone.
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('fetch_alone', {str(FETCH_PY)!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)\n"
        "assert module.resolve_url('hf://a/b', 'c.json').endswith('/c.json')\n"
        "heavy = [m for m in ('numpy', 'keras', 'tensorflow', 'jax', 'requests', 'kerasgen')"
        " if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, env={**os.environ, "PYTHONPATH": ""})
    assert result.returncode == 0, result.stderr
