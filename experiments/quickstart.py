"""Quick start: bouncing shapes at 16x32x32; visible learning in minutes on 2 CPU cores.

    vidgan train --config=experiments/quickstart.py --workdir=runs/quickstart
    vidgan train --config=experiments/quickstart.py:tiny --workdir=/tmp/tiny   # seconds (CI)
"""

from vidgan.config import default_config, make_tiny


def get_config(arg: str | None = None):
    config = default_config()
    config.data.source = "bouncing_shapes"
    config.data.num_frames = 16
    config.data.height = config.data.width = 32
    config.data.num_objects = 2
    config.data.object_size = 0.3
    for net in (config.model.dcgan3d.generator, config.model.dcgan3d.discriminator):
        net.channels, net.max_channels = 32, 256
    config.train.batch_size = 16
    config.train.steps = 800
    config.train.log_every = 25
    config.train.sample_every = 200
    config.train.checkpoint_every = 200
    if arg == "tiny":
        return make_tiny(config)
    if arg:
        raise ValueError(f"unknown variant {arg!r}; use experiments/quickstart.py or :tiny")
    return config
