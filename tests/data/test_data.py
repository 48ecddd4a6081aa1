"""Tests for the synthetic input pipelines (vidgan.data), the video summaries
(vidgan.training.summaries) and the cheap video statistics (vidgan.metrics)."""

import dataclasses
import io
import itertools

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from vidgan.config import DataConfig
from vidgan.data import SOURCES, make_dataset
from vidgan.data import registry, synthetic
from vidgan.metrics import STAT_NAMES, statistics_distance, video_statistics
from vidgan.training import summaries

SOURCE_NAMES = ["bouncing_shapes", "moving_digits"]
SMALL = dict(num_frames=8, height=16, width=24)


def _config(source, **kwargs):
    return DataConfig(source=source, **{**SMALL, **kwargs})


def _batches(config, batch_size, n, start_index=0):
    """The first n batches of make_dataset as numpy arrays [B, T, H, W, 3]."""
    ds = make_dataset(config, batch_size, start_index=start_index)
    return [b["video"].numpy() for b in itertools.islice(ds, n)]


# --- make_dataset ----------------------------------------------------------------------
def test_sources_registry():
    """Both built-in sources and the three real-video sources are registered, each served
    by a module with the source interface."""
    assert sorted(SOURCES) == sorted(SOURCE_NAMES + ["frame_folders", "tfrecord", "video_files"])
    assert [n for n, s in SOURCES.items() if not s.reads_files] == SOURCE_NAMES
    for name in SOURCES:
        module = registry.implementation(name)
        for function in ("make_dataset", "class_names", "health", "fingerprint"):
            assert callable(getattr(module, function)), (name, function)


@pytest.mark.parametrize("source", SOURCE_NAMES)
def test_element_spec_and_value_range(source):
    """Batches are {"video": float32 [B, T, H, W, 3]} in [-1, 1], background mostly -1."""
    config = _config(source)
    ds = make_dataset(config, 3)
    assert ds.element_spec == {"video": tf.TensorSpec([3, 8, 16, 24, 3], tf.float32)}
    (video,) = _batches(config, 3, 1)
    assert video.shape == (3, 8, 16, 24, 3) and video.dtype == np.float32
    assert video.min() >= -1.0 and video.max() <= 1.0
    # Two objects of a quarter of the short side cover well under half the frame, and
    # untouched background pixels are exactly -1 in every channel.
    background = np.all(video == -1.0, axis=-1).mean()
    assert background > 0.5, background
    assert video.max() > -0.5  # ... but something is drawn


@pytest.mark.parametrize("source", SOURCE_NAMES)
def test_same_seed_same_clips_different_seed_different_clips(source):
    """Two dataset instances with the same seed agree exactly; another data.seed differs,
    and different clips within a batch differ."""
    config = _config(source, seed=3)
    a = _batches(config, 2, 2)
    b = _batches(config, 2, 2)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    other = _batches(dataclasses.replace(config, seed=4), 2, 1)[0]
    assert not np.array_equal(a[0], other)
    assert not np.array_equal(a[0][0], a[0][1])


@pytest.mark.parametrize("source", SOURCE_NAMES)
def test_start_index_resumes_the_stream(source):
    """start_index=k yields exactly the clips that a dataset from 0 yields after k clips."""
    config = _config(source)
    from_zero = _batches(config, 2, 3)  # clips 0..5
    clips = np.concatenate(from_zero)
    # The resume case: the first batch from start_index=B is the second batch from 0.
    np.testing.assert_array_equal(_batches(config, 2, 1, start_index=2)[0], from_zero[1])
    # A start that is not a multiple of the batch size: clips 3, 4.
    np.testing.assert_array_equal(_batches(config, 2, 1, start_index=3)[0], clips[3:5])
    # Clips do not depend on the batch size either.
    np.testing.assert_array_equal(np.concatenate(_batches(config, 3, 2)), clips)


@pytest.mark.parametrize("source", SOURCE_NAMES)
def test_objects_move(source):
    """Every clip changes between consecutive frames: mean |x[t+1] - x[t]| > 0."""
    (video,) = _batches(_config(source), 4, 1)
    motion = np.abs(np.diff(video, axis=1)).mean(axis=(2, 3, 4))  # [B, T-1]
    assert np.all(motion.mean(axis=1) > 1e-3), motion
    # Consecutive frames are never all identical within a clip (speed >= max_speed/2).
    assert np.all(motion > 0), motion


def test_bouncing_shapes_stay_in_frame():
    """With one object (no occlusion) the object's footprint is the same in every frame,
    even with fast motion (up to 16 px/frame on a 16 px span: a bounce nearly every frame).

    Tolerances: the count of non-background pixels (any anti-aliased coverage) of a
    disk of radius r + 0.5 = 8.5 px varies only with the sub-pixel centre by a few
    lattice points (Gauss circle problem; <= ~8 of ~227 here), and the square's count
    is 17x17 = 289 except when an edge lands exactly on a pixel centre. We allow 5% of
    the median. An object leaving the frame by a single pixel column would lose
    ~17 pixels (>= 5.9% of the square, 7.5% of the disk), and far more in practice.
    The anti-aliased coverage (sum of alpha) is area-preserving up to corner effects,
    so it must be constant to within 2% (one lost column is >= 5.9%).
    """
    config = DataConfig(num_frames=16, height=32, width=32, num_objects=1, object_size=0.5,
                        max_speed=0.5)
    (video,) = _batches(config, 8, 1)
    brightest = video.max(axis=-1)  # [B, T, H, W]; the background is exactly -1
    count = (brightest > -1.0).sum(axis=(2, 3)).astype(np.float64)  # [B, T]
    coverage = ((brightest + 1.0) / 2.0).sum(axis=(2, 3))  # alpha * V, V fixed per clip
    median_count = np.median(count, axis=1)
    assert np.all(median_count > 200)  # the object is big, as configured
    assert np.all((count.max(1) - count.min(1)) <= 0.05 * median_count), count
    median_cov = np.median(coverage, axis=1)
    assert np.all((coverage.max(1) - coverage.min(1)) <= 0.02 * median_cov), coverage


def test_moving_digits_stay_in_frame():
    """A single digit's total brightness is preserved by the (bilinear) translation,
    which only holds while the whole sprite stays inside the frame."""
    config = DataConfig(source="moving_digits", num_frames=16, height=32, width=32,
                        num_objects=1, object_size=0.5, max_speed=0.5)
    (video,) = _batches(config, 4, 1)
    ink = ((video[..., 0] + 1.0) / 2.0).sum(axis=(2, 3))  # [B, T]
    # Bilinear resampling conserves the sum exactly for in-frame translations; a
    # 16 px sprite clipped by one column would lose several percent of its ink.
    np.testing.assert_allclose(ink, np.repeat(ink[:, :1], 16, axis=1), rtol=0.01)
    # Digits are gray levels: identical in the three channels.
    np.testing.assert_array_equal(video[..., 0], video[..., 1])
    np.testing.assert_array_equal(video[..., 0], video[..., 2])


def test_bounce_hand_computed_points():
    """_bounce reflects off both ends of [0, span].

    start 1, v +3, span 4: 1 -> 4 (touches the wall) -> 7 reflects to 1 -> -2 reflects to 2.
    start 1, v -3, span 4: 1 -> -2 reflects to 2 -> 5 reflects to 3 -> 0.
    start 0, v 2.5, span 5: 0, 2.5, 5 (wall), 2.5, 0 (wall).
    start 3, v 0, span 4: stays at 3.
    """
    t = tf.range(5, dtype=tf.float32)
    got = synthetic._bounce(tf.constant([1.0, 1.0, 0.0, 3.0]), tf.constant([3.0, -3.0, 2.5, 0.0]),
                            t, tf.constant([4.0, 4.0, 5.0, 4.0]))
    expected = np.array([
        [1, 1, 0, 3],
        [4, 2, 2.5, 3],
        [1, 3, 5, 3],
        [2, 0, 2.5, 3],
        [3, 3, 0, 3],
    ], np.float32)
    # t=4 by hand: +3 case: at 2 moving +3 -> 5, past the wall at 4 by 1 -> 3.
    #              -3 case: at 0 (on the wall), now moving -3 -> reflects to 3.
    assert got.shape == (5, 4)
    np.testing.assert_allclose(got.numpy(), expected, atol=1e-6)


def test_bounce_stays_in_range_for_many_steps():
    """Positions stay within [0, span] whatever the velocity and time."""
    rng = np.random.default_rng(0)
    start = tf.constant(rng.uniform(0, 10, 50), tf.float32)
    velocity = tf.constant(rng.uniform(-30, 30, 50), tf.float32)
    got = synthetic._bounce(start, velocity, tf.range(100, dtype=tf.float32),
                            tf.fill([50], 10.0)).numpy()
    assert got.min() >= 0.0 and got.max() <= 10.0 + 1e-4


def test_digit_sprites():
    """digit_sprites(16): 10 distinct, non-empty [16, 16] sprites with values in [0, 1]."""
    sprites = synthetic.digit_sprites(16)
    assert sprites.shape == (10, 16, 16) and sprites.dtype == np.float32
    assert sprites.min() >= 0.0 and sprites.max() <= 1.0
    assert np.all(sprites.reshape(10, -1).max(axis=1) > 0.5)  # every digit has ink
    for i, j in itertools.combinations(range(10), 2):
        assert not np.array_equal(sprites[i], sprites[j]), (i, j)
    # A '1' uses less ink than an '8'.
    assert sprites[1].sum() < sprites[8].sum()


# --- summaries -------------------------------------------------------------------------
def test_video_grid_shape_and_placement():
    """N=5 clips in 3 columns: 2 rows, 1-px black gaps, clip i at row i//3, col i%3."""
    t, h, w, c = 2, 3, 4, 3
    videos = np.stack([np.full((t, h, w, c), i + 1, np.uint8) for i in range(5)])
    for columns in (3, None):  # None: ceil(sqrt(5)) = 3 columns
        grid = summaries.video_grid(videos, columns=columns)
        # rows*(H+gap)-gap = 2*4-1 = 7, cols*(W+gap)-gap = 3*5-1 = 14.
        assert grid.shape == (2, 7, 14, 3) and grid.dtype == np.uint8
        for i in range(5):
            r, col = divmod(i, 3)
            tile = grid[:, r * 4:r * 4 + 3, col * 5:col * 5 + 4]
            assert np.all(tile == i + 1), i
        assert np.all(grid[:, 3, :] == 0)  # the row gap
        assert np.all(grid[:, :, 4] == 0) and np.all(grid[:, :, 9] == 0)  # column gaps
        assert np.all(grid[:, 4:, 10:] == 0)  # the empty 6th slot
        assert np.count_nonzero(grid) == 5 * t * h * w * c


def test_video_grid_wider_gap():
    """gap=2 and 2 columns for 4 clips: [T, 2*(H+2)-2, 2*(W+2)-2, C]."""
    grid = summaries.video_grid(np.ones((4, 1, 5, 6, 3), np.float32), columns=2, gap=2)
    assert grid.shape == (1, 12, 14, 3)
    assert np.all(grid[:, 5:7] == 0) and np.all(grid[:, :, 6:8] == 0)


def test_encode_gif_round_trip():
    """encode_gif gives GIF89a bytes that Pillow reads back with T frames of size W x H."""
    t, h, w = 5, 6, 10
    video = np.zeros((t, h, w, 3), np.uint8)
    for i in range(t):  # a white bar moving right, on a red background: distinct frames
        video[i, :, :, 0] = 255
        video[i, :, 2 * i:2 * i + 2] = 255
    gif = summaries.encode_gif(video, fps=8)
    assert isinstance(gif, bytes) and gif.startswith(b"GIF89a")
    image = Image.open(io.BytesIO(gif))
    assert image.n_frames == t
    assert image.size == (w, h)
    assert image.info.get("loop") == 0  # loops forever
    for i in range(t):  # two pure colours survive the palette exactly
        image.seek(i)
        np.testing.assert_array_equal(np.asarray(image.convert("RGB")), video[i])


# --- metrics ---------------------------------------------------------------------------
def test_video_statistics_constant_video():
    """A constant video: means = value, std 0, temporal_diff 0, spatial_grad 0, not dark.
    (0.25 is exact in binary, so the float32 mean and std carry no round-off.)"""
    stats = video_statistics(np.full((2, 4, 5, 6, 3), 0.25, np.float32))
    assert stats.shape == (len(STAT_NAMES),) == (9,)
    named = dict(zip(STAT_NAMES, stats))
    for ch in "rgb":
        assert named[f"mean_{ch}"] == 0.25
        assert named[f"std_{ch}"] == 0.0
    assert named["temporal_diff"] == 0.0
    assert named["spatial_grad"] == 0.0
    assert named["dark_fraction"] == 0.0


def test_video_statistics_alternating_video():
    """Frames alternating -1 / +1: |x[t+1] - x[t]| = 2 everywhere, mean 0, std 1,
    half the pixels dark, no spatial gradient."""
    t = 6
    frames = np.array([-1.0 if i % 2 == 0 else 1.0 for i in range(t)], np.float32)
    video = np.broadcast_to(frames[None, :, None, None, None], (3, t, 4, 4, 3))
    named = dict(zip(STAT_NAMES, video_statistics(video)))
    assert named["temporal_diff"] == pytest.approx(2.0)
    assert named["spatial_grad"] == 0.0
    assert named["dark_fraction"] == pytest.approx(0.5)
    for ch in "rgb":
        assert named[f"mean_{ch}"] == pytest.approx(0.0, abs=1e-7)
        assert named[f"std_{ch}"] == pytest.approx(1.0)


def test_video_statistics_spatial_gradient():
    """A vertical edge (left half -1, right half +1) in a 4-wide frame: the horizontal
    differences are [0, 2, 0] -> mean 2/3; vertical differences 0; half dark."""
    video = np.full((1, 2, 3, 4, 3), -1.0, np.float32)
    video[..., 2:, :] = 1.0
    named = dict(zip(STAT_NAMES, video_statistics(video)))
    assert named["spatial_grad"] == pytest.approx(2.0 / 3.0)
    assert named["temporal_diff"] == 0.0
    assert named["dark_fraction"] == pytest.approx(0.5)


def test_statistics_distance():
    """distance(a, a) = 0; constant 0 vs constant 0.5 differ only in the three channel
    means, by 0.5 each: sqrt(3 * 0.25)."""
    rng = np.random.default_rng(0)
    a = rng.uniform(-1, 1, (2, 3, 4, 4, 3)).astype(np.float32)
    assert statistics_distance(a, a) == 0.0
    zeros = np.zeros((1, 2, 4, 4, 3), np.float32)
    half = np.full((1, 2, 4, 4, 3), 0.5, np.float32)
    assert statistics_distance(zeros, half) == pytest.approx(np.sqrt(0.75))
    assert statistics_distance(half, zeros) == pytest.approx(np.sqrt(0.75))


def test_video_statistics_rejects_bad_shapes():
    """Inputs that are not [N, T, H, W, 3] raise ValueError."""
    with pytest.raises(ValueError):
        video_statistics(np.zeros((2, 4, 4, 3)))
    with pytest.raises(ValueError):
        video_statistics(np.zeros((1, 2, 4, 4, 1)))
