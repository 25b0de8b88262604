"""The README's SinGAN figures, from a preset (or run folder) and the one
image it learned:

    python benchmarks/singan_figures.py singan-dog \\
        ../shared/datasets/cat2dog/trainB/dog.1.jpg --out docs/images

writes `<name>-samples.png` (the training image, then random samples at its
size), `<name>-wide.png` (samples at twice its width, which the pyramid
draws from wider noise maps) and `<name>-paint.png` (paint-to-image: a
blocky 8x8 version of the image, then the pyramid started from it at each
of three scales).
"""

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", help="A preset name or a run folder.")
    parser.add_argument("image", help="The image the model learned.")
    parser.add_argument("--out", default="docs/images")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import keras
    from PIL import Image

    import kerasgen
    from kerasgen.cli.main import load_source
    from kerasgen.cli.main import resolve_source
    from kerasgen.data import load_images
    from kerasgen.data import to_unit_range
    from kerasgen.utils.images import make_grid
    from kerasgen.utils.images import save_png
    from kerasgen.utils.images import upscale

    model = load_source(resolve_source(args.source))
    name = os.path.basename(os.path.normpath(args.source))
    image = to_unit_range(load_images(args.image, channels=model.channels).images)
    size = (model.image_height, model.image_width)
    image = np.asarray(keras.ops.image.resize(image, size, antialias=True))
    os.makedirs(args.out, exist_ok=True)

    samples = model.sample(5, seed=args.seed)
    row = np.concatenate([image, samples])
    save_png(upscale(make_grid(row, nrow=len(row)), factor=2),
             os.path.join(args.out, f"{name}-samples.png"))

    wide = model.sample(2, seed=args.seed, size=(size[0], 2 * size[1]))
    save_png(upscale(make_grid(wide, nrow=2), factor=2),
             os.path.join(args.out, f"{name}-wide.png"))

    blocky = Image.fromarray(((image[0] + 1) * 127.5).round().astype("uint8"))
    blocky = blocky.resize((8, 8), Image.Resampling.BOX).resize(size[::-1],
                                                                 Image.Resampling.NEAREST)
    painting = np.asarray(blocky, "float32")[None] / 127.5 - 1.0
    starts = sorted({1, model.num_scales // 2, model.num_scales - 2} - {0})
    painted = [model.inject(painting, start_scale=s, seed=args.seed) for s in starts]
    row = np.concatenate([painting] + painted)
    save_png(upscale(make_grid(row, nrow=len(row)), factor=2),
             os.path.join(args.out, f"{name}-paint.png"))
    print(f"Wrote {name}-samples.png, {name}-wide.png and {name}-paint.png (paint-to-image "
          f"from scales {starts}) to {args.out}; kerasgen {kerasgen.__version__}")


if __name__ == "__main__":
    main()
