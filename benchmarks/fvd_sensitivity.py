"""What FVD rewards on a setting's data: FVD16 of real clips changed in one way each.

    python benchmarks/fvd_sensitivity.py [--setting=shapes] [--clips=256]
        [--json=benchmarks/results/fvd_sensitivity_shapes.json]

The quality benchmark's protocol (benchmarks/quality.py): the reference is the first block
of `clips` real clips; each row takes the NEXT block (the floor's second block), changes
one thing and reports its FVD against the reference. "identity" is the floor itself. It
tells which defects of generated videos cost the most (blur, pixel noise, missing motion)
and which hardly matter (object count, size), to aim model work at what the metric sees.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from quality import make_config  # noqa: E402
from vidgan import data as data_lib  # noqa: E402
from vidgan import evaluation  # noqa: E402
from vidgan import pixels  # noqa: E402
from vidgan.metrics import fvd as fvd_lib  # noqa: E402


def clips(data, n: int, start: int) -> np.ndarray:
    """uint8 [n, T, H, W, 3]: clips start..start+n-1 of the stream."""
    batch = next(iter(data_lib.make_dataset(data, n, start_index=start)))
    return pixels.to_uint8(batch["video"]).numpy()


def blur(videos: np.ndarray, sigma: float) -> np.ndarray:
    return np.stack([[cv2.GaussianBlur(f, (0, 0), sigma) for f in v] for v in videos])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--setting", default="shapes", choices=("shapes",))
    parser.add_argument("--clips", type=int, default=256)
    parser.add_argument("--json", default="")
    args = parser.parse_args()
    config = make_config(args.setting, {}, 10.0)
    n = args.clips
    extractor = evaluation.FeatureExtractor()
    protocol = evaluation.Protocol(num_clips=n, num_frames=16, split=config.data.split)
    d = config.data
    real_cfg = evaluation.real_data_config(d, protocol, (d.num_frames, d.height, d.width))
    reference, _, _ = evaluation.real_features(real_cfg, protocol, extractor, progress=False)
    base = clips(real_cfg, n, n)  # the floor's second block
    rng = np.random.default_rng(0)
    order = rng.permutation(base.shape[1])
    noisy = base.astype(np.float32) + rng.normal(0, 25, base.shape)
    variants = {
        "identity": lambda: base,
        "blur sigma 0.7 px": lambda: blur(base, 0.7),
        "blur sigma 1.5 px": lambda: blur(base, 1.5),
        "gaussian noise sigma 25/255": lambda: np.clip(noisy, 0, 255).astype(np.uint8),
        "static (every frame = frame 0)": lambda: np.repeat(base[:, :1], base.shape[1], 1),
        "frames shuffled in time": lambda: base[:, order],
        "grayscale": lambda: np.repeat(base.mean(-1, keepdims=True).astype(np.uint8), 3, -1),
        "color channels permuted": lambda: base[..., [1, 2, 0]],
        "brightness x 0.6": lambda: (base * 0.6).astype(np.uint8),
    }
    if d.source == "bouncing_shapes":
        for k in (1, 3):
            variants[f"{k} objects instead of {d.num_objects}"] = (
                lambda k=k: clips(dataclasses.replace(real_cfg, num_objects=k), n, n))
        for size in (0.2, 0.4):
            variants[f"object size {size} instead of {d.object_size}"] = (
                lambda size=size: clips(dataclasses.replace(real_cfg, object_size=size), n, n))
    results = {}
    for name, make in variants.items():
        videos = make()
        features = np.concatenate([extractor(videos[i:i + 32]) for i in range(0, n, 32)])
        results[name] = round(fvd_lib.fvd(reference, features), 1)
        print(f"{name}: FVD16 {results[name]}", flush=True)
    if args.json:
        os.makedirs(os.path.dirname(args.json) or ".", exist_ok=True)
        with open(args.json, "w") as f:
            json.dump({"setting": args.setting, "clips": n, "fvd16": results}, f, indent=2)


if __name__ == "__main__":
    main()
