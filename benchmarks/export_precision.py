"""16-bit exports against the float32 one: file size, speed, fidelity and FVD, one process.

    python benchmarks/export_precision.py --workdir=RUN [--clips=256] [--batch=16]
        [--repeats=7] [--json=benchmarks/results/export_precision.json]

Exports the run's EMA generator three times (`vidgan export --precision=float32 |
bfloat16 | float16`) and for each reports: the size of its variables, `generate` videos/s
on one batch of seeds (median of interleaved repeats after a warm-up), the PSNR of its
uint8 videos against the float32 export's for the same seeds 0..clips-1 (the smallest
over the videos, and the mean), and FVD16 of those videos against the run's real clips
(vidgan.evaluation's protocol: I3D Kinetics-400, `clips` clips each side). Which dtype
each computes in is the export's own choice on this machine (metadata "precision").
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import vidgan  # noqa: E402,F401  (before TensorFlow: it switches oneDNN's kernels on)
import tensorflow as tf  # noqa: E402

from vidgan import evaluation, files  # noqa: E402
from vidgan import export as export_lib  # noqa: E402
from vidgan.metrics import fvd as fvd_lib  # noqa: E402
from vidgan.models import PRECISIONS  # noqa: E402


def _size(path: str) -> int:
    return sum(os.path.getsize(os.path.join(root, name))
               for root, _, names in os.walk(path) for name in names)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", required=True, help="a finished `vidgan train` run")
    parser.add_argument("--clips", type=int, default=256)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--json", default="")
    args = parser.parse_args()

    out = tempfile.mkdtemp(prefix="export-precision-")
    models, report = {}, {}
    for precision in PRECISIONS:
        path = export_lib.export(args.workdir, os.path.join(out, precision), version=1,
                                 precision=precision)
        loaded = tf.saved_model.load(path)
        meta = json.loads(loaded.signatures["metadata"]()["json"].numpy())
        models[precision] = loaded.signatures["generate"]
        report[precision] = {"variables_bytes": _size(os.path.join(path, "variables")),
                             "saved_model_bytes": _size(path),
                             "compute": meta["precision"]["compute"]}

    batch = tf.range(args.batch, dtype=tf.int64)
    for fn in models.values():  # warm-up
        fn(seed=batch)
    times = {p: [] for p in models}
    for _ in range(args.repeats):  # interleaved, so drift hits every model alike
        for precision, fn in models.items():
            start = time.perf_counter()
            fn(seed=batch)["video"].numpy()
            times[precision].append(time.perf_counter() - start)
    for precision in models:
        report[precision]["videos_per_sec"] = round(
            args.batch / statistics.median(times[precision]), 2)

    seeds = np.arange(args.clips)
    videos = {p: np.concatenate([fn(seed=tf.constant(seeds[i:i + args.batch], tf.int64))
                                 ["video"].numpy() for i in range(0, args.clips, args.batch)])
              for p, fn in models.items()}
    extractor = evaluation.FeatureExtractor()
    source = evaluation.source_from_saved_model(os.path.join(out, "float32"))
    protocol = evaluation.Protocol(num_clips=args.clips, num_frames=16,
                                   split=source.config.data.split)
    d = source.config.data
    real_cfg = evaluation.real_data_config(d, protocol, (d.num_frames, d.height, d.width))
    real, _, _ = evaluation.real_features(real_cfg, protocol, extractor, progress=False)
    for precision, video in videos.items():
        # PSNR of each whole video (all its pixels) against the float32 export's
        diff = video.astype(np.float64) - videos["float32"].astype(np.float64)
        mse = np.mean(diff.reshape(len(diff), -1) ** 2, axis=1)
        with np.errstate(divide="ignore"):
            per_video = 10 * np.log10(255.0 ** 2 / mse)  # +inf: the same video
        finite = per_video[np.isfinite(per_video)]
        report[precision].update({
            "psnr_vs_float32_min": (round(float(per_video.min()), 2)
                                    if np.isfinite(per_video.min()) else None),
            "psnr_vs_float32_mean": round(float(finite.mean()), 2) if finite.size else None,
            "identical_videos": int((~np.isfinite(per_video)).sum()),
            "max_level_difference": int(np.abs(diff).max()),
            "fvd16": round(float(fvd_lib.fvd(real, extractor(video[:, :16]))), 1),
        })
        print(precision, json.dumps(report[precision]), flush=True)
    if args.json:
        files.write_json(args.json, {"workdir": args.workdir, "clips": args.clips,
                                     "batch": args.batch, "results": report})


if __name__ == "__main__":
    main()
