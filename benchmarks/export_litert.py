"""LiteRT exports against the float32 SavedModel: file size, speed and fidelity, per run.

    python benchmarks/export_litert.py --workdir=RUN [--workdir=RUN2 ...] [--clips=64] [--batch=16]
        [--repeats=7] [--json=benchmarks/results/export_litert.json]

For each run (a preset or family), exports the EMA generator as a float32 SavedModel and
as LiteRT with --quantize=none, float16 and dynamic_range, and reports per format: the
file size, videos/s of one batch of seeds (median of interleaved repeats after a warm-up;
LiteRT through `LiteRTModel.generate`, i.e. with the seed rule drawn in TensorFlow as
`vidgan synthesize` does, and the interpreter call alone), and the PSNR of its uint8
videos against the SavedModel's for seeds 0..clips-1 (the worst video and the mean). A
format that does not convert is reported with the converter's reason.
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

from vidgan import export as export_lib  # noqa: E402
from vidgan import files  # noqa: E402
from vidgan.export import litert  # noqa: E402


def _size(path: str) -> int:
    return sum(os.path.getsize(os.path.join(root, name))
               for root, _, names in os.walk(path) for name in names)


def _psnr(video: np.ndarray, reference: np.ndarray) -> dict:
    diff = video.astype(np.float64) - reference.astype(np.float64)
    mse = np.mean(diff.reshape(len(diff), -1) ** 2, axis=1)
    with np.errstate(divide="ignore"):
        per_video = 10 * np.log10(255.0**2 / mse)  # +inf: the same video
    finite = per_video[np.isfinite(per_video)]
    # None: every video identical (infinite PSNR)
    return {"psnr_min": round(float(finite.min()), 2) if finite.size else None,
            "psnr_mean": round(float(finite.mean()), 2) if finite.size else None,
            "identical_videos": int((~np.isfinite(per_video)).sum()),
            "max_level_difference": int(np.abs(diff).max())}


def bench(workdir: str, args) -> dict:
    out = tempfile.mkdtemp(prefix="litert-bench-")
    saved = export_lib.export(workdir, os.path.join(out, "savedmodel"), version=1)
    module = tf.saved_model.load(saved)
    meta = json.loads(module.signatures["metadata"]()["json"].numpy())
    calls = {"savedmodel": lambda seeds: module.signatures["generate"](
        seed=tf.constant(seeds, tf.int64))["video"].numpy()}
    report = {"savedmodel": {"bytes": _size(saved)}}
    interpreters = {}
    for quantize in litert.QUANTIZE:
        name = f"litert_{quantize}"
        try:
            path = litert.export_litert(workdir, os.path.join(out, name), version=1,
                                        quantize=quantize)
        except export_lib.ExportError as e:
            report[name] = {"error": str(e)}
            continue
        model = litert.LiteRTModel(path)
        report[name] = {"bytes": os.path.getsize(os.path.join(path, litert.MODEL_FILE))}
        calls[name] = lambda seeds, m=model: m.generate(seeds)["video"].numpy()
        interpreters[name] = model

    batch = list(range(args.batch))
    for call in calls.values():  # warm-up
        call(batch)
    latents = next(iter(interpreters.values())).latents(batch) if interpreters else None
    times = {name: [] for name in calls}
    alone = {name: [] for name in interpreters}
    for _ in range(args.repeats):  # interleaved, so drift hits every format alike
        for name, call in calls.items():
            start = time.perf_counter()
            call(batch)
            times[name].append(time.perf_counter() - start)
        for name, model in interpreters.items():
            start = time.perf_counter()
            model._run(latents=latents)
            alone[name].append(time.perf_counter() - start)
    for name in calls:
        report[name]["videos_per_sec"] = round(args.batch / statistics.median(times[name]), 1)
    for name in interpreters:
        report[name]["interpreter_videos_per_sec"] = round(
            args.batch / statistics.median(alone[name]), 1)

    seeds = list(range(args.clips))
    videos = {name: np.concatenate([call(seeds[i:i + args.batch])
                                    for i in range(0, args.clips, args.batch)])
              for name, call in calls.items()}
    for name in interpreters:
        report[name].update(_psnr(videos[name], videos["savedmodel"]))
    return {"workdir": workdir, "family": meta["family"], "step": meta["step"],
            "size": meta["generator_size"], "formats": report}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", action="append", required=True,
                        help="a finished `vidgan train` run (repeat for several)")
    parser.add_argument("--clips", type=int, default=64)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--json", default="")
    args = parser.parse_args()
    rows = []
    for workdir in args.workdir:
        rows.append(bench(workdir, args))
        print(json.dumps(rows[-1]), flush=True)
    if args.json:
        files.write_json(args.json, {"clips": args.clips, "batch": args.batch,
                                     "machine": {"cpus": os.cpu_count(),
                                                 "tensorflow": tf.__version__},
                                     "results": rows})


if __name__ == "__main__":
    main()
