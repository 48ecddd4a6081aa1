"""Quality per wall-time budget: FVD16 of models trained from scratch for a fixed budget.

    python benchmarks/quality.py --setting=shapes --json=benchmarks/results/quality_shapes.json
    python benchmarks/quality.py --setting=videos --budget_minutes=45 \\
        --json=benchmarks/results/quality_videos.json

For each variant (a model family and augmentation on a setting's data), one process:
build the trainer, measure FVD of the UNTRAINED generator, train until the wall-time
budget is spent (`train.time_budget_minutes`, counted from the start of training; model
building and tracing included), measure FVD of the EMA generator at the end. The floor
is FVD between two disjoint blocks of real clips of the same stream (clips 0..N-1 and
N..2N-1); the share of the gap closed is (FVD_untrained - FVD_end) / (FVD_untrained -
floor). FVD: vidgan.evaluation's protocol (I3D Kinetics-400 logits, 16 frames, N clips
each side; generated clips are export's seeds 0..N-1).

Settings (variants are overrides of the setting's experiment, VARIANTS below; "preset" is
the experiment itself):
  shapes  experiments/quickstart.py (bouncing shapes, 2 objects, 16x32x32), 10 minutes;
          --budget_minutes=0 runs the preset's own budget and steps (the README's main job).
  videos  experiments/videos.py on ../shared/data/videos at 16x64x64, 45 minutes.

Run it on a quiet machine: the budget is wall time, so any other load costs steps.
GIF strips of each variant's final samples go to --gif_dir (as <setting>_<variant>.gif,
with "+<field>-<value>" per --override appended).
"""

from __future__ import annotations

import argparse
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
import tensorflow as tf  # noqa: E402

from vidgan import config as config_lib  # noqa: E402
from vidgan import evaluation  # noqa: E402
from vidgan import files  # noqa: E402
from vidgan import models  # noqa: E402
from vidgan.metrics import fvd as fvd_lib  # noqa: E402
from vidgan.training import Trainer  # noqa: E402
from vidgan.training import summaries  # noqa: E402
from overrides import add_override_flag, parse_overrides  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED_VIDEOS = os.path.join(os.path.dirname(REPO), "shared", "data", "videos")

SETTINGS = {
    "shapes": dict(experiment="quickstart.py", overrides={}),
    "videos": dict(experiment="videos.py", overrides={"data.path": SHARED_VIDEOS}),
}
DEFAULT_BUDGET = {"shapes": 10.0, "videos": 45.0}

AUGMENT = "color,translation,cutout"
# name -> config overrides on top of the setting's experiment (which may use any family).
VARIANTS = {
    # The quickstart preset before this benchmark existed (vidgan 0.6): DCGAN, 800 steps.
    "dcgan3d-old-quickstart": {
        "model.generator.name": "dcgan3d", "model.dcgan3d.generator.channels": 32,
        "model.dcgan3d.generator.max_channels": 256, "model.dcgan3d.discriminator.channels": 32,
        "model.dcgan3d.discriminator.max_channels": 256, "loss.name": "non_saturating",
        "train.augment": "", "train.beta1": 0.5, "train.g_lr": 2e-4, "train.d_lr": 2e-4,
        "train.steps": 800},
    "preset": {},  # the experiment as it is
    "preset-noaug": {"train.augment": ""},
    "dcgan3d+aug": {"model.generator.name": "dcgan3d", "train.augment": AUGMENT},
    # experiments/videos.py before it became the resnet3d recipe (dcgan3d 64..512, spectral
    # norm in D, Adam(2e-4, beta_1 0.5); hinge as now), with DiffAugment
    "dcgan3d-old-videos+aug": {
        "model.generator.name": "dcgan3d", "model.dcgan3d.discriminator.spectral_norm": True,
        "train.augment": AUGMENT, "train.beta1": 0.5, "train.g_lr": 2e-4, "train.d_lr": 2e-4},
    "resnet3d": {"model.generator.name": "resnet3d", "train.augment": ""},
    "resnet3d+aug": {"model.generator.name": "resnet3d", "train.augment": AUGMENT},
    # The quickstart's recipe (widths, dual D, optimizer) on another setting's data
    # (experiments/videos.py has been this recipe since it measured best there).
    "resnet3d-recipe+aug": {
        "model.generator.name": "resnet3d", "model.resnet3d.generator.channels": 16,
        "model.resnet3d.generator.max_channels": 128,
        "model.resnet3d.discriminator.channels": 16,
        "model.resnet3d.discriminator.max_channels": 128,
        "model.resnet3d.discriminator.frames": 4,
        "model.resnet3d.discriminator.video_downsample": 1, "train.augment": AUGMENT,
        "train.beta1": 0.0, "train.g_lr": 4e-4, "train.d_lr": 8e-4},
    # The motion-content and two-stream families (their sections' defaults: G and dual D
    # 16..128) with the setting's training recipe.
    "motion": {"model.generator.name": "motion"},
    "vgan": {"model.generator.name": "vgan"},
}


def make_config(setting: str, overrides: dict, budget: float | None) -> config_lib.Config:
    """The setting's experiment with `overrides`. Switching the generator's (or the
    discriminator's) family resets the experiment's settings of the part no longer used
    (they would be refused as irrelevant). With a
    `budget`, training stops after that many minutes (else the experiment's own budget
    and steps hold)."""
    raw = config_lib.load_experiment(os.path.join(REPO, "experiments",
                                                  SETTINGS[setting]["experiment"]))
    defaults = config_lib.default_config().model
    before = {"generator": raw.model.generator.name,
              "discriminator": models.discriminator_family(raw.model)}
    for part in before:
        raw.model[part].name = overrides.get(f"model.{part}.name", raw.model[part].name)
    after = {"generator": raw.model.generator.name,
             "discriminator": models.discriminator_family(raw.model)}
    for part, family in before.items():
        if after[part] != family:
            raw.model[family][part] = defaults[family][part]
    updates = {**SETTINGS[setting]["overrides"], **overrides,
               "train.sample_every": 10**9, "train.checkpoint_every": 10**9}
    if budget:
        updates["train.time_budget_minutes"] = budget
        updates.setdefault("train.steps", 10**9)
    return config_lib.override(config_lib.from_dict(raw), updates)


def fvd_of(generator, config, protocol, extractor, real, window=None) -> float:
    source = evaluation.source_from_generator(generator, config, "benchmark", window=window)
    fake = evaluation.generated_features(source, protocol, extractor, progress=False)
    return fvd_lib.fvd(real, fake)


def run_variant(setting: str, name: str, overrides: dict, args, extractor) -> dict:
    config = make_config(setting, overrides, args.budget_minutes)
    protocol = evaluation.Protocol(num_clips=args.clips, num_frames=16, split=config.data.split)
    d = config.data
    real_cfg = evaluation.real_data_config(d, protocol, (d.num_frames, d.height, d.width))
    real, _, _ = evaluation.real_features(real_cfg, protocol, extractor, progress=False)
    workdir = tempfile.mkdtemp(prefix=f"quality-{name}-")
    started = time.perf_counter()
    trainer = Trainer(config, workdir)
    build_seconds = time.perf_counter() - started
    fvd_init = fvd_of(trainer.ema_generator, config, protocol, extractor, real)
    train_start = time.perf_counter()
    steps = trainer.train()
    train_seconds = time.perf_counter() - train_start
    fvd_end = fvd_of(trainer.ema_generator, config, protocol, extractor, real)
    # Any-length families: the last T frames of 4T-frame renders (their first T are the
    # clips just measured), so drift over a long render shows.
    long = {}
    if trainer.ema_generator.any_length:
        n = 4 * config.data.num_frames
        long = {"fvd_last_window_of_4T": round(fvd_of(
            trainer.ema_generator, config, protocol, extractor, real,
            window=(n, n - config.data.num_frames)), 1)}
    videos = trainer.sample()
    if args.gif_dir:
        os.makedirs(args.gif_dir, exist_ok=True)
        grid = summaries.video_grid(pixels.to_uint8(videos).numpy(), columns=len(videos))
        from vidgan.data.video_io import encode_gif  # noqa: PLC0415

        with open(os.path.join(args.gif_dir, f"{setting}_{name}{args.gif_tag}.gif"),
                  "wb") as f:
            f.write(encode_gif(grid, config.data.fps))
        if long:  # the 4T-frame renders of the same seeds
            grid = summaries.video_grid(pixels.to_uint8(trainer.sample(
                num_frames=4 * config.data.num_frames)).numpy(), columns=len(videos))
            with open(os.path.join(args.gif_dir, f"{setting}_{name}{args.gif_tag}_4T.gif"),
                      "wb") as f:
                f.write(encode_gif(grid, config.data.fps))
    return {"variant": name, "overrides": overrides, "steps": steps,
            "config": {"family": config.model.generator.name,
                       "discriminator": models.discriminator_family(config.model),
                       "augment": config.train.augment,
                       "section": config_lib.to_dict(config)["model"][
                           config.model.generator.name],
                       "lr": [config.train.g_lr, config.train.d_lr],
                       "betas": [config.train.beta1, config.train.beta2],
                       "batch": config.train.batch_size, "precision": trainer.precision},
            "train_seconds": round(train_seconds, 1), "build_seconds": round(build_seconds, 1),
            "fvd_untrained": round(fvd_init, 1), "fvd_end": round(fvd_end, 1), **long}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--setting", choices=sorted(SETTINGS), default="shapes")
    parser.add_argument("--variants", default=",".join(VARIANTS),
                        help="comma-separated names of VARIANTS")
    parser.add_argument("--budget_minutes", type=float, default=None,
                        help="training wall time per variant (default: 10 for shapes, 45 "
                        "for videos; 0: the experiment's own steps and budget)")
    parser.add_argument("--clips", type=int, default=256, help="clips per FVD side")
    add_override_flag(parser, "extra config override for every variant, FIELD=JSON_VALUE")
    parser.add_argument("--variant", action="append", default=[],
                        help='one more variant, NAME=JSON overrides (e.g. \'wide={"train.'
                        'beta2": 0.99}\'), run after --variants (--variants="" for none)')
    parser.add_argument("--json", default="")
    parser.add_argument("--gif_dir", default="benchmarks/results/quality_gifs")
    args = parser.parse_args()
    # The training loop's progress lines (step, losses, steps/s, ETA) during long runs.
    logging.set_verbosity(logging.INFO)
    if args.budget_minutes is None:
        args.budget_minutes = DEFAULT_BUDGET[args.setting]
    extra = parse_overrides(args.override)
    # --override runs are named by their overrides: never over a variant's own strip.
    args.gif_tag = "".join(f"+{k.rsplit('.', 1)[-1]}-{v}" for k, v in extra.items())
    extractor = evaluation.FeatureExtractor()

    variants = dict(VARIANTS)
    for item in args.variant:
        name, value = item.split("=", 1)
        variants[name] = json.loads(value)
    names = [n for n in args.variants.split(",") if n] + [
        item.split("=", 1)[0] for item in args.variant]
    unknown = [n for n in names if n not in variants]
    if unknown or not names:
        parser.error(f"unknown variants {unknown}; known: {', '.join(variants)}" if unknown
                     else "no variants to run")
    config = make_config(args.setting, {**variants[names[0]], **extra}, args.budget_minutes)
    protocol = evaluation.Protocol(num_clips=args.clips, num_frames=16, split=config.data.split)
    d = config.data
    real_cfg = evaluation.real_data_config(d, protocol, (d.num_frames, d.height, d.width))
    block0, _, _ = evaluation.real_features(real_cfg, protocol, extractor, progress=False)
    block1, _, _ = evaluation.real_features(real_cfg, protocol, extractor, progress=False,
                                            run=1)
    floor = fvd_lib.fvd(block0, block1)
    print(f"{args.setting}: real-vs-real FVD{16} over {args.clips} clips: {floor:.1f}",
          flush=True)
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    results = []
    for name in names:
        result = run_variant(args.setting, name, {**variants[name], **extra}, args, extractor)
        gap = result["fvd_untrained"] - floor
        result["gap_closed"] = round((result["fvd_untrained"] - result["fvd_end"]) / gap, 3)
        results.append(result)
        print(json.dumps(result), flush=True)
        if args.json:  # after every variant: a long run stopped early keeps what it measured
            record = {"setting": args.setting, "budget_minutes": args.budget_minutes,
                      "clips": args.clips, "fvd_real_vs_real": round(floor, 1),
                      "machine": {"cpus": os.cpu_count(), "tensorflow": tf.__version__},
                      "results": results}
            files.write_json(args.json, record)


if __name__ == "__main__":
    main()
