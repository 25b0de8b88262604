"""Training phases: a run made of consecutive stages, in order.

A family whose training changes shape along the run (Progressive GAN's
resolutions and fade-ins, SinGAN's scales) declares its phases from
`GenerativeModel.phases()`, each a `Phase(name, steps)`. Phase `i` covers
the global steps (batches) from the sum of the earlier phases' lengths up
to that plus its own; steps past the end of the last phase belong to the
last phase (it goes on for as long as the run does). A model without phases
has one implicit phase, index 0, covering the whole run.

The current phase is never stored: it follows from the global step, the
`optimizer.iterations` saved in every `.keras` checkpoint. A runner (the
CLI) trains a run of `total` steps of which `done` are done like this:

```python
from kerasgen.training.phases import Phase, phase_at, segments

def train(model, batches, done, total):
    phases = model.phases()
    for index, start, stop in segments(phases, done, total):
        model.enter_phase(index, phase_at(phases, start)[1])
        model.fit(batches, epochs=1, steps_per_epoch=stop - start)

segments([Phase("4x4", 10), Phase("8x8", 10)], 5, 18)
# [(0, 5, 10), (1, 10, 18)]
```

so a run resumed in the middle of a phase re-enters that phase first.
"""

import dataclasses
import numbers


@dataclasses.dataclass(frozen=True)
class Phase:
    """One stage of a run: a name and how many steps (batches) it lasts.

    Args:
        name: str. Shown in logs, e.g. `"8x8 fade-in"`.
        steps: int. The phase's length in training steps (batches), >= 1.

    Example:

    ```python
    Phase("8x8 fade-in", 600).steps  # 600
    ```
    """

    name: str
    steps: int

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(
                f"A phase's `name` must be a non-empty str. Received: name={self.name!r}"
            )
        if (isinstance(self.steps, bool) or not isinstance(self.steps, numbers.Integral)
                or self.steps < 1):
            raise ValueError(
                f"Phase {self.name!r} must last an int number of steps >= 1. "
                f"Received: steps={self.steps!r}"
            )


def _check(phases):
    phases = list(phases)
    for phase in phases:
        if not isinstance(phase, Phase):
            raise TypeError(
                "`phases` must be a list of kerasgen.training.Phase. "
                f"Received: phase={phase!r}"
            )
    return phases


def _step_count(argument, value):
    # A numpy integer (a counter read from a checkpoint) is fine, a bool not.
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"`{argument}` must be an int >= 0. Received: {argument}={value!r}")
    return int(value)


def total_steps(phases):
    """The number of steps all phases last together (0 for no phases: the
    run's length then comes from elsewhere).

    Example:

    ```python
    total_steps([Phase("4x4", 10), Phase("8x8", 10)])  # 20
    ```
    """
    return sum(phase.steps for phase in _check(phases))


def phase_at(phases, step):
    """`(phase_index, step_in_phase)` of the global step `step` (0-based:
    the number of batches done before it). Steps past the last phase's end
    are in the last phase; with no phases, everything is phase 0.

    Example:

    ```python
    phases = [Phase("4x4", 10), Phase("8x8", 10)]
    phase_at(phases, 12), phase_at(phases, 25), phase_at([], 7)
    # ((1, 2), (1, 15), (0, 7))
    ```
    """
    phases = _check(phases)
    step = _step_count("step", step)
    start = 0
    for index, phase in enumerate(phases[:-1]):
        if step < start + phase.steps:
            return index, step - start
        start += phase.steps
    return max(len(phases) - 1, 0), step - start


def segments(phases, done, total):
    """Splits the steps still to train, `[done, total)`, at phase boundaries.

    Args:
        phases: list of `Phase` (empty: one phase, the whole run).
        done: int. Steps already trained (a resumed run's
            `optimizer.iterations`).
        total: int. The run's length in steps.

    Returns:
        A list of `(phase_index, start, stop)`: train `stop - start` steps in
        phase `phase_index`, in order. Empty when `done >= total`.

    Example:

    ```python
    segments([Phase("4x4", 10), Phase("8x8", 10)], 5, 18)
    # [(0, 5, 10), (1, 10, 18)]
    segments([], 3, 8)  # [(0, 3, 8)]
    ```
    """
    phases = _check(phases)
    done, total = _step_count("done", done), _step_count("total", total)
    result = []
    start = done
    while start < total:
        index, offset = phase_at(phases, start)
        last = index == len(phases) - 1 or not phases
        stop = total if last else min(total, start - offset + phases[index].steps)
        result.append((index, start, stop))
        start = stop
    return result
