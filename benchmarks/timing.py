"""Timing shared by the benchmarks: medians after a warm-up, never a single run."""

from __future__ import annotations

import argparse
import os
import statistics
import time


def median_seconds(fn, repeats: int, warmup: int = 1) -> float:
    """Median wall time of `repeats` calls of fn, after `warmup` calls (tracing, oneDNN
    primitive creation, caches)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def add_malloc_flag(parser: argparse.ArgumentParser) -> None:
    """--malloc=keep (as the vidgan command: vidgan/runtime.py) or system (glibc's default)."""
    parser.add_argument("--malloc", choices=("keep", "system"), default="keep",
                        help="keep: as the vidgan command (vidgan/runtime.py); system: glibc's "
                        "default, for the comparison")


def apply_malloc_flag(args: argparse.Namespace) -> None:
    """Call before vidgan.runtime.keep_freed_memory() and before big allocations."""
    if args.malloc == "system":
        os.environ["VIDGAN_MALLOC"] = "system"
