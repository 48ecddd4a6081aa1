"""The training step's randomness: stateless streams keyed by (train.seed, step, stream,
index, global row), so a resumed run, and N replicas, draw exactly what one device would."""

from __future__ import annotations

import tensorflow as tf

from vidgan.models import sampling
from vidgan.rng import RowRandom

# Streams, folded into (train.seed, step).
LATENTS_D, LATENTS_G, PENALTY = 0, 1, 2
AUGMENT_D_REAL, AUGMENT_D_FAKE, AUGMENT_G, D_CHOICES, D_CHOICES_G = 4, 5, 6, 7, 8
AUGMENT_G_REAL = 9


class Streams:
    """Seeds and per-row draws of one training run (call inside a replica context)."""

    def __init__(self, seed: int, global_batch: int):
        self.base_seed, self.global_batch = seed, global_batch

    def seed(self, step: tf.Tensor, stream: int, index: int = 0) -> tf.Tensor:
        """A stateless seed [2] for (step, stream, index): the same on every replica."""
        base = tf.stack([tf.constant(self.base_seed, tf.int64), tf.cast(step, tf.int64)])
        fold_in = tf.random.experimental.stateless_fold_in
        return fold_in(fold_in(base, stream), index)

    def rows(self) -> tuple[tf.Tensor, int]:
        """(first global-batch row of this replica, rows per replica).

        The distributed dataset gives replica r rows [r*b, (r+1)*b) of each batch; every
        random draw is keyed by global row, so N replicas see exactly what one device would.
        """
        ctx = tf.distribute.get_replica_context()
        local = self.global_batch // ctx.num_replicas_in_sync
        return ctx.replica_id_in_sync_group * local, local

    def rng(self, step: tf.Tensor, stream: int, index: int = 0) -> RowRandom:
        """Per-row draws (augmentation, penalty noise) for this replica's rows."""
        start, local = self.rows()
        return RowRandom(self.seed(step, stream, index), self.global_batch, start, local)

    def noise_pairs(self, step: tf.Tensor, stream: int, index: int = 0) -> tf.Tensor:
        """The generator's noise seeds for this replica's rows (sampling's rule)."""
        start, local = self.rows()
        return sampling.seed_pairs_for_step(self.base_seed, step, stream, index,
                                            tf.range(start, start + local))
