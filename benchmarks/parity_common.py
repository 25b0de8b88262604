"""What the parity benchmarks (`cyclegan_parity.py`, `pix2pix_parity.py`)
share: step timing, `--set` values, and the results file."""

import json
import time
from pathlib import Path


class StepTimer:
    """Wall time per step from the end of step `start` to the last step
    seen (the first steps trace and compile)."""

    def __init__(self, start=20):
        self.start, self.begin, self.steps = start, None, 0

    def step_done(self, step):
        if step == self.start:
            self.begin = time.perf_counter()
        self.steps = step

    def ms_per_step(self):
        return 1000 * (time.perf_counter() - self.begin) / (self.steps - self.start)


def parse_settings(pairs):
    """`["key=value", ...]` -> dict, values read as JSON where they parse
    (`3` -> 3, `true` -> True), else kept as strings."""
    settings = {}
    for pair in pairs:
        key, _, text = pair.partition("=")
        try:
            settings[key] = json.loads(text)
        except json.JSONDecodeError:
            settings[key] = text
    return settings


def append_result(path, result):
    """Prints a run's result and appends it as one JSON line to `path`."""
    print(json.dumps(result, indent=2))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        f.write(json.dumps(result) + "\n")


def read_results(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
