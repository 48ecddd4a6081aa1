"""Describing a video folder or a `prepare` output dir: counts, frames, resolutions, frame
rates, classes and the files that would be skipped, with reasons (`vidgan prepare --stats`).
A probe per video (in isolated worker processes), or a scan of the records: nothing is
written."""

from __future__ import annotations

import collections
import os
import statistics

from vidgan.data import isolation
from vidgan.data import records
from vidgan.data import sources
from vidgan.data import video_io


def stats(input_path: str, kind: str = "video_files", labels: bool = False, *,
          max_resolution: int = 4096, workers: int = 2,
          probe_timeout: float = isolation.PROBE_TIMEOUT) -> dict:
    """Describes a video folder / glob, or a `prepare` output dir (one with dataset.json:
    then from its records).

    Returns {"source": "videos" | "tfrecord", "path", "videos", "videos_skipped",
    "skipped": {reason kind: count}, "skipped_files": [[path, reason]], "frames",
    "frames_exact" (False: the containers' estimates), "resolutions": {"WxH": count},
    "fps": {"25": count} (rounded), "min_frames", "median_frames", "max_frames",
    "classes": {name: count} (with labels)}; for shards also "image_format", "shards",
    "bytes".
    """
    if os.path.isdir(input_path) and os.path.exists(
            os.path.join(input_path, records.METADATA_FILE)):
        return _record_stats(input_path)
    videos, class_names = sources.list_videos(input_path, kind, labels)
    checked = list(sources.check_isolated(videos, 1, max_resolution, video_io.DEFAULT_FPS,
                                          workers, probe_timeout))  # crashes and hangs: skipped
    ok = [v for v, _ in checked if v is not None]
    skipped = [(v.path, reason) for v, (good, reason) in zip(videos, checked) if good is None]
    rows = [dict(frames=v.info.frames, fps=v.info.fps, width=v.info.width,
                 height=v.info.height, label=v.label) for v in ok]
    out = {"source": "videos", "path": input_path, "frames_exact": kind == "frame_folders"}
    out.update(_describe_rows(rows, class_names, skipped))
    return out


def _record_stats(folder: str) -> dict:
    shards = records.find_shards(folder)
    found = records.scan_records(shards)
    meta = records.read_metadata(folder) or {}
    rows = [dict(frames=r["frame_count"], fps=r["fps"], width=r["width"], height=r["height"],
                 label=r["label"]) for r in found]
    skipped = [(s["path"], s["reason"]) for s in meta.get("skipped", [])]
    out = {"source": "tfrecord", "path": folder, "frames_exact": True,
           "image_format": meta.get("image_format", ""), "shards": len(shards),
           "bytes": sum(os.path.getsize(p) for p in shards)}
    out.update(_describe_rows(rows, meta.get("class_names", []), skipped))
    return out


def _describe_rows(rows: list[dict], class_names: list[str],
                   skipped: list[tuple[str, str]]) -> dict:
    frames = [r["frames"] for r in rows]
    by_count = lambda c: dict(c.most_common())  # noqa: E731
    out = {
        "videos": len(rows),
        "videos_skipped": len(skipped),
        "skipped": sources.ScanReport([], [], skipped).reason_counts(),
        "skipped_files": [list(s) for s in skipped],
        "frames": sum(frames),
        "resolutions": by_count(collections.Counter(f"{r['width']}x{r['height']}"
                                                    for r in rows)),
        "fps": by_count(collections.Counter(f"{round(r['fps'])}" for r in rows)),
        "min_frames": min(frames) if frames else 0,
        "median_frames": statistics.median(frames) if frames else 0,
        "max_frames": max(frames) if frames else 0,
    }
    if class_names:
        counts = collections.Counter(r["label"] for r in rows)
        out["classes"] = {name: counts.get(i, 0) for i, name in enumerate(class_names)}
    return out
