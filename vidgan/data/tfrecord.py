"""tf.data clips from TFRecord shards written by `vidgan prepare`: graph-native end to end.

The shards (see data_pipelines/prepare.py) hold one `tf.train.Example` per video:

  frames       bytes_list  the encoded frames (JPEG or PNG), in order
  frame_count  int64       len(frames)
  height/width int64       frame size as stored
  fps          float       frames per second (float32, as the Example stores it)
  label        int64       class index, -1 when prepared without labels
  label_name   bytes       class name ("" without labels)
  source       bytes       the video's path relative to the prepared folder: the split key
  format       bytes       "jpeg" | "png"

and `dataset.json` beside them describes what was written (per video: source, shard,
frames, fps, size, label, bytes) and what was skipped, with reasons.

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

import dataclasses
import functools
import glob
import json
import os

import numpy as np
import tensorflow as tf

from vidgan.config import DataConfig
from vidgan.data import pipeline
from vidgan.data import sources

SHARD_GLOB = "videos-*-of-*.tfrecord"
METADATA_FILE = "dataset.json"
# Videos waiting to be shuffled hold every encoded frame: an epoch is shuffled as a whole
# when its encoded frames fit in this many bytes, else in blocks that do.
SHUFFLE_BUFFER_BYTES = 1 << 30

FEATURES = {
    "frames": tf.io.VarLenFeature(tf.string),
    "frame_count": tf.io.FixedLenFeature([], tf.int64),
    "height": tf.io.FixedLenFeature([], tf.int64),
    "width": tf.io.FixedLenFeature([], tf.int64),
    "fps": tf.io.FixedLenFeature([], tf.float32),
    "label": tf.io.FixedLenFeature([], tf.int64, default_value=-1),
    "label_name": tf.io.FixedLenFeature([], tf.string, default_value=""),
    "source": tf.io.FixedLenFeature([], tf.string),
    "format": tf.io.FixedLenFeature([], tf.string),
}


def shard_name(index: int, count: int) -> str:
    return f"videos-{index:05d}-of-{count:05d}.tfrecord"


# --- what the shards hold: the catalog ----------------------------------------------------
@dataclasses.dataclass(frozen=True)
class VideoRecord:
    """One stored video, as dataset.json (or a pass over the records) describes it."""

    source: str  # relative path: the split key
    frames: int
    fps: float  # as stored in the record (float32)
    height: int
    width: int
    label: int = -1
    bytes: int = 0  # encoded frame bytes


@dataclasses.dataclass(frozen=True)
class Catalog:
    shards: tuple[str, ...]
    videos: tuple[VideoRecord, ...]
    class_names: tuple[str, ...]
    skipped: tuple[tuple[str, str, str], ...]  # (path, source, reason) from prepare
    from_metadata: bool  # False: read from the records (no usable dataset.json)


def find_shards(path: str) -> list[str]:
    """The shard files of a prepare output dir, or of a glob; sorted. Raises DataError."""
    if os.path.isdir(path):
        shards = sorted(glob.glob(os.path.join(path, SHARD_GLOB)))
        if not shards:
            raise sources.DataError(f"no TFRecord shards ({SHARD_GLOB}) in {path}; "
                                    "make them with `vidgan prepare`")
        return shards
    shards = sorted(p for p in glob.glob(path) if os.path.isfile(p))
    if not shards:
        raise sources.DataError(f"no TFRecord shards match {path}")
    return shards


def scan_records(shards: list[str]) -> list[dict]:
    """Every record's fields except its frames (plus "bytes": their encoded size), read
    from the shards themselves, in shard order."""
    spec = {k: v for k, v in FEATURES.items() if k != "frames"}

    def parse(record):
        example = tf.io.parse_single_example(record, {**spec, "frames": FEATURES["frames"]})
        frames = example.pop("frames").values
        example["bytes"] = tf.reduce_sum(tf.strings.length(frames, unit="BYTE"))
        return example

    out = []
    try:
        ds = tf.data.TFRecordDataset(shards).map(parse, num_parallel_calls=tf.data.AUTOTUNE)
        for example in ds.as_numpy_iterator():
            out.append({k: v.decode() if isinstance(v, bytes) else v.item()
                        for k, v in example.items()})
    except (tf.errors.DataLossError, tf.errors.InvalidArgumentError) as e:
        raise sources.DataError(
            f"unreadable TFRecord shards ({', '.join(shards[:3])}...): "
            f"{str(e).splitlines()[0]}") from None
    return out


def _read_metadata(folder: str) -> dict | None:
    path = os.path.join(folder, METADATA_FILE)
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        raise sources.DataError(f"unreadable {path}: {e}") from None


def _metadata_matches(meta: dict, folder: str) -> bool:
    """dataset.json describes the shards on disk (names and byte sizes)."""
    try:
        return all(os.path.getsize(os.path.join(folder, s["file"])) == s["bytes"]
                   for s in meta["shards"])
    except (OSError, KeyError, TypeError):
        return False


def catalog_key(path: str) -> tuple:
    """Identifies the shards' current contents, so a re-prepared folder is re-read."""
    shards = find_shards(path)
    folders = sorted({os.path.dirname(s) for s in shards})
    stamps = []
    for p in shards + [os.path.join(f, METADATA_FILE) for f in folders]:
        try:
            st = os.stat(p)
            stamps.append((p, st.st_size, st.st_mtime_ns))
        except FileNotFoundError:
            stamps.append((p, -1, -1))
    return tuple(stamps)


def load_catalog(path: str) -> Catalog:
    """What the shards under `path` (a prepare output dir or a glob of shards) hold.

    Uses each folder's dataset.json when it matches the shards on disk; otherwise reads
    the records once. Raises DataError (one line) when there are no shards.
    """
    return _load_catalog(path, catalog_key(path))


@functools.lru_cache(maxsize=8)
def _load_catalog(path: str, key: tuple) -> Catalog:
    del key  # only for the cache
    shards = find_shards(path)
    by_folder: dict[str, list[str]] = {}
    for s in shards:
        by_folder.setdefault(os.path.dirname(s), []).append(s)
    videos, skipped, names, from_metadata = [], [], set(), True
    for folder, folder_shards in sorted(by_folder.items()):
        meta = _read_metadata(folder)
        if meta is not None and _metadata_matches(meta, folder):
            wanted = {os.path.basename(s) for s in folder_shards}
            videos += [VideoRecord(v["source"], v["frames"], v["fps"], v["height"],
                                   v["width"], v["label"], v["bytes"])
                       for v in meta["videos"] if v["shard"] in wanted]
            skipped += [(s["path"], s["source"], s["reason"]) for s in meta["skipped"]]
            names.add(tuple(meta["class_names"]))
        else:
            from_metadata = False
            records = scan_records(folder_shards)
            videos += [VideoRecord(r["source"], r["frame_count"], r["fps"], r["height"],
                                   r["width"], r["label"], r["bytes"]) for r in records]
            if meta is not None:
                names.add(tuple(meta.get("class_names", ())))
            else:
                labelled = {r["label"]: r["label_name"] for r in records if r["label"] >= 0}
                names.add(tuple(labelled[i] for i in sorted(labelled))
                          if sorted(labelled) == list(range(len(labelled))) else ())
    if len(names) > 1:
        raise sources.DataError(f"the shards under {path} come from datasets with different "
                                f"class names: {' vs '.join(str(list(n)) for n in names)}")
    return Catalog(tuple(shards), tuple(videos), next(iter(names), ()), tuple(skipped),
                   from_metadata)


# --- the rules, in Python (for counts) and in the graph (for data) ------------------------
def _stored_fps(fps: float) -> float:
    return float(np.float32(fps))  # what the record holds


def span_for(config: DataConfig, fps: float) -> int:
    """Frames a clip covers in a video of `fps` (as stored): (T - 1) * stride + 1."""
    return (config.num_frames - 1) * pipeline.stride_for(config, _stored_fps(fps)) + 1


def usable(config: DataConfig, catalog: Catalog) -> tuple[list[VideoRecord], int]:
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
    example = tf.io.parse_single_example(record, FEATURES)
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
    catalog = load_catalog(config.path)
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
    catalog = load_catalog(config.path)
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
    return load_catalog(config.path).class_names


def fingerprint(config: DataConfig) -> list:
    """The shards' names, sizes and modification times."""
    return [list(stamp) for stamp in catalog_key(config.path)]
