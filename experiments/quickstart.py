"""Quick start: bouncing shapes at 16x32x32, visible learning in minutes on 2 CPU cores.

    vidgan train --config=experiments/quickstart.py --workdir=runs/quickstart
    vidgan train --config=experiments/quickstart.py:tiny --workdir=/tmp/tiny   # seconds (CI)
"""

from vidgan.config import default_config


def get_config(arg: str | None = None):
    config = default_config()
    config.data.source = "bouncing_shapes"
    config.data.num_frames = 16
    config.data.height = config.data.width = 32
    config.data.num_objects = 2
    config.data.object_size = 0.3
    config.model.generator.channels = 32
    config.model.generator.max_channels = 256
    config.model.discriminator.channels = 32
    config.model.discriminator.max_channels = 256
    config.train.batch_size = 16
    config.train.steps = 1500
    config.train.log_every = 25
    config.train.sample_every = 250
    config.train.checkpoint_every = 250
    if arg == "tiny":
        config.data.num_frames = 8
        config.data.height = config.data.width = 16
        config.model.generator.channels = config.model.discriminator.channels = 8
        config.model.generator.max_channels = config.model.discriminator.max_channels = 32
        config.train.batch_size = 4
        config.train.steps = 4
        config.train.log_every = config.train.sample_every = 2
        config.train.checkpoint_every = 2
        config.train.num_samples = 4
    elif arg:
        raise ValueError(f"unknown variant {arg!r}; use experiments/quickstart.py or :tiny")
    return config
