"""Native decoders in worker processes: a crash or a hang costs one file, not the run.

OpenCV's FFmpeg code can corrupt the heap or spin on a malformed file. Probing and decoding
user files (`vidgan prepare`, `prepare --stats`, the scan before training on video files)
run through `isolated_map`: each call runs in a pebble process pool; a worker that dies
(segfault, abort) or passes its timeout is replaced, and that item's result is
`Failed("decoder crashed")` / `Failed("decoder timed out")`.

Test hook: VIDGAN_FAULT="abort:<file name>" or "hang:<file name>" makes a worker abort or
hang on that file (`inject_fault`, called by the isolated functions), so the tests exercise
real crashes without a crashing file; "abort@decode:<file name>" only when decoding it
(after its probe passed; the stages are "probe" and "decode").
"""

from __future__ import annotations

import collections
import concurrent.futures
from concurrent.futures.process import BrokenProcessPool
import dataclasses
import multiprocessing
import os
import time
from typing import Any, Callable, Iterable, Iterator, Protocol

import pebble

CRASHED = "decoder crashed"
TIMED_OUT = "decoder timed out"
FAULT_ENV = "VIDGAN_FAULT"
PROBE_TIMEOUT = 30.0  # seconds: a probe reads the container's header only


@dataclasses.dataclass(frozen=True)
class Failed:
    """The result of an item whose worker crashed or timed out."""

    reason: str


class Stop(Protocol):
    """What isolated_map polls (vidgan.stopping.StopSignals is one)."""

    requested: str | None


def inject_fault(path: str, stage: str) -> None:
    """The test hook: abort or hang when VIDGAN_FAULT names this file (and this stage)."""
    kind, _, name = os.environ.get(FAULT_ENV, "").partition(":")
    kind, _, only = kind.partition("@")
    if not name or os.path.basename(path) != name or only not in ("", stage):
        return
    if kind == "abort":
        os.abort()
    if kind == "hang":
        while True:
            time.sleep(1.0)


def _call(fn: Callable, item: Any, fault: str) -> Any:
    """fn(item) in a worker. Workers fork from the forkserver, whose environment is the one
    it started with: the caller's VIDGAN_FAULT comes with each task instead."""
    os.environ[FAULT_ENV] = fault
    return fn(item)


def isolated_map(fn: Callable, items: Iterable, workers: int,
                 timeout: float | Callable[[Any], float],
                 stop: Stop | None = None) -> Iterator[Any]:
    """fn(item) for each item, in order, each in a worker process: the result, or
    Failed(CRASHED / TIMED_OUT) after `timeout` seconds (a number, or a function of the
    item). At most 2 * workers items are in flight, so results are consumed as they come.
    `fn`, the items and the results must pickle; fn's own exceptions are raised here.

    With `stop`: once `stop.requested` is set, the map yields the results already
    finished, in order, and ends at the first item still running (its worker is stopped:
    a hung or long decode does not hold up the stop). A failure seen after the stop also
    ends it, without a result: a signal sent to the whole process group (Slurm's scancel)
    kills the workers too. The caller counts the results to know where to resume.
    """
    # forkserver: workers fork from a clean server, not from a process running TF threads;
    # it imports vidgan.data (TensorFlow) once, so a new worker starts in milliseconds.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["vidgan.data"])
    fault = os.environ.get(FAULT_ENV, "")
    pool = pebble.ProcessPool(max_workers=workers, context=context)
    finished = False  # every item done: the idle workers may exit on their own
    try:
        todo = iter(items)
        pending: collections.deque = collections.deque()
        while True:
            while len(pending) < 2 * workers and not (stop and stop.requested):
                item = next(todo, _END)
                if item is _END:
                    break
                limit = timeout(item) if callable(timeout) else timeout
                pending.append(pool.schedule(_call, args=(fn, item, fault), timeout=limit))
            while stop and pending and not (stop.requested or pending[0].done()):
                concurrent.futures.wait([pending[0]], timeout=0.5)  # a stop need not wait
            if not pending or (stop and stop.requested and not pending[0].done()):
                finished = not pending
                return
            try:
                result = pending.popleft().result()
            except concurrent.futures.TimeoutError:
                result = Failed(TIMED_OUT)
            except pebble.ProcessExpired:
                result = Failed(CRASHED)
            except BrokenProcessPool:  # no worker can start: not one file's fault
                if stop and stop.requested:
                    return
                raise
            if isinstance(result, Failed) and stop and stop.requested:
                return
            yield result
    finally:
        # close: no new worker starts (stopping the pool while it forks a replacement
        # worker left that child a lock already gone, and it printed a traceback); stop:
        # ends the workers, and any item still running (a stop, an error).
        if finished:
            pool.close()
        else:
            pool.stop()
        pool.join()


_END = object()
