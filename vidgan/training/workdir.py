"""The run directory: resolved config and versions, the rules for reusing it, and
loading what a finished run holds (its config, a checkpoint, the trained generator).

workdir/
  config.json        resolved config + versions (rewritten at each start)
  checkpoints/       tf.train.CheckpointManager: ckpt-<step>; a GAN run's object graph is
                     step, generator, ema_generator, discriminator, g_optimizer,
                     d_optimizer (vidgan.training.Trainer); an SR run's, step, network,
                     optimizer (vidgan.enhance.sr.SRTrainer)
  events.out.tfevents.*   TensorBoard
  samples/           GIFs of reals and of the fixed-latent EMA samples
"""

from __future__ import annotations

import datetime
import json
import os
import platform

from absl import logging
import keras
import numpy as np
import tensorflow as tf

import vidgan
from vidgan import config as config_lib
from vidgan import files

CONFIG_FILE = "config.json"
CHECKPOINTS = "checkpoints"


class RunError(ValueError):
    """A run directory that cannot be loaded as asked; the message says why in one line."""


def versions() -> dict[str, str]:
    return {
        "vidgan": vidgan.__version__,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


def ensure_writable(workdir: str) -> None:
    """Creates workdir if needed; raises OSError with a plain message if it cannot be written."""
    files.ensure_writable(workdir, "workdir")


def read_config(workdir: str,
                advice: str = "; use a new --workdir or remove it") -> dict | None:
    """The config dict stored in workdir/config.json, or None if there is none."""
    path = os.path.join(workdir, CONFIG_FILE)
    if not tf.io.gfile.exists(path):
        return None
    try:
        with tf.io.gfile.GFile(path) as f:
            return json.load(f)["config"]
    except (ValueError, KeyError, TypeError) as e:
        raise config_lib.ConfigError(
            f"{path} is not a vidgan run record ({type(e).__name__}: {e}){advice}") from None


def check_resumable(workdir: str, config: config_lib.Config) -> None:
    """Refuses to continue a run whose stored config differs in a field that matters."""
    stored = read_config(workdir)
    if stored is None:
        return
    try:  # fields added since the run was made compare as their defaults
        stored = config_lib.to_dict(config_lib.from_dict(stored))
    except config_lib.ConfigError:
        pass  # an older schema: compare what is there
    changed = [
        line for line in config_lib.differences(stored, config_lib.to_dict(config))
        if line.split(":")[0] not in config_lib.RESUMABLE_CHANGES
    ]
    if changed:
        raise config_lib.ConfigError(
            f"{workdir} holds a run with a different config ({'; '.join(changed)}); "
            "use a new --workdir, or only change: "
            + ", ".join(sorted(config_lib.RESUMABLE_CHANGES)))


def write_config(workdir: str, config: config_lib.Config, strategy_name: str,
                 num_replicas: int) -> None:
    tf.io.gfile.makedirs(workdir)
    path = os.path.join(workdir, CONFIG_FILE)
    now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    created = now
    if tf.io.gfile.exists(path):  # a resumed run keeps its creation time
        with tf.io.gfile.GFile(path) as f:
            created = json.load(f).get("created", now)
    record = {
        "config": config_lib.to_dict(config),
        "versions": versions(),
        "strategy": {"name": strategy_name, "replicas": num_replicas},
        "created": created,
        "started": now,
    }
    # Written beside, then renamed (tf.io.gfile: also on gs://), so a reader (another
    # worker checking that the run resumes) never sees half a file.
    with tf.io.gfile.GFile(path + ".tmp", "w") as f:
        json.dump(record, f, indent=2, sort_keys=True)
    tf.io.gfile.rename(path + ".tmp", path, overwrite=True)


def load_config(workdir: str, kind: str = "vidgan training run") -> config_lib.Config:
    """The validated config a run was made with."""
    try:
        stored = read_config(workdir, advice="")
    except config_lib.ConfigError as e:
        raise RunError(str(e)) from None
    if stored is None:
        raise RunError(f"{workdir} is not a {kind} (no {CONFIG_FILE})")
    try:
        return config_lib.from_dict(stored)
    except config_lib.ConfigError as e:
        raise RunError(f"{os.path.join(workdir, CONFIG_FILE)}: {e}") from None


def checkpoint_path(workdir: str, step: int | None = None) -> str:
    """The checkpoint prefix of `step` (default: the latest)."""
    directory = os.path.join(workdir, CHECKPOINTS)
    if step is None:
        path = tf.train.latest_checkpoint(directory)
        if path is None:
            raise RunError(f"no checkpoint in {directory}")
        return path
    path = os.path.join(directory, f"ckpt-{step}")
    if not tf.io.gfile.exists(path + ".index"):
        available = sorted(int(p.split("-")[-1].split(".")[0])
                           for p in tf.io.gfile.glob(os.path.join(directory, "ckpt-*.index")))
        raise RunError(f"no checkpoint for step {step} in {directory}; "
                       f"available steps: {available or 'none'}")
    return path


def resume(checkpoint: tf.train.Checkpoint, latest: str | None, step: tf.Variable) -> int:
    """Restores a training run's whole `checkpoint` (which tracks `step`) from `latest`
    (its manager's latest checkpoint; None: a fresh run, nothing to restore); returns the
    step. A checkpoint of another config raises ConfigError in one line."""
    if latest:
        try:
            checkpoint.restore(latest).assert_existing_objects_matched()
        except (AssertionError, ValueError, tf.errors.OpError) as e:
            raise config_lib.ConfigError(
                f"checkpoint {latest} does not match this config (use a new --workdir): "
                f"{str(e).splitlines()[0][:300]}") from None
        logging.info("Resumed from %s at step %d.", latest, int(step.numpy()))
    return int(step.numpy())


def restore(path: str, **objects) -> None:
    """Restores `objects` (checkpoint keys -> trackables) from the checkpoint at `path`;
    the checkpoint may hold more."""
    try:
        tf.train.Checkpoint(**objects).restore(path).expect_partial() \
            .assert_existing_objects_matched()
    except (AssertionError, ValueError, tf.errors.OpError) as e:
        raise RunError(f"cannot restore {', '.join(objects)} from {path}: "
                       f"{str(e).splitlines()[0][:300]}") from None


def load_generator(workdir: str, step: int | None = None,
                   ema: bool = True) -> tuple[keras.Model, config_lib.Config, int]:
    """The generator of a training run (EMA weights by default), rebuilt and restored:
    (generator, config, step)."""
    from vidgan import models  # noqa: PLC0415

    config = load_config(workdir)
    path = checkpoint_path(workdir, step)
    generator = models.build_generator(config, name="generator")
    models.build(generator)
    step_var = tf.Variable(0, dtype=tf.int64)
    restore(path, step=step_var, **{"ema_generator" if ema else "generator": generator})
    return generator, config, int(step_var.numpy())
