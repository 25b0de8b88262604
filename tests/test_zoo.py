"""The zoo's machinery on a tiny run: publishing, the checks on loading,
`from_preset`, registering a preset served over HTTP, and `kerasgen zoo`.

The shipped presets themselves (their cards recomputed, their exports)
are tested in test_zoo_presets.py.
"""

import functools
import http.server
import json
import shutil
import threading

import keras
import numpy as np
import pytest

import kerasgen
from cli_helpers import assert_one_line_error
from cli_helpers import invoke
from cli_helpers import train_tiny
from kerasgen.zoo import registry
from kerasgen.zoo.publish import PublishError
from kerasgen.zoo.publish import publish
from kerasgen.zoo.publish import recompute_metrics
from kerasgen.zoo.publish import within_tolerance

ON_TF = keras.backend.backend() == "tensorflow"
# Few samples: the tiny run's metrics only have to be what the weights give.
N = 300


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Each test registers presets in its own $KERASGEN_HOME."""
    monkeypatch.setenv("KERASGEN_HOME", str(tmp_path / "home"))


@pytest.fixture(scope="module")
def tiny_preset(tmp_path_factory):
    """A tiny DCGAN run on the embedded digits and its published preset."""
    root = tmp_path_factory.mktemp("zoo")
    run = root / "run"
    result = train_tiny(run, "--steps", "20", "--sample-every", "20")
    assert result.exit_code == 0, result.output
    folder = publish(run, "tiny-dcgan", out=root / "tiny-dcgan", n=N)
    return {"run": run, "folder": folder}


@pytest.fixture
def preset_copy(tiny_preset, tmp_path):
    copy = tmp_path / "tiny-dcgan"
    shutil.copytree(tiny_preset["folder"], copy)
    return copy


# --- Publishing -------------------------------------------------------------------


def test_published_folder_has_every_file_with_its_sha256(tiny_preset):
    folder = tiny_preset["folder"]
    metadata = registry.verify_folder(folder)
    assert set(metadata["files"]) == {"config.json", "model.weights.h5", "README.md",
                                      "samples.png"}
    assert metadata["family"] == "dcgan" and metadata["training"]["steps"] == 20
    assert metadata["training"]["train_seconds"] > 0  # from the run's timing.json
    assert metadata["weights_dtype"] in ("float16", "float32")
    config = json.loads((folder / "config.json").read_text())
    assert config["family"] == "dcgan" and config["class"] == "DCGAN"
    assert "name" not in config["config"] and config["config"]["image_size"] == 8
    card = (folder / "README.md").read_text()
    assert 'kerasgen.DCGAN.from_preset("tiny-dcgan")' in card
    assert "FID (lenet-mnist)" in card and "samples.png" in card


def test_float16_ships_only_when_the_metrics_agree(tiny_preset):
    import h5py

    metadata = registry.verify_folder(tiny_preset["folder"])
    with h5py.File(tiny_preset["folder"] / "model.weights.h5") as weights:
        dtypes = set()
        weights.visititems(lambda name, item: dtypes.add(str(item.dtype))
                           if isinstance(item, h5py.Dataset) else None)
    if metadata["weights_dtype"] == "float16":
        assert "float32" not in dtypes and "float16" in dtypes
        for shipped, full in zip(metadata["metrics"], metadata["float32_metrics"]):
            assert within_tolerance(shipped["value"], full["value"])
    else:
        assert "float16" not in dtypes


def test_card_metrics_are_what_the_shipped_weights_give(tiny_preset):
    metadata = registry.verify_folder(tiny_preset["folder"])
    model = kerasgen.load(str(tiny_preset["folder"]))
    rows = recompute_metrics(model, metadata["evaluation"])
    assert [r["label"] for r in rows] == [r["label"] for r in metadata["metrics"]]
    for row, card in zip(rows, metadata["metrics"]):
        assert within_tolerance(row["value"], card["value"]), (row, card)


def test_the_preset_samples_what_the_run_samples(tiny_preset):
    from kerasgen.cli.main import load_checkpoint

    run_model = load_checkpoint(str(tiny_preset["run"] / "checkpoint.keras"))
    preset = kerasgen.DCGAN.from_preset(str(tiny_preset["folder"]))
    assert getattr(preset, "optimizer", None) is None  # weights only: no run state
    # float16 storage moves a weight by at most 2**-11 of itself.
    np.testing.assert_allclose(preset.sample(8, seed=3), run_model.sample(8, seed=3),
                               atol=2e-2)


def test_an_unfinished_run_is_not_published(tiny_preset, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(tiny_preset["run"], run)
    config = json.loads((run / "config.json").read_text())
    config["total_steps"] = 500
    (run / "config.json").write_text(json.dumps(config))
    with pytest.raises(PublishError, match="stopped at step 20 of 500"):
        publish(run, "half-done", out=tmp_path / "half-done", n=N)
    assert not (tmp_path / "half-done").exists()


def test_without_ema_ships_the_trained_generator_and_says_so(tiny_preset, tmp_path):
    run = tmp_path / "run"
    result = train_tiny(run, "--steps", "6", "--sample-every", "6", "--set", "ema_decay=0.99")
    assert result.exit_code == 0, result.output
    folder = publish(run, "no-ema", out=tmp_path / "no-ema", n=N, without_ema=True,
                     weights_dtype="float32")
    preset = kerasgen.DCGAN.from_preset(str(folder))
    assert preset.ema_decay is None
    trained = keras.saving.load_model(run / "checkpoint.keras", safe_mode=True)
    z = trained.sample_latents(4, seed=0)
    np.testing.assert_allclose(preset.decode(z), np.clip(
        keras.ops.convert_to_numpy(trained.generator(z)), -1, 1), atol=1e-5)
    assert not np.allclose(preset.decode(z), trained.decode(z), atol=1e-4)  # not the EMA
    assert "left out" in (folder / "README.md").read_text()
    with pytest.raises(PublishError, match="no moving average"):
        publish(tiny_preset["run"], "x", out=tmp_path / "x", n=N, without_ema=True)


def test_publish_on_the_command_line_refuses_a_folder_that_is_no_run(tmp_path):
    (tmp_path / "empty").mkdir()
    result = invoke("zoo", "publish", tmp_path / "empty", "--name", "x",
                    "--out", tmp_path / "x")
    assert_one_line_error(result, 1)
    assert "not a finished kerasgen run folder" in result.stderr
    assert not (tmp_path / "x").exists()


# --- The checks on loading ------------------------------------------------------


def test_altered_weights_are_refused_before_loading(preset_copy):
    weights = preset_copy / "model.weights.h5"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0x01
    weights.write_bytes(bytes(data))
    with pytest.raises(registry.PresetError, match="model.weights.h5 does not match"):
        kerasgen.load(str(preset_copy))


def test_a_missing_file_is_refused(preset_copy):
    (preset_copy / "config.json").unlink()
    with pytest.raises(registry.PresetError, match="missing config.json"):
        kerasgen.load(str(preset_copy))


def _edit_config(folder, change):
    config = json.loads((folder / "config.json").read_text())
    change(config)
    (folder / "config.json").write_text(json.dumps(config))
    registry.seal_folder(folder)  # so that the config check is what refuses it


@pytest.mark.parametrize("change, message", [
    (lambda c: c.update(family="os"), "names the family 'os'"),
    (lambda c: c.update({"class": "VAE"}), "whose class is DCGAN"),
    (lambda c: c["config"].update(activation="exec"), "does not take: activation"),
    (lambda c: c["config"].update(loss={"class_name": "Lambda", "config": {}}),
     "not a plain number"),
    (lambda c: c["config"].update(latent_dim=10**9), "corrupt or crafted"),
])
def test_a_config_kerasgen_would_not_build_is_refused(preset_copy, change, message):
    _edit_config(preset_copy, change)
    with pytest.raises(registry.PresetError, match=message):
        kerasgen.load(str(preset_copy))


def test_from_preset_refuses_another_family_in_one_line(tiny_preset):
    with pytest.raises(registry.PresetError) as caught:
        kerasgen.VAE.from_preset(str(tiny_preset["folder"]))
    message = str(caught.value)
    assert "is a DCGAN, not a VAE" in message and "\n" not in message
    assert "kerasgen.DCGAN.from_preset" in message


def test_from_preset_of_a_base_family_takes_a_subclass_preset(tiny_preset):
    assert type(kerasgen.GAN.from_preset(str(tiny_preset["folder"]))).__name__ == "DCGAN"


def test_a_feature_extractor_preset_loads_as_an_extractor():
    extractor = kerasgen.load("lenet-mnist")
    assert extractor.name == "lenet-mnist" and len(extractor.classes) == 10
    with pytest.raises(registry.PresetError, match="is a feature extractor, not a DCGAN"):
        kerasgen.DCGAN.from_preset("lenet-mnist")


def test_an_unknown_name_says_what_is_known():
    with pytest.raises(registry.PresetError, match="Did you mean: lenet-mnist"):
        kerasgen.load("lenet-minst")


def test_shipped_index_matches_every_folder():
    index = registry.shipped_index()
    folders = sorted(p.name for p in registry.ZOO_FOLDER.iterdir()
                     if (p / "metadata.json").is_file())
    assert sorted(index) == folders
    for name, entry in index.items():
        registry.verify_folder(registry.ZOO_FOLDER / name, entry["metadata_sha256"])


# --- Registering a preset served over HTTP ------------------------------------------


@pytest.fixture
def served(tiny_preset):
    """The tiny preset's folder served on 127.0.0.1, counting requests."""
    requests = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            super().do_GET()

        def log_message(self, *args):
            pass

    handler = functools.partial(Handler, directory=str(tiny_preset["folder"]))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"url": f"http://127.0.0.1:{server.server_address[1]}/", "requests": requests}
    server.shutdown()
    server.server_close()


def test_a_registered_preset_downloads_once_and_loads(served, tiny_preset):
    sha256 = registry.sha256_of(tiny_preset["folder"] / "metadata.json")
    kerasgen.zoo.register("my-dcgan", served["url"], sha256)
    assert "my-dcgan" in kerasgen.zoo.preset_names()
    model = kerasgen.load("my-dcgan")
    assert model.sample(2, seed=0).shape == (2, 8, 8, 1)
    first = len(served["requests"])
    assert first == 5  # metadata.json, then the four files it lists
    kerasgen.DCGAN.from_preset("my-dcgan")
    assert len(served["requests"]) == first  # the cache, checked, no request
    assert kerasgen.zoo.info("my-dcgan")["family"] == "dcgan"


def test_a_registration_with_the_wrong_sha256_is_refused(served):
    kerasgen.zoo.register("my-dcgan", served["url"], "0" * 64)
    with pytest.raises(registry.PresetError, match="metadata.json"):
        kerasgen.load("my-dcgan")
    cache = registry.cache_home() / "presets"
    assert not any(p.is_file() for p in cache.rglob("*")) if cache.exists() else True


def test_a_shipped_name_cannot_be_registered_over(served):
    with pytest.raises(registry.PresetError, match="ships with kerasgen"):
        kerasgen.zoo.register("lenet-mnist", served["url"], "0" * 64)


# --- The command line -------------------------------------------------------------


def test_zoo_list_info_and_path():
    listed = invoke("zoo", "list")
    assert listed.exit_code == 0, listed.output
    for name in registry.shipped_index():
        assert name in listed.output
    info = invoke("zoo", "info", "lenet-mnist")
    assert info.exit_code == 0 and "held_out_accuracy: 0.992" in info.output
    path = invoke("zoo", "path", "lenet-mnist")
    assert path.output.strip() == str(registry.ZOO_FOLDER / "lenet-mnist")


def test_zoo_commands_refuse_an_unknown_name_in_one_line():
    assert_one_line_error(invoke("zoo", "info", "nope"), 2)
    assert_one_line_error(invoke("zoo", "path", "nope"), 2)
    assert_one_line_error(invoke("sample", "nope"), 2)


def test_a_registered_preset_works_wherever_a_checkpoint_does(served, tiny_preset,
                                                              tmp_path):
    sha256 = registry.sha256_of(tiny_preset["folder"] / "metadata.json")
    registered = invoke("zoo", "register", "my-dcgan", served["url"], "--sha256", sha256)
    assert registered.exit_code == 0, registered.output
    grid = tmp_path / "grid.png"
    result = invoke("sample", "my-dcgan", "--n", "4", "--out", grid)
    assert result.exit_code == 0, result.output
    assert grid.stat().st_size > 0
    evaluated = invoke("eval", "my-dcgan", "--n", "200", "--metrics", "fid")
    assert evaluated.exit_code == 0 and "FID (lenet-mnist)" in evaluated.output


def test_fine_tuning_starts_from_the_preset_weights(tiny_preset, tmp_path):
    folder = tiny_preset["folder"]
    out = tmp_path / "tuned"
    result = invoke("train", "dcgan", "--from-preset", str(folder), "--out", out,
                    "--steps", "2", "--batch-size", "16", "--no-tensorboard")
    # A folder is not a preset name: --from-preset takes names only.
    assert_one_line_error(result, 2)
    sha256 = registry.sha256_of(folder / "metadata.json")
    kerasgen.zoo.register("my-dcgan", folder, sha256)
    result = invoke("train", "dcgan", "--from-preset", "my-dcgan", "--out", out,
                    "--steps", "2", "--batch-size", "16", "--no-tensorboard",
                    "--sample-every", "2")
    assert result.exit_code == 0, result.output
    assert "Starting from the weights of the preset my-dcgan" in result.output
    config = json.loads((out / "config.json").read_text())
    assert config["train"]["from_preset"] == "my-dcgan"
    assert config["model"]["image_size"] == 8  # the preset's, not the default 28
    wrong = invoke("train", "vae", "--from-preset", "my-dcgan", "--out", tmp_path / "v",
                   "--steps", "2")
    assert_one_line_error(wrong, 2)
    assert "is a DCGAN (dcgan), not a VAE" in wrong.stderr


@pytest.mark.skipif(not ON_TF, reason="export runs through TensorFlow")
def test_a_preset_exports_under_its_name(tiny_preset, tmp_path):
    sha256 = registry.sha256_of(tiny_preset["folder"] / "metadata.json")
    kerasgen.zoo.register("my-dcgan", tiny_preset["folder"], sha256)
    result = invoke("export", "my-dcgan", "--out", tmp_path / "exports")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "exports" / "my-dcgan" / "1" / "saved_model.pb").is_file()


def test_fine_tuning_checks_the_preset_config_as_loading_does(preset_copy, tmp_path):
    _edit_config(preset_copy, lambda c: c["config"].update(
        loss={"class_name": "Lambda", "config": {}}))
    kerasgen.zoo.register("crafted", preset_copy,
                          registry.sha256_of(preset_copy / "metadata.json"))
    result = invoke("train", "dcgan", "--from-preset", "crafted", "--out", tmp_path / "t",
                    "--steps", "2", "--batch-size", "16", "--no-tensorboard")
    assert_one_line_error(result, 1)
    assert "not a plain number" in result.stderr
    assert not (tmp_path / "t" / "checkpoint.keras").exists()
