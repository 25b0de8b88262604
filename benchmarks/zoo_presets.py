"""How every preset of the zoo is made: `kerasgen train` with the recipe
below, then `kerasgen zoo publish`. Rerunnable and resumable: a run that
was interrupted goes on from its checkpoint (`--resume`), a finished run
is not trained again, a published preset is not published again unless
`--republish`.

    python benchmarks/zoo_presets.py                      # every preset, in order
    python benchmarks/zoo_presets.py dcgan-mnist vae-mnist
    python benchmarks/zoo_presets.py --list

Run from the checkout's root, with ../shared/datasets beside it. The digit
presets train on the first 8,000 MNIST test digits (`--subset 0:8000`) and
are measured on the last 2,000; the others on their datasets' train and
test splits. Where and how long each trained is in its card.
"""

import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MNIST = ["--data", "../shared/datasets/mnist", "--subset", "0:8000", "--batch-size", "64"]
EVERY = ["--sample-every", "500", "--checkpoint-every", "500", "--no-tensorboard"]
DIGITS_NOTE = ("MNIST test digits 0-7,999 (../shared/datasets/mnist); 8,000-9,999 held "
               "out for the metrics")

#: name -> (family, train options, publish options)
PRESETS = {
    "cgan-mnist": ("cgan", MNIST + ["--steps", "5000"], []),
    "acgan-mnist": ("acgan", MNIST + ["--steps", "5000"], []),
    # The defaults: the best DCGAN of benchmarks/zoo_budget.py at 1,500 steps.
    "dcgan-mnist": ("dcgan", MNIST + ["--steps", "5000"], []),
    # 64 filters: the best VAE of benchmarks/zoo_budget.py at 1,500 steps.
    "vae-mnist": ("vae", MNIST + ["--steps", "5000", "--set", "filters=64"], []),
    "cvae-mnist": ("vae", MNIST + ["--steps", "5000", "--set", "filters=64",
                                   "--set", "num_classes=10"], []),
    "wgan-gp-mnist": ("wgan-gp", MNIST + ["--steps", "3000", "--set", "generator_filters=32",
                                          "--set", "critic_filters=32"], []),
    # Classic EM: one batch is the whole training set, every step one EM
    # iteration (E-step, then M-step) on freshly dequantized pixels.
    "gmm-mnist": ("gmm", MNIST[:4] + ["--batch-size", "8000", "--steps", "40",
                                      "--set", "em_step_power=0.0", "--set", "reg_covar=1e-3"], []),
    # Counting: one pass over the 8,000 digits.
    "naive-bayes-mnist": ("naive-bayes", MNIST[:4] + ["--batch-size", "500", "--steps", "16"], []),
    # The VAE preset's budget (5,000 steps of 64, 64 filters), for the
    # comparison the notes make: a plain autoencoder's codes are not N(0, I).
    "autoencoder-mnist": ("autoencoder", MNIST + ["--steps", "5000", "--set", "filters=64"], []),
    "wae-mmd-mnist": ("wae", MNIST + ["--steps", "5000", "--set", "filters=64"], []),
    "wae-gan-mnist": ("wae", MNIST + ["--steps", "5000", "--set", "filters=64",
                                      "--set", "regularizer=gan"], []),
    # Flows on JAX (faster than TensorFlow for these on 2 cores); 4,000
    # steps each fit one session's CPU budget.
    "glow-mnist": ("glow", MNIST + ["--backend", "jax", "--steps", "4000",
                                    "--set", "image_size=28", "--set", "channels=1",
                                    "--set", "scales=2", "--set", "flow_depth=8",
                                    "--set", "filters=64"], []),
    "realnvp-mnist": ("realnvp", MNIST + ["--backend", "jax", "--steps", "4000",
                                          "--set", "image_size=28", "--set", "channels=1",
                                          "--set", "scales=3", "--set", "filters=16",
                                          "--set", "blocks=1"], []),
    # Gated PixelCNN, discretized logistic mixture; TensorFlow (faster than
    # JAX for these convolutions on 2 cores). 500 samples for the FID: the
    # card is recomputed in CI on both backends, and sampling is sequential.
    "pixelcnn-mnist": ("pixelcnn", MNIST + ["--steps", "3000", "--set", "image_size=28",
                                            "--set", "channels=1",
                                            "--set", "distribution=logistic_mixture",
                                            "--set", "filters=32", "--set", "depth=6",
                                            "--set", "head_filters=64",
                                            "--set", "ema_decay=0.999"], ["--n", "500"]),
    # Conditional, with label dropout 0.1 for classifier-free guidance; the
    # card's FID is of 500 samples by 50-step DDIM (about 2.5 minutes).
    "ddpm-mnist": ("ddpm", MNIST + ["--steps", "4000", "--set", "image_size=28",
                                    "--set", "channels=1", "--set", "num_classes=10",
                                    "--set", "filters=32", "--set", "multipliers=1,2,2",
                                    "--set", "blocks_per_level=1", "--set", "attention_levels=2",
                                    "--set", "dropout=0.0", "--set", "learning_rate=5e-4",
                                    "--set", "ema_decay=0.999"], ["--n", "500"]),
    "pix2pix-facades": ("pix2pix", [
        "--data", "../shared/datasets/facades", "--direction", "b2a",
        "--set", "image_size=128", "--set", "generator_filters=32",
        "--set", "discriminator_filters=32", "--steps", "6000"], [
        "--data-note", "CMP facades (Tylecek and Sara 2013), 400 train pairs, label map "
                       "to photo; measured on the 106 test pairs"]),
    # 64x64: 128x128 would take about four times as long on 2 CPU cores.
    "cyclegan-cat2dog": ("cyclegan", [
        "--data", "../shared/datasets/cat2dog", "--set", "image_size=64",
        "--set", "generator_filters=32", "--set", "discriminator_filters=32",
        "--set", "num_residual_blocks=6", "--steps", "12000"], [
        "--extractor", "catdog-classifier-64",
        "--data-note", "cat2dog: 1,000 cats (trainA) and 1,000 dogs (trainB) at 64x64; "
                       "measured on the 200 test cats (testA) and dogs (testB)"]),
    # CelebA 64x64, images 0-8,999 (9,000-9,999 held out for SWD). Narrow
    # (64 channels up to 16x16, 32 at 32x32, 16 at 64x64) and 800 batches
    # per phase, to fit about 40 minutes of this 2-core CPU; the paper
    # trains 800k images per phase with 512 channels. It ships the trained
    # generator: the EMA's 0.999 is too slow for phases this short (see
    # benchmarks/zoo_notes/progan-celeba64.md).
    "progan-celeba64": ("progan", [
        "--data", "../shared/datasets/celeba", "--subset", "0:9000",
        "--set", "image_size=64", "--set", "latent_dim=128", "--set", "fmap_base=1024",
        "--set", "fmap_max=64", "--set", "phase_steps=800", "--steps", "7200",
        "--sample-every", "400", "--checkpoint-every", "400"], [
        "--metrics", "swd", "--n", "1000", "--without-ema",
        "--data-note", "CelebA (aligned, 64x64), images 1-9,000 of ../shared/datasets/celeba; "
                       "measured on images 9,001-10,000"]),
    # The same faces and held-out split. As narrow as progan-celeba64, a
    # 4-layer mapping (the paper: 8) to 128-d w, batch 16 (the paper: 32),
    # R1 gamma 0.1 (StyleGAN2-ADA's 0.0002 N^2 / batch gives 0.05 at 64x64)
    # and an EMA of 0.99, which a run of 3,000 steps can fill.
    "stylegan2-celeba64": ("stylegan2", [
        "--data", "../shared/datasets/celeba", "--subset", "0:9000", "--batch-size", "16",
        "--set", "image_size=64", "--set", "latent_dim=128", "--set", "w_dim=128",
        "--set", "mapping_layers=4", "--set", "fmap_base=1024", "--set", "fmap_max=64",
        "--set", "r1_gamma=0.1", "--set", "ema_decay=0.99", "--steps", "3000",
        "--sample-every", "400", "--checkpoint-every", "400"], [
        "--metrics", "swd", "--n", "1000",
        "--data-note", "CelebA (aligned, 64x64), images 1-9,000 of ../shared/datasets/celeba; "
                       "measured on images 9,001-10,000"]),
    # The same faces and held-out split. As narrow as stylegan2-celeba64
    # (64 channels at most); z_s 4x4x8 (the paper's 1/16 of the side, 16x16x8
    # at 256x256: a first run with 8x8x8 left z_t unused after 800 steps,
    # its structure code alone reconstructing the faces), z_t of 256 (the
    # paper: 2,048); patches of 1/4 to 1/2 of the side resized to 16x16
    # (the paper's 1/8 to 1/4 of 64x64 faces would be 8 to 16 pixels: an
    # eye); R1 gamma 1 (the paper's 10 at 256x256, scaled by the resolution
    # squared).
    "swapae-celeba64": ("swapae", [
        "--data", "../shared/datasets/celeba", "--subset", "0:9000", "--batch-size", "16",
        "--set", "image_size=64", "--set", "texture_dim=256", "--set", "fmap_base=1024",
        "--set", "fmap_max=64", "--set", "patch_size=16", "--set", "patch_min_scale=0.25",
        "--set", "patch_max_scale=0.5", "--set", "patch_crops=4", "--set", "r1_gamma=1.0",
        "--steps", "2000", "--sample-every", "200", "--checkpoint-every", "200"], [
        "--metrics", "swd,l1,psnr,ssim", "--n", "1000",
        "--data-note", "CelebA (aligned, 64x64), images 1-9,000 of ../shared/datasets/celeba; "
                       "measured on images 9,001-10,000"]),
    # FSDD's training split (takes 5-49 of each digit and speaker, 2,700
    # recordings), 8,192 samples at 8 kHz, d = 16 (the paper: 64): 1.6 s per
    # batch of 32 on 2 CPU cores with TensorFlow (JAX: 4.7 s). (The shipped
    # run started with --steps 2500 and was resumed at 1,250 with --steps
    # 2000, to fit the session; that is this recipe's schedule.)
    "wavegan-fsdd": ("wavegan", [
        "--data", "../shared/datasets/fsdd/recordings", "--batch-size", "32",
        "--set", "length=8192", "--set", "sample_rate=8000", "--set", "model_size=16",
        "--set", "ema_decay=0.999", "--steps", "2000", "--sample-every", "250",
        "--checkpoint-every", "250"], [
        "--n", "1000",
        "--data-note", "Free Spoken Digit Dataset, training split (takes 5-49, 2,700 "
                       "recordings, ../shared/datasets/fsdd); measured against the 300 "
                       "test recordings (takes 0-4)"]),
    # One image: cat2dog trainB/dog.1.jpg (128x128), 32 channels at every
    # scale, 800 batches per scale (the paper: 2,000, up to 128 channels).
    "singan-dog": ("singan", [
        "--data", "../shared/datasets/cat2dog/trainB/dog.1.jpg", "--set", "max_size=128",
        "--set", "max_filters=32", "--set", "steps_per_scale=800", "--steps", "5600",
        "--sample-every", "400", "--checkpoint-every", "400"], [
        "--metrics", "swd", "--n", "64",
        "--data-note", "one image: cat2dog trainB/dog.1.jpg (128x128); samples measured "
                       "against it"]),
}


def kerasgen(*args):
    command = [os.path.join(os.path.dirname(sys.executable), "kerasgen"), *args]
    print("+", " ".join(command[1:]), flush=True)
    subprocess.run(command, check=True, cwd=ROOT)


def _finished(folder):
    config = os.path.join(folder, "config.json")
    timing = os.path.join(folder, "timing.json")
    if not os.path.isfile(config) or not os.path.isfile(timing):
        return False
    total = json.load(open(config)).get("total_steps")
    segments = json.load(open(timing)).get("segments") or [{}]
    return segments[-1].get("end_step") == total


def make(name, republish=False):
    family, train, publish = PRESETS[name]
    folder = os.path.join("runs", "zoo", name)
    if not _finished(os.path.join(ROOT, folder)):
        resume = os.path.isfile(os.path.join(ROOT, folder, "checkpoint.keras"))
        kerasgen("train", family, "--out", folder, *EVERY,
                 *(["--resume"] if resume else train))
    if republish or not os.path.isfile(os.path.join(ROOT, "zoo", name, "metadata.json")):
        notes = os.path.join(ROOT, "benchmarks", "zoo_notes", f"{name}.md")
        extra = ["--notes", notes] if os.path.isfile(notes) else []
        if name.endswith("-mnist") and "--data-note" not in publish:
            extra += ["--data-note", DIGITS_NOTE]
        kerasgen("zoo", "publish", folder, "--name", name, *publish, *extra)


def readme_table():
    """The README's table of the presets, from their metadata."""
    sys.path.insert(0, ROOT)
    from kerasgen.utils.machine import describe_machine
    from kerasgen.zoo.registry import ZOO_FOLDER, shipped_index

    lines = ["| preset | family | data | resolution | size | training | headline metric "
             "(held out) |", "| --- | --- | --- | --- | ---: | --- | --- |"]
    for name, entry in shipped_index().items():
        metadata = json.load(open(ZOO_FOLDER / name / "metadata.json"))
        training = metadata.get("training") or {}
        if entry["kind"] == "model":
            minutes = training.get("train_seconds", 0) / 60
            trained = (f"{training['steps']:,} steps, {minutes:.0f} min, "
                       f"{describe_machine(training.get('machine') or {})}")
            metric = entry["headline"]
            shown = f"{metric['label']} {metric['value']:.3g}"
            extra = [r for r in metadata["metrics"][1:] if r["metric"] not in ("class_share",)]
            shown += "".join(f"; {r['label']} {r['value']:.3g}" for r in extra)
        else:
            trained = f"{metadata.get('epochs')} epochs, {metadata.get('train_seconds', 0) / 60:.0f} min"
            shown = f"{entry['headline']['label']} {entry['headline']['value']:.3g}"
        family = entry["family"] or "feature extractor"
        data = (entry["data"] or "").split(";")[0].split(" (")[0]
        lines.append(f"| `{name}` | {family} | {data} | {entry['resolution']} | "
                     f"{entry['bytes'] / 2**20:.1f} MiB | {trained} | {shown} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="Presets to make (default: all).")
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--republish", action="store_true")
    parser.add_argument("--readme", action="store_true",
                        help="Print the README's table of the presets.")
    args = parser.parse_args()
    if args.readme:
        print(readme_table())
        return
    if args.list:
        for name, (family, train, _) in PRESETS.items():
            print(f"{name:<22} kerasgen train {family} {' '.join(train)}")
        return
    unknown = [name for name in args.names if name not in PRESETS]
    if unknown:
        parser.error(f"unknown preset(s) {', '.join(unknown)}; see --list")
    for name in args.names or PRESETS:
        make(name, args.republish)


if __name__ == "__main__":
    main()
