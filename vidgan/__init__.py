"""vidgan: GAN-based video generation with TensorFlow/Keras.

Videos are `[B, T, H, W, C]` tensors (channels last), float32 in [-1, 1] inside
the library; uint8 [0, 255] only at the edges (decode, encode, export).
"""

import os as _os

__version__ = "0.1.0"

# TensorFlow's x86 wheels turn oneDNN's kernels on by default only on CPUs with AVX512
# VNNI/BF16 or AMX; elsewhere (AVX2-only CPUs) convolutions fall back to Eigen's, 2.4-2.5x
# slower here (BUILD.md: the quickstart's step 4.9 -> 2.0 s, I3D 1.15 -> 0.47 s a clip).
# TensorFlow reads the switch when it loads, so this holds when vidgan is imported first
# (the `vidgan` command, the tests and the benchmarks do); TF_ENABLE_ONEDNN_OPTS=0 opts out.
_os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
