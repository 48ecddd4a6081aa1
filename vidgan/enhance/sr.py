"""Training the learned video super-resolution network (vidgan.enhance.srnet.SRNet):
`train_sr` and SRTrainer, on vidgan train's loop.

train_sr(config, workdir): pairs from the data config (see SRConfig), L1 loss on RGB,
Adam with cosine decay, under the configured tf.distribute strategy; checkpoints resume;
TensorBoard gets loss/l1, metrics/psnr_sr and metrics/psnr_bicubic (on the step's batch)
and lr.
"""

from __future__ import annotations

from absl import logging
import keras
import tensorflow as tf

from vidgan import data as data_lib
from vidgan import pixels
from vidgan.metrics import quality
from vidgan.config import Config, ConfigError, validate_sr
from vidgan.enhance.srnet import SRNet
from vidgan.training import workdir as workdir_lib
from vidgan.training.loop import Report, TrainingLoop
from vidgan.training.strategy import check_batch, make_strategy
from vidgan.training.workers import Workers


def degrade(clips: tf.Tensor, config: Config, seed: tf.Tensor) -> tf.Tensor:
    """HR clips float [B, T, H, W, 3] in [-1, 1] -> LR [B, T, H/s, W/s, 3]: blur (sigma
    drawn per clip from [0, sr.blur]), area downscale, noise (std per clip from
    [0, sr.noise]), 8-bit quantization. Stateless randomness from `seed` [2]."""
    sr = config.sr
    shape = tf.shape(clips)
    b, t, h, w = shape[0], shape[1], shape[2], shape[3]
    frames = tf.reshape(clips, [b * t, h, w, 3])
    if sr.blur > 0:
        sigma = tf.random.stateless_uniform([b], seed, 0.0, sr.blur)
        frames = tf.reshape(_blur_per_clip(tf.reshape(frames, [b, t, h, w, 3]), sigma),
                            [b * t, h, w, 3])
    small = tf.image.resize(frames, [h // sr.scale, w // sr.scale], method="area")
    small = tf.reshape(small, [b, t, h // sr.scale, w // sr.scale, 3])
    if sr.noise > 0:
        noise_seed = tf.random.experimental.stateless_fold_in(seed, 1)
        std = tf.random.stateless_uniform([b, 1, 1, 1, 1], noise_seed, 0.0, 2.0 * sr.noise)
        small += std * tf.random.stateless_normal(tf.shape(small),
                                                  tf.random.experimental.stateless_fold_in(seed, 2))
    return pixels.quantize(small)


def _blur_per_clip(clips: tf.Tensor, sigma: tf.Tensor, radius: int = 4) -> tf.Tensor:
    """Separable Gaussian blur with a per-clip sigma [B] (sigma 0: unchanged)."""
    x = tf.range(-radius, radius + 1, dtype=tf.float32)
    s = tf.maximum(sigma, 1e-3)[:, None]
    kernel = tf.exp(-tf.square(x)[None] / (2.0 * tf.square(s)))
    kernel /= tf.reduce_sum(kernel, axis=1, keepdims=True)  # [B, K]

    def one(args):
        clip, k = args  # [T, H, W, 3], [K]
        padded = tf.pad(clip, [[0, 0], [radius, radius], [radius, radius], [0, 0]], "REFLECT")
        kx = tf.tile(tf.reshape(k, [1, -1, 1, 1]), [1, 1, 3, 1])
        ky = tf.tile(tf.reshape(k, [-1, 1, 1, 1]), [1, 1, 3, 1])
        out = tf.nn.depthwise_conv2d(padded, kx, [1, 1, 1, 1], "VALID")
        return tf.nn.depthwise_conv2d(out, ky, [1, 1, 1, 1], "VALID")

    return tf.map_fn(one, (clips, kernel), fn_output_signature=clips.dtype)


def _batch_psnr(videos: tf.Tensor, reference: tf.Tensor) -> tf.Tensor:
    """Mean PSNR (dB) over the batch of float videos in [-1, 1] (clipped first)."""
    return tf.reduce_mean(quality.psnr(tf.clip_by_value(videos, -1.0, 1.0), reference))


class SRTrainer:
    """Owns the network, optimizer, checkpoint and the compiled step of `vidgan train-sr`."""

    def __init__(self, config: Config, workdir: str,
                 strategy: tf.distribute.Strategy | None = None):
        validate_sr(config.sr, config.data)
        if config.train.strategy in ("multi_worker", "tpu") and strategy is None:
            # Its loop has no chief / worker roles: every worker would write the workdir.
            raise ConfigError(f"train-sr runs on one machine; train.strategy="
                              f"{config.train.strategy} is for `vidgan train`")
        self.config, self.workdir = config, workdir
        self.strategy = strategy or make_strategy(config.train)
        self.global_batch = config.train.batch_size
        self.replicas = self.strategy.num_replicas_in_sync
        check_batch(self.global_batch, self.strategy)  # a strategy passed in, too
        self.workers = Workers(self.strategy, workdir)
        keras.utils.set_random_seed(config.train.seed)
        sr, t = config.sr, config.train
        with self.strategy.scope():
            self.network = SRNet(sr.scale, sr.channels, sr.frames, name="sr_network")
            self.network.build_for(config.data.height // sr.scale, config.data.width // sr.scale)
            schedule = keras.optimizers.schedules.CosineDecay(sr.lr, t.steps)
            self.optimizer = keras.optimizers.Adam(schedule)
            self.optimizer.build(self.network.trainable_variables)
            self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step",
                                    aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
        self.checkpoint = tf.train.Checkpoint(step=self.step, network=self.network,
                                              optimizer=self.optimizer)
        self.manager = self.workers.manager(self.checkpoint, t.keep_checkpoints)
        self._step = tf.function(self._step_fn, autograph=False)

    def _replica_step(self, hr: tf.Tensor, lr: tf.Tensor) -> dict[str, tf.Tensor]:
        with tf.GradientTape() as tape:
            out = self.network(lr, training=True)
            per_example = tf.reduce_mean(tf.abs(out - hr), axis=[1, 2, 3, 4])
            loss = tf.nn.compute_average_loss(per_example, global_batch_size=self.global_batch)
        grads = tape.gradient(loss, self.network.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.network.trainable_variables))
        s = self.config.sr.scale
        shape = tf.shape(lr)
        bicubic = tf.reshape(tf.image.resize(
            tf.reshape(lr, tf.concat([[-1], shape[2:]], 0)), shape[2:4] * s, method="bicubic"),
            tf.shape(hr))
        replicas = tf.distribute.get_replica_context().num_replicas_in_sync
        return {"loss/l1": loss, "metrics/psnr_sr": _batch_psnr(out, hr) / replicas,
                "metrics/psnr_bicubic": _batch_psnr(bicubic, hr) / replicas}

    def _step_fn(self, iterator) -> dict[str, tf.Tensor]:
        batch = next(iterator)
        seed = tf.stack([tf.constant(self.config.train.seed, tf.int64), self.step])

        def replica(hr):
            ctx = tf.distribute.get_replica_context()
            lr = degrade(hr, self.config, tf.random.experimental.stateless_fold_in(
                seed, ctx.replica_id_in_sync_group))
            return self._replica_step(hr, lr)

        values = self.strategy.run(replica, args=(batch["video"],))
        self.step.assign_add(1)
        return {k: self.strategy.reduce(tf.distribute.ReduceOp.SUM, v, axis=None)
                for k, v in values.items()}

    # --- the host-side interface of vidgan.training.loop.TrainingLoop ----------------
    def restore(self) -> int:
        """Restores the latest checkpoint in the workdir, if any; returns the step."""
        return workdir_lib.resume(self.checkpoint, self.workers.latest_checkpoint(), self.step)

    def save(self, step: int) -> str:
        return self.manager.save(checkpoint_number=step)

    def iterator(self, start_step: int):
        """The training clips after `start_step` steps, split over the replicas."""
        dataset = data_lib.make_dataset(self.config.data, self.global_batch,
                                        start_index=start_step * self.global_batch)
        return iter(self.strategy.experimental_distribute_dataset(dataset))

    def train_step(self, iterator) -> dict[str, float]:
        return {k: float(v) for k, v in self._step(iterator).items()}

    def train(self) -> int:
        """Trains to train.steps, resuming from the workdir (the GAN's loop: time budget,
        stop signals, NaN checks, logging); returns the final step."""
        sr = self.config.sr
        logging.info("SR x%d (%d input frame(s), %d channels), workdir %s", sr.scale,
                     sr.frames, sr.channels, self.workdir)
        return TrainingLoop(self, report=REPORT).run()


REPORT = Report(
    line=lambda v: ("l1 {loss/l1:.4f} | PSNR {metrics/psnr_sr:.2f} dB "
                    "(bicubic {metrics/psnr_bicubic:.2f})").format_map(v),
    learning_rates=lambda trainer: {"lr": float(trainer.optimizer.learning_rate)},
    clips_per_step=lambda config: config.train.batch_size,
    actions=lambda loop: [])


def train_sr(config: Config, workdir: str,
             strategy: tf.distribute.Strategy | None = None) -> int:
    """Trains the SR network of `config` in `workdir` (resuming); returns the final step."""
    return SRTrainer(config, workdir, strategy).train()
