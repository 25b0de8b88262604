"""The `kerasgen` command line (installed as `kerasgen.cli`).

Commands: `kerasgen families`, `kerasgen train FAMILY`, `kerasgen sample
CHECKPOINT`, `kerasgen translate CHECKPOINT IMAGES...` (CycleGAN, pix2pix),
`kerasgen export SOURCE`. Run `kerasgen --help`, or `python -m kerasgen.cli --help`.
The click group is `kerasgen.cli.cli`; the console script calls
`kerasgen.cli.main.main`.
"""

from kerasgen.cli.main import cli

__all__ = ["cli"]
