"""Videos -> TFRecord shards (`vidgan prepare`; `--stats` describes a dataset: describe.py).

An output dir holds
  videos-00000-of-00008.tfrecord ...  one tf.train.Example per video, every frame encoded
                                      as JPEG or PNG (the format: vidgan.data.records)
  dataset.json                        what was written (per video and per shard), what
                                      was skipped and why, and the arguments used
Train on it with data.source=tfrecord, data.path=<output dir>: the reader decodes only
the frames of the clips it cuts, in graph ops, instead of decoding whole videos.

Every frame of a video is kept (clips are cut at training time), optionally resized so
its shorter side is `shorter_side`. Containers' frame counts are estimates, so videos are
decoded until the stream ends; a file that ends early (truncated) keeps the frames it has.

Probing and decoding run in worker processes (vidgan.data.isolation): a decoder that
crashes or hangs costs that file, not the run. SIGTERM / SIGINT stop it, keeping the videos
already decoded, and the same command run again finishes the dataset (prepare_progress).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import datetime
import glob
import os
import sys

import vidgan  # first: it turns TensorFlow's oneDNN kernels on before TensorFlow loads

from absl import logging
import cv2
import tensorflow as tf
import tqdm

from data_pipelines import prepare_progress
from vidgan import stopping
from vidgan.data import isolation
from vidgan.data import sources
from vidgan.data import records
from vidgan.data import video_io

CLIP_FRAMES = 16  # the clip length of the summary's "clips" count
DECODE_TIMEOUT = 120.0  # seconds per video, plus SECONDS_PER_FRAME per frame it claims
SECONDS_PER_FRAME = 0.1  # 10 frames/s: a long 4K video decodes and encodes faster
_EXTENSIONS = {"jpeg": ".jpg", "png": ".png"}


# --- decoding ------------------------------------------------------------------------------
def resized_size(height: int, width: int, shorter_side: int) -> tuple[int, int]:
    """(height, width) with the shorter side scaled to `shorter_side` (0: unchanged)."""
    if not shorter_side or min(height, width) == shorter_side:
        return height, width
    scale = shorter_side / min(height, width)
    if height <= width:
        return shorter_side, max(1, round(width * scale))
    return max(1, round(height * scale)), shorter_side


@dataclasses.dataclass
class _Encoded:
    video: sources.Video
    frames: list[bytes]
    height: int = 0
    width: int = 0
    reason: str = ""  # non-empty: skipped


def _encode_video(video: sources.Video, image_format: str, jpeg_quality: int,
                  shorter_side: int, min_frames: int) -> _Encoded:
    """Decodes, resizes and encodes every frame of one video (runs in a worker process:
    vidgan.data.isolation). Holds only the encoded frames, never the decoded video."""
    isolation.inject_fault(video.path, "decode")
    ext = _EXTENSIONS[image_format]
    params = [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality] if image_format == "jpeg" else []
    encoded: list[bytes] = []
    size = out = None
    try:
        for frame in video_io.iter_frames(video.path, rgb=False):  # BGR: what imencode expects
            if size is None:
                size = frame.shape[:2]
                out = resized_size(size[0], size[1], shorter_side)
            elif frame.shape[:2] != size:
                raise video_io.VideoReadError(
                    f"frame size changes within the video: {size[1]}x{size[0]} -> "
                    f"{frame.shape[1]}x{frame.shape[0]} at frame {len(encoded)}")
            if out != size:
                frame = cv2.resize(frame, (out[1], out[0]), interpolation=cv2.INTER_AREA)
            ok, data = cv2.imencode(ext, frame, params)
            if not ok:
                raise video_io.VideoReadError(f"cannot encode frame {len(encoded)} as "
                                              f"{image_format}")
            encoded.append(data.tobytes())
    except video_io.VideoReadError as e:
        return _Encoded(video, [], reason=str(e))
    if not encoded:
        return _Encoded(video, [], reason="no decodable frames")
    if len(encoded) < min_frames:
        return _Encoded(video, [], reason=f"too short: {len(encoded)} frames, a clip needs "
                                          f"{min_frames}")
    return _Encoded(video, encoded, out[0], out[1])


# --- the builder -----------------------------------------------------------------------------
def _existing_shards(output_dir: str) -> list[str]:
    return sorted(glob.glob(os.path.join(output_dir, records.SHARD_GLOB)))


def _reason_counts(skipped: list[tuple[str, str]]) -> dict[str, int]:
    return sources.ScanReport([], [], skipped).reason_counts()


def prepare(input_path: str, output_dir: str, *, kind: str = "video_files",
            labels: bool = False, num_shards: int = 8, workers: int = 2,
            image_format: str = "jpeg", jpeg_quality: int = 95, shorter_side: int = 0,
            max_resolution: int = 4096, min_frames: int = 2, progress: bool = True,
            overwrite: bool = False, probe_timeout: float = isolation.PROBE_TIMEOUT,
            decode_timeout: float = DECODE_TIMEOUT) -> dict:
    """Writes the videos under `input_path` (a folder, searched recursively, or a glob) as
    TFRecord shards plus dataset.json in `output_dir`; returns a summary.

    kind: "video_files" or "frame_folders" (folders of images, one per video). labels:
    class index from each video's parent folder name. Videos are probed (skipped: not
    openable, empty, resolution above `max_resolution`), then decoded to the end of the
    stream (skipped: no frames, fewer than `min_frames`, frame size changing) in
    `workers` worker processes, each frame resized (shorter side -> `shorter_side`,
    INTER_AREA; 0 keeps the size) and encoded as `image_format` ("jpeg" at
    `jpeg_quality`, or "png"). A file whose decoder crashes, or whose probe takes over
    `probe_timeout` s or decode over `decode_timeout` s + SECONDS_PER_FRAME per frame its
    header claims, is skipped ("decoder crashed" / "decoder timed out"). Written video j
    (in relative-path order) goes to shard j mod n, n = min(num_shards, videos that pass
    the probe). Each skipped video is logged once with its reason.

    Returns {"videos_ok", "videos_skipped", "skipped": {reason kind: count},
    "skipped_files": [[path, reason]], "truncated_files": [[path, decoded, expected]]
    (kept with the frames before the stream ended), "clips" (the number of
    non-overlapping 16-frame clips at stride 1, i.e. sum of frames // 16), "frames",
    "bytes" (total size of the shards), "shards": [paths], "output_dir", "stopped": None}.
    SIGTERM / SIGINT stop it at once, keeping the videos already decoded: then it returns
    {"stopped": the signal's name, "videos_done", "remaining", "output_dir"} and the same
    call again finishes the dataset an uninterrupted run writes.
    Raises DataError (one line) if no video is usable, FileExistsError if `output_dir`
    already holds shards and not `overwrite`, ValueError for a bad argument.
    """
    arguments = dict(input=input_path, kind=kind, labels=labels, num_shards=num_shards,
                     workers=workers, image_format=image_format, jpeg_quality=jpeg_quality,
                     shorter_side=shorter_side, max_resolution=max_resolution,
                     min_frames=min_frames)
    _check_arguments(arguments)
    if _existing_shards(output_dir) and not overwrite:
        raise FileExistsError(f"{output_dir} already holds TFRecord shards; choose another "
                              "output dir or overwrite them (--overwrite)")
    videos, class_names = sources.list_videos(input_path, kind, labels)
    with stopping.StopSignals("the videos already decoded") as stop:
        usable, skipped = _probe(videos, workers, max_resolution, probe_timeout, progress)
        if not usable:
            raise sources.DataError(_nothing_usable(input_path, videos, skipped))
        encode = functools.partial(_encode_video, image_format=image_format,
                                   jpeg_quality=jpeg_quality, shorter_side=shorter_side,
                                   min_frames=min_frames)
        # What a stopped run must share with its re-run (any number of workers will do).
        key = {**{k: v for k, v in arguments.items() if k != "workers"},
               "class_names": class_names, "usable": [v.relpath for v in usable]}
        n = min(num_shards, len(usable))
        written = _write_shards(
            usable, output_dir, n, encode, class_names, image_format, workers, progress,
            key, stop,
            lambda v: decode_timeout + SECONDS_PER_FRAME * v.info.frames,
            lambda decode_skips: _nothing_usable(input_path, videos, skipped + decode_skips))
    if written.done < len(usable):
        return {"stopped": stop.requested, "videos_done": written.done,
                "remaining": len(usable) - written.done, "output_dir": output_dir}
    return _finish(output_dir, arguments, class_names, image_format, n, written,
                   skipped + written.skipped)


def _finish(output_dir: str, arguments: dict, class_names: list[str], image_format: str,
            n: int, written, skipped: list) -> dict:
    """Writes dataset.json for the `n` shards `written` holds; returns prepare()'s summary."""
    stored = [record for record, _ in written.videos]
    names = [records.shard_name(i, n) for i in range(n)]
    shards = [os.path.join(output_dir, name) for name in names]
    frames = sum(r.frames for r in stored)
    summary = {
        "videos_ok": len(stored),
        "videos_skipped": len(skipped),
        "skipped": _reason_counts(_paths(skipped)),
        "skipped_files": [[v.path, reason] for v, reason in skipped],
        "truncated_files": written.truncated,
        "clips": sum(r.frames // CLIP_FRAMES for r in stored),
        "frames": frames,
        "bytes": sum(os.path.getsize(p) for p in shards),
        "shards": shards,
        "output_dir": output_dir,
        "stopped": None,
    }
    records.write_metadata(output_dir, {
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "versions": {"vidgan": vidgan.__version__, "tensorflow": tf.__version__,
                     "opencv": cv2.__version__},
        "arguments": arguments,
        "image_format": image_format,
        "class_names": class_names,
        "num_videos": len(stored),
        "frames": frames,
        "clips_16": summary["clips"],
        "bytes": summary["bytes"],
        "shards": [{"file": name, "videos": sum(s == name for _, s in written.videos),
                    "bytes": os.path.getsize(path)} for name, path in zip(names, shards)],
        "videos": [records.video_entry(record, shard) for record, shard in written.videos],
        "skipped": [records.skipped_entry(v.path, v.relpath, reason) for v, reason in skipped],
        "truncated": written.truncated,
    })
    return summary


def _check_arguments(a: dict) -> None:
    """ValueError naming the first bad argument of prepare()."""
    if a["image_format"] not in _EXTENSIONS:
        raise ValueError(f"image_format must be one of {', '.join(_EXTENSIONS)}, "
                         f"got {a['image_format']!r}")
    for name, low in (("num_shards", 1), ("workers", 1), ("shorter_side", 0),
                      ("min_frames", 1), ("max_resolution", 2)):
        if a[name] < low:
            raise ValueError(f"{name} must be >= {low}, got {a[name]}")
    if not 0 <= a["jpeg_quality"] <= 100:
        raise ValueError(f"jpeg_quality must be in [0, 100], got {a['jpeg_quality']}")


def _probe(videos: list, workers: int, max_resolution: int, timeout: float,
           progress: bool) -> tuple[list, list]:
    """(usable videos, [(video, reason)] skipped): the videos that open, hold frames and
    are not too large (fast: the container's header only). The frame count is only the
    header's estimate, so `min_frames` is applied to the decoded count later."""
    checked = tqdm.tqdm(
        sources.check_isolated(videos, 1, max_resolution, video_io.DEFAULT_FPS, workers,
                               timeout),
        total=len(videos), desc="probe", unit="video", file=sys.stderr,
        disable=not progress, leave=False)
    usable, skipped = [], []
    for video, (ok, reason) in zip(videos, checked):
        if ok is None:
            logging.warning("Skipping %s: %s", video.path, reason)
            skipped.append((video, reason))
        else:
            usable.append(ok)
    return usable, skipped


def _write_shards(usable: list, output_dir: str, n: int, encode, class_names: list[str],
                  image_format: str, workers: int, progress: bool, key: dict,
                  stop: stopping.StopSignals, timeout,
                  nothing_usable) -> prepare_progress.Progress:
    """Decodes and encodes the videos in `workers` processes and writes them, in order,
    round robin into n temporary shards, continuing a stopped run with the same `key`.
    Complete: replaces any previous dataset in `output_dir` with the shards (DataError if
    no video survives). Stopped or interrupted: keeps the temporary shards and writes
    prepare_progress.FILE, which a re-run continues from."""
    created = not os.path.exists(output_dir)
    os.makedirs(output_dir, exist_ok=True)
    names = [records.shard_name(i, n) for i in range(n)]
    temps = [os.path.join(output_dir, f".tmp-{name}") for name in names]
    state = prepare_progress.load(output_dir, key, temps, usable)
    writers = prepare_progress.open_writers(
        temps, [sum(s == name for _, s in state.videos) for name in names])
    mark = state.mark()
    try:
        with tqdm.tqdm(total=len(usable), initial=state.done, desc="prepare", unit="video",
                       file=sys.stderr, disable=not progress) as bar, contextlib.closing(
                isolation.isolated_map(encode, usable[state.done:], workers, timeout,
                                       stop)) as results:
            for item in results:  # an _Encoded, or an isolation.Failed: both have .reason
                video = usable[state.done]
                bar.update(1)
                if item.reason:
                    logging.warning("Skipping %s: %s", video.path, item.reason)
                    state.skipped.append((video, item.reason))
                    bar.set_postfix(skipped=len(state.skipped))
                else:
                    _store(item, writers, names, class_names, image_format, state)
                state.done += 1
                mark = state.mark()
        for writer in writers:
            writer.close()
        if state.done == len(usable):
            if not state.videos:
                raise sources.DataError(nothing_usable(state.skipped))
            for old in _existing_shards(output_dir) + [
                    os.path.join(output_dir, records.METADATA_FILE)]:
                if os.path.exists(old):
                    os.remove(old)
            for temp, name in zip(temps, names):
                os.replace(temp, os.path.join(output_dir, name))
    finally:
        for writer in writers:
            writer.close()
        if 0 < mark[0] < len(usable):  # stopped or interrupted: a re-run continues here
            prepare_progress.save(output_dir, key, state, mark, temps)
        else:
            for path in glob.glob(os.path.join(output_dir, ".tmp-" + records.SHARD_GLOB)) \
                    + [os.path.join(output_dir, prepare_progress.FILE)]:
                if os.path.exists(path):
                    os.remove(path)
        if created and not os.listdir(output_dir):
            os.rmdir(output_dir)
    return state


def _store(item: _Encoded, writers: list, names: list[str], class_names: list[str],
           image_format: str, state: prepare_progress.Progress) -> None:
    """Writes one encoded video into the next shard, round robin, and records it."""
    info = item.video.info
    if len(item.frames) < 0.9 * info.frames - 2:
        logging.warning("%s: the stream ended after %d of %d frames (truncated?); keeping %d",
                        item.video.path, len(item.frames), info.frames, len(item.frames))
        state.truncated.append([item.video.path, len(item.frames), info.frames])
    shard = len(state.videos) % len(writers)
    label = item.video.label
    writers[shard].write(records.encode_example(
        item.frames, item.height, item.width, info.fps, label,
        class_names[label] if label >= 0 else "", item.video.relpath, image_format))
    state.videos.append((records.VideoRecord(
        item.video.relpath, len(item.frames), info.fps, item.height, item.width, label,
        sum(len(f) for f in item.frames)), names[shard]))


def _paths(skipped: list[tuple[sources.Video, str]]) -> list[tuple[str, str]]:
    return [(v.path, reason) for v, reason in skipped]


def _nothing_usable(input_path: str, videos: list, skipped: list) -> str:
    counts = sorted(_reason_counts(_paths(skipped)).items())
    text = (f"no usable videos in {input_path}: {len(videos)} found, all skipped ("
            + ", ".join(f"{n} {kind}" for kind, n in counts) + ")")
    if len(skipped) == 1:
        text += f": {os.path.basename(skipped[0][0].path)}: {skipped[0][1]}"
    return text
