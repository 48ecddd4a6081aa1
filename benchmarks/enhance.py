"""Enhancement passes: quality on held-out real clips, and speed against the generator.

    python benchmarks/enhance.py [--videos=DIR] [--sr_workdir=runs/sr] [--sr1_workdir=...]
        [--json=benchmarks/results/enhance.json]

Quality (PSNR dB / SSIM against the clean clip, mean over clips): the TEST split (by
video; data.seed 0, test_fraction 0.25, as experiments/sr.py trains on the train split) of
--videos (default ../shared/data/videos): 8 clips per video at uniform offsets, 8 frames,
shorter side to 128 and a center crop. Each clip is degraded with a known operation:
  denoise:  + Gaussian noise, std 0.05 of the range -> noisy | Gaussian blur sigma 1 (the
            classic baseline) | Denoise() defaults | Denoise(spatial_sigma=1.5)
  sharpen:  Gaussian blur sigma 1 -> blurred | Sharpen() defaults | Sharpen(amount=1)
  SR x2:    area downscale x2 + 8-bit quantization -> nearest | bicubic | learned (the
            network of --sr_workdir; --sr1_workdir: a 1-frame network for comparison)
Speed: frames/s of each pass at default settings on uint8 [1, 16, S, S, 3], S = 64 and
256 (median of 5 after a warm-up), next to the frames/s of the benchmark preset's
generator (experiments/benchmark.py, 16x64x64, batch 16, untrained weights: speed only).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import vidgan  # noqa: E402,F401  (before TensorFlow: it switches oneDNN's kernels on)
import tensorflow as tf  # noqa: E402

from timing import median_seconds  # noqa: E402  (benchmarks/timing.py)
from vidgan import config as config_lib  # noqa: E402
from vidgan import data as data_lib  # noqa: E402
from vidgan import enhance  # noqa: E402
from vidgan import models  # noqa: E402
from vidgan.data import pipeline  # noqa: E402
from vidgan.enhance import srnet  # noqa: E402
from vidgan.metrics import quality  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED_VIDEOS = os.path.normpath(os.path.join(REPO, "..", "shared", "data", "videos"))


def test_clips(path: str, clips_per_video: int = 8) -> np.ndarray:
    """Float [N, 8, 128, 128, 3] in [-1, 1] from the test split of `path`."""
    data = config_lib.DataConfig(source="video_files", path=path, num_frames=8, height=128,
                                 width=128, split="test", test_fraction=0.25, seed=0,
                                 clip_offsets="uniform", clips_per_video=clips_per_video)
    videos = len(pipeline.scan_for(data).videos)
    batches = iter(data_lib.make_dataset(data, clips_per_video))
    return np.concatenate([next(batches)["video"].numpy() for _ in range(videos)])


def score(out, clean) -> tuple[float, float]:
    out = tf.clip_by_value(tf.convert_to_tensor(out, tf.float32), -1.0, 1.0)
    return (float(tf.reduce_mean(quality.psnr(out, clean))),
            float(tf.reduce_mean(quality.ssim(out, clean))))


def gaussian_blur(videos: np.ndarray, sigma: float) -> np.ndarray:
    from vidgan.enhance.layers import VideoPass, _gaussian_blur  # noqa: PLC0415

    frames = VideoPass.frames(tf.constant(videos))
    return VideoPass.videos(_gaussian_blur(frames, sigma), tf.constant(videos)).numpy()


def quality_table(clips: np.ndarray, sr_workdir: str | None, sr1_workdir: str | None) -> dict:
    rng = np.random.default_rng(0)
    out: dict = {"clips": int(len(clips))}
    noisy = np.clip(clips + rng.normal(0, 0.1, clips.shape), -1, 1).astype(np.float32)
    out["denoise"] = {
        "noisy input": score(noisy, clips),
        "gaussian blur sigma 1 (baseline)": score(gaussian_blur(noisy, 1.0), clips),
        "Denoise()": score(enhance.Denoise()(noisy), clips),
        "Denoise(spatial_sigma=1.5)": score(enhance.Denoise(spatial_sigma=1.5)(noisy), clips),
    }
    blurred = gaussian_blur(clips, 1.0)
    out["sharpen"] = {
        "blurred input (sigma 1)": score(blurred, clips),
        "Sharpen()": score(enhance.Sharpen()(blurred), clips),
        "Sharpen(amount=1)": score(enhance.Sharpen(amount=1.0)(blurred), clips),
    }
    frames = tf.reshape(clips, [-1, 128, 128, 3])
    small = tf.image.resize(frames, [64, 64], method="area")
    small = tf.round((tf.clip_by_value(small, -1, 1) + 1) * 127.5) / 127.5 - 1
    small = tf.reshape(small, [-1, 8, 64, 64, 3])
    nearest = tf.reshape(tf.image.resize(tf.reshape(small, [-1, 64, 64, 3]), [128, 128],
                                         method="nearest"), clips.shape)
    out["sr_x2"] = {
        "nearest": score(nearest, clips),
        "bicubic (baseline)": score(enhance.SuperResolution(2)(small), clips),
    }
    for name, workdir in (("learned, 3 frames", sr_workdir), ("learned, 1 frame", sr1_workdir)):
        if workdir:
            network, cfg = srnet.load_sr_network(workdir)
            label = f"{name} ({cfg.sr.channels} ch, {workdir})"
            out["sr_x2"][label] = score(
                enhance.SuperResolution(2, "learned", network=network)(small), clips)
    return out


def frames_per_sec(fn, frames: int, repeats: int = 5) -> float:
    return frames / median_seconds(fn, repeats)


def speed_table(sr_workdir: str | None) -> dict:
    out: dict = {}
    spec = importlib.util.spec_from_file_location(
        "preset", os.path.join(REPO, "experiments", "benchmark.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    config = config_lib.from_dict(module.get_config())
    generator = models.build_generator(config)
    z = tf.random.normal([16, generator.z_dim])
    generate = tf.function(lambda: generator(z, training=False))
    out["generator 16x64x64 (benchmark preset)"] = frames_per_sec(
        lambda: generate().numpy(), 16 * 16)
    passes = {"Denoise()": enhance.Denoise(), "Sharpen()": enhance.Sharpen(),
              "bicubic x2": enhance.SuperResolution(2)}
    if sr_workdir:
        network, _ = srnet.load_sr_network(sr_workdir)
        passes["learned x2"] = enhance.SuperResolution(2, "learned", network=network)
    for size in (64, 256):
        video = tf.constant(np.random.default_rng(0).integers(0, 256, (1, 16, size, size, 3),
                                                              np.uint8))
        for name, layer in passes.items():
            fn = tf.function(layer)
            out[f"{name} {size}x{size}"] = frames_per_sec(lambda f=fn: f(video).numpy(), 16)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", default=SHARED_VIDEOS)
    parser.add_argument("--sr_workdir", default=None)
    parser.add_argument("--sr1_workdir", default=None)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}", flush=True)
    results = {"quality": quality_table(test_clips(args.videos), args.sr_workdir,
                                        args.sr1_workdir),
               "frames_per_sec": speed_table(args.sr_workdir),
               "loadavg_1min_at_end": os.getloadavg()[0]}
    q = results["quality"]
    print(f"\nQuality on {q['clips']} held-out clips (PSNR dB / SSIM vs clean):\n")
    print("| task | method | PSNR | SSIM |\n| --- | --- | --- | --- |")
    for task in ("denoise", "sharpen", "sr_x2"):
        for method, (p, s) in q[task].items():
            print(f"| {task} | {method} | {p:.2f} | {s:.4f} |")
    print("\n| pass (uint8 [1, 16, S, S, 3]) | frames/s |\n| --- | --- |")
    for name, rate in results["frames_per_sec"].items():
        print(f"| {name} | {rate:.0f} |")
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
