"""Small helpers shared by the CLI and the library: image grids and atomic file writes.

Nothing here imports keras, tensorflow or jax when imported
(`compiled` imports the backend when called).
"""

from kerasgen.utils.images import make_grid
from kerasgen.utils.images import save_grid
from kerasgen.utils.images import save_png
from kerasgen.utils.io import atomic_write

__all__ = ["atomic_write", "make_grid", "save_grid", "save_png"]
