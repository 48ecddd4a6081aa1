"""tf.data clips from TFRecord shards written by `vidgan prepare`: graph-native end to end.

The format (an Example per video, dataset.json beside the shards) is vidgan.data.records.

The reader does exactly what the direct decode path (vidgan.data.pipeline) does, in graph
ops only (no py_function): the split BY VIDEO with the same hash as `sources.is_test`,
the same stride rule, the same clip-offset semantics as `pipeline.clip_starts`, and the
same `pipeline.resize_clips`. So for "uniform" and "all" offsets with a center crop
and no flips, both paths give identical clips for a video. They differ in the ORDER of
videos (here stateless permutations of each epoch's records; there of video indices)
and in the random offsets (here TF's stateless RNG; there NumPy's). Both streams are pure
functions of the config: element i draws its randomness from (data.seed, i).
"""

from __future__ import annotations

import functools

import numpy as np
import tensorflow as tf

from vidgan.config import DataConfig
from vidgan.data import pipeline
from vidgan.data import records
from vidgan.data import sources

# Videos waiting to be shuffled hold every encoded frame: an epoch is shuffled as a whole
# when its encoded frames fit in this many bytes, else in blocks that do.
SHUFFLE_BUFFER_BYTES = 1 << 30


# --- the rules, in Python (for counts) and in the graph (for data) ------------------------
def _stored_fps(fps: float) -> float:
    return float(np.float32(fps))  # what the record holds


def span_for(config: DataConfig, fps: float) -> int:
    """Frames a clip covers in a video of `fps` (as stored): (T - 1) * stride + 1."""
    return (config.num_frames - 1) * pipeline.stride_for(config, _stored_fps(fps)) + 1


def usable(config: DataConfig, catalog: records.Catalog) -> tuple[list[records.VideoRecord], int]:
    """(videos of the config's split long enough for a clip, count of too-short ones)."""
    videos = list(catalog.videos)
    if config.split != "all":
        flags = sources.is_test([v.source for v in videos], config.seed, config.test_fraction)
        videos = [v for v, test in zip(videos, flags) if test == (config.split == "test")]
    long_enough = [v for v in videos if v.frames >= span_for(config, v.fps)]
    return long_enough, len(videos) - len(long_enough)


def in_test_split(source: tf.Tensor, seed: int, test_fraction: float) -> tf.Tensor:
    """Graph version of `sources.is_test` for one relative path (string scalar) -> bool."""
    key = tf.strings.join([f"{seed}:", source])
    bucket = tf.strings.to_hash_bucket_fast(key, 1_000_000)
    return tf.cast(bucket, tf.float64) < test_fraction * 1_000_000


def stride(config: DataConfig, fps: tf.Tensor) -> tf.Tensor:
    """Graph version of `pipeline.stride_for` on the stored fps: int64 scalar.

    Rounding is half to even, as Python's round().
    """
    if config.target_fps > 0:
        steps = tf.round(tf.cast(fps, tf.float64) / config.target_fps)
        return tf.maximum(tf.constant(1, tf.int64), tf.cast(steps, tf.int64))
    return tf.constant(config.frame_stride, tf.int64)


def clip_starts(available: tf.Tensor, span: tf.Tensor, mode: str, clips: int,
                seed: tf.Tensor) -> tf.Tensor:
    """Graph version of `pipeline.clip_starts`: int64 [K] first-frame indices.

    random: `clips` stateless uniform draws from [0, last] (seeded by `seed` [2]), sorted;
    uniform: `clips` evenly spaced, as round(np.linspace(0, last, clips)) (float64 and
    half-to-even rounding, so exactly NumPy's), one clip: last // 2;
    all: every non-overlapping clip from the start. Empty if the video is too short.
    """
    available, span = tf.cast(available, tf.int64), tf.cast(span, tf.int64)
    last = available - span
    k = tf.where(last >= 0, tf.constant(clips, tf.int64), tf.constant(0, tf.int64))
    if mode == "random":
        draws = tf.random.stateless_uniform([clips], seed, minval=0,
                                            maxval=tf.maximum(last + 1, 1), dtype=tf.int64)
        return tf.sort(draws)[:k]
    if mode == "uniform":
        if clips == 1:
            return tf.reshape(last // 2, [1])[:k]
        step = tf.cast(last, tf.float64) / (clips - 1)
        positions = tf.range(clips, dtype=tf.float64) * step
        positions = tf.concat([positions[:-1], tf.reshape(tf.cast(last, tf.float64), [1])], 0)
        return tf.cast(tf.round(positions), tf.int64)[:k]
    if mode == "all":
        return tf.range(0, tf.maximum(last + 1, 0), span, dtype=tf.int64)
    raise ValueError(f"unknown clip offset mode {mode!r}")


def _decode_frames(encoded: tf.Tensor) -> tf.Tensor:
    """string [N] of JPEG/PNG -> uint8 [N, h, w, 3] (all frames of a video share a size)."""
    return tf.map_fn(
        lambda data: tf.io.decode_image(data, channels=3, expand_animations=False),
        encoded, fn_output_signature=tf.TensorSpec([None, None, 3], tf.uint8))


def _clips(config: DataConfig, element: tf.Tensor, example: dict) -> dict:
    """One stream element: the clips of one video, {"video": [K, T, H, W, 3], "label": [K]}."""
    t = config.num_frames
    frames = example["frames"]  # string [N]
    if isinstance(frames, tf.RaggedTensor):  # after the shuffle's ragged_batch + unbatch
        frames = frames.flat_values
    step = stride(config, example["fps"])
    span = (t - 1) * step + 1
    seed = pipeline.element_seed(config, element)
    # Offsets use a key of their own: resize_clips draws the crop from `seed` itself.
    starts = clip_starts(tf.size(frames, tf.int64), span, config.clip_offsets,
                         config.clips_per_video,
                         tf.random.experimental.stateless_fold_in(seed, 2))  # [K]
    indices = tf.reshape(starts[:, None] + tf.range(t, dtype=tf.int64)[None, :] * step, [-1])
    wanted, where = tf.unique(indices)  # decode each frame once, even if clips overlap
    images = _decode_frames(tf.gather(frames, wanted))  # [U, h, w, 3]
    shape = tf.shape(images)
    clips = tf.reshape(tf.gather(images, where), [-1, t, shape[1], shape[2], 3])  # [K,T,h,w,3]
    video = pipeline.resize_clips(clips, config, seed)  # float32 [K, T, H, W, 3]
    label = tf.fill(tf.shape(starts), tf.cast(example["label"], tf.int32))  # [K]
    return {"video": video, "label": label}


def _parse(record: tf.Tensor) -> dict:
    example = tf.io.parse_single_example(record, records.FEATURES)
    example["frames"] = example["frames"].values  # sparse [N] -> dense, in order
    return example


def _shuffled(examples: tf.data.Dataset, size: int, key: tf.Tensor) -> tf.data.Dataset:
    """Shuffles blocks of `size` consecutive elements with stateless permutations seeded by
    `key` [2] (block j by fold_in(key, j)): a full permutation when `size` covers the
    epoch. Unlike Dataset.shuffle(seed=...), the order does not depend on TF's global
    seed (which the Trainer sets from train.seed), only on `key`."""

    def permute(j, block):
        order = tf.random.experimental.stateless_shuffle(
            tf.range(tf.shape(block["source"])[0]),
            tf.random.experimental.stateless_fold_in(key, j))
        return {name: tf.gather(value, order) for name, value in block.items()}

    return examples.ragged_batch(size).enumerate().map(permute).unbatch()


def make_dataset(config: DataConfig, batch_size: int, start_index: int = 0) -> tf.data.Dataset:
    """Batches {"video": float32 [B, T, H, W, 3] in [-1, 1], "label": int32 [B] (if
    data.labels)} from the shards at data.path (a `vidgan prepare` output dir or a glob of
    shards), endlessly.

    Epoch e reads the shards in an order seeded by (data.seed, e), interleaved
    deterministically; keeps the videos of the split that are long enough for a clip; and
    shuffles them (all of them, or blocks of as many as fit in SHUFFLE_BUFFER_BYTES),
    seeded by (data.seed, e). Element i of the stream (counted across epochs) is then cut
    into clips with offsets, crops and flips seeded by (data.seed, i). So the stream is a
    pure function of the config; `start_index` counts clips, and the stream restarts at
    the element holding that clip, skipping whole epochs without reading them (with
    "all" offsets an element holds a varying number of clips and the restart counts one
    per element, as in vidgan.data.pipeline).
    Raises DataError (one line) if there are no shards, or the split has no video long
    enough for a clip, or labels are asked of shards prepared without them.
    """
    catalog = records.load_catalog(config.path)
    videos, too_short = usable(config, catalog)
    if config.labels and not catalog.class_names:
        raise sources.DataError(f"data.labels=true but the shards under {config.path} have no "
                                "labels (prepare them with `vidgan prepare --labels`)")
    if not videos:
        raise sources.DataError(
            f"no usable videos in the {config.split} split of {config.path}: "
            f"{too_short} too short for a clip of {config.num_frames} frames, "
            f"{len(catalog.videos)} videos in all (test_fraction={config.test_fraction})")
    n = len(videos)
    mean_bytes = max(1, sum(v.bytes for v in videos) // n)
    block = max(1, min(n, SHUFFLE_BUFFER_BYTES // mean_bytes))
    shards = tf.constant(list(catalog.shards))
    t = config.num_frames
    fold_in = tf.random.experimental.stateless_fold_in

    def keep(example):
        ok = tf.size(example["frames"], tf.int64) >= (t - 1) * stride(config, example["fps"]) + 1
        if config.split != "all":
            test = in_test_split(example["source"], config.seed, config.test_fraction)
            ok = tf.logical_and(ok, test if config.split == "test" else tf.logical_not(test))
        return ok

    def epoch(e):
        key = tf.stack([tf.constant(config.seed, tf.int64), e])
        files = tf.random.experimental.stateless_shuffle(shards, fold_in(key, 0))
        records = tf.data.Dataset.from_tensor_slices(files).interleave(
            tf.data.TFRecordDataset, cycle_length=min(len(catalog.shards), 16),
            block_length=1, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        examples = records.map(_parse, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        return _shuffled(examples.filter(keep), block, fold_in(key, 1))

    per_element = config.clips_per_video if config.clip_offsets != "all" else 1
    first_element = start_index // per_element
    first_epoch = first_element // n
    ds = tf.data.Dataset.range(first_epoch, 2**62).flat_map(epoch)
    ds = ds.enumerate(start=first_epoch * n).skip(first_element - first_epoch * n)
    ds = ds.map(functools.partial(_clips, config), num_parallel_calls=tf.data.AUTOTUNE,
                deterministic=True)
    ds = ds.unbatch()  # [K, ...] -> clips
    if not config.labels:
        ds = ds.map(lambda x: {"video": x["video"]})
    ds = ds.batch(batch_size, drop_remainder=True)
    return ds.prefetch(tf.data.AUTOTUNE)


def health(config: DataConfig) -> dict[str, int]:
    """Counts for TensorBoard, like `pipeline.health`: usable videos of the split, and
    skipped ones by reason (skipped by `vidgan prepare`, or too short for this config)."""
    catalog = records.load_catalog(config.path)
    videos, too_short = usable(config, catalog)
    skipped = list(catalog.skipped)
    if config.split != "all" and skipped:
        flags = sources.is_test([s for _, s, _ in skipped], config.seed, config.test_fraction)
        skipped = [x for x, test in zip(skipped, flags) if test == (config.split == "test")]
    reasons = sources.ScanReport([], [], [(p, r) for p, _, r in skipped]).reason_counts()
    if too_short:
        reasons["too short"] = reasons.get("too short", 0) + too_short
    counts = {"videos_usable": len(videos), "videos_skipped": len(skipped) + too_short}
    for reason, count in reasons.items():
        counts[f"skipped/{reason.replace(' ', '_')}"] = count
    return counts


def class_names(config: DataConfig) -> tuple[str, ...]:
    """The class names `vidgan prepare` recorded."""
    return records.load_catalog(config.path).class_names


def fingerprint(config: DataConfig) -> list:
    """The shards' names, sizes and modification times."""
    return [list(stamp) for stamp in records.catalog_key(config.path)]
