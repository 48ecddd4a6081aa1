"""The TFRecord format of `vidgan prepare` (written by data_pipelines/prepare.py, read by
vidgan.data.tfrecord): one definition for the writer and the reader.

Shards `videos-00000-of-0000N.tfrecord` hold one `tf.train.Example` per video:

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
"""

from __future__ import annotations

import dataclasses
import functools
import glob
import json
import os

import tensorflow as tf

from vidgan import files
from vidgan.data import sources

FORMAT_VERSION = 1  # dataset.json's "format_version"
SHARD_GLOB = "videos-*-of-*.tfrecord"
METADATA_FILE = "dataset.json"

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


# --- writing ---------------------------------------------------------------------------------
def encode_example(frames: list[bytes], height: int, width: int, fps: float, label: int,
                   label_name: str, source: str, image_format: str) -> bytes:
    """One video's serialized tf.train.Example (the fields of FEATURES)."""
    def ints(v):
        return tf.train.Feature(int64_list=tf.train.Int64List(value=[v]))

    def strings(*v):
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=list(v)))

    features = {
        "frames": strings(*frames),
        "frame_count": ints(len(frames)),
        "height": ints(height),
        "width": ints(width),
        "fps": tf.train.Feature(float_list=tf.train.FloatList(value=[fps])),
        "label": ints(label),
        "label_name": strings(label_name.encode()),
        "source": strings(source.encode()),
        "format": strings(image_format.encode()),
    }
    return tf.train.Example(features=tf.train.Features(feature=features)).SerializeToString()


def video_entry(record: VideoRecord, shard: str) -> dict:
    """The dataset.json entry of one stored video ("videos": [...])."""
    return {**dataclasses.asdict(record), "shard": shard}


def skipped_entry(path: str, source: str, reason: str) -> dict:
    """The dataset.json entry of one video `vidgan prepare` skipped ("skipped": [...])."""
    return {"path": path, "source": source, "reason": reason}


def write_metadata(folder: str, metadata: dict) -> None:
    """dataset.json in `folder`, atomically. `metadata` holds at least "class_names",
    "shards" ([{"file", "videos", "bytes"}]), "videos" (video_entry) and "skipped"
    (skipped_entry); the reader (load_catalog) uses those."""
    files.write_json(os.path.join(folder, METADATA_FILE),
                     {"format_version": FORMAT_VERSION, **metadata}, indent=1)


# --- reading ---------------------------------------------------------------------------------
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


def read_metadata(folder: str) -> dict | None:
    """dataset.json of `folder` (None when there is none); DataError when unreadable."""
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
        meta = read_metadata(folder)
        if meta is not None and _metadata_matches(meta, folder):
            wanted = {os.path.basename(s) for s in folder_shards}
            fields = [f.name for f in dataclasses.fields(VideoRecord)]
            videos += [VideoRecord(**{k: v[k] for k in fields})
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


