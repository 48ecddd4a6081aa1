"""Data sources by name: the values `data.source` may take and the module behind each.

A source module provides, for a DataConfig whose `source` it serves:
    make_dataset(config, batch_size, start_index) -> tf.data.Dataset of batches
        {"video": float32 [B, T, H, W, 3] in [-1, 1]} (+ "label": int32 [B] with data.labels)
    class_names(config) -> tuple of the classes' names, in label order
    health(config) -> {name: count} of usable and skipped videos ({} for built-in data)
    fingerprint(config) -> a JSON-able list of what the clips are made from (cache keys)
Modules are imported on first use, so the names are known (config validates against them)
without importing TensorFlow or OpenCV, and this module imports nothing of vidgan.
"""

from __future__ import annotations

import dataclasses
import importlib
from types import ModuleType


@dataclasses.dataclass(frozen=True)
class Source:
    """module: the implementing module; reads_files: needs data.path (a user's data)."""

    module: str
    reads_files: bool


SOURCES: dict[str, Source] = {
    "bouncing_shapes": Source("vidgan.data.synthetic", reads_files=False),
    "moving_digits": Source("vidgan.data.synthetic", reads_files=False),
    "video_files": Source("vidgan.data.pipeline", reads_files=True),
    "frame_folders": Source("vidgan.data.pipeline", reads_files=True),
    "tfrecord": Source("vidgan.data.tfrecord", reads_files=True),
}


def implementation(name: str) -> ModuleType:
    """The module that serves data.source=`name` (KeyError for an unregistered name;
    config validation reports that in one line before anything gets here)."""
    return importlib.import_module(SOURCES[name].module)
