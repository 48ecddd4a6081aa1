"""I3D feature throughput against this machine's conv3d ceiling, and the wall time of FVD.

    python benchmarks/i3d_features.py [--batch=8] [--repeats=5] [--fvd_clips=2048]
        [--json=benchmarks/results/i3d_features.json]

Needs the weights (`vidgan fetch-i3d`). In one process, same threads:
(a) conv3d ceiling, fp32: the median GFLOP/s of I3D's heaviest convolution shapes run
    alone (Conv3d_2c_3x3: [B, 8, 56, 56, 64] -> 192 with 3x3x3; a Mixed_4 3x3x3 conv;
    the 7x7x7 stride-2 stem), the best of them taken as the peak.
(b) I3D features: clips/s of FeatureExtractor (uint8 [B, 16, 64, 64, 3] in, resize to
    224 and the network, as FVD runs it) over --repeats batches after a warm-up; FLOPs per
    clip counted from the architecture (2 x multiply-adds of every conv, SAME output sizes;
    pools, batch norm (folded) and the resize are not counted); achieved GFLOP/s and the
    fraction of (a). Goal: >= 60 % of the conv peak.
(c) FVD wall time for --fvd_clips real + generated clips at 16 frames, from the rate of
    (b): 2 x fvd_clips / clips_per_sec (generating the videos and reading real clips are
    extra, small next to I3D for the presets here).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import vidgan  # noqa: E402,F401  (before TensorFlow: it switches oneDNN's kernels on)
import tensorflow as tf  # noqa: E402

from timing import median_seconds  # noqa: E402  (benchmarks/timing.py)
from vidgan.evaluation import FeatureExtractor  # noqa: E402
from vidgan.models import i3d  # noqa: E402


# --- FLOPs -------------------------------------------------------------------------------
def i3d_flops(frames: int = 16, size: int = i3d.SIZE) -> int:
    """2 x multiply-adds of every convolution of I3D on one clip (SAME padding sizes)."""
    t, h, c = frames, size, 3
    total = 0

    def conv(cin, cout, k, stride=1):
        nonlocal total
        shape = (math.ceil(t / stride), math.ceil(h / stride))
        kt, ks = (k, k) if isinstance(k, int) else k
        total += 2 * shape[0] * shape[1] ** 2 * cout * kt * ks * ks * cin
        return shape

    t, h = conv(c, 64, 7, 2)  # Conv3d_1a_7x7
    h = math.ceil(h / 2)  # MaxPool3d_2a
    conv(64, 64, 1)
    conv(64, 192, 3)
    h = math.ceil(h / 2)  # MaxPool3d_3a
    c = 192
    for name, (c0, c1a, c1b, c2a, c2b, c3) in i3d.MIXED.items():
        if name == "Mixed_4b":
            t, h = math.ceil(t / 2), math.ceil(h / 2)  # MaxPool3d_4a
        if name == "Mixed_5b":
            t, h = math.ceil(t / 2), math.ceil(h / 2)  # MaxPool3d_5a
        conv(c, c0, 1)
        conv(c, c1a, 1)
        conv(c1a, c1b, 3)
        conv(c, c2a, 1)
        conv(c2a, c2b, 3)
        conv(c, c3, 1)
        c = c0 + c1b + c2b + c3
    total += 2 * (t - 1) * c * i3d.NUM_CLASSES  # the logits conv on the pooled map
    return total


# --- timing ------------------------------------------------------------------------------
def conv_ceiling(repeats: int) -> dict:
    """fp32 conv3d GFLOP/s on I3D's heaviest shapes; the best is the ceiling."""
    shapes = {  # name: (input shape, kernel, stride, output channels)
        "Conv3d_2c_3x3 [8,8,56,56,64]->192": ((8, 8, 56, 56, 64), 3, 1, 192),
        "Mixed_4 3x3x3 [8,4,14,14,112]->224": ((8, 4, 14, 14, 112), 3, 1, 224),
        "stem 7x7x7/2 [8,16,224,224,3]->64": ((8, 16, 224, 224, 3), 7, 2, 64),
    }
    out = {}
    for name, (shape, k, stride, cout) in shapes.items():
        x = tf.random.normal(shape)
        w = tf.random.normal((k, k, k, shape[-1], cout))
        fn = tf.function(lambda x=x, w=w, s=stride: tf.nn.conv3d(
            x, w, [1, s, s, s, 1], "SAME"))
        y_shape = fn().shape
        flops = 2 * np.prod(y_shape) * k ** 3 * shape[-1]
        seconds = median_seconds(lambda f=fn: f().numpy(), repeats)
        out[name] = flops / seconds / 1e9
    return {"gflops_per_shape": out, "peak_gflops": max(out.values())}


def feature_rate(extractor: FeatureExtractor, batch: int, repeats: int) -> dict:
    videos = np.random.default_rng(0).integers(0, 256, (batch, 16, 64, 64, 3), np.uint8)
    seconds = median_seconds(lambda: extractor(videos), repeats)
    return {"batch": batch, "seconds_per_batch": seconds, "clips_per_sec": batch / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--fvd_clips", type=int, default=2048)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()

    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} (other processes "
          "skew every number)", flush=True)
    ceiling = conv_ceiling(args.repeats)
    print(f"(a) conv3d fp32 ceiling {ceiling['peak_gflops']:.0f} GFLOP/s", flush=True)
    extractor = FeatureExtractor()
    rate = feature_rate(extractor, args.batch, args.repeats)
    flops = i3d_flops(16)
    achieved = rate["clips_per_sec"] * flops / 1e9
    fvd_seconds = 2 * args.fvd_clips / rate["clips_per_sec"]
    results = {
        "cpus": os.cpu_count(), "loadavg_1min_at_start": os.getloadavg()[0],
        "versions": {"tensorflow": tf.__version__, "python": platform.python_version()},
        "a_conv3d_ceiling": ceiling,
        "b_i3d": {**rate, "gflop_per_clip": flops / 1e9, "achieved_gflops": achieved,
                  "fraction_of_conv_peak": achieved / ceiling["peak_gflops"]},
        "c_fvd": {"clips": args.fvd_clips, "estimated_seconds": fvd_seconds},
    }
    results["loadavg_1min_at_end"] = os.getloadavg()[0]
    print()
    print(table(results))
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


def table(r: dict) -> str:
    a, b, c = r["a_conv3d_ceiling"], r["b_i3d"], r["c_fvd"]
    rows = ["| measure | value | goal |", "| --- | --- | --- |"]
    for name, value in a["gflops_per_shape"].items():
        rows.append(f"| (a) conv3d fp32 {name} | {value:.0f} GFLOP/s | |")
    rows += [
        f"| (b) I3D features, batch {b['batch']}, 16x64x64 uint8 -> 224 | "
        f"{b['clips_per_sec']:.2f} clips/s ({b['gflop_per_clip']:.1f} GFLOP/clip) | |",
        f"| (b) achieved | {b['achieved_gflops']:.0f} GFLOP/s = "
        f"{100 * b['fraction_of_conv_peak']:.0f} % of the conv peak | >= 60 % |",
        f"| (c) FVD-{c['clips']} at 16 frames (2 x {c['clips']} clips through I3D) | "
        f"{c['estimated_seconds'] / 60:.1f} min | |",
    ]
    return "\n".join(rows)


if __name__ == "__main__":
    main()
