"""Does mixed bfloat16 hurt learning? The learning statistic and FVD, fp32 vs bf16, over seeds.

    python benchmarks/precision_learning.py [--seeds=0,1,2] [--steps=500] [--num_frames=16]
        [--fvd_clips=256] [--rgb_kernel=3] [--rgb_mix=16] [--g_channels=0]
        [--json=benchmarks/results/precision_learning.json]

The run of tests/training/test_train.py::test_short_run_moves_statistics_towards_data: the tiny
config (bouncing shapes at 16x16, widths 8..32, z_dim 16), batch 16, ema_decay 0.99,
--steps steps on one device, at --num_frames frames (the test uses 8; FVD needs >= 9,
I3D's time pooling). After training: the statistic (vidgan.metrics.statistics_distance
between 64 EMA samples from fixed latents and 64 real clips; also before training), and
FVD/KVD of --fvd_clips EMA videos against as many real clips (vidgan.evaluation; the
Kinetics I3D from `vidgan fetch-i3d`; --fvd_clips=0 skips it). Each train.seed (init and
latents) runs in float32 and in mixed_bfloat16; the spread across seeds is the noise.
--rgb_kernel, --rgb_mix and --g_channels compare generator heads and widths the same way.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import vidgan  # noqa: E402,F401  (before TensorFlow: it switches oneDNN's kernels on)
import tensorflow as tf  # noqa: E402
from absl import logging  # noqa: E402

from vidgan import config as config_lib  # noqa: E402
from vidgan import evaluation  # noqa: E402
from vidgan import metrics  # noqa: E402
from vidgan import runtime  # noqa: E402
from vidgan.training import Trainer  # noqa: E402


def run_once(seed: int, precision: str, steps: int, num_frames: int, fvd_clips: int,
             workdir: str, rgb_kernel: int = 3, rgb_mix: int = 16,
             g_channels: int | None = None) -> dict:
    cfg = config_lib.make_tiny(config_lib.default_config())
    g = cfg.model.dcgan3d.generator
    g.z_dim = 16
    g.rgb_kernel, g.rgb_mix = rgb_kernel, rgb_mix
    if g_channels:  # a wider generator: last stage g_channels, at most 4x that
        g.channels, g.max_channels = g_channels, 4 * g_channels
    cfg.data.num_frames = num_frames
    base = config_lib.from_dict(cfg)
    config = dataclasses.replace(base, train=dataclasses.replace(
        base.train, steps=steps, batch_size=16, num_samples=64, log_every=100,
        sample_every=10_000, checkpoint_every=10_000, ema_decay=0.99, seed=seed,
        precision=precision))
    trainer = Trainer(config, workdir, tf.distribute.OneDeviceStrategy("/cpu:0"))
    reals = np.concatenate([b["video"].numpy() for b in trainer.dataset(10_000).take(4)])
    z = tf.random.stateless_normal([64, trainer.generator.z_dim], seed=[7, 7])
    before = metrics.statistics_distance(trainer.sample(z), reals)
    trainer.train()
    after = metrics.statistics_distance(trainer.sample(z), reals)
    result = {"seed": seed, "precision": precision, "before": before, "after": after,
              "ratio": after / before}
    if fvd_clips:
        source = evaluation.source_from_generator(trainer.ema_generator, config,
                                                  f"{precision} seed {seed} (EMA)")
        r = evaluation.evaluate(source, protocol=evaluation.Protocol(
            num_clips=fvd_clips, num_frames=min(16, num_frames)), progress=False)
        result.update(fvd=r["fvd_mean"], kvd=r["kvd_mean"])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--num_frames", type=int, default=16)
    parser.add_argument("--fvd_clips", type=int, default=256)
    parser.add_argument("--rgb_kernel", type=int, default=3, help="model.dcgan3d.generator.rgb_kernel")
    parser.add_argument("--rgb_mix", type=int, default=16, help="model.dcgan3d.generator.rgb_mix")
    parser.add_argument("--g_channels", type=int, default=0,
                        help="generator channels of the last stage (0: the tiny config's 8)")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    logging.set_verbosity(logging.WARNING)
    runtime.keep_freed_memory()  # as the vidgan command runs
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in (int(s) for s in args.seeds.split(",")):
            for precision in ("float32", "mixed_bfloat16"):
                runs.append(run_once(
                    seed, precision, args.steps, args.num_frames, args.fvd_clips,
                    os.path.join(tmp, f"{precision}_{seed}"), args.rgb_kernel, args.rgb_mix,
                    args.g_channels))
                r = runs[-1]
                fvd = f", FVD {r['fvd']:.1f}, KVD {r['kvd']:.4f}" if "fvd" in r else ""
                print(f"seed {seed} {precision}: statistic {r['before']:.3f} -> {r['after']:.3f} "
                      f"(x{r['ratio']:.2f}){fvd}", flush=True)
    measures = ["after"] + (["fvd", "kvd"] if args.fvd_clips else [])
    summary = {}
    for precision in ("float32", "mixed_bfloat16"):
        mine = [r for r in runs if r["precision"] == precision]
        summary[precision] = {}
        for m in measures:
            values = [r[m] for r in mine]
            summary[precision][m] = {
                "per_seed": values, "mean": statistics.mean(values),
                "std": statistics.stdev(values) if len(values) > 1 else 0.0}
    names = {"after": "statistics distance", "fvd": f"FVD ({args.fvd_clips} clips)",
             "kvd": f"KVD ({args.fvd_clips} clips)"}
    print(f"\n| after {args.steps} steps | float32, per seed | mean ± std "
          "| mixed bfloat16, per seed | mean ± std |")
    print("| --- | --- | --- | --- | --- |")
    for m in measures:
        cells = []
        for precision in ("float32", "mixed_bfloat16"):
            s = summary[precision][m]
            digits = 4 if m == "kvd" else 3 if m == "after" else 1
            cells += [", ".join(f"{v:.{digits}f}" for v in s["per_seed"]),
                      f"{s['mean']:.{digits}f} ± {s['std']:.{digits}f}"]
        print(f"| {names[m]} | " + " | ".join(cells) + " |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"steps": args.steps, "num_frames": args.num_frames,
                       "fvd_clips": args.fvd_clips, "runs": runs, "summary": summary},
                      f, indent=2)

if __name__ == "__main__":
    main()
