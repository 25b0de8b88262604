"""The course notes' point about autoencoders, measured: decoding latents
drawn from N(0, I) gives poor samples from a plain autoencoder (nothing
put its codes there) and valid ones from a VAE or a WAE (whose objectives
do); fitting a Gaussian mixture to the autoencoder's codes (the
`GaussianMixture` family on latents, `input_dim`) and decoding its samples
repairs it (Ghosh et al. 2020, "From Variational to Deterministic
Autoencoders", ex-post density estimation).

    python benchmarks/latent_prior.py

For each preset: FID (lenet-mnist) of 2,000 samples against the 2,000
held-out digits, with z ~ N(0, I) and with z from a 10-component
full-covariance mixture fitted by EM to the codes of the 8,000 training
digits. Appends rows to benchmarks/results/latent_prior.jsonl and prints a
markdown table.
"""

import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
PRESETS = ("autoencoder-mnist", "vae-mnist", "wae-mmd-mnist", "wae-gan-mnist")
N = 2000


def latent_codes(model, images):
    codes = model.encode(images)
    return codes[0] if isinstance(codes, tuple) else codes  # a VAE's posterior mean


def main():
    import keras
    import numpy as np

    import kerasgen
    from kerasgen.data import load_images
    from kerasgen.metrics.evaluate import ImageSamples, evaluate_samples
    from kerasgen.utils.machine import machine_info

    data = os.path.join(ROOT, "..", "shared", "datasets", "mnist")
    train = load_images(data, subset="0:8000").images.astype("float32") / 127.5 - 1.0
    held_out = load_images(data, subset="8000:").images

    def fid(images):
        result = evaluate_samples(ImageSamples(images), held_out, ["fid"], n=N,
                                  extractor="lenet-mnist", data_name="mnist-8000:")
        return result["rows"][0]["value"]

    lines = ["| preset | FID, z ~ N(0, I) | FID, z ~ mixture fitted to the codes |",
             "| --- | ---: | ---: |"]
    out = os.path.join(ROOT, "benchmarks", "results", "latent_prior.jsonl")
    for name in PRESETS:
        model = kerasgen.load(name)
        start = time.time()
        prior = fid(model.sample(N, seed=0))
        keras.utils.set_random_seed(0)
        mixture = kerasgen.GaussianMixture(input_dim=model.latent_dim, components=10,
                                           em_step_power=0.0, reg_covar=1e-4, seed=0)
        mixture.compile()
        codes = latent_codes(model, train)
        mixture.fit(codes, batch_size=len(codes), epochs=50, verbose=0)
        fitted = fid(model.decode(mixture.sample(N, seed=0)))
        row = {"benchmark": "latent_prior", "preset": name, "n": N,
               "fid_standard_normal": prior, "fid_fitted_mixture": fitted,
               "mixture": {"components": 10, "covariance": "full", "em_iterations": 50},
               "seconds": round(time.time() - start, 1), "machine": machine_info()}
        with open(out, "a") as file:
            file.write(json.dumps(row) + "\n")
        lines.append(f"| `{name}` | {prior:.1f} | {fitted:.1f} |")
        print(lines[-1], flush=True)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
