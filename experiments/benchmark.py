"""The benchmark preset: 16x64x64 clips, batch 16, the default generator and
discriminator (channels 512 -> 64), non-saturating loss.

    vidgan train --config=experiments/benchmark.py --workdir=runs/benchmark
"""

from vidgan.config import default_config, make_tiny


def get_config(arg: str | None = None):
    config = default_config()
    config.data.source = "bouncing_shapes"
    config.data.num_frames = 16
    config.data.height = config.data.width = 64
    config.train.batch_size = 16
    config.train.steps = 10_000
    if arg == "tiny":
        return make_tiny(config)
    if arg:
        raise ValueError(f"unknown variant {arg!r}; use experiments/benchmark.py or :tiny")
    return config
