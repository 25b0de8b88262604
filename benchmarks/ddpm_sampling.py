"""DDPM sampling: FID (lenet-mnist) on held-out digits and seconds per 100
images at 10, 20, 50, 100 and 1,000 DDIM steps (eta 0) and with DDPM's
1,000 ancestral steps, the trend of the DDIM paper's table 1; and a grid per
guidance scale with one row per class.

    python benchmarks/ddpm_sampling.py                        # every row
    python benchmarks/ddpm_sampling.py --configs ddim:10,ddim:50
    python benchmarks/ddpm_sampling.py --grids docs/images    # the guidance grids
    python benchmarks/ddpm_sampling.py --compare cgan-mnist,cvae-mnist   # other presets, same FID

Each row draws `--n` samples (the labels balanced over the classes) in
batches of `--batch`, compares them with the last 2,000 MNIST test digits
(the zoo's held-out split; the first `--n` of them), and appends a JSON line
to benchmarks/results/ddpm_sampling.jsonl. A row already there for the same
source, sampler, steps, guidance, n and backend is skipped, and each finished batch
is kept under runs/benchmarks/ddpm_sampling/, so a long run (1,000 steps
took about 5 minutes per batch of 100 on 2 CPU cores, 25 minutes a row)
resumes at the batch where it stopped. The time per 100
images is the median of the batches that were not the first of their
process (the first includes compiling the loop).
"""

import argparse
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from parity_common import append_result  # noqa: E402  (benchmarks/ is on the path)
RESULTS = os.path.join(ROOT, "benchmarks", "results", "ddpm_sampling.jsonl")
DEFAULT_CONFIGS = "ddim:10,ddim:20,ddim:50,ddim:100,ddim:1000,ddpm:1000"


def parse_configs(text):
    configs = []
    for item in text.split(","):
        sampler, _, steps = item.partition(":")
        configs.append((sampler, int(steps)))
    return configs


def done_rows():
    if not os.path.exists(RESULTS):
        return []
    with open(RESULTS) as f:
        return [json.loads(line) for line in f if line.strip()]


def draw(model, n, batch, sampler, steps, guidance, cache_dir):
    """`n` samples with balanced labels, the seconds of each batch and whether
    each batch was the first of its process (so it includes compiling).

    Each finished batch is kept in `cache_dir` (written atomically), so a
    1,000-step row interrupted halfway resumes at its next batch.
    """
    import numpy as np

    from kerasgen.metrics.evaluate import sample_labels

    os.makedirs(cache_dir, exist_ok=True)
    labels = sample_labels(model, n)
    images, seconds, compiled = [], [], []
    fresh = True
    for index, start in enumerate(range(0, n, batch)):
        path = os.path.join(cache_dir, f"batch_{index:03d}.npz")
        if os.path.exists(path):
            with np.load(path, allow_pickle=False) as kept:
                images.append(kept["images"])
                seconds.append(float(kept["seconds"]))
                compiled.append(bool(kept["compiled"]))
            continue
        size = min(batch, n - start)
        chunk = None if labels is None else labels[start:start + size]
        began = time.perf_counter()
        images.append(model.sample(size, seed=index, labels=chunk, steps=steps,
                                   sampler=sampler, guidance=guidance))
        seconds.append(time.perf_counter() - began)
        compiled.append(fresh)
        fresh = False
        partial = path + ".partial.npz"
        np.savez(partial, images=images[-1], seconds=seconds[-1], compiled=compiled[-1])
        os.replace(partial, path)
        print(f"  batch {index + 1}/{-(-n // batch)}: {seconds[-1]:.1f} s", flush=True)
    return np.concatenate(images), seconds, compiled


def write_grids(model, folder, steps, scales=(0.0, 1.0, 3.0), per_class=10):
    """One PNG per guidance scale: a row per class, the same x_T in every
    grid."""
    import numpy as np

    from kerasgen.utils.images import make_grid, save_png, upscale

    os.makedirs(folder, exist_ok=True)
    k = model.num_classes
    labels = np.repeat(np.arange(k), per_class).astype("int32")
    for w in scales:
        images = model.sample(len(labels), seed=0, labels=labels, steps=steps, guidance=w)
        path = os.path.join(folder, f"ddpm-mnist-guidance-{w:g}.png")
        save_png(upscale(make_grid(images, nrow=per_class), factor=2), path)
        print("wrote", path)


def inversion_rows(model, real, steps_list=(20, 50, 100), n=100):
    """RMS error of decode(encode(x)) on `n` held-out digits (their own
    labels), without clipping (see `DDPM.clip_denoised`), per step count."""
    import numpy as np

    from kerasgen.data import to_unit_range

    images = to_unit_range(real.images[:n])
    labels = None if real.labels is None else real.labels[:n].astype("int32")
    clip, model.clip_denoised = model.clip_denoised, False
    rows = []
    try:
        for steps in steps_list:
            latents = model.encode(images, labels, steps=steps)
            back = model.decode(latents, labels, steps=steps)
            rows.append(dict(kind="inversion", steps=steps, n=n,
                             rms_error=round(float(np.sqrt(np.mean((back - images) ** 2))), 4),
                             latent_std=round(float(latents.std()), 3)))
    finally:
        model.clip_denoised = clip
    return rows


def compare_rows(names, real, n):
    """The same FID (n samples, labels balanced, against the same n held-out
    digits) for other presets, so ddpm-mnist's rows compare with them."""
    import keras

    import kerasgen
    from kerasgen.metrics import evaluate as ev
    from kerasgen.utils.images import to_uint8

    rows = []
    for name in names:
        images = ev.generate_samples(kerasgen.load(name), n, seed=0)
        fid = ev.evaluate_samples(ev.ImageSamples(to_uint8(images)), real.images, ["fid"],
                                  n=n, extractor="lenet-mnist",
                                  data_name=f"{real.source}-8000:")["rows"][0]["value"]
        rows.append(dict(kind="preset", source=name, n=n, fid=round(fid, 3),
                         backend=keras.backend.backend()))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", default="ddpm-mnist")
    parser.add_argument("--configs", default=DEFAULT_CONFIGS,
                        help="sampler:steps, comma-separated (default: %(default)s)")
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--guidance", type=float, default=0.0)
    parser.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "datasets",
                                                       "mnist"))
    parser.add_argument("--grids", default=None,
                        help="Also write the guidance grids (w = 0, 1, 3) to this folder.")
    parser.add_argument("--grid-steps", type=int, default=50)
    parser.add_argument("--compare", default=None,
                        help="Also measure these presets (comma-separated) the same way; "
                             "given without --configs, only them.")
    parser.add_argument("--inversion", action="store_true",
                        help="Also measure DDIM inversion's round trip on 100 held-out digits.")
    args = parser.parse_args()

    import keras
    import numpy as np

    from kerasgen.cli.main import load_source, resolve_source
    from kerasgen.data import load_images
    from kerasgen.metrics import evaluate as ev
    from kerasgen.utils.images import to_uint8
    from kerasgen.utils.machine import machine_info

    model = load_source(resolve_source(args.source))
    if args.grids:
        write_grids(model, args.grids, args.grid_steps)
    real = load_images(args.data, image_size=model.image_size, channels=model.channels,
                       subset="8000:", max_images=args.n)
    if args.inversion:
        for row in inversion_rows(model, real):
            row.update(source=args.source, backend=keras.backend.backend())
            append_result(RESULTS, row)
    if args.compare:
        for row in compare_rows(args.compare.split(","), real, args.n):
            append_result(RESULTS, row)
        if args.configs == DEFAULT_CONFIGS:
            return
    done = done_rows()
    for sampler, steps in parse_configs(args.configs):
        key = dict(source=args.source, sampler=sampler, steps=steps, guidance=args.guidance,
                   n=args.n, backend=keras.backend.backend())
        if any(row.get("kind") is None and all(row.get(k) == v for k, v in key.items())
               for row in done):
            print("done already:", key)
            continue
        cache_dir = os.path.join(ROOT, "runs", "benchmarks", "ddpm_sampling",
                                 f"{args.source}-{sampler}{steps}-w{args.guidance:g}"
                                 f"-n{args.n}-b{args.batch}-{keras.backend.backend()}")
        images, seconds, compiled = draw(model, args.n, args.batch, sampler, steps,
                                         args.guidance, cache_dir)
        rows = ev.evaluate_samples(ev.ImageSamples(to_uint8(images)), real.images, ["fid"],
                                   n=args.n, extractor="lenet-mnist",
                                   data_name=f"{real.source}-8000:")["rows"]
        later = [s for s, c in zip(seconds, compiled) if not c] or seconds
        row = dict(key, eta=0.0 if sampler == "ddim" else None, fid=round(rows[0]["value"], 3),
                   seconds_per_100=round(float(np.median(later)) * 100 / args.batch, 2),
                   first_batch_seconds=round(seconds[0], 2), batch=args.batch,
                   machine=machine_info())
        append_result(RESULTS, row)


if __name__ == "__main__":
    main()
