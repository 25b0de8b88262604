"""Hostile but realistic inputs (issue 17): broken checkpoints, odd image
files, bad labels, taken export names, unprepared tfds data. Each ends in
one `Error:` line (or a counted skip), never a traceback or a hang.

The commands run in-process with `CliRunner` on the backend `KERAS_BACKEND`
selects; the export tests need TensorFlow. The bad inputs are made here,
from two tiny checkpoints (a DCGAN and a CycleGAN) saved once per module.
"""

import json
import os
import threading
import time
import zipfile

import numpy as np
import pytest
from PIL import Image

import keras

import kerasgen
from cli_helpers import assert_one_line_error, invoke
from kerasgen.data import load_images

ON_TF = keras.backend.backend() == "tensorflow"
tf_only = pytest.mark.skipif(not ON_TF, reason="export runs on TensorFlow")


def assert_ok(result):
    assert result.exit_code == 0, result.output + result.stderr


@pytest.fixture(scope="module")
def dcgan(tmp_path_factory):
    path = tmp_path_factory.mktemp("ckpt") / "dcgan.keras"
    kerasgen.DCGAN(image_size=8, latent_dim=4, generator_filters=4,
                   discriminator_filters=4).save(path)
    return path


@pytest.fixture(scope="module")
def cyclegan(tmp_path_factory):
    path = tmp_path_factory.mktemp("ckpt") / "cyclegan.keras"
    kerasgen.CycleGAN(image_size=8, generator_filters=4, discriminator_filters=4,
                      num_residual_blocks=1, discriminator_layers=1,
                      jitter=False).save(path)
    return path


def png(path, size=(8, 8), value=128, mode="RGB"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.new(mode, size, value if mode != "RGB" else (value,) * 3).save(path)
    return path


def rewrite_config(source, target, **changes):
    """A copy of the .keras `source` with `changes` in its model config."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for item in old.infolist():
            data = old.read(item.filename)
            if item.filename == "config.json":
                config = json.loads(data)
                config["config"].update(changes)
                data = json.dumps(config).encode()
            new.writestr(item, data)
    return target


# --- 1. non-finite weights --------------------------------------------------


@pytest.fixture(scope="module")
def diverged(tmp_path_factory):
    path = tmp_path_factory.mktemp("ckpt") / "diverged.keras"
    model = kerasgen.DCGAN(image_size=8, latent_dim=4, generator_filters=4,
                           discriminator_filters=4)
    variable = model.weights[0]
    variable.assign(np.full(variable.shape, np.nan, variable.dtype))
    model.save(path)
    return path


def test_sample_refuses_nonfinite_weights_unless_allowed(diverged, tmp_path):
    result = invoke("sample", diverged, "--n", 4, "--out", tmp_path / "s.png")
    assert_one_line_error(result, code=1)
    assert "1 of the" in result.stderr and "NaN or infinite" in result.stderr
    assert "--allow-nonfinite" in result.stderr
    assert not (tmp_path / "s.png").exists()
    assert_ok(invoke("sample", diverged, "--n", 4, "--out", tmp_path / "s.png",
                     "--allow-nonfinite"))
    assert (tmp_path / "s.png").exists()


@tf_only
def test_export_refuses_nonfinite_weights(diverged, tmp_path):
    result = invoke("export", diverged, "--out", tmp_path / "exports")
    assert_one_line_error(result, code=1)
    assert "NaN or infinite" in result.stderr
    assert not (tmp_path / "exports").exists()


def test_translate_offers_allow_nonfinite():
    assert "--allow-nonfinite" in invoke("translate", "--help").stdout


# --- 4. labels --------------------------------------------------------------


CGAN = ["--set", "image_size=8", "--set", "latent_dim=4",
        "--set", "generator_filters=4", "--set", "discriminator_filters=4",
        "--set", "num_classes=10", "--batch-size", "4", "--steps", "1",
        "--no-tensorboard"]


def labelled_npz(path, labels):
    images = np.zeros((len(labels), 8, 8, 1), np.uint8)
    np.savez(path, images=images, labels=np.asarray(labels))
    return path


def test_negative_labels_are_refused_at_load_time(tmp_path):
    data = labelled_npz(tmp_path / "neg.npz", [0, 1, -1, 2, 3, 4, 5, 6])
    with pytest.raises(ValueError, match=r"1 of the 8 labels are negative.*-1 at index 2"):
        load_images(data)
    result = invoke("train", "cgan", "--data", data, "--out", tmp_path / "run", *CGAN)
    assert_one_line_error(result)
    assert "negative" in result.stderr
    assert not (tmp_path / "run" / "checkpoint.keras").exists()


def test_labels_beyond_the_class_names_or_the_model_are_refused(tmp_path):
    images = np.zeros((4, 8, 8, 1), np.uint8)
    np.savez(tmp_path / "named.npz", images=images, labels=[0, 1, 2, 3],
             class_names=["a", "b"])
    with pytest.raises(ValueError, match="2 class names but a label of 3"):
        load_images(tmp_path / "named.npz")
    data = labelled_npz(tmp_path / "big.npz", [0, 1, 2, 3, 4, 5, 6, 12])
    result = invoke("train", "cgan", "--data", data, "--out", tmp_path / "run", *CGAN)
    assert_one_line_error(result)
    assert "13 classes but the model num_classes=10" in result.stderr
    assert not (tmp_path / "run" / "checkpoint.keras").exists()


# --- 5. broken checkpoints, bombs, crafted configs, plain Keras models -------


def flipped(source, target):
    data = bytearray(source.read_bytes())
    data[len(data) // 2] ^= 0xFF  # inside the weights (the largest member)
    target.write_bytes(bytes(data))
    return target


def truncated(source, target):
    data = source.read_bytes()
    target.write_bytes(data[: len(data) * 2 // 3])
    return target


def random_bytes(source, target):
    target.write_bytes(np.random.default_rng(0).bytes(4096))
    return target


def not_keras(source, target):
    with zipfile.ZipFile(target, "w") as archive:
        archive.writestr("notes.txt", "hello")
    return target


@pytest.mark.parametrize("damage, fragment", [
    (flipped, "fails its CRC check"),
    (truncated, "not a zip file"),
    (random_bytes, "not a zip file"),
    (not_keras, "no config.json"),
])
def test_a_damaged_checkpoint_says_what_is_wrong_in_every_command(
        dcgan, cyclegan, tmp_path, damage, fragment):
    bad = damage(dcgan, tmp_path / "bad.keras")
    image = png(tmp_path / "in" / "x.png")
    commands = [
        ["sample", bad, "--out", tmp_path / "s.png"],
        ["translate", damage(cyclegan, tmp_path / "bad2.keras"), image,
         "--out", tmp_path / "out"],
    ]
    if ON_TF:
        commands.append(["export", bad, "--out", tmp_path / "exports"])
    for command in commands:
        result = invoke(*command)
        assert_one_line_error(result, code=1)
        assert fragment in result.stderr, (command[0], result.stderr)
        assert "File not found" not in result.stderr


def test_a_crafted_config_with_enormous_dimensions_is_refused(dcgan, tmp_path):
    bad = rewrite_config(dcgan, tmp_path / "huge.keras", image_size=10**7,
                         generator_filters=10**6)
    started = time.monotonic()
    result = invoke("sample", bad, "--out", tmp_path / "s.png")
    assert_one_line_error(result, code=1)
    assert "more than 65,536" in result.stderr
    assert time.monotonic() - started < 30


def test_a_plain_keras_model_is_not_a_family(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.save(tmp_path / "plain.keras")
    result = invoke("sample", tmp_path / "plain.keras", "--out", tmp_path / "s.png")
    assert_one_line_error(result, code=1)
    assert "holds a Sequential, which is not a kerasgen family" in result.stderr


def test_translate_skips_a_decompression_bomb_and_keeps_the_batch(
        cyclegan, tmp_path, monkeypatch):
    png(tmp_path / "in" / "good.png")
    png(tmp_path / "in" / "bomb.png", size=(100, 100))
    # Pillow raises DecompressionBombError above 2 x MAX_IMAGE_PIXELS.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    result = invoke("translate", cyclegan, tmp_path / "in", "--out", tmp_path / "out")
    assert_ok(result)
    assert "skipped 1 unreadable image(s)" in result.stderr
    assert os.listdir(tmp_path / "out") == ["good.png"]


# --- 6. 16-bit PNGs, symlink loops, --out extensions ------------------------


def test_translate_reads_16_bit_pngs_like_the_training_loader(tmp_path):
    from kerasgen.cli.translate import read_image

    path = tmp_path / "deep.png"
    Image.fromarray(np.full((8, 8), 32768, np.uint16)).save(path)
    assert Image.open(path).mode.startswith("I")
    image = read_image(path, 8, channels=3)
    assert abs(float(image.mean())) < 0.01  # mid-grey, not white (1.0)
    loaded = load_images(path, image_size=8, channels=3).images[0]
    np.testing.assert_allclose(image, loaded / 127.5 - 1.0, atol=1e-6)


def test_a_symlink_loop_in_a_data_folder_lists_each_image_once(tmp_path):
    from kerasgen.cli.translate import find_images

    root = tmp_path / "data"
    for name in ("a/1.png", "a/2.png", "b/1.png", "b/2.png"):
        png(root / name)
    os.symlink("..", root / "a" / "loop")
    data = load_images(root)
    assert len(data) == 4 and data.class_names == ["a", "b"]
    assert len(find_images([root])) == 4


@pytest.mark.parametrize("name", ["x.jpg", "x.gif", "x.JPEG"])
def test_sample_refuses_an_out_that_is_not_png(dcgan, tmp_path, name):
    result = invoke("sample", dcgan, "--out", tmp_path / name)
    assert_one_line_error(result, code=2)
    assert "must be a .png file" in result.stderr
    assert not (tmp_path / name).exists()


def test_sample_writes_png_under_a_png_name(dcgan, tmp_path):
    assert_ok(invoke("sample", dcgan, "--n", 4, "--out", tmp_path / "x.PNG"))
    assert Image.open(tmp_path / "x.PNG").format == "PNG"


# --- 7. export names and modes ----------------------------------------------


@tf_only
def test_export_name_collisions_end_in_one_line(dcgan, tmp_path):
    (tmp_path / "file").write_text("taken")
    result = invoke("export", dcgan, "--out", tmp_path / "file")
    assert_one_line_error(result)
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "m").write_text("taken")  # the model folder's name
    result = invoke("export", dcgan, "--out", tmp_path / "exports", "--name", "m")
    assert_one_line_error(result)
    (tmp_path / "lite" / "m.tflite").mkdir(parents=True)  # a folder, not a file
    result = invoke("export", dcgan, "--format", "tflite", "--out", tmp_path / "lite",
                    "--name", "m", "--overwrite")
    assert_one_line_error(result)
    assert "is a folder" in result.stderr


@tf_only
def test_tflite_export_never_replaces_a_file_silently(dcgan, tmp_path):
    out = tmp_path / "lite"
    assert_ok(invoke("export", dcgan, "--format", "tflite", "--out", out))
    first = (out / "dcgan.tflite").stat().st_mtime_ns
    result = invoke("export", dcgan, "--format", "tflite", "--out", out)
    assert_one_line_error(result, code=1)
    assert "exist(s) already" in result.stderr and "--overwrite" in result.stderr
    assert (out / "dcgan.tflite").stat().st_mtime_ns == first
    assert_ok(invoke("export", dcgan, "--format", "tflite", "--out", out, "--overwrite"))
    with pytest.raises(FileExistsError, match="Received: out="):
        kerasgen.export.tflite(keras.saving.load_model(dcgan), out, name="dcgan")


@tf_only
def test_saved_model_folders_follow_the_umask(dcgan, tmp_path):
    from kerasgen.cli.main import load_checkpoint

    model = load_checkpoint(str(dcgan))
    old = os.umask(0o022)
    try:
        target = kerasgen.export.saved_model(model, tmp_path)
    finally:
        os.umask(old)
    for root, dirs, files in os.walk(target):
        assert os.stat(root).st_mode & 0o777 == 0o755, root
        for name in files:
            assert os.stat(os.path.join(root, name)).st_mode & 0o777 == 0o644


# --- 8. hangs ---------------------------------------------------------------


def test_a_fifo_in_a_data_folder_is_skipped_and_counted(tmp_path):
    root = tmp_path / "data"
    png(root / "1.png")
    png(root / "2.png")
    os.mkfifo(root / "3.png")
    found = {}
    reader = threading.Thread(target=lambda: found.update(data=load_images(root)),
                              daemon=True)
    reader.start()
    reader.join(timeout=30)
    if reader.is_alive():  # release the reader blocked on the FIFO
        os.close(os.open(root / "3.png", os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("load_images blocked on a FIFO")
    assert len(found["data"]) == 2 and found["data"].skipped == 1


def test_an_unprepared_tfds_dataset_fails_at_once(tmp_path, monkeypatch):
    pytest.importorskip("tensorflow_datasets")
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "tfds"))
    started = time.monotonic()
    result = invoke("train", "dcgan", "--data", "tfds:mnist", "--out", tmp_path / "run",
                    "--steps", "1", "--no-tensorboard")
    assert_one_line_error(result, code=1)
    assert "is not prepared" in result.stderr and "tfds build mnist" in result.stderr
    assert time.monotonic() - started < 30  # importing tensorflow_datasets included


def test_translate_refuses_a_fifo_named_on_the_command_line(cyclegan, tmp_path):
    os.mkfifo(tmp_path / "pipe.png")
    result = invoke("translate", cyclegan, tmp_path / "pipe.png", "--out", tmp_path / "out")
    assert_one_line_error(result, code=2)
    assert "not a regular file" in result.stderr
