"""Adversarial training: the models, optimizers and a tf.function step under a tf.distribute
strategy (the host loop around it is vidgan.training.loop).

One step = `n_critic` discriminator updates (each on a fresh real batch) then one
generator update (with train.reuse_fakes, on the fakes the last D update judged), then an
EMA update of the generator. Per-example losses are averaged over the GLOBAL batch, as
Keras optimizers sum gradients across replicas.
Latents and penalty noise are a pure function of (train.seed, step), and clip i of
the data is a pure function of (data.seed, i), so a resumed run continues exactly.
"""

from __future__ import annotations

import functools

from absl import logging
import keras
import numpy as np
import tensorflow as tf

from vidgan import augment as augment_lib
from vidgan import data as data_lib
from vidgan import losses as losses_lib
from vidgan import models
from vidgan import runtime
from vidgan.config import Config
from vidgan.models import sampling
from vidgan.training.ema import update_ema
from vidgan.training.loop import TrainingLoop
from vidgan.training import streams as rng_streams
from vidgan.training.schedules import learning_rate
from vidgan.training.workers import Workers
from vidgan.training.strategy import check_batch, make_strategy
from vidgan.training import workdir as workdir_lib


class Trainer:
    """Owns the models, optimizers, EMA generator, checkpoint and the compiled step.

    Usable from a notebook:
        trainer = Trainer(config, "runs/x"); trainer.train()
    """

    def __init__(self, config: Config, workdir: str,
                 strategy: tf.distribute.Strategy | None = None):
        # With data.labels, the classes come from the data (and go to config.json).
        config = data_lib.with_class_names(config)
        self.config = config
        self.workdir = workdir
        self.strategy = strategy or make_strategy(config.train)
        self.global_batch = config.train.batch_size
        self.streams = rng_streams.Streams(config.train.seed, self.global_batch)
        self.replicas = self.strategy.num_replicas_in_sync
        check_batch(self.global_batch, self.strategy)  # a strategy passed in, too
        self.loss = losses_lib.LOSSES[losses_lib.loss_name(config)]
        self.penalty = losses_lib.PENALTIES[config.loss.penalty]
        # Lazy penalties: computed every N-th step (1: every step, and always without one)
        self.penalty_every = config.loss.penalty_every if config.loss.penalty != "none" else 1
        self.augment = augment_lib.parse(config.train.augment)
        t = config.train
        # Seeds Python, NumPy and TF (Keras initializers): same config, same initial weights.
        keras.utils.set_random_seed(t.seed)
        # "auto": mixed_bfloat16 where native; config.json keeps "auto" for other hardware.
        self.precision = runtime.resolve_precision(t.precision)
        if t.precision == "auto":
            logging.info("train.precision=auto: %s", self.precision)
        with self.strategy.scope(), runtime.dtype_policy(self.precision):
            self.generator = models.build_generator(config)
            self.ema_generator = models.build_generator(config, name="ema_generator")
            self.discriminator = models.build_discriminator(config)
            models.build(self.generator, self.discriminator)
            models.build(self.ema_generator)
            self.ema_generator.set_weights(self.generator.get_weights())
            adam = functools.partial(keras.optimizers.Adam, beta_1=t.beta1, beta_2=t.beta2)
            self.g_optimizer = adam(learning_rate(t.g_lr, t.lr_decay_from, t.steps))
            self.d_optimizer = adam(learning_rate(t.d_lr, t.lr_decay_from, t.steps * t.n_critic))
            if self.precision == "mixed_float16":  # float16 gradients underflow without it
                self.g_optimizer = keras.optimizers.LossScaleOptimizer(self.g_optimizer)
                self.d_optimizer = keras.optimizers.LossScaleOptimizer(self.d_optimizer)
            # Built in scope before the first step, or the first distributed step fails.
            self.g_optimizer.build(self.generator.trainable_variables)
            self.d_optimizer.build(self.discriminator.trainable_variables)
            self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step",
                                    aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
            self._last_penalty = tf.Variable(  # lazy penalties' last value (logged, not saved)
                0.0, trainable=False, name="last_penalty",
                aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
        self.checkpoint = tf.train.Checkpoint(
            step=self.step, generator=self.generator, ema_generator=self.ema_generator,
            discriminator=self.discriminator, g_optimizer=self.g_optimizer,
            d_optimizer=self.d_optimizer)
        # Multi-worker: the chief writes the workdir, the others save into scratch.
        self.workers = Workers(self.strategy, workdir)
        self.manager = self.workers.manager(self.checkpoint, t.keep_checkpoints)
        # No AutoGraph: TF ops, Python branches on config only (half the first trace's time).
        function = functools.partial(tf.function, autograph=False)
        self._train_step = function(self._step_fn)
        self.input_specs = self.generator.input_specs()
        self.data_inputs = tuple(name for name, spec in self.input_specs.items()
                                 if spec.source == "data")
        self._sample = function(lambda inputs: self.ema_generator(inputs, training=False))
        self._render = function(  # traced again for new lengths until shapes relax
            lambda inputs, n: self.ema_generator.render(inputs, n, training=False),
            reduce_retracing=True)
        self._fixed_context = None  # context models: real frames of the fixed samples

    def _generator_inputs(self, batch: dict, step: tf.Tensor, stream: int,
                          index: int = 0) -> dict[str, tf.Tensor]:
        """Noise inputs from (train.seed, step, stream, index, row); data inputs (labels,
        context frames) from this replica's real batch."""
        inputs = sampling.draw_noise(self.input_specs,
                                     self.streams.noise_pairs(step, stream, index))
        inputs.update({name: batch[name] for name in self.data_inputs})
        return inputs

    @property
    def sample_columns(self) -> int:
        """Videos per row of the sample grid: num_samples, or for a class-conditional model
        max(1, num_samples // num_classes) (one row per class)."""
        n, k = self.config.train.num_samples, self.generator.num_classes
        return max(1, n // k) if k else n

    def fixed_inputs(self, num_frames: int | None = None) -> dict[str, tf.Tensor]:
        """The generator inputs sampled every `sample_every` steps: seeds 0..columns-1
        under export's rule, so the samples are what the exported model gives for them;
        class-conditional: those seeds again for every class, one row per class; context
        models: the first clips of the data give the context frames, one clip per video.
        `num_frames`: the noise for a render of that many frames (any-length families)."""
        columns, k = self.sample_columns, self.generator.num_classes
        seeds = tf.tile(tf.range(columns, dtype=tf.int64), [max(1, k)])
        shapes = None if num_frames is None else self.generator.noise_shapes(num_frames)
        inputs = sampling.draw_noise(self.input_specs, sampling.seed_pairs_for_seeds(seeds),
                                     shapes)
        if k:
            inputs["label"] = tf.repeat(tf.range(k, dtype=tf.int32), columns)
        if "context" in self.input_specs:
            if self._fixed_context is None:
                real = data_lib.make_dataset(self.config.data, int(seeds.shape[0]))
                self._fixed_context = next(iter(real))["context"]
            inputs["context"] = self._fixed_context
        return inputs

    # --- one replica's updates ------------------------------------------------
    def _apply(self, optimizer, tape, loss, variables) -> tf.Tensor:
        """Applies the all-reduced gradient; returns its global norm."""
        scaled = isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
        if scaled:  # d(scale * loss) = scale * d(loss); the optimizer unscales (and skips inf)
            scale = tf.cast(optimizer.dynamic_scale, loss.dtype)
            grads = tape.gradient(loss, variables, output_gradients=scale)
        else:
            grads = tape.gradient(loss, variables)
        # Embeddings (class-conditional models) give IndexedSlices: dense, so the
        # all-reduce, the norm and the 1/N scaling below treat every gradient alike.
        grads = [tf.convert_to_tensor(g) if isinstance(g, tf.IndexedSlices) else g
                 for g in grads]
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
        return tf.nn.compute_average_loss(losses_lib.per_example(per_example),
                                          global_batch_size=self.global_batch)

    def _conditions(self, batch: dict, step: tf.Tensor, stream: int, index: int) -> dict:
        """What D sees beside the video: the generator's data inputs (labels, context) from
        the real batch, and a stateless seed if D makes random choices (the same for the
        real and the fake clips of one update, and on every replica)."""
        conditions = {name: batch[name] for name in self.data_inputs}
        if self.discriminator.uses_seed:
            conditions["seed"] = self.streams.seed(step, stream, index)
        return conditions

    def _augmented(self, video: tf.Tensor, step: tf.Tensor, stream: int,
                   index: int) -> tf.Tensor:
        """`video` [B_local, T, H, W, 3] as D sees it: DiffAugmented when configured."""
        if not self.augment:
            return video
        return augment_lib.augment(video, self.augment, self.streams.rng(step, stream, index))

    def _weighted(self, heads: dict[str, tf.Tensor]) -> tf.Tensor:
        """sum_h w_h * mean logits of head h: [B] (what penalties differentiate)."""
        w = self.discriminator.head_weights
        return tf.add_n([w[h] * losses_lib.per_example(heads[h]) for h in sorted(w)])

    def _class_terms(self, heads: dict, batch: dict) -> dict[str, tf.Tensor]:
        """AC-GAN: {"class": class_weight * cross-entropy of D's class logits against the
        batch's labels, [B_local]} when D has a class head; {} (no ops) otherwise."""
        if "class" not in heads:
            return {}
        ce = tf.nn.sparse_softmax_cross_entropy_with_logits(batch["label"], heads["class"])
        return {"class": self.discriminator.class_weight * ce}

    def _judge_both(self, real: tf.Tensor, fake: tf.Tensor,
                    conditions: dict) -> tuple[dict[str, tf.Tensor], dict[str, tf.Tensor]]:
        """D's heads on real and fake [B_local, T, H, W, 3] in ONE call on [2 B_local, ...]:
        half the ops of two calls, and at these sizes the step is bound by per-op cost,
        not FLOPs. Without batch statistics in D each row's logits are unchanged."""
        if self.discriminator.batch_statistics:  # batch norm: real and fake apart, as before
            return (self.discriminator({"video": real, **conditions}, training=True),
                    self.discriminator({"video": fake, **conditions}, training=True))
        rows = tf.shape(real)[0]
        both = {name: (value if name == "seed" else tf.concat([value, value], 0))
                for name, value in conditions.items()}
        heads = self.discriminator({"video": tf.concat([real, fake], 0), **both},
                                   training=True)
        return ({h: v[:rows] for h, v in heads.items()},
                {h: v[rows:] for h, v in heads.items()})

    def _penalty(self, real: tf.Tensor, fake: tf.Tensor, conditions: dict, step: tf.Tensor,
                 index: int) -> tf.Tensor:
        """The configured penalty on the clips D judged, lazy if so configured: [B_local]."""
        return losses_lib.lazy(
            lambda: self.penalty(
                lambda x: self._weighted(self.discriminator({"video": x, **conditions},
                                                            training=True)),
                real, fake, self.streams.rng(step, rng_streams.PENALTY, index)),
            step, self.penalty_every, tf.shape(real)[0])

    def _d_update(self, batch: dict, step: tf.Tensor, index: int,
                  fake: tf.Tensor | None = None) -> tuple[dict[str, tf.Tensor], tf.Tensor]:
        """batch: this replica's real batch ({"video": [B_local, T, H, W, 3], ...}); fake:
        the G update's clips to judge (train.reuse_fakes), else drawn here.
        Returns (this replica's share of each metric's global mean, the global grad norm)."""
        cfg = self.config.loss
        conditions = self._conditions(batch, step, rng_streams.D_CHOICES, index)
        if fake is None:
            inputs = self._generator_inputs(batch, step, rng_streams.LATENTS_D, index)
            fake = self.generator(inputs, training=True)
        real = batch["video"]
        weights = self.discriminator.head_weights
        with tf.GradientTape() as tape:
            # Augmented once: the logits and the penalty see the same clips.
            real = self._augmented(real, step, rng_streams.AUGMENT_D_REAL, index)
            fake = self._augmented(fake, step, rng_streams.AUGMENT_D_FAKE, index)
            real_heads, fake_heads = self._judge_both(real, fake, conditions)
            parts = {h: self.loss.discriminator(real_heads[h], fake_heads[h]) for h in weights}
            total = tf.add_n([weights[h] * parts[h].total for h in sorted(weights)])
            penalty = self._penalty(real, fake, conditions, step, index)
            classes = self._class_terms(real_heads, batch)  # D learns the real clips' labels
            loss = self._average(tf.add_n([total + cfg.penalty_weight * penalty,
                                           *classes.values()]))
        grad_norm = self._apply(self.d_optimizer, tape, loss,
                                self.discriminator.trainable_variables)
        metrics_ = {
            "loss/d": loss,
            "loss/d_real": self._average(tf.add_n([weights[h] * parts[h].real
                                                   for h in sorted(weights)])),
            "loss/d_fake": self._average(tf.add_n([weights[h] * parts[h].fake
                                                   for h in sorted(weights)])),
            "loss/penalty": self._average(penalty),
            "d_logits/real": self._average(self._weighted(real_heads)),
            "d_logits/fake": self._average(self._weighted(fake_heads)),
        }
        metrics_.update({f"loss/d_{k}": self._average(v) for k, v in classes.items()})
        if len(weights) > 1:  # one head: these equal the totals above
            for h in weights:
                metrics_[f"loss/d_{h}"] = self._average(parts[h].total)
                metrics_[f"d_logits/{h}_real"] = self._average(real_heads[h])
                metrics_[f"d_logits/{h}_fake"] = self._average(fake_heads[h])
        return metrics_, grad_norm

    def _generate(self, batch: dict, step: tf.Tensor) -> tuple[tf.Tensor, dict]:
        """The G update's fakes [B_local, T, H, W, 3] and G's own loss terms per clip
        (VGAN's mask penalty, a context model's L1), {name: [B_local]}."""
        inputs = self._generator_inputs(batch, step, rng_streams.LATENTS_G)
        fake, own = self.generator(inputs, training=True, return_losses=True)
        return fake, {**own, **losses_lib.reconstruction(fake, batch["video"], self.config)}

    def _g_update(self, batch: dict, step: tf.Tensor, tape: tf.GradientTape | None = None,
                  made: tuple | None = None) -> tuple[dict[str, tf.Tensor], tf.Tensor]:
        """`made`: _generate's output, recorded on `tape` (train.reuse_fakes)."""
        conditions = self._conditions(batch, step, rng_streams.D_CHOICES_G, 0)
        weights = self.discriminator.head_weights
        tape = tape or tf.GradientTape()
        with tape:  # recording again where the reused fakes were made
            fake, own = made or self._generate(batch, step)
            fake = self._augmented(fake, step, rng_streams.AUGMENT_G, 0)  # [B_local, T, H, W, 3]
            if self.loss.relative:  # each fake judged against the real clip of its row
                real = self._augmented(batch["video"], step, rng_streams.AUGMENT_G_REAL, 0)
                real_heads, heads = self._judge_both(real, fake, conditions)
                per_head = {h: self.loss.generator(heads[h], real_heads[h]) for h in weights}
            else:
                heads = self.discriminator({"video": fake, **conditions}, training=True)
                per_head = {h: self.loss.generator(heads[h]) for h in weights}
            own = {**own, **self._class_terms(heads, batch)}  # AC-GAN: fakes as asked
            if self.config.loss.top_k < 1:  # top-k training: G learns from its best fakes
                keep = losses_lib.top_k_weights(self._weighted(heads), step, self.config.loss)
                per_head = {h: keep * value for h, value in per_head.items()}
            terms = [weights[h] * per_head[h] for h in sorted(weights)]
            loss = self._average(tf.add_n(terms + [own[k] for k in sorted(own)]))
        grad_norm = self._apply(self.g_optimizer, tape, loss, self.generator.trainable_variables)
        metrics_ = {"loss/g": loss}
        if len(weights) > 1:
            metrics_.update({f"loss/g_{h}": self._average(per_head[h]) for h in weights})
        metrics_.update({f"loss/g_{k}": self._average(v) for k, v in own.items()})
        return metrics_, grad_norm

    def _replica_step(self, batches: tuple[dict, ...], step: tf.Tensor):
        """D metrics are averaged over the n_critic updates of the step; the G update
        takes its data inputs (labels, context) from the last real batch."""
        tape, made, last = None, None, len(batches) - 1
        if self.config.train.reuse_fakes:
            tape = tf.GradientTape()
            with tape:
                made = self._generate(batches[-1], step)
        d_updates = [self._d_update(batch, step, index, tf.stop_gradient(made[0])
                                    if made and index == last else None)
                     for index, batch in enumerate(batches)]
        d_metrics = {key: tf.add_n([m[key] for m, _ in d_updates]) / len(d_updates)
                     for key in d_updates[0][0]}
        d_norm = tf.add_n([norm for _, norm in d_updates]) / len(d_updates)
        g_metrics, g_norm = self._g_update(batches[-1], step, tape, made)
        ctx = tf.distribute.get_replica_context()
        summed = ctx.all_reduce(tf.distribute.ReduceOp.SUM, {**d_metrics, **g_metrics})
        return {**summed, "grad_norm/d": d_norm, "grad_norm/g": g_norm}

    # --- the compiled step (cross-replica) ------------------------------------
    def _step_fn(self, iterator) -> dict[str, tf.Tensor]:
        batches = tuple(next(iterator) for _ in range(self.config.train.n_critic))
        per_replica = self.strategy.run(self._replica_step, args=(batches, self.step))
        # Every value is already identical on all replicas: take the first.
        results = {k: self.strategy.experimental_local_results(v)[0]
                   for k, v in per_replica.items()}
        every = self.penalty_every
        if every > 1:  # report the last computed penalty, unscaled, on every step
            computed = tf.equal(self.step % every, 0)
            self._last_penalty.assign(tf.where(computed, results["loss/penalty"] / every,
                                               self._last_penalty))
            results["loss/penalty"] = tf.identity(self._last_penalty)
        update_ema(self.ema_generator, self.generator, self.step, self.config.train.ema_decay)
        self.step.assign_add(1)
        return results

    # --- public API ------------------------------------------------------------
    def learning_rates(self) -> tuple[float, float]:
        """(G's, D's) learning rate for their next update."""
        return tuple(float(tf.convert_to_tensor(opt.learning_rate).numpy())
                     for opt in (self.g_optimizer, self.d_optimizer))

    def save(self, step: int) -> str:
        """Checkpoints `step` (on every worker: saving is collective); returns the path."""
        return self.manager.save(checkpoint_number=step)

    def restore(self) -> int:
        """Restores the latest checkpoint in the workdir, if any; returns the step."""
        return workdir_lib.resume(self.checkpoint, self.workers.latest_checkpoint(), self.step)

    def dataset(self, start_step: int) -> tf.data.Dataset:
        """The real-data stream positioned after `start_step` steps."""
        per_step = self.config.train.n_critic * self.global_batch
        return data_lib.make_dataset(self.config.data, self.global_batch,
                                     start_index=start_step * per_step)

    def iterator(self, start_step: int):
        """Each replica's rows of every global batch (rows [i*b, (i+1)*b) for replica i,
        as `_rows` assumes): any number of workers and devices sees what one device would."""
        return self.workers.distribute(lambda: self.dataset(start_step), self.global_batch)

    def train_step(self, iterator) -> dict[str, float]:
        """Runs one step; returns its metrics as Python floats."""
        return {k: float(v) for k, v in self._train_step(iterator).items()}

    def sample(self, inputs: dict | None = None, num_frames: int | None = None) -> np.ndarray:
        """EMA-generator videos for `inputs` (default: the fixed ones): [N, T, H, W, 3].
        `num_frames`: that many frames instead of T (families with any_length; `inputs`
        then shaped by generator.noise_shapes(num_frames)); the first T are the clip's."""
        if num_frames is None or num_frames == self.config.data.num_frames:
            return self._sample(self.fixed_inputs() if inputs is None else inputs).numpy()
        if not self.generator.any_length:
            raise ValueError(f"model family {self.config.model.generator.name} makes clips of "
                             f"{self.config.data.num_frames} frames only")
        inputs = self.fixed_inputs(num_frames) if inputs is None else inputs
        return self._render(inputs, tf.constant(num_frames, tf.int32)).numpy()

    def train(self) -> int:
        """Trains to `train.steps`, resuming from the workdir; returns the final step."""
        return TrainingLoop(self).run()


def train(config: Config, workdir: str, strategy: tf.distribute.Strategy | None = None) -> int:
    """Trains `config` in `workdir`, resuming from its latest checkpoint; returns the step.

    Refuses a workdir whose stored config differs in a field that matters.
    """
    return Trainer(config, workdir, strategy).train()
