"""The numerics of the sample-quality and translation metrics, against closed
forms, independent transcriptions of the reference code, and TensorFlow."""

import warnings

import numpy as np
import pytest
from scipy import linalg
from scipy.spatial.distance import cdist

from kerasgen.metrics import statistics
from kerasgen.metrics.statistics import density_coverage
from kerasgen.metrics.statistics import feature_statistics
from kerasgen.metrics.statistics import frechet_distance
from kerasgen.metrics.statistics import frechet_distance_from_features
from kerasgen.metrics.statistics import inception_score
from kerasgen.metrics.statistics import kernel_inception_distance
from kerasgen.metrics.statistics import precision_recall
from kerasgen.metrics.translation import mean_absolute_error
from kerasgen.metrics.translation import psnr
from kerasgen.metrics.translation import ssim
from kerasgen.metrics.translation import target_domain_share


def random_spd(rng, d, scale=1.0):
    a = rng.normal(size=(d, 2 * d))
    return scale * (a @ a.T / (2 * d)) + 0.1 * np.eye(d)


# --- independent transcriptions of the reference code -----------------------


def pytorch_fid_frechet_distance(mu1, sigma1, mu2, sigma2, eps=1e-6):
    """pytorch-fid's `calculate_frechet_distance`, line by line."""

    def sqrtm(x):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                return linalg.sqrtm(x, disp=False)[0]
        except TypeError:  # scipy without `disp`
            return linalg.sqrtm(x)

    mu1, mu2 = np.atleast_1d(mu1), np.atleast_1d(mu2)
    sigma1, sigma2 = np.atleast_2d(sigma1), np.atleast_2d(sigma2)
    diff = mu1 - mu2
    covmean = sqrtm(sigma1.dot(sigma2))
    if not np.isfinite(covmean).all():
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = sqrtm((sigma1 + offset).dot(sigma2 + offset))
    if np.iscomplexobj(covmean):
        assert np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3)
        covmean = covmean.real
    return diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean)


def torch_fidelity_mmd2(x, y):
    """torch-fidelity's unbiased `mmd2` with its polynomial kernel, the
    off-diagonal sums taken with explicit index masks."""
    d = x.shape[1]
    k_xx = (x @ x.T / d + 1) ** 3
    k_yy = (y @ y.T / d + 1) ** 3
    k_xy = (x @ y.T / d + 1) ** 3
    m = x.shape[0]
    off = ~np.eye(m, dtype=bool)
    return (k_xx[off].sum() + k_yy[off].sum()) / (m * (m - 1)) - 2 * k_xy.sum() / (m * m)


def improved_gan_inception_score(preds, splits):
    """The Inception Score of openai/improved-gan, on positive predictions."""
    scores = []
    for i in range(splits):
        part = preds[(i * preds.shape[0] // splits):((i + 1) * preds.shape[0] // splits), :]
        kl = part * (np.log(part) - np.log(np.expand_dims(np.mean(part, 0), 0)))
        scores.append(np.exp(np.mean(np.sum(kl, 1))))
    return np.mean(scores), np.std(scores)


# --- FID ----------------------------------------------------------------------


def test_feature_statistics_match_numpy():
    x = np.random.default_rng(0).normal(size=(50, 3)).astype("float32")
    mean, cov = feature_statistics(x)
    assert mean.dtype == cov.dtype == np.float64
    np.testing.assert_allclose(mean, x.astype("float64").mean(0), rtol=1e-12)
    np.testing.assert_allclose(cov, np.cov(x.astype("float64"), rowvar=False, ddof=1), rtol=1e-12)


def test_fid_of_a_set_with_itself_is_zero():
    x = np.random.default_rng(1).normal(size=(500, 16))
    assert abs(frechet_distance_from_features(x, x)) < 1e-6


def test_fid_matches_the_closed_form_for_commuting_covariances():
    rng = np.random.default_rng(2)
    d = 12
    m1, m2 = rng.normal(size=d), rng.normal(size=d)
    s1, s2 = rng.uniform(0.1, 3.0, d), rng.uniform(0.1, 3.0, d)
    closed = np.sum((m1 - m2) ** 2) + np.sum((np.sqrt(s1) - np.sqrt(s2)) ** 2)
    # Diagonal covariances, then the same spectra in a shared rotated basis.
    assert frechet_distance(m1, np.diag(s1), m2, np.diag(s2)) == pytest.approx(closed, rel=1e-8)
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    value = frechet_distance(m1, q @ np.diag(s1) @ q.T, m2, q @ np.diag(s2) @ q.T)
    assert value == pytest.approx(closed, rel=1e-8)


def test_matrix_square_root_matches_an_eigendecomposition():
    rng = np.random.default_rng(3)
    for d in (2, 8, 32):
        a, b = random_spd(rng, d), random_spd(rng, d, scale=3.0)
        # A symmetric positive definite matrix: V sqrt(L) V^T.
        w, v = np.linalg.eigh(a)
        expected = (v * np.sqrt(w)) @ v.T
        np.testing.assert_allclose(statistics._sqrtm(a), expected, rtol=1e-6, atol=1e-9)
        # A product of two: similar to an SPD matrix, so V sqrt(L) V^-1 with
        # real positive eigenvalues L.
        product = a @ b
        w, v = np.linalg.eig(product)
        assert np.all(np.abs(w.imag) < 1e-10) and np.all(w.real > 0)
        w, v = w.real, v.real
        expected = (v * np.sqrt(w)) @ np.linalg.inv(v)
        root = np.real_if_close(statistics._sqrtm(product))
        np.testing.assert_allclose(root, expected, rtol=1e-6, atol=1e-9 * np.abs(expected).max())
        np.testing.assert_allclose(root @ root, product, rtol=1e-8, atol=1e-10)


def test_fid_agrees_with_pytorch_fid_transcription():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(400, 24))
    y = rng.normal(size=(300, 24)) @ rng.normal(size=(24, 24)) * 0.3 + 0.5
    ours = frechet_distance_from_features(x, y)
    mu1, mu2 = x.mean(0), y.mean(0)
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    assert ours == pytest.approx(pytorch_fid_frechet_distance(mu1, s1, mu2, s2), rel=1e-6)
    # And with the trace of the root from the eigenvalues of s1 s2.
    tr_root = np.sum(np.sqrt(np.linalg.eigvals(s1 @ s2).real))
    closed = np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * tr_root
    assert ours == pytest.approx(closed, rel=1e-6)


@pytest.mark.filterwarnings("ignore:Matrix is singular")
def test_fid_of_singular_covariances_is_finite():
    rng = np.random.default_rng(5)
    d = 6
    low_rank = rng.normal(size=(d, 2))
    s1 = low_rank @ low_rank.T  # rank 2
    s2 = np.diag([1.0, 2.0, 0.0, 0.0, 0.0, 0.0])
    value = frechet_distance(np.zeros(d), s1, np.ones(d), s2)
    assert np.isfinite(value)
    expected = pytorch_fid_frechet_distance(np.zeros(d), s1, np.ones(d), s2)
    assert value == pytest.approx(expected, rel=1e-6)


def test_eps_is_added_only_when_the_root_is_not_finite(monkeypatch):
    calls = []
    real_sqrtm = statistics._sqrtm

    def first_fails(matrix):
        calls.append(matrix)
        return np.full_like(matrix, np.nan) if len(calls) == 1 else real_sqrtm(matrix)

    s1, s2 = np.diag([1.0, 4.0]), np.diag([4.0, 9.0])
    # A finite root: one call, on the product itself.
    monkeypatch.setattr(statistics, "_sqrtm", lambda m: calls.append(m) or real_sqrtm(m))
    assert frechet_distance(np.zeros(2), s1, np.zeros(2), s2) == pytest.approx(2.0, rel=1e-12)
    assert len(calls) == 1
    np.testing.assert_array_equal(calls[0], s1 @ s2)
    # A NaN root: a second try on (s1 + eps I)(s2 + eps I); the traces keep s1, s2.
    calls.clear()
    monkeypatch.setattr(statistics, "_sqrtm", first_fails)
    value = frechet_distance(np.zeros(2), s1, np.zeros(2), s2, eps=1e-3)
    assert len(calls) == 2
    np.testing.assert_allclose(calls[1], (s1 + 1e-3 * np.eye(2)) @ (s2 + 1e-3 * np.eye(2)))
    root = np.sqrt(np.array([1.0, 4.0]) + 1e-3) * np.sqrt(np.array([4.0, 9.0]) + 1e-3)
    assert value == pytest.approx(5.0 + 13.0 - 2 * root.sum(), rel=1e-9)


def test_a_large_imaginary_component_raises(monkeypatch):
    s = np.eye(3)
    monkeypatch.setattr(statistics, "_sqrtm", lambda m: m + 0.5j * np.eye(3))
    with pytest.raises(ValueError, match=r"Imaginary component 0\.5"):
        frechet_distance(np.zeros(3), s, np.zeros(3), s)
    # A small one is dropped, as in pytorch-fid.
    monkeypatch.setattr(statistics, "_sqrtm", lambda m: m + 1e-5j * np.eye(3))
    assert frechet_distance(np.zeros(3), s, np.zeros(3), s) == pytest.approx(0.0, abs=1e-12)


def test_fid_needs_more_samples_than_dimensions():
    rng = np.random.default_rng(6)
    with pytest.raises(ValueError, match=r"features_2 has n=10 samples of d=16 features"):
        frechet_distance_from_features(rng.normal(size=(100, 16)), rng.normal(size=(10, 16)))
    with pytest.raises(ValueError, match=r"n=16 samples of d=16"):
        frechet_distance_from_features(rng.normal(size=(16, 16)), rng.normal(size=(100, 16)))
    with pytest.raises(ValueError, match=r"same number of features; received d=4 and d=5"):
        frechet_distance_from_features(rng.normal(size=(50, 4)), rng.normal(size=(50, 5)))
    with pytest.raises(ValueError, match="must be"):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))


# --- KID ----------------------------------------------------------------------


def test_kid_is_unbiased():
    rng = np.random.default_rng(7)
    means = []
    for draw in range(200):
        x, y = rng.normal(size=(100, 8)), rng.normal(size=(100, 8))
        means.append(kernel_inception_distance(x, y, num_subsets=1, subset_size=100, seed=draw)[0])
    means = np.array(means)
    standard_error = means.std(ddof=1) / np.sqrt(len(means))
    assert abs(means.mean()) < 3 * standard_error
    # Clearly different distributions: far above the null's spread.
    x, y = rng.normal(size=(100, 8)), rng.normal(size=(100, 8)) + 1.0
    mean, std = kernel_inception_distance(x, y, num_subsets=10, subset_size=100)
    assert mean > 0.5 and mean > 50 * means.std()


def test_kid_agrees_with_torch_fidelity_transcription():
    rng = np.random.default_rng(8)
    x = rng.normal(size=(120, 16))
    y = rng.normal(size=(90, 16)) * 1.2 + 0.2
    mean, std = kernel_inception_distance(x, y, num_subsets=7, subset_size=50, seed=3)
    draws = np.random.default_rng(3)  # the same draws, in the documented order
    mmds = []
    for _ in range(7):
        i = draws.choice(120, 50, replace=False)
        j = draws.choice(90, 50, replace=False)
        mmds.append(torch_fidelity_mmd2(x[i], y[j]))
    assert mean == pytest.approx(np.mean(mmds), rel=1e-6)
    assert std == pytest.approx(np.std(mmds), rel=1e-6)
    # The subset size is capped by the smaller set.
    mean, _ = kernel_inception_distance(x, y, num_subsets=1, subset_size=1000, seed=0)
    draws = np.random.default_rng(0)
    i, j = draws.choice(120, 90, replace=False), draws.choice(90, 90, replace=False)
    assert mean == pytest.approx(torch_fidelity_mmd2(x[i], y[j]), rel=1e-6)


# --- Inception Score -----------------------------------------------------------


def test_inception_score_extremes():
    mean, std = inception_score(np.full((100, 10), 0.1))
    assert mean == pytest.approx(1.0, abs=1e-6) and std == pytest.approx(0.0, abs=1e-6)
    # Exact one-hot predictions, every class equally often in each split:
    # zeros must give 0 log 0 = 0, not NaN.
    one_hot = np.eye(10)[np.arange(1000) % 10]
    mean, std = inception_score(one_hot, splits=10)
    assert mean == pytest.approx(10.0, abs=1e-6) and std == pytest.approx(0.0, abs=1e-6)


def test_inception_score_agrees_with_improved_gan_transcription():
    preds = np.random.default_rng(9).dirichlet(np.full(6, 0.3), size=503)
    ours = inception_score(preds, splits=7)
    np.testing.assert_allclose(ours, improved_gan_inception_score(preds, 7), rtol=1e-10)


def test_inception_score_rejects_non_probabilities():
    with pytest.raises(ValueError, match="sum to 1"):
        inception_score(np.random.default_rng(0).normal(size=(20, 5)), splits=2)
    with pytest.raises(ValueError, match="at least one sample per split"):
        inception_score(np.full((5, 2), 0.5), splits=10)


# --- precision, recall, density, coverage --------------------------------------


def prdc_reference(real, fake, k):
    """Brute force with full distance matrices (scipy's cdist)."""
    real_radii = np.sort(cdist(real, real), axis=1)[:, k]  # index 0 is the point itself
    fake_radii = np.sort(cdist(fake, fake), axis=1)[:, k]
    d = cdist(real, fake)
    return {
        "precision": (d <= real_radii[:, None]).any(axis=0).mean(),
        "recall": (d <= fake_radii[None, :]).any(axis=1).mean(),
        "density": (d < real_radii[:, None]).sum(axis=0).mean() / k,
        "coverage": (d.min(axis=1) < real_radii).mean(),
    }


def test_manifold_metrics_agree_with_brute_force_for_any_block_size():
    rng = np.random.default_rng(10)
    real, fake = rng.normal(size=(300, 5)), rng.normal(size=(250, 5)) * 1.3 + 0.3
    for k in (3, 5):
        expected = prdc_reference(real, fake, k)
        for block_size in (1, 64, 1024):
            pr = precision_recall(real, fake, k=k, block_size=block_size)
            dc = density_coverage(real, fake, k=k, block_size=block_size)
            for name, value in {**pr, **dc}.items():
                assert value == pytest.approx(expected[name], abs=1e-12), (k, block_size, name)


def test_manifold_metrics_of_matching_and_disjoint_gaussians():
    rng = np.random.default_rng(11)
    real, fake = rng.normal(size=(2000, 64)), rng.normal(size=(2000, 64))
    pr, dc = precision_recall(real, fake), density_coverage(real, fake)
    # Density is about 1 and coverage near 1 for matching sets (measured
    # 0.97 and 0.96 here; [0.8, 1.2] and > 0.9 leave room for the seed).
    assert 0.8 <= dc["density"] <= 1.2
    assert dc["coverage"] > 0.9
    # In 64 dimensions k = 3 balls miss much of a matching set (measured
    # 0.61 and 0.62 here): the high-dimensional underestimate Naeem et al.
    # 2020 (section 3) describe. Precision and recall > 0.9 hold in few
    # dimensions (0.96 in 4 below).
    assert pr["precision"] > 0.5 and pr["recall"] > 0.5
    low = precision_recall(rng.normal(size=(2000, 4)), rng.normal(size=(2000, 4)))
    assert low["precision"] > 0.9 and low["recall"] > 0.9
    # Disjoint: means 0 and 20 along every axis.
    pr, dc = precision_recall(real, fake + 20.0), density_coverage(real, fake + 20.0)
    assert max(pr.values()) < 0.01 and max(dc.values()) < 0.01


def test_manifold_metrics_reject_too_few_samples():
    rng = np.random.default_rng(12)
    with pytest.raises(ValueError, match="fake_features has n=3 samples"):
        precision_recall(rng.normal(size=(10, 2)), rng.normal(size=(3, 2)), k=3)
    with pytest.raises(ValueError, match="same number of features"):
        density_coverage(rng.normal(size=(10, 2)), rng.normal(size=(10, 3)))


# --- translation ----------------------------------------------------------------


def test_identical_images():
    x = np.random.default_rng(13).uniform(-1, 1, (3, 16, 16, 3))
    assert mean_absolute_error(x, x) == 0.0
    assert psnr(x, x, max_value=2.0) == float("inf")
    assert ssim(x, x, max_value=2.0) == pytest.approx(1.0, abs=1e-12)
    assert mean_absolute_error(x, x + 0.25) == pytest.approx(0.25)
    # One exact copy in the batch makes the mean inf.
    y = x.copy()
    y[1:] += 0.1
    assert psnr(y, x, max_value=2.0) == float("inf")


def test_psnr_and_ssim_match_tensorflow():
    # TensorFlow is installed on both backends; this imports it directly.
    import tensorflow as tf

    rng = np.random.default_rng(14)
    x = rng.uniform(0, 1, (4, 32, 24, 3)).astype("float32")
    y = np.clip(x + rng.normal(0, 0.1, x.shape), 0, 1).astype("float32")
    z = rng.uniform(0, 1, x.shape).astype("float32")
    for other in (y, z):
        expected = float(tf.reduce_mean(tf.image.ssim(other, x, max_val=1.0)))
        assert abs(ssim(other, x, max_value=1.0) - expected) < 1e-5
        expected = float(tf.reduce_mean(tf.image.psnr(other, x, max_val=1.0)))
        assert psnr(other, x, max_value=1.0) == pytest.approx(expected, abs=1e-4)
    # Images in [-1, 1] with their dynamic range of 2.
    a, b = 2 * x - 1, 2 * y - 1
    expected = float(tf.reduce_mean(tf.image.ssim(a, b, max_val=2.0)))
    assert abs(ssim(a, b, max_value=2.0) - expected) < 1e-5


def test_translation_metrics_reject_bad_shapes():
    x = np.zeros((2, 16, 16, 3))
    with pytest.raises(ValueError, match="same shape"):
        mean_absolute_error(x, x[:1])
    with pytest.raises(ValueError, match="same shape"):
        ssim(x, x[:, :15], max_value=1.0)
    with pytest.raises(ValueError, match="at least 11x11"):
        ssim(x[:, :10], x[:, :10], max_value=1.0)
    with pytest.raises(ValueError, match=r"\(N, H, W, C\)"):
        psnr(x[0], x[0], max_value=1.0)


def test_target_domain_share():
    p = np.array([0.9, 0.2, 0.7, 0.5, 0.51])
    assert target_domain_share(p) == pytest.approx(0.6)  # 0.5 itself is not above
    assert target_domain_share(p[:, None], threshold=0.8) == pytest.approx(0.2)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        target_domain_share(np.array([1.5, -2.0]))
