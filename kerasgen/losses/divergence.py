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
