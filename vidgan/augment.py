"""Differentiable augmentation for video (DiffAugment: Zhao et al. 2020, "Differentiable
Augmentation for Data-Efficient GAN Training": color, translation, cutout; and two flips,
left-right as in ADA, Karras et al. 2020, and in time).

Applied to every video the discriminator sees, real and fake, in both the D and the G
updates; gradients flow through to the generator. Each clip gets ONE set of parameters
for all its frames (a shifted clip still moves like the original). Randomness comes from
a stateless seed through `RowRandom`, so a run is a pure function of (train.seed, step)
and N replicas draw exactly what one device would.

    videos = augment(videos, "color,translation,cutout", RowRandom(seed, batch))

Shapes: [B, T, H, W, C] float in [-1, 1] -> the same shape and dtype.
"""

from __future__ import annotations

from typing import Callable

import tensorflow as tf

from vidgan.rng import RowRandom


def _per_clip(x: tf.Tensor, like: tf.Tensor) -> tf.Tensor:
    """[B] -> [B, 1, 1, 1, 1] in like's dtype."""
    return tf.reshape(tf.cast(x, like.dtype), [-1, 1, 1, 1, 1])


def color(videos: tf.Tensor, rng: RowRandom) -> tf.Tensor:
    """Brightness (+U[-0.5, 0.5]), saturation (x U[0, 2] about the pixel's channel mean)
    and contrast (x U[0.5, 1.5] about the clip's mean), as DiffAugment on [-1, 1] images."""
    x = videos + _per_clip(rng.uniform(minval=-0.5, maxval=0.5), videos)
    mean = tf.reduce_mean(x, axis=-1, keepdims=True)
    x = (x - mean) * _per_clip(rng.uniform(maxval=2.0), x) + mean
    mean = tf.reduce_mean(x, axis=[1, 2, 3, 4], keepdims=True)
    return (x - mean) * _per_clip(rng.uniform(minval=0.5, maxval=1.5), x) + mean


def _shift_matrices(shift: tf.Tensor, n: int, dtype) -> tf.Tensor:
    """shift [B] int -> [B, n, n] with M[b, i, j] = 1 where j = i - shift[b]: out = M @ x
    moves x by shift[b] along that axis, filling with zeros."""
    i = tf.range(n)[None, :, None]
    j = tf.range(n)[None, None, :]
    return tf.cast(tf.equal(j, i - shift[:, None, None]), dtype)


def translation(videos: tf.Tensor, rng: RowRandom, ratio: float = 0.125) -> tf.Tensor:
    """Moves each clip by up to `ratio` of H and W (whole pixels, zero = mid-gray fill)."""
    h, w = videos.shape[2], videos.shape[3]
    max_y, max_x = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = rng.uniform(minval=-max_y, maxval=max_y + 1, dtype=tf.int32)
    dx = rng.uniform(minval=-max_x, maxval=max_x + 1, dtype=tf.int32)
    x = tf.einsum("bij,btjwc->btiwc", _shift_matrices(dy, h, videos.dtype), videos)
    return tf.einsum("bkl,btilc->btikc", _shift_matrices(dx, w, videos.dtype), x)


def cutout(videos: tf.Tensor, rng: RowRandom, ratio: float = 0.5) -> tf.Tensor:
    """Zeroes one (ratio H) x (ratio W) rectangle per clip, at the same place in every
    frame; its center is uniform over the frame (the rectangle may leave it)."""
    h, w = videos.shape[2], videos.shape[3]
    size_y, size_x = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = rng.uniform(minval=0, maxval=h, dtype=tf.int32)[:, None]
    cx = rng.uniform(minval=0, maxval=w, dtype=tf.int32)[:, None]
    rows = tf.abs(tf.range(h)[None, :] * 2 + 1 - (cy * 2 + 1)) < size_y  # [B, H]
    cols = tf.abs(tf.range(w)[None, :] * 2 + 1 - (cx * 2 + 1)) < size_x  # [B, W]
    hole = tf.logical_and(rows[:, :, None], cols[:, None, :])  # [B, H, W]
    keep = tf.cast(tf.logical_not(hole), videos.dtype)[:, None, :, :, None]
    return videos * keep


def _some(videos: tf.Tensor, rng: RowRandom, changed: tf.Tensor) -> tf.Tensor:
    """`changed` for half of the clips (chosen per clip), `videos` for the others."""
    pick = rng.uniform() < 0.5  # [B]
    return tf.where(tf.reshape(pick, [-1, 1, 1, 1, 1]), changed, videos)


def flip(videos: tf.Tensor, rng: RowRandom) -> tf.Tensor:
    """Mirrors half of the clips left-right (ADA's x-flip; Karras et al. 2020)."""
    return _some(videos, rng, tf.reverse(videos, axis=[3]))


def reverse(videos: tf.Tensor, rng: RowRandom) -> tf.Tensor:
    """Plays half of the clips backwards. As every augmentation here, D sees it on real and
    fake alike, so G is not asked to make reversed clips; it only regularizes D."""
    return _some(videos, rng, tf.reverse(videos, axis=[1]))


AUGMENTATIONS: dict[str, Callable[[tf.Tensor, RowRandom], tf.Tensor]] = {
    "color": color,
    "translation": translation,
    "cutout": cutout,
    "flip": flip,
    "reverse": reverse,
}


# Augmentations that take a size: "name:ratio" sets it (e.g. "cutout:0.625").
_RATIOS = {"translation": (0.0, 0.5), "cutout": (0.0, 1.0)}


def _split(item: str) -> tuple[str, float | None]:
    name, colon, ratio = item.partition(":")
    if not colon or name not in AUGMENTATIONS:  # an unknown name is reported by parse
        return name, None
    if name not in _RATIOS:
        raise ValueError(f"augmentation {name!r} takes no ratio (only "
                         f"{', '.join(_RATIOS)} do, as name:ratio)")
    low, high = _RATIOS[name]
    try:
        value = float(ratio)
    except ValueError:
        value = -1.0
    if not low < value <= high:
        raise ValueError(f"{item!r}: the ratio of {name} must be in ({low}, {high}]")
    return name, value


def parse(policy: str) -> tuple[str, ...]:
    """"color,translation,cutout:0.625" -> ("color", "translation", "cutout:0.625");
    "" -> (). ValueError names an unknown or repeated augmentation or a bad ratio."""
    items = tuple(p.strip() for p in policy.split(",") if p.strip())
    names = [_split(item)[0] for item in items]
    for name in names:
        if name not in AUGMENTATIONS:
            raise ValueError(f"unknown augmentation {name!r}; expected a comma-separated "
                             f"list of {', '.join(AUGMENTATIONS)}")
    if len(set(names)) != len(names):
        raise ValueError(f"augmentation policy {policy!r} repeats a name")
    return items


def augment(videos: tf.Tensor, policy: str | tuple[str, ...], rng: RowRandom) -> tf.Tensor:
    """Applies the policy's augmentations in order: [B, T, H, W, C] -> the same shape."""
    items = parse(policy) if isinstance(policy, str) else policy
    for item in items:
        name, ratio = _split(item)
        extra = {} if ratio is None else {"ratio": ratio}
        videos = AUGMENTATIONS[name](videos, rng, **extra)
    return videos
