"""Translation metrics: paired (L1, PSNR, SSIM against ground truth) and
unpaired (the share a domain classifier assigns to the target domain).

Images are numpy arrays `(N, H, W, C)` in any range; everything is computed
in float64. This module imports only numpy.
"""

import numpy as np

#: The SSIM window of `tf.image.ssim` (and Wang et al. 2004).
SSIM_FILTER_SIZE = 11
SSIM_FILTER_SIGMA = 1.5


def _pair(predictions, targets, images=True):
    predictions = np.asarray(predictions, dtype="float64")
    targets = np.asarray(targets, dtype="float64")
    if predictions.shape != targets.shape:
        raise ValueError(
            "predictions and targets must have the same shape. Received: "
            f"predictions.shape={predictions.shape}, targets.shape={targets.shape}"
        )
    if images and predictions.ndim != 4:
        raise ValueError(
            "predictions and targets must be batches of images (N, H, W, C). "
            f"Received: shape={predictions.shape}"
        )
    return predictions, targets


def _max_value(max_value):
    max_value = float(max_value)
    if not max_value > 0:
        raise ValueError(
            "max_value is the images' dynamic range (maximum minus minimum, "
            f"e.g. 2.0 for images in [-1, 1]) and must be positive. Received: {max_value}"
        )
    return max_value


def mean_absolute_error(predictions, targets):
    """The mean absolute difference (L1) between translations and targets.

    A plain `mean(|predictions - targets|)` over every element, in the
    images' own units (so the same images scaled from [0, 1] to [-1, 1]
    give twice the value).

    Args:
        predictions: array. Translated images, any shape.
        targets: array of the same shape. Ground-truth images.

    Returns:
        A Python float.

    Reference:
        Isola et al. 2017 (pix2pix), https://arxiv.org/abs/1611.07004

    Example:

    ```python
    import numpy as np
    mean_absolute_error(np.zeros((2, 4, 4, 3)), np.full((2, 4, 4, 3), 0.5))  # 0.5
    ```
    """
    predictions, targets = _pair(predictions, targets, images=False)
    return float(np.mean(np.abs(predictions - targets)))


def psnr(predictions, targets, max_value):
    """The peak signal-to-noise ratio in dB, averaged over images.

    Per image, `10 log10(max_value^2 / mse)` with the mean squared error
    over its pixels and channels, as `tf.image.psnr`; then the mean over
    the batch. An exact copy has an mse of 0 and a PSNR of `inf`, so the
    mean is `inf` as soon as one image is reproduced exactly.

    Args:
        predictions: array `(N, H, W, C)`. Translated images.
        targets: array `(N, H, W, C)`. Ground-truth images.
        max_value: float. The dynamic range of the images (maximum minus
            minimum): 1.0 for [0, 1], 2.0 for [-1, 1], 255.0 for [0, 255].

    Returns:
        A Python float (`inf` when some image is an exact copy).

    Reference:
        https://en.wikipedia.org/wiki/Peak_signal-to-noise_ratio

    Example:

    ```python
    import numpy as np
    psnr(np.zeros((1, 4, 4, 1)), np.full((1, 4, 4, 1), 0.1), max_value=1.0)  # 20.0
    ```
    """
    predictions, targets = _pair(predictions, targets)
    max_value = _max_value(max_value)
    mse = np.mean((predictions - targets) ** 2, axis=(1, 2, 3))
    with np.errstate(divide="ignore"):
        values = 10.0 * np.log10(max_value ** 2 / mse)
    return float(np.mean(values))


def _gaussian_window(size=SSIM_FILTER_SIZE, sigma=SSIM_FILTER_SIGMA):
    # tf.image.ssim's window is the softmax of -(i^2 + j^2) / (2 sigma^2)
    # over the size x size grid: the outer product of this normalized 1-D
    # Gaussian with itself.
    coords = np.arange(size, dtype="float64") - (size - 1) / 2.0
    g = np.exp(-0.5 * coords ** 2 / sigma ** 2)
    return g / g.sum()


def _filter_valid(x, window):
    """Separable 'VALID' filtering of `(N, H, W, C)` over H, then W."""
    size = window.shape[0]
    h, w = x.shape[1] - size + 1, x.shape[2] - size + 1
    rows = sum(window[i] * x[:, i:i + h] for i in range(size))
    return sum(window[j] * rows[:, :, j:j + w] for j in range(size))


def ssim(predictions, targets, max_value):
    """The structural similarity (SSIM), averaged over images, as
    `tf.image.ssim` computes it.

    The local means, variances and covariance come from an 11x11 Gaussian
    window (sigma 1.5) applied with 'VALID' filtering (no padding), with
    `K1 = 0.01`, `K2 = 0.03`; the SSIM map is averaged over pixels per
    channel, then over channels, then over the batch. The numbers match
    TensorFlow's (which computes in float32) to about 1e-6.

    Args:
        predictions: array `(N, H, W, C)`, H and W at least 11. Translated
            images.
        targets: array `(N, H, W, C)`. Ground-truth images.
        max_value: float. The dynamic range of the images (maximum minus
            minimum): 1.0 for [0, 1], 2.0 for [-1, 1], 255.0 for [0, 255].

    Returns:
        A Python float, at most 1 (1 for identical images).

    Reference:
        Wang et al. 2004, https://doi.org/10.1109/TIP.2003.819861

    Example:

    ```python
    import numpy as np
    x = np.random.default_rng(0).uniform(size=(2, 16, 16, 3))
    ssim(x, x, max_value=1.0)  # 1.0
    ```
    """
    predictions, targets = _pair(predictions, targets)
    max_value = _max_value(max_value)
    size = SSIM_FILTER_SIZE
    if predictions.shape[1] < size or predictions.shape[2] < size:
        raise ValueError(
            f"ssim needs images of at least {size}x{size} pixels (its Gaussian "
            f"window). Received: shape={predictions.shape}"
        )
    window = _gaussian_window()
    c1 = (0.01 * max_value) ** 2
    c2 = (0.03 * max_value) ** 2
    x, y = predictions, targets
    mean_x = _filter_valid(x, window)
    mean_y = _filter_valid(y, window)
    # The same arrangement of terms as tf.image.ssim's _ssim_helper.
    num0 = mean_x * mean_y * 2.0
    den0 = mean_x ** 2 + mean_y ** 2
    luminance = (num0 + c1) / (den0 + c1)
    num1 = _filter_valid(x * y, window) * 2.0
    den1 = _filter_valid(x ** 2 + y ** 2, window)
    cs = (num1 - num0 + c2) / (den1 - den0 + c2)
    per_channel = np.mean(luminance * cs, axis=(1, 2))
    return float(np.mean(per_channel))


def target_domain_share(probabilities, threshold=0.5):
    """The share of translations a domain classifier puts in the target
    domain.

    The unpaired analogue of the FCN score of the CycleGAN paper: a
    classifier trained to tell the two domains apart gives p(target) for
    each translated image, and the score is the share above `threshold`
    (strictly, as `keras.metrics.BinaryAccuracy` thresholds). Real target
    images give the classifier's own accuracy on that domain, the ceiling.

    Args:
        probabilities: array `(N,)` or `(N, 1)`. The classifier's p(target
            domain) for each translated image, in [0, 1].
        threshold: float. The probability above which an image counts as
            the target domain. Defaults to 0.5.

    Returns:
        A Python float in [0, 1].

    Reference:
        Zhu et al. 2017 (CycleGAN), https://arxiv.org/abs/1703.10593

    Example:

    ```python
    import numpy as np
    target_domain_share(np.array([0.9, 0.2, 0.7, 0.5]))  # 0.5
    ```
    """
    p = np.asarray(probabilities, dtype="float64")
    if p.ndim == 2 and p.shape[1] == 1:
        p = p[:, 0]
    if p.ndim != 1 or p.shape[0] == 0:
        raise ValueError(
            "probabilities must be a non-empty vector (N,) or (N, 1) of "
            f"p(target domain). Received: shape={p.shape}"
        )
    if not np.all((p >= 0) & (p <= 1)):
        raise ValueError("probabilities must lie in [0, 1] (pass probabilities, not logits).")
    return float(np.mean(p > threshold))
