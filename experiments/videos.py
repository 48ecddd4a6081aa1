"""Your own videos: a folder (or glob) of mp4/avi/mkv/webm/gif files, optionally in class
subfolders, at 16x64x64: the quickstart's resnet3d recipe (widths 16..128, DVD-GAN's dual
discriminator, DiffAugment color + translation + cutout, Adam beta_1 0, learning rates
4e-4 / 8e-4, mixed bfloat16 where native), which measured best on real clips
(BUILD.md, "Quality per wall-time budget", setting (b)).

    vidgan train --config=experiments/videos.py --config.data.path=/data/UCF-101 --workdir=runs/ucf
    # faster epochs: convert once, then train from the shards (no Python in the input path)
    vidgan prepare --input=/data/UCF-101 --output=/data/ucf_tfrecords --labels
    vidgan train --config=experiments/videos.py --config.data.source=tfrecord \\
        --config.data.path=/data/ucf_tfrecords --workdir=runs/ucf
"""

from vidgan.config import default_config, make_tiny


def get_config(arg: str | None = None):
    config = default_config()
    config.data.source = "video_files"  # or "frame_folders", "tfrecord"
    config.data.path = "data/videos"  # override with --config.data.path=...
    config.data.num_frames = 16
    config.data.height = config.data.width = 64
    config.data.frame_stride = 2
    config.data.clip_offsets = "random"
    config.data.resize = "random_crop"
    config.data.flip = True
    config.data.split = "train"
    config.data.test_fraction = 0.1
    config.data.fps = 15
    config.loss.name = "hinge"
    config.model.generator.name = "resnet3d"
    g, d = config.model.resnet3d.generator, config.model.resnet3d.discriminator
    g.channels = d.channels = 16
    g.max_channels = d.max_channels = 128
    d.frames = 4  # the dual D's per-frame head, beside the video head at full resolution
    config.train.augment = "color,translation,cutout"
    config.train.beta1 = 0.0
    config.train.g_lr, config.train.d_lr = 4e-4, 8e-4
    config.train.precision = "auto"
    config.train.batch_size = 16
    config.train.steps = 50_000
    config.train.log_every = 50
    config.train.sample_every = 1000
    config.train.checkpoint_every = 1000
    if arg == "tiny":
        return make_tiny(config)
    if arg:
        raise ValueError(f"unknown variant {arg!r}; use experiments/videos.py or :tiny")
    return config
