"""The pixel convention: models compute on float32 in [-1, 1]; files, exports, summaries
and metrics exchange uint8 in [0, 255]. Every crossing between the two goes through here."""

from __future__ import annotations

import tensorflow as tf


def to_uint8(video) -> tf.Tensor:
    """float [-1, 1] -> uint8 [0, 255], rounded and clipped; any shape."""
    return round_uint8((tf.cast(video, tf.float32) + 1.0) * 127.5)


def round_uint8(pixels) -> tf.Tensor:
    """float on the 0..255 scale (e.g. a resized uint8 image) -> uint8, rounded and
    clipped; any shape."""
    pixels = tf.cast(pixels, tf.float32)
    return tf.cast(tf.clip_by_value(tf.round(pixels), 0.0, 255.0), tf.uint8)


def from_uint8(video) -> tf.Tensor:
    """uint8 (or float on the 0..255 scale, clipped to it) -> float32 [-1, 1]; any shape."""
    video = tf.cast(video, tf.float32)
    return tf.clip_by_value(video, 0.0, 255.0) / 127.5 - 1.0


def quantize(video: tf.Tensor) -> tf.Tensor:
    """float [-1, 1] -> the nearest float a uint8 round trip gives (what a file would hold)."""
    return from_uint8(to_uint8(video))
