"""Does mixed bfloat16 hurt learning? The learning test's statistic, fp32 vs bf16, over seeds.

    python benchmarks/precision_learning.py [--seeds=0,1,2] [--steps=500]
        [--json=benchmarks/results/precision_learning.json]

The run of tests/test_train.py::test_short_run_moves_statistics_towards_data: the tiny
config (8x16x16 bouncing shapes, widths 8..32, z_dim 16), batch 16, ema_decay 0.99,
--steps steps on one device; the statistic is vidgan.metrics.statistics_distance between
64 EMA samples (fixed latents) and 64 real clips, before and after. Each train.seed (init
and latents) runs in float32 and in mixed_bfloat16; the spread across seeds is the noise.
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
import tensorflow as tf  # noqa: E402
from absl import logging  # noqa: E402

from vidgan import config as config_lib  # noqa: E402
from vidgan import metrics  # noqa: E402
from vidgan.training import Trainer  # noqa: E402


def run_once(seed: int, precision: str, steps: int, workdir: str) -> dict:
    cfg = config_lib.make_tiny(config_lib.default_config())
    cfg.model.generator.z_dim = 16
    base = config_lib.from_dict(cfg)
    config = dataclasses.replace(base, train=dataclasses.replace(
        base.train, steps=steps, batch_size=16, num_samples=64, log_every=100,
        sample_every=10_000, checkpoint_every=10_000, ema_decay=0.99, seed=seed,
        precision=precision))
    trainer = Trainer(config, workdir, tf.distribute.OneDeviceStrategy("/cpu:0"))
    reals = np.concatenate([b["video"].numpy() for b in trainer.dataset(10_000).take(4)])
    z = tf.random.stateless_normal([64, config.model.generator.z_dim], seed=[7, 7])
    before = metrics.statistics_distance(trainer.sample(z), reals)
    trainer.train()
    after = metrics.statistics_distance(trainer.sample(z), reals)
    return {"seed": seed, "precision": precision, "before": before, "after": after,
            "ratio": after / before}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    logging.set_verbosity(logging.WARNING)
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in (int(s) for s in args.seeds.split(",")):
            for precision in ("float32", "mixed_bfloat16"):
                runs.append(run_once(seed, precision, args.steps,
                                     os.path.join(tmp, f"{precision}_{seed}")))
                r = runs[-1]
                print(f"seed {seed} {precision}: {r['before']:.3f} -> {r['after']:.3f} "
                      f"(x{r['ratio']:.2f})", flush=True)
    summary = {}
    for precision in ("float32", "mixed_bfloat16"):
        after = [r["after"] for r in runs if r["precision"] == precision]
        summary[precision] = {"after_mean": statistics.mean(after),
                              "after_std": statistics.stdev(after) if len(after) > 1 else 0.0}
    print("\n| precision | statistics distance after training, per seed | mean ± std |")
    print("| --- | --- | --- |")
    for precision, s in summary.items():
        values = ", ".join(f"{r['after']:.3f}" for r in runs if r["precision"] == precision)
        print(f"| {precision} | {values} | {s['after_mean']:.3f} ± {s['after_std']:.3f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"steps": args.steps, "runs": runs, "summary": summary}, f, indent=2)


if __name__ == "__main__":
    main()
