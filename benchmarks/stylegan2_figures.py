"""The README's StyleGAN2 figures, from a preset (or run folder):

    python benchmarks/stylegan2_figures.py stylegan2-celeba64 --out docs/images

writes `<name>-truncation.png` (one row per seed, the columns at psi 0,
0.5, 0.7 and 1: psi 0 is the mean w's image in every row) and
`<name>-mixing.png` (what `kerasgen mix` draws: sources B along the top,
sources A down the left, each cell A's coarse styles with B's fine ones).
"""

import argparse
import os
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
PSI = (0.0, 0.5, 0.7, 1.0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", help="A preset name or a run folder.")
    parser.add_argument("--out", default="docs/images")
    parser.add_argument("--seeds", default="1,2,3,4,5,6")
    parser.add_argument("--coarse", default="11,12,13,14")
    parser.add_argument("--fine", default="21,22,23,24,25")
    args = parser.parse_args()

    from kerasgen.cli.main import load_source
    from kerasgen.cli.main import resolve_source
    from kerasgen.utils.images import make_grid
    from kerasgen.utils.images import save_png
    from kerasgen.utils.images import upscale

    model = load_source(resolve_source(args.source))
    name = os.path.basename(os.path.normpath(args.source))
    os.makedirs(args.out, exist_ok=True)
    seeds = [int(s) for s in args.seeds.split(",")]
    z = np.concatenate([model.sample_latents(1, seed=s) for s in seeds])
    rows = [np.asarray(model.synthesize(model.styles(z, psi=psi))) for psi in PSI]
    cells = np.stack(rows, axis=1).reshape((-1,) + rows[0].shape[1:])  # seed-major
    save_png(upscale(make_grid(cells, nrow=len(PSI)), factor=2),
             os.path.join(args.out, f"{name}-truncation.png"))
    kerasgen = os.path.join(os.path.dirname(sys.executable), "kerasgen")
    subprocess.run([kerasgen, "mix", args.source, "--coarse", args.coarse, "--fine", args.fine,
                    "--scale", "2", "--out", os.path.join(args.out, f"{name}-mixing.png")],
                   check=True)
    print(f"Wrote {name}-truncation.png (psi {', '.join(map(str, PSI))}) and "
          f"{name}-mixing.png to {args.out}")


if __name__ == "__main__":
    main()
