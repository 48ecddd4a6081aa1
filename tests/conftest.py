"""Test setup: split the CPU into 2 logical devices before TensorFlow initializes,
so MirroredStrategy tests exercise the distributed path on a CPU-only machine."""

import os
import types

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

import vidgan  # noqa: E402,F401  (before TensorFlow: it switches oneDNN's kernels on)
import tensorflow as tf  # noqa: E402

from vidgan.training import split_cpu  # noqa: E402

CPU_DEVICES = split_cpu(2)


def _tiny_config():
    from vidgan import config as config_lib  # noqa: PLC0415

    cfg = config_lib.make_tiny(config_lib.default_config())
    cfg.model.dcgan3d.generator.z_dim = 16
    return config_lib.from_dict(cfg)


@pytest.fixture
def tiny_config():
    """A validated Config at 8x16x16 with small widths: one step takes well under a second."""
    return _tiny_config()


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    """The tiny config (z_dim 16) trained 4 steps in-process, checkpoints at 2 and 4, and
    exported; once per session (export and synthesis tests share it). A namespace of
    config, workdir, export_dir, version_dir."""
    from vidgan import export as export_lib  # noqa: PLC0415
    from vidgan.training import Trainer  # noqa: PLC0415

    base = tmp_path_factory.mktemp("shared_run")
    config = _tiny_config()
    workdir, export_dir = str(base / "run"), str(base / "export")
    step = Trainer(config, workdir, tf.distribute.OneDeviceStrategy("/cpu:0")).train()
    assert step == 4
    version_dir = export_lib.export(workdir, export_dir)
    return types.SimpleNamespace(config=config, workdir=workdir, export_dir=export_dir,
                                 version_dir=version_dir)


def pytest_report_header(config):
    return f"tensorflow {tf.__version__}; logical CPU devices: {', '.join(CPU_DEVICES)}"
