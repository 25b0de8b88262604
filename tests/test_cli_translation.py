"""Tests of the image-to-image side of the command line: `kerasgen train
cyclegan|pix2pix` and `kerasgen translate`.

Like tests/test_cli.py, the commands run in-process with `CliRunner` on the
backend `KERAS_BACKEND` selects. Training is the slow part, so three tiny
runs are module fixtures shared by the tests: a CycleGAN and a Pix2Pix on
the embedded digit pairs, and a Pix2Pix on a folder of named pairs.
"""

import json
import os
import re

import numpy as np
import pytest
from PIL import Image

import keras

from cli_helpers import assert_one_line_error, invoke


ON_TF = keras.backend.backend() == "tensorflow"
SIZE = 16  # CycleGAN's; Pix2Pix runs at 8 (its U-Net is deeper per pixel).
CYCLEGAN = [
    "--set", f"image_size={SIZE}", "--set", "generator_filters=4",
    "--set", "discriminator_filters=4", "--set", "num_residual_blocks=1",
    "--set", "discriminator_layers=1", "--set", "jitter=false", "--no-tensorboard",
]
PIX2PIX = [
    "--set", "image_size=8", "--set", "generator_filters=4",
    "--set", "discriminator_filters=4", "--set", "discriminator_layers=1",
    "--set", "jitter=false", "--no-tensorboard",
]
# (jitter=false: the random resize-and-crop is the model's to test, and
# compiling it costs seconds per run.)


def assert_ok(result):
    assert result.exit_code == 0, result.output + result.stderr


def strip_size(rows, cols=3, size=SIZE, padding=2):
    """(width, height) of a `make_grid` of rows x cols images."""
    return (padding + cols * (size + padding), padding + rows * (size + padding))


def strip_layout(strip, groups, cols=3, size=SIZE, padding=2):
    """`(factor, bands)` of a sample strip of `groups` (rows per group):
    the upscale factor, and for each group `(band_top, grid_top)`, where
    its caption band and its grid start."""
    width, height = strip.size
    raw_width, _ = strip_size(1, cols, size, padding)
    factor = width // raw_width
    assert width == raw_width * factor and factor > 1
    assert max(width, height) >= 512
    heights = [strip_size(rows, cols, size, padding)[1] * factor for rows in groups]
    band = (height - sum(heights)) // len(groups)
    assert band * len(groups) + sum(heights) == height and band > 0
    bands, top = [], 0
    for grid_height in heights:
        bands.append((top, top + band))
        top += band + grid_height
    return factor, bands


def assert_captioned(pixels, bands):
    """Each group's caption band holds text: dark pixels on white (not one
    background value)."""
    for band_top, grid_top in bands:
        caption = pixels[band_top:grid_top]
        assert caption.max() == 255 and caption.min() < 64, "no caption text"
        assert (caption < 64).mean() < 0.5  # text on a background


def steps_of(folder):
    model = keras.saving.load_model(os.path.join(folder, "checkpoint.keras"))
    return int(keras.ops.convert_to_numpy(model.optimizer.iterations)), model


@pytest.fixture(scope="module")
def cyclegan_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cyclegan") / "run"
    options = list(CYCLEGAN)
    if ON_TF:  # The strips go to TensorBoard too (TensorFlow is loaded anyway).
        options.remove("--no-tensorboard")
    result = invoke("train", "cyclegan", "--out", out, *options, "--steps", 3,
                    "--sample-every", 2, "--checkpoint-every", 3)
    assert_ok(result)
    return out, result


@pytest.fixture(scope="module")
def pix2pix_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("pix2pix") / "run"
    # junyanz's spelling of the direction is accepted too.
    result = invoke("train", "pix2pix", "--out", out, *PIX2PIX, "--steps", 2,
                    "--direction", "BtoA")
    assert_ok(result)
    return out, result


def write_pairs(root, split, count, seed):
    """`root/<split>A/i.png` and `root/<split>B/i.png`: B is A inverted."""
    rng = np.random.default_rng(seed)
    for i in range(count):
        a = rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)
        for domain, pixels in (("A", a), ("B", 255 - a)):
            folder = root / f"{split}{domain}"
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(pixels).save(folder / f"{i}.png")


# --- train ------------------------------------------------------------------------


def test_cyclegan_trains_on_the_embedded_pairs(cyclegan_run):
    out, result = cyclegan_run
    # Batch size 1 (the family's default, not marked as changed), and the
    # learning-rate schedule: constant for half the run, then decaying.
    assert re.search(r"^\s+batch_size\s+1$", result.stdout, re.M)
    assert re.search(r"\* constant_steps\s+1\s+\[default: None\]", result.stdout)
    assert re.search(r"\* decay_steps\s+2\s+\[default: None\]", result.stdout)
    assert "images A of (16, 16, 3)" in result.stdout
    config = json.loads((out / "config.json").read_text())
    assert config["family"] == "cyclegan"
    assert config["model"]["constant_steps"] == 1 and config["model"]["decay_steps"] == 2
    assert config["train"]["batch_size"] == 1 and config["train"]["num_samples"] == 4
    steps, model = steps_of(out)
    assert steps == 3
    assert (model.constant_steps, model.decay_steps) == (1, 2)

    # Strips, enlarged and captioned: 4 rows [a, G(a), F(G(a))] under
    # "A -> B -> A", then 4 rows [b, F(b), G(F(b))] under "B -> A -> B".
    assert sorted(os.listdir(out / "samples")) == ["step_000002.png", "step_000003.png"]
    strip = Image.open(out / "samples" / "step_000003.png")
    assert strip.mode == "RGB"
    factor, bands = strip_layout(strip, groups=(4, 4))
    last = np.asarray(strip)
    assert_captioned(last, bands)
    assert (last[bands[1][0]] == 255).all()  # the second band: on white
    # The fixed inputs: the first column is the same at every step.
    first = np.asarray(Image.open(out / "samples" / "step_000002.png"))
    column = slice(0, (2 + SIZE + 2) * factor)
    np.testing.assert_array_equal(first[:, column], last[:, column])
    if ON_TF:
        events = list((out / "tensorboard").glob("events.out.tfevents.*"))
        assert events and events[0].stat().st_size > 1000


def test_pix2pix_trains_in_its_direction(pix2pix_run):
    out, result = pix2pix_run
    assert re.search(r"\* direction\s+b2a\s+\[default: a2b\]", result.stdout)
    assert "direction b2a: inputs B, targets A" in result.stdout
    config = json.loads((out / "config.json").read_text())
    assert config["model"]["direction"] == "b2a"
    assert config["model"]["constant_steps"] == 1 and config["model"]["decay_steps"] == 1
    assert config["train"]["batch_size"] == 1
    # Strips of [input, output, target], one row per fixed test image.
    strip = Image.open(out / "samples" / "step_000002.png")
    _, bands = strip_layout(strip, groups=(4,), size=8)
    assert_captioned(np.asarray(strip), bands)


def test_pix2pix_resume_keeps_the_schedule_of_its_checkpoint(pix2pix_run, tmp_path):
    import shutil

    out = tmp_path / "run"
    shutil.copytree(pix2pix_run[0], out)
    # Set on the fresh run of 2 steps: the learning rate is 0 from step 2
    # on, so a longer resumed run is refused rather than run for nothing.
    result = invoke("train", "pix2pix", "--out", out, "--resume", "--steps", 3)
    assert_one_line_error(result, code=2)
    assert "decays to 0 at step 2" in result.stderr
    result = invoke("train", "pix2pix", "--out", out, "--resume")
    assert_ok(result)
    assert "nothing to train" in result.stdout
    steps, model = steps_of(out)
    assert steps == 2 and model.direction == "b2a"
    assert (model.constant_steps, model.decay_steps) == (1, 1)
    config = json.loads((out / "config.json").read_text())
    assert config["model"]["decay_steps"] == 1 and config["train"]["batch_size"] == 1


def test_pix2pix_on_a_folder_counts_epochs_and_draws_the_test_split(tmp_path):
    data = tmp_path / "pairs"
    write_pairs(data, "train", 4, seed=0)
    write_pairs(data, "test", 2, seed=1)
    out = tmp_path / "run"
    result = invoke("train", "pix2pix", "--out", out, *PIX2PIX, "--data", data,
                    "--epochs", 1, "--batch-size", 2, "--num-samples", 9)
    assert_ok(result)
    # 4 pairs // batch 2 = 2 steps; the schedule covers those 2 steps.
    assert "steps done: 0 of 2" in result.stdout
    config = json.loads((out / "config.json").read_text())
    assert config["model"]["constant_steps"] == 1 and config["model"]["decay_steps"] == 1
    assert "test split" in result.stderr
    # Both test pairs (fewer than --num-samples), inputs first.
    picture = Image.open(out / "samples" / "step_000002.png")
    factor, ((_, top),) = strip_layout(picture, groups=(2,), size=8)
    strip = np.asarray(picture)
    first = strip[top + 2 * factor:top + 10 * factor:factor,
                  2 * factor:10 * factor:factor]
    test_input = np.asarray(Image.open(data / "testA" / "0.png").resize((8, 8), Image.BILINEAR))
    np.testing.assert_allclose(first.astype(int), test_input.astype(int), atol=1)


@pytest.mark.parametrize(
    "family, extra, code, fragment",
    [
        # --direction is pix2pix's own option (its constructor's argument).
        ("cyclegan", ["--direction", "b2a"], 2, "No such option '--direction'"),
        ("dcgan", ["--direction", "b2a"], 2, "No such option '--direction'"),
        ("pix2pix", ["--direction", "sideways"], 2, "'a2b' or 'b2a'"),
        ("pix2pix", ["--direction", "b2a", "--set", "direction=a2b"], 2, "both set"),
        ("cyclegan", ["--batch-size", 100000], 2, "--batch-size"),
        ("pix2pix", ["--data", "FOLDER"], 1, "side-by-side"),
        ("cyclegan", ["--data", "FOLDER"], 1, "trainA"),
    ],
)
def test_user_mistakes_end_in_one_error_line(tmp_path, family, extra, code, fragment):
    folder = tmp_path / "flat"
    folder.mkdir()
    Image.new("RGB", (8, 8)).save(folder / "x.png")
    extra = [str(folder) if arg == "FOLDER" else arg for arg in extra]
    options = {"cyclegan": CYCLEGAN, "pix2pix": PIX2PIX}.get(family, [])
    result = invoke("train", family, "--out", tmp_path / "out", *options, *extra)
    assert_one_line_error(result, code=code)
    assert fragment in result.stderr


# --- translate --------------------------------------------------------------------


@pytest.fixture
def images(tmp_path):
    folder = tmp_path / "images"
    (folder / "nested").mkdir(parents=True)
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (40, 30, 3), dtype=np.uint8)).save(folder / "wide.png")
    Image.fromarray(rng.integers(0, 256, (12, 12), dtype=np.uint8)).save(
        folder / "nested" / "grey.jpg")
    (folder / "broken.png").write_text("not an image")
    return folder


def test_translate_writes_one_png_per_image(cyclegan_run, images, tmp_path):
    run, _ = cyclegan_run
    out = tmp_path / "out"
    result = invoke("translate", run, images, "--out", out, "--strip")
    assert_ok(result)
    assert sorted(os.listdir(out)) == [
        "grey.png", "grey.strip.png", "wide.png", "wide.strip.png"]
    # At the model's resolution, RGB; the strip is input | output.
    assert Image.open(out / "wide.png").size == (SIZE, SIZE)
    assert Image.open(out / "grey.png").mode == "RGB"
    assert Image.open(out / "wide.strip.png").size == strip_size(rows=1, cols=2)
    assert "warning: skipped 1 unreadable" in result.stderr
    assert "Translated 2 image(s) a2b" in result.stdout

    # The output is the model's translation of the resized input.
    from kerasgen.cli.translate import read_image

    model = keras.saving.load_model(run / "checkpoint.keras")
    want = model.translate(read_image(images / "wide.png", SIZE)[None], "b2a")[0]
    invoke("translate", run, images / "wide.png", "--out", tmp_path / "b2a",
           "--direction", "b2a")
    got = np.asarray(Image.open(tmp_path / "b2a" / "wide.png")).astype(int)
    assert np.abs(got - np.round((want + 1) * 127.5)).max() <= 1

    # Never overwrites, unless asked to.
    before = (out / "wide.png").read_bytes()
    again = invoke("translate", run, images, "--out", out)
    assert_one_line_error(again, code=1)
    assert "--overwrite" in again.stderr
    assert (out / "wide.png").read_bytes() == before
    assert_ok(invoke("translate", run, images, "--out", out, "--overwrite",
                     "--direction", "b2a"))


def test_translate_pix2pix_has_one_direction(pix2pix_run, images, tmp_path):
    run, _ = pix2pix_run
    result = invoke("translate", run, images / "wide.png", "--out", tmp_path / "out")
    assert_ok(result)
    assert "Translated 1 image(s) b2a" in result.stdout
    result = invoke("translate", run, images / "wide.png", "--out", tmp_path / "out2",
                    "--direction", "a2b")
    assert_one_line_error(result, code=2)
    assert "translates b2a only" in result.stderr
    assert not (tmp_path / "out2").exists()


def test_translate_mistakes(cyclegan_run, images, tmp_path):
    run, _ = cyclegan_run
    empty = tmp_path / "empty"
    empty.mkdir()
    result = invoke("translate", run, empty, "--out", tmp_path / "out")
    assert_one_line_error(result, code=2)
    assert "No images found" in result.stderr

    result = invoke("translate", run, images / "broken.png", "--out", tmp_path / "out")
    assert_one_line_error(result, code=1)
    assert "could be read" in result.stderr

    import kerasgen

    dcgan = kerasgen.DCGAN(image_size=8, latent_dim=4, generator_filters=4,
                           discriminator_filters=4)
    dcgan.save(tmp_path / "dcgan.keras")
    result = invoke("translate", tmp_path / "dcgan.keras", images, "--out", tmp_path / "out")
    assert_one_line_error(result, code=2)
    assert "DCGAN does not provide `translate`" in result.stderr
    assert "kerasgen sample" in result.stderr

    result = invoke("translate", tmp_path / "nothing.keras", images, "--out", tmp_path / "out")
    assert_one_line_error(result, code=2)
    assert "No such checkpoint" in result.stderr


def test_sample_of_a_translating_model_names_translate(cyclegan_run, tmp_path):
    run, _ = cyclegan_run
    result = invoke("sample", run, "--out", tmp_path / "x.png")
    assert_one_line_error(result, code=2)
    assert "CycleGAN does not provide `sample`" in result.stderr
    assert "kerasgen translate" in result.stderr
    assert not (tmp_path / "x.png").exists()


def test_plan_run_sets_the_schedule_from_the_run_length(cyclegan_run):
    # `kerasgen train` tells the model the run's length (plan_run) before
    # compile(): half of the 3 steps constant, the rest decaying.
    out, _ = cyclegan_run
    _, model = steps_of(out)
    config = model.get_config()
    assert (config["constant_steps"], config["decay_steps"]) == (3 // 2, 3 - 3 // 2)
    schedule = model.optimizer["generator"]._learning_rate
    assert (schedule.constant_steps, schedule.decay_steps) == (1, 2)


def test_help_lists_translate():
    result = invoke("--help")
    assert "translate" in result.stdout
    result = invoke("translate", "--help")
    assert "model's resolution" in result.stdout


def test_embedded_data_trains_the_demo_recipe_that_options_override(tmp_path):
    # With no --data, `kerasgen train cyclegan` must be a CPU demo of a
    # couple of minutes: the paper's 256x256, 9-block model is swapped for
    # the family's `recipes["demo"]`, and each value given still wins.
    from kerasgen.models import get_family

    recipe = get_family("cyclegan").recipes["demo"]
    out = tmp_path / "run"
    result = invoke("train", "cyclegan", "--out", out, "--steps", 1,
                    "--image-size", 16, "--set", "num_residual_blocks=1",
                    "--set", "discriminator_layers=1", "--jitter", "false",
                    "--no-tensorboard")
    assert_ok(result)
    model = json.loads((out / "config.json").read_text())["model"]
    assert (model["image_size"], model["num_residual_blocks"]) == (16, 1)
    assert model["jitter"] is False
    for key in set(recipe) - {"image_size", "num_residual_blocks"}:
        assert model[key] == recipe[key], key


def test_translate_pairs_takes_the_input_half_and_shows_the_target(pix2pix_run, tmp_path):
    run, _ = pix2pix_run  # trained b2a: the right half is the input
    pair = np.zeros((8, 16, 3), np.uint8)
    pair[:, :8] = (255, 0, 0)  # A, left: red
    pair[:, 8:] = (0, 0, 255)  # B, right: blue
    Image.fromarray(pair).save(tmp_path / "pair.png")
    result = invoke("translate", run, tmp_path / "pair.png", "--pairs", "--strip",
                    "--out", tmp_path / "out")
    assert_ok(result)
    strip = np.asarray(Image.open(tmp_path / "out" / "pair.strip.png"))
    assert strip.shape == (12, 32, 3)  # input | output | target, padding 2
    np.testing.assert_array_equal(strip[6, 6], (0, 0, 255))   # input: B
    np.testing.assert_array_equal(strip[6, 26], (255, 0, 0))  # target: A
    Image.new("RGB", (8, 8)).save(tmp_path / "square.png")
    result = invoke("translate", run, tmp_path / "square.png", "--pairs",
                    "--out", tmp_path / "out2")
    assert_one_line_error(result, code=2)
    assert "side-by-side" in result.stderr
