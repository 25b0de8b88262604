"""The README's figures of interpretable directions and GAN dissection,
with the numbers they show:

    python benchmarks/explore_directions_figures.py --out docs/images

writes

- `explore-directions-dcgan-mnist.png`: the first five GANSpace
  directions of dcgan-mnist (PCA of its dense `project` layer, carried
  back to z by regression), walked +-2 sd from one sample;
- `explore-directions-stylegan2-celeba64-w.png`: the first five principal
  components of stylegan2-celeba64's W (GANSpace's own method), likewise;
- `explore-dissection-dcgan-mnist.png`: the samples read as the concept
  digit, the same with the top units of a layer ablated, with as many
  random units ablated (the control), and where the top units are active;

and appends one JSON line per measurement to
`benchmarks/results/explore_directions.jsonl`: the explained variance of
each PCA, and for the dissection (Bau et al. 2019's protocol) the drop in
lenet-mnist's probability of the concept class and the share of samples
read as it, ablating the top-k units (ranked on samples of seed 0) against
k random units (mean of several draws), both measured on other samples
(seed 1); plus the same at k = 8 for every digit class, at the last hidden
layer.
"""

import argparse
import json
import os
import platform
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
RESULTS = os.path.join(ROOT, "benchmarks", "results", "explore_directions.jsonl")


def write(row, path):
    import keras

    row = {**row, "backend": keras.backend.backend(), "machine": platform.machine(),
           "date": time.strftime("%Y-%m-%d")}
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "a") as f:
        f.write(json.dumps(row) + "\n")
    print(json.dumps(row))


def direction_figure(name, model, latent_model, layer, k, n, seed, path, results, space):
    from kerasgen.cli.explore_directions import latent_std
    from kerasgen.latent import directions
    from kerasgen.utils.images import make_strips
    from kerasgen.utils.images import save_png

    start = time.time()
    found, ratios = directions.pca_directions(latent_model, k=k, n=n, seed=0, layer=layer)
    spread = latent_std(latent_model, found)
    steps, scale = 7, 2.0
    rows = directions.walk(latent_model, found, seed=seed, steps=steps, scale=scale * spread)
    where = f"layer {layer}" if layer is not None else f"the sampled {space}"
    columns = [f"{t:+.1f}sd" for t in np.linspace(-scale, scale, steps)]
    groups = [(1, f"PC{j + 1}: {ratios[j]:.1%} of the variance of {where}", columns)
              for j in range(k)]
    save_png(make_strips(rows, groups), path)
    row = {"experiment": "pca_directions", "model": name, "space": space, "layer": layer,
           "k": k, "n": n, "pca_seed": 0, "walk_seed": seed, "walk_sd": scale,
           "explained_variance": [round(float(r), 5) for r in ratios],
           "latent_sd_along": [round(float(s), 4) for s in spread],
           "figure": os.path.relpath(path, ROOT), "seconds": round(time.time() - start, 1)}
    if layer is not None or space == "w":
        try:
            _, values = directions.sefa_directions(latent_model, k=k)
            row["sefa_layer"] = directions.latent_linear_layer(latent_model).name
            row["sefa_eigenvalues"] = [round(float(v), 6) for v in values]
        except ValueError as error:
            row["sefa"] = str(error)
    write(row, results)
    return found, ratios


def random_control(model, split, k, classifier, concept, draws, rng):
    from kerasgen.latent import dissection

    effects = [dissection.ablation_effect(model, split, rng.choice(split.units, k, replace=False),
                                          classifier.probabilities, n=1000, seed=1,
                                          concept_class=concept)
               for _ in range(draws)]
    drops = [e["drop"] for e in effects]
    shares = [e["share_after"] for e in effects]
    return {"draws": draws, "drop_mean": float(np.mean(drops)), "drop_std": float(np.std(drops)),
            "share_after_mean": float(np.mean(shares)), "share_after_std": float(np.std(shares))}


def rounded(effect):
    return {key: round(value, 4) if isinstance(value, float) else value
            for key, value in effect.items()}


def dissection_rows(model, classifier, layer, concept, ks, draws, results, rng):
    from kerasgen.latent import dissection

    split = dissection.split_generator(model, layer)
    start = time.time()
    ranking = dissection.rank_units(model, split, classifier.probabilities, n=1000, seed=0,
                                    concept_class=concept)
    rank_seconds = time.time() - start
    for k in ks:
        start = time.time()
        top = dissection.ablation_effect(model, split, ranking.units[:k],
                                         classifier.probabilities, n=1000, seed=1,
                                         concept_class=concept)
        control = random_control(model, split, k, classifier, concept, draws, rng)
        write({"experiment": "dissection", "model": "dcgan-mnist", "layer": split.layer,
               "layer_index": split.index, "layer_shape": list(split.shape),
               "classifier": classifier.name, "concept_class": classifier.classes[concept],
               "rank_n": 1000, "rank_seed": 0, "rank_samples": ranking.samples,
               "eval_n": 1000, "eval_seed": 1, "k": k,
               "top_units": ranking.units[:k].tolist(),
               "top_single_effects": [round(float(e), 4) for e in ranking.effects[:k]],
               "top": rounded(top), "random": rounded(control),
               "seconds": round(rank_seconds + time.time() - start, 1)}, results)
    return split, ranking


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(ROOT, "docs", "images"))
    parser.add_argument("--results", default=RESULTS)
    parser.add_argument("--concept", type=int, default=8,
                        help="The digit class of the dissection figure.")
    parser.add_argument("--layer", type=int, default=7,
                        help="The dcgan-mnist generator layer of the figure (index; 7: "
                             "the last hidden ReLU, 14x14x64; 4: the first, 7x7x128).")
    parser.add_argument("--seed", type=int, default=0, help="Seed of the walks' sample.")
    parser.add_argument("--skip-stylegan", action="store_true")
    parser.add_argument("--skip-scan", action="store_true",
                        help="Leave out the k = 8 measurement of every digit class.")
    args = parser.parse_args()

    import kerasgen
    from kerasgen.cli.explore_directions import dissection_picture
    from kerasgen.metrics import load_extractor
    from kerasgen.utils.images import save_png

    os.makedirs(args.out, exist_ok=True)
    began = time.time()
    model = kerasgen.load("dcgan-mnist")
    direction_figure("dcgan-mnist", model, model, "project", 5, 2000, args.seed,
                     os.path.join(args.out, "explore-directions-dcgan-mnist.png"),
                     args.results, "z")
    if not args.skip_stylegan:
        style = kerasgen.load("stylegan2-celeba64")
        direction_figure("stylegan2-celeba64", style, style.w_space(), None, 5, 20000,
                         args.seed,
                         os.path.join(args.out, "explore-directions-stylegan2-celeba64-w.png"),
                         args.results, "w")
        del style

    classifier = load_extractor("lenet-mnist")
    rng = np.random.default_rng(0)
    # The figure's layer: top k = 4, 8, 16 against random units; then the
    # other hidden ReLU at k = 8.
    split, ranking = dissection_rows(model, classifier, args.layer, args.concept,
                                     (4, 8, 16), 10, args.results, rng)
    other = 4 if args.layer != 4 else 7
    dissection_rows(model, classifier, other, args.concept, (8,), 10, args.results, rng)

    latents = model.sample_latents(1000, seed=1)
    reading = classifier.probabilities(split.decode(latents)).argmax(axis=1)
    keep = np.flatnonzero(reading == args.concept)[:8]
    control = np.sort(np.random.default_rng(args.seed).choice(split.units, 8, replace=False))
    picture = dissection_picture(model, split, latents[keep], None, ranking.units[:8],
                                 control, concept_name=classifier.classes[args.concept])
    path = os.path.join(args.out, "explore-dissection-dcgan-mnist.png")
    save_png(picture, path)
    print(f"Wrote {path}")

    if not args.skip_scan:
        for concept in range(10):
            if concept == args.concept:
                continue
            dissection_rows(model, classifier, args.layer, concept, (8,), 5, args.results,
                            rng)
    print(f"Done in {time.time() - began:.0f} s")


if __name__ == "__main__":
    main()
