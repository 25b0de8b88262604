"""Latent tools, written once against the latent interface every family with
a latent space provides: `sample_latents(n, seed)`, `decode(latents,
labels=None)`, `sample(n, seed, labels)`, and `encode(images)` where a
family has an encoder (see `kerasgen.models.interfaces`). The same call
works on a GAN, DCGAN, WGAN, cGAN or AC-GAN, a VAE, WAE or autoencoder, a
flow, and StyleGAN2's W (`model.w_space()`).

- `kerasgen.latent.interpolation`: `lerp` and `slerp`; `interpolate`
  (the decoded walk between latents, whose end frames are the end
  latents' images exactly), `crossfade` (the pixel-space blend it is
  compared with), `interpolation_rows` / `interpolation_grid` (walks over
  crossfades, captioned), `save_gif`; the end points from seeds
  (`latents_from_seeds`) or from images (`encode_images`, for a family
  with an encoder).
- `kerasgen.latent.arithmetic`: `average_latent`, `latent_arithmetic`
  (decode(mean(A) - mean(B) + mean(C)) beside the same sum of pixels),
  `arithmetic_grid`, and `latents_by_class` (groups of latents labelled by
  a classifier such as the `lenet-mnist` extractor).
- `kerasgen.latent.truncation`: `truncate` (psi toward the mean latent),
  `resample_beyond` (BigGAN's truncation), `mean_latent`, the `Truncated`
  adapter (a model with truncated `sample_latents`, for every tool and
  metric), and `truncation_sweep` (precision/recall, and FID, per psi).
- `kerasgen.latent.inversion`: `invert` (the latents whose decodes match
  images, by Adam on each image's squared error through `decode_tensor`,
  on TensorFlow or JAX), `reconstruction_errors`.
- `kerasgen.latent.directions` and `kerasgen.latent.dissection`:
  interpretable directions and GAN dissection (see those modules).

`kerasgen explore interpolate|arithmetic|truncation|invert` run the first
four from the shell (`kerasgen.cli.explore_latent`). Importing this package
imports nothing, and those four modules import no Keras until they are
called.
"""
