"""The two-backend training core: `GenerativeModel`, its two kinds of update
step (`UpdateStep`, `AssignStep`), `MultiOptimizer`, and training `Phase`s
(with the helpers of `kerasgen.training.phases`)."""

from kerasgen.training.base import AssignStep, GenerativeModel, UpdateStep
from kerasgen.training.multi_optimizer import MultiOptimizer
from kerasgen.training.phases import Phase

__all__ = ["AssignStep", "GenerativeModel", "MultiOptimizer", "Phase", "UpdateStep"]
