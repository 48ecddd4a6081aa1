"""What a trained generator's FVD is made of: its samples changed one way at a time.

    python benchmarks/sample_probes.py --workdir=RUN [--clips=256]

FVD16 (vidgan.evaluation's protocol: I3D Kinetics-400, `clips` clips each side) of the
run's EMA samples (export's seeds 0..clips-1) against real clips of its data, and of:
- the samples with faint pixels (brightest channel below 16, 32, 64 of 255) set to black
  (is background haze what FVD punishes?);
- the samples with every pixel at least 64 bright pushed to full brightness (flat colors);
- static clips, one frame repeated 16 times (frames 0 and 8), against real clips made the
  same way, with that probe's real-vs-real floor (per-frame appearance alone);
- the samples' frames shuffled in time, and real clips shuffled likewise (what motion
  adds);
- the samples at truncation 0.9, 0.7, 0.5 (`vidgan synthesize --truncation`: latents
  scaled down, variety traded for fidelity);
- the samples through the enhancement passes (`vidgan synthesize --enhance=...`): sharpen
  at amounts 0.5 and 1 (radius 0.5 and 1 px), denoise (do softer edges cost FVD?).
Real clips: two disjoint blocks of the run's data stream (the second gives the floors).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import vidgan  # noqa: E402,F401  (before TensorFlow: it switches oneDNN's kernels on)
import tensorflow as tf  # noqa: E402

from vidgan import data as data_lib  # noqa: E402
from vidgan import evaluation, pixels  # noqa: E402
from vidgan.enhance import layers as enhance_layers  # noqa: E402
from vidgan.metrics import fvd as fvd_lib  # noqa: E402


def _real(config, clips: int, start: int) -> np.ndarray:
    batches = iter(data_lib.make_dataset(config, 32, start_index=start))
    return np.concatenate([pixels.to_uint8(next(batches)["video"]).numpy()
                           for _ in range((clips + 31) // 32)])[:clips]


def _in_batches(fn, n: int, size: int = 32) -> np.ndarray:
    """fn(first, last) on [0, n) in chunks of `size`, concatenated (uint8 videos)."""
    return np.concatenate([fn(i, min(i + size, n)) for i in range(0, n, size)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--clips", type=int, default=256)
    args = parser.parse_args()
    source = evaluation.source_from_workdir(args.workdir)
    d = source.config.data
    protocol = evaluation.Protocol(num_clips=args.clips, num_frames=16, split=d.split)
    real_cfg = evaluation.real_data_config(d, protocol, (d.num_frames, d.height, d.width))
    real, other = _real(real_cfg, args.clips, 10_000), _real(real_cfg, args.clips, 20_000)
    generated = _in_batches(lambda i, j: source.generate(np.arange(i, j)), args.clips)
    extractor = evaluation.FeatureExtractor()
    features = lambda v: extractor(v[:, :16])  # noqa: E731
    real_features = features(real)
    fvd = lambda a, b: round(float(fvd_lib.fvd(a, b)), 1)  # noqa: E731
    report = {"samples": fvd(real_features, features(generated)),
              "floor": fvd(real_features, features(other))}
    bright = generated.max(axis=-1, keepdims=True)
    for t in (16, 32, 64):
        cleaned = np.where(bright < t, 0, generated).astype(np.uint8)
        report[f"faint_below_{t}_to_black"] = fvd(real_features, features(cleaned))
    flat = np.where(bright >= 64, generated / np.maximum(bright, 1) * 255.0, 0)
    report["flat_full_brightness"] = fvd(real_features, features(flat.astype(np.uint8)))
    static = lambda v, k: np.repeat(v[:, k:k + 1], 16, axis=1)  # noqa: E731
    for k in (0, 8):
        reference = features(static(real, k))
        report[f"static_frame_{k}"] = fvd(reference, features(static(generated, k)))
        report[f"static_frame_{k}_floor"] = fvd(reference, features(static(other, k)))
    order = np.random.default_rng(0).permutation(generated.shape[1])
    report["samples_shuffled_in_time"] = fvd(real_features, features(generated[:, order]))
    report["real_shuffled_in_time"] = fvd(real_features, features(other[:, order]))
    module = source.generate.module
    for psi in (0.9, 0.7, 0.5):
        truncated = _in_batches(lambda i, j, psi=psi: module.generate(
            tf.range(i, j, dtype=tf.int64), truncation=tf.constant(psi))["video"].numpy(),
            args.clips)
        report[f"truncation_{psi}"] = fvd(real_features, features(truncated))
    passes = {"sharpen_0.5_r0.5": enhance_layers.Sharpen(amount=0.5, radius=0.5),
              "sharpen_1_r1": enhance_layers.Sharpen(amount=1.0, radius=1.0),
              "denoise": enhance_layers.Denoise()}
    for name, enhancement in passes.items():
        enhanced = _in_batches(  # uint8 in, uint8 out
            lambda i, j, e=enhancement: e(tf.constant(generated[i:j])).numpy(), args.clips)
        report[name] = fvd(real_features, features(enhanced))
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
