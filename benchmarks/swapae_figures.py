"""The swapping autoencoder's README figure and what its swaps take from
each source, from the shipped `swapae-celeba64` weights.

    python benchmarks/swapae_figures.py

Writes docs/images/swapae-celeba64-swap.png (5 held-out faces' structure
down the left, 5 others' texture along the top) and appends one row to
benchmarks/results/swapae.jsonl: on the 1,000 held-out faces (CelebA
9,001-10,000), swap i takes the structure of face i and the texture of face
i + 500, and we ask which source each of its properties is closer to:

- colour: the mean RGB of the image (the texture's share of the look);
- layout: the 8x8 greyscale thumbnail less its mean (where things are).

Each distance is the mean over the faces of an L2 distance in [-1, 1]
units; the reconstruction of face i (structure and texture of i) is the
reference for "nothing of the texture source was taken".
"""

import json
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
DATA = os.path.join(ROOT, "..", "shared", "datasets", "celeba")
FIGURE = os.path.join(ROOT, "docs", "images", "swapae-celeba64-swap.png")
RESULTS = os.path.join(ROOT, "benchmarks", "results", "swapae.jsonl")


def colour(images):
    return images.mean(axis=(1, 2))


def layout(images):
    grey = images.mean(axis=-1)
    n, size = grey.shape[0], grey.shape[1]
    thumbs = grey.reshape(n, 8, size // 8, 8, size // 8).mean(axis=(2, 4))
    return (thumbs - thumbs.mean(axis=(1, 2), keepdims=True)).reshape(n, -1)


def distance(a, b):
    return float(np.linalg.norm(a - b, axis=-1).mean())


def main():
    import kerasgen
    from kerasgen.data import load_images
    from kerasgen.data import to_unit_range
    from kerasgen.utils.images import make_grid
    from kerasgen.utils.images import save_png
    from kerasgen.utils.images import upscale
    from kerasgen.utils.machine import machine_info

    start = time.time()
    model = kerasgen.load("swapae-celeba64")
    faces = to_unit_range(load_images(DATA, image_size=64, subset="9000:").images)
    images, nrow = model.swap_figure(faces[:5], faces[5:10])
    save_png(upscale(make_grid(images, nrow=nrow)), FIGURE)

    structure, texture = faces, np.roll(faces, len(faces) // 2, axis=0)
    swapped = model.swap(structure, texture)
    reconstructed = model.reconstruct(structure)
    row = {
        "preset": "swapae-celeba64", "images": len(faces),
        "colour_to_texture_source": {
            "swap": distance(colour(swapped), colour(texture)),
            "reconstruction": distance(colour(reconstructed), colour(texture))},
        "colour_to_structure_source": {
            "swap": distance(colour(swapped), colour(structure)),
            "reconstruction": distance(colour(reconstructed), colour(structure))},
        "layout_to_structure_source": {
            "swap": distance(layout(swapped), layout(structure)),
            "reconstruction": distance(layout(reconstructed), layout(structure))},
        "layout_to_texture_source": {
            "swap": distance(layout(swapped), layout(texture)),
            "reconstruction": distance(layout(reconstructed), layout(texture))},
        "swap_vs_reconstruction_l1": float(np.abs(swapped - reconstructed).mean()),
        "seconds": round(time.time() - start, 1), "machine": machine_info(),
    }
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    with open(RESULTS, "a") as file:
        file.write(json.dumps(row) + "\n")
    print(json.dumps({k: v for k, v in row.items() if k != "machine"}, indent=1))
    print(f"Wrote {FIGURE}")


if __name__ == "__main__":
    main()
