"""Helpers the command-line tests share."""

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
