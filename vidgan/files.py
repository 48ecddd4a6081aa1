"""Writing files so that readers never see half of one: write a temporary file beside the
target, then rename it over the target (atomic on POSIX within one file system). A crash
or an error leaves the previous file, or none, and no temporary behind. And the one check
that a folder (local or a TensorFlow file system's, e.g. gs://) can be written."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from typing import Iterator


@contextlib.contextmanager
def staged(path: str, suffix: str = "") -> Iterator[str]:
    """Yields a temporary path beside `path` (ending in `suffix`, for writers that choose
    a format by extension); renames it to `path` when the block succeeds, removes it when
    the block raises."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, temp = tempfile.mkstemp(prefix=".tmp-", suffix=suffix, dir=folder)
    os.close(fd)
    try:
        yield temp
        os.replace(temp, path)
    finally:
        if os.path.exists(temp):
            os.remove(temp)


def write_json(path: str, value, indent: int = 2) -> None:
    """`value` as JSON at `path`, atomically."""
    with staged(path, ".json") as temp, open(temp, "w") as f:
        json.dump(value, f, indent=indent)


def ensure_writable(folder: str, what: str) -> None:
    """Creates `folder` if needed and writes and removes a probe file in it; raises OSError
    "cannot write to <what> <folder>: <reason>" (one line) if that fails. Through
    tf.io.gfile, so remote folders are checked the same way."""
    import tensorflow as tf  # noqa: PLC0415  (the JSON writers above need no TensorFlow)

    probe = os.path.join(folder, ".vidgan_write_test")
    try:
        tf.io.gfile.makedirs(folder)
        with tf.io.gfile.GFile(probe, "w") as f:
            f.write("ok")
        tf.io.gfile.remove(probe)
    except (OSError, tf.errors.OpError) as e:
        message = getattr(e, "message", None) or str(e)
        raise OSError(f"cannot write to {what} {folder}: {message.splitlines()[0]}") from None
