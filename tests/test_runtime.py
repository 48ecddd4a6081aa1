"""vidgan.runtime and vidgan's import: malloc keeps freed memory; bfloat16, oneDNN per CPU."""

import os
import subprocess
import sys

from helpers import REPO

# Allocates 256 MB, frees it, allocates 256 MB again; prints the setting and the page
# faults of the second allocation. numpy's own huge-page advice is off so that pages
# are 4 KB either way: 65,536 faults when the block was returned to the OS, ~0 when
# malloc kept it.
_PROBE = """
import resource, numpy as np
from vidgan import runtime
setting = runtime.keep_freed_memory()
assert runtime.keep_freed_memory() == setting  # a second call changes nothing
a = np.ones(2**25); del a
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
b = np.ones(2**25)
print(setting, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _probe(malloc: str) -> tuple[str, int]:
    env = {**os.environ, "VIDGAN_MALLOC": malloc, "NUMPY_MADVISE_HUGEPAGE": "0",
           "PYTHONPATH": REPO}
    out = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True,
                         text=True, check=True, timeout=120).stdout.split()
    return " ".join(out[:-1]), int(out[-1])


def test_freed_memory_is_reused_and_system_malloc_is_not_touched():
    kept, kept_faults = _probe("keep")
    system, system_faults = _probe("system")
    assert kept == "kept"
    assert system == "system (VIDGAN_MALLOC=system)"
    assert system_faults > 60_000, system_faults  # 256 MB of 4 KB pages, faulted anew
    assert kept_faults < 2_000, kept_faults  # the same memory, reused


def test_auto_precision_follows_the_hardware(monkeypatch):
    """train.precision=auto: mixed_bfloat16 exactly when bfloat16 runs natively; explicit
    precisions pass through."""
    from vidgan import runtime  # noqa: PLC0415

    for fast, expected in ((True, "mixed_bfloat16"), (False, "float32")):
        monkeypatch.setattr(runtime, "fast_bfloat16", lambda fast=fast: fast)
        assert runtime.resolve_precision("auto") == expected
        assert runtime.resolve_precision("mixed_float16") == "mixed_float16"
    monkeypatch.undo()
    with open("/proc/cpuinfo") as f:
        flags = f.read()
    assert runtime.fast_bfloat16() == ("avx512_bf16" in flags or "amx_bf16" in flags)


_ONEDNN_PROBE = """
import vidgan, tensorflow
from tensorflow.python.util import _pywrap_util_port
print(_pywrap_util_port.IsMklEnabled())
"""


def test_importing_vidgan_first_turns_onednn_on_unless_opted_out():
    """TensorFlow's wheels leave oneDNN off on AVX2-only CPUs (2.5x slower convs);
    vidgan switches it on when imported before TensorFlow, and TF_ENABLE_ONEDNN_OPTS=0
    still turns it off."""
    def enabled(**env) -> str:
        base = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
        return subprocess.run([sys.executable, "-c", _ONEDNN_PROBE],
                              env={**base, "PYTHONPATH": REPO, **env}, capture_output=True,
                              text=True, check=True, timeout=120).stdout.split()[-1]

    assert enabled() == "True"
    assert enabled(TF_ENABLE_ONEDNN_OPTS="0") == "False"
