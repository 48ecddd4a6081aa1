"""Writing files so that readers never see half of one: write a temporary file beside the
target, then rename it over the target (atomic on POSIX within one file system). A crash
or an error leaves the previous file, or none, and no temporary behind."""

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


def write_bytes(path: str, data: bytes) -> None:
    """`data` at `path`, atomically."""
    with staged(path) as temp, open(temp, "wb") as f:
        f.write(data)
