"""Process-wide settings for TensorFlow on CPU, applied by the `vidgan` command.

glibc's malloc hands every freed block over 32 MB back to the operating system, and
the next training step faults the same memory back in page by page. The benchmark
preset's step frees and re-allocates about 1 GB of activations that way: ~250,000
page faults and ~0.5-0.9 s of kernel time per step, ~10 % of the step. Keeping freed
memory inside the process removes it (benchmarks/train_step.py --malloc=system is the
comparison; numbers in BUILD.md). The cost: the process keeps its peak memory until
it exits, as TensorFlow's GPU allocator does.

Set VIDGAN_MALLOC=system to leave malloc alone.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import platform

# mallopt(3) parameters (glibc's malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
_M_ARENA_MAX = -8

_applied: str | None = None


def keep_freed_memory() -> str:
    """Tells glibc's malloc to reuse freed memory instead of returning it.

    One arena (per-thread arenas are separately mapped heaps that are trimmed on their
    own), no mmap for large blocks (those are unmapped on free), no trimming of the
    heap top (the largest value mallopt takes, 2 GiB). Call it before the first big
    allocation; calling again does nothing.

    Returns what is in effect: "kept" or "system" (with the reason: VIDGAN_MALLOC=system,
    not Linux/glibc, or mallopt refused).
    """
    global _applied
    if _applied is not None:
        return _applied
    if os.environ.get("VIDGAN_MALLOC", "keep") == "system":
        _applied = "system (VIDGAN_MALLOC=system)"
    elif platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        _applied = "system (not glibc)"
    else:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        ok = all(libc.mallopt(param, value) == 1 for param, value in (
            (_M_ARENA_MAX, 1), (_M_MMAP_MAX, 0), (_M_TRIM_THRESHOLD, 2**31 - 1)))
        _applied = "kept" if ok else "system (mallopt refused)"
    return _applied


def fast_bfloat16() -> bool:
    """True when 16-bit brain-float math runs natively: a GPU of compute capability >= 8.0
    (Ampere and later), or a CPU with AVX512_BF16 or AMX (Linux: /proc/cpuinfo flags).
    Elsewhere TensorFlow emulates bfloat16, several times slower than float32."""
    import tensorflow as tf  # noqa: PLC0415

    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        details = tf.config.experimental.get_device_details(gpus[0])
        return details.get("compute_capability", (0, 0)) >= (8, 0)
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line for line in f if line.startswith("flags")), "").split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_precision(precision: str) -> str:
    """train.precision "auto" -> "mixed_bfloat16" where fast_bfloat16(), else "float32";
    any other value as it is."""
    if precision != "auto":
        return precision
    return "mixed_bfloat16" if fast_bfloat16() else "float32"


@contextlib.contextmanager
def dtype_policy(precision: str):
    """Keras layers created inside compute in `precision` ("mixed_*": 16-bit compute,
    float32 variables); the global policy is restored afterwards."""
    import keras  # noqa: PLC0415  (this module is imported before TensorFlow loads)

    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def stored_policy(variable_dtype: str):
    """A Keras dtype policy whose variables are stored in `variable_dtype` (a 16-bit
    float) while layers compute in float32: weights are cast up as they are read (an
    export's 16-bit weights on hardware without native 16-bit compute)."""
    from keras import dtype_policies  # noqa: PLC0415

    class _Stored(dtype_policies.DTypePolicy):
        def __init__(self):
            super().__init__(f"stored_{variable_dtype}")

        def _parse_name(self, name):
            return "float32", variable_dtype  # (compute, variable)

    return _Stored()
