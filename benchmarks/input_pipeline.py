"""Real-video input pipeline throughput, measured in one process, ratios within the run.

    python benchmarks/input_pipeline.py [--videos=DIR_OR_GLOB] [--clips=192] [--repeats=3]
        [--steps=10] [--malloc=keep|system] [--json=benchmarks/results/input_pipeline.json]

malloc is set up as the vidgan command does it (vidgan/runtime.py); --malloc=system
measures glibc's default for comparison.

Clips are 16x64x64 (stride 1, random offsets, shorter side to 64 then a center crop).
--videos defaults to ../shared/data/videos if it exists, else (or with --videos=synthetic)
12 synthetic MJPG .avi (320x240, 120 frames of a drifting noise texture and a bright
square) in a temp dir, removed at the end with the TFRecords.
Every rate is the median of --repeats windows of --clips clips (rounded up to whole
epochs of the videos and whole batches of 16), after a warm-up.

(a) plain OpenCV on ONE core: visit the videos in a shuffled order per epoch; per visit
    one random clip start (vidgan.data.pipeline.clip_starts), decoded by
    vidgan.data.video_io.read_frames(threads=1) (sequential grab/read from the start, FFmpeg
    on one thread: CAP_PROP_N_THREADS=1), then cv2.resize(INTER_AREA) of each
    frame so the shorter side is 64, center crop, float32 [-1, 1]. The resize is OpenCV's,
    not the pipeline's TF resize. cv2.setNumThreads(1) too, so no OpenCV thread pool.
(a') the same loop with OpenCV's defaults, calling video_io.read_frames itself: FFmpeg's
    frame threading then decodes with its own threads (2 here), so this "single-thread"
    loop already uses more than one core; its CPU utilisation is in the table.
(b) make_dataset(source=video_files) with the default decode_parallelism (0: 3 videos per
    core at once, each decoded on one FFmpeg thread), batches of 16. Goal: >= 1.8x (a); the
    ratio to (a') is shown too. Also the process CPU utilisation during (b): process_time
    delta / wall delta (all threads): near the core count means decoding really runs in
    parallel (OpenCV releases the GIL); near 1.0 would mean serialized.
(b2) the same with decode_parallelism=2: two videos at once. tf.data's ordered parallel
    map then idles a core whenever a slow video is at the head of the stream.
(c) if data_pipelines.prepare is importable: prepare TFRecords of the same videos (jpeg,
    shorter_side=96) into a temp dir (the time is reported, not part of the rate), then
    make_dataset(source=tfrecord). Goal: >= 5x (b).
(d) input-bound fraction of training: --steps steps of experiments/benchmark.py's config
    (16x64x64, batch 16, default G/D, one device) fed from the tfrecord source (or
    video_files without it). Method: the compiled train step reads its batch from an
    in-memory iterator over one pre-fetched real batch, so a step never waits for data;
    between steps the loop calls next() on the real data iterator, which has been decoding
    and prefetching in background threads while the step ran, and times that call alone.
    Fraction = sum(next() time) / sum(next() time + step time): the share of a training
    loop's wall time spent waiting for input (0 = never input-bound). Two traced warm-up
    steps are not counted.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import vidgan  # noqa: E402,F401  (before TensorFlow: it switches oneDNN's kernels on)
import tensorflow as tf  # noqa: E402
from absl import logging  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)  # data_pipelines/ lives at the repository root
from timing import add_malloc_flag, apply_malloc_flag  # noqa: E402  (benchmarks/timing.py)

from vidgan import config as config_lib  # noqa: E402
from vidgan import runtime  # noqa: E402
from vidgan.config import DataConfig  # noqa: E402
from vidgan.data import make_dataset, pipeline, video_io  # noqa: E402

SHARED_VIDEOS = os.path.join(REPO, "..", "shared", "data", "videos")
T, SIZE, BATCH = 16, 64, 16


# --- inputs ---------------------------------------------------------------------------------
def synthetic_videos(folder: str, count: int = 12, frames: int = 120) -> str:
    """`count` MJPG .avi of 320x240 x `frames`: a noise texture drifting, a bright square."""
    rng = np.random.default_rng(0)
    for v in range(count):
        texture = cv2.resize(rng.integers(0, 256, (60, 80, 3), np.uint8), (640, 480),
                             interpolation=cv2.INTER_LINEAR)
        writer = cv2.VideoWriter(os.path.join(folder, f"synthetic_{v:02d}.avi"),
                                 cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (320, 240))
        dx, dy = rng.integers(1, 4, 2)
        for i in range(frames):
            x, y = (i * dx) % 320, (i * dy) % 240
            image = np.ascontiguousarray(texture[y:y + 240, x:x + 320])
            sx, sy = (40 + 2 * i) % 280, (30 + i) % 200
            image[sy:sy + 40, sx:sx + 40] = (255, 255, 255)
            writer.write(image)
        writer.release()
    return folder


def data_config(path: str, source: str = "video_files",
                decode_parallelism: int = 0) -> DataConfig:
    return DataConfig(source=source, path=path, num_frames=T, height=SIZE, width=SIZE,
                      split="all", clip_offsets="random", resize="center_crop",
                      decode_parallelism=decode_parallelism)


# --- (a) plain OpenCV -----------------------------------------------------------------------
def read_frames_one_thread(path: str, indices: list[int]) -> np.ndarray:
    """video_io.read_frames with FFmpeg decoding on one thread."""
    return video_io.read_frames(path, indices, threads=1)


def opencv_clip(path: str, frames: int, rng: np.random.Generator, read) -> np.ndarray:
    """One random 16-frame clip, decoded as the pipeline does, resized with OpenCV."""
    (start,) = pipeline.clip_starts(frames, T, "random", 1, rng)
    clip = read(path, list(range(start, start + T)))  # [T, h, w, 3] RGB
    h, w = clip.shape[1:3]
    scale = SIZE / min(h, w)
    nh, nw = max(SIZE, math.ceil(h * scale - 1e-4)), max(SIZE, math.ceil(w * scale - 1e-4))
    top, left = (nh - SIZE) // 2, (nw - SIZE) // 2
    out = np.empty((T, SIZE, SIZE, 3), np.float32)
    for k, frame in enumerate(clip):
        resized = cv2.resize(frame, (nw, nh), interpolation=cv2.INTER_AREA)
        out[k] = resized[top:top + SIZE, left:left + SIZE]
    return out / 127.5 - 1.0


def measure_opencv(videos, clips: int, repeats: int, one_core: bool) -> dict:
    rng = np.random.default_rng(0)
    order: list = []
    read = read_frames_one_thread if one_core else video_io.read_frames
    # Frame counts found by decoding (containers estimate theirs), as the pipeline does.
    frames = {v.path: v.info.frames for v in videos}

    def run(n):
        for _ in range(n):
            if not order:
                order.extend(rng.permutation(len(videos)).tolist())
            video = videos[order.pop()]
            try:
                opencv_clip(video.path, frames[video.path], rng, read)
            except video_io.EndOfVideo as e:
                frames[video.path] = e.available
                opencv_clip(video.path, frames[video.path], rng, read)

    threads = cv2.getNumThreads()
    if one_core:
        cv2.setNumThreads(1)  # no OpenCV thread pool in cvtColor / resize
    try:
        run(len(videos))  # warm-up: one epoch (file caches, codec initialisation)
        return timed_windows(lambda: run(clips), clips, repeats)
    finally:
        cv2.setNumThreads(threads)


# --- (b), (c) tf.data -----------------------------------------------------------------------
def timed_windows(fn, clips: int, repeats: int) -> dict:
    """Median clips/s and CPU utilisation of `repeats` calls of fn (each `clips` clips)."""
    rates, utils = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        rates.append(clips / wall)
        utils.append(cpu / wall)
    return {"clips_per_sec": statistics.median(rates), "cpu_util": statistics.median(utils),
            "windows_clips_per_sec": rates}


def measure_dataset(config: DataConfig, clips: int, repeats: int, warmup_batches: int) -> dict:
    iterator = iter(make_dataset(config, BATCH))
    for _ in range(warmup_batches):  # tracing, thread pools, the prefetch buffer
        next(iterator)
    batches = clips // BATCH

    def run():
        for _ in range(batches):
            next(iterator)["video"].numpy()

    return timed_windows(run, clips, repeats)


def prepare_tfrecords(videos_path: str, out: str) -> tuple[str | None, dict]:
    """TFRecord shards of the videos via data_pipelines.prepare, or (None, reason)."""
    try:
        from data_pipelines.prepare import prepare  # noqa: PLC0415
    except ImportError as e:
        return None, {"skipped": f"data_pipelines.prepare not importable: {e}"}
    start = time.perf_counter()
    summary = prepare(videos_path, out, kind="video_files", image_format="jpeg",
                      shorter_side=96, workers=2, progress=False)
    return out, {"prepare_seconds": time.perf_counter() - start,
                 "prepare_summary": {k: v for k, v in summary.items()
                                     if isinstance(v, (int, float, str))}}


# --- (d) input-bound fraction ---------------------------------------------------------------
def input_bound_fraction(path: str, source: str, steps: int, workdir: str) -> dict:
    from vidgan.training import Trainer  # noqa: PLC0415

    spec = importlib.util.spec_from_file_location(
        "benchmark_preset", os.path.join(REPO, "experiments", "benchmark.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    cfg = module.get_config()
    cfg.data.source, cfg.data.path, cfg.data.split = source, path, "all"
    config = config_lib.from_dict(cfg)
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    trainer = Trainer(config, workdir, strategy)
    data = iter(trainer.dataset(0))
    first = next(data)
    fixed = iter(strategy.experimental_distribute_dataset(
        tf.data.Dataset.from_tensors(first).repeat()))
    for _ in range(2):  # tracing; the data pipeline keeps filling its buffers meanwhile
        trainer.train_step(fixed)
    waits, step_times = [], []
    for _ in range(steps):
        start = time.perf_counter()
        next(data)["video"].numpy()
        middle = time.perf_counter()
        trainer.train_step(fixed)
        waits.append(middle - start)
        step_times.append(time.perf_counter() - middle)
    return {"source": source, "steps": steps,
            "fraction": sum(waits) / (sum(waits) + sum(step_times)),
            "median_wait_s": statistics.median(waits),
            "median_step_s": statistics.median(step_times)}


# --- main -----------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", default=None,
                        help="folder or glob of videos, or 'synthetic' (default: "
                             "../shared/data/videos if present, else synthetic)")
    parser.add_argument("--clips", type=int, default=192, help="clips per timed window")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=10, help="training steps for (d); 0 skips")
    add_malloc_flag(parser)
    parser.add_argument("--json", default=None, help="also write the results here")
    args = parser.parse_args()
    logging.set_verbosity(logging.WARNING)
    apply_malloc_flag(args)
    tmp = tempfile.mkdtemp(prefix="vidgan-input-bench-")
    try:
        run(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(args: argparse.Namespace, tmp: str) -> None:
    videos_path = args.videos
    if videos_path is None and os.path.isdir(SHARED_VIDEOS):
        videos_path = os.path.normpath(SHARED_VIDEOS)
    elif videos_path in (None, "synthetic"):
        os.makedirs(os.path.join(tmp, "videos"))
        videos_path = synthetic_videos(os.path.join(tmp, "videos"))
    config = data_config(videos_path)
    videos = pipeline.scan_for(config).videos
    # Whole epochs of the videos (each costs differently) and whole batches.
    unit = math.lcm(len(videos), BATCH)
    unit = unit if unit <= 4 * max(args.clips, BATCH) else BATCH
    clips = max(unit, math.ceil(args.clips / unit) * unit)
    warmup_batches = max(2, unit // BATCH)
    print(f"{len(videos)} videos from {videos_path}; windows of {clips} clips "
          f"x {args.repeats} repeats; {os.cpu_count()} CPUs; load average "
          f"{os.getloadavg()[0]:.2f} (other processes skew every number)", flush=True)

    results: dict = {"malloc": runtime.keep_freed_memory(), "videos_path": videos_path,
                     "videos": [v.relpath for v in videos],
                     "clip": [T, SIZE, SIZE], "batch": BATCH, "window_clips": clips,
                     "repeats": args.repeats, "cpus": os.cpu_count(),
                     "loadavg_1min_at_start": os.getloadavg()[0],
                     "versions": {"tensorflow": tf.__version__, "opencv": cv2.__version__,
                                  "python": platform.python_version()}}
    results["a_opencv_one_core"] = measure_opencv(videos, clips, args.repeats, one_core=True)
    print(f"(a) {results['a_opencv_one_core']['clips_per_sec']:.1f} clips/s", flush=True)
    results["a_opencv_defaults"] = measure_opencv(videos, clips, args.repeats, one_core=False)
    print(f"(a') {results['a_opencv_defaults']['clips_per_sec']:.1f} clips/s", flush=True)
    results["b_video_files"] = measure_dataset(config, clips, args.repeats, warmup_batches)
    results["b_video_files"]["decode_parallelism"] = pipeline.decode_calls(config)
    print(f"(b) {results['b_video_files']['clips_per_sec']:.1f} clips/s", flush=True)
    results["b2_video_files_2_calls"] = measure_dataset(
        data_config(videos_path, decode_parallelism=2), clips, args.repeats, warmup_batches)
    print(f"(b2) {results['b2_video_files_2_calls']['clips_per_sec']:.1f} clips/s", flush=True)

    try:
        shards, info = prepare_tfrecords(videos_path, os.path.join(tmp, "tfrecords"))
    except Exception as e:  # noqa: BLE001  the TFRecord path is optional here
        shards, info = None, {"skipped": f"prepare failed: {type(e).__name__}: {e}"}
    results["c_tfrecord"] = info
    if shards:
        try:
            results["c_tfrecord"].update(measure_dataset(
                data_config(shards, "tfrecord"), clips, args.repeats, warmup_batches))
        except Exception as e:  # noqa: BLE001
            shards = None
            results["c_tfrecord"]["skipped"] = f"tfrecord dataset failed: {type(e).__name__}: {e}"
    if shards:
        print(f"(c) {results['c_tfrecord']['clips_per_sec']:.1f} clips/s", flush=True)

    if args.steps > 0:
        results["d_input_bound"] = input_bound_fraction(
            shards or videos_path, "tfrecord" if shards else "video_files", args.steps,
            os.path.join(tmp, "run"))

    results["loadavg_1min_at_end"] = os.getloadavg()[0]
    print()
    print(table(results))
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


def table(r: dict) -> str:
    a, a2, b = r["a_opencv_one_core"], r["a_opencv_defaults"], r["b_video_files"]
    b2 = r["b2_video_files_2_calls"]
    c, d = r["c_tfrecord"], r.get("d_input_bound")
    rate = lambda x: f"{x['clips_per_sec']:.1f}"  # noqa: E731
    rows = [
        "| measure (16x64x64 clips) | clips/s | ratio | goal | CPU util (cores) |",
        "| --- | --- | --- | --- | --- |",
        f"| (a) plain OpenCV loop on one core (FFmpeg threads=1, cv2.resize INTER_AREA) | "
        f"{rate(a)} | | | {a['cpu_util']:.2f} |",
        f"| (a') the same loop with OpenCV defaults (video_io.read_frames) | {rate(a2)} | "
        f"{a2['clips_per_sec'] / a['clips_per_sec']:.2f}x (a) | | {a2['cpu_util']:.2f} |",
        f"| (b) tf.data video_files, default decode_parallelism (auto: "
        f"{b['decode_parallelism']} videos at once) | {rate(b)} | "
        f"{b['clips_per_sec'] / a['clips_per_sec']:.2f}x (a), "
        f"{b['clips_per_sec'] / a2['clips_per_sec']:.2f}x (a') | >= 1.8x (a) | "
        f"{b['cpu_util']:.2f} |",
        f"| (b2) the same with decode_parallelism=2 (ordered output: a slow video holds one "
        f"of the two slots) | {rate(b2)} | {b2['clips_per_sec'] / a['clips_per_sec']:.2f}x (a) "
        f"| | {b2['cpu_util']:.2f} |",
    ]
    if "clips_per_sec" in c:
        rows.append(
            f"| (c) tf.data tfrecord (jpeg, shorter side 96; prepare took "
            f"{c['prepare_seconds']:.1f} s) | {rate(c)} | "
            f"{c['clips_per_sec'] / b['clips_per_sec']:.2f}x (b) | >= 5x (b) | "
            f"{c['cpu_util']:.2f} |")
    else:
        rows.append(f"| (c) tf.data tfrecord | n/a: {c['skipped']} | | >= 5x (b) | |")
    if d:
        rows.append(
            f"| (d) input-bound fraction: experiments/benchmark.py, {d['steps']} steps fed "
            f"from {d['source']} (median step {d['median_step_s']:.2f} s, median next() "
            f"{d['median_wait_s'] * 1000:.1f} ms) | {100 * d['fraction']:.1f} % of wall time "
            "| | | |")
    return "\n".join(rows)


if __name__ == "__main__":
    main()
