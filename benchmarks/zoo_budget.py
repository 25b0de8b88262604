"""Quality at a fixed budget: the recipes tried for the dcgan-mnist and
vae-mnist presets, 1,500 steps of batch 64 (the keras-io DCGAN example's
budget), each trained with `kerasgen train` on the first 8,000 MNIST test
digits and measured with `kerasgen eval` against the last 2,000 (held out):
FID (lenet-mnist) of 2,000 samples and the class shares.

    python benchmarks/zoo_budget.py                 # every recipe not yet run
    python benchmarks/zoo_budget.py --family dcgan  # one family's
    python benchmarks/zoo_budget.py --table         # the table so far

Each run is a run folder under runs/budget/ (resumed if interrupted: the
training's own --resume) and a row in benchmarks/results/zoo_budget.jsonl
(family, recipe, options, FID, class shares, wall time, machine). The
winner of each family is what its preset ships (the preset's model card
keeps this table).
"""

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from dcgan_throughput import machine_info  # noqa: E402

MNIST = os.path.join(ROOT, "..", "shared", "datasets", "mnist")
RESULTS = os.path.join(HERE, "results", "zoo_budget.jsonl")
STEPS = 1500
BATCH = 64

# (family, recipe name, extra `kerasgen train` options).
RECIPES = [
    ("dcgan", "defaults (vanilla loss, lr 2e-4, 64 filters)", []),
    ("dcgan", "EMA 0.999", ["--ema-decay", "0.999"]),
    # 0.999 keeps 22% of the initial weights after 1,500 steps (0.999^1500):
    # its samples are faint and noisy. 0.99 averages the last ~100 steps.
    ("dcgan", "EMA 0.99", ["--ema-decay", "0.99"]),
    ("dcgan", "EMA 0.99, lr 1e-4", ["--ema-decay", "0.99", "--lr", "1e-4"]),
    ("dcgan", "EMA 0.99, least squares", ["--ema-decay", "0.99", "--loss", "lsgan"]),
    ("dcgan", "EMA 0.99, hinge", ["--ema-decay", "0.99", "--loss", "hinge"]),
    ("dcgan", "EMA 0.99, 32 filters", ["--ema-decay", "0.99",
                                       "--generator-filters", "32",
                                       "--discriminator-filters", "32"]),
    ("vae", "defaults (latent 16, 32 filters, lr 1e-3)", []),
    ("vae", "latent 8", ["--latent-dim", "8"]),
    ("vae", "latent 32", ["--latent-dim", "32"]),
    ("vae", "64 filters", ["--filters", "64"]),
    ("vae", "EMA 0.99", ["--ema-decay", "0.99"]),
    ("vae", "lr 3e-4", ["--lr", "3e-4"]),
]


def run_name(family, index):
    return f"{family}-{index}"


def kerasgen(*args):
    command = [os.path.join(os.path.dirname(sys.executable), "kerasgen"), *args]
    subprocess.run(command, check=True, cwd=ROOT)


def done_recipes():
    if not os.path.exists(RESULTS):
        return {}
    rows = [json.loads(line) for line in open(RESULTS) if line.strip()]
    return {(row["family"], row["recipe"]): row for row in rows}


def run_recipe(index, family, recipe, options):
    folder = os.path.join(ROOT, "runs", "budget", run_name(family, index))
    start = time.time()
    resume = os.path.exists(os.path.join(folder, "checkpoint.keras"))
    kerasgen("train", family, "--data", MNIST, "--subset", "0:8000",
             "--steps", str(STEPS), "--batch-size", str(BATCH),
             "--checkpoint-every", "500", "--sample-every", "500",
             "--no-tensorboard", "--out", folder, *(["--resume"] if resume else options))
    seconds = time.time() - start
    out = os.path.join(folder, "eval.json")
    kerasgen("eval", folder, "--data", MNIST, "--subset", "8000:", "--n", "2000",
             "--metrics", "fid,classes", "--json", out)
    result = json.load(open(out))
    rows = result["rows"]
    fid = next(row["value"] for row in rows if row["metric"] == "fid")
    shares = {row["class"]: row["value"] for row in rows if row["metric"] == "class_share"}
    row = {"family": family, "recipe": recipe, "options": options, "steps": STEPS,
           "batch_size": BATCH, "fid_lenet_mnist": fid, "class_shares": shares,
           "train_seconds": round(seconds, 1), "run": os.path.relpath(folder, ROOT),
           "resumed": resume, "machine": machine_info(),
           "date": time.strftime("%Y-%m-%d")}
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    with open(RESULTS, "a") as file:
        file.write(json.dumps(row) + "\n")
    return row


def table(family=None):
    rows = [row for row in done_recipes().values() if family in (None, row["family"])]
    lines = ["| family | recipe | FID (lenet-mnist) | fewest class share | train time |",
             "| --- | --- | ---: | ---: | ---: |"]
    for row in rows:
        fewest = min(row["class_shares"].values())
        lines.append(f"| {row['family']} | {row['recipe']} | {row['fid_lenet_mnist']:.1f} "
                     f"| {fewest:.3f} | {row['train_seconds'] / 60:.1f} min |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", choices=sorted({r[0] for r in RECIPES}))
    parser.add_argument("--table", action="store_true")
    args = parser.parse_args()
    if args.table:
        print(table(args.family))
        return
    done = done_recipes()
    for index, (family, recipe, options) in enumerate(RECIPES):
        if args.family not in (None, family) or (family, recipe) in done:
            continue
        row = run_recipe(index, family, recipe, options)
        print(f"{family} | {recipe}: FID {row['fid_lenet_mnist']:.1f}", flush=True)
    print(table(args.family))


if __name__ == "__main__":
    main()
