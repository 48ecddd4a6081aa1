"""Moving digits (Hershey-font glyphs, Moving-MNIST style) at 16x64x64 with hinge loss
and a spectrally normalized discriminator.

    vidgan train --config=experiments/moving_digits.py --workdir=runs/digits

    # class-conditional: choose the digit (one digit per clip, 16x32x32, resnet3d with the
    # quickstart's training settings; benchmarks/conditional.py measures it)
    vidgan train --config=experiments/moving_digits.py:labels --workdir=runs/digits_by_class
    vidgan train --config=experiments/moving_digits.py:labels_tiny --workdir=/tmp/t  # CI
"""

import os

from vidgan.config import default_config, load_experiment, make_tiny


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
    if arg in ("labels", "labels_tiny"):
        config = _by_class()
    if arg in ("tiny", "labels_tiny"):
        return make_tiny(config)
    if arg not in (None, "", "labels"):
        raise ValueError(f"unknown variant {arg!r}; use experiments/moving_digits.py, :tiny, "
                         ":labels or :labels_tiny")
    return config


def _by_class():
    """The class-conditional variant: experiments/quickstart.py (its model, training and
    budget) on one digit per clip, the digit as the label."""
    config = load_experiment(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                          "quickstart.py"))
    config.data.source = "moving_digits"
    config.data.labels = True
    config.data.num_objects = 1
    config.data.object_size = 0.5
    config.data.max_speed = 0.05
    return config
