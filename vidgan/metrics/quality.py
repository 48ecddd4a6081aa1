"""PSNR and SSIM of videos against a reference (enhancement, continuation).

Both are TF's image metrics applied frame by frame and averaged over T, per video:
a [B] result, so callers choose how to aggregate (mean over a test set, worst case...).
"""

from __future__ import annotations

import tensorflow as tf


def _frames(videos: tf.Tensor, reference: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, float]:
    """Both [B, T, H, W, C] of one dtype -> float32 frames [B*T, H, W, C] and the range."""
    videos, reference = tf.convert_to_tensor(videos), tf.convert_to_tensor(reference)
    if videos.shape.rank != 5 or videos.shape != reference.shape:
        raise ValueError(f"need two videos [B, T, H, W, C] of one shape, got {videos.shape} "
                         f"and {reference.shape}")
    if videos.dtype != reference.dtype:
        raise ValueError(f"dtypes differ: {videos.dtype.name} and {reference.dtype.name}")
    # uint8 in [0, 255]; float videos are the library's [-1, 1], shifted to [0, 2]: SSIM's
    # luminance term assumes intensities in [0, max_val] (it is not shift-invariant).
    max_val, offset = (255.0, 0.0) if videos.dtype == tf.uint8 else (2.0, 1.0)
    shape = tf.shape(videos)
    flat = tf.concat([[-1], shape[2:]], 0)
    return (tf.reshape(tf.cast(videos, tf.float32) + offset, flat),
            tf.reshape(tf.cast(reference, tf.float32) + offset, flat), max_val)


def psnr(videos: tf.Tensor, reference: tf.Tensor) -> tf.Tensor:
    """Mean per-frame PSNR (dB) of each video: [B, T, H, W, C] x2 -> float32 [B].

    uint8 videos are taken in [0, 255], float videos in [-1, 1]. Identical frames give
    +inf (TF's convention), which then dominates the mean: compare distinct videos.
    """
    a, b, max_val = _frames(videos, reference)
    per_frame = tf.image.psnr(a, b, max_val=max_val)
    return tf.reduce_mean(tf.reshape(per_frame, tf.shape(videos)[:2]), axis=1)


def ssim(videos: tf.Tensor, reference: tf.Tensor) -> tf.Tensor:
    """Mean per-frame SSIM of each video (11x11 Gaussian window, sigma 1.5): -> float32 [B].

    Frames must be at least 11x11. uint8 in [0, 255], float in [-1, 1].
    """
    a, b, max_val = _frames(videos, reference)
    per_frame = tf.image.ssim(a, b, max_val=max_val)
    return tf.reduce_mean(tf.reshape(per_frame, tf.shape(videos)[:2]), axis=1)
