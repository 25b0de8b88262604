"""The README's pictures of the likelihood and latent families, from the
shipped presets (and one small model trained here for the latent plane):

- docs/images/gmm-mnist-means.png: the 10 component means of `gmm-mnist`;
- docs/images/naive-bayes-mnist-means.png: the class means of
  `naive-bayes-mnist` (P(pixel on | class));
- docs/images/autoencoder-2d-plane.png: the decoded 2-D latent plane of an
  autoencoder with `latent_dim=2`, trained here for 3,000 steps of 64 on the
  8,000 training digits (89 s on 2 CPU cores), over the 1st to
  99th percentile of the training digits' codes.

    python benchmarks/likelihood_figures.py
"""

import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def main():
    import keras

    import kerasgen
    from kerasgen.data import load_images
    from kerasgen.utils.images import make_grid, save_png, upscale

    images_dir = os.path.join(ROOT, "docs", "images")

    def write(images, name, nrow):
        save_png(upscale(make_grid(images, nrow=nrow)), os.path.join(images_dir, name))
        print("wrote", os.path.join("docs", "images", name))

    write(kerasgen.load("gmm-mnist").component_means(), "gmm-mnist-means.png", 10)
    write(kerasgen.load("naive-bayes-mnist").class_means(), "naive-bayes-mnist-means.png", 10)

    data = os.path.join(ROOT, "..", "shared", "datasets", "mnist")
    train = load_images(data, subset="0:8000").images.astype("float32") / 127.5 - 1.0
    keras.utils.set_random_seed(0)
    model = kerasgen.Autoencoder(latent_dim=2, filters=32, seed=0)
    model.compile()
    start = time.time()
    model.fit(train, batch_size=64, epochs=24, verbose=0)  # 3,000 steps
    print(f"trained the 2-D autoencoder in {time.time() - start:.0f} s")
    write(model.latent_grid(n=15, images=train), "autoencoder-2d-plane.png", 15)


if __name__ == "__main__":
    main()
