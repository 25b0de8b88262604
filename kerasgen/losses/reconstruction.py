"""Reconstruction negative log-likelihoods for images in [-1, 1]."""

from keras import ops


def _per_example_sum(x):
    return ops.sum(ops.reshape(x, (ops.shape(x)[0], -1)), axis=-1)


def bernoulli_nll(images, logits):
    """-log p(x | logits) for pixels read as Bernoulli probabilities.

    Pixels in [-1, 1] are mapped to [0, 1] targets; the sum runs over all
    pixels (the likelihood of the whole image, as in Kingma and Welling 2014).

    Args:
        images: tensor `(batch, H, W, C)` in [-1, 1].
        logits: tensor of the same shape, the decoder's logits.

    Returns:
        A tensor `(batch,)`.

    Example:

    ```python
    import numpy as np
    bernoulli_nll(np.ones((1, 2, 2, 1)), np.full((1, 2, 2, 1), 20.0))  # ~[0.]
    ```
    """
    targets = (ops.cast(images, "float32") + 1.0) / 2.0
    logits = ops.cast(logits, "float32")
    # Binary cross-entropy on logits, stable form.
    bce = ops.relu(logits) - logits * targets + ops.softplus(-ops.abs(logits))
    return _per_example_sum(bce)


def gaussian_nll(images, means):
    """-log p(x | means) up to a constant, unit variance: 1/2 * sum (x - mean)^2.

    Args:
        images: tensor `(batch, H, W, C)`.
        means: tensor of the same shape.

    Returns:
        A tensor `(batch,)`.

    Example:

    ```python
    import numpy as np
    gaussian_nll(np.ones((1, 2, 2, 1)), np.zeros((1, 2, 2, 1)))  # [2.]
    ```
    """
    diff = ops.cast(images, "float32") - ops.cast(means, "float32")
    return 0.5 * _per_example_sum(ops.square(diff))


def mean_absolute_error(images, targets):
    """The L1 distance `mean |images - targets|`, averaged over every pixel
    and the batch: pix2pix's L1 term and CycleGAN's cycle and identity
    losses (the authors' `nn.L1Loss()`).

    Example:

    ```python
    import numpy as np
    float(mean_absolute_error(np.ones((1, 2, 2, 1)), np.zeros((1, 2, 2, 1))))  # 1.0
    ```
    """
    diff = ops.cast(images, "float32") - ops.cast(targets, "float32")
    return ops.mean(ops.abs(diff))
