"""The two-backend training core: `GenerativeModel`, `UpdateStep`, `MultiOptimizer`."""

from kerasgen.training.base import GenerativeModel, UpdateStep
from kerasgen.training.multi_optimizer import MultiOptimizer

__all__ = ["GenerativeModel", "UpdateStep", "MultiOptimizer"]
