"""Input pipelines: tf.data datasets of {"video": float32 [B, T, H, W, 3] in [-1, 1]}
(and "label": int32 [B] with data.labels; "context": the clips' first data.context_frames
frames [B, k, H, W, 3] when k > 0)."""

from __future__ import annotations

import dataclasses

import tensorflow as tf

from vidgan.config import Config, ConfigError, DataConfig
from vidgan.data import registry
from vidgan.data.registry import SOURCES
from vidgan.data.sources import DataError


def make_dataset(config: DataConfig, batch_size: int, start_index: int = 0) -> tf.data.Dataset:
    """An endless, deterministic dataset of batches, starting at clip `start_index`.

    Synthetic clip i is a pure function of (config.seed, i); real videos are visited in
    a per-epoch permutation seeded by config.seed (see vidgan.data.pipeline), so resuming
    at `start_index = clips already consumed` continues the same stream.
    Raises DataError (one line) when a real-video source has nothing usable.
    """
    ds = registry.implementation(config.source).make_dataset(config, batch_size, start_index)
    k = config.context_frames
    if k:  # what a context generator is given: the first k frames of the real clip
        ds = ds.map(lambda batch: {**batch, "context": batch["video"][:, :k]})
    return ds


def class_names(config: DataConfig) -> tuple[str, ...]:
    """The classes of the data, in label order: the sorted names of the videos' parent
    folders (video_files, frame_folders), the shards' recorded names (tfrecord), or the
    built-in source's classes. Raises DataError when the data cannot be listed."""
    return tuple(registry.implementation(config.source).class_names(config))


def with_class_names(config: Config) -> Config:
    """`config` with data.class_names filled from the data when data.labels is set (as is
    otherwise). ConfigError when set names differ from the data's, or the data has fewer
    than 2 classes (nothing to condition on)."""
    d = config.data
    if not d.labels:
        return config
    found = class_names(d)
    if d.class_names and d.class_names != found:
        raise ConfigError(f"data.class_names={list(d.class_names)} but the data at "
                          f"{d.path or d.source} has classes {list(found)}")
    if len(found) < 2:
        raise ConfigError(f"data.labels=true needs at least 2 classes; {d.path or d.source} "
                          f"has {len(found)} ({', '.join(found) or 'none'}): put each class's "
                          "videos in a folder of its own")
    return dataclasses.replace(config, data=dataclasses.replace(d, class_names=found))


def health(config: DataConfig) -> dict[str, int]:
    """Counts of usable and skipped videos (by reason) for real-video sources; {} else."""
    return registry.implementation(config.source).health(config)


def fingerprint(config: DataConfig) -> list:
    """What the clips of `config` are made from, for cache keys: the files of a real-video
    source with their sizes and modification times ([] for built-in sources)."""
    return registry.implementation(config.source).fingerprint(config)


__all__ = ["DataError", "SOURCES", "class_names", "fingerprint", "health", "make_dataset",
           "with_class_names"]
