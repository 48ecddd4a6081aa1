"""Moving digits (Hershey-font glyphs, Moving-MNIST style) at 16x64x64 with hinge loss
and a spectrally normalized discriminator.

    vidgan train --config=experiments/moving_digits.py --workdir=runs/digits
"""

from vidgan.config import default_config, make_tiny


def get_config(arg: str | None = None):
    config = default_config()
    config.data.source = "moving_digits"
    config.data.num_frames = 16
    config.data.height = config.data.width = 64
    config.data.num_objects = 2
    config.data.object_size = 0.45
    config.data.max_speed = 0.05
    config.loss.name = "hinge"
    config.model.dcgan3d.discriminator.spectral_norm = True
    config.train.batch_size = 16
    config.train.steps = 20_000
    config.train.log_every = 50
    config.train.sample_every = 500
    config.train.checkpoint_every = 500
    if arg == "tiny":
        return make_tiny(config)
    if arg:
        raise ValueError(f"unknown variant {arg!r}; use experiments/moving_digits.py or :tiny")
    return config
