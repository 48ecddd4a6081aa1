"""Quick start: bouncing shapes at 16x32x32, trained for 9.5 minutes on 2 CPU cores.

    vidgan train --config=experiments/quickstart.py --workdir=runs/quickstart
    vidgan train --config=experiments/quickstart.py:tiny --workdir=/tmp/tiny   # seconds (CI)

The residual family (resnet3d) with DVD-GAN's dual discriminator (a 2D head on 4 random
frames, a 3D head on the whole clip, both at full resolution), hinge loss, DiffAugment
(translation and cutout), Adam(4e-4 for G, 8e-4 for D, beta1 = 0, beta2 = 0.9999), and mixed bfloat16
where the hardware runs it natively (1.5x the steps on this CPU): the settings that
measured best under a 10-minute budget (benchmarks/quality.py, BUILD.md). Training
stops after train.time_budget_minutes or train.steps, whichever comes first; running the
command again continues for another budget.
"""

from vidgan.config import default_config, make_tiny


def get_config(arg: str | None = None):
    config = default_config()
    config.data.source = "bouncing_shapes"
    config.data.num_frames = 16
    config.data.height = config.data.width = 32
    config.data.num_objects = 2
    config.data.object_size = 0.3
    config.model.generator.name = "resnet3d"
    section = config.model.resnet3d
    for net in (section.generator, section.discriminator):
        net.channels, net.max_channels = 16, 128
    section.discriminator.frames = 4
    section.discriminator.video_downsample = 1  # the 3D head at full resolution
    config.train.augment = "translation,cutout"  # color: no better here, 10 % slower
    config.train.precision = "auto"
    config.train.beta1 = 0.0
    config.train.beta2 = 0.9999  # 0.99: FVD 655, 0.999: 308, 0.9999: 269 (BUILD.md)
    config.train.g_lr, config.train.d_lr = 4e-4, 8e-4
    config.train.batch_size = 16
    config.train.time_budget_minutes = 9.5
    config.train.steps = 5000
    config.train.log_every = 25
    config.train.sample_every = 200
    config.train.checkpoint_every = 200
    if arg == "tiny":
        config = make_tiny(config)
        config.train.time_budget_minutes = 0.0
        return config
    if arg:
        raise ValueError(f"unknown variant {arg!r}; use experiments/quickstart.py or :tiny")
    return config
