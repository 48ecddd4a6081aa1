"""What every export format shares: loading a run's generator (with its enhancement
chain and precision), the metadata, and writing a version folder atomically."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from typing import Iterator, NamedTuple

import tensorflow as tf

import vidgan
from vidgan import config as config_lib
from vidgan import models
from vidgan.models import sampling
from vidgan.training import workdir as workdir_lib


class ExportError(ValueError):
    """An export that cannot be done; the message says why in one line."""


def _latent_rule(specs: dict) -> str:
    """How seed i becomes latents[i] (vidgan.models.sampling's rule, written out)."""
    pair = f"[seed[i], {sampling.SEED_STREAM}]"
    parts = [f"tf.random.stateless_normal({list(spec.shape)}, seed="
             + (pair if k == 0 else f"tf.random.experimental.stateless_fold_in({pair}, {k})")
             + ")" for k, spec in enumerate(sampling.noise_specs(specs).values())]
    if len(parts) == 1:
        return f"latents[i] = tf.random.stateless_normal([z_dim], seed={pair}) * truncation"
    names = ", ".join(sampling.noise_specs(specs))
    return (f"latents[i] = concat of the flattened draws of {names}: "
            + ", ".join(parts) + "; times truncation")


def build_metadata(config: config_lib.Config, step: int, ema: bool, enhance: str = "",
                   scale: int = 1) -> dict:
    """`height`/`width` are those of the output (after super-resolution, if any)."""
    d = config.data
    generator = models.build_generator(config)  # unbuilt: declared inputs only
    specs = generator.input_specs()
    return {
        "vidgan_version": vidgan.__version__,
        "tensorflow_version": tf.__version__,
        "step": step,
        "ema": ema,
        "num_frames": d.num_frames,
        "height": d.height * scale,
        "width": d.width * scale,
        "enhance": enhance,
        "generator_size": [d.num_frames, d.height, d.width],
        "fps": d.fps,
        "z_dim": sampling.latent_width(specs),
        "family": config.model.generator.name,  # the generator's
        "conditional": d.labels,
        "class_names": list(d.class_names),
        "context_frames": d.context_frames,
        "latent_rule": _latent_rule(specs),
        "any_length": bool(generator.any_length),
        "config": config_lib.to_dict(config),
    }


class Loaded(NamedTuple):
    """What every export format starts from: a run's generator, ready to convert."""

    generator: tf.keras.Model
    config: config_lib.Config
    step: int
    enhancement: object  # vidgan.enhance.Enhancement or None
    metadata: dict


def load(workdir: str, step: int | None, ema: bool, enhance: str = "",
         sr_workdir: str | None = None, precision: str = "float32") -> Loaded:
    """Loads a run's generator in `precision` (models.in_precision), builds the
    enhancement chain, and writes the metadata every format carries; ExportError (one
    line) for what cannot load."""
    if precision not in models.PRECISIONS:
        raise ExportError(f"unknown precision {precision!r}; use one of "
                          f"{', '.join(models.PRECISIONS)}")
    try:
        generator, config, trained_step = workdir_lib.load_generator(workdir, step, ema)
    except workdir_lib.RunError as e:
        raise ExportError(str(e)) from None
    generator, compute = models.in_precision(generator, config, precision)
    enhancement, scale = None, 1
    if enhance:
        from vidgan import enhance as enhance_lib  # noqa: PLC0415

        try:
            passes = enhance_lib.build_chain(enhance, sr_workdir)
        except enhance_lib.EnhanceError as e:
            raise ExportError(str(e)) from None
        enhancement = enhance_lib.Enhancement(passes, name="enhancement")
        for layer in passes:
            scale *= getattr(layer, "scale", 1)
    metadata = build_metadata(config, trained_step, ema, enhance, scale)
    metadata["precision"] = {"weights": precision, "compute": compute}
    return Loaded(generator, config, trained_step, enhancement, metadata)


def staging_folder(export_dir: str, version: int, overwrite: bool) -> tuple[str, str]:
    """(export_dir/<version>, a fresh temporary folder beside it to write into first)."""
    if version < 0:
        raise ExportError(f"version must be >= 0, got {version}")
    target = os.path.join(export_dir, str(version))
    if tf.io.gfile.exists(target) and not overwrite:
        raise ExportError(f"{target} exists; pass --overwrite or choose --version")
    try:
        tf.io.gfile.makedirs(export_dir)
        return target, tempfile.mkdtemp(prefix=f".{version}.tmp-", dir=export_dir)
    except (OSError, tf.errors.OpError) as e:
        raise ExportError(f"cannot write to {export_dir}: {e}") from None


@contextlib.contextmanager
def published(staging: str, target: str) -> Iterator[None]:
    """Write the export into `staging` inside this block; when the block ends without an
    error, `staging` becomes `target` (replacing it), so a server watching the export dir
    never sees half a model. `staging` is removed whatever happens."""
    try:
        yield
        if tf.io.gfile.exists(target):
            shutil.rmtree(target)
        os.replace(staging, target)
    finally:
        if os.path.exists(staging):
            shutil.rmtree(staging)
