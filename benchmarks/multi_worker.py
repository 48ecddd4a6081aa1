"""Multi-worker training on this machine: 2 worker processes x 1 CPU device against 1
process x 2 mirrored CPU devices, the same global batch (loopback ports only).

    python benchmarks/multi_worker.py [--steps=60] [--config=experiments/quickstart.py]
        [--json=benchmarks/results/multi_worker.json]

(a) `vidgan train` of --config for --steps steps in each layout (logging every 10 steps,
    no samples, no checkpoints until the end); the step time is the median of the logged
    windows after the first (tracing excluded).
(b) the all-reduce alone: 2 worker processes sum a float32 vector the size of G + D's
    trainable weights (what a step all-reduces: both gradients) 30 times after 5 warm-ups;
    its share of the 2-worker step is median all-reduce time / median step time.
On one 2-core machine both layouts share the same 2 cores, so this measures the cost of
the multi-worker machinery (gRPC collectives over loopback, one process per worker), not
a speed-up from more machines.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from vidgan.training.workers import loopback_cluster  # noqa: E402
STEP_LINE = re.compile(r" step (\d+)/\d+ .*\| ([0-9.]+) steps/s")


def run_all(commands: list[tuple[list[str], dict]]) -> list[str]:
    """Starts the commands side by side; returns their stderr (fails on a non-zero exit)."""
    procs = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              cwd=REPO, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **env})
             for argv, env in commands]
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=1800)
        if proc.returncode:
            sys.exit(f"a benchmark process failed ({proc.returncode}):\n{err[-3000:]}")
        outputs.append(err)
    return outputs


def step_seconds(log: str) -> float:
    """Median seconds per step over the logged windows after the first."""
    rates = [float(m.group(2)) for m in STEP_LINE.finditer(log)][1:]
    return statistics.median(1.0 / r for r in rates)


def train_layouts(config: str, steps: int) -> dict:
    common = [sys.executable, "-m", "vidgan.cli.main", "train", f"--config={config}",
              f"--config.train.steps={steps}", "--config.train.log_every=10",
              "--config.train.sample_every=100000", f"--config.train.checkpoint_every={steps}",
              "--config.train.time_budget_minutes=0"]
    with tempfile.TemporaryDirectory() as tmp:
        mirrored = run_all([(common + [f"--workdir={tmp}/mirrored",
                                       "--config.train.strategy=mirrored",
                                       "--config.train.cpu_devices=2"], {})])[0]
        workers = run_all([(common + [f"--workdir={tmp}/workers",
                                      "--config.train.strategy=multi_worker"],
                            {"TF_CONFIG": tf_config}) for tf_config in loopback_cluster(2)])
    return {"mirrored_1x2_s": step_seconds(mirrored), "workers_2x1_s": step_seconds(workers[0])}


ALL_REDUCE = r"""
import json, os, statistics, sys, time
import tensorflow as tf
size, reps = int(sys.argv[1]), int(sys.argv[2])
strategy = tf.distribute.MultiWorkerMirroredStrategy()
values = tf.ones([size], tf.float32)

@tf.function
def reduce():
    return strategy.run(lambda: tf.distribute.get_replica_context().all_reduce(
        tf.distribute.ReduceOp.SUM, tf.identity(values)))

times = []
for i in range(reps + 5):
    start = time.perf_counter()
    out = reduce()
    strategy.experimental_local_results(out)[0].numpy()
    if i >= 5:
        times.append(time.perf_counter() - start)
print(json.dumps({"median_s": statistics.median(times)}))
"""


def weight_count(config: str) -> int:
    from vidgan import config as config_lib  # noqa: PLC0415
    from vidgan import models  # noqa: PLC0415

    cfg = config_lib.from_dict(config_lib.load_experiment(config.split(":")[0]))
    g, d = models.build_generator(cfg), models.build_discriminator(cfg)
    models.build(g, d)
    return sum(int(v.numpy().size) for v in g.trainable_variables + d.trainable_variables)


def all_reduce_seconds(size: int, reps: int = 30) -> float:
    procs = [subprocess.Popen([sys.executable, "-c", ALL_REDUCE, str(size), str(reps)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2",
                                   "TF_CONFIG": tf_config}) for tf_config in loopback_cluster(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (out, err) in zip(procs, outs):
        if p.returncode:
            sys.exit(f"the all-reduce process failed:\n{err[-3000:]}")
    return json.loads(outs[0][0].strip().splitlines()[-1])["median_s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default=os.path.join(REPO, "experiments", "quickstart.py"))
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--json", default="")
    args = parser.parse_args()
    started = time.time()
    result = {"config": os.path.relpath(args.config, REPO), "steps": args.steps,
              **train_layouts(args.config, args.steps)}
    result["weights"] = weight_count(args.config)
    result["all_reduce_s"] = all_reduce_seconds(result["weights"])
    result["all_reduce_share"] = round(result["all_reduce_s"] / result["workers_2x1_s"], 3)
    result["slowdown_vs_mirrored"] = round(result["workers_2x1_s"] / result["mirrored_1x2_s"], 3)
    result["wall_s"] = round(time.time() - started, 1)
    print(json.dumps(result, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
