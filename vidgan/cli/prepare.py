"""`vidgan prepare --input=DIR_OR_GLOB --output=DIR [...]`: videos -> TFRecord shards;
`vidgan prepare --stats --input=...`: describe a video folder or a prepared dataset.

Parses and validates; the work is `data_pipelines.prepare.prepare(...)` / `.stats(...)`.
"""

from __future__ import annotations

import glob
import os

from absl import flags

from vidgan.cli.common import check_args, fail, last_line, run_app

# FFmpeg prints its own complaints about broken files ("moov atom not found"); the skip
# reasons say the same in one line each. Read once, when OpenCV first opens a video.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "8")  # AV_LOG_FATAL

_INPUT = flags.DEFINE_string(
    "input", None, "A folder of videos (searched recursively) or a glob; with --stats also "
    "a prepared output dir.")
_OUTPUT = flags.DEFINE_string("output", None, "Folder for the shards and dataset.json.")
_KIND = flags.DEFINE_enum("kind", "video_files", ["video_files", "frame_folders"],
                          "Video files, or folders of images (one folder per video).")
_LABELS = flags.DEFINE_bool("labels", False,
                            "Class labels from each video's parent folder name.")
_SHARDS = flags.DEFINE_integer("shards", 8, "Number of shards (at most one per video).",
                               lower_bound=1)
_WORKERS = flags.DEFINE_integer("workers", 2, "Videos decoded and encoded at once.",
                                lower_bound=1)
_IMAGE_FORMAT = flags.DEFINE_enum("image_format", "jpeg", ["jpeg", "png"],
                                  "How frames are stored: jpeg (small) or png (lossless).")
_JPEG_QUALITY = flags.DEFINE_integer("jpeg_quality", 95, "JPEG quality.", lower_bound=0,
                                     upper_bound=100)
_SHORTER_SIDE = flags.DEFINE_integer(
    "shorter_side", 0, "Resize frames so their shorter side is this (0: keep the size).",
    lower_bound=0)
_MAX_RESOLUTION = flags.DEFINE_integer(
    "max_resolution", 4096, "Skip videos whose longer side is above this.", lower_bound=2)
_MIN_FRAMES = flags.DEFINE_integer("min_frames", 2, "Skip videos with fewer frames.",
                                   lower_bound=1)
_OVERWRITE = flags.DEFINE_bool("overwrite", False,
                               "Replace the shards of an earlier run in --output.")
_STATS = flags.DEFINE_bool("stats", False,
                           "Describe --input (videos, or a prepared dataset) and exit.")
_PROGRESS = flags.DEFINE_bool("progress", True, "Show a progress bar.")
_DECODE_TIMEOUT = flags.DEFINE_float(
    "decode_timeout", 120.0, "Seconds a video may take to decode and encode, plus 0.1 s per "
    "frame its header claims; a video over it is skipped (decoder timed out).", lower_bound=1)


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def _histogram(counts: dict[str, int], limit: int = 8) -> str:
    items = list(counts.items())
    text = ", ".join(f"{key} ({n})" for key, n in items[:limit])
    return text + (f", ... ({len(items) - limit} more)" if len(items) > limit else "")


def _skipped_lines(skipped: dict[str, int], files: list[list[str]]) -> list[str]:
    if not files:
        return ["skipped: none"]
    lines = [f"skipped: {len(files)} (" + ", ".join(
        f"{n} {kind}" for kind, n in sorted(skipped.items())) + ")"]
    lines += [f"  {path}: {reason}" for path, reason in files]
    return lines


def _print_summary(s: dict) -> None:
    lines = [f"videos ok: {s['videos_ok']}"]
    lines += _skipped_lines(s["skipped"], s["skipped_files"])
    for path, decoded, expected in s["truncated_files"]:
        lines.append(f"  kept {path}: stream ended after {decoded} of {expected} frames")
    lines += [f"frames: {s['frames']}",
              f"clips: {s['clips']} (non-overlapping 16-frame clips)",
              f"bytes: {s['bytes']} ({_size(s['bytes'])}) in {len(s['shards'])} shard(s) "
              f"in {s['output_dir']}"]
    print("\n".join(lines))


def _print_stats(s: dict) -> None:
    what = "prepared dataset (TFRecord)" if s["source"] == "tfrecord" else "videos"
    lines = [f"{what}: {s['path']}", f"videos: {s['videos']}"]
    lines += _skipped_lines(s["skipped"], s["skipped_files"])
    estimate = "" if s["frames_exact"] else " (the containers' counts)"
    lines += [
        f"frames: {s['frames']}{estimate}",
        f"frames per video: min {s['min_frames']}, median {s['median_frames']:g}, "
        f"max {s['max_frames']}",
        f"resolutions (WxH): {_histogram(s['resolutions']) or 'none'}",
        f"fps (rounded): {_histogram(s['fps']) or 'none'}",
    ]
    if "classes" in s:
        lines.append(f"classes: {len(s['classes'])}: " + _histogram(s["classes"], limit=20))
    if s["source"] == "tfrecord":
        lines.append(f"stored as: {s['image_format']} in {s['shards']} shard(s), "
                     f"{s['bytes']} bytes ({_size(s['bytes'])})")
    print("\n".join(lines))


def main(argv: list[str]) -> None:
    check_args("prepare", argv)
    if not _INPUT.value:
        fail("prepare", "--input is required: a folder of videos or a glob")
    if not (os.path.exists(_INPUT.value) or glob.glob(_INPUT.value)):
        fail("prepare", f"--input={_INPUT.value} does not exist")
    if _STATS.value and _OUTPUT.value:
        fail("prepare", "--stats only describes --input; drop --output")
    if not _STATS.value and not _OUTPUT.value:
        fail("prepare", "--output is required: the folder for the TFRecord shards")

    from data_pipelines import describe  # noqa: PLC0415  (imports TensorFlow)
    from data_pipelines import prepare as prepare_lib  # noqa: PLC0415
    from vidgan.data import sources  # noqa: PLC0415

    try:
        if _STATS.value:
            _print_stats(describe.stats(_INPUT.value, _KIND.value, _LABELS.value,
                                        max_resolution=_MAX_RESOLUTION.value,
                                        workers=_WORKERS.value))
            return
        summary = prepare_lib.prepare(
            _INPUT.value, _OUTPUT.value, kind=_KIND.value, labels=_LABELS.value,
            num_shards=_SHARDS.value, workers=_WORKERS.value,
            image_format=_IMAGE_FORMAT.value, jpeg_quality=_JPEG_QUALITY.value,
            shorter_side=_SHORTER_SIDE.value, max_resolution=_MAX_RESOLUTION.value,
            min_frames=_MIN_FRAMES.value, progress=_PROGRESS.value,
            overwrite=_OVERWRITE.value, decode_timeout=_DECODE_TIMEOUT.value)
    except sources.DataError as e:
        fail("prepare", str(e), code=1)
    except FileExistsError as e:
        fail("prepare", str(e))
    except OSError as e:  # unwritable output, full disk
        fail("prepare", last_line(e), code=1)
    except KeyboardInterrupt:  # prepare: a second SIGTERM / SIGINT, stopped at once
        fail("prepare", "interrupted" + ("" if _STATS.value else (
            f"; what is written is kept in {_OUTPUT.value}: re-run the same command to "
            "finish")), code=130)
    if summary["stopped"]:
        done, remaining = summary["videos_done"], summary["remaining"]
        print(f"stopped by {summary['stopped']}: {done} of {done + remaining} videos done; "
              "re-run the same command to finish (what is written is kept in "
              f"{summary['output_dir']})")
        return
    _print_summary(summary)


def run(argv: list[str]) -> None:
    run_app("prepare", main, argv)
