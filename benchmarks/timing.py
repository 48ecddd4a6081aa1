"""Timing shared by the benchmarks: medians after a warm-up, never a single run."""

from __future__ import annotations

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
