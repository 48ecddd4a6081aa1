"""Finding videos on disk: listing, labels from folder names, the split by video, probing.

A dataset path is a folder (searched recursively) or a glob. Video files are any of
VIDEO_EXTENSIONS; a frame folder is a folder holding images (its frames, in numeric order).
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import glob
import os
from typing import Iterator

from absl import logging
import tensorflow as tf

from vidgan.data import isolation
from vidgan.data import video_io

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mkv", ".webm", ".gif", ".mov", ".m4v", ".mpg",
                    ".mpeg", ".ogv", ".wmv", ".flv")


class DataError(ValueError):
    """No usable data; the message says why in one line."""


@dataclasses.dataclass(frozen=True)
class Video:
    path: str
    relpath: str  # relative to the dataset root: the key of the split
    label: int  # -1 without labels
    info: video_io.VideoInfo | None = None


@dataclasses.dataclass
class ScanReport:
    """What a scan found: usable videos and skipped ones with their reasons."""

    videos: list[Video]
    class_names: list[str]
    skipped: list[tuple[str, str]]  # (path, reason)

    def reason_counts(self) -> dict[str, int]:
        """Skips counted by reason kind (the text before the first ':' or '(')."""
        return dict(collections.Counter(
            reason.split(":")[0].split(" (")[0].strip() for _, reason in self.skipped))

    def summary(self) -> str:
        text = f"{len(self.videos)} videos usable, {len(self.skipped)} skipped"
        if self.skipped:
            text += " (" + ", ".join(f"{n} {k}" for k, n in sorted(
                self.reason_counts().items())) + ")"
        return text


def _root_and_candidates(path: str) -> tuple[str, list[str]]:
    if glob.has_magic(path):
        root = path.split("*")[0].split("?")[0].split("[")[0]
        root = root if root.endswith(os.sep) else os.path.dirname(root)
        return root or ".", sorted(glob.glob(path, recursive=True))
    if os.path.isdir(path):
        found = []
        for folder, dirs, files in os.walk(path):
            dirs.sort()
            found.append(folder)
            found.extend(os.path.join(folder, f) for f in sorted(files))
        return path, found
    if os.path.isfile(path):
        return os.path.dirname(path) or ".", [path]
    raise DataError(f"data.path {path} does not exist")


def list_videos(path: str, kind: str, labels: bool = False) -> tuple[list[Video], list[str]]:
    """Videos under `path`: files with a video extension (kind="video_files") or folders
    that directly hold images (kind="frame_folders"). Labels index the sorted names of the
    videos' parent folders. Returns (videos sorted by relative path, class names)."""
    root, candidates = _root_and_candidates(path)
    if kind == "video_files":
        paths = [p for p in candidates
                 if os.path.isfile(p) and p.lower().endswith(VIDEO_EXTENSIONS)]
    elif kind == "frame_folders":
        paths = [p for p in candidates if os.path.isdir(p) and any(
            n.lower().endswith(video_io.IMAGE_EXTENSIONS) for n in os.listdir(p))]
    else:
        raise ValueError(f"unknown kind {kind!r}")
    if not paths:
        what = "video files (" + ", ".join(VIDEO_EXTENSIONS) + ")" if kind == "video_files" \
            else "folders of images"
        raise DataError(f"no {what} under {path}")
    rel = {p: os.path.relpath(p, root) for p in paths}
    class_names = sorted({os.path.basename(os.path.dirname(os.path.abspath(p)))
                          for p in paths}) if labels else []
    index = {name: i for i, name in enumerate(class_names)}
    videos = [Video(p, rel[p], index[os.path.basename(os.path.dirname(os.path.abspath(p)))]
                    if labels else -1) for p in sorted(paths, key=lambda p: rel[p])]
    return videos, class_names


def is_test(relpaths: list[str], seed: int, test_fraction: float) -> list[bool]:
    """The split BY VIDEO: a hash of (seed, relative path), stable as files are added.

    Uses TF's fingerprint so the TFRecord reader can apply the same rule in the graph.
    """
    if not relpaths:
        return []
    keys = tf.constant([f"{seed}:{p}" for p in relpaths])
    buckets = tf.strings.to_hash_bucket_fast(keys, 1_000_000).numpy()
    return [b < test_fraction * 1_000_000 for b in buckets]


def select_split(videos: list[Video], split: str, seed: int,
                 test_fraction: float) -> list[Video]:
    if split == "all":
        return list(videos)
    flags = is_test([v.relpath for v in videos], seed, test_fraction)
    return [v for v, test in zip(videos, flags) if test == (split == "test")]


def check(video: Video, min_frames: int, max_resolution: int,
          default_fps: float) -> tuple[Video | None, str]:
    """Probes one video; returns (video with info, "") or (None, reason)."""
    isolation.inject_fault(video.path, "probe")
    try:
        info = video_io.probe(video.path, default_fps)
    except video_io.VideoReadError as e:
        return None, str(e)
    if max(info.width, info.height) > max_resolution or min(info.width, info.height) < 2:
        return None, f"absurd resolution: {info.width}x{info.height}"
    if info.frames < min_frames:
        return None, f"too short: {info.frames} frames, a clip needs {min_frames}"
    return dataclasses.replace(video, info=info), ""


def check_isolated(videos: list[Video], min_frames: int, max_resolution: int,
                   default_fps: float, workers: int,
                   timeout: float = isolation.PROBE_TIMEOUT
                   ) -> Iterator[tuple[Video | None, str]]:
    """`check` of each video, in order, in worker processes (vidgan.data.isolation): a
    probe that crashes or hangs for `timeout` s gives (None, "decoder crashed" / "decoder
    timed out") for that video only."""
    probe = functools.partial(check, min_frames=min_frames, max_resolution=max_resolution,
                              default_fps=default_fps)
    for result in isolation.isolated_map(probe, videos, workers, timeout):
        yield (None, result.reason) if isinstance(result, isolation.Failed) else result


def scan(path: str, kind: str, labels: bool, split: str, seed: int, test_fraction: float,
         min_frames: int, max_resolution: int, default_fps: float,
         workers: int = 4, timeout: float = isolation.PROBE_TIMEOUT) -> ScanReport:
    """Lists, splits and probes (in worker processes: check_isolated, `timeout` s per
    video) the videos.

    Each skipped video is logged once with its reason. Raises DataError if none is usable.
    """
    videos, class_names = list_videos(path, kind, labels)
    chosen = select_split(videos, split, seed, test_fraction)
    if not chosen:
        raise DataError(f"the {split} split of {path} is empty ({len(videos)} videos, "
                        f"test_fraction={test_fraction})")
    results = list(check_isolated(chosen, min_frames, max_resolution, default_fps, workers,
                                  timeout))
    report = ScanReport([v for v, _ in results if v is not None], class_names,
                        [(v.path, reason) for v, (ok, reason) in zip(chosen, results)
                         if ok is None])
    for skipped_path, reason in report.skipped:
        logging.warning("Skipping %s: %s", skipped_path, reason)
    if not report.videos:
        raise DataError(f"no usable videos in {path}: {report.summary()}")
    logging.info("Data %s (%s split): %s", path, split, report.summary())
    return report
