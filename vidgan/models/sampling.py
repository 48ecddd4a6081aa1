"""The one rule that turns seeds into a generator's noise inputs.

Every noise input of a generator (see `InputSpec`) is drawn PER EXAMPLE from a seed pair
[2] int64 with `tf.random.stateless_normal`: the k-th noise input (in the generator's
declared order) of an example with seed pair p is `stateless_normal(shape, fold_in(p, k))`
for k > 0 and `stateless_normal(shape, p)` for k = 0. The seed pair of

- an exported or evaluated video of seed s is [s, SEED_STREAM]; when a context model
  extends a video chunk by chunk, chunk c > 0 of seed s uses fold_in([s, SEED_STREAM], c)
  (chunk 0 is seed s's, so animating and extending by one chunk agree);
- example i of stream `stream` at training step `step` is
  fold_in(fold_in(fold_in([train.seed, step], stream), index), i)
  (`index` tells apart the n_critic D updates of a step).

Drawing per example makes a batch's inputs independent of its size and of how it is split
across replicas, so "seed s gives the same video" holds at every batch size and a mirrored
run sees what one device sees.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from vidgan.models.base import InputSpec

SEED_STREAM = 0  # the second half of an exported seed's pair (room for other streams)


def noise_specs(specs: dict[str, InputSpec]) -> dict[str, InputSpec]:
    return {name: spec for name, spec in specs.items() if spec.source == "noise"}


def draw_noise(specs: dict[str, InputSpec], seed_pairs: tf.Tensor,
               shapes: dict[str, tuple] | None = None) -> dict[str, tf.Tensor]:
    """seed_pairs int64 [N, 2] -> {noise input name: float32 [N, *shape]}.

    `shapes` overrides per-example shapes (Generator.noise_shapes of a longer render; a
    dimension may be an int32 scalar tensor). A longer first dimension draws the same
    leading rows: stateless_normal fills its output in order from one counter stream.
    """
    fold_in = tf.random.experimental.stateless_fold_in
    out = {}
    for k, (name, spec) in enumerate(noise_specs(specs).items()):
        shape = tuple((shapes or {}).get(name, spec.shape))

        def one(pair, k=k, shape=shape, dtype=spec.dtype):
            return tf.random.stateless_normal(shape, pair if k == 0 else fold_in(pair, k),
                                              dtype=dtype)

        static = [d if isinstance(d, int) else None for d in shape]
        values = tf.map_fn(one, seed_pairs,
                           fn_output_signature=tf.TensorSpec(static, spec.dtype))
        out[name] = tf.reshape(values, [-1, *shape])  # per-example shape, static if known
    return out


def seed_pairs_for_seeds(seeds: tf.Tensor) -> tf.Tensor:
    """Exported seeds int64 [N] -> seed pairs [N, 2]: [s, SEED_STREAM]."""
    seeds = tf.cast(seeds, tf.int64)
    return tf.stack([seeds, tf.fill(tf.shape(seeds), tf.constant(SEED_STREAM, tf.int64))],
                    axis=1)


def seed_pairs_for_chunk(seeds: tf.Tensor, chunk: tf.Tensor) -> tf.Tensor:
    """Seeds int64 [N] and a chunk index (int scalar) -> seed pairs [N, 2] of that chunk of
    an extension: chunk 0 is seed_pairs_for_seeds(seeds), chunk c > 0 folds c in."""
    pairs = seed_pairs_for_seeds(seeds)
    chunk = tf.cast(chunk, tf.int64)
    folded = tf.map_fn(lambda p: tf.random.experimental.stateless_fold_in(p, chunk), pairs,
                       fn_output_signature=tf.TensorSpec([2], tf.int64))
    return tf.where(chunk > 0, folded, pairs)


def seed_pairs_for_step(train_seed: int, step: tf.Tensor, stream: int, index: int,
                        rows: tf.Tensor) -> tf.Tensor:
    """Training example rows int [N] (global batch positions) -> seed pairs [N, 2]."""
    fold_in = tf.random.experimental.stateless_fold_in
    base = tf.stack([tf.constant(train_seed, tf.int64), tf.cast(step, tf.int64)])
    base = fold_in(fold_in(base, stream), index)
    return tf.map_fn(lambda i: fold_in(base, i), tf.cast(rows, tf.int64),
                     fn_output_signature=tf.TensorSpec([2], tf.int64))


def _size(spec: InputSpec) -> int:
    return int(np.prod(spec.shape, dtype=np.int64))


def latent_width(specs: dict[str, InputSpec]) -> int:
    """The width of a flat latent vector holding every noise input (export's "latents")."""
    return sum(_size(spec) for spec in noise_specs(specs).values())


def flatten_noise(specs: dict[str, InputSpec], noise: dict[str, tf.Tensor]) -> tf.Tensor:
    """{noise input: [N, *shape]} -> [N, latent_width]: each input flattened, in the
    generator's declared order."""
    return tf.concat([tf.reshape(noise[name], [-1, _size(spec)])
                      for name, spec in noise_specs(specs).items()], axis=1)


def unflatten_noise(specs: dict[str, InputSpec], flat: tf.Tensor) -> dict[str, tf.Tensor]:
    """The inverse of flatten_noise: [N, latent_width] -> {noise input: [N, *shape]}."""
    out, start = {}, 0
    for name, spec in noise_specs(specs).items():
        out[name] = tf.reshape(flat[:, start:start + _size(spec)], [-1, *spec.shape])
        start += _size(spec)
    return out
