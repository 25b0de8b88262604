"""What `kerasgen train` guarantees when things go wrong (issue 17): a run
that diverges stops (or rolls back) and keeps its last finite checkpoint,
nonsense hyper-parameters are refused, one process per run folder,
--overwrite keeps the old run until the new one has a checkpoint, a killed
process's temporary files go at the next start, a full disk says how to go
on, and a resume with nothing to train leaves config.json alone.

Every run is a tiny DCGAN on the built-in digits at 8x8, on whichever
backend `KERAS_BACKEND` selects. The diverging learning rate, 1e15, was
measured: on both backends the step-1 loss is finite, the weights after
step 2 are not (and step 3's losses are NaN); 1e20 gives a NaN loss at
step 1; 1e4 stays finite (if huge) for 60 steps. A constant rate on this
model diverges at once or not at all (measured: 5e8 finite for 600 steps,
1e9 NaN at step 4), so the run that diverges after hundreds of steps uses
a schedule that turns absurd at step 250.
"""

import csv
import errno
import json
import os
import re
import signal

import numpy as np
import pytest

import keras

from backends import backend_independent
from cli_helpers import TINY, assert_one_line_error, cli_process, invoke
from cli_helpers import logged_steps, train_tiny, wait_for_training

from kerasgen.cli import callbacks as callbacks_lib
from kerasgen.cli import train as train_lib

DIVERGING_LR = "1e15"


def loss_rows(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))[1:]


def load(path):
    return keras.saving.load_model(path)


def iterations(model):
    return int(keras.ops.convert_to_numpy(model.optimizer.iterations))


def assert_all_finite(model):
    values = list(model.variables) + list(model.optimizer.variables)
    for variable in values:
        value = keras.ops.convert_to_numpy(variable.value)
        if np.issubdtype(value.dtype, np.floating):
            assert np.isfinite(value).all(), variable.path


# --- divergence ---------------------------------------------------------------------


def test_a_diverging_run_stops_in_one_line_and_keeps_a_finite_checkpoint(tmp_path):
    out = tmp_path / "run"
    result = train_tiny(out, "--lr", DIVERGING_LR, "--steps", 40,
                        "--checkpoint-every", 1, "--sample-every", 1)
    assert_one_line_error(result, code=1)
    match = re.search(r"Error: Training diverged at step (\d+): (.+?) is ", result.stderr)
    assert match, result.stderr
    step = int(match.group(1))
    assert step < 40
    model = load(out / "checkpoint.keras")
    assert iterations(model) == step - 1
    assert_all_finite(model)
    assert f"step {step - 1}, is kept" in result.stderr
    # Nothing was written for the step that diverged.
    assert len(loss_rows(out / "losses.csv")) == step - 1
    assert not (out / "samples" / f"step_{step:06d}.png").exists()


@keras.saving.register_keras_serializable(package="kerasgen_tests")
class ExplodesAfter(keras.optimizers.schedules.LearningRateSchedule):
    """DCGAN's learning rate until `step`, then one that diverges."""

    def __init__(self, step):
        self.step = int(step)

    def __call__(self, step):
        return keras.ops.where(keras.ops.cast(step, "float32") < self.step, 2e-4, 1e30)

    def get_config(self):
        return {"step": self.step}


def test_a_run_that_diverges_after_hundreds_of_steps_keeps_its_last_finite_checkpoint(
        tmp_path, monkeypatch):
    # Fault injection: real digits, a learning rate that turns absurd at
    # step 250, checkpoints every 50 steps before it.
    import kerasgen

    def optimizers(self):
        return {name: keras.optimizers.Adam(ExplodesAfter(250), beta_1=0.5)
                for name in ("discriminator", "generator")}

    monkeypatch.setattr(kerasgen.DCGAN, "default_optimizers", optimizers)
    out = tmp_path / "run"
    result = train_tiny(out, "--steps", 400, "--checkpoint-every", 50, "--sample-every", 50)
    assert_one_line_error(result, code=1)
    match = re.search(r"Error: Training diverged at step (\d+)", result.stderr)
    assert match, result.stderr
    step = int(match.group(1))
    assert 250 < step <= 300, step  # caught at a loss or at the next write
    assert "step 250, is kept" in result.stderr
    model = load(out / "checkpoint.keras")
    assert iterations(model) == 250
    assert_all_finite(model)
    assert np.isfinite(model.sample(4, seed=0)).all()


def test_a_nan_loss_is_named_with_its_step(tmp_path):
    out = tmp_path / "run"
    result = train_tiny(out, "--lr", "1e20", "--steps", 40, "--checkpoint-every", 10)
    assert_one_line_error(result, code=1)
    assert re.search(r"diverged at step 1: [dg]_loss is nan", result.stderr), result.stderr
    assert "no checkpoint was written" in result.stderr
    assert not (out / "checkpoint.keras").exists()


def _nan_batch_once(monkeypatch, at):
    """The image set's batches, with batch number `at` (from 0) all NaN the
    first time they are drawn: one bad batch, a real NaN loss."""
    original = train_lib._ImageSet.batches
    calls = []

    def batches(self, batch_size, seed):
        first = not calls
        calls.append(seed)
        for i, batch in enumerate(original(self, batch_size, seed)):
            # As numpy, in a tuple: what fit() takes from a generator.
            batch = keras.tree.map_structure(np.asarray, batch)
            batch = batch if isinstance(batch, tuple) else (batch,)
            if first and i == at:
                batch = keras.tree.map_structure(
                    lambda x: np.full_like(x, np.nan) if np.issubdtype(
                        x.dtype, np.floating) else x, batch)
            yield batch

    monkeypatch.setattr(train_lib._ImageSet, "batches", batches)
    return calls


def test_rollback_goes_back_to_the_checkpoint_and_finishes(tmp_path, monkeypatch):
    calls = _nan_batch_once(monkeypatch, at=4)  # global step 5
    out = tmp_path / "run"
    result = train_tiny(out, "--steps", 8, "--checkpoint-every", 2, "--lr", "1e-3",
                        "--on-nan", "rollback")
    assert result.exit_code == 0, result.stderr
    assert "diverged at step 5" in result.stderr
    assert "rollback 1 of 3 to the checkpoint of step 4" in result.stderr
    assert len(calls) == 2  # once from step 0, once from the checkpoint
    model = load(out / "checkpoint.keras")
    assert iterations(model) == 8
    assert_all_finite(model)
    # Halved, and the halving is in the checkpoint.
    for _, child in model.optimizer.items():
        rate = float(keras.ops.convert_to_numpy(child.learning_rate))
        assert rate == pytest.approx(5e-4)
    rows = loss_rows(out / "losses.csv")
    assert [int(r[0]) for r in rows] == list(range(1, 9))
    assert all(np.isfinite(float(v)) for r in rows for v in r[1:])


def test_rollback_gives_up_in_one_line(tmp_path):
    out = tmp_path / "run"
    result = train_tiny(out, "--lr", DIVERGING_LR, "--steps", 40,
                        "--checkpoint-every", 1, "--on-nan", "rollback")
    assert_one_line_error(result, code=1)
    assert result.stderr.count("rollback ") == train_lib.MAX_ROLLBACKS
    assert f"after {train_lib.MAX_ROLLBACKS} rollbacks" in result.stderr
    # Each rollback halves the rate of the checkpoint once more.
    assert "learning rates discriminator 1.25e+14" in result.stderr
    assert_all_finite(load(out / "checkpoint.keras"))


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--lr", "nan"], "Received: learning_rate=nan"),
        (["--lr", "-0.1"], "Received: learning_rate=-0.1"),
        (["--lr", "0"], "Received: learning_rate=0.0"),
        (["--beta1", "1.0"], "Received: beta_1=1.0"),
        (["--beta1", "-0.5"], "Received: beta_1=-0.5"),
        (["--set", "latent_dim=0"], "Received: latent_dim=0"),
    ],
)
def test_nonsense_hyperparameters_are_refused_in_one_line(tmp_path, args, fragment):
    result = train_tiny(tmp_path / "run", *args, "--steps", 1)
    assert_one_line_error(result, code=2)
    assert fragment in result.stderr
    # A mistake found before training leaves no run folder behind.
    assert not (tmp_path / "run").exists()


def test_a_file_as_the_run_folder_is_one_line(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    out = tmp_path / "file" / "run"
    result = train_tiny(out, "--steps", 1)
    assert_one_line_error(result, code=1)
    assert f"Cannot use {out} as a run folder" in result.stderr


def test_the_library_refuses_nonsense_hyperparameters():
    import kerasgen

    small = dict(image_size=8, generator_filters=4, discriminator_filters=4)
    with pytest.raises(ValueError, match="beta_2=1.0"):
        kerasgen.WGANGP(critic_filters=4, generator_filters=4, image_size=8,
                        beta_2=1.0)
    with pytest.raises(ValueError, match="latent_dim=0"):
        kerasgen.DCGAN(**small, latent_dim=0)
    # A schedule is the optimizer's to check.
    schedule = keras.optimizers.schedules.ExponentialDecay(1e-3, 10, 0.5)
    kerasgen.DCGAN(**small, learning_rate=schedule)


# --- one process per folder -------------------------------------------------------


@backend_independent
def test_a_second_process_on_a_run_folder_is_refused(tmp_path):
    out = tmp_path / "run"
    losses = out / "losses.csv"
    first = cli_process(["train", "dcgan", "--out", out, *TINY, "--steps", 100000,
                          "--checkpoint-every", 3, "--sample-every", 100000],
                         cwd=tmp_path)
    try:
        wait_for_training(first, out, steps=4)
        # --overwrite would delete the first's run: refused before that.
        second = cli_process(["train", "dcgan", "--out", out, *TINY, "--overwrite",
                               "--steps", 5], cwd=tmp_path)
        _, stderr = second.communicate(timeout=240)
        assert second.returncode == 1, stderr
        errors = [l for l in stderr.splitlines() if l.startswith("Error:")]
        assert len(errors) == 1 and f"PID {first.pid}" in errors[0], stderr
        assert "Traceback" not in stderr
        assert first.poll() is None  # still training, its files still there
        assert (out / "checkpoint.keras").exists() and logged_steps(losses) >= 4
        # SIGKILL: no cleanup at all; the OS drops the lock with the process.
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=60)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    step = iterations(load(out / "checkpoint.keras"))
    third = cli_process(["train", "dcgan", "--out", out, "--resume", "--steps",
                          step + 1], cwd=tmp_path)
    stdout, stderr = third.communicate(timeout=240)
    assert third.returncode == 0, stderr
    assert f"at step {step}" in stdout
    assert (out / ".lock").read_text().strip() == str(third.pid)


def test_the_lock_refuses_in_process_too(tmp_path):
    out = tmp_path / "run"
    lock = train_lib._RunLock(str(out))
    try:
        result = train_tiny(out, "--steps", 1)
        assert_one_line_error(result, code=1)
        assert f"PID {os.getpid()}" in result.stderr
    finally:
        lock.release()
    assert train_tiny(out, "--steps", 1).exit_code == 0


# --- --overwrite, leftovers, resume -------------------------------------------------


def test_overwrite_keeps_the_old_run_when_the_new_one_fails(tmp_path):
    out = tmp_path / "run"
    assert train_tiny(out, "--steps", 3).exit_code == 0
    before = {name: (out / name).read_bytes()
              for name in ("checkpoint.keras", "losses.csv", "config.json")}
    samples = sorted(os.listdir(out / "samples"))
    # Diverges at step 1, before its first checkpoint.
    result = train_tiny(out, "--overwrite", "--lr", "1e20", "--steps", 5,
                        "--checkpoint-every", 5)
    assert_one_line_error(result, code=1)
    assert "is back in" in result.stderr
    for name, content in before.items():
        assert (out / name).read_bytes() == content, name
    assert sorted(os.listdir(out / "samples")) == samples
    assert not (out / train_lib._SetAside.NAME).exists()

    # One that saves a checkpoint replaces it for good.
    assert train_tiny(out, "--overwrite", "--steps", 1).exit_code == 0
    assert len(loss_rows(out / "losses.csv")) == 1
    assert not (out / train_lib._SetAside.NAME).exists()


def test_an_overwrite_killed_before_its_checkpoint_gives_the_old_run_back(tmp_path):
    out = tmp_path / "run"
    assert train_tiny(out, "--steps", 2).exit_code == 0
    # What a process killed between setting the old run aside and its first
    # checkpoint leaves: the old run aside, the new one's config and losses.
    aside = out / train_lib._SetAside.NAME
    aside.mkdir()
    for name in train_lib._SetAside.ENTRIES:
        if (out / name).exists():
            os.replace(out / name, aside / name)
    (out / "losses.csv").write_text("step,d_loss,g_loss\n1,nan,nan\n")
    result = invoke("train", "dcgan", "--out", out, "--resume", "--steps", 3)
    assert result.exit_code == 0, result.stderr
    assert "at step 2" in result.stdout
    assert [int(r[0]) for r in loss_rows(out / "losses.csv")] == [1, 2, 3]
    assert not aside.exists()


def test_temporary_files_of_a_killed_process_go_at_the_next_start(tmp_path):
    out = tmp_path / "run"
    assert train_tiny(out, "--steps", 2).exit_code == 0
    ours = [
        out / ".checkpoint.tmp-k3x_9a0b.keras",
        out / ".losses.tmp-abcd1234.csv",
        out / "samples" / ".step_000002.tmp-zz90_q1w.png",
        out / "export" / ".model.tmp-1a2b3c4d.tflite",
    ]
    (out / "export").mkdir()
    (out / ".checkpoint.old-a1b2c3d4").mkdir()
    ours.append(out / ".checkpoint.old-a1b2c3d4")
    users = [
        out / "notes.txt",
        out / "checkpoint.tmp-abcd1234.keras",  # no leading dot: not ours
        out / ".notes.tmp-mine.txt",  # not tempfile's 8 characters
        out / "samples" / "step_000002.tmp.png",
    ]
    for path in ours + users:
        if not path.exists():
            path.write_bytes(b"x")
    result = invoke("train", "dcgan", "--out", out, "--resume", "--steps", 3)
    assert result.exit_code == 0, result.stderr
    for path in ours:
        assert not path.exists(), path
    for path in users:
        assert path.exists(), path


def test_resume_with_nothing_to_train_leaves_config_json_alone(tmp_path):
    out = tmp_path / "run"
    assert train_tiny(out, "--steps", 2).exit_code == 0
    before = (out / "config.json").read_bytes()
    result = invoke("train", "dcgan", "--out", out, "--resume", "--steps", 2,
                    "--sample-every", 7)
    assert result.exit_code == 0, result.stderr
    assert "nothing to train" in result.stdout
    assert (out / "config.json").read_bytes() == before
    assert json.loads(before)["train"]["sample_every"] != 7


def test_a_full_disk_is_one_line_naming_the_resume(tmp_path, monkeypatch):
    out = tmp_path / "run"
    save = callbacks_lib.Checkpoint.save

    def full_at_step_4(self):
        if self.step == 4:
            raise OSError(errno.ENOSPC, "No space left on device",
                          str(out / ".checkpoint.tmp-abcdefgh.keras"))
        save(self)

    monkeypatch.setattr(callbacks_lib.Checkpoint, "save", full_at_step_4)
    result = train_tiny(out, "--steps", 6, "--checkpoint-every", 2)
    assert_one_line_error(result, code=1)
    assert "disk is full" in result.stderr
    assert f"kerasgen train dcgan --out {out} --resume" in result.stderr
    assert "step 2, is intact" in result.stderr
    assert iterations(load(out / "checkpoint.keras")) == 2


def _tensorboard_points(logdir):
    tf = pytest.importorskip("tensorflow")
    points = []
    for path in sorted(logdir.glob("events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            points += [(value.tag, event.step) for value in event.summary.value]
    return points


def test_tensorboard_agrees_with_losses_csv_after_a_resume(tmp_path):
    # On JAX too: TensorFlow writes the files there.
    pytest.importorskip("tensorboard")
    pytest.importorskip("tensorflow")
    out = tmp_path / "run"
    args = [a for a in TINY if a != "--no-tensorboard"]
    assert invoke("train", "dcgan", "--out", out, *args, "--steps", 2).exit_code == 0
    at_step_2 = (out / "checkpoint.keras").read_bytes()
    result = invoke("train", "dcgan", "--out", out, "--resume", "--steps", 4)
    assert result.exit_code == 0, result.stderr
    # As a run killed after step 4 with its checkpoint at step 2 leaves it.
    (out / "checkpoint.keras").write_bytes(at_step_2)
    result = invoke("train", "dcgan", "--out", out, "--resume", "--steps", 5)
    assert result.exit_code == 0, result.stderr
    assert [int(r[0]) for r in loss_rows(out / "losses.csv")] == [1, 2, 3, 4, 5]
    points = _tensorboard_points(out / "tensorboard")
    for tag in ("d_loss", "g_loss", "lr/generator"):
        assert sorted(s for t, s in points if t == tag) == [1, 2, 3, 4, 5], tag


def test_skip_batch_puts_the_weights_back_and_goes_on(tmp_path, monkeypatch):
    _nan_batch_once(monkeypatch, at=4)  # global step 5
    out = tmp_path / "run"
    result = train_tiny(out, "--steps", 8, "--checkpoint-every", 4,
                        "--sample-every", 2, "--on-nan", "skip-batch")
    assert result.exit_code == 0, result.stderr
    assert "step 5: d_loss is nan: skipped, weights back to step 4" in result.stderr
    model = load(out / "checkpoint.keras")
    assert iterations(model) == 8
    assert_all_finite(model)
    rows = loss_rows(out / "losses.csv")
    assert [int(r[0]) for r in rows] == list(range(1, 9))
    assert rows[4][1:] == ["", ""]  # step 5: skipped
    for row in rows[:4] + rows[5:]:
        assert all(np.isfinite(float(v)) for v in row[1:])


def test_skip_batch_gives_up_in_one_line(tmp_path):
    result = train_tiny(tmp_path / "run", "--lr", DIVERGING_LR, "--steps", 40,
                        "--on-nan", "skip-batch")
    assert_one_line_error(result, code=1)
    assert f"after {train_lib.MAX_SKIPPED_BATCHES} skipped batches" in result.stderr


def test_a_step_is_checkpointed_even_when_its_sample_grid_then_fails(tmp_path, monkeypatch):
    """The checkpoint callback runs before the sample grid: a grid that
    fails (here on purpose, at step 4) costs the grid, not the steps."""
    from kerasgen.cli import callbacks as callbacks_lib
    from kerasgen.cli.main import load_checkpoint

    def broken_grid(self, logs):
        raise ValueError("the grid broke")

    monkeypatch.setattr(callbacks_lib.SampleGrid, "on_interval", broken_grid)
    folder = tmp_path / "run"
    result = invoke("train", "dcgan", "--out", folder, *TINY, "--steps", 4,
                    "--sample-every", 4, "--checkpoint-every", 4, "--no-tensorboard")
    assert result.exit_code != 0
    assert "the grid broke" in str(result.exception)  # a bug: kept with its traceback
    model = load_checkpoint(str(folder / "checkpoint.keras"))
    assert int(model.optimizer.iterations) == 4
