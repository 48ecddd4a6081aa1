"""The quickstart's training step time with config overrides: how many steps a variant
makes in the preset's wall budget, before spending a quality run on it.

    python benchmarks/quickstart_step.py [--override 'FIELD=JSON' ...] [--steps=40]
        [--jit_compile]

Builds experiments/quickstart.py (with the overrides) in one process, runs 5 warm-up
steps after the traced first one, then reports the median of --steps step times (the
whole step as the trainer runs it: both updates, the EMA, the input pipeline).
--jit_compile compiles each replica's step with XLA (`stateless_shuffle`, which XLA
lacks, is replaced by an argsort of uniform noise: the same kind of draw, other frames).
Run it alone on the machine: it is a timing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from vidgan import runtime  # noqa: E402

runtime.keep_freed_memory()  # as the `vidgan` command does

import tensorflow as tf  # noqa: E402

from vidgan.training import Trainer  # noqa: E402
from overrides import add_override_flag, parse_overrides  # noqa: E402
from quality import make_config  # noqa: E402


def _xla_shuffle(values: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """A stateless permutation XLA compiles: argsort of stateless uniform noise."""
    noise = tf.random.stateless_uniform(tf.shape(values)[:1], tf.cast(seed, tf.int64)[:2])
    return tf.gather(values, tf.argsort(noise))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_override_flag(parser, "config override, FIELD=JSON_VALUE (repeatable)")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--jit_compile", action="store_true")
    args = parser.parse_args()
    updates = parse_overrides(args.override)
    # The quickstart as the quality benchmark builds it: a family switched by
    # model.generator.name (or .discriminator.name) drops the preset's settings of the old one.
    config = make_config("shapes", updates, None)
    with tempfile.TemporaryDirectory(prefix="quickstart-step-") as workdir:
        trainer = Trainer(config, workdir)
        if args.jit_compile:
            tf.random.experimental.stateless_shuffle = _xla_shuffle
            trainer._replica_step = tf.function(trainer._replica_step, jit_compile=True)
            trainer._train_step = tf.function(trainer._step_fn)
        iterator = trainer.iterator(0)
        for _ in range(6):  # the traced first step, then warm-up
            trainer.train_step(iterator)
        times = []
        for _ in range(args.steps):
            start = time.perf_counter()
            trainer.train_step(iterator)
            times.append(time.perf_counter() - start)
    print(json.dumps({"overrides": updates, "jit_compile": args.jit_compile,
                      "precision": trainer.precision, "steps": args.steps,
                      "median_step_seconds": round(statistics.median(times), 4)}))


if __name__ == "__main__":
    main()
