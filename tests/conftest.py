"""Test setup: split the CPU into 2 logical devices before TensorFlow initializes,
so MirroredStrategy tests exercise the distributed path on a CPU-only machine."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from vidgan.training import split_cpu  # noqa: E402

CPU_DEVICES = split_cpu(2)
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def tiny_config():
    """A validated Config at 8x16x16 with small widths: one step takes well under a second."""
    from vidgan import config as config_lib  # noqa: PLC0415

    cfg = config_lib.make_tiny(config_lib.default_config())
    cfg.model.dcgan3d.generator.z_dim = 16
    return config_lib.from_dict(cfg)


def with_family(config, family: str, updates: dict | None = None):
    """`config` (a tiny one) with another model family, its section at the family's tiny
    widths, then `updates` ({"dotted.field": value}) applied."""
    from vidgan import config as config_lib  # noqa: PLC0415
    from vidgan import models  # noqa: PLC0415

    values = config_lib.to_dict(config)
    values["model"] = {"family": family}  # every family section back at its defaults
    cd = config_lib.ml_collections.ConfigDict(config_lib.to_dict(config_lib.from_dict(values)))
    models.FAMILIES[family].tiny(cd.model[family])
    return config_lib.override(config_lib.from_dict(cd), updates or {})


def pytest_report_header(config):
    return f"tensorflow {tf.__version__}; logical CPU devices: {', '.join(CPU_DEVICES)}"
