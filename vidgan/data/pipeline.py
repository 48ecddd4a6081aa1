"""tf.data clips from real videos: video files and frame folders decoded with OpenCV.

Element i of the stream (i = 0, 1, ...) visits video `index_shuffle(i mod N, epoch i div N)`
(a fresh permutation per epoch, no shuffle buffer) and draws its clip offsets, crops and
flips from a generator seeded by (data.seed, i). So the stream is deterministic, and a
resumed run restarts at the element it had reached.

Decoding runs in a parallel `map` (OpenCV releases the GIL), each video on one FFmpeg
thread: parallelism comes from decoding several videos at once, more of them than cores,
because the map keeps the stream's order and one slow video (a long 720p file decoded up
to a late offset) would otherwise leave a core idle while the others wait behind it.
The resize, crop and flip that follow are graph ops shared with the TFRecord reader, so
both give the same clips.
"""

from __future__ import annotations

import collections
import functools
import os
import threading

from absl import logging
import numpy as np
import tensorflow as tf

from vidgan import pixels
from vidgan.config import DataConfig
from vidgan.data import sources
from vidgan.data import video_io


def stride_for(config: DataConfig, fps: float) -> int:
    """Frames between clip frames: data.frame_stride, or from data.target_fps."""
    if config.target_fps > 0:
        return max(1, round(fps / config.target_fps))
    return config.frame_stride


def clip_starts(available: int, span: int, mode: str, clips: int,
                rng: np.random.Generator) -> list[int]:
    """First-frame indices of the clips to take from a video of `available` frames.

    random: `clips` uniform draws; uniform: `clips` evenly spaced (one: the middle);
    all: every non-overlapping clip from the start.
    """
    last = available - span
    if last < 0:
        return []
    if mode == "random":
        return sorted(int(s) for s in rng.integers(0, last + 1, size=clips))
    if mode == "uniform":
        if clips == 1:
            return [last // 2]
        return [int(round(s)) for s in np.linspace(0, last, clips)]
    if mode == "all":
        return list(range(0, last + 1, span))
    raise ValueError(f"unknown clip offset mode {mode!r}")


@functools.lru_cache(maxsize=8)
def scan_for(config: DataConfig) -> sources.ScanReport:
    """The probed videos of a video_files / frame_folders config (cached per config)."""
    t = config.num_frames

    return sources.scan(
        config.path, config.source, config.labels, config.split, config.seed,
        config.test_fraction,
        # With target_fps the stride is per video; at least T frames are needed anyway.
        min_frames=t if config.target_fps > 0 else (t - 1) * config.frame_stride + 1,
        max_resolution=config.max_resolution, default_fps=float(config.fps))


class ClipReader:
    """Decodes the clips of one stream element; counts videos that fail at decode time."""

    def __init__(self, config: DataConfig, videos: list[sources.Video]):
        self.config = config
        self.videos = videos
        self.failures: collections.Counter = collections.Counter()  # by reason
        self.failed: set[str] = set()  # paths
        # Frame counts found by decoding: containers only estimate theirs.
        self.decoded_frames: dict[str, int] = {}
        self._lock = threading.Lock()

    def __call__(self, video_index, element) -> tuple[np.ndarray, np.ndarray]:
        """-> clips uint8 [K, T, h, w, 3] (K = 0 if the video fails), labels int32 [K]."""
        c = self.config
        video = self.videos[int(video_index)]
        empty = (np.zeros((0, c.num_frames, 1, 1, 3), np.uint8), np.zeros((0,), np.int32))
        if video.path in self.failed:
            self._raise_if_all_failed()
            return empty
        stride = stride_for(c, video.info.fps)
        span = (c.num_frames - 1) * stride + 1
        for _ in range(2):  # a second try when the header over-stated the frame count
            frames_known = self.decoded_frames.get(video.path, video.info.frames)
            rng = np.random.default_rng([c.seed, int(element)])
            starts = clip_starts(frames_known, span, c.clip_offsets, c.clips_per_video, rng)
            try:
                if not starts:
                    raise video_io.VideoReadError(
                        f"too short: {frames_known} frames, a clip needs {span}")
                indices = [s + k * stride for s in starts for k in range(c.num_frames)]
                # [K*T, h, w, 3]; one FFmpeg thread: the map decodes videos in parallel
                frames = video_io.read_frames(video.path, indices, threads=1)
                break
            except video_io.EndOfVideo as e:
                # The header over-states the length (containers estimate it; damaged files
                # lose their tail): keep the video with the frames it has, re-planning the
                # clips on its decoded length, measured once.
                if video.path in self.decoded_frames or e.available < span:
                    self._record_failure(video.path, f"truncated: decodes to {e.available} "
                                         f"of about {video.info.frames} frames, a clip "
                                         f"needs {span}")
                    return empty
                with self._lock:
                    self.decoded_frames[video.path] = e.available
                logging.info("%s decodes to %d frames, not the %d its header says; its "
                             "clips come from those.", video.path, e.available,
                             video.info.frames)
            except video_io.VideoReadError as e:
                self._record_failure(video.path, str(e))
                return empty
        clips = frames.reshape((len(starts), c.num_frames) + frames.shape[1:])
        return clips, np.full((len(starts),), video.label, np.int32)

    def _record_failure(self, path: str, reason: str) -> None:
        with self._lock:
            if path in self.failed:
                return
            self.failed.add(path)
            self.failures[reason.split(":")[0]] += 1
        logging.warning("Skipping %s while decoding: %s", path, reason)
        self._raise_if_all_failed()

    def _raise_if_all_failed(self) -> None:
        """Otherwise an endless stream of videos that all fail would spin forever."""
        if len(self.failed) == len(self.videos):
            raise sources.DataError(
                f"all {len(self.videos)} videos failed to decode "
                f"({', '.join(f'{n} {k}' for k, n in sorted(self.failures.items()))})")


def decode_calls(config: DataConfig) -> int:
    """Videos decoded at once: data.decode_parallelism, or 3 per CPU core (at most 16)."""
    if config.decode_parallelism > 0:
        return config.decode_parallelism
    return min(16, 3 * (os.cpu_count() or 1))


@functools.lru_cache(maxsize=8)
def reader_for(config: DataConfig) -> ClipReader:
    return ClipReader(config, scan_for(config).videos)


def health(config: DataConfig) -> dict[str, int]:
    """Counts for TensorBoard: usable videos, skipped ones by reason (scan and decode)."""
    report, reader = scan_for(config), reader_for(config)
    counts = {"videos_usable": len(report.videos) - len(reader.failed),
              "videos_skipped": len(report.skipped) + len(reader.failed)}
    # Counter addition: a reason found by both the scan and decoding adds up.
    for reason, n in (collections.Counter(report.reason_counts()) + reader.failures).items():
        counts[f"skipped/{reason.replace(' ', '_')}"] = n
    return counts


def resize_clips(clips: tf.Tensor, config: DataConfig, seed: tf.Tensor) -> tf.Tensor:
    """uint8 [K, T, h, w, 3] -> float32 [K, T, H, W, 3] in [-1, 1].

    Shorter side to the target then a center or random crop, or a plain resize
    ("stretch"); optional random horizontal flip. Randomness: stateless, from `seed` [2].
    """
    h, w = config.height, config.width
    shape = tf.shape(clips)
    k, t = shape[0], shape[1]
    frames = tf.cast(tf.reshape(clips, [-1, shape[2], shape[3], 3]), tf.float32)
    if config.resize == "stretch":
        frames = tf.image.resize(frames, [h, w], antialias=True)
    else:
        src = tf.cast(shape[2:4], tf.float32)
        scale = tf.maximum(h / src[0], w / src[1])
        size = tf.cast(tf.math.ceil(src * scale - 1e-4), tf.int32)
        size = tf.maximum(size, [h, w])
        frames = tf.image.resize(frames, size, antialias=True)  # shorter side -> target
        if config.resize == "random_crop":
            offset = tf.random.stateless_uniform([2], seed, 0, 2**30, dtype=tf.int32) % (
                size - [h, w] + 1)
        else:
            offset = (size - [h, w]) // 2
        frames = frames[:, offset[0]:offset[0] + h, offset[1]:offset[1] + w]
    clips = tf.reshape(frames, [k, t, h, w, 3])
    if config.flip:
        flip_seed = tf.random.experimental.stateless_fold_in(seed, 1)
        flip = tf.random.stateless_uniform([k], flip_seed) < 0.5
        clips = tf.where(flip[:, None, None, None, None], clips[:, :, :, ::-1], clips)
    return pixels.from_uint8(clips)


def element_seed(config: DataConfig, element: tf.Tensor) -> tf.Tensor:
    return tf.stack([tf.constant(config.seed, tf.int64), tf.cast(element, tf.int64)])


def make_dataset(config: DataConfig, batch_size: int, start_index: int = 0) -> tf.data.Dataset:
    """Batches {"video": float32 [B, T, H, W, 3] in [-1, 1], "label": int32 [B] (if
    data.labels)} from video files or frame folders, endlessly.

    `start_index` counts clips; the stream restarts at the element holding that clip.
    """
    reader = reader_for(config)
    n = len(reader.videos)
    per_element = config.clips_per_video
    if config.clip_offsets == "all":
        # Elements yield floor(frames / span) clips each: resume at the element the mean
        # count points to (exact when every video gives the same number of clips).
        counts = [v.info.frames // ((config.num_frames - 1) * stride_for(config, v.info.fps) + 1)
                  for v in reader.videos]
        per_element = max(1, round(sum(counts) / n))

    def visit(i):
        epoch_key = tf.stack([tf.constant(config.seed, tf.int64), i // n])
        video = tf.random.experimental.index_shuffle(i % n, epoch_key, n - 1)
        clips, labels = tf.numpy_function(reader, [video, i], [tf.uint8, tf.int32],
                                          stateful=False)
        clips.set_shape([None, config.num_frames, None, None, 3])
        labels.set_shape([None])
        resized = tf.cond(tf.shape(clips)[0] > 0,
                          lambda: resize_clips(clips, config, element_seed(config, i)),
                          lambda: tf.zeros([0, config.num_frames, config.height,
                                            config.width, 3]))
        return {"video": resized, "label": labels}

    ds = tf.data.Dataset.range(start_index // per_element, 2**62)
    ds = ds.map(visit, num_parallel_calls=decode_calls(config), deterministic=True)
    ds = ds.unbatch()  # [K, ...] -> clips; failed videos (K = 0) vanish here
    if not config.labels:
        ds = ds.map(lambda x: {"video": x["video"]})
    ds = ds.batch(batch_size, drop_remainder=True)
    return ds.prefetch(tf.data.AUTOTUNE)


def class_names(config: DataConfig) -> list[str]:
    """The sorted names of the videos' parent folders."""
    return sources.list_videos(config.path, config.source, labels=True)[1]


def fingerprint(config: DataConfig) -> list:
    """[relpath, frames, size, mtime_ns] of every usable video."""
    stamps = []
    for video in scan_for(config).videos:
        st = os.stat(video.path)
        stamps.append([video.relpath, video.info.frames, st.st_size, st.st_mtime_ns])
    return stamps
