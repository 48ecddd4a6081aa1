"""Context models against model-free baselines: continuing a video, and animating an image.

    python benchmarks/continuation.py --task=extend [--budget_minutes=45] [--clips=128] \\
        [--test_fraction=0.3] [--override FIELD=JSON ...] \\
        --json=benchmarks/results/continuation_extend.json
    python benchmarks/continuation.py --task=animate --json=benchmarks/results/continuation_animate.json
    python benchmarks/continuation.py --task=extend --tiny    # seconds: the plumbing only

1. Trains experiments/extend.py (4 context frames; `--task=animate`: experiments/
   animate.py:videos, 1) on the TRAIN split of ../shared/data/videos for the wall-time
   budget (from scratch; model building included). The split is by video with
   --test_fraction (0.3: of the 12 shared clips, 0.1 would leave one test video, too short
   for 4 + 16 frames at 8 fps; 0.3 gives two usable ones, 10 s and 6.6 s).
2. Takes `--clips` real clips of k + 16 frames from the TEST split (split by video, so
   no test video was seen in training) at the model's size and fps.
3. extend: from each clip's first k frames, the EMA generator predicts the next 16 (the
   exported `extend` rule, seed i for clip i); baselines: copy the last context frame, and
   linear extrapolation of the last two (clipped to [0, 255]). animate: from frame 0, the
   model's 16-frame clip; baseline: the image repeated.
4. Reports, against the real continuations: PSNR and SSIM of the first 4 predicted frames
   (a GAN trades these for sharpness: a blurry mean prediction scores higher than a sharp
   plausible one) and FVD16 (I3D, the FVD protocol of vidgan.evaluation), for the model
   after training, the untrained model and the baselines.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from vidgan import pixels  # noqa: E402
from vidgan import runtime  # noqa: E402

runtime.keep_freed_memory()  # as the `vidgan` command does

from absl import logging  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from vidgan import config as config_lib  # noqa: E402
from vidgan import data as data_lib  # noqa: E402
from vidgan import evaluation  # noqa: E402
from vidgan import export as export_lib  # noqa: E402
from vidgan.metrics import fvd as fvd_lib  # noqa: E402
from vidgan.training import Trainer  # noqa: E402
from overrides import add_override_flag, parse_overrides  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED_VIDEOS = os.path.join(os.path.dirname(REPO), "shared", "data", "videos")
FUTURE = 16  # predicted frames judged by FVD16
SCORED = 4  # predicted frames scored by PSNR / SSIM


def load_config(task: str, tiny: bool, budget: float, test_fraction: float = 0.3,
                updates: dict | None = None) -> config_lib.Config:
    name, variant = {"extend": ("extend.py", ""), "animate": ("animate.py", "videos")}[task]
    raw = config_lib.load_experiment(os.path.join(REPO, "experiments", name),
                                     "tiny" if tiny else variant or None)
    if not tiny:
        raw.data.path = SHARED_VIDEOS
        raw.data.test_fraction = test_fraction
        raw.train.steps = 10**9  # the budget ends the run
        raw.train.time_budget_minutes = budget
    raw.train.sample_every = raw.train.checkpoint_every = 10**9
    return config_lib.override(config_lib.from_dict(raw), updates or {})


def test_clips(config: config_lib.Config, clips: int, length: int) -> np.ndarray:
    """`clips` real clips of `length` frames from the test split (tiny, built-in data: a
    far part of the stream), uint8 [N, length, H, W, 3]."""
    d = config.data
    real = dataclasses.replace(d, num_frames=length, split="test", flip=False,
                               context_frames=0, labels=False, class_names=(),
                               resize="center_crop" if d.resize == "random_crop" else d.resize)
    start = 0 if d.source in ("video_files", "frame_folders", "tfrecord") else 10**6
    batch = next(iter(data_lib.make_dataset(real, clips, start_index=start)))["video"]
    return pixels.to_uint8(batch).numpy()


def predictions(module: export_lib.GeneratorModule, task: str, clips: np.ndarray,
                k: int) -> np.ndarray:
    """The model's frames after the context, uint8 [N, FUTURE, H, W, 3] (animate: the
    whole clip from frame 0, [N, FUTURE, ...])."""
    out = []
    for start in range(0, len(clips), 16):
        part = clips[start:start + 16]
        seeds = tf.range(start, start + len(part), dtype=tf.int64)
        if task == "animate":
            video = module.animate(tf.constant(part[:, 0]), seeds)["video"]
        else:
            video = module.extend(tf.constant(part[:, :k]), seeds, tf.constant(FUTURE))["video"]
        out.append(video.numpy())
    return np.concatenate(out)


def baselines(task: str, clips: np.ndarray, k: int) -> dict[str, np.ndarray]:
    last = clips[:, k - 1:k].astype(np.float32)  # [N, 1, H, W, 3]
    if task == "animate":
        return {"copy_image": np.repeat(clips[:, :1], FUTURE, axis=1)}
    steps = np.arange(1, FUTURE + 1, dtype=np.float32)[None, :, None, None, None]
    velocity = last - clips[:, k - 2:k - 1].astype(np.float32)
    linear = np.clip(np.round(last + steps * velocity), 0, 255).astype(np.uint8)
    return {"copy_last": np.repeat(clips[:, k - 1:k], FUTURE, axis=1),
            "linear_extrapolation": linear}


def scores(pred: np.ndarray, truth: np.ndarray, real_features: np.ndarray, extractor,
           skip: int) -> dict:
    """PSNR / SSIM over the first SCORED predicted frames (after `skip` given ones) and
    FVD16 of the whole predicted clips."""
    a = tf.constant(pred[:, skip:skip + SCORED])
    b = tf.constant(truth[:, skip:skip + SCORED])
    psnr = tf.image.psnr(a, b, 255).numpy()  # [N, SCORED]
    ssim = tf.image.ssim(a, b, 255).numpy()
    psnr = np.where(np.isfinite(psnr), psnr, 100.0)  # identical frames: cap
    return {"psnr": round(float(psnr.mean()), 2), "ssim": round(float(ssim.mean()), 4),
            "fvd16": round(fvd_lib.fvd(real_features, extractor(pred)), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", choices=("extend", "animate"), default="extend")
    parser.add_argument("--budget_minutes", type=float, default=45.0)
    parser.add_argument("--clips", type=int, default=128)
    parser.add_argument("--test_fraction", type=float, default=0.3,
                        help="share of the shared videos held out for testing (by video)")
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--json", default="")
    add_override_flag(parser, "config override on the preset, FIELD=JSON_VALUE (repeatable)")
    args = parser.parse_args()
    # The training loop's progress lines (step, losses, steps/s, ETA) during long runs.
    logging.set_verbosity(logging.INFO)
    updates = parse_overrides(args.override)
    config = load_config(args.task, args.tiny, args.budget_minutes, args.test_fraction,
                         updates)
    k = config.data.context_frames
    clips = test_clips(config, args.clips, (k if args.task == "extend" else 0) + FUTURE)
    truth = clips[:, k:] if args.task == "extend" else clips  # [N, FUTURE, H, W, 3]
    skip = 0 if args.task == "extend" else 1  # animate: frame 0 is given
    # The FVD network at the data's size; the tiny run's 8 frames are too few for I3D.
    extractor = None if args.tiny else evaluation.FeatureExtractor()
    real = extractor(truth) if extractor else None

    def judge(pred):
        if extractor is None:
            return {"psnr": round(float(tf.reduce_mean(tf.image.psnr(
                tf.constant(pred[:, skip:skip + SCORED]),
                tf.constant(truth[:, skip:skip + SCORED]), 255))), 2)}
        return scores(pred, truth, real, extractor, skip)

    workdir = tempfile.mkdtemp(prefix=f"continuation-{args.task}-")
    trainer = Trainer(config, workdir)
    metadata = export_lib.build_metadata(config, 0, True)
    untrained = judge(predictions(export_lib.GeneratorModule(trainer.ema_generator, metadata),
                                  args.task, clips, k))
    started = time.perf_counter()
    steps = trainer.train()
    seconds = time.perf_counter() - started
    module = export_lib.GeneratorModule(trainer.ema_generator, metadata)
    pred = predictions(module, args.task, clips, k)
    result = {
        "task": args.task, "overrides": updates, "context_frames": k, "clips": len(clips),
        "size": list(clips.shape[1:4]), "fps": config.data.fps,
        "budget_minutes": 0.0 if args.tiny else args.budget_minutes, "steps": steps,
        "train_seconds": round(seconds, 1), "precision": trainer.precision,
        "model": judge(pred), "untrained": untrained,
        "baselines": {name: judge(video) for name, video in baselines(args.task, clips,
                                                                       k).items()},
        "machine": {"cpus": os.cpu_count(), "tensorflow": tf.__version__},
    }
    print(json.dumps(result), flush=True)
    if args.json:
        os.makedirs(os.path.dirname(args.json) or ".", exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
