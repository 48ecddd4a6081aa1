"""Batch synthesis on Apache Beam against `vidgan synthesize`: videos/s on this machine.

    python benchmarks/beam_synthesis.py --workdir=RUN [--videos=512] [--format=mp4]
        [--json=benchmarks/results/beam_synthesis.json]

Exports the run's EMA generator once, then writes the same `videos` seeds three ways, each
into a fresh folder, timed end to end (model loading and pipeline start-up included):
`vidgan.synthesis.synthesize` (the local path: one process, encoding threads), and
`vidgan.synthesis_beam.synthesize_beam` on the DirectRunner in process and with
`--direct_num_workers=2 --direct_running_mode=multi_processing`. Checks that every
Beam file equals the local one (npz: bytes; mp4: decoded frames).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from vidgan import export as export_lib  # noqa: E402
from vidgan import files  # noqa: E402
from vidgan.data import video_io  # noqa: E402
from vidgan.synthesis import SynthesisRequest, synthesize  # noqa: E402
from vidgan.synthesis_beam import synthesize_beam  # noqa: E402

WAYS = {
    "local (vidgan synthesize)": lambda r: synthesize(r, progress=False),
    "beam DirectRunner, in process": lambda r: synthesize_beam(r),
    "beam DirectRunner, 2 worker processes": lambda r: synthesize_beam(
        r, beam_options="--direct_num_workers=2 --direct_running_mode=multi_processing"),
}


def _same(a: str, b: str, format: str) -> bool:
    """npz: the same bytes. mp4: the same decoded frames (libx264 here does not always
    repeat itself on identical frames, so a few files may differ by its error)."""
    if format == "npz":
        with open(a, "rb") as fa, open(b, "rb") as fb:
            return fa.read() == fb.read()
    return np.array_equal(video_io.read_video(a, format), video_io.read_video(b, format))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--videos", type=int, default=512)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--format", default="mp4")
    parser.add_argument("--json", default="")
    args = parser.parse_args()
    out = tempfile.mkdtemp(prefix="beam-synthesis-")
    model = export_lib.export(args.workdir, os.path.join(out, "export"), version=1)
    rows = {}
    for i, (name, run) in enumerate(WAYS.items()):
        folder = os.path.join(out, f"way{i}")
        start = time.perf_counter()
        summary = run(SynthesisRequest(model, folder, args.videos, batch_size=args.batch,
                                       format=args.format))
        seconds = time.perf_counter() - start
        rows[name] = {"seconds": round(seconds, 1),
                      "videos_per_sec": round(summary["written"] / seconds, 1)}
        if i:
            names = [n for n in os.listdir(os.path.join(out, "way0")) if n != "manifest.json"]
            rows[name]["files_equal_local"] = all(
                _same(os.path.join(out, "way0", n), os.path.join(folder, n), args.format)
                for n in names)
        print(name, rows[name], flush=True)
    if args.json:
        files.write_json(args.json, {"workdir": args.workdir, "videos": args.videos,
                                     "batch": args.batch, "format": args.format,
                                     "cpus": os.cpu_count(), "results": rows})


if __name__ == "__main__":
    main()
