"""Helpers the command-line tests share."""


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
