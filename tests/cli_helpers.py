"""Helpers the command-line tests share."""

import csv
import os
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

# A DCGAN small enough to take a step in milliseconds.
TINY = [
    "--set", "image_size=8",
    "--set", "latent_dim=8",
    "--set", "generator_filters=8",
    "--set", "discriminator_filters=8",
    "--batch-size", "16",
    "--num-samples", "4",
    "--no-tensorboard",
]


def invoke(*args):
    """`kerasgen ARGS...` in this process (arguments turned into strings)."""
    from kerasgen.cli.main import cli

    return CliRunner().invoke(cli, [str(a) for a in args])


def train_tiny(out, *extra):
    """`kerasgen train dcgan` on the `TINY` configuration into `out`."""
    return invoke("train", "dcgan", "--out", out, *TINY, *extra)


def assert_one_line_error(result, code=None):
    """A `CliRunner` result that failed with exactly one `Error: ...` line,
    the last on stderr, and no traceback."""
    assert result.exit_code != 0, result.output
    if code is not None:
        assert result.exit_code == code, (result.exit_code, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(error_lines) == 1, result.stderr
    # Nothing but that line (and possibly log lines before it) on stderr.
    assert result.stderr.rstrip().splitlines()[-1].startswith("Error: ")


def cli_process(args, cwd, stderr=subprocess.PIPE):
    """`python -m kerasgen.cli ARGS...` as a real process (text pipes;
    `stderr=subprocess.STDOUT` merges the two)."""
    env = dict(os.environ, PYTHONUNBUFFERED="1", TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.Popen(
        [sys.executable, "-m", "kerasgen.cli", *map(str, args)],
        cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True,
    )


def logged_steps(path):
    """Rows of a run's `losses.csv` after its header (0 while there is none)."""
    try:
        with open(path, newline="") as f:
            return max(0, len(list(csv.reader(f))) - 1)
    except OSError:
        return 0


def wait_for_training(process, out, steps, timeout=240):
    """Waits until the run in `out` has a checkpoint and `steps` rows in its
    loss log; fails the test if the process ends first or time runs out."""
    deadline = time.monotonic() + timeout
    while not (os.path.exists(os.path.join(out, "checkpoint.keras"))
               and logged_steps(os.path.join(out, "losses.csv")) >= steps):
        if process.poll() is not None:
            pytest.fail(f"training ended early:\n{process.communicate()}")
        if time.monotonic() > deadline:
            pytest.fail(f"no checkpoint after {timeout} s")
        time.sleep(0.05)


def output_atol(endpoint, key, atol):
    """The tolerance of an exported output against Keras: `atol`, or the
    endpoint's own `parity_atol` where it declares a larger one; integer
    outputs (16-bit PCM levels) in their own units, one level at least
    (a value at a rounding boundary may land on either side)."""
    atol = max(atol, endpoint.parity_atol or 0.0)
    if key.endswith("_int16"):
        return max(1.0, atol * 32767)
    return atol
