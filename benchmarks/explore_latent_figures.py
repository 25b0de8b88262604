"""The README's latent-tool figures and the truncation trade-off, from the
zoo presets (`kerasgen.latent`, once against the latent interface):

- docs/images/explore-interpolation-dcgan-mnist.png: four slerp walks of
  `dcgan-mnist` between seed pairs, and beneath them the pixel crossfade
  between the first walk's end images; `.gif`: the four walks animated
  (forward and back);
- docs/images/explore-arithmetic-dcgan-mnist.png: bold 1s - thin 1s +
  thin 7s, on the mean latents (decoded) and on the mean images. The
  groups are samples that `lenet-mnist` classifies as 1 or 7 with
  probability >= 0.9, split by their ink (the share of pixels above mid
  grey): the 16 boldest and the 16 thinnest;
- docs/images/explore-truncation-dcgan-mnist.png: the same 10 latents at
  each psi;
- docs/images/explore-inversion-dcgan-mnist.png: held-out digits, their
  inversions into `dcgan-mnist`'s Z (Adam, `kerasgen.latent.inversion`)
  and, for comparison, `vae-mnist`'s encoder-decoder reconstructions;
- the precision/recall (with density/coverage and FID) of `dcgan-mnist` truncated in Z at each
  psi, and with BigGAN's resampling beyond a threshold, and of `vae-mnist`
  at each psi (its prior's "temperature") (n samples against
  the held-out digits 8000: of MNIST, `lenet-mnist` features), appended to
  benchmarks/results/explore_latent.jsonl as JSON lines and printed as a
  markdown table.

    python benchmarks/explore_latent_figures.py [--n 2000]
"""

import argparse
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
PRESET = "dcgan-mnist"
PSIS = (0.0, 0.25, 0.5, 0.7, 0.85, 1.0)
THRESHOLDS = (0.5, 1.0, 1.5, 2.0)
PAIRS = ((1, 2), (3, 4), (5, 6), (7, 8))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="Samples per psi.")
    parser.add_argument("--out", default=os.path.join(ROOT, "docs", "images"))
    parser.add_argument("--results", default=os.path.join(
        ROOT, "benchmarks", "results", "explore_latent.jsonl"))
    parser.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "datasets",
                                                       "mnist"))
    args = parser.parse_args()

    import keras
    import numpy as np

    import kerasgen
    from kerasgen.data import load_images
    from kerasgen.data import to_unit_range
    from kerasgen.latent import arithmetic
    from kerasgen.latent import interpolation
    from kerasgen.latent import inversion
    from kerasgen.latent import truncation
    from kerasgen.metrics.extractors import load_extractor
    from kerasgen.utils.images import make_strips
    from kerasgen.utils.images import save_png
    from kerasgen.utils.machine import machine_info

    os.makedirs(args.out, exist_ok=True)
    model = kerasgen.load(PRESET)
    held_out = load_images(args.data, subset="8000:").images
    lenet = load_extractor("lenet-mnist")
    machine = machine_info()
    backend = keras.backend.backend()
    records = []

    def record(preset=PRESET, **row):
        row = {"benchmark": "explore_latent", "preset": preset, "backend": backend, **row,
               "machine": machine}
        records.append(row)
        with open(args.results, "a") as file:
            file.write(json.dumps(row) + "\n")

    def wrote(name):
        path = os.path.join(args.out, name)
        print(f"wrote {os.path.relpath(path, ROOT)} ({os.path.getsize(path) / 1024:.0f} KiB)",
              flush=True)

    # --- Interpolation: slerp walks, the pixel crossfade beneath; a GIF.
    seeds = [s for pair in PAIRS for s in pair]
    z = interpolation.latents_from_seeds(model, seeds)
    start, end = z[0::2], z[1::2]
    picture = interpolation.interpolation_grid(model, start, end, steps=10, method="slerp",
                                               crossfades=1)
    save_png(picture, os.path.join(args.out, f"explore-interpolation-{PRESET}.png"))
    wrote(f"explore-interpolation-{PRESET}.png")
    walks = interpolation.interpolate(model, start, end, steps=16, method="slerp")
    interpolation.save_gif(walks, os.path.join(args.out, f"explore-interpolation-{PRESET}.gif"),
                           duration_ms=80, min_size=240, bounce=True, nrow=len(PAIRS))
    wrote(f"explore-interpolation-{PRESET}.gif")
    # How far from the prior's shell each path goes: the mean norm of the
    # midpoints, against the norm of the end points.
    mid = {m: interpolation.latent_path(start, end, 3, m)[:, 1] for m in ("slerp", "lerp")}
    norms = {"end_points": float(np.linalg.norm(z, axis=1).mean()),
             "slerp_midpoints": float(np.linalg.norm(mid["slerp"], axis=1).mean()),
             "lerp_midpoints": float(np.linalg.norm(mid["lerp"], axis=1).mean())}
    print(f"latent norms: {norms}", flush=True)
    record(kind="interpolation", seeds=[list(p) for p in PAIRS], steps=10, latent_norms=norms)

    # --- Arithmetic: bold 1s - thin 1s + thin 7s.
    start_time = time.time()
    groups = arithmetic.latents_by_class(model, lenet, n=4000, seed=0, min_confidence=0.9)

    def ink(latents):
        return (model.decode(latents) > 0).mean(axis=(1, 2, 3))

    def by_ink(k, count=16):
        latents = groups[k]
        order = np.argsort(ink(latents))
        return latents[order[-count:]], latents[order[:count]]

    bold_1, thin_1 = by_ink(1)
    _, thin_7 = by_ink(7)
    result = arithmetic.latent_arithmetic(model, bold_1, thin_1, thin_7)
    save_png(arithmetic.arithmetic_grid(result, ("bold 1", "thin 1", "thin 7")),
             os.path.join(args.out, f"explore-arithmetic-{PRESET}.png"))
    wrote(f"explore-arithmetic-{PRESET}.png")
    latent_row, pixel_row = result["latent_row"], result["pixel_row"]
    probabilities = lenet.probabilities(np.stack([latent_row[3], pixel_row[3]]))
    inks = {"mean_thin_7_decoded": float((latent_row[2] > 0).mean()),
            "latent_sum": float((latent_row[3] > 0).mean()),
            "mean_bold_1_decoded": float((latent_row[0] > 0).mean()),
            "mean_thin_1_decoded": float((latent_row[1] > 0).mean())}
    arithmetic_row = {
        "latent_sum_p7": float(probabilities[0, 7]),
        "latent_sum_class": int(probabilities[0].argmax()),
        "pixel_sum_p7": float(probabilities[1, 7]),
        "pixel_sum_class": int(probabilities[1].argmax()),
        "ink": inks, "group_size": 16, "samples_classified": 4000, "min_confidence": 0.9,
        "seconds": round(time.time() - start_time, 1)}
    print(f"arithmetic: {arithmetic_row}", flush=True)
    record(kind="arithmetic", **arithmetic_row)

    # --- Inversion of held-out digits into Z, beside the VAE's encoder.
    start_time = time.time()
    targets = to_unit_range(held_out[:8])
    found = inversion.invert(model, targets, steps=300, learning_rate=0.05, restarts=4, seed=0)
    inverted = model.decode(found.latents)
    vae = kerasgen.load("vae-mnist")
    reconstructed = vae.decode(interpolation.encode_images(vae, targets))
    vae_errors = np.mean((reconstructed - targets) ** 2, axis=(1, 2, 3))
    columns = [str(i) for i in range(len(targets))]
    rows = np.stack([targets, inverted, reconstructed])
    save_png(make_strips(rows, [(1, "held-out digits", columns),
                                (1, f"inverted into {PRESET} (Adam, 300 steps, 4 starts)", None),
                                (1, "vae-mnist: decode(encode(x))", None)]),
             os.path.join(args.out, f"explore-inversion-{PRESET}.png"))
    wrote(f"explore-inversion-{PRESET}.png")
    own = model.decode(model.sample_latents(8, seed=99))
    own_found = inversion.invert(model, own, steps=300, learning_rate=0.05, restarts=4, seed=0)
    inversion_row = {
        "images": "held-out digits 8000:8008", "steps": 300, "restarts": 4,
        "learning_rate": 0.05,
        "mse_inverted_held_out": float(found.errors.mean()),
        "mse_vae_reconstruction": float(vae_errors.mean()),
        "mse_inverted_own_samples": float(own_found.errors.mean()),
        "seconds": round(time.time() - start_time, 1)}
    print(f"inversion: {inversion_row}", flush=True)
    record(kind="inversion", **inversion_row)

    # --- Truncation: samples at each psi, and the precision/recall table.
    strips = np.stack([truncation.Truncated(model, psi).sample(10, seed=5) for psi in PSIS])
    save_png(make_strips(strips, [(1, f"psi={psi:g}", None) for psi in PSIS]),
             os.path.join(args.out, f"explore-truncation-{PRESET}.png"))
    wrote(f"explore-truncation-{PRESET}.png")
    table = ["| preset | truncation | precision | recall | density | coverage | "
             "FID (lenet-mnist) |", "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    sweeps = ([(PRESET, model, "psi", psi, None) for psi in PSIS]
              + [(PRESET, model, "threshold", 1.0, t) for t in THRESHOLDS]
              + [("vae-mnist", vae, "psi", psi, None) for psi in PSIS])
    for preset, sampler, kind, psi, threshold in sweeps:
        start_time = time.time()
        row = truncation.truncation_sweep(sampler, held_out, psis=(psi,), n=args.n,
                                          extractor=lenet, seed=0, metrics=("pr", "dc", "fid"),
                                          threshold=threshold, data_name="mnist-8000:")[0]
        label = f"psi = {psi:g}" if kind == "psi" else f"resample beyond {threshold:g}"
        record(preset=preset, kind="truncation", space="z", method=kind, psi=psi,
               threshold=threshold, precision=row["precision"], recall=row["recall"],
               density=row["density"], coverage=row["coverage"], fid=row["fid"],
               n=row["n"], extractor=row["extractor"], seed=0,
               data="mnist 8000: (held-out)", seconds=round(time.time() - start_time, 1))
        table.append(f"| `{preset}` | {label} | {row['precision']:.3f} | "
                     f"{row['recall']:.3f} | {row['density']:.3f} | {row['coverage']:.3f} | "
                     f"{row['fid']:.1f} |")
        print(table[-1], flush=True)
    print("\n".join(table))


if __name__ == "__main__":
    main()
