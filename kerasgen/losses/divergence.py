"""Divergences between distributions."""

from keras import ops


def gaussian_kl(mean, log_var):
    """KL(N(mean, exp(log_var)) || N(0, I)), summed over latent dimensions.

    Kingma and Welling 2014, appendix B:
    `-KL = 1/2 * sum(1 + log_var - mean^2 - exp(log_var))`.

    Args:
        mean: tensor `(batch, latent_dim)`.
        log_var: tensor `(batch, latent_dim)`, log of the variance.

    Returns:
        A tensor `(batch,)`.

    Example:

    ```python
    import numpy as np
    gaussian_kl(np.zeros((1, 2)), np.zeros((1, 2)))  # [0.]
    ```
    """
    mean = ops.cast(mean, "float32")
    log_var = ops.cast(log_var, "float32")
    return 0.5 * ops.sum(ops.exp(log_var) + ops.square(mean) - 1.0 - log_var, axis=-1)


def inverse_multiquadratic_kernel(x, y, scale):
    """k(x, y) = C / (C + ||x - y||^2), `(n, m)` for points `x (n, d)` and
    `y (m, d)`: the heavy-tailed kernel of WAE-MMD (Tolstikhin et al. 2018,
    section 4), which keeps a gradient for points far apart.

    Example:

    ```python
    import numpy as np
    inverse_multiquadratic_kernel(np.zeros((1, 2)), np.ones((1, 2)), 2.0)  # [[0.5]]
    ```
    """
    x = ops.cast(x, "float32")
    y = ops.cast(y, "float32")
    squared = (ops.sum(x ** 2, axis=1)[:, None] - 2.0 * ops.matmul(x, ops.transpose(y))
               + ops.sum(y ** 2, axis=1)[None, :])
    return scale / (scale + ops.maximum(squared, 0.0))


#: The kernel widths WAE-MMD sums over, as multiples of 2 * d * sigma^2
#: (the authors' code for the paper).
MMD_SCALES = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)


def maximum_mean_discrepancy(x, y, prior_variance=1.0, scales=MMD_SCALES):
    """The unbiased estimate of MMD^2 between samples `x (n, d)` and `y
    (n, d)` (Gretton et al. 2012, eq. 3) under the inverse multiquadratic
    kernel, summed over widths C = s * 2 * d * prior_variance for s in
    `scales`. Near 0 (it can be slightly negative) when both come from one
    distribution.

    Example:

    ```python
    import numpy as np
    rng = np.random.default_rng(0)
    same = maximum_mean_discrepancy(rng.normal(size=(200, 2)), rng.normal(size=(200, 2)))
    apart = maximum_mean_discrepancy(rng.normal(size=(200, 2)), rng.normal(3, 1, (200, 2)))
    bool(abs(float(same)) < 0.05 < float(apart))  # True
    ```
    """
    x = ops.cast(x, "float32")
    y = ops.cast(y, "float32")
    n = ops.cast(ops.shape(x)[0], "float32")
    dim = ops.cast(ops.shape(x)[1], "float32")
    off_diagonal = 1.0 - ops.eye(ops.shape(x)[0], dtype="float32")
    total = 0.0
    for s in scales:
        c = s * 2.0 * dim * prior_variance
        within_x = ops.sum(inverse_multiquadratic_kernel(x, x, c) * off_diagonal)
        within_y = ops.sum(inverse_multiquadratic_kernel(y, y, c) * off_diagonal)
        across = ops.sum(inverse_multiquadratic_kernel(x, y, c))
        total = total + (within_x + within_y) / (n * (n - 1.0)) - 2.0 * across / (n * n)
    return total
