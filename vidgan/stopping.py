"""Stopping cleanly on SIGTERM and SIGINT (preemption, `kill`, Ctrl-C).

Kubernetes, Slurm and spot instances stop a job with SIGTERM and kill it a grace period
later (Kubernetes: 30 s by default). Long commands (train, synthesize, prepare) run their
work inside `StopSignals()` and poll `stop.requested` between units of work (a training
step, a video, a shard): on the first signal they finish the unit in flight, save what
they have, say where, and exit 0, so that re-running the same command resumes. A second
signal raises KeyboardInterrupt at once, for a user who does not want to wait.
"""

from __future__ import annotations

import signal
import threading

from absl import logging

SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StopSignals:
    """Context manager: while inside, SIGTERM / SIGINT set `requested` (the signal's name)
    instead of ending the process. Outside the main thread (where Python cannot take
    signals) it does nothing and `requested` stays None."""

    def __init__(self, what: str = "the current step"):
        self.what = what
        self.requested: str | None = None
        self._previous: dict[int, object] = {}

    def _handle(self, signum, frame) -> None:
        if self.requested:  # the second signal: stop now
            raise KeyboardInterrupt
        self.requested = signal.Signals(signum).name
        logging.warning("%s: finishing %s, then saving and stopping (send it again to stop "
                        "at once).", self.requested, self.what)

    def __enter__(self) -> "StopSignals":
        if threading.current_thread() is threading.main_thread():
            for sig in SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()
