"""Walks between latents, decoded: linear and spherical interpolation.

Written once against the latent interface (`sample_latents`, `decode`,
`encode` where a family provides it; see `kerasgen.models.interfaces`), so
the same call draws the path of a GAN, a VAE, a flow or StyleGAN2's W
(`model.w_space()`).

- `lerp` and `slerp` interpolate latent vectors; `slerp` follows the great
  circle between them (White, "Sampling Generative Networks", 2016), which
  keeps a walk between two draws of N(0, I) at the norm such draws have,
  where the straight line passes close to the origin, a region the
  generator hardly saw in training.
- `interpolate` decodes the path between latents; `crossfade` is the
  pixel-space blend of the two end images, the comparison that shows what
  the latent space adds (a walk through plausible images rather than a
  double exposure); `interpolation_rows` and `interpolation_grid` put the
  two together, and `save_gif` animates a path.
- `latents_from_seeds` and `encode_images` give the end points: the latents
  of seeds, or of images for a family that provides `encode` (VAEs,
  autoencoders, flows; the others through `kerasgen.latent.inversion`).
"""

import os

import numpy as np

from kerasgen.utils.arguments import is_count
from kerasgen.utils.arguments import refuse

#: The interpolation methods `interpolate` takes.
METHODS = ("slerp", "lerp")
# Below this sine of the angle between two vectors, slerp is lerp: the
# great circle is undefined for (anti)parallel vectors, and nearly so
# close to them.
_PARALLEL = 1e-7


def refuse_shape(owner, name, shape, expected):
    """The one-line `ValueError` for an array argument of the wrong shape:
    "owner: `name` must be <expected>. Received: name.shape=<shape>"."""
    raise ValueError(f"{owner}: `{name}` must be {expected}. "
                     f"Received: {name}.shape={tuple(shape)}")


def _check_t(owner, t):
    t = np.asarray(t, dtype="float64")
    if t.ndim > 1 or not np.all(np.isfinite(t)):
        refuse(owner, "t", t.tolist(), "a finite number or a 1-D sequence of them")
    return t


def _pair(owner, a, b):
    a = np.asarray(a, dtype="float64")
    b = np.asarray(b, dtype="float64")
    if a.shape != b.shape or a.ndim == 0:
        refuse_shape(owner, "b", b.shape, f"an array of the shape of `a`, {a.shape}")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError(f"{owner}: `a` and `b` must be finite. Received: an array "
                         "holding NaN or infinity")
    return a, b


def _weights(t, ndim):
    """`t` shaped to broadcast against `t.shape + (1,) * ndim`."""
    return t.reshape(t.shape + (1,) * ndim)


def lerp(a, b, t):
    """Linear interpolation `(1 - t) a + t b`.

    Args:
        a, b: arrays of the same shape (one latent, or a batch).
        t: float, or a 1-D sequence of them: the positions (0 gives `a`,
            1 gives `b`).

    Returns:
        float32 numpy: `a`'s shape for a number `t`, `(len(t),) + a.shape`
        for a sequence.

    Example:

    ```python
    lerp([0.0, 2.0], [2.0, 0.0], [0.0, 0.25, 1.0]).tolist()
    # [[0.0, 2.0], [0.5, 1.5], [2.0, 0.0]]
    ```
    """
    a, b = _pair("lerp", a, b)
    t = _check_t("lerp", t)
    w = _weights(t, a.ndim)
    return ((1.0 - w) * a + w * b).astype("float32")


def slerp(a, b, t):
    """Spherical linear interpolation along the last axis.

    `sin((1 - t) omega) / sin(omega) a + sin(t omega) / sin(omega) b`, where
    omega is the angle between `a` and `b`: for unit vectors every point is
    a unit vector on the great circle through them. Vectors that are
    parallel or antiparallel (the circle is undefined), or zero, are
    interpolated linearly (`lerp`). The end points are `a` and `b` exactly.

    Args:
        a, b: arrays of the same shape `(..., d)`: vectors along the last
            axis (one latent `(d,)`, or a batch `(n, d)`).
        t: float, or a 1-D sequence of them.

    Returns:
        float32 numpy: `a`'s shape for a number `t`, `(len(t),) + a.shape`
        for a sequence.

    Example:

    ```python
    import numpy as np
    halfway = slerp([1.0, 0.0], [0.0, 1.0], 0.5)
    halfway.tolist()  # [0.70710677, 0.70710677]
    float(np.linalg.norm(halfway))  # 1.0: lerp's halfway point has norm 0.71
    slerp([1.0, 1.0], [2.0, 2.0], 0.5).tolist()  # [1.5, 1.5], parallel: lerp
    ```
    """
    a, b = _pair("slerp", a, b)
    t = _check_t("slerp", t)
    norms = np.linalg.norm(a, axis=-1, keepdims=True) * np.linalg.norm(b, axis=-1,
                                                                        keepdims=True)
    cosine = np.clip(np.sum(a * b, axis=-1, keepdims=True) / np.where(norms > 0, norms, 1.0),
                     -1.0, 1.0)
    omega = np.arccos(cosine)
    sine = np.sin(omega)
    linear = (sine < _PARALLEL) | (norms == 0)
    safe = np.where(linear, 1.0, sine)
    w = _weights(t, a.ndim)
    spherical = (np.sin((1.0 - w) * omega) / safe) * a + (np.sin(w * omega) / safe) * b
    out = np.where(linear, (1.0 - w) * a + w * b, spherical)
    # The end points exactly, whatever the rounding of the sines.
    out = np.where(w == 0.0, a, np.where(w == 1.0, b, out))
    return out.astype("float32")


def _latent_shape(model):
    shape = getattr(model, "latent_shape", None)
    if shape is None:
        shape = (int(model.latent_dim),)
    return tuple(int(d) for d in shape)


def _as_latents(owner, name, model, latents):
    """`(latents (n,) + latent_shape float32, single)`: one latent is a
    batch of one, and `single` says so."""
    shape = _latent_shape(model)
    array = np.asarray(latents, dtype="float32")
    single = array.shape == shape
    if single:
        array = array[None]
    if array.shape[1:] != shape or len(array) == 0:
        refuse_shape(owner, name, np.shape(latents),
                     f"latents of shape {shape} or (n,) + {shape} with n >= 1")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{owner}: `{name}` must be finite. Received: latents "
                         "holding NaN or infinity")
    return array, single


def latent_path(start, end, steps=8, method="slerp"):
    """The latents of the walk from `start` to `end`: `steps` positions
    `t = 0, 1/(steps-1), ..., 1`, each latent flattened to a vector for
    `slerp`.

    Args:
        start, end: latents of the same shape, `(n,) + latent_shape`.
        steps: int >= 2. Defaults to 8.
        method: `"slerp"` or `"lerp"`. Defaults to `"slerp"`.

    Returns:
        float32 numpy `(n, steps) + latent_shape`; `[:, 0]` is `start` and
        `[:, -1]` is `end`, exactly.

    Example:

    ```python
    latent_path([[1.0, 0.0]], [[-1.0, 0.0]], steps=3, method="lerp").tolist()
    # [[[1.0, 0.0], [0.0, 0.0], [-1.0, 0.0]]]
    ```
    """
    if not is_count(steps, minimum=2):
        refuse("latent_path", "steps", steps, "an int >= 2 (the two end points included)")
    if method not in METHODS:
        refuse("latent_path", "method", method, f"one of {METHODS}")
    start = np.asarray(start, dtype="float32")
    end = np.asarray(end, dtype="float32")
    if start.shape != end.shape or start.ndim < 2:
        refuse_shape("latent_path", "end", end.shape,
                     f"latents (n, ...) of the shape of `start`, {start.shape}")
    t = np.linspace(0.0, 1.0, steps)
    n = len(start)
    a, b = start.reshape(n, -1), end.reshape(n, -1)
    walk = (slerp if method == "slerp" else lerp)(a, b, t)  # (steps, n, d)
    walk = np.swapaxes(walk, 0, 1).reshape((n, steps) + start.shape[1:])
    walk[:, 0], walk[:, -1] = start, end
    return walk


def _labels_for(model, labels, n):
    from kerasgen.models.interfaces import check_labels

    return check_labels(model, labels, n)


def interpolate(model, start, end, steps=8, method="slerp", labels=None):
    """The decoded walk between latents.

    Args:
        model: anything with the latent interface (`decode`, `latent_dim`).
        start, end: latents `latent_shape` (one walk) or `(n,) +
            latent_shape` (n walks), e.g. `latents_from_seeds(model, [1,
            2])` or `encode_images(model, images)`.
        steps: int >= 2. Frames per walk, the end points included.
            Defaults to 8.
        method: `"slerp"` (spherical) or `"lerp"` (linear). Defaults to
            `"slerp"`.
        labels: the class of each walk, for a conditional model (an int for
            all of them, or `(n,)` ints); None for an unconditional one
            (a conditional model then gives walk i the class `i * K // n`).

    Returns:
        float32 images in [-1, 1]: `(steps, H, W, C)` for one walk, `(n,
        steps, H, W, C)` for n. The first and last frames are
        `model.decode(start, labels)` and `model.decode(end, labels)`,
        exactly (the end points are decoded on their own).

    Example:

    ```python
    import kerasgen
    model = kerasgen.DCGAN(image_size=8, latent_dim=4, generator_filters=4,
                           discriminator_filters=4)
    z = latents_from_seeds(model, [1, 2])
    frames = interpolate(model, z[0], z[1], steps=5)
    frames.shape  # (5, 8, 8, 1)
    bool((frames[0] == model.decode(z[:1])[0]).all())  # True
    ```
    """
    if not is_count(steps, minimum=2):
        refuse("interpolate", "steps", steps, "an int >= 2 (the two end points included)")
    if method not in METHODS:
        refuse("interpolate", "method", method, f"one of {METHODS}")
    start, single = _as_latents("interpolate", "start", model, start)
    end, _ = _as_latents("interpolate", "end", model, end)
    if start.shape != end.shape:
        refuse_shape("interpolate", "end", end.shape,
                     f"as many latents as `start` ({len(start)})")
    n = len(start)
    labels = _labels_for(model, labels, n)
    walk = latent_path(start, end, steps, method)
    first = model.decode(start, labels)
    last = model.decode(end, labels)
    frames = np.empty((n, steps) + first.shape[1:], dtype="float32")
    frames[:, 0], frames[:, -1] = first, last
    if steps > 2:
        inner = walk[:, 1:-1].reshape((-1,) + walk.shape[2:])
        inner_labels = None if labels is None else np.repeat(labels, steps - 2)
        frames[:, 1:-1] = model.decode(inner, inner_labels).reshape(
            (n, steps - 2) + first.shape[1:])
    return frames[0] if single else frames


def crossfade(image_a, image_b, steps=8):
    """The pixel-space blend `(1 - t) a + t b` of two images (or two
    batches), `t = 0 .. 1` in `steps`: what an interpolation looks like
    without a latent space, a double exposure.

    Args:
        image_a, image_b: images `(H, W, C)` or batches `(n, H, W, C)` of
            the same shape, floats in [-1, 1] or uint8.
        steps: int >= 2. Defaults to 8.

    Returns:
        float32 in [-1, 1]: `(steps, H, W, C)` for two images, `(n, steps,
        H, W, C)` for two batches.

    Example:

    ```python
    import numpy as np
    fade = crossfade(-np.ones((4, 4, 1)), np.ones((4, 4, 1)), steps=3)
    fade.shape, fade[:, 0, 0, 0].tolist()  # ((3, 4, 4, 1), [-1.0, 0.0, 1.0])
    ```
    """
    if not is_count(steps, minimum=2):
        refuse("crossfade", "steps", steps, "an int >= 2 (the two end points included)")
    a, b = _unit_images(image_a), _unit_images(image_b)
    if a.shape != b.shape or a.ndim not in (3, 4):
        refuse_shape("crossfade", "image_b", b.shape,
                     f"images (H, W, C) or (n, H, W, C) of the shape of `image_a`, {a.shape}")
    fade = lerp(a, b, np.linspace(0.0, 1.0, steps))  # (steps,) + a.shape
    fade[0], fade[-1] = a, b
    return np.swapaxes(fade, 0, 1) if a.ndim == 4 else fade


def _unit_images(images):
    array = np.asarray(images)
    if array.dtype == np.uint8:
        return array.astype("float32") / np.float32(127.5) - np.float32(1.0)
    return array.astype("float32")


def interpolation_rows(model, start, end, steps=8, method="slerp", labels=None,
                       crossfades=1):
    """The rows of an interpolation figure: the `n` decoded walks, then the
    pixel crossfade between the end images of the first `crossfades` walks
    (the same end images, blended instead of walked).

    Args:
        model, start, end, steps, method, labels: see `interpolate`
            (`start` and `end` hold `n` latents).
        crossfades: int in [0, n]. How many crossfade rows. Defaults to 1.

    Returns:
        float32 `(n + crossfades, steps, H, W, C)` in [-1, 1].

    Example:

    ```python
    import kerasgen
    model = kerasgen.DCGAN(image_size=8, latent_dim=4, generator_filters=4,
                           discriminator_filters=4)
    rows = interpolation_rows(model, latents_from_seeds(model, [1, 2]),
                              latents_from_seeds(model, [3, 4]), steps=4)
    rows.shape  # (3, 4, 8, 8, 1): 2 walks, then 1 crossfade
    ```
    """
    walks = interpolate(model, start, end, steps, method, labels)
    if walks.ndim == 4:
        walks = walks[None]
    if not is_count(crossfades, minimum=0) or crossfades > len(walks):
        refuse("interpolation_rows", "crossfades", crossfades,
               f"an int in [0, {len(walks)}] (one per walk at most)")
    if not crossfades:
        return walks
    fades = crossfade(walks[:crossfades, 0], walks[:crossfades, -1], steps)
    return np.concatenate([walks, fades])


def interpolation_grid(model, start, end, steps=8, method="slerp", labels=None,
                       crossfades=1, min_size=512):
    """`interpolation_rows` as one captioned uint8 picture: the walks under
    a band naming the method, the crossfades under "pixel crossfade", each
    column headed by its `t`.

    Args:
        model, start, end, steps, method, labels, crossfades: see
            `interpolation_rows`.
        min_size: int. The long side to enlarge the picture to at least
            (`kerasgen.utils.images.upscale`). Defaults to 512.

    Returns:
        A uint8 array `(height, width, C)`, for `kerasgen.utils.images.save_png`.

    Example:

    ```python
    import kerasgen
    model = kerasgen.DCGAN(image_size=8, latent_dim=4, generator_filters=4,
                           discriminator_filters=4)
    z = latents_from_seeds(model, [1, 2])
    interpolation_grid(model, z[:1], z[1:], steps=4, min_size=64).dtype.name  # 'uint8'
    ```
    """
    from kerasgen.utils.images import make_strips

    rows = interpolation_rows(model, start, end, steps, method, labels, crossfades)
    walks = len(rows) - crossfades
    columns = [f"t={t:.2g}" for t in np.linspace(0.0, 1.0, steps)]
    groups = [(walks, f"{method} in latent space", columns)]
    if crossfades:
        groups.append((crossfades, "pixel crossfade", columns))
    return make_strips(rows, groups, min_size=min_size)


def latents_from_seeds(model, seeds):
    """One latent per seed, `model.sample_latents(1, seed)` each: the latent
    of seed s is the same whatever other seeds are asked with it (and is
    the first latent of `model.sample(n, seed=s)`).

    Args:
        model: anything with `sample_latents`.
        seeds: a sequence of ints.

    Returns:
        float32 numpy `(len(seeds),) + latent_shape`.

    Example:

    ```python
    import kerasgen
    model = kerasgen.DCGAN(image_size=8, latent_dim=4, generator_filters=4,
                           discriminator_filters=4)
    latents_from_seeds(model, [1, 2, 3]).shape  # (3, 4)
    ```
    """
    seeds = list(np.atleast_1d(np.asarray(seeds, dtype=object)))
    if not seeds or not all(is_count(s, minimum=0) for s in seeds):
        refuse("latents_from_seeds", "seeds", seeds, "a non-empty sequence of ints >= 0")
    return np.concatenate([np.asarray(model.sample_latents(1, seed=int(s)), "float32")
                           for s in seeds])


def encode_images(model, images, labels=None):
    """The latents of images, for a family that provides `encode` (a VAE's
    posterior mean, an autoencoder's code, a flow's z); others are refused
    in one line (find their latents with `kerasgen.latent.inversion.invert`).

    Args:
        model: a model that provides `encode`.
        images: `(n, H, W, C)` uint8, or floats in [-1, 1].
        labels: the images' classes, for a conditional encoder.

    Returns:
        float32 numpy `(n,) + latent_shape`.

    Example:

    ```python
    import numpy as np
    import kerasgen
    model = kerasgen.VAE(image_size=8, latent_dim=3)
    encode_images(model, np.zeros((2, 8, 8, 1), "uint8")).shape  # (2, 3)
    ```
    """
    from kerasgen.models.interfaces import require

    require(model, "encode", hint="Find its latents by gradient descent instead: "
            "kerasgen.latent.inversion.invert(model, images).")
    images = _unit_images(images)
    if labels is not None or getattr(model, "num_classes", 0):
        codes = model.encode(images, labels)
    else:
        codes = model.encode(images)
    if isinstance(codes, (tuple, list)):
        codes = codes[0]  # a posterior's (mean, log_var): its mean
    elif isinstance(codes, dict):
        codes = codes["mean"]
    return np.asarray(codes, dtype="float32")


def save_gif(frames, path, duration_ms=100, min_size=128, bounce=False, nrow=None):
    """Writes frames as a looping GIF (Pillow), atomically: to a temporary
    file in the same folder, then `os.replace`d over `path`.

    Args:
        frames: `(steps, H, W, C)` images (floats in [-1, 1] or uint8), one
            per GIF frame; or `(n, steps, H, W, C)`: n walks shown side by
            side, frame i the grid of every walk's frame i.
        path: str or `os.PathLike` ending in `.gif`.
        duration_ms: int >= 1. How long each frame shows. Defaults to 100.
        min_size: int. Enlarge the frames (nearest neighbour) until their
            long side is at least this. Defaults to 128.
        bounce: bool. Play the walk forward then back, so the loop has no
            jump. Defaults to False.
        nrow: int or None. Walks per row of a 5-D `frames`' grid. Defaults
            to a square-ish grid.

    Returns:
        `path`, as a string.

    Example:

    ```python
    import os, tempfile
    import numpy as np
    gif = os.path.join(tempfile.mkdtemp(), "walk.gif")
    os.path.basename(save_gif(np.zeros((3, 8, 8, 1)), gif, min_size=16))  # 'walk.gif'
    ```
    """
    from PIL import Image

    from kerasgen.utils.images import make_grid
    from kerasgen.utils.images import to_uint8
    from kerasgen.utils.images import upscale
    from kerasgen.utils.io import atomic_write

    path = os.fspath(path)
    if not path.lower().endswith(".gif"):
        refuse("save_gif", "path", path, "a file name ending in .gif")
    if not is_count(duration_ms, minimum=1):
        refuse("save_gif", "duration_ms", duration_ms, "an int >= 1")
    frames = np.asarray(frames)
    if frames.ndim == 5:
        frames = np.stack([make_grid(frames[:, i], nrow=nrow) for i in range(frames.shape[1])])
    if frames.ndim != 4 or frames.shape[-1] not in (1, 3) or len(frames) == 0:
        refuse_shape("save_gif", "frames", frames.shape,
                     "images (steps, H, W, C) or (n, steps, H, W, C) with C 1 or 3")
    pixels = [upscale(to_uint8(frame), min_size) for frame in frames]
    if bounce and len(pixels) > 2:
        pixels = pixels + pixels[-2:0:-1]
    pictures = [Image.fromarray(p[..., 0] if p.shape[-1] == 1 else p) for p in pixels]
    with atomic_write(path) as tmp:
        pictures[0].save(tmp, format="GIF", save_all=True, append_images=pictures[1:],
                         duration=int(duration_ms), loop=0)
    return path
