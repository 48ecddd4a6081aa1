"""Input pipelines: tf.data datasets of {"video": float32 [B, T, H, W, 3] in [-1, 1]}."""

from __future__ import annotations

import tensorflow as tf

from vidgan.config import DataConfig
from vidgan.data.synthetic import SOURCES


def make_dataset(config: DataConfig, batch_size: int, start_index: int = 0) -> tf.data.Dataset:
    """An endless, deterministic dataset of batches, starting at clip `start_index`.

    Clip i is a pure function of (config.seed, i), so resuming at
    `start_index = clips already consumed` continues the exact same stream.
    Yields {"video": [batch_size, T, H, W, 3]} float32 in [-1, 1].
    """
    clip_fn = SOURCES[config.source](config)
    ds = tf.data.Dataset.range(start_index, 2**62)
    ds = ds.map(lambda i: {"video": clip_fn(i)}, num_parallel_calls=tf.data.AUTOTUNE,
                deterministic=True)
    ds = ds.batch(batch_size, drop_remainder=True)
    return ds.prefetch(tf.data.AUTOTUNE)


__all__ = ["SOURCES", "make_dataset"]
