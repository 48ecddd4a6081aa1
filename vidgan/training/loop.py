"""The host side of training: resume, the periodic actions (log, samples, FVD, checkpoint),
progress and ETA, the wall-time budget, and what happens on NaN, data failures and stop
signals (SIGTERM / SIGINT: checkpoint the step reached and return; vidgan.stopping).

An action is due every `every` steps and at the final step; a new metric or export plugs
in as one more Action (TrainingLoop(trainer, extra_actions=...)), not as a loop edit.
The GAN trainer and the super-resolution trainer (vidgan.enhance.sr) share this loop;
a `Report` says what differs: the progress line, the learning rates, the clips a step
reads and the actions beside logging and checkpoints.
"""

from __future__ import annotations

import dataclasses
import os
import time
from typing import TYPE_CHECKING, Any, Callable

from absl import logging
import numpy as np
import tensorflow as tf

from vidgan import data as data_lib
from vidgan import metrics
from vidgan import stopping
from vidgan.config import ConfigError
from vidgan.training import strategy as strategy_lib
from vidgan.training import summaries
from vidgan.training import workdir as workdir_lib

if TYPE_CHECKING:
    from vidgan.training.trainer import Trainer


class NonFiniteLossError(RuntimeError):
    """Training produced NaN or Inf; the message names the losses and the last checkpoint."""


class Action:
    """Periodic host-side work of the loop: runs after step s when `due(s, final)`.

    Subclasses set `every` and implement `__call__(step, values)`; `start(first_step)`
    runs before the first step (baselines, loading a metric's network). New metrics plug
    in as actions (`TrainingLoop(trainer, extra_actions=[...])`), not loop edits.
    """

    every: int = 1

    def due(self, step: int, final: int) -> bool:
        return step % self.every == 0 or step == final

    def start(self, first_step: int) -> None:
        pass

    def __call__(self, step: int, values: dict[str, float]) -> None:
        raise NotImplementedError


@dataclasses.dataclass(frozen=True)
class Report:
    """What one kind of training logs and runs beside its steps.

    line: a step's values -> the progress line's middle ("d 0.123 ... g 0.456 ...").
    learning_rates: trainer -> {scalar tag: its next update's learning rate}.
    clips_per_step: config -> the real clips one step reads (for clips/s).
    actions: loop -> the periodic actions between logging and checkpointing.
    """

    line: Callable[[dict[str, float]], str]
    learning_rates: Callable[[Any], dict[str, float]]
    clips_per_step: Callable[[Any], int]
    actions: Callable[["TrainingLoop"], list[Action]]


class LogAction(Action):
    """Scalars to TensorBoard and a progress line; steps/s over the steps since the last
    log (the first, traced step excluded)."""

    def __init__(self, loop: "TrainingLoop"):
        self.loop, self.every = loop, loop.config.train.log_every
        self.window_start, self.window_steps = time.perf_counter(), 0

    def start(self, first_step: int) -> None:
        self.first_step = first_step
        self.window_start, self.window_steps = time.perf_counter(), 0

    def tick(self, step: int) -> None:
        """Called after every step: counts it into the rate window."""
        self.window_steps += 1
        if step == self.first_step + 1:  # keep tracing out of steps/s and ETA
            self.window_start, self.window_steps = time.perf_counter(), 0

    def __call__(self, step: int, values: dict[str, float]) -> None:
        if not self.window_steps:
            return
        now = time.perf_counter()
        rate = self.window_steps / (now - self.window_start)
        remaining = (self.loop.final - step) / rate
        if self.loop.deadline is not None:
            remaining = min(remaining, self.loop.deadline - now)
        report = self.loop.report
        clips_per_sec = rate * report.clips_per_step(self.loop.config)
        scalars = {**values, **report.learning_rates(self.loop.trainer),
                   "perf/steps_per_sec": rate, "perf/clips_per_sec": clips_per_sec}
        # Real-video sources: usable and skipped videos (by reason), growing as decoding
        # finds broken files.
        scalars.update({f"data/{k}": v
                        for k, v in data_lib.health(self.loop.config.data).items()})
        with self.loop.writer.as_default(step=step):
            for name, value in scalars.items():
                tf.summary.scalar(name, value)
        logging.info("step %d/%d | %s | %.2f steps/s %.1f clips/s | ETA %s", step,
                     self.loop.final, report.line(values), rate, clips_per_sec,
                     _duration(remaining))
        self.window_start, self.window_steps = now, 0


class SampleAction(Action):
    """EMA-generator samples on the fixed inputs (seeds 0..num_samples-1) as a GIF grid,
    and the statistics distance to real clips; at the first start, the real clips and the
    initial samples (the visual baselines)."""

    def __init__(self, loop: "TrainingLoop"):
        self.loop, self.every = loop, loop.config.train.sample_every
        self.samples_dir = os.path.join(loop.trainer.workdir, "samples")
        self.reference: np.ndarray | None = None
        names, columns = loop.config.data.class_names, loop.trainer.sample_columns
        self.columns = columns if names else None  # None: as square as possible
        self.description = (
            f"EMA generator on the fixed inputs (export seeds 0..{columns - 1}"
            + (f"; one row per class: {', '.join(names)}" if names else "") + ").")

    def start(self, first_step: int) -> None:
        self.reference = next(iter(self.loop.trainer.dataset(0)))["video"].numpy()
        if first_step == 0:
            d = self.loop.config.data
            with self.loop.writer.as_default(step=0):
                summaries.write_video_grid(
                    "data/real", self.reference[: self.loop.config.train.num_samples], 0,
                    d.fps, os.path.join(self.samples_dir, "reals.gif"), "Real training clips.")
            self(0, {})

    def __call__(self, step: int, values: dict[str, float]) -> None:
        videos = self.loop.trainer.sample()
        with self.loop.writer.as_default(step=step):
            summaries.write_video_grid(
                "samples/ema", videos, step, self.loop.config.data.fps,
                os.path.join(self.samples_dir, f"step_{step:07d}.gif"),
                self.description, columns=self.columns)
            tf.summary.scalar("metrics/stats_distance",
                              metrics.statistics_distance(videos, self.reference))


class FVDAction(Action):
    """FVD/KVD of the EMA generator every `train.fvd_every` steps (I3D and the real
    features load before the first step, so missing weights fail the run at once)."""

    def __init__(self, loop: "TrainingLoop"):
        self.loop, self.every = loop, loop.config.train.fvd_every
        self.monitor = None

    def start(self, first_step: int) -> None:
        from vidgan import evaluation  # noqa: PLC0415  (I3D only when asked for)
        from vidgan.models.i3d import WeightsError  # noqa: PLC0415

        start = time.perf_counter()
        config = self.loop.config
        try:
            self.monitor = evaluation.TrainingMonitor(config, self.loop.trainer.ema_generator)
        except (WeightsError, evaluation.EvaluationError) as e:
            raise ConfigError(f"train.fvd_every: {e}") from None
        logging.info("FVD every %d steps on %d clips (%s); real features in %.1f s, cached "
                     "in %s", config.train.fvd_every, config.train.fvd_clips,
                     self.monitor.tags[0], time.perf_counter() - start,
                     self.monitor.cache_path)

    def __call__(self, step: int, values: dict[str, float]) -> None:
        start = time.perf_counter()
        results = self.monitor()
        with self.loop.writer.as_default(step=step):
            for tag, value in results.items():
                tf.summary.scalar(tag, value)
        logging.info("step %d | %s | %.1f s", step,
                     "  ".join(f"{tag.split('/')[-1]} {v:.3f}" for tag, v in results.items()),
                     time.perf_counter() - start)


class CheckpointAction(Action):
    def __init__(self, loop: "TrainingLoop"):
        self.loop, self.every = loop, loop.config.train.checkpoint_every

    def __call__(self, step: int, values: dict[str, float]) -> None:
        self.loop.trainer.save(step)


def _gan_line(values: dict[str, float]) -> str:
    return ("d {loss/d:.3f} (real {loss/d_real:.3f} fake {loss/d_fake:.3f}) g {loss/g:.3f} | "
            "D(x) {d_logits/real:.2f} D(G(z)) {d_logits/fake:.2f}").format_map(values)


def _gan_actions(loop: "TrainingLoop") -> list[Action]:
    # Samples and FVD are the chief's (what other workers would write is the same).
    if not loop.trainer.workers.chief:
        return []
    return [SampleAction(loop)] + ([FVDAction(loop)] if loop.config.train.fvd_every else [])


GAN = Report(
    line=_gan_line,
    # train.lr_decay_from may decay them
    learning_rates=lambda trainer: dict(zip(("lr/g", "lr/d"), trainer.learning_rates())),
    clips_per_step=lambda config: config.train.batch_size * config.train.n_critic,  # into D
    actions=_gan_actions)


class TrainingLoop:
    """The host side: data, the periodic actions (log, the report's actions such as
    samples and FVD, any `extra_actions`, checkpoint), progress, the wall-time budget,
    failure handling. `trainer`: a Trainer, or any object with its host-side interface
    (config, workdir, strategy, workers, replicas, global_batch, step, restore, save,
    iterator, train_step)."""

    def __init__(self, trainer: Trainer, extra_actions: tuple[Action, ...] = (),
                 report: Report = GAN):
        self.trainer = trainer
        self.report = report
        self.config = trainer.config
        self.writer: tf.summary.SummaryWriter | None = None  # opened once there is work
        self.final = self.config.train.steps  # the budget may end the run earlier
        self.deadline: float | None = None  # perf_counter() time the budget ends
        self.stopped: str | None = None  # the signal's name when SIGTERM/SIGINT stopped it
        self.log = LogAction(self)
        # Checkpoint last: a checkpoint is written after the step's other work succeeded.
        self.actions: list[Action] = [self.log, *report.actions(self), *extra_actions,
                                      CheckpointAction(self)]

    def run(self) -> int:
        try:
            return self._run()
        finally:
            self.trainer.workers.close()  # a non-chief worker's scratch checkpoints

    def _run(self) -> int:
        t, tr = self.config.train, self.trainer
        run_start = time.perf_counter()
        if t.time_budget_minutes:
            self.deadline = run_start + 60.0 * t.time_budget_minutes
        if tr.workers.chief:
            workdir_lib.ensure_writable(tr.workdir)
        workdir_lib.check_resumable(tr.workdir, self.config)
        start = tr.restore()
        tr.workers.check_same_step(start)
        if start >= t.steps:
            logging.info("Training already finished: step %d of %d in %s.", start, t.steps,
                         tr.workdir)
            return start
        if tr.workers.chief:
            self.writer = tf.summary.create_file_writer(tr.workdir)
            workdir_lib.write_config(tr.workdir, self.config,
                                     strategy_lib.strategy_name(tr.strategy),
                                     tr.replicas)
        else:
            self.writer = tf.summary.create_noop_writer()
        try:
            with stopping.StopSignals("the step in flight") as stop:
                step = self._steps(start, stop)
        except (tf.errors.OpError, StopIteration) as e:
            # A data failure raised inside tf.data (e.g. every video failed to decode).
            message = getattr(e, "message", "") or str(e)
            if "DataError" in message:
                line = next(l for l in message.splitlines() if "DataError" in l)
                raise data_lib.DataError(line.split("DataError:")[-1].strip()) from None
            raise
        except KeyboardInterrupt:  # a second stop signal
            step = int(tr.step.numpy())  # the step variable, in case a step had completed
            if tr.workers.multi_worker:
                # Saving is collective and the other workers are elsewhere: no save.
                logging.warning("Interrupted at step %d; the latest checkpoint is %s. Re-run "
                                "to resume from it.", step, tr.workers.latest_checkpoint())
            else:
                path = tr.save(step)
                logging.warning("Interrupted at step %d; saved %s. Re-run to resume.", step,
                                path)
            raise
        finally:
            self.writer.flush()
        if not self.stopped:
            logging.info("Done: %d steps in %.1f s; checkpoint %s", step - start,
                         time.perf_counter() - run_start, tr.workers.latest_checkpoint())
        return step

    def _steps(self, start: int, stop: stopping.StopSignals) -> int:
        """Steps from `start` to the end (train.steps, the budget, or a stop signal)."""
        t, tr = self.config.train, self.trainer
        for action in self.actions:
            action.start(start)
        iterator = tr.iterator(start)
        logging.info("Training steps %d..%d, global batch %d on %d replica(s), workdir %s%s",
                     start + 1, t.steps, tr.global_batch, tr.replicas, tr.workdir,
                     f", for at most {t.time_budget_minutes:g} min" if self.deadline else "")
        step = start
        while step < self.final:
            values = tr.train_step(iterator)
            step += 1
            self._check_finite(values, step)
            self.log.tick(step)
            # Workers agree on both ends (one of them may be past the budget or signalled
            # first), so they leave at the same step.
            spent = self.deadline is not None and time.perf_counter() >= self.deadline
            spent, stopping_now = tr.workers.any(spent, bool(stop.requested))
            stopping_now = stopping_now and step < self.final
            if spent and step < self.final:
                self.final = step  # the budget is spent: every action runs its last time
                logging.info("train.time_budget_minutes=%g reached at step %d.",
                             t.time_budget_minutes, step)
                stopping_now = False
            for action in self.actions:
                if action.due(step, self.final):
                    action(step, values)
            if stopping_now:
                self._save_and_stop(step, stop.requested or "another worker's stop signal")
                break
        return step

    def _save_and_stop(self, step: int, signal_name: str) -> None:
        """A stop signal arrived (here or on another worker): checkpoint the step reached
        (unless that step's checkpoint was just written) and say how to resume."""
        # Whether this step's checkpoint was just written is the same on every worker
        # (saving is collective: all save, or none).
        saved = any(isinstance(a, CheckpointAction) and a.due(step, self.final)
                    for a in self.actions)
        path = self.trainer.workers.latest_checkpoint() if saved else self.trainer.save(step)
        self.stopped = signal_name
        logging.warning("Stopped by %s at step %d of %d; saved %s. Re-run the same command "
                        "to resume.", signal_name, step, self.final, path)

    def _check_finite(self, values: dict[str, float], step: int) -> None:
        bad = {k: v for k, v in values.items() if not np.isfinite(v)}
        if bad:
            latest = self.trainer.workers.latest_checkpoint() or "none yet"
            raise NonFiniteLossError(
                f"non-finite values at step {step}: "
                + ", ".join(f"{k}={v}" for k, v in sorted(bad.items()))
                + f"; the last good checkpoint is kept: {latest}")


def _duration(seconds: float) -> str:
    seconds = int(max(0, seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"


