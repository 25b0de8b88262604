"""Latent tools (interpolation, arithmetic, PCA directions, truncation),
written once against the latent interface every family with a latent space
provides: `sample_latents(n, seed)`, `decode(latents, labels=None)` and
`sample(n, seed, labels)` (see `kerasgen.models.interfaces`). Empty until
the latent tools land.
"""
