"""Continuing a video (data.context_frames = 4): the generator sees the last 4 frames and
makes the next 12; `vidgan extend` repeats that to any length (a 10 s clip -> 20 s).

    vidgan train --config=experiments/extend.py --config.data.path=/data/clips --workdir=runs/ext
    vidgan export --workdir=runs/ext --export_dir=exports/ext
    vidgan extend --model_dir=exports/ext --input=clip.mp4 --seconds=20 --output=long.mp4
    vidgan train --config=experiments/extend.py:shapes --workdir=runs/ext_shapes  # no files
    vidgan train --config=experiments/extend.py:tiny --workdir=/tmp/t   # seconds (CI)

Real videos at 16x64x64, 8 fps (experiments/videos.py's data, resampled with
data.target_fps so motion per frame is alike across videos), with the quickstart's model
and training settings; `:shapes` uses the quickstart's bouncing shapes and budget.

The generator moves the last context frame by a learned flow and blends it with what it
draws (warp_last, blend_last; the mask starts at sigmoid(4) ~ 0.98 of the warped frame, so
an untrained model about copies the last frame), and G's loss adds 10 x the L1 distance of
its frames to the real ones after the context (SAVP's term beside the GAN loss). Measured
on held-out real clips (BUILD.md, "Continuing a video"), these took the futures' FVD16
below both copying the last frame and linear extrapolation; without the L1 term, 45
minutes of GAN training moved the futures away from the copy.
"""

import os

from vidgan.config import load_experiment, make_tiny

HERE = os.path.dirname(os.path.abspath(__file__))


def get_config(arg: str | None = None):
    config = load_experiment(os.path.join(HERE, "quickstart.py"))
    if arg not in ("shapes", "tiny"):
        config.data = load_experiment(os.path.join(HERE, "videos.py")).data
        config.data.target_fps = 8.0
        config.data.fps = 8
        config.train.time_budget_minutes = 0.0  # a real run: train.steps
        config.train.steps = 50_000
    config.data.context_frames = 4
    generator = config.model.resnet3d.generator
    generator.blend_last = generator.warp_last = True
    generator.mask_bias = 4.0
    config.loss.reconstruction = 10.0
    if arg == "tiny":
        config = make_tiny(config)
        config.train.time_budget_minutes = 0.0
        return config
    if arg not in (None, "", "shapes"):
        raise ValueError(f"unknown variant {arg!r}; use experiments/extend.py, :shapes or "
                         ":tiny")
    return config
