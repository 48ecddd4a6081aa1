"""Cheap summary statistics of video batches: a learning signal without a feature network.

Used by the training loop (logged next to the samples) and by
benchmarks/precision_learning.py. FVD with the real I3D lives beside it, in `fvd.py`.
"""

from __future__ import annotations

import numpy as np

STAT_NAMES = (
    "mean_r", "mean_g", "mean_b",  # color balance
    "std_r", "std_g", "std_b",  # contrast
    "temporal_diff",  # mean |x[t+1] - x[t]|: how much moves
    "spatial_grad",  # mean |dx| + |dy|: edges and texture
    "dark_fraction",  # share of pixels near black (the synthetic background)
)


def video_statistics(videos: np.ndarray) -> np.ndarray:
    """[N, T, H, W, 3] float in [-1, 1] -> statistics [len(STAT_NAMES)] over the batch."""
    v = np.asarray(videos, np.float32)
    if v.ndim != 5 or v.shape[-1] != 3:
        raise ValueError(f"expected videos [N, T, H, W, 3], got shape {v.shape}")
    axes = (0, 1, 2, 3)
    temporal = np.abs(np.diff(v, axis=1)).mean() if v.shape[1] > 1 else 0.0
    spatial = np.abs(np.diff(v, axis=2)).mean() + np.abs(np.diff(v, axis=3)).mean()
    dark = (v.max(axis=-1) < -0.8).mean()
    return np.concatenate([v.mean(axis=axes), v.std(axis=axes), [temporal, spatial, dark]])


def statistics_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Euclidean distance between the statistics of two video batches [N, T, H, W, 3]."""
    return float(np.linalg.norm(video_statistics(a) - video_statistics(b)))
