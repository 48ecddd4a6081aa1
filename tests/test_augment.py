"""DiffAugment for video (vidgan.augment): one transform per clip, gradients, determinism,
and per-replica rows equal to one device's."""

import numpy as np
import pytest
import tensorflow as tf

from vidgan import augment
from vidgan.rng import RowRandom


def _clips(batch=4, frames=5, size=16, seed=0):
    return tf.random.stateless_uniform([batch, frames, size, size, 3], [seed, 1], -1, 1)


def _static(batch=4, frames=5, size=16):
    """Clips whose frames are all the same image."""
    image = tf.random.stateless_uniform([batch, 1, size, size, 3], [5, 5], -1, 1)
    return tf.tile(image, [1, frames, 1, 1, 1])


ALL = ",".join(augment.AUGMENTATIONS)


@pytest.mark.parametrize("name", sorted(set(augment.AUGMENTATIONS) - {"reverse"}))
def test_same_parameters_for_every_frame(name):
    """A clip of identical frames stays a clip of identical frames, and is changed (time
    reversal leaves such a clip as it is: tested below)."""
    x = _static()
    y = augment.AUGMENTATIONS[name](x, RowRandom([1, 2], 4)).numpy()
    assert y.shape == x.shape
    for t in range(1, y.shape[1]):
        np.testing.assert_allclose(y[:, t], y[:, 0], atol=1e-6)
    assert not np.allclose(y, x.numpy())


def test_translation_moves_whole_pixels_with_zero_fill():
    x = _clips(batch=8)
    y = augment.translation(x, RowRandom([3, 4], 8)).numpy()
    x = x.numpy()
    moved = 0
    for b in range(8):
        found = False
        for dy in range(-2, 3):
            for dx in range(-2, 3):
                shifted = np.zeros_like(x[b])
                src = x[b][:, max(0, -dy):16 - max(0, dy), max(0, -dx):16 - max(0, dx)]
                shifted[:, max(0, dy):max(0, dy) + src.shape[1],
                        max(0, dx):max(0, dx) + src.shape[2]] = src
                if np.allclose(y[b], shifted, atol=1e-6):
                    found = True
                    moved += (dy, dx) != (0, 0)
        assert found, f"clip {b} is not a shift of at most 2 pixels"
    assert moved > 0


def test_cutout_zeroes_one_rectangle_of_half_the_size():
    x = tf.ones([6, 3, 16, 16, 3])
    y = augment.cutout(x, RowRandom([7, 8], 6)).numpy()
    for b in range(6):
        hole = y[b, 0, :, :, 0] == 0
        rows, cols = np.where(hole)
        assert hole.sum() > 0
        # One axis-aligned rectangle, at most 8x8, every channel and frame alike.
        assert hole.sum() == (np.ptp(rows) + 1) * (np.ptp(cols) + 1)
        assert np.ptp(rows) + 1 <= 8 and np.ptp(cols) + 1 <= 8
        assert np.all((y[b] == 0) == hole[None, :, :, None])


def test_color_is_an_affine_map_per_clip():
    """Brightness, saturation and contrast: y = a x + b(pixel mean) with one set of
    numbers per clip; it maps gray (equal channels) to gray."""
    gray = tf.tile(tf.random.stateless_uniform([3, 2, 8, 8, 1], [1, 1], -1, 1), [1, 1, 1, 1, 3])
    y = augment.color(gray, RowRandom([9, 9], 3)).numpy()
    np.testing.assert_allclose(y[..., 0], y[..., 1], atol=1e-6)
    np.testing.assert_allclose(y[..., 0], y[..., 2], atol=1e-6)


@pytest.mark.parametrize("name, axis", [("flip", 3), ("reverse", 1)])
def test_flips_mirror_whole_clips_about_half_of_the_time(name, axis):
    """Each clip comes out as it was or mirrored (left-right, or in time), whole; both
    happen in a batch of 64."""
    x = _clips(batch=64, frames=4, size=8).numpy()
    y = augment.AUGMENTATIONS[name](tf.constant(x), RowRandom([7, 8], 64)).numpy()
    mirrored = np.array([np.array_equal(b, np.flip(a, axis=axis - 1)) for a, b in zip(x, y)])
    same = np.array([np.array_equal(b, a) for a, b in zip(x, y)])
    assert np.all(mirrored | same) and 16 < mirrored.sum() < 48


def test_gradients_flow_through_every_augmentation():
    x = _clips()
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = augment.augment(x, ALL, RowRandom([1, 1], 4))
        loss = tf.reduce_sum(y ** 2)
    grad = tape.gradient(loss, x).numpy()
    assert np.all(np.isfinite(grad)) and np.count_nonzero(grad) > grad.size // 4


def test_deterministic_in_the_seed():
    x = _clips()
    policy = ALL
    a = augment.augment(x, policy, RowRandom([1, 2], 4)).numpy()
    b = augment.augment(x, policy, RowRandom([1, 2], 4)).numpy()
    c = augment.augment(x, policy, RowRandom([1, 3], 4)).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_replica_rows_match_one_device():
    """Rows [2, 4) of a 4-clip batch, drawn as replica 1 of 2, get the numbers one
    device draws for them."""
    x = _clips()
    whole = augment.augment(x, ALL, RowRandom([4, 4], 4)).numpy()
    part = augment.augment(x[2:], ALL, RowRandom([4, 4], 4, start=2, size=2)).numpy()
    np.testing.assert_allclose(part, whole[2:], atol=1e-6)


def test_parse_rejects_unknown_and_repeated_names():
    assert augment.parse("") == ()
    assert augment.parse(" color , cutout ") == ("color", "cutout")
    with pytest.raises(ValueError, match="unknown augmentation 'rotate'"):
        augment.parse("color,rotate")
    with pytest.raises(ValueError, match="repeats"):
        augment.parse("color,color")
    with pytest.raises(ValueError, match="repeats"):
        augment.parse("cutout,cutout:0.25")


def test_a_ratio_sets_the_size_of_cutout_and_translation():
    """"cutout:0.75" on 16x16 frames: a hole of up to 12x12 whose area is the one
    augment.cutout(ratio=0.75) makes; "translation:0.25" shifts by up to 4 pixels;
    a ratio on an augmentation without one, or out of range, is refused in one line."""
    assert augment.parse("cutout:0.75,translation") == ("cutout:0.75", "translation")
    x = tf.ones([6, 3, 16, 16, 3])
    y = augment.augment(x, "cutout:0.75", RowRandom([7, 8], 6)).numpy()
    np.testing.assert_array_equal(
        y, augment.cutout(x, RowRandom([7, 8], 6), ratio=0.75).numpy())
    sizes = [(y[b, 0, :, :, 0] == 0).sum() for b in range(6)]
    assert max(sizes) > 64 and max(sizes) <= 144
    moved = augment.augment(x, "translation:0.25", RowRandom([1, 2], 6)).numpy()
    np.testing.assert_array_equal(
        moved, augment.translation(x, RowRandom([1, 2], 6), ratio=0.25).numpy())
    for bad, message in [("color:0.5", "takes no ratio"), ("cutout:1.5", r"in \(0.0, 1.0\]"),
                         ("cutout:big", "must be in"), ("translation:0", "must be in"),
                         ("cutout:", "must be in"), ("rotate:0.5", "unknown augmentation")]:
        with pytest.raises(ValueError, match=message):
            augment.parse(bad)
