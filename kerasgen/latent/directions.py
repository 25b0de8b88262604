"""Interpretable directions in a latent space, found without labels.

- **GANSpace** (Härkönen et al. 2020, https://arxiv.org/abs/2004.02546):
  the principal components of what the generator computes from random
  latents. In StyleGAN's W they are the principal components of sampled
  w themselves (section 2.1: `pca_directions(model.w_space())`); for a
  generator with an isotropic N(0, I) input (DCGAN, BigGAN) PCA of z is
  meaningless, so the paper takes PCA of an early layer's activations y
  and carries it back to z by regression (section 2.2, for BigGAN): with
  the PCA coordinates `x_i = V^T (y_i - mu)` of samples `z_i`, the basis
  `U = argmin_U sum_i ||U x_i - z_i||^2` (a least-squares fit of the
  latents on the coordinates) has one latent direction per component
  (`pca_directions(model, layer="project")`), orthonormalized here in
  order (Gram-Schmidt: the first direction keeps its line, the next are
  made orthogonal to those before).
- **SeFa** (Shen & Zhou 2021, https://arxiv.org/abs/2007.06600): closed
  form, from the weights alone. The first linear layer acting on the latent,
  `y = A z`, changes most along the top eigenvectors of `A^T A` (eq. 4-5),
  so those are the directions, ordered by eigenvalue
  (`sefa_directions(model)`).
- `walk` decodes a strip of images along each direction, one row each.

Directions are unit vectors in the model's latent space (rows of a
`(k, latent_dim)` array), each with the sign that makes its largest
component positive (PCA and eigenvectors fix a line, not a sign).
"""

import numpy as np

from kerasgen.utils.arguments import is_count
from kerasgen.utils.arguments import refuse


def _check_k(owner, model, k):
    dim = int(model.latent_dim)
    if not is_count(k, minimum=1) or k > dim:
        refuse(owner, "k", k, f"an int in [1, latent_dim = {dim}]")
    return dim


def _orient(vectors):
    """Rows flipped so that the largest-magnitude entry of each is positive."""
    vectors = np.array(vectors, dtype="float64")
    if vectors.size:
        peaks = vectors[np.arange(len(vectors)), np.abs(vectors).argmax(axis=1)]
        vectors *= np.where(peaks < 0, -1.0, 1.0)[:, None]
    return vectors


def principal_components(data, k):
    """The top `k` principal components of the rows of `data`.

    Exact (a symmetric eigendecomposition in float64, of the covariance or
    of the Gram matrix, whichever is smaller).

    Args:
        data: `(n, d)` samples.
        k: int. How many components, at most `min(n - 1, d)`.

    Returns:
        `(components, variances, ratios, mean)`: unit rows `(k, d)` ordered
        by variance, the variance along each `(k,)`, its share of the total
        variance `(k,)` and the mean `(d,)`.

    Example:

    ```python
    import numpy as np
    data = np.random.default_rng(0).normal(size=(500, 3)) * [1.0, 5.0, 0.1]
    components, variances, ratios, mean = principal_components(data, 2)
    np.round(np.abs(components), 1).tolist()  # [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]
    ```
    """
    data = np.asarray(data, dtype="float64")
    n, d = data.shape
    if not is_count(k, minimum=1) or k > min(n - 1, d):
        refuse("principal_components", "k", k, f"an int in [1, min(n - 1, d) = {min(n - 1, d)}]")
    mean = data.mean(axis=0)
    centred = data - mean
    total = float(np.sum(centred ** 2)) / (n - 1)
    if d <= n:
        values, vectors = np.linalg.eigh(centred.T @ centred / (n - 1))
        order = np.argsort(values)[::-1][:k]
        values, components = values[order], vectors[:, order].T
    else:
        values, vectors = np.linalg.eigh(centred @ centred.T / (n - 1))
        order = np.argsort(values)[::-1][:k]
        values = values[order]
        components = (centred.T @ vectors[:, order]).T
        components /= np.maximum(np.linalg.norm(components, axis=1, keepdims=True), 1e-30)
    values = np.maximum(values, 0.0)
    return _orient(components), values, values / max(total, 1e-30), mean


def pca_directions(model, k=10, n=2000, seed=0, layer=None, labels=None, batch_size=256):
    """GANSpace directions: principal components, ordered by explained
    variance, as orthonormal directions in the model's latent space.

    With `layer=None`, PCA of `n` sampled latents: GANSpace's own method in
    StyleGAN2's W (`model.w_space()`); of an N(0, I) latent it finds only
    sampling noise. With a layer of a functional generator (an index or a
    name, see `kerasgen.latent.dissection.generator_layers`; e.g. the DCGAN's
    dense `"project"`), PCA of that layer's activations, each component
    carried to latent space by least-squares regression of the latents on
    the PCA coordinates, then orthonormalized in order.

    Args:
        model: a model with the latent interface (`sample_latents`,
            `decode`), e.g. a DCGAN or `StyleGAN2.w_space()`.
        k: int. How many directions, at most `latent_dim`. Defaults to 10.
        n: int. Samples to take the PCA of. Defaults to 2000.
        seed: int. Seed of the sampled latents. Defaults to 0.
        layer: str, int or None. The generator layer, or None for the
            latents themselves. Defaults to None.
        labels: labels of a conditional model (see `check_labels`), or
            None.
        batch_size: int. Defaults to 256.

    Returns:
        `(directions, ratios)`: float32 `(k, latent_dim)` orthonormal rows,
        and the share of the variance (of the latents, or of the layer's
        activations) each component explains, float64 `(k,)`, decreasing.

    Example:

    ```python
    import kerasgen
    model = kerasgen.DCGAN(image_size=8, latent_dim=4, generator_filters=4)
    directions, ratios = pca_directions(model, k=3, n=64, layer="project")
    directions.shape, bool(ratios[0] >= ratios[1] >= ratios[2])  # ((3, 4), True)
    ```
    """
    _check_k("pca_directions", model, k)
    if not is_count(n, minimum=k + 1):
        refuse("pca_directions", "n", n, f"an int > k = {k}")
    latents = np.asarray(model.sample_latents(n, seed), dtype="float64")
    if layer is None:
        components, _, ratios, _ = principal_components(latents, k)
        return components.astype("float32"), ratios
    from kerasgen.latent.dissection import split_generator

    split = split_generator(model, layer)
    activations = split.activations(latents.astype("float32"), labels, batch_size)
    activations = activations.reshape(n, -1).astype("float64")
    if k > min(n - 1, activations.shape[1]):
        refuse("pca_directions", "k", k, f"at most {min(n - 1, activations.shape[1])} "
               f"(the samples less one, and the size of layer {split.layer})")
    components, _, ratios, mean = principal_components(activations, k)
    coordinates = (activations - mean) @ components.T  # (n, k)
    # GANSpace section 2.2: U = argmin sum_i ||U x_i - z_i||^2; row j of
    # `basis` is the latent direction of component j.
    basis = np.linalg.lstsq(coordinates, latents - latents.mean(axis=0), rcond=None)[0]
    q, r = np.linalg.qr(basis.T)  # Gram-Schmidt on the rows, in order
    directions = q.T * np.where(np.diag(r) < 0, -1.0, 1.0)[:, None]
    return directions.astype("float32"), ratios


# --- SeFa -------------------------------------------------------------------------


def _sublayers(layer):
    import keras

    if isinstance(layer, keras.Model):
        return list(layer.layers)
    # A plain layer's own sublayers (a modulated convolution's style affine).
    return list(getattr(layer, "_layers", ()))


def _walk_layers(roots):
    seen = set()
    stack = list(reversed(roots))
    while stack:
        layer = stack.pop()
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        yield layer
        stack.extend(reversed(_sublayers(layer)))


def latent_linear_layer(model):
    """The first linear layer acting on the latent: the first layer (in
    order, nested layers included) whose `kernel` is `(latent_dim, m)` -
    the DCGAN's dense `project`; in StyleGAN2's W (`model.w_space()`) the
    first synthesis layer's style affine. Refused in one line where there
    is none.

    Example:

    ```python
    import kerasgen
    model = kerasgen.DCGAN(image_size=8, latent_dim=4, generator_filters=4)
    latent_linear_layer(model).name  # 'project'
    ```
    """
    from kerasgen.latent.dissection import generator_network
    from kerasgen.models.stylegan2 import WSpace

    dim = int(model.latent_dim)
    if isinstance(model, WSpace):
        generator = model.model.sampling_network("generator")
        roots = list(generator.convs) + list(generator.to_rgb)
    else:
        roots = [generator_network(model)]
    for layer in _walk_layers(roots):
        kernel = getattr(layer, "kernel", None)
        shape = tuple(getattr(kernel, "shape", ()))
        if len(shape) == 2 and int(shape[0]) == dim:
            return layer
    raise ValueError(
        f"{type(model).__name__}'s generator has no linear layer acting on the latent "
        f"alone (a kernel of shape ({dim}, m)), which SeFa needs. "
        f"Received: model={type(model).__name__}")


def sefa_directions(model, k=10):
    """SeFa directions: the top eigenvectors of `A^T A`, where `A` is the
    kernel of the first linear layer acting on the latent
    (`latent_linear_layer`; Shen & Zhou 2021, eq. 5), ordered by eigenvalue.

    Args:
        model: a model with the latent interface whose generator starts
            with a linear layer on the latent (DCGAN, WGAN-GP, ProGAN's
            dense start, StyleGAN2's W).
        k: int. How many directions, at most `latent_dim`. Defaults to 10.

    Returns:
        `(directions, eigenvalues)`: float32 `(k, latent_dim)` orthonormal
        rows and their eigenvalues of `A^T A`, float64 `(k,)`, decreasing.

    Example:

    ```python
    import kerasgen
    model = kerasgen.DCGAN(image_size=8, latent_dim=4, generator_filters=4)
    directions, eigenvalues = sefa_directions(model, k=2)
    directions.shape, bool(eigenvalues[0] >= eigenvalues[1])  # ((2, 4), True)
    ```
    """
    from keras import ops

    _check_k("sefa_directions", model, k)
    layer = latent_linear_layer(model)
    # Keras computes y = z @ kernel, so A = kernel^T and A^T A = kernel kernel^T.
    kernel = np.asarray(ops.convert_to_numpy(layer.kernel), dtype="float64")
    values, vectors = np.linalg.eigh(kernel @ kernel.T)
    order = np.argsort(values)[::-1][:k]
    return _orient(vectors[:, order].T).astype("float32"), values[order]


# --- Walking ----------------------------------------------------------------------


def walk(model, directions, seed=0, steps=7, scale=3.0, k=None, label=None):
    """Strips of images moving along each direction from one sample.

    Row j decodes `z + t * scale_j * d_j` for `t` evenly spaced in
    [-1, 1] (`steps` of them; with an odd count the middle column is the
    sample itself), where `z` is the latent of `seed`.

    Args:
        model: a model with the latent interface.
        directions: `(m, latent_dim)` directions (unit rows, e.g. from
            `pca_directions`).
        seed: int. Seed of the starting latent. Defaults to 0.
        steps: int. Images per row. Defaults to 7.
        scale: float, or one per direction: how far the ends are from the
            sample, in latent units. Defaults to 3.0.
        k: int or None. Walk the first `k` directions only (None: all).
        label: int or None. The class of a conditional model (None: 0).

    Returns:
        float32 numpy `(k, steps, H, W, C)` in [-1, 1]: rows are directions.

    Example:

    ```python
    import kerasgen
    model = kerasgen.DCGAN(image_size=8, latent_dim=4, generator_filters=4)
    directions, _ = sefa_directions(model, k=3)
    walk(model, directions, steps=5, k=2).shape  # (2, 5, 8, 8, 1)
    ```
    """
    dim = int(model.latent_dim)
    directions = np.asarray(directions, dtype="float64")
    if directions.ndim != 2 or directions.shape[1] != dim or len(directions) == 0:
        refuse("walk", "directions", f"an array of shape {directions.shape}",
               f"an array (k, latent_dim = {dim})")
    if k is not None:
        if not is_count(k, minimum=1) or k > len(directions):
            refuse("walk", "k", k, f"None or an int in [1, {len(directions)}]")
        directions = directions[:k]
    if not is_count(steps, minimum=2):
        refuse("walk", "steps", steps, "an int >= 2")
    scale = np.asarray(scale, dtype="float64")
    if scale.ndim > 1 or (scale.ndim == 1 and len(scale) < len(directions)) \
            or not np.all(np.isfinite(scale)):
        refuse("walk", "scale", scale.tolist(),
               "a finite float, or one per direction")
    scale = np.broadcast_to(scale if scale.ndim == 0 else scale[:len(directions)],
                            (len(directions),))
    start = np.asarray(model.sample_latents(1, seed), dtype="float64")[0]
    t = np.linspace(-1.0, 1.0, steps)
    latents = (start[None, None, :]
               + t[None, :, None] * scale[:, None, None] * directions[:, None, :])
    n = latents.shape[0] * steps
    labels = None
    if int(getattr(model, "num_classes", 0) or 0):
        labels = np.full((n,), 0 if label is None else label)
    elif label is not None:
        refuse("walk", "label", label, f"None: {type(model).__name__} is unconditional")
    images = model.decode(latents.reshape(n, dim).astype("float32"), labels)
    return images.reshape((len(directions), steps) + images.shape[1:])
