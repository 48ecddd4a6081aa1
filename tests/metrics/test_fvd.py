"""FVD/KVD math (vidgan.metrics.fvd) and PSNR/SSIM (vidgan.metrics.quality), no I3D needed.

The distances are checked against closed forms and hand-computed cases (diagonal and
commuting Gaussians, a 2x2 non-commuting pair, a 1-D KVD by hand, a brute-force loop
estimator); the preprocessing against TF1's resize_bilinear, which the reference FVD used.
"""

import numpy as np
import pytest
import tensorflow as tf

from vidgan import pixels
from vidgan.metrics import fvd, quality


def rotation(d: int, seed: int) -> np.ndarray:
    """A random orthogonal d x d matrix."""
    q, r = np.linalg.qr(np.random.default_rng(seed).standard_normal((d, d)))
    return q * np.sign(np.diag(r))


# --- frechet_distance --------------------------------------------------------------------------
def test_frechet_distance_diagonal_closed_form():
    """N(mu1, diag(s1^2)) vs N(mu2, diag(s2^2)): |mu1 - mu2|^2 + sum((s1 - s2)^2)."""
    rng = np.random.default_rng(0)
    mu1, mu2 = rng.standard_normal(7), rng.standard_normal(7)
    s1, s2 = rng.uniform(0.1, 3.0, 7), rng.uniform(0.1, 3.0, 7)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((s1 - s2) ** 2)
    got = fvd.frechet_distance(mu1, np.diag(s1 ** 2), mu2, np.diag(s2 ** 2))
    assert got == pytest.approx(expected, rel=1e-10)
    # Same covariance: only the means count; same mean: only the spreads.
    assert fvd.frechet_distance(mu1, np.diag(s1 ** 2), mu2, np.diag(s1 ** 2)) == pytest.approx(
        np.sum((mu1 - mu2) ** 2), rel=1e-10)
    assert fvd.frechet_distance(mu1, np.diag(s1 ** 2), mu1, np.diag(s2 ** 2)) == pytest.approx(
        np.sum((s1 - s2) ** 2), rel=1e-10)


def test_frechet_distance_commuting_non_diagonal():
    """Covariances diagonal in one rotated basis Q: the same closed form on their eigenvalues."""
    rng = np.random.default_rng(1)
    q = rotation(6, seed=2)
    a, b = rng.uniform(0.05, 4.0, 6), rng.uniform(0.05, 4.0, 6)
    s1, s2 = q @ np.diag(a) @ q.T, q @ np.diag(b) @ q.T
    assert np.abs(s1 - np.diag(np.diag(s1))).max() > 0.1  # really not diagonal
    mu1, mu2 = rng.standard_normal(6), rng.standard_normal(6)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert fvd.frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-9)


def test_frechet_distance_non_commuting_2x2():
    """2x2: tr((s1 s2)^(1/2)) = sqrt(tr(s1 s2) + 2 sqrt(det s1 det s2)), a closed form
    that needs no matrix square root, for covariances that do not commute."""
    s1 = np.array([[2.0, 0.7], [0.7, 1.0]])
    s2 = np.array([[0.5, -0.2], [-0.2, 3.0]])
    assert np.abs(s1 @ s2 - s2 @ s1).max() > 0.1
    mu1, mu2 = np.array([0.3, -1.0]), np.array([1.0, 0.5])
    trace_sqrt = np.sqrt(np.trace(s1 @ s2) + 2 * np.sqrt(np.linalg.det(s1) * np.linalg.det(s2)))
    expected = np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * trace_sqrt
    assert fvd.frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-10)


# --- fvd on feature sets -----------------------------------------------------------------------
def features(n: int, d: int, seed: int, scale: float = 3.0) -> np.ndarray:
    """Correlated Gaussian features [n, d]."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)) @ (scale * rng.standard_normal((d, d)) / np.sqrt(d))


def test_fvd_of_a_set_with_itself_is_zero():
    for x in (features(300, 16, seed=0), features(50, 400, seed=1)):  # full rank; N < D
        scale = np.trace(np.cov(x, rowvar=False))
        assert scale > 1.0
        assert abs(fvd.fvd(x, x)) < 1e-6 * scale


def test_fvd_symmetric_and_finite_for_singular_covariances():
    """50 samples of 400-d: both covariances have rank 49; the value stays finite, >= 0,
    symmetric, and clearly positive for different sets."""
    x, y = features(50, 400, seed=3), features(50, 400, seed=4) + 0.5
    xy, yx = fvd.fvd(x, y), fvd.fvd(y, x)
    assert np.isfinite(xy) and xy > 0
    assert xy == pytest.approx(yx, rel=1e-9)
    small = features(50, 400, seed=5, scale=1e-3)  # nearly degenerate
    assert np.isfinite(fvd.fvd(small, x)) and fvd.fvd(small, x) >= 0.0
    assert fvd.fvd(x[:10], y[:12]) == pytest.approx(fvd.fvd(y[:12], x[:10]), rel=1e-9)


def test_fvd_mean_shift_adds_its_squared_norm():
    rng = np.random.default_rng(6)
    x = features(200, 12, seed=7)
    y = features(200, 12, seed=8)
    y = y - y.mean(0) + x.mean(0)  # same mean as x, different covariance
    delta = rng.standard_normal(12)
    assert fvd.fvd(x, x + delta) == pytest.approx(delta @ delta, rel=1e-9)
    base = fvd.fvd(x, y)
    assert base > 0.1
    assert fvd.fvd(x, y + delta) == pytest.approx(base + delta @ delta, rel=1e-9)


# --- kernel_distance (KVD) ---------------------------------------------------------------------
def test_kernel_distance_by_hand():
    """x = {0, 1}, y = {2, 3}, d = 1, k(a, b) = (ab + 1)^3:
    k(0,1) = 1; k(2,3) = 343; k(x, y) = 1, 1, 27, 64 -> 1 + 343 - 2 * 93/4 = 297.5."""
    x, y = np.array([[0.0], [1.0]]), np.array([[2.0], [3.0]])
    assert fvd.kernel_distance(x, y) == pytest.approx(297.5, rel=1e-12)
    assert fvd.kernel_distance(y, x) == pytest.approx(297.5, rel=1e-12)


def brute_force_kvd(x, y):
    """The unbiased MMD^2 with explicit loops (pairs, and the dot product over d)."""
    n, m, d = len(x), len(y), len(x[0])

    def k(a, b):
        dot = 0.0
        for i in range(d):
            dot += a[i] * b[i]
        return (dot / d + 1.0) ** 3

    xx = sum(k(x[i], x[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(n) for j in range(m)) / (n * m)
    return xx + yy - 2 * xy


def test_kernel_distance_matches_brute_force():
    rng = np.random.default_rng(9)
    x, y = rng.standard_normal((5, 3)), rng.standard_normal((4, 3)) * 1.5 + 0.3
    expected = brute_force_kvd(x.tolist(), y.tolist())
    assert fvd.kernel_distance(x, y) == pytest.approx(expected, rel=1e-10)


def test_kernel_distance_near_zero_for_one_distribution():
    rng = np.random.default_rng(10)
    a, b = rng.standard_normal((200, 16)), rng.standard_normal((200, 16))
    same, shifted = fvd.kernel_distance(a, b), fvd.kernel_distance(a, b + 1.0)
    assert shifted > 1.0
    assert abs(same) < 0.01 * shifted


def test_kernel_distance_rejects_bad_inputs():
    x = np.zeros((4, 3))
    with pytest.raises(ValueError, match="got"):
        fvd.kernel_distance(x, np.zeros((4, 5)))  # mismatched dims
    with pytest.raises(ValueError, match="got"):
        fvd.kernel_distance(np.zeros(4), x)  # not [N, D]
    with pytest.raises(ValueError, match="at least 2"):
        fvd.kernel_distance(np.zeros((1, 3)), x)
    with pytest.raises(ValueError, match="at least 2"):
        fvd.kernel_distance(x, np.zeros((1, 3)))


# --- gaussian ----------------------------------------------------------------------------------
def test_gaussian_matches_numpy_unbiased():
    x = features(30, 5, seed=11).astype(np.float32)
    mu, sigma = fvd.gaussian(x)
    assert mu.dtype == np.float64 and sigma.dtype == np.float64
    assert mu.shape == (5,) and sigma.shape == (5, 5)
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(mu, np.mean(x64, axis=0), rtol=1e-12)
    np.testing.assert_allclose(sigma, np.cov(x64, rowvar=False, ddof=1), rtol=1e-12)
    # ddof=1 by hand for one entry.
    c = x64 - x64.mean(0)
    assert sigma[1, 3] == pytest.approx((c[:, 1] @ c[:, 3]) / 29, rel=1e-12)


@pytest.mark.parametrize("shape", [(10,), (1, 4), (3, 4, 5), (0, 4)])
def test_gaussian_rejects_bad_shapes(shape):
    with pytest.raises(ValueError, match="need features"):
        fvd.gaussian(np.zeros(shape))


# --- preprocess --------------------------------------------------------------------------------
def random_video(shape, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def test_preprocess_shape_dtype_range():
    video = random_video((2, 3, 40, 56, 3))
    video[0, 0, 0, 0] = 0
    video[0, 0, 0, 1] = 255
    out = fvd.preprocess(video)
    assert out.shape == (2, 3, 224, 224, 3) and out.dtype == tf.float32
    out = out.numpy()
    assert out.min() == -1.0 and out.max() == 1.0  # TF1 bilinear keeps pixel (0, 0) exact
    assert fvd.preprocess(video, size=64).shape == (2, 3, 64, 64, 3)


def test_preprocess_equals_tf1_resize_bilinear():
    """The reference: tf.image.resize_bilinear (TF1, align_corners=False), then 2x/255 - 1."""
    video = random_video((2, 3, 40, 56, 3), seed=1)
    frames = tf.reshape(video, [6, 40, 56, 3])
    resized = tf.compat.v1.image.resize_bilinear(frames, [224, 224], align_corners=False)
    expected = tf.reshape(resized, [2, 3, 224, 224, 3]) * 2.0 / 255.0 - 1.0
    np.testing.assert_allclose(fvd.preprocess(video).numpy(), expected.numpy(), rtol=0, atol=1e-6)


def test_preprocess_rejects_float_input():
    with pytest.raises(ValueError, match="uint8"):
        fvd.preprocess(np.zeros((1, 2, 8, 8, 3), np.float32))
    with pytest.raises(ValueError, match="uint8"):
        fvd.preprocess(tf.zeros((1, 2, 8, 8, 3), tf.int32))


@pytest.mark.parametrize("value", [0, 1, 77, 128, 254, 255])
def test_preprocess_constant_video_maps_to_exact_constant(value):
    out = fvd.preprocess(np.full((1, 2, 17, 31, 3), value, np.uint8)).numpy()
    expected = np.float32(value) * np.float32(2.0 / 255.0) - np.float32(1.0)
    assert np.all(out == expected), (value, np.unique(out))
    assert abs(float(expected) - (value / 127.5 - 1.0)) < 1e-6


def test_preprocess_is_not_tf2_half_pixel_resize():
    """Why preprocess does not call tf.image.resize: TF2's bilinear resize uses half-pixel
    centers, which shifts the image by half a source pixel. On an 8x8 checkerboard upsampled
    x28, TF1's mapping (out j -> in j/28) lands on every source pixel at j = 28 i (up to
    float32 rounding of the scale); TF2's blends neighbours there: the outputs differ widely."""
    board = ((np.arange(8)[:, None] + np.arange(8)[None, :]) % 2 * 255).astype(np.uint8)
    video = np.broadcast_to(board[None, None, :, :, None], (1, 1, 8, 8, 3)).copy()
    ours = fvd.preprocess(video).numpy()[0, 0]
    source = board.astype(np.float32) * np.float32(2.0 / 255.0) - np.float32(1.0)
    np.testing.assert_allclose(ours[::28, ::28, 0], source, rtol=0, atol=1e-5)
    half_pixel = tf.image.resize(video[0].astype(np.float32), [224, 224], method="bilinear")
    half_pixel = half_pixel.numpy()[0] * 2.0 / 255.0 - 1.0
    assert np.abs(half_pixel[::28, ::28, 0] - source).max() > 0.5
    assert np.abs(half_pixel - ours).max() > 0.5


# --- psnr / ssim -------------------------------------------------------------------------------
def smooth_video(b=2, t=3, h=32, w=32) -> np.ndarray:
    """float32 [b, t, h, w, 3] in [-0.8, 0.8]: moving sinusoids, distinct per video."""
    bb, tt, yy, xx, cc = np.meshgrid(np.arange(b), np.arange(t), np.arange(h), np.arange(w),
                                     np.arange(3), indexing="ij")
    return (0.8 * np.sin(2 * np.pi * (xx / 11.0 + yy / 17.0) + 0.4 * tt + bb + cc)).astype(
        np.float32)


def noisy(video, sigma, seed=0):
    noise = np.random.default_rng(seed).standard_normal(video.shape).astype(np.float32)
    return np.clip(video + sigma * noise, -1.0, 1.0)


def test_psnr_ssim_shape_and_near_identical_videos():
    ref = smooth_video()
    almost = noisy(ref, 0.002)
    p, s = quality.psnr(almost, ref), quality.ssim(almost, ref)
    assert p.shape == (2,) and s.shape == (2,)
    assert p.dtype == tf.float32 and s.dtype == tf.float32
    assert np.all(s.numpy() > 0.999)
    assert np.all(p.numpy() > 55.0)  # sigma 0.002 on a range of 2: ~60 dB


def test_psnr_ssim_fall_monotonically_with_noise():
    ref = smooth_video()
    sigmas = [0.01, 0.03, 0.1, 0.3]
    psnrs = np.array([quality.psnr(noisy(ref, s), ref).numpy() for s in sigmas])  # [4, B]
    ssims = np.array([quality.ssim(noisy(ref, s), ref).numpy() for s in sigmas])
    assert np.all(np.diff(psnrs, axis=0) < -3.0), psnrs  # ~10 dB per decade of sigma
    assert np.all(np.diff(ssims, axis=0) < 0), ssims
    # sigma 0.1 on range 2 -> PSNR = 20 log10(2 / 0.1) = 26 dB (a little more: clipping).
    assert np.all(np.abs(psnrs[2] - 26.0) < 0.5), psnrs[2]


def test_psnr_uint8_and_float_conventions_agree():
    ref = smooth_video()
    video = noisy(ref, 0.1, seed=1)
    p_float = quality.psnr(video, ref).numpy()
    p_uint8 = quality.psnr(pixels.to_uint8(video), pixels.to_uint8(ref)).numpy()
    np.testing.assert_allclose(p_uint8, p_float, atol=0.1)
    s_float = quality.ssim(video, ref).numpy()
    s_uint8 = quality.ssim(pixels.to_uint8(video), pixels.to_uint8(ref)).numpy()
    np.testing.assert_allclose(s_uint8, s_float, atol=0.005)


def test_ssim_float_convention_is_standard_ssim_on_grey_videos():
    """SSIM's luminance term (2 mu_x mu_y + C1) / (mu_x^2 + mu_y^2 + C1) assumes
    intensities in [0, max_val]: on [-1, 1] videos of mid-grey content (local means near
    0) it drops far below the SSIM of the same videos as uint8, unless shifted to [0, 2]."""
    rng = np.random.default_rng(3)
    ref = (0.05 * rng.standard_normal((1, 2, 32, 32, 3))).astype(np.float32)
    video = (ref + 0.02 * rng.standard_normal(ref.shape)).astype(np.float32)
    s_float = quality.ssim(video, ref).numpy()
    s_uint8 = quality.ssim(pixels.to_uint8(video), pixels.to_uint8(ref)).numpy()
    shifted = tf.image.ssim(tf.constant(video[0] + 1.0), tf.constant(ref[0] + 1.0), max_val=2.0)
    np.testing.assert_allclose(s_float, [np.mean(shifted.numpy())], rtol=1e-6)
    np.testing.assert_allclose(s_uint8, s_float, atol=0.005)


def test_psnr_ssim_reject_mismatched_inputs():
    ref = smooth_video()
    for metric in (quality.psnr, quality.ssim):
        with pytest.raises(ValueError, match="one shape"):
            metric(ref[:, :2], ref)
        with pytest.raises(ValueError, match="one shape"):
            metric(ref[0], ref[0])  # 4-D frames, not videos
        with pytest.raises(ValueError, match="dtypes differ"):
            metric(pixels.to_uint8(ref), ref)
