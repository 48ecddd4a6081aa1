"""Video grids and animated-GIF summaries that play in TensorBoard's Images dashboard."""

from __future__ import annotations

import math
import os

import numpy as np
import tensorflow as tf
from tensorboard.plugins.image import metadata as image_metadata

from vidgan import pixels
from vidgan.data.video_io import encode_gif


def video_grid(videos: np.ndarray, columns: int | None = None, gap: int = 1) -> np.ndarray:
    """Tiles clips into one clip: [N, T, H, W, C] -> [T, rows*(H+gap)-gap, cols*(W+gap)-gap, C].

    Gaps are black; with `columns=None` the grid is as square as possible.
    """
    n, t, h, w, c = videos.shape
    columns = columns or math.ceil(math.sqrt(n))
    rows = math.ceil(n / columns)
    grid = np.zeros((t, rows * (h + gap) - gap, columns * (w + gap) - gap, c), videos.dtype)
    for i in range(n):
        r, col = divmod(i, columns)
        grid[:, r * (h + gap):r * (h + gap) + h, col * (w + gap):col * (w + gap) + w] = videos[i]
    return grid


def write_gif(tag: str, gif: bytes, width: int, height: int, step: int,
              description: str = "") -> None:
    """Writes GIF bytes as an image summary (the Images dashboard animates it).

    Must be called under a default summary writer.
    """
    tensor = tf.stack([tf.as_string(width), tf.as_string(height), tf.constant(gif)])
    meta = image_metadata.create_summary_metadata(
        display_name=tag, description=description)
    tf.summary.write(tag, tensor, step=step, metadata=meta)


def write_video_grid(tag: str, videos: np.ndarray, step: int, fps: float,
                     path: str | None = None, description: str = "",
                     columns: int | None = None) -> bytes:
    """[N, T, H, W, 3] float in [-1, 1] -> one animated-GIF summary (and file at `path`);
    `columns` as video_grid."""
    grid = video_grid(pixels.to_uint8(videos).numpy(), columns)
    gif = encode_gif(grid, fps)
    write_gif(tag, gif, width=grid.shape[2], height=grid.shape[1], step=step,
              description=description)
    if path is not None:
        tf.io.gfile.makedirs(os.path.dirname(path) or ".")
        with tf.io.gfile.GFile(path, "wb") as f:
            f.write(gif)
    return gif
