"""GAN inversion: the latents whose decodes match given images.

A GAN has no encoder; the latent of an image is found by gradient descent
on the reconstruction error, through the generator (Zhu et al. 2016,
"Generative Visual Manipulation on the Natural Image Manifold"; the
StyleGAN2 projector, Karras et al. 2020, appendix D, does the same in W).
`invert` does it once for every family with a latent space, through the
`decode_tensor` (the `keras.ops` decode) each of them has:

- the loss is each image's mean squared error in [-1, 1] units, and its
  gradient with respect to the latents comes from
  `kerasgen.training.input_gradients.input_gradient` (TensorFlow or JAX);
- the latents move by Adam (in numpy), with the learning rate ramped down
  (cosine) over the last quarter of the steps, as the StyleGAN2 projector
  does;
- several random starts per image (`restarts`) and keep the best, since
  the loss is not convex in the latent.

Inverting into StyleGAN2's W (`model.w_space(psi=1.0)`) reaches far more
images than its Z. The latents found for a real image are where the
latent tools start from (interpolating between two photographs, editing
one).
"""

from typing import NamedTuple

import numpy as np

from kerasgen.latent.interpolation import _as_latents
from kerasgen.latent.interpolation import _unit_images
from kerasgen.latent.interpolation import refuse_shape
from kerasgen.utils.arguments import is_count
from kerasgen.utils.arguments import refuse


class Inversion(NamedTuple):
    """What `invert` found: `latents` `(n,) + latent_shape` (float32) and
    `errors` `(n,)`, each image's mean squared error between its decode and
    the image, in [-1, 1] units (float64)."""

    latents: np.ndarray
    errors: np.ndarray


def _variables(model):
    """The Keras variables a model (or an adapter around one: `WSpace`,
    `Truncated`) decodes with, for compiling on JAX; None when not found."""
    seen = model
    for _ in range(4):
        variables = getattr(seen, "variables", None)
        if isinstance(variables, (list, tuple)) and variables:
            return list(variables)
        seen = getattr(seen, "model", None)
        if seen is None:
            return None
    return None


def _compiled(function, model):
    from kerasgen.utils.compiled import compiled

    variables = _variables(model)
    import keras

    if keras.backend.backend() == "jax" and variables is None:
        return function  # nothing to pass in: run it as it is
    return compiled(function, variables or [])


def reconstruction_errors(model, latents, images, labels=None):
    """Each image's mean squared error between `model.decode(latents)` and
    it, in [-1, 1] units (float64 `(n,)`).

    Example:

    ```python
    import kerasgen
    model = kerasgen.DCGAN(image_size=8, latent_dim=4, generator_filters=4,
                           discriminator_filters=4)
    z = model.sample_latents(2, seed=0)
    reconstruction_errors(model, z, model.decode(z)).tolist()  # [0.0, 0.0]
    ```
    """
    from kerasgen.models.interfaces import check_labels

    latents = np.asarray(latents, "float32")
    images = _unit_images(images)
    decoded = model.decode(latents, check_labels(model, labels, len(latents)))
    if decoded.shape != images.shape:
        refuse_shape("reconstruction_errors", "images", images.shape,
                     f"images of the decodes' shape {decoded.shape}")
    return np.mean(np.square(decoded.astype("float64") - images.astype("float64")),
                   axis=tuple(range(1, images.ndim)))


def invert(model, images, steps=300, learning_rate=0.05, seed=0, labels=None, restarts=1,
           start=None, latent_penalty=0.0):
    """Latents whose decodes match `images`, by Adam on each image's mean
    squared error.

    Args:
        model: anything with the latent interface and a `decode_tensor`
            (every latent family; `StyleGAN2.w_space()`; `Truncated`).
        images: `(n, H, W, C)` uint8, or floats in [-1, 1], of the model's
            image shape.
        steps: int >= 1. Adam steps. Defaults to 300.
        learning_rate: float > 0. Adam's step size, cosine-ramped down to 0
            over the last quarter of the steps. Defaults to 0.05.
        seed: int. The starting latents (`model.sample_latents`).
            Defaults to 0.
        labels: the images' classes, for a conditional model.
        restarts: int >= 1. Starting latents per image; each is optimized
            and the one that ends closest to its image is kept. Defaults
            to 1.
        start: array `(n,) + latent_shape` or None. Where to start instead
            of sampled latents (e.g. the mean w), for `restarts=1`.
        latent_penalty: float >= 0. Adds `latent_penalty * mean(z ** 2)` to
            each image's loss, keeping an N(0, I) latent from wandering far
            from the prior. Defaults to 0.

    Returns:
        An `Inversion`: `latents` `(n,) + latent_shape` and `errors` `(n,)`,
        the mean squared error of each image's reconstruction in [-1, 1]
        units (what a caller reports).

    Example:

    ```python
    import kerasgen
    model = kerasgen.DCGAN(image_size=8, latent_dim=4, generator_filters=4,
                           discriminator_filters=4)
    target = model.decode(model.sample_latents(2, seed=1))
    found = invert(model, target, steps=20)
    found.latents.shape, found.errors.shape  # ((2, 4), (2,))
    ```
    """
    from keras import ops

    from kerasgen.models.interfaces import check_labels
    from kerasgen.models.interfaces import require
    from kerasgen.training.input_gradients import input_gradient

    require(model, "decode", hint="Inversion needs a model with latents to decode.")
    if not callable(getattr(model, "decode_tensor", None)):
        refuse("invert", "model", type(model).__name__,
               "a model with a keras.ops `decode_tensor` (every latent family has one)")
    if not is_count(steps, minimum=1):
        refuse("invert", "steps", steps, "an int >= 1")
    if not is_count(restarts, minimum=1):
        refuse("invert", "restarts", restarts, "an int >= 1")
    try:
        learning_rate = float(learning_rate)
    except (TypeError, ValueError):
        learning_rate = float("nan")
    if not (np.isfinite(learning_rate) and learning_rate > 0):
        refuse("invert", "learning_rate", learning_rate, "a finite number > 0")
    if not (np.isfinite(float(latent_penalty)) and float(latent_penalty) >= 0):
        refuse("invert", "latent_penalty", latent_penalty, "a finite number >= 0")
    targets = _unit_images(images)
    if targets.ndim != 4 or len(targets) == 0:
        refuse_shape("invert", "images", targets.shape, "a non-empty batch (n, H, W, C)")
    n = len(targets)
    labels = check_labels(model, labels, n)
    if start is not None:
        if restarts != 1:
            refuse("invert", "restarts", restarts, "1 when `start` is given")
        z, _ = _as_latents("invert", "start", model, start)
        if len(z) != n:
            refuse_shape("invert", "start", z.shape, f"one latent per image ({n})")
    else:
        z = np.asarray(model.sample_latents(n * restarts, seed), "float32")
    shape = z.shape[1:]
    # Restart r of image i is row r * n + i.
    all_targets = np.concatenate([targets] * restarts)
    all_labels = None if labels is None else np.concatenate([labels] * restarts)
    probe = np.asarray(model.decode(z[:1], None if labels is None else labels[:1]))
    if probe.shape[1:] != targets.shape[1:]:
        refuse_shape("invert", "images", targets.shape,
                     f"images of the model's shape (n,) + {probe.shape[1:]}")
    penalty = float(latent_penalty)
    axes = tuple(range(1, targets.ndim))
    latent_axes = tuple(range(1, z.ndim))

    def losses(latents, goal, classes):
        decoded = ops.cast(model.decode_tensor(latents, classes), "float32")
        loss = ops.mean(ops.square(decoded - goal), axis=axes)
        if penalty:
            loss = loss + penalty * ops.mean(ops.square(latents), axis=latent_axes)
        return loss

    def gradient(latents, goal, classes):
        return input_gradient(lambda v: losses(v, goal, classes), latents)

    gradient_fn = _compiled(gradient, model)
    loss_fn = _compiled(losses, model)
    goal = ops.convert_to_tensor(all_targets, "float32")
    classes = None if all_labels is None else ops.convert_to_tensor(all_labels, "int32")

    def loss_of(latents):
        return np.asarray(ops.convert_to_numpy(
            loss_fn(ops.convert_to_tensor(latents, "float32"), goal, classes)), "float64")

    # Adam (Kingma and Ba 2015), in numpy; the best latents seen are kept.
    beta1, beta2, epsilon = 0.9, 0.999, 1e-8
    m = np.zeros_like(z, dtype="float64")
    v = np.zeros_like(z, dtype="float64")
    best, best_loss = z.copy(), loss_of(z)
    check_every = max(1, steps // 20)
    rampdown = max(1, steps // 4)
    for step in range(1, steps + 1):
        remaining = steps - step + 1
        rate = learning_rate * (0.5 - 0.5 * np.cos(np.pi * min(1.0, remaining / rampdown)))
        g = np.asarray(ops.convert_to_numpy(
            gradient_fn(ops.convert_to_tensor(z, "float32"), goal, classes)), "float64")
        g = np.nan_to_num(g, nan=0.0, posinf=0.0, neginf=0.0)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        update = (m / (1 - beta1 ** step)) / (np.sqrt(v / (1 - beta2 ** step)) + epsilon)
        z = (z - rate * update).astype("float32")
        if step % check_every == 0 or step == steps:
            current = loss_of(z)
            better = current < best_loss
            best[better], best_loss[better] = z[better], current[better]
    best = best.reshape((restarts, n) + shape)
    pick = np.argmin(best_loss.reshape(restarts, n), axis=0)
    latents = best[pick, np.arange(n)]
    errors = reconstruction_errors(model, latents, targets, labels)
    return Inversion(latents=latents.astype("float32"), errors=errors)
