"""Stateless per-clip randomness for the train step (augmentation, penalty noise)."""

from __future__ import annotations

import tensorflow as tf


class RowRandom:
    """Per-clip random numbers [rows, ...] from a stateless seed [2].

    Each draw is made for the GLOBAL batch (`global_batch` rows) under its own folded
    seed, then rows [start, start + size) are kept: replica r of a mirrored run gets the
    rows of its slice of the batch, the same numbers one device draws for them.
    """

    def __init__(self, seed: tf.Tensor, global_batch: int, start=0, size: int | None = None):
        self.seed = tf.cast(seed, tf.int64)
        self.global_batch, self.start = global_batch, start
        self.size = global_batch if size is None else size
        self._draws = 0

    def uniform(self, shape: tuple[int, ...] = (), minval=0.0, maxval=1.0,
                dtype=tf.float32) -> tf.Tensor:
        """Uniform in [minval, maxval): [size, *shape] (ints: maxval excluded)."""
        seed = tf.random.experimental.stateless_fold_in(self.seed, self._draws)
        self._draws += 1
        values = tf.random.stateless_uniform([self.global_batch, *shape], seed, minval,
                                             maxval, dtype=dtype)
        return values[self.start:self.start + self.size]
