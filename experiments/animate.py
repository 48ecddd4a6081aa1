"""Image -> video: a still image brought to life (data.context_frames = 1).

    vidgan train --config=experiments/animate.py --workdir=runs/animate
    vidgan export --workdir=runs/animate --export_dir=exports/animate
    vidgan animate --model_dir=exports/animate --image=photo.png --num_videos=4 --out_dir=out
    # your own videos (their first frames are the images it learns from)
    vidgan train --config=experiments/animate.py:videos --config.data.path=/data/clips \\
        --workdir=runs/animate_videos
    vidgan train --config=experiments/animate.py:tiny --workdir=/tmp/t   # seconds (CI)

The quickstart's model and training (resnet3d, dual D, DiffAugment, 9.5-minute budget)
with the generator given each clip's first frame: a context encoder feeds G at every
resolution, and the output's frame 0 is that frame itself. Default data: the quickstart's
bouncing shapes; `:videos` trains on a folder of videos at 16x64x64.
"""

import os

from vidgan.config import load_experiment, make_tiny

HERE = os.path.dirname(os.path.abspath(__file__))


def get_config(arg: str | None = None):
    config = load_experiment(os.path.join(HERE, "quickstart.py"))
    if arg == "videos":
        config.data = load_experiment(os.path.join(HERE, "videos.py")).data
        config.train.time_budget_minutes = 0.0  # a real run: train.steps
        config.train.steps = 50_000
    config.data.context_frames = 1
    if arg == "tiny":
        config = make_tiny(config)
        config.train.time_budget_minutes = 0.0
        return config
    if arg not in (None, "", "videos"):
        raise ValueError(f"unknown variant {arg!r}; use experiments/animate.py, :videos or "
                         ":tiny")
    return config
