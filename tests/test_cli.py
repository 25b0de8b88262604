"""Tests of the `kerasgen` command line (cli/, installed as kerasgen.cli).

Most tests call the click group in-process with `CliRunner`, on whichever
backend `KERAS_BACKEND` selects for the test run. The interruption test,
the `--backend` test and the start-up tests start real processes. Every
run is a tiny DCGAN on the built-in digits resized to 8x8, a few steps long.
"""

import csv
import importlib.metadata
import io
import json
import os
import re
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from click.testing import CliRunner

import keras

from cli_helpers import TINY, assert_one_line_error, cli_process, invoke
from cli_helpers import logged_steps, train_tiny, wait_for_training

ON_TF = keras.backend.backend() == "tensorflow"

from kerasgen.cli import callbacks as callbacks_lib
from kerasgen.cli import config as config_lib
from kerasgen.cli.main import cli
from kerasgen.cli.train import NOT_OPTIONS
from kerasgen.models import get_family
from kerasgen.models import registry
from kerasgen.utils.images import make_grid
from kerasgen.utils.images import save_grid
from kerasgen.utils.images import upscale
from kerasgen.utils.io import atomic_write

def read_losses(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def assert_single_steps(rows, last_step):
    assert rows[0][0] == "step"
    assert [r[0] for r in rows].count("step") == 1, "header written twice"
    steps = [int(r[0]) for r in rows[1:]]
    assert steps == list(range(1, last_step + 1))
    for row in rows[1:]:
        assert all(np.isfinite(float(v)) for v in row[1:])


# --- families ---------------------------------------------------------------------


def test_families_lists_every_family_with_its_description():
    from kerasgen.models import load_all

    result = invoke("families")
    assert result.exit_code == 0, result.output
    for name, cls in load_all().items():
        line = next(l for l in result.stdout.splitlines() if l.split()[0] == name)
        assert cls.description in line


def test_help_lists_commands():
    result = invoke("--help")
    assert result.exit_code == 0
    for command in ("families", "train", "sample"):
        assert command in result.stdout


# --- train ------------------------------------------------------------------------


def test_train_writes_a_run_folder(tmp_path):
    out = tmp_path / "run"
    result = train_tiny(out, "--steps", 4, "--checkpoint-every", 2,
                        "--sample-every", 2)
    assert result.exit_code == 0, result.output + result.stderr

    # The resolved config, non-defaults marked, saved beside the run.
    assert re.search(r"\* latent_dim\s+8\s+\[default: 100\]", result.stdout)
    assert re.search(r"^\s+channels\s+1$", result.stdout, re.M)
    config = json.loads((out / "config.json").read_text())
    assert config["family"] == "dcgan"
    assert config["model"]["latent_dim"] == 8
    assert "latent_dim" in config["model_changed"]
    assert config["train"]["batch_size"] == 16
    assert config["backend"] == keras.backend.backend()
    for package in ("keras", "tensorflow", "jax"):
        try:
            expected = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            expected = None
        assert config["versions"][package] == expected, package
    assert config["versions"]["tensorflow"] is not None or not ON_TF

    assert sorted(os.listdir(out / "samples")) == ["step_000002.png", "step_000004.png"]
    from PIL import Image

    # 4 samples of 8x8 in a 2x2 grid (22x22 pixels with the padding),
    # enlarged 24 times: the smallest factor that reaches 512 pixels.
    grid = Image.open(out / "samples" / "step_000004.png")
    assert grid.size == (22 * 24, 22 * 24) and max(grid.size) >= 512
    pixels = np.asarray(grid)
    assert (pixels[::24, ::24] == pixels[23::24, 23::24]).all()  # nearest neighbour
    assert_single_steps(read_losses(out / "losses.csv"), 4)
    assert read_losses(out / "losses.csv")[0] == ["step", "d_loss", "g_loss"]

    model = keras.saving.load_model(out / "checkpoint.keras")
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == 4
    assert "checkpoint.keras (step 4)" in result.stdout


def test_resume_continues_the_step_count_and_the_loss_log(tmp_path):
    out = tmp_path / "run"
    first = train_tiny(out, "--steps", 2, "--checkpoint-every", 2, "--seed", 3)
    assert first.exit_code == 0, first.output + first.stderr
    # Options not given again (batch size, seed, intervals) come from config.json.
    second = invoke("train", "dcgan", "--out", out, "--resume", "--steps", 5)
    assert second.exit_code == 0, second.output + second.stderr
    assert "at step 2" in second.stdout
    assert "steps done: 2 of 5" in second.stdout
    assert_single_steps(read_losses(out / "losses.csv"), 5)
    config = json.loads((out / "config.json").read_text())
    assert config["train"]["batch_size"] == 16
    assert config["train"]["seed"] == 3
    model = keras.saving.load_model(out / "checkpoint.keras")
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == 5

    # Already there: nothing to do, and nothing breaks.
    third = invoke("train", "dcgan", "--out", out, "--resume", "--steps", 5)
    assert third.exit_code == 0
    assert "nothing to train" in third.stdout


def test_precision_trains_in_mixed_precision_and_a_resume_keeps_it(tmp_path):
    out = tmp_path / "run"
    first = train_tiny(out, "--steps", 2, "--checkpoint-every", 2,
                       "--precision", "mixed_bfloat16")
    assert first.exit_code == 0, first.output + first.stderr
    assert "precision" in first.stdout and "mixed_bfloat16" in first.stdout
    # The policy is the run's only: the process's global one is put back.
    assert keras.config.dtype_policy().name == "float32"
    config = json.loads((out / "config.json").read_text())
    assert config["train"]["precision"] == "mixed_bfloat16"
    second = invoke("train", "dcgan", "--out", out, "--resume", "--steps", 3)
    assert second.exit_code == 0, second.output + second.stderr
    assert "mixed_bfloat16" in second.stdout
    # One row per step, every loss finite.
    assert_single_steps(read_losses(out / "losses.csv"), 3)
    # Variables stay float32 (the checkpoint is the same file either way).
    model = keras.saving.load_model(out / "checkpoint.keras")
    assert {v.dtype for v in model.trainable_weights} == {"float32"}


def test_precision_refuses_an_unknown_policy(tmp_path):
    result = train_tiny(tmp_path / "run", "--precision", "float8")
    assert_one_line_error(result, code=2)


def test_resume_refuses_a_different_model(tmp_path):
    out = tmp_path / "run"
    assert train_tiny(out, "--steps", 1).exit_code == 0
    result = invoke("train", "dcgan", "--out", out, "--resume", "--steps", 2,
                    "--set", "latent_dim=16")
    assert_one_line_error(result, code=2)
    assert "latent_dim" in result.stderr


def test_overwrite_starts_the_run_again(tmp_path):
    out = tmp_path / "run"
    assert train_tiny(out, "--steps", 3).exit_code == 0
    result = train_tiny(out, "--steps", 1, "--overwrite")
    assert result.exit_code == 0, result.stderr
    assert_single_steps(read_losses(out / "losses.csv"), 1)


def test_epochs_count_passes_over_the_data(tmp_path):
    out = tmp_path / "run"
    data = tmp_path / "tiny.npz"
    np.savez(data, images=np.random.default_rng(0).integers(0, 255, (40, 8, 8, 1), dtype=np.uint8))
    result = train_tiny(out, "--data", data, "--epochs", 2)
    assert result.exit_code == 0, result.stderr
    # 40 images // batch 16 = 2 steps per pass.
    assert_single_steps(read_losses(out / "losses.csv"), 4)


def test_tensorboard_logs_scalars_and_images(tmp_path):
    # On JAX too (TensorFlow writes the files there): the learning rates are
    # computed without reading the training state.
    pytest.importorskip("tensorboard")
    pytest.importorskip("tensorflow")
    out = tmp_path / "run"
    args = [a for a in TINY if a != "--no-tensorboard"]
    result = invoke("train", "dcgan", "--out", out, *args, "--steps", 2,
                    "--sample-every", 2)
    assert result.exit_code == 0, result.stderr
    events = list((out / "tensorboard").glob("events.out.tfevents.*"))
    assert events and events[0].stat().st_size > 100
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(str(events[0]), size_guidance={"tensors": 0})
    accumulator.Reload()
    tags = accumulator.Tags()["tensors"]
    assert {"d_loss", "g_loss", "samples", "lr/generator", "lr/discriminator"} <= set(tags)
    rates = [(e.step, float(np.asarray(
        __import__("tensorflow").make_ndarray(e.tensor_proto))))
        for e in accumulator.Tensors("lr/generator")]
    assert rates == [(1, pytest.approx(2e-4)), (2, pytest.approx(2e-4))]


def test_learning_rates_follow_the_schedule_at_each_step():
    # The rate each step's optimizer applies in batch `step`: its schedule at
    # the updates made before it, (step - 1) // every * repeat.
    from kerasgen.training import MultiOptimizer
    from kerasgen.training.schedules import ConstantThenLinearDecay

    class Model:
        optimizer = MultiOptimizer({
            "critic": keras.optimizers.Adam(ConstantThenLinearDecay(1.0, 0, 10)),
            "generator": keras.optimizers.Adam(0.5),
        })

        def update_steps(self):
            from types import SimpleNamespace

            return [SimpleNamespace(name="critic", repeat=2, every=1),
                    SimpleNamespace(name="generator", repeat=1, every=1)]

    rates = callbacks_lib.learning_rates(Model())
    assert sorted(rates) == ["lr/critic", "lr/generator"]
    assert [rates["lr/critic"](step) for step in (1, 2, 3, 6, 7)] == pytest.approx(
        [1.0, 0.8, 0.6, 0.0, 0.0])
    assert rates["lr/generator"](5) == pytest.approx(0.5)


def test_model_options_equal_set(tmp_path):
    # `--latent-dim 8` is `--set latent_dim=8`; a tuple or boolean is read
    # the same way by both.
    by_set = tmp_path / "set"
    by_option = tmp_path / "option"
    assert train_tiny(by_set, "--steps", 1, "--set", "r1_gamma=0.5").exit_code == 0
    options = [a for a in TINY if not a.startswith(("latent_dim", "--set"))]
    options = [a for a in options if not re.match(r"\w+=", a)]
    result = invoke("train", "dcgan", "--out", by_option, *options, "--steps", 1,
                    "--image-size", 8, "--latent-dim", 8, "--generator-filters", 8,
                    "--discriminator-filters", 8, "--r1-gamma", 0.5)
    assert result.exit_code == 0, result.output
    assert re.search(r"\* r1_gamma\s+0.5\s+\[default: 0.0\]", result.stdout)
    configs = [json.loads((folder / "config.json").read_text())
               for folder in (by_set, by_option)]
    assert configs[0]["model"] == configs[1]["model"]
    assert configs[1]["model"]["latent_dim"] == 8
    assert configs[0]["model_changed"] == configs[1]["model_changed"]


def test_progress_is_one_bar_over_the_run(tmp_path):
    out = tmp_path / "run"
    result = train_tiny(out, "--steps", 3)
    assert result.exit_code == 0, result.output
    assert "Epoch" not in result.stdout
    series = re.findall(r"^step (\d+)/(\d+) \[[=> ]{24}\] +\d+% ETA \S+ \| "
                        r"d_loss \S+ g_loss \S+$", result.stdout, re.M)
    lines = [l for l in result.stdout.splitlines() if re.match(r"\s*\d+/\d+\b", l)]
    assert not lines, lines  # no Keras progress bar beside ours
    assert series == [("1", "3"), ("2", "3"), ("3", "3")]
    # Resumed: the series goes on from the checkpoint, towards the new end.
    result = invoke("train", "dcgan", "--out", out, "--resume", "--steps", 5)
    assert result.exit_code == 0, result.output
    assert re.findall(r"^step (\d+)/(\d+) ", result.stdout, re.M) == [
        ("4", "5"), ("5", "5")]


def test_a_run_enters_each_phase_before_its_steps(tmp_path, monkeypatch):
    # A family with phases trains one fit() per phase, entering each first;
    # a run resumed in the middle of a phase enters it at that offset.
    from kerasgen.training import Phase

    cls = get_family("dcgan")
    entered = []

    def enter_phase(self, index, step_in_phase):
        entered.append((index, step_in_phase, callbacks_lib.model_step(self)))

    monkeypatch.setattr(cls, "phases", lambda self: [Phase("a", 2), Phase("b", 2)],
                        raising=False)
    monkeypatch.setattr(cls, "enter_phase", enter_phase, raising=False)
    out = tmp_path / "run"
    result = train_tiny(out, "--steps", 3, "--checkpoint-every", 3)
    assert result.exit_code == 0, result.output
    assert entered == [(0, 0, 0), (1, 0, 2)]
    # One progress series across both fit() calls.
    assert re.findall(r"^step (\d+)/3 ", result.stdout, re.M) == ["1", "2", "3"]
    entered.clear()
    result = invoke("train", "dcgan", "--out", out, "--resume", "--steps", 5)
    assert result.exit_code == 0, result.output
    assert entered == [(1, 1, 3)]
    assert_single_steps(read_losses(out / "losses.csv"), 5)


class _Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_progress_eta_is_this_sessions_pace(monkeypatch):
    clock = _Clock()
    monkeypatch.setattr(callbacks_lib.time, "monotonic", clock)
    stream = io.StringIO()
    # A run resumed at step 100 of 200: its first step (compilation) takes
    # 30 s, the next ones 1 s each.
    progress = callbacks_lib.Progress(100, 200, stream=stream, tty=False)
    clock.now = 30.0
    progress.on_train_batch_end(0, {"g_loss": 1.0})
    for _ in range(19):
        clock.now += 1.0
        progress.on_train_batch_end(0, {"g_loss": 0.5})
    assert progress.step == 120
    # 80 steps left at 1 s each: neither the 120 steps nor the first one
    # of this session count as done in 49 s.
    assert progress.eta(clock.now) == "1:20"
    # Not a terminal: one line at each tenth of the run (here step 120).
    assert stream.getvalue().splitlines() == [
        "step 120/200 [==============>         ]  60% ETA 1:20 | g_loss 0.5"]


def test_progress_redraws_in_place_on_a_terminal(monkeypatch):
    clock = _Clock()
    monkeypatch.setattr(callbacks_lib.time, "monotonic", clock)
    stream = io.StringIO()
    progress = callbacks_lib.Progress(0, 3, stream=stream, tty=True)
    for _ in range(3):
        clock.now += 1.0
        progress.on_train_batch_end(0, {"d_loss": 0.25})
    progress.on_train_end()
    text = stream.getvalue()
    assert text.count("\r") == 3 and text.count("\n") == 1 and text.endswith("\n")
    assert text.split("\r")[-1].startswith("step 3/3 [========================] 100% ETA 0:00")


# --- per-family options ---------------------------------------------------------------


@pytest.mark.parametrize("family", registry.family_names())
def test_family_help_lists_every_constructor_argument(family):
    cls = get_family(family)
    result = invoke("train", family, "--help")
    assert result.exit_code == 0, result.output
    training, _, model = result.stdout.partition(f"Model options ({cls.__name__}")
    assert model, result.stdout
    help_text = " ".join(model.split())  # click wraps the lines
    docs = config_lib.argument_docs(cls)
    for key, default in config_lib.constructor_defaults(cls).items():
        if key in NOT_OPTIONS:  # `seed`: the training option --seed sets it
            assert f"--{key.replace('_', '-')} " not in help_text
            continue
        # Every argument is documented, in the family or a base class.
        assert key in docs, f"{cls.__name__}'s docstrings do not document {key}"
        doc = docs[key]
        metavar = config_lib.metavar(default, doc.type)
        line = re.search(
            rf"--{key.replace('_', '-')} {re.escape(metavar)} \[default: "
            rf"{re.escape(config_lib.show(default))}\](?: (?!--)(.*?))?(?= --|$)", help_text)
        assert line, (key, metavar)
        assert (line.group(1) or "") == " ".join(doc.description.split()), key
    # The training options come first.
    for option in ("--steps", "--data", "--resume", "--set", "--seed", "--backend"):
        assert option in training


def _readme_command_line():
    path = os.path.join(os.path.dirname(__file__), os.pardir, "README.md")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    return text[text.index("## Command line"):text.index("## Export for serving")]


def test_readme_agrees_with_the_help():
    from kerasgen.cli import train as train_lib

    section = _readme_command_line()
    # As on a terminal of 80 columns or more, where click formats to 78 (its
    # test runner would use 80).
    result = CliRunner().invoke(cli, ["train", "cyclegan", "--help"], terminal_width=78)
    assert result.exit_code == 0, result.output
    training = result.stdout.partition("Model options")[0]
    # Every training option of the table, and no option the table lacks.
    rows = re.findall(r"^\| (`--.*?) \|", section, re.M)
    in_readme = {flag for row in rows for flag in re.findall(r"--[\w-]+", row)}
    in_help = set(re.findall(r"(?<![\w-])--[a-z][\w-]*", training))
    assert in_readme == in_help - {"--help"}, (in_readme ^ (in_help - {"--help"}))
    # The defaults the table states are the code's.
    table = dict(re.findall(r"^\| `(--[\w-]+).*? \| (.*) \|$", section, re.M))
    assert f"(default {train_lib.DEFAULT_STEPS})" in table["--steps"]
    assert f"(default {train_lib.DEFAULT_SEED})" in table["--seed"]
    assert (f"(defaults {train_lib.DEFAULT_SAMPLE_EVERY} and "
            f"{train_lib.DEFAULT_CHECKPOINT_EVERY})") in table["--sample-every"]
    assert (f"(default {train_lib.DEFAULT_NUM_SAMPLES})" in table["--num-samples"]
            and f"by default {train_lib.MAX_STRIP_IMAGES}" in table["--num-samples"])
    # The quoted help is the help, line for line.
    quoted = section[section.index("```\nModel options"):].split("```")[1]
    help_lines = result.stdout.splitlines()
    for line in quoted.strip("\n").splitlines():
        if line.strip() != "...":
            assert line in help_lines, line


def test_train_help_lists_the_families_without_importing_them():
    result = invoke("train", "--help")
    assert result.exit_code == 0
    for entry in registry.index():
        assert re.search(rf"^\s+{re.escape(entry.name)}\s+", result.stdout, re.M)
        assert entry.summary.split()[0] in result.stdout


def test_argument_docs_read_google_style_args():
    docs = config_lib.parse_args_section(textwrap.dedent("""\
        A family.

        Args:
            size: int. Height and width, a multiple of 4. Defaults to 256.
            mode: `"a2b"` or `"b2a"`: which half of the pairs is the
                input. Defaults to `"a2b"`.
            rate: float or None. Decay, per step
                (`0.5` halves it). Defaults to None.
            plain (int): The old style.
            untyped: Says only what it is.

        Example:
            not: an argument.
        """))
    assert docs == {
        "size": config_lib.ArgumentDoc("int", "Height and width, a multiple of 4."),
        "mode": config_lib.ArgumentDoc('`"a2b"` or `"b2a"`',
                                       "Which half of the pairs is the input."),
        "rate": config_lib.ArgumentDoc("float or None", "Decay, per step (`0.5` halves it)."),
        "plain": config_lib.ArgumentDoc("int", "The old style."),
        "untyped": config_lib.ArgumentDoc("", "Says only what it is."),
    }
    assert config_lib.metavar(None, "int or None") == "INT|NONE"
    assert config_lib.metavar("a2b", '`"a2b"` or `"b2a"`') == "a2b|b2a"
    assert config_lib.metavar((8, 16)) == "INT,..."


def test_subclass_finds_the_documentation_of_its_base():
    import kerasgen

    # DCGAN documents none of its arguments; GAN and GenerativeModel do.
    assert "latent_dim:" not in kerasgen.DCGAN.__doc__
    docs = config_lib.argument_docs(kerasgen.DCGAN)
    assert docs["latent_dim"].description == "Size of z."
    assert docs["ema_decay"].type == "float or None"


def test_sample_writes_a_grid_from_a_run_folder_or_a_file(tmp_path):
    out = tmp_path / "run"
    assert train_tiny(out, "--steps", 1).exit_code == 0
    for source in (out, out / "checkpoint.keras"):
        png = tmp_path / "grid.png"
        result = invoke("sample", source, "--n", 6, "--out", png, "--seed", 1,
                        "--nrow", 3)
        assert result.exit_code == 0, result.stderr
        from PIL import Image

        # 3x2 tiles of 8x8 (32x22 with the padding), 16 times: 512 wide.
        assert Image.open(png).size == (32 * 16, 22 * 16)
    again = tmp_path / "again.png"
    invoke("sample", out, "--n", 6, "--out", again, "--seed", 1, "--nrow", 3)
    assert again.read_bytes() == png.read_bytes()  # same seed, same grid
    raw = tmp_path / "raw.png"
    assert invoke("sample", out, "--n", 6, "--out", raw, "--seed", 1, "--nrow", 3,
                  "--scale", 1).exit_code == 0
    assert Image.open(raw).size == (32, 22)
    np.testing.assert_array_equal(
        np.asarray(Image.open(png)), upscale(np.asarray(Image.open(raw))[..., None])[..., 0])
    # The help of --scale states the size images.py upscales to.
    from kerasgen.cli import main as main_lib
    from kerasgen.utils import images as images_lib

    assert main_lib.VIEW_SIZE == images_lib.VIEW_SIZE


# --- user mistakes: one line, non-zero exit, no traceback ------------------------------


@pytest.fixture
def finished_run(tmp_path):
    out = tmp_path / "done"
    assert train_tiny(out, "--steps", 1).exit_code == 0
    return out


@pytest.mark.parametrize(
    "args, code, fragment",
    [
        (["train", "dcgam"], 2, "Did you mean: dcgan"),
        (["train", "dcgan", *TINY, "--set", "latent_dimm=3"], 2, "Valid keys:"),
        (["train", "dcgan", *TINY, "--set", "latent_dim=many"], 2, "as an int"),
        (["train", "dcgan", *TINY, "--set", "latent_dim"], 2, "key=value"),
        # A value the family refuses is a wrong argument too.
        (["train", "dcgan", *TINY, "--set", "loss=nope"], 2, "loss"),
        (["train", "dcgan", *TINY, "--data", "/no/such/folder"], 1, "/no/such/folder"),
        (["train", "dcgan", *TINY, "--resume"], 2, "Nothing to resume"),
        (["train", "dcgan", *TINY, "--steps", 2, "--epochs", 1], 2, "--steps or --epochs"),
        (["train", "dcgan", *TINY, "--batch-size", 100000], 2, "--batch-size"),
        (["train", "gan", *TINY, "--beta1", 0.9, "--lr", 0.1, "--set", "learning_rate=1"],
         2, "both set"),
        (["train", "dcgan", *TINY, "--latent-dim", 4], 2, "both set 'latent_dim'"),
        (["train", "gan", *TINY, "--learning-rate", 1, "--lr", 2], 2, "both set"),
        (["train", "dcgan", *TINY, "--r1-gamma", "lots"], 2, "Received: --r1-gamma lots"),
        (["train", "dcgan", *TINY, "--direction", "a2b"], 2, "No such option"),
        (["train", "dcgan", *TINY, "--steps", 0], 2, "--steps"),
        (["sample", "/no/such/run.keras"], 2, "No such checkpoint"),
        (["sample", "/no/such/run.keras", "--scale", 0], 2, "--scale"),
    ],
)
def test_user_mistakes_end_in_one_error_line(tmp_path, args, code, fragment):
    result = invoke(*args, "--out", tmp_path / "out") if args[0] == "train" else invoke(*args)
    assert_one_line_error(result, code=code)
    assert fragment in result.stderr


def test_existing_run_needs_resume_or_overwrite(finished_run):
    result = train_tiny(finished_run, "--steps", 2)
    assert_one_line_error(result, code=2)
    assert "--resume" in result.stderr and "--overwrite" in result.stderr


def test_resume_with_the_wrong_family(finished_run):
    result = invoke("train", "vae", "--out", finished_run, "--resume")
    assert_one_line_error(result, code=2)
    assert "dcgan" in result.stderr


def test_sample_of_a_folder_without_checkpoint(tmp_path):
    result = invoke("sample", tmp_path)
    assert_one_line_error(result, code=2)
    assert "checkpoint.keras" in result.stderr


def test_sample_of_a_corrupt_checkpoint(tmp_path):
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"not a zip file")
    result = invoke("sample", bad, "--out", tmp_path / "x.png")
    assert_one_line_error(result, code=1)
    assert "bad.keras" in result.stderr


def test_debug_shows_the_original_error():
    result = invoke("--debug", "train", "dcgan", "--set", "nope=1")
    assert result.exit_code != 0
    assert isinstance(result.exception, ValueError)
    result = invoke("train", "dcgan", "--set", "nope=1", "--debug")
    assert isinstance(result.exception, ValueError)


# --- a real interrupted run -----------------------------------------------------------


def test_a_killed_run_resumes_from_its_last_checkpoint(tmp_path):
    out = tmp_path / "run"
    losses = out / "losses.csv"
    process = cli_process(
        ["train", "dcgan", "--out", out, *TINY, "--steps", 100000,
         "--checkpoint-every", 3, "--sample-every", 100000],
        cwd=tmp_path, stderr=subprocess.STDOUT,
    )
    try:
        # Kill it (SIGKILL: no cleanup at all) once a checkpoint exists and the
        # loss log has gone past it.
        wait_for_training(process, out, steps=5)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    rows_at_kill = logged_steps(losses)
    assert rows_at_kill >= 5

    target = rows_at_kill + 2
    resumed = cli_process(
        ["train", "dcgan", "--out", out, "--resume", "--steps", target], cwd=tmp_path,
        stderr=subprocess.STDOUT,
    )
    output, _ = resumed.communicate(timeout=240)
    assert resumed.returncode == 0, output
    step = int(re.search(r"Resumed .* at step (\d+)", output).group(1))
    # It went on from a checkpoint of the killed run, not from zero.
    assert step > 0 and step % 3 == 0 and step <= rows_at_kill
    assert f"steps done: {step} of {target}" in output
    # Rows the killed run wrote after that checkpoint were dropped, then
    # written again: every step once, one header.
    assert_single_steps(read_losses(losses), target)
    model = keras.saving.load_model(out / "checkpoint.keras")
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == target


def test_backend_option_switches_the_backend(tmp_path):
    pytest.importorskip("jax")
    pytest.importorskip("tensorflow")
    other = "jax" if keras.backend.backend() == "tensorflow" else "tensorflow"
    process = cli_process(
        ["train", "dcgan", "--backend", other, "--out", tmp_path / "run", *TINY,
         "--steps", 1],
        cwd=tmp_path, stderr=subprocess.STDOUT,
    )
    output, _ = process.communicate(timeout=240)
    assert process.returncode == 0, output
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["backend"] == other


def _quiet_env():
    # As a user runs it: no TF_CPP_MIN_LOG_LEVEL.
    env = dict(os.environ)
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    return env


@pytest.mark.parametrize("args", [["--help"], ["families"], ["train", "--help"]])
def test_help_and_families_import_no_backend(args, tmp_path):
    script = textwrap.dedent("""
        import sys
        from kerasgen.cli.main import main
        try:
            main(sys.argv[1:])
        except SystemExit as exit:
            assert not exit.code, exit.code
        heavy = sorted(m for m in sys.modules
                       if m.split(".")[0] in ("keras", "tensorflow", "jax"))
        print("heavy:", heavy)
    """)
    result = subprocess.run([sys.executable, "-c", script, *args], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("heavy: []"), result.stdout[-500:]


def test_an_unknown_family_is_one_line_on_stderr(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "kerasgen.cli", "train", "no-such-family"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, env=_quiet_env(),
    )
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: Unknown family"), lines


def test_a_real_run_prints_no_native_log_lines(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "kerasgen.cli", "train", "dcgan", "--out",
         str(tmp_path / "run"), *TINY, "--steps", "3"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, env=_quiet_env(),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    native = re.compile(r"^[IWE]\d{4} |absl::InitializeLog|oneDNN|cpu_feature_guard")
    noise = [l for l in (result.stdout + result.stderr).splitlines() if native.search(l)]
    assert not noise, noise
    # What kerasgen itself says on stderr (its log lines) is still there.
    assert "training DCGAN from step 0 to 3" in result.stderr
    assert "step 3/3" in result.stdout
    # --debug shows everything (on TensorFlow, its start-up lines).
    if ON_TF:
        result = subprocess.run(
            [sys.executable, "-m", "kerasgen.cli", "train", "dcgan", "--out",
             str(tmp_path / "debug"), *TINY, "--steps", "1", "--debug"],
            cwd=tmp_path, capture_output=True, text=True, timeout=300, env=_quiet_env(),
        )
        assert result.returncode == 0, result.stderr[-3000:]
        assert any(native.search(l) for l in result.stderr.splitlines()), result.stderr


def test_quiet_native_stderr_keeps_python_writes_and_errors(tmp_path):
    script = textwrap.dedent("""
        import os, sys
        from kerasgen.cli.main import quiet_native_stderr
        try:
            with quiet_native_stderr():
                os.write(2, b"native line\\n")
                print("python line", file=sys.stderr)
                raise RuntimeError("an error inside")
        except RuntimeError as error:
            print(f"caught: {error}", file=sys.stderr)
        os.write(2, b"native after\\n")
    """)
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        "python line", "caught: an error inside", "native after"]


@pytest.mark.skipif(
    keras.backend.backend() != "jax", reason="the JAX path, run on the JAX test run"
)
def test_jax_training_runs_with_tensorflow_unimportable(tmp_path):
    # The GPU machines the zoo trains on have JAX and no TensorFlow. The run
    # must train, checkpoint and skip TensorBoard without importing it.
    script = textwrap.dedent("""
        import sys, importlib.abc
        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] == "tensorflow":
                    raise ImportError("tensorflow is blocked in this test")
        sys.meta_path.insert(0, Block())
        from kerasgen.cli.main import main
        try:
            main(sys.argv[1:])
        except SystemExit as exit:
            assert not exit.code, exit.code
        assert "tensorflow" not in sys.modules
        print("ok")
    """)
    out = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "-c", script, "train", "dcgan", "--out", str(out),
         *[a for a in TINY if a != "--no-tensorboard"], "--steps", "2"],
        env=dict(os.environ, KERAS_BACKEND="jax"), cwd=tmp_path,
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert result.stdout.strip().endswith("ok")
    assert (out / "checkpoint.keras").exists()
    assert not (out / "tensorboard").exists()


# --- --set parsing ----------------------------------------------------------------------


class _Family:
    def __init__(self, size=28, rate=0.5, flag=False, name="x", widths=(8, 16),
                 maybe=None, *args, **kwargs):
        pass


@pytest.mark.parametrize(
    "assignment, expected",
    [
        ("size=64", {"size": 64}),
        ("rate=1e-3", {"rate": 1e-3}),
        ("rate=2", {"rate": 2.0}),
        ("flag=yes", {"flag": True}),
        ("flag=False", {"flag": False}),
        ("name=hinge", {"name": "hinge"}),
        ("widths=32,64,128", {"widths": (32, 64, 128)}),
        ("widths=(4, 5)", {"widths": (4, 5)}),
        ("maybe=0.25", {"maybe": 0.25}),
        ("maybe=none", {"maybe": None}),
        ("maybe=[1, 2]", {"maybe": [1, 2]}),
        ("maybe=word", {"maybe": "word"}),
        ("size=none", {"size": None}),
    ],
)
def test_set_values_parse_by_the_type_of_the_default(assignment, expected):
    defaults = config_lib.constructor_defaults(_Family)
    assert "args" not in defaults and "kwargs" not in defaults
    assert config_lib.parse_assignments([assignment], defaults, "f") == expected


@pytest.mark.parametrize(
    "assignment, fragment",
    [
        ("size=1.5", "as an int"),
        ("flag=maybe", "as a boolean"),
        ("widths=a,b", "list of ints"),
        ("sise=3", "Did you mean: size"),
        ("=3", "key=value"),
    ],
)
def test_set_rejects_what_does_not_parse(assignment, fragment):
    defaults = config_lib.constructor_defaults(_Family)
    with pytest.raises(ValueError, match=re.escape(fragment)):
        config_lib.parse_assignments([assignment], defaults, "f")


def test_dashes_in_set_keys_read_as_underscores():
    defaults = {"latent_dim": 100}
    assert config_lib.parse_assignments(["latent-dim=3"], defaults, "f") == {
        "latent_dim": 3
    }


# --- the files a run writes: grids and atomic writes -------------------------------------


def test_make_grid_tiles_and_scales():
    images = np.stack([np.full((2, 3, 1), v, "float32") for v in (-1.0, 0.0, 1.0)])
    grid = make_grid(images, nrow=2, padding=1)
    assert grid.dtype == np.uint8 and grid.shape == (1 + 2 * 3, 1 + 2 * 4, 1)
    assert grid[1, 1, 0] == 0 and grid[1, 5, 0] == 128 and grid[4, 1, 0] == 255
    assert grid[0, 0, 0] == 128  # padding
    assert make_grid(images, nrow=2, padding=1, pad_value=7)[0, 0, 0] == 7
    assert make_grid(np.zeros((5, 4, 4, 3))).shape == (2 + 2 * 6, 2 + 3 * 6, 3)
    with pytest.raises(ValueError, match="C 1 or 3"):
        make_grid(np.zeros((2, 4, 4, 2)))


def test_save_grid_writes_a_png_and_no_temporary_file(tmp_path):
    from PIL import Image

    path = tmp_path / "a" / "grid.png"
    save_grid(np.zeros((4, 8, 8, 3)), path)
    assert Image.open(path).mode == "RGB"
    assert os.listdir(path.parent) == ["grid.png"]


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path):
    path = tmp_path / "checkpoint.keras"
    path.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_write(path) as tmp:
            assert tmp.endswith(".keras") and os.path.dirname(tmp) == str(tmp_path)
            with open(tmp, "w") as f:
                f.write("half")
            raise RuntimeError("killed")
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["checkpoint.keras"]
    with atomic_write(path) as tmp:
        with open(tmp, "w") as f:
            f.write("new")
    assert path.read_text() == "new"


def test_atomic_write_replaces_a_folder(tmp_path):
    path = tmp_path / "saved_model"
    path.mkdir()
    (path / "old.txt").write_text("old")
    with atomic_write(path, directory=True) as tmp:
        with open(os.path.join(tmp, "new.txt"), "w") as f:
            f.write("new")
    assert os.listdir(path) == ["new.txt"]
    assert os.listdir(tmp_path) == ["saved_model"]


def test_subclass_defaults_include_the_parents_parameters():
    import kerasgen
    from kerasgen.cli.config import constructor_defaults

    defaults = constructor_defaults(kerasgen.DCGAN)
    assert defaults["architecture"] == "dcgan"
    assert defaults["latent_dim"] == 100 and defaults["seed"] is None
    assert constructor_defaults(kerasgen.GAN)["architecture"] == "mlp"
    assert "name" not in defaults and "dtype" not in defaults


def test_train_subset_is_used_and_a_bad_one_is_one_line(tmp_path):
    from cli_helpers import assert_one_line_error
    from cli_helpers import train_tiny

    result = train_tiny(tmp_path / "run", "--steps", "2", "--subset", "0:100")
    assert result.exit_code == 0, result.output
    assert "100 images of (8, 8, 1)" in result.output
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["train"]["subset"] == "0:100"
    timing = json.loads((tmp_path / "run" / "timing.json").read_text())
    assert timing["segments"][-1]["end_step"] == 2 and timing["train_seconds"] > 0
    bad = train_tiny(tmp_path / "bad", "--steps", "2", "--subset", "9:3")
    assert_one_line_error(bad, 2)
    assert "--subset must be 'START:STOP'" in bad.stderr
