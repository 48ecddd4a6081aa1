"""FVD and KVD: distances between sets of I3D features of real and generated videos.

The protocol follows the reference implementation (google-research frechet_video_distance,
Unterthiner et al. 2018): videos as uint8 [0, 255], every frame resized bilinearly to
224x224 with TF1's resize_bilinear (no half-pixel centers), values scaled to [-1, 1],
the 400 pre-softmax Kinetics logits of I3D as features, and the Frechet distance between
the Gaussians fitted to the two feature sets. KVD is the unbiased squared MMD with the
cubic polynomial kernel k(x, y) = (x . y / d + 1)^3 on the same features (as KID).

The distances are numpy (float64): they run once per evaluation on [N, 400] features.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf


I3D_SIZE = 224  # the resolution I3D was trained at and the reference protocol uses


def preprocess(videos: tf.Tensor, size: int = I3D_SIZE) -> tf.Tensor:
    """uint8 [B, T, H, W, 3] -> float32 [B, T, size, size, 3] in [-1, 1], as the reference.

    ResizeBilinear with align_corners=False and half_pixel_centers=False is what the
    reference's tf.image.resize_bilinear ran (TF2's tf.image.resize uses half-pixel centers, which shifts
    the image by half a source pixel and changes FVD at low resolutions).
    """
    videos = tf.convert_to_tensor(videos)
    if videos.dtype != tf.uint8:
        raise ValueError(f"expected uint8 videos [B, T, H, W, 3], got {videos.dtype.name}")
    shape = tf.shape(videos)
    frames = tf.reshape(videos, tf.concat([[-1], shape[2:]], 0))
    resized = tf.raw_ops.ResizeBilinear(images=frames, size=[size, size],
                                        align_corners=False, half_pixel_centers=False)
    resized = tf.reshape(resized, tf.stack([shape[0], shape[1], size, size, 3]))
    # The reference's arithmetic (x * 2/255 - 1), bit for bit; pixels.from_uint8 divides by
    # 127.5, which differs in the last float32 bit for some values.
    return resized * (2.0 / 255.0) - 1.0


def gaussian(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """features [N, D] -> (mean [D], covariance [D, D]) in float64, unbiased (N - 1)."""
    x = np.asarray(features, np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"need features [N >= 2, D], got shape {x.shape}")
    return x.mean(axis=0), np.cov(x, rowvar=False)


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray,
                     sigma2: np.ndarray) -> float:
    """Frechet distance between N(mu1, sigma1) and N(mu2, sigma2):

        |mu1 - mu2|^2 + tr(sigma1) + tr(sigma2) - 2 tr((sigma1 sigma2)^(1/2)).

    tr((s1 s2)^(1/2)) is the sum of the square roots of the eigenvalues of
    s1^(1/2) s2 s1^(1/2), a symmetric PSD matrix: two symmetric eigendecompositions,
    no complex sqrtm, and no blow-up when the covariances are singular (N < D).
    """
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    s1, s2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
    w, v = np.linalg.eigh((s1 + s1.T) / 2)
    root1 = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    middle = root1 @ s2 @ root1
    eig = np.linalg.eigvalsh((middle + middle.T) / 2)
    trace_sqrt = np.sqrt(np.clip(eig, 0, None)).sum()
    value = np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * trace_sqrt
    return float(max(value, 0.0))


def fvd(real: np.ndarray, fake: np.ndarray) -> float:
    """FVD between two feature sets [N, D] and [M, D]."""
    return frechet_distance(*gaussian(real), *gaussian(fake))


def kernel_distance(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased squared MMD with k(a, b) = (a . b / d + 1)^3 (the KID estimator).

    x [N, D], y [M, D], N, M >= 2. Diagonal terms k(x_i, x_i) are left out of the
    within-set means, so the estimate is unbiased (and can be slightly negative).
    """
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"need features [N, D] and [M, D], got {x.shape} and {y.shape}")
    n, m, d = x.shape[0], y.shape[0], x.shape[1]
    if n < 2 or m < 2:
        raise ValueError("the unbiased estimator needs at least 2 samples per set")
    kxx = (x @ x.T / d + 1) ** 3
    kyy = (y @ y.T / d + 1) ** 3
    kxy = (x @ y.T / d + 1) ** 3
    within_x = (kxx.sum() - np.trace(kxx)) / (n * (n - 1))
    within_y = (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
    return float(within_x + within_y - 2 * kxy.mean())
