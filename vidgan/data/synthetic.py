"""Built-in procedural videos, rendered inside tf.data: nothing to download.

Each source maps a clip index (int64 scalar) to (clip `[T, H, W, 3]` float32 in
[-1, 1], label int32 []). A clip is a pure function of (data.seed, index), so a resumed
run sees exactly the clips it would have seen without the interruption. With
data.labels, every object of a clip is of one class (the label); without, objects are
drawn independently (label -1) and the stream is the one unlabelled runs always saw.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Callable

import cv2
import numpy as np
import tensorflow as tf

if TYPE_CHECKING:
    from vidgan.config import DataConfig

ClipFn = Callable[[tf.Tensor], tuple[tf.Tensor, tf.Tensor]]


def _bounce(start: tf.Tensor, velocity: tf.Tensor, t: tf.Tensor, span: tf.Tensor) -> tf.Tensor:
    """Position on [0, span] of a point moving at `velocity` and reflecting off both ends.

    start, velocity, span: [N]; t: [T] -> [T, N]. A triangle wave of period 2*span.
    """
    travelled = start[None, :] + velocity[None, :] * t[:, None]
    return span - tf.abs(tf.math.floormod(travelled, 2.0 * span) - span)


def _trajectories(seed: tf.Tensor, n: int, num_frames: int, span_x, span_y, speed):
    """Random start points in the box and velocities of `speed * [0.5, 1]` pixels/frame.

    Returns x, y: [T, N] positions in [0, span_x] x [0, span_y].
    """
    seeds = tf.random.experimental.stateless_split(seed, 3)
    start = tf.random.stateless_uniform([2, n], seeds[0])
    angle = tf.random.stateless_uniform([n], seeds[1], 0.0, 2.0 * np.pi)
    magnitude = speed * tf.random.stateless_uniform([n], seeds[2], 0.5, 1.0)
    t = tf.range(num_frames, dtype=tf.float32)
    x = _bounce(start[0] * span_x, magnitude * tf.cos(angle), t, span_x)
    y = _bounce(start[1] * span_y, magnitude * tf.sin(angle), t, span_y)
    return x, y


def _clip_seed(config: DataConfig, index: tf.Tensor) -> tf.Tensor:
    return tf.stack([tf.constant(config.seed, tf.int64), tf.cast(index, tf.int64)])


def bouncing_shapes(config: DataConfig) -> ClipFn:
    """Colored circles and squares with constant velocities, bouncing off the walls.

    Anti-aliased edges on a black background; later objects are drawn over earlier ones.
    Classes: "circle", "square" (labelled clips hold one kind).
    """
    n, frames, h, w = config.num_objects, config.num_frames, config.height, config.width
    radius = 0.5 * config.object_size * min(h, w)  # half-extent in pixels
    speed = config.max_speed * min(h, w)
    # Pixel centers, [1, H, W].
    yy, xx = tf.meshgrid(tf.range(h, dtype=tf.float32) + 0.5,
                         tf.range(w, dtype=tf.float32) + 0.5, indexing="ij")
    yy, xx = yy[None], xx[None]

    def clip(index: tf.Tensor) -> tf.Tensor:
        traj_seed, color_seed, kind_seed = tf.unstack(
            tf.random.experimental.stateless_split(_clip_seed(config, index), 3))
        x, y = _trajectories(traj_seed, n, frames, w - 2 * radius, h - 2 * radius, speed)
        x, y = x + radius, y + radius  # [T, N] centers
        hsv = tf.random.stateless_uniform([n, 3], color_seed, [0.0, 0.7, 0.8], [1.0, 1.0, 1.0])
        colors = tf.image.hsv_to_rgb(hsv)  # [N, 3] in [0, 1]
        kinds = 1 if config.labels else n
        is_circle = tf.random.stateless_uniform([kinds], kind_seed) < 0.5
        is_circle = tf.broadcast_to(is_circle, [n])
        video = tf.zeros([frames, h, w, 3])
        for k in range(n):
            dx = tf.abs(xx - x[:, k, None, None])  # [T, H, W]
            dy = tf.abs(yy - y[:, k, None, None])
            distance = tf.where(is_circle[k], tf.sqrt(dx**2 + dy**2), tf.maximum(dx, dy))
            alpha = tf.clip_by_value(radius + 0.5 - distance, 0.0, 1.0)[..., None]
            video = video * (1.0 - alpha) + colors[k] * alpha  # [T, H, W, 3]
        label = tf.where(is_circle[0], 0, 1) if config.labels else tf.constant(-1)
        return video * 2.0 - 1.0, label

    return clip


def digit_sprites(size: int) -> np.ndarray:
    """Digits 0-9 drawn with OpenCV's Hershey simplex font: [10, size, size] in [0, 1]."""
    font, thickness = cv2.FONT_HERSHEY_SIMPLEX, max(1, size // 8)
    (tw, th), base = cv2.getTextSize("0", font, 1.0, thickness)
    scale = 0.8 * size / (th + base)
    sprites = np.zeros((10, size, size), np.uint8)
    for digit in range(10):
        (tw, th), base = cv2.getTextSize(str(digit), font, scale, thickness)
        origin = ((size - tw) // 2, (size + th) // 2)
        cv2.putText(sprites[digit], str(digit), origin, font, scale, 255, thickness, cv2.LINE_AA)
    return sprites.astype(np.float32) / 255.0


def moving_digits(config: DataConfig) -> ClipFn:
    """White digits (Hershey font glyphs) gliding and bouncing on black, Moving-MNIST style.

    Sub-pixel motion through a bilinear translation of each digit's sprite.
    Classes: "0".."9" (labelled clips show one digit, num_objects times).
    """
    n, frames, h, w = config.num_objects, config.num_frames, config.height, config.width
    size = min(min(h, w) - 1, max(4, round(config.object_size * min(h, w))))
    # Each sprite sits in the top-left corner of an [H, W] canvas, then is translated.
    sprites = np.zeros((10, h, w, 1), np.float32)
    sprites[:, :size, :size, 0] = digit_sprites(size)
    sprites = tf.constant(sprites)
    speed = config.max_speed * min(h, w)

    def clip(index: tf.Tensor) -> tf.Tensor:
        traj_seed, digit_seed = tf.unstack(
            tf.random.experimental.stateless_split(_clip_seed(config, index), 2))
        x, y = _trajectories(traj_seed, n, frames, float(w - size), float(h - size), speed)
        digits = tf.random.stateless_uniform([1 if config.labels else n], digit_seed, 0, 10,
                                             dtype=tf.int32)
        digits = tf.broadcast_to(digits, [n])
        images = tf.repeat(tf.gather(sprites, digits), frames, axis=0)  # [N*T, H, W, 1]
        dx = tf.reshape(tf.transpose(x), [-1])  # [N*T], object-major like `images`
        dy = tf.reshape(tf.transpose(y), [-1])
        ones, zeros = tf.ones_like(dx), tf.zeros_like(dx)
        # Output pixel (u, v) samples input (u - dx, v - dy).
        transforms = tf.stack([ones, zeros, -dx, zeros, ones, -dy, zeros, zeros], axis=1)
        moved = tf.raw_ops.ImageProjectiveTransformV3(
            images=images, transforms=transforms, output_shape=[h, w], fill_value=0.0,
            interpolation="BILINEAR", fill_mode="CONSTANT")  # [N*T, H, W, 1]
        gray = tf.reduce_max(tf.reshape(moved, [n, frames, h, w, 1]), axis=0)  # [T, H, W, 1]
        label = digits[0] if config.labels else tf.constant(-1)
        return tf.tile(gray, [1, 1, 1, 3]) * 2.0 - 1.0, label

    return clip


@dataclasses.dataclass(frozen=True)
class SyntheticSource:
    """make: data config -> clip function; class_names: the labels' names, in order."""

    make: Callable[[DataConfig], ClipFn]
    class_names: tuple[str, ...]


SOURCES: dict[str, SyntheticSource] = {
    "bouncing_shapes": SyntheticSource(bouncing_shapes, ("circle", "square")),
    "moving_digits": SyntheticSource(moving_digits, tuple(str(d) for d in range(10))),
}


# --- the source interface (vidgan.data.registry) ---------------------------------------------
def make_dataset(config: DataConfig, batch_size: int, start_index: int) -> tf.data.Dataset:
    """Batches of clips start_index, start_index + 1, ... ({"video"[, "label"]})."""
    clip_fn = SOURCES[config.source].make(config)

    def element(i):
        video, label = clip_fn(i)
        return {"video": video, "label": label} if config.labels else {"video": video}

    ds = tf.data.Dataset.range(start_index, 2**62)
    ds = ds.map(element, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    ds = ds.batch(batch_size, drop_remainder=True)
    return ds.prefetch(tf.data.AUTOTUNE)


def class_names(config: DataConfig) -> tuple[str, ...]:
    return SOURCES[config.source].class_names


def health(config: DataConfig) -> dict[str, int]:
    return {}  # nothing can be skipped


def fingerprint(config: DataConfig) -> list:
    return []  # a pure function of the config
