"""Adversarial training: a tf.function step under a tf.distribute strategy, and the loop.

One step = `n_critic` discriminator updates (each on a fresh real batch) then one
generator update, then an EMA update of the generator. Per-example losses are
averaged over the GLOBAL batch, as Keras optimizers sum gradients across replicas.
Latents and penalty noise are a pure function of (train.seed, step), and clip i of
the data is a pure function of (data.seed, i), so a resumed run continues exactly.
"""

from __future__ import annotations

import contextlib
import os
import time

from absl import logging
import keras
import numpy as np
import tensorflow as tf

from vidgan import data as data_lib
from vidgan import losses as losses_lib
from vidgan import metrics
from vidgan import models
from vidgan.config import Config, ConfigError
from vidgan.training import summaries
from vidgan.training import workdir as workdir_lib
from vidgan.training.strategy import make_strategy

# Streams of the stateless RNG, folded into (train.seed, step).
_LATENTS_D, _LATENTS_G, _PENALTY, _FIXED = 0, 1, 2, 3


class NonFiniteLossError(RuntimeError):
    """Training produced NaN or Inf; the message names the losses and the last checkpoint."""


@contextlib.contextmanager
def _dtype_policy(precision: str):
    """Layers created inside compute in `precision` ("mixed_*": 16-bit compute, float32
    variables); the global policy is restored afterwards."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


class Trainer:
    """Owns the models, optimizers, EMA generator, checkpoint and the compiled step.

    Usable from a notebook:
        trainer = Trainer(config, "runs/x"); trainer.train()
    """

    def __init__(self, config: Config, workdir: str,
                 strategy: tf.distribute.Strategy | None = None):
        self.config = config
        self.workdir = workdir
        self.strategy = strategy or make_strategy(config.train)
        self.global_batch = config.train.batch_size
        self.replicas = self.strategy.num_replicas_in_sync
        if self.global_batch % self.replicas:
            raise ConfigError(f"train.batch_size={self.global_batch} must be a multiple of "
                              f"the {self.replicas} replicas")
        self.loss = losses_lib.LOSSES[config.loss.name]
        t, d = config.train, config.data
        # Seeds Python, NumPy and TF (hence Keras initializers): the same config gives
        # the same initial weights.
        keras.utils.set_random_seed(t.seed)
        with self.strategy.scope(), _dtype_policy(t.precision):
            self.generator = models.build_generator(config)
            self.ema_generator = models.build_generator(config, name="ema_generator")
            self.discriminator = models.build_discriminator(config)
            z = tf.zeros([1, config.model.generator.z_dim])
            self.generator(z)
            self.ema_generator(z)
            self.discriminator(tf.zeros([1, d.num_frames, d.height, d.width, 3]))
            self.ema_generator.set_weights(self.generator.get_weights())
            self.g_optimizer = keras.optimizers.Adam(t.g_lr, beta_1=t.beta1, beta_2=t.beta2)
            self.d_optimizer = keras.optimizers.Adam(t.d_lr, beta_1=t.beta1, beta_2=t.beta2)
            if t.precision == "mixed_float16":  # float16 gradients underflow without it
                self.g_optimizer = keras.optimizers.LossScaleOptimizer(self.g_optimizer)
                self.d_optimizer = keras.optimizers.LossScaleOptimizer(self.d_optimizer)
            # Built in scope before the first step, or the first distributed step fails.
            self.g_optimizer.build(self.generator.trainable_variables)
            self.d_optimizer.build(self.discriminator.trainable_variables)
            self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step",
                                    aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
        self.checkpoint = tf.train.Checkpoint(
            step=self.step, generator=self.generator, ema_generator=self.ema_generator,
            discriminator=self.discriminator, g_optimizer=self.g_optimizer,
            d_optimizer=self.d_optimizer)
        self.manager = tf.train.CheckpointManager(
            self.checkpoint, os.path.join(workdir, "checkpoints"),
            max_to_keep=t.keep_checkpoints)
        self._train_step = tf.function(self._step_fn)
        self._sample = tf.function(lambda z: self.ema_generator(z, training=False))

    # --- randomness ---------------------------------------------------------
    def _seed(self, step: tf.Tensor, stream: int, index: int = 0) -> tf.Tensor:
        base = tf.stack([tf.constant(self.config.train.seed, tf.int64), tf.cast(step, tf.int64)])
        fold_in = tf.random.experimental.stateless_fold_in
        return fold_in(fold_in(base, stream), index)

    def _replica_slice(self, x: tf.Tensor) -> tf.Tensor:
        """This replica's rows of a global-batch tensor [GB, ...] -> [GB / replicas, ...].

        The distributed dataset gives replica r rows [r*b, (r+1)*b) of each batch;
        latents are drawn for the global batch and sliced the same way, so N replicas
        see exactly what one device would.
        """
        ctx = tf.distribute.get_replica_context()
        local = self.global_batch // ctx.num_replicas_in_sync
        start = ctx.replica_id_in_sync_group * local
        return x[start:start + local]

    def _latents(self, step: tf.Tensor, stream: int, index: int = 0) -> tf.Tensor:
        z = tf.random.stateless_normal(
            [self.global_batch, self.config.model.generator.z_dim], self._seed(step, stream, index))
        return self._replica_slice(z)  # [B_local, z_dim]

    def fixed_latents(self) -> tf.Tensor:
        """The latents sampled every `sample_every` steps: [num_samples, z_dim]."""
        seed = self._seed(tf.constant(-1, tf.int64), _FIXED)
        return tf.random.stateless_normal(
            [self.config.train.num_samples, self.config.model.generator.z_dim], seed)

    # --- one replica's updates ------------------------------------------------
    def _apply(self, optimizer, tape, loss, variables) -> tf.Tensor:
        """Applies the all-reduced gradient; returns its global norm."""
        scaled = isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
        if scaled:  # d(scale * loss) = scale * d(loss); the optimizer unscales (and skips inf)
            scale = tf.cast(optimizer.dynamic_scale, loss.dtype)
            grads = tape.gradient(loss, variables, output_gradients=scale)
        else:
            grads = tape.gradient(loss, variables)
        ctx = tf.distribute.get_replica_context()
        # Reduce here to measure the true global norm; the optimizer sums across
        # replicas again, so hand it 1/N of the (identical) reduced gradient.
        grads = ctx.all_reduce(tf.distribute.ReduceOp.SUM, grads)
        norm = tf.linalg.global_norm(grads)
        if scaled:
            norm /= tf.cast(optimizer.dynamic_scale, norm.dtype)
        scale = 1.0 / ctx.num_replicas_in_sync
        optimizer.apply_gradients([(g * scale, v) for g, v in zip(grads, variables)])
        return norm

    def _average(self, per_example: tf.Tensor) -> tf.Tensor:
        return tf.nn.compute_average_loss(per_example, global_batch_size=self.global_batch)

    def _d_update(self, real: tf.Tensor, step: tf.Tensor,
                  index: int) -> tuple[dict[str, tf.Tensor], tf.Tensor]:
        """real: [B_local, T, H, W, 3]. Returns (this replica's share of each metric's
        global mean, the global gradient norm)."""
        cfg = self.config.loss
        fake = self.generator(self._latents(step, _LATENTS_D, index), training=True)
        D = self.discriminator  # noqa: N806
        with tf.GradientTape() as tape:
            real_logits = D(real, training=True)  # [B_local]
            fake_logits = D(fake, training=True)
            parts = self.loss.discriminator(real_logits, fake_logits)
            if cfg.penalty == "wgan_gp":
                eps = tf.random.stateless_uniform(
                    [self.global_batch], self._seed(step, _PENALTY, index))
                penalty = losses_lib.wgan_gp_penalty(
                    lambda x: D(x, training=True), real, fake, self._replica_slice(eps))
            elif cfg.penalty == "r1":
                penalty = losses_lib.r1_penalty(lambda x: D(x, training=True), real)
            else:
                penalty = tf.zeros_like(parts.total)
            loss = self._average(parts.total + cfg.penalty_weight * penalty)
        grad_norm = self._apply(self.d_optimizer, tape, loss, D.trainable_variables)
        return {
            "loss/d": loss,
            "loss/d_real": self._average(parts.real),
            "loss/d_fake": self._average(parts.fake),
            "loss/penalty": self._average(penalty),
            "d_logits/real": self._average(real_logits),
            "d_logits/fake": self._average(fake_logits),
        }, grad_norm

    def _g_update(self, step: tf.Tensor) -> tuple[dict[str, tf.Tensor], tf.Tensor]:
        z = self._latents(step, _LATENTS_G)
        with tf.GradientTape() as tape:
            fake = self.generator(z, training=True)  # [B_local, T, H, W, 3]
            loss = self._average(self.loss.generator(self.discriminator(fake, training=True)))
        grad_norm = self._apply(self.g_optimizer, tape, loss, self.generator.trainable_variables)
        return {"loss/g": loss}, grad_norm

    def _replica_step(self, reals: tuple[tf.Tensor, ...], step: tf.Tensor):
        """D metrics are averaged over the n_critic updates of the step."""
        d_updates = [self._d_update(real, step, index) for index, real in enumerate(reals)]
        d_metrics = {key: tf.add_n([m[key] for m, _ in d_updates]) / len(d_updates)
                     for key in d_updates[0][0]}
        d_norm = tf.add_n([norm for _, norm in d_updates]) / len(d_updates)
        g_metrics, g_norm = self._g_update(step)
        ctx = tf.distribute.get_replica_context()
        summed = ctx.all_reduce(tf.distribute.ReduceOp.SUM, {**d_metrics, **g_metrics})
        return {**summed, "grad_norm/d": d_norm, "grad_norm/g": g_norm}

    # --- the compiled step (cross-replica) ------------------------------------
    def _step_fn(self, iterator) -> dict[str, tf.Tensor]:
        reals = tuple(next(iterator)["video"] for _ in range(self.config.train.n_critic))
        per_replica = self.strategy.run(self._replica_step, args=(reals, self.step))
        # Every value is already identical on all replicas: take the first.
        results = {k: self.strategy.experimental_local_results(v)[0]
                   for k, v in per_replica.items()}
        self._update_ema()
        self.step.assign_add(1)
        return results

    def _update_ema(self) -> None:
        """EMA of trainable weights (decay warmed up: min(decay, (1+s)/(10+s)));
        non-trainable state (batch-norm statistics) is copied."""
        s = tf.cast(self.step, tf.float32)
        decay = tf.minimum(self.config.train.ema_decay, (1.0 + s) / (10.0 + s))
        for ema, var in zip(self.ema_generator.trainable_variables,
                            self.generator.trainable_variables):
            ema.assign(decay * ema + (1.0 - decay) * var)
        for ema, var in zip(self.ema_generator.non_trainable_variables,
                            self.generator.non_trainable_variables):
            ema.assign(var)

    # --- public API ------------------------------------------------------------
    def restore(self) -> int:
        """Restores the latest checkpoint in the workdir, if any; returns the step."""
        latest = self.manager.latest_checkpoint
        if latest:
            try:
                self.checkpoint.restore(latest).assert_existing_objects_matched()
            except (AssertionError, ValueError, tf.errors.OpError) as e:
                raise ConfigError(
                    f"checkpoint {latest} does not match this config (use a new --workdir): "
                    f"{str(e).splitlines()[0][:300]}") from None
            logging.info("Resumed from %s at step %d.", latest, int(self.step.numpy()))
        return int(self.step.numpy())

    def dataset(self, start_step: int) -> tf.data.Dataset:
        """The real-data stream positioned after `start_step` steps."""
        per_step = self.config.train.n_critic * self.global_batch
        return data_lib.make_dataset(self.config.data, self.global_batch,
                                     start_index=start_step * per_step)

    def iterator(self, start_step: int):
        return iter(self.strategy.experimental_distribute_dataset(self.dataset(start_step)))

    def train_step(self, iterator) -> dict[str, float]:
        """Runs one step; returns its metrics as Python floats."""
        return {k: float(v) for k, v in self._train_step(iterator).items()}

    def sample(self, z: tf.Tensor | None = None) -> np.ndarray:
        """EMA-generator videos for `z` (default: the fixed latents): [N, T, H, W, 3]."""
        return self._sample(self.fixed_latents() if z is None else z).numpy()

    def train(self) -> int:
        """Trains to `train.steps`, resuming from the workdir; returns the final step."""
        return TrainingLoop(self).run()


class TrainingLoop:
    """The host side: data, logging, samples, checkpoints, progress, failure handling."""

    def __init__(self, trainer: Trainer):
        self.trainer = trainer
        self.config = trainer.config
        self.writer: tf.summary.SummaryWriter | None = None  # opened once there is work
        self.samples_dir = os.path.join(trainer.workdir, "samples")
        self._reference: np.ndarray | None = None  # real clips for the statistics distance
        self._fvd = None  # evaluation.TrainingMonitor when train.fvd_every > 0

    def run(self) -> int:
        t, tr = self.config.train, self.trainer
        workdir_lib.ensure_writable(tr.workdir)
        workdir_lib.check_resumable(tr.workdir, self.config)
        start = tr.restore()
        if start >= t.steps:
            logging.info("Training already finished: step %d of %d in %s.", start, t.steps,
                         tr.workdir)
            return start
        self.writer = tf.summary.create_file_writer(tr.workdir)
        workdir_lib.write_config(tr.workdir, self.config, type(tr.strategy).__name__,
                                 tr.replicas)
        step = start
        try:
            if t.fvd_every:
                self._start_fvd()
            if start == 0:
                self._write_baselines()
            iterator = tr.iterator(start)
            logging.info("Training steps %d..%d, global batch %d on %d replica(s), workdir %s",
                         start + 1, t.steps, tr.global_batch, tr.replicas, tr.workdir)
            window_start, window_steps, run_start = time.perf_counter(), 0, time.perf_counter()
            while step < t.steps:
                values = tr.train_step(iterator)
                step += 1
                window_steps += 1
                self._check_finite(values, step)
                if step % t.log_every == 0 or step == t.steps:
                    now = time.perf_counter()
                    rate = window_steps / (now - window_start)
                    self._log(values, step, rate, remaining=(t.steps - step) / rate)
                    window_start, window_steps = now, 0
                if step % t.sample_every == 0 or step == t.steps:
                    self._write_samples(step)
                if t.fvd_every and (step % t.fvd_every == 0 or step == t.steps):
                    self._write_fvd(step)
                if step % t.checkpoint_every == 0 or step == t.steps:
                    tr.manager.save(checkpoint_number=step)
                if step == start + 1 and window_steps:  # keep tracing out of steps/s and ETA
                    window_start, window_steps = time.perf_counter(), 0
        except (tf.errors.OpError, StopIteration) as e:
            # A data failure raised inside tf.data (e.g. every video failed to decode).
            message = getattr(e, "message", "") or str(e)
            if "DataError" in message:
                line = next(l for l in message.splitlines() if "DataError" in l)
                raise data_lib.DataError(line.split("DataError:")[-1].strip()) from None
            raise
        except KeyboardInterrupt:
            step = int(tr.step.numpy())  # the step variable, in case a step had completed
            path = tr.manager.save(checkpoint_number=step)
            logging.warning("Interrupted at step %d; saved %s. Re-run to resume.", step, path)
            raise
        finally:
            self.writer.flush()
        logging.info("Done: %d steps in %.1f s; checkpoint %s", step - start,
                     time.perf_counter() - run_start, tr.manager.latest_checkpoint)
        return step

    def _check_finite(self, values: dict[str, float], step: int) -> None:
        bad = {k: v for k, v in values.items() if not np.isfinite(v)}
        if bad:
            latest = self.trainer.manager.latest_checkpoint or "none yet"
            raise NonFiniteLossError(
                f"non-finite values at step {step}: "
                + ", ".join(f"{k}={v}" for k, v in sorted(bad.items()))
                + f"; the last good checkpoint is kept: {latest}")

    def _log(self, values: dict[str, float], step: int, steps_per_sec: float,
             remaining: float) -> None:
        t = self.config.train
        clips_per_sec = steps_per_sec * t.batch_size * t.n_critic  # real clips through D
        scalars = {**values, "lr/g": t.g_lr, "lr/d": t.d_lr,
                   "perf/steps_per_sec": steps_per_sec, "perf/clips_per_sec": clips_per_sec}
        # Real-video sources: usable and skipped videos (by reason), growing as decoding
        # finds broken files.
        scalars.update({f"data/{k}": v for k, v in data_lib.health(self.config.data).items()})
        with self.writer.as_default(step=step):
            for name, value in scalars.items():
                tf.summary.scalar(name, value)
        logging.info(
            "step %d/%d | d %.3f (real %.3f fake %.3f) g %.3f | D(x) %.2f D(G(z)) %.2f | "
            "%.2f steps/s %.1f clips/s | ETA %s",
            step, t.steps, values["loss/d"], values["loss/d_real"], values["loss/d_fake"],
            values["loss/g"], values["d_logits/real"], values["d_logits/fake"],
            steps_per_sec, clips_per_sec, _duration(remaining))

    def _write_baselines(self) -> None:
        """Reals and the initial samples, so progress has a reference (step 0)."""
        d = self.config.data
        reals = next(iter(self.trainer.dataset(0)))["video"].numpy()
        self._reference = reals
        with self.writer.as_default(step=0):
            summaries.write_video_grid("data/real", reals[: self.config.train.num_samples], 0,
                                       d.fps, os.path.join(self.samples_dir, "reals.gif"),
                                       "Real training clips.")
        self._write_samples(0)

    def _start_fvd(self) -> None:
        """Loads I3D and the real features (cached) before the first step, so a missing
        weights file fails the run at once rather than after fvd_every steps."""
        from vidgan import evaluation  # noqa: PLC0415  (I3D only when asked for)
        from vidgan.models.i3d import WeightsError  # noqa: PLC0415

        start = time.perf_counter()
        try:
            self._fvd = evaluation.TrainingMonitor(self.config, self.trainer.ema_generator)
        except (WeightsError, evaluation.EvaluationError) as e:
            raise ConfigError(f"train.fvd_every: {e}") from None
        logging.info("FVD every %d steps on %d clips (%s); real features in %.1f s, cached "
                     "in %s", self.config.train.fvd_every, self.config.train.fvd_clips,
                     self._fvd.tags[0], time.perf_counter() - start, self._fvd.cache_path)

    def _write_fvd(self, step: int) -> None:
        start = time.perf_counter()
        values = self._fvd()
        with self.writer.as_default(step=step):
            for tag, value in values.items():
                tf.summary.scalar(tag, value)
        logging.info("step %d | %s | %.1f s", step,
                     "  ".join(f"{tag.split('/')[-1]} {v:.3f}" for tag, v in values.items()),
                     time.perf_counter() - start)

    def _write_samples(self, step: int) -> None:
        videos = self.trainer.sample()
        if self._reference is None:
            self._reference = next(iter(self.trainer.dataset(0)))["video"].numpy()
        with self.writer.as_default(step=step):
            summaries.write_video_grid(
                "samples/ema", videos, step, self.config.data.fps,
                os.path.join(self.samples_dir, f"step_{step:07d}.gif"),
                "EMA generator on a fixed set of latents.")
            tf.summary.scalar("metrics/stats_distance",
                              metrics.statistics_distance(videos, self._reference))


def _duration(seconds: float) -> str:
    seconds = int(max(0, seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"


def train(config: Config, workdir: str, strategy: tf.distribute.Strategy | None = None) -> int:
    """Trains `config` in `workdir`, resuming from its latest checkpoint; returns the step.

    Refuses a workdir whose stored config differs in a field that matters.
    """
    return Trainer(config, workdir, strategy).train()
