"""Sample-quality metrics on feature arrays: FID, KID, Inception Score,
precision and recall, density and coverage.

Every function takes numpy arrays `(n, d)` (features of n samples from some
extractor, or class probabilities for the Inception Score) and computes in
float64. The numerics follow the reference implementations named in each
docstring, so numbers are comparable with published ones computed on the
same features. This module imports only numpy and scipy.
"""

import warnings

import numpy as np
import scipy
from scipy import linalg
from scipy import special

_SCIPY_VERSION = tuple(int(part) for part in scipy.__version__.split(".")[:2])


def _sqrtm(matrix):
    """scipy's matrix square root (Schur method), without the `disp` API.

    scipy < 1.16 prints a message when `disp=True` (the default) and returns
    `(sqrt, error)` with `disp=False`; 1.16 deprecated `disp` and later
    versions remove it. Either way the square root itself is what
    pytorch-fid gets from `sqrtm(..., disp=False)[0]`: NaN where no root was
    found, which the caller checks.
    """
    if _SCIPY_VERSION < (1, 16):
        return linalg.sqrtm(matrix, disp=False)[0]
    # `disp=False` was silent; newer scipy warns on a singular matrix
    # instead, where the caller's finiteness check already decides.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        return linalg.sqrtm(matrix)


def _features(x, name, min_rows=1):
    x = np.asarray(x, dtype="float64")
    if x.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array (samples, features). "
            f"Received: {name}.shape={x.shape}"
        )
    if x.shape[0] < min_rows:
        raise ValueError(
            f"{name} needs at least {min_rows} samples. Received: {name}.shape={x.shape}"
        )
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} contains NaN or infinite values.")
    return x


def _same_dimension(x, y, names=("features_1", "features_2")):
    if x.shape[1] != y.shape[1]:
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same number of features; "
            f"received d={x.shape[1]} and d={y.shape[1]}."
        )


def feature_statistics(features):
    """The mean and covariance of a feature set, as pytorch-fid computes them.

    The covariance is the unbiased one (`np.cov(features, rowvar=False)`,
    normalized by n - 1), in float64.

    Args:
        features: array `(n, d)`. One feature vector per sample.

    Returns:
        A tuple `(mean, covariance)`: float64 arrays `(d,)` and `(d, d)`.

    Reference:
        Heusel et al. 2017, https://arxiv.org/abs/1706.08500

    Example:

    ```python
    import numpy as np
    mean, covariance = feature_statistics(np.array([[0.0, 1.0], [2.0, 3.0]]))
    mean  # [1.0, 2.0]
    covariance  # [[2.0, 2.0], [2.0, 2.0]]
    ```
    """
    features = _features(features, "features", min_rows=2)
    return features.mean(axis=0), np.cov(features, rowvar=False)


def frechet_distance(mean_1, cov_1, mean_2, cov_2, eps=1e-6):
    """The Fréchet distance between two Gaussians (the FID on their moments).

    `||mean_1 - mean_2||^2 + Tr(cov_1 + cov_2 - 2 sqrt(cov_1 cov_2))`, with
    the numerics of pytorch-fid's `calculate_frechet_distance`: the square
    root is scipy's `sqrtm` of `cov_1 @ cov_2`; only if it is not finite is
    `eps * I` added to both covariances for a second try (the trace terms
    keep the covariances as given); a complex root whose diagonal has an
    imaginary part above 1e-3 is an error, otherwise its real part is used.

    Args:
        mean_1: array `(d,)`. Mean of the first set's features.
        cov_1: array `(d, d)`. Covariance of the first set's features.
        mean_2: array `(d,)`. Mean of the second set's features.
        cov_2: array `(d, d)`. Covariance of the second set's features.
        eps: float. The offset added to the covariances' diagonals when the
            square root of their product is not finite. Defaults to 1e-6.

    Returns:
        The distance, a Python float (0 for identical moments, up to float
        error, which can make it slightly negative).

    Raises:
        ValueError: the shapes do not match, or the square root has a large
            imaginary component (the covariances are far from positive
            semi-definite, or numerically singular).

    Reference:
        Heusel et al. 2017, https://arxiv.org/abs/1706.08500;
        code: https://github.com/mseitzer/pytorch-fid

    Example:

    ```python
    import numpy as np
    frechet_distance(np.zeros(2), np.eye(2), np.ones(2), 4 * np.eye(2))  # 4.0
    ```
    """
    mean_1 = np.atleast_1d(np.asarray(mean_1, dtype="float64"))
    mean_2 = np.atleast_1d(np.asarray(mean_2, dtype="float64"))
    cov_1 = np.atleast_2d(np.asarray(cov_1, dtype="float64"))
    cov_2 = np.atleast_2d(np.asarray(cov_2, dtype="float64"))
    if mean_1.shape != mean_2.shape or mean_1.ndim != 1:
        raise ValueError(
            "mean_1 and mean_2 must be vectors of the same length. "
            f"Received: mean_1.shape={mean_1.shape}, mean_2.shape={mean_2.shape}"
        )
    d = mean_1.shape[0]
    if cov_1.shape != (d, d) or cov_2.shape != (d, d):
        raise ValueError(
            f"cov_1 and cov_2 must be ({d}, {d}) matrices, as the means have "
            f"{d} entries. Received: cov_1.shape={cov_1.shape}, cov_2.shape={cov_2.shape}"
        )
    diff = mean_1 - mean_2
    covmean = _sqrtm(cov_1.dot(cov_2))
    if not np.isfinite(covmean).all():
        offset = np.eye(d) * eps
        covmean = _sqrtm((cov_1 + offset).dot(cov_2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            largest = np.max(np.abs(covmean.imag))
            raise ValueError(
                f"Imaginary component {largest} in the square root of "
                "cov_1 @ cov_2; the covariances are not positive semi-definite "
                "or are numerically singular."
            )
        covmean = covmean.real
    return float(diff.dot(diff) + np.trace(cov_1) + np.trace(cov_2)
                 - 2 * np.trace(covmean))


def frechet_distance_from_features(features_1, features_2):
    """The Fréchet distance (FID) between two feature sets.

    `frechet_distance` on the moments `feature_statistics` gives. With
    Inception-v3 pool features (d = 2048) this is the FID; the estimate is
    biased upwards for small sets, so compare numbers only at the same
    sample count (50,000 is customary).

    Args:
        features_1: array `(n_1, d)`. Features of the first set.
        features_2: array `(n_2, d)`. Features of the second set.

    Returns:
        The distance, a Python float.

    Raises:
        ValueError: the sets have different feature dimensions, or either
            has no more samples than dimensions (its covariance, of rank at
            most n - 1, would be singular).

    Reference:
        Heusel et al. 2017, https://arxiv.org/abs/1706.08500

    Example:

    ```python
    import numpy as np
    features = np.random.default_rng(0).normal(size=(100, 4))
    round(frechet_distance_from_features(features, features + 1.0), 6)  # 4.0
    ```
    """
    features_1 = _features(features_1, "features_1")
    features_2 = _features(features_2, "features_2")
    _same_dimension(features_1, features_2)
    for name, x in (("features_1", features_1), ("features_2", features_2)):
        n, d = x.shape
        if n <= d:
            raise ValueError(
                f"{name} has n={n} samples of d={d} features, fewer than the "
                f"d + 1 = {d + 1} a non-singular covariance needs."
            )
    return frechet_distance(*feature_statistics(features_1),
                            *feature_statistics(features_2))


def _polynomial_kernel(x, y):
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def kernel_inception_distance(features_1, features_2, num_subsets=100,
                              subset_size=1000, seed=0):
    """The Kernel Inception Distance (KID): an unbiased MMD^2 over subsets.

    For each of `num_subsets` subsets, m = min(n_1, n_2, `subset_size`)
    samples are drawn from each set without replacement, and the unbiased
    estimator of the squared maximum mean discrepancy is computed with the
    kernel `k(x, y) = (x . y / d + 1)^3`:
    `(sum_{i != j} k(x_i, x_j) + sum_{i != j} k(y_i, y_j)) / (m (m - 1))
    - 2 sum_{i, j} k(x_i, y_j) / m^2`, as clean-fid's `kernel_distance` and
    torch-fidelity compute it. The draws come from
    `rng = np.random.default_rng(seed)`: per subset, first
    `rng.choice(n_1, m, replace=False)` for `features_1`, then
    `rng.choice(n_2, m, replace=False)` for `features_2`.

    Unlike the FID, the estimate is unbiased, so it is comparable across
    sample counts and can be slightly negative when the sets match.

    Args:
        features_1: array `(n_1, d)`. Features of the first set.
        features_2: array `(n_2, d)`. Features of the second set.
        num_subsets: int. How many subsets to average over. Defaults to 100.
        subset_size: int. The largest subset size m. Defaults to 1000.
        seed: int. Seed of the subset draws. Defaults to 0.

    Returns:
        A tuple `(mean, std)` of Python floats: the mean of the subsets'
        estimates and their standard deviation (`np.std`, ddof 0, as
        torch-fidelity reports it).

    Reference:
        Binkowski et al. 2018, https://arxiv.org/abs/1801.01401

    Example:

    ```python
    import numpy as np
    x = np.random.default_rng(0).normal(size=(200, 4))
    mean, std = kernel_inception_distance(x, x + 1.0, num_subsets=10,
                                          subset_size=100)
    round(mean, 2)  # 9.35
    ```
    """
    features_1 = _features(features_1, "features_1", min_rows=2)
    features_2 = _features(features_2, "features_2", min_rows=2)
    _same_dimension(features_1, features_2)
    if int(num_subsets) < 1 or int(subset_size) < 2:
        raise ValueError(
            "num_subsets must be at least 1 and subset_size at least 2. "
            f"Received: num_subsets={num_subsets}, subset_size={subset_size}"
        )
    n_1, n_2 = features_1.shape[0], features_2.shape[0]
    m = min(n_1, n_2, int(subset_size))
    rng = np.random.default_rng(seed)
    estimates = np.empty(int(num_subsets))
    for i in range(int(num_subsets)):
        x = features_1[rng.choice(n_1, m, replace=False)]
        y = features_2[rng.choice(n_2, m, replace=False)]
        k_xx = _polynomial_kernel(x, x)
        k_yy = _polynomial_kernel(y, y)
        k_xy = _polynomial_kernel(x, y)
        t = (k_xx.sum() - np.diagonal(k_xx).sum()
             + k_yy.sum() - np.diagonal(k_yy).sum())
        estimates[i] = t / (m * (m - 1)) - 2.0 * k_xy.sum() / (m * m)
    return float(np.mean(estimates)), float(np.std(estimates))


def inception_score(probabilities, splits=10):
    """The Inception Score of class probabilities p(y|x).

    The samples are split into `splits` consecutive parts, and for each part
    the score is `exp(mean_i KL(p(y|x_i) || p(y)))`, with p(y) the part's
    mean prediction, as in the reference code of Salimans et al. (with
    0 log 0 = 0, so zero probabilities give no NaN). It ranges from 1 (every
    prediction the same) to the number of classes (confident predictions
    spread evenly over the classes).

    Args:
        probabilities: array `(n, classes)`. One probability vector per
            sample (softmax outputs of the classifier: non-negative rows
            summing to 1).
        splits: int. How many parts to score separately. Defaults to 10.

    Returns:
        A tuple `(mean, std)` of Python floats over the parts (`np.std`,
        ddof 0, as the reference code).

    Raises:
        ValueError: a row is not a probability vector (negative entries, or
            a sum off 1 by more than 1e-3), or there are fewer samples than
            splits.

    Reference:
        Salimans et al. 2016, https://arxiv.org/abs/1606.03498;
        code: https://github.com/openai/improved-gan

    Example:

    ```python
    import numpy as np
    inception_score(np.eye(10), splits=1)  # (10.0, 0.0)
    inception_score(np.full((10, 10), 0.1), splits=2)  # (1.0, 0.0)
    ```
    """
    p = _features(probabilities, "probabilities")
    splits = int(splits)
    if splits < 1 or p.shape[0] < splits:
        raise ValueError(
            f"inception_score needs at least one sample per split. Received: "
            f"{p.shape[0]} samples, splits={splits}"
        )
    if np.any(p < 0) or not np.allclose(p.sum(axis=1), 1.0, rtol=0, atol=1e-3):
        raise ValueError(
            "probabilities must have non-negative rows that sum to 1 (within "
            "1e-3), such as softmax outputs; pass probabilities, not logits."
        )
    n = p.shape[0]
    scores = []
    for i in range(splits):
        part = p[i * n // splits:(i + 1) * n // splits]
        marginal = part.mean(axis=0, keepdims=True)
        kl = special.rel_entr(part, marginal).sum(axis=1).mean()
        scores.append(np.exp(kl))
    return float(np.mean(scores)), float(np.std(scores))


# --- k-nearest-neighbour manifolds --------------------------------------------


def _squared_distances(a, b, b_norms):
    """Squared Euclidean distances `(len(a), len(b))`, clipped at 0."""
    d = np.einsum("ij,ij->i", a, a)[:, None] + b_norms[None, :]
    d -= 2.0 * (a @ b.T)
    np.maximum(d, 0.0, out=d)
    return d


def _blocks(n, block_size):
    for start in range(0, n, block_size):
        yield start, min(start + block_size, n)


def _kth_neighbour_radii(x, k, block_size):
    """Squared distance of each row of `x` to its k-th nearest other row."""
    norms = np.einsum("ij,ij->i", x, x)
    radii = np.empty(x.shape[0])
    for start, stop in _blocks(x.shape[0], block_size):
        d = _squared_distances(x[start:stop], x, norms)
        rows = np.arange(stop - start)
        d[rows, start + rows] = np.inf  # the point itself is no neighbour
        radii[start:stop] = np.partition(d, k - 1, axis=1)[:, k - 1]
    return radii


def _manifold_inputs(real_features, fake_features, k, block_size, need_fake_radii):
    real = _features(real_features, "real_features")
    fake = _features(fake_features, "fake_features")
    _same_dimension(real, fake, ("real_features", "fake_features"))
    k, block_size = int(k), int(block_size)
    if k < 1 or block_size < 1:
        raise ValueError(
            f"k and block_size must be positive. Received: k={k}, block_size={block_size}"
        )
    sets = [("real_features", real)] + ([("fake_features", fake)] if need_fake_radii else [])
    for name, x in sets:
        if x.shape[0] <= k:
            raise ValueError(
                f"{name} has n={x.shape[0]} samples, but the k={k}-th nearest "
                f"neighbour needs at least k + 1 = {k + 1}."
            )
    # Distances do not change under a shift; centring makes the expansion
    # |a|^2 + |b|^2 - 2 a.b cancel less.
    centre = real.mean(axis=0)
    return real - centre, fake - centre, k, block_size


def precision_recall(real_features, fake_features, k=3, block_size=1024):
    """Improved precision and recall: the shares of each set on the other's
    k-NN manifold.

    Each sample's ball has the radius of its k-th nearest neighbour in its
    own set (the sample itself excluded). Precision is the share of fake
    samples inside some real sample's ball (fidelity); recall the share of
    real samples inside some fake sample's ball (diversity). A point on a
    ball's boundary is inside, as in the authors' code. Distances are
    Euclidean, computed in float64 in blocks of `block_size` rows.

    Args:
        real_features: array `(n_real, d)`. Features of real samples.
        fake_features: array `(n_fake, d)`. Features of generated samples.
        k: int. Which nearest neighbour sets the radii. Defaults to 3.
        block_size: int. Rows per block of the distance matrices; memory
            peaks near `3 * 8 * block_size * max(n_real, n_fake)` bytes.
            Defaults to 1024.

    Returns:
        A dict `{"precision": float, "recall": float}`, both in [0, 1].

    Reference:
        Kynkaanniemi et al. 2019, https://arxiv.org/abs/1904.06991

    Example:

    ```python
    import numpy as np
    x = np.random.default_rng(0).normal(size=(100, 2))
    precision_recall(x, x)  # {"precision": 1.0, "recall": 1.0}
    precision_recall(x, x + 100.0)  # {"precision": 0.0, "recall": 0.0}
    ```
    """
    real, fake, k, block_size = _manifold_inputs(
        real_features, fake_features, k, block_size, need_fake_radii=True)
    real_radii = _kth_neighbour_radii(real, k, block_size)
    fake_radii = _kth_neighbour_radii(fake, k, block_size)
    fake_norms = np.einsum("ij,ij->i", fake, fake)
    fake_in_real = np.zeros(fake.shape[0], dtype=bool)
    real_in_fake = np.zeros(real.shape[0], dtype=bool)
    for start, stop in _blocks(real.shape[0], block_size):
        d = _squared_distances(real[start:stop], fake, fake_norms)
        fake_in_real |= (d <= real_radii[start:stop, None]).any(axis=0)
        real_in_fake[start:stop] = (d <= fake_radii[None, :]).any(axis=1)
    return {"precision": float(fake_in_real.mean()),
            "recall": float(real_in_fake.mean())}


def density_coverage(real_features, fake_features, k=5, block_size=1024):
    """Density and coverage: fidelity and diversity on the real k-NN balls.

    Each real sample's ball has the radius of its k-th nearest real
    neighbour (the sample itself excluded). Density is the mean number of
    real balls a fake sample lies in, divided by k (about 1 when the sets
    match; above 1 where fakes crowd dense real regions). Coverage is the
    share of real samples whose ball holds at least one fake sample. As in
    the `prdc` package, "in" is strict (distance < radius). Distances are
    Euclidean, computed in float64 in blocks of `block_size` rows.

    Args:
        real_features: array `(n_real, d)`. Features of real samples.
        fake_features: array `(n_fake, d)`. Features of generated samples.
        k: int. Which nearest neighbour sets the radii. Defaults to 5.
        block_size: int. Rows per block of the distance matrices; memory
            peaks near `3 * 8 * block_size * max(n_real, n_fake)` bytes.
            Defaults to 1024.

    Returns:
        A dict `{"density": float, "coverage": float}`; coverage is in
        [0, 1], density in [0, n_real / k].

    Reference:
        Naeem et al. 2020, https://arxiv.org/abs/2002.09797;
        code: https://github.com/clovaai/generative-evaluation-prdc

    Example:

    ```python
    import numpy as np
    x = np.random.default_rng(0).normal(size=(100, 2))
    density_coverage(x, x)["coverage"]  # 1.0
    density_coverage(x, x + 100.0)  # {"density": 0.0, "coverage": 0.0}
    ```
    """
    real, fake, k, block_size = _manifold_inputs(
        real_features, fake_features, k, block_size, need_fake_radii=False)
    real_radii = _kth_neighbour_radii(real, k, block_size)
    fake_norms = np.einsum("ij,ij->i", fake, fake)
    counts = np.zeros(fake.shape[0], dtype=np.int64)
    covered = np.zeros(real.shape[0], dtype=bool)
    for start, stop in _blocks(real.shape[0], block_size):
        d = _squared_distances(real[start:stop], fake, fake_norms)
        inside = d < real_radii[start:stop, None]
        counts += inside.sum(axis=0)
        covered[start:stop] = inside.any(axis=1)
    return {"density": float(counts.mean() / k),
            "coverage": float(covered.mean())}
