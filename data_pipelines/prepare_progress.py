"""What a stopped `vidgan prepare` keeps, so that running it again finishes the dataset.

`prepare` writes its shards as `.tmp-videos-*` files and renames them when every video is
handled. Stopped (SIGTERM / SIGINT) or interrupted, it keeps them and saves FILE: the
videos handled so far (records, skips, truncations) and the temporary shards' sizes. A
re-run with the same input and arguments (the `key`) whose temporary shards are untouched
continues after the last handled video; anything else starts over.
"""

from __future__ import annotations

import dataclasses
import json
import os

from absl import logging
import tensorflow as tf

from vidgan import files
from vidgan.data import records
from vidgan.data import sources

FILE = ".prepare-progress.json"


@dataclasses.dataclass
class Progress:
    """What prepare stored, in the usable videos' order: per video its record and shard
    name; the videos skipped when decoded; `done`: usable videos handled so far."""

    videos: list[tuple[records.VideoRecord, str]]
    skipped: list[tuple[sources.Video, str]]
    truncated: list[list]  # [path, frames decoded, frames the container claimed]
    done: int

    def mark(self) -> tuple[int, int, int, int]:
        """The lengths of a consistent state. Callers take it in one statement after each
        video, since a second signal (KeyboardInterrupt) can land between its appends."""
        return self.done, len(self.videos), len(self.skipped), len(self.truncated)


def save(output_dir: str, key: dict, state: Progress, mark: tuple,
         temps: list[str]) -> None:
    """FILE: the state up to `mark`, and the temporary shards' sizes (load checks them;
    records written after `mark` are dropped by open_writers)."""
    done, videos, skipped, truncated = mark
    files.write_json(os.path.join(output_dir, FILE), {
        "key": key, "done": done,
        "videos": [records.video_entry(r, shard) for r, shard in state.videos[:videos]],
        "skipped": [[v.relpath, reason] for v, reason in state.skipped[:skipped]],
        "truncated": state.truncated[:truncated],
        "sizes": [os.path.getsize(t) for t in temps]})
    logging.warning("Stopped after %d of %d videos; %s keeps them: run the same command "
                    "again to finish.", done, len(key["usable"]), output_dir)


def load(output_dir: str, key: dict, temps: list[str], usable: list) -> Progress:
    """The state a stopped run saved, when it had the same `key` and its temporary shards
    are as it left them; else an empty one (starting over)."""
    path = os.path.join(output_dir, FILE)
    if not os.path.exists(path):
        return Progress([], [], [], 0)
    with open(path) as f:
        saved = json.load(f)
    sizes = [os.path.getsize(t) if os.path.exists(t) else -1 for t in temps]
    if saved.get("key") != key or saved.get("sizes") != sizes:
        logging.warning("%s holds a stopped run of other videos or arguments; starting over",
                        output_dir)
        return Progress([], [], [], 0)
    logging.info("Continuing the stopped run in %s: %d of %d videos done", output_dir,
                 saved["done"], len(usable))
    by_source = {v.relpath: v for v in usable}
    return Progress(
        [(records.VideoRecord(**{k: v for k, v in e.items() if k != "shard"}), e["shard"])
         for e in saved["videos"]],
        [(by_source[source], reason) for source, reason in saved["skipped"]],
        saved["truncated"], saved["done"])


def open_writers(temps: list[str], counts: list[int]) -> list[tf.io.TFRecordWriter]:
    """Writers of the temporary shards, each holding the first counts[i] records already
    in its file (TFRecordWriter cannot append, so a resumed shard's records are copied)."""
    writers = []
    for temp, count in zip(temps, counts):
        if count:
            os.replace(temp, temp + ".old")
        writers.append(tf.io.TFRecordWriter(temp))
        if count:
            for record in tf.data.TFRecordDataset(temp + ".old").take(count):
                writers[-1].write(record.numpy())
            os.remove(temp + ".old")
    return writers
