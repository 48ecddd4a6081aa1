"""The [-1, 1] <-> uint8 convention (vidgan.pixels), by hand."""

import numpy as np
import tensorflow as tf

from vidgan import pixels


def test_to_uint8_table():
    """-1 -> 0, 1 -> 255, 0 -> 127.5 rounded to 128, -0.5 -> 63.75 -> 64; out of range clips."""
    x = tf.constant([-1.0, 1.0, 0.0, -0.5, -3.0, 2.5, 1.001, -1.001, -1.0 + 1 / 127.5, 0.5])
    out = pixels.to_uint8(x)
    assert out.dtype == tf.uint8
    assert out.numpy().tolist() == [0, 255, 128, 64, 0, 255, 255, 0, 1, 191]


def test_to_uint8_takes_numpy_any_shape():
    x = np.array([[-1.0, 1.0, 0.0], [-0.5, 2.0, -3.0]], np.float32)
    out = pixels.to_uint8(x).numpy()
    assert out.dtype == np.uint8 and out.shape == (2, 3)
    np.testing.assert_array_equal(out, [[0, 255, 128], [64, 255, 0]])


def test_from_uint8_inverts_to_uint8():
    levels = np.arange(256, dtype=np.uint8)
    x = pixels.from_uint8(levels)
    assert x.dtype == tf.float32
    assert float(tf.reduce_min(x)) == -1.0 and float(tf.reduce_max(x)) == 1.0
    np.testing.assert_array_equal(pixels.to_uint8(x).numpy(), levels)


def test_from_uint8_clips_float_input_to_the_byte_range():
    out = pixels.from_uint8(tf.constant([-20.0, 0.0, 255.0, 300.0])).numpy()
    np.testing.assert_array_equal(out, [-1.0, -1.0, 1.0, 1.0])


def test_quantize_is_a_uint8_round_trip():
    x = tf.constant([-1.0, -0.4999, 0.3, 0.9999, 1.7])
    expected = tf.cast(pixels.to_uint8(x), tf.float32) / 127.5 - 1.0
    np.testing.assert_array_equal(pixels.quantize(x).numpy(), expected.numpy())
    # every value lands on one of the 256 levels
    levels = (pixels.quantize(x).numpy() + 1.0) * 127.5
    np.testing.assert_allclose(levels, np.round(levels), atol=1e-4)
