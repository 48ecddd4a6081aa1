"""Training: one step per family x loss (x penalty), exact resume, discriminator heads,
NaN handling, precisions. Distributed == single device is test_mirrored.py; learning is
test_learning.py (FVD)."""

import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf

from helpers import copy_weights as _copy_weights
from helpers import one_device as _one_device
from helpers import with_family
from vidgan import losses
from vidgan.config import override
from vidgan.training import NonFiniteLossError, Trainer, streams


def _values(variables):
    return [v.numpy().copy() for v in variables]


STEP_CASES = ([("dcgan3d", loss, penalty) for loss in sorted(losses.LOSSES)
               for penalty in losses.PENALTIES]
              + [("resnet3d", loss, "none") for loss in sorted(losses.LOSSES)]
              + [("resnet3d", "hinge", "r1"), ("resnet3d", "wasserstein", "wgan_gp"),
                 ("resnet3d", "relativistic", "r1_r2")]
              + [("motion", "hinge", "none"), ("vgan", "hinge", "none")]
              + [("motion+dcgan3d", "non_saturating", "r1")])
# (losses are pure functions of the logits: the other families run their default only;
# "G+D": a generator with another family's discriminator, model.discriminator.name)


@pytest.mark.parametrize("family, loss_name, penalty", STEP_CASES)
def test_one_step_every_family_loss_and_penalty(tiny_config, tmp_path, family, loss_name,
                                                penalty):
    """Every family x loss (x penalty for dcgan3d, two for resnet3d; motion, built on
    resnet3d's D, with its default loss; a generator with another family's discriminator):
    finite metrics, and both networks and the EMA move."""
    family, _, discriminator = family.partition("+")
    config = with_family(tiny_config, family, {"loss.name": loss_name, "loss.penalty": penalty,
                                               "loss.penalty_weight": 10.0},
                         discriminator=discriminator or "auto")
    trainer = Trainer(config, str(tmp_path), _one_device())
    g0, d0 = _values(trainer.generator.trainable_variables), _values(
        trainer.discriminator.trainable_variables)
    ema0 = _values(trainer.ema_generator.trainable_variables)

    values = trainer.train_step(trainer.iterator(0))

    assert all(np.isfinite(v) for v in values.values()), values
    assert values["grad_norm/d"] > 0 and values["grad_norm/g"] > 0
    if family == "vgan":  # the generator's own loss term is logged and in loss/g, once
        assert values["loss/g_mask"] > 0
        np.testing.assert_allclose(values["loss/g"], values["loss/g_video"]
                                   + values["loss/g_frames"] + values["loss/g_mask"], rtol=1e-5)
    if penalty == "none":
        assert values["loss/penalty"] == 0
    else:
        assert values["loss/penalty"] > 0
    # Every kernel moves. (Biases may not: with hinge or Wasserstein losses the logit
    # bias gets +1 from each fake and -1 from each real, which cancel exactly.)
    for before, var in zip(g0 + d0, trainer.generator.trainable_variables
                           + trainer.discriminator.trainable_variables):
        if "kernel" in var.path:
            assert not np.allclose(before, var.numpy()), var.path
    assert any(not np.allclose(b, v.numpy())
               for b, v in zip(ema0, trainer.ema_generator.trainable_variables))
    assert int(trainer.step.numpy()) == 1


def test_lazy_penalty_runs_every_nth_step_with_n_times_the_weight(tiny_config, tmp_path):
    """loss.penalty_every=2 (StyleGAN2's lazy R1): step 0's D loss holds twice the penalty
    an eager run measures on the same weights and batch, step 1's none; loss/penalty
    reports the last computed penalty, unscaled, on both."""
    updates = {"loss.penalty": "r1", "loss.penalty_weight": 1.0}
    eager = Trainer(with_family(tiny_config, "resnet3d", **updates), str(tmp_path / "eager"),
                    _one_device())
    lazy = Trainer(with_family(tiny_config, "resnet3d", **updates, **{"loss.penalty_every": 2}),
                   str(tmp_path / "lazy"), _one_device())
    _copy_weights(eager, lazy)
    first = eager.train_step(eager.iterator(0))["loss/penalty"]
    iterator = lazy.iterator(0)
    assert first > 0
    step0, step1 = lazy.train_step(iterator), lazy.train_step(iterator)
    np.testing.assert_allclose(step0["loss/penalty"], first, rtol=1e-5)
    np.testing.assert_allclose(step0["loss/d"] - step0["loss/d_real"] - step0["loss/d_fake"],
                               2 * first, rtol=1e-4)
    assert step1["loss/penalty"] == step0["loss/penalty"]
    np.testing.assert_allclose(step1["loss/d"], step1["loss/d_real"] + step1["loss/d_fake"],
                               atol=1e-6)


def test_top_k_trains_the_generator_on_its_best_rated_fakes(tiny_config, tmp_path):
    """loss.top_k=0.5: the G loss (hinge: minus D's score) is the mean over the half of the
    fakes D rates best, so it is lower than the mean over all of them on the same weights
    and batch; D's update is untouched, G's differs."""
    full = Trainer(with_family(tiny_config, "resnet3d"), str(tmp_path / "full"), _one_device())
    top = Trainer(with_family(tiny_config, "resnet3d", **{"loss.top_k": 0.5}),
                  str(tmp_path / "top"), _one_device())
    _copy_weights(full, top)
    a, b = full.train_step(full.iterator(0)), top.train_step(top.iterator(0))
    np.testing.assert_allclose(a["loss/d"], b["loss/d"], rtol=1e-6)
    assert b["loss/g"] < a["loss/g"] - 1e-4, (a["loss/g"], b["loss/g"])
    for x, y in zip(full.discriminator.trainable_variables,
                    top.discriminator.trainable_variables):
        np.testing.assert_allclose(x.numpy(), y.numpy(), rtol=1e-6, atol=1e-7)
    assert any(not np.allclose(x.numpy(), y.numpy()) for x, y in zip(
        full.generator.trainable_variables, top.generator.trainable_variables))


def test_reconstruction_adds_the_l1_of_the_frames_after_the_context(tiny_config, tmp_path):
    """loss.reconstruction (context models): on the same weights and batch, G's loss is the
    GAN loss plus the logged L1 term, which is the weight times mean |fake - real| over
    the generated frames; D's update is untouched, G's differs."""
    context = {"data.context_frames": 2}
    plain = Trainer(with_family(tiny_config, "resnet3d", **context), str(tmp_path / "plain"),
                    _one_device())
    l1 = Trainer(with_family(tiny_config, "resnet3d", **context, **{"loss.reconstruction": 3.0}),
                 str(tmp_path / "l1"), _one_device())
    _copy_weights(plain, l1)
    batch = next(iter(l1.dataset(0)))  # the G update's real batch (n_critic 1)
    inputs = l1._generator_inputs(batch, tf.constant(0, tf.int64), streams.LATENTS_G)
    fake = l1.generator(inputs, training=True).numpy()
    expected = 3.0 * np.abs(fake[:, 2:] - batch["video"].numpy()[:, 2:]).mean()
    a, b = plain.train_step(plain.iterator(0)), l1.train_step(l1.iterator(0))
    np.testing.assert_allclose(a["loss/d"], b["loss/d"], rtol=1e-6)
    np.testing.assert_allclose(b["loss/g_reconstruction"], expected, rtol=1e-4)
    np.testing.assert_allclose(b["loss/g"], a["loss/g"] + b["loss/g_reconstruction"],
                               rtol=1e-5)
    assert "loss/g_reconstruction" not in a
    assert any(not np.allclose(x.numpy(), y.numpy()) for x, y in zip(
        plain.generator.trainable_variables, l1.generator.trainable_variables))


@pytest.mark.parametrize("n_critic", [1, 2])
def test_reuse_fakes_runs_the_generator_once_per_step_less(tiny_config, tmp_path, n_critic,
                                                            monkeypatch):
    """train.reuse_fakes: the step's graph calls G n_critic times instead of n_critic + 1
    (the last D update judges the G update's fakes), and both networks still learn."""
    calls = {}
    for reuse in (False, True):
        config = with_family(tiny_config, "resnet3d", **{"train.reuse_fakes": reuse,
                                                     "train.n_critic": n_critic})
        trainer = Trainer(config, str(tmp_path / str(reuse)), _one_device())
        original, count = trainer.generator.generate, [0]

        def counted(*args, original=original, count=count, **kwargs):
            count[0] += 1  # once per G call while the step is traced
            return original(*args, **kwargs)

        monkeypatch.setattr(trainer.generator, "generate", counted)
        g0 = _values(trainer.generator.trainable_variables)
        d0 = _values(trainer.discriminator.trainable_variables)
        values = trainer.train_step(trainer.iterator(0))
        calls[reuse] = count[0]
        assert all(np.isfinite(v) for v in values.values()), values
        for before, var in zip(g0 + d0, trainer.generator.trainable_variables
                               + trainer.discriminator.trainable_variables):
            if "kernel" in var.path:
                assert not np.allclose(before, var.numpy()), var.path
    assert calls == {False: n_critic + 1, True: n_critic}


def test_n_critic_updates_discriminator_more_often(tiny_config, tmp_path):
    """n_critic=3: per step, three D updates on three fresh real batches and one G update;
    a resumed data stream starts after step * n_critic batches."""
    config = dataclasses.replace(
        tiny_config, train=dataclasses.replace(tiny_config.train, n_critic=3))
    trainer = Trainer(config, str(tmp_path), _one_device())
    iterator = trainer.iterator(0)
    for _ in range(2):
        trainer.train_step(iterator)
    assert int(trainer.d_optimizer.iterations.numpy()) == 6
    assert int(trainer.g_optimizer.iterations.numpy()) == 2
    # Two steps consumed six batches: the live stream's next batch is the 7th, which
    # is also the first batch of a stream resumed at step 2.
    stream = [b["video"].numpy() for b in trainer.dataset(0).take(7)]
    live_next = next(iterator)["video"].numpy()
    np.testing.assert_array_equal(live_next, stream[6])
    np.testing.assert_array_equal(next(iter(trainer.dataset(2)))["video"].numpy(), stream[6])


def test_non_finite_loss_stops_and_keeps_last_checkpoint(tiny_config, tmp_path):
    """A NaN at step 3 stops training with an error naming the loss; the step-2
    checkpoint is the latest and its weights are finite."""
    trainer = Trainer(tiny_config, str(tmp_path), _one_device())
    base = trainer.loss

    def poisoned_generator_loss(fake_logits):
        nan_from_step_3 = tf.where(trainer.step >= 2, np.nan, 0.0)
        return base.generator(fake_logits) + nan_from_step_3

    trainer.loss = losses.Loss(poisoned_generator_loss, base.discriminator)
    with pytest.raises(NonFiniteLossError, match=r"step 3.*loss/g=nan.*ckpt-2"):
        trainer.train()
    assert trainer.manager.latest_checkpoint.endswith("ckpt-2")
    reader = tf.train.load_checkpoint(trainer.manager.latest_checkpoint)
    for name in reader.get_variable_to_shape_map():
        value = reader.get_tensor(name)
        if np.issubdtype(np.asarray(value).dtype, np.floating):
            assert np.all(np.isfinite(value)), name


def _with_precision(config, precision: str, spectral_norm: bool = False):
    return override(config, {"train.precision": precision,
                             "model.dcgan3d.discriminator.spectral_norm": spectral_norm})


@pytest.mark.parametrize("precision", ["float32", "mixed_bfloat16", "mixed_float16"])
def test_one_step_in_each_precision(tiny_config, tmp_path, precision):
    """Mixed precision: convs and norms compute in 16 bits; every variable (G, EMA-G, D,
    spectral-norm u, Adam slots), the losses, D's logits and G's output stay float32;
    mixed_float16 wraps both optimizers in dynamic loss scaling."""
    config = _with_precision(tiny_config, precision, spectral_norm=True)
    trainer = Trainer(config, str(tmp_path), _one_device())
    compute = {"float32": "float32", "mixed_bfloat16": "bfloat16",
               "mixed_float16": "float16"}[precision]
    assert trainer.generator.up0.compute_dtype == compute
    assert trainer.discriminator.down0.compute_dtype == compute
    assert trainer.discriminator.down1_norm.compute_dtype == compute
    values = trainer.train_step(trainer.iterator(0))
    assert all(np.isfinite(v) for v in values.values()), values
    for model in (trainer.generator, trainer.ema_generator, trainer.discriminator):
        assert {w.dtype for w in model.weights} == {"float32"}, model.name
    z = tf.zeros([2, trainer.generator.z_dim])
    assert trainer.generator(z).dtype == tf.float32
    assert trainer.discriminator(trainer.generator(z))["video"].dtype == tf.float32
    assert trainer.sample().dtype == np.float32
    scaled = isinstance(trainer.g_optimizer, keras.optimizers.LossScaleOptimizer)
    assert scaled == (precision == "mixed_float16")
    # The global policy is restored: models built later are float32 again.
    assert keras.config.dtype_policy().name == "float32"


def test_checkpoint_restores_all_model_state(tiny_config, tmp_path):
    """A fresh trainer (other init seed) restored from a checkpoint holds exactly the
    weights of G, EMA-G and D (BN statistics, spectral-norm u included)."""
    config = override(tiny_config, {"model.dcgan3d.discriminator.spectral_norm": True})
    trainer = Trainer(config, str(tmp_path), _one_device())
    trainer.train_step(trainer.iterator(0))
    trainer.manager.save()
    other = Trainer(dataclasses.replace(config, train=dataclasses.replace(
        config.train, seed=config.train.seed + 1)), str(tmp_path), _one_device())
    assert other.restore() == 1
    for name in ("generator", "ema_generator", "discriminator"):
        for a, b in zip(getattr(trainer, name).weights, getattr(other, name).weights):
            np.testing.assert_array_equal(b.numpy(), a.numpy(), err_msg=f"{name}: {a.path}")


def _train_values(trainer):
    return {v.path: v.numpy() for name in ("generator", "discriminator", "ema_generator")
            for v in getattr(trainer, name).weights}


def test_resume_is_exact_with_augmentation(tiny_config, tmp_path):
    """4 steps straight == 2 steps, checkpoint, a new trainer restored, 2 more steps
    (resnet3d with DiffAugment, R1 and decaying learning rates: latents, augmentation,
    data and the schedule resume exactly)."""
    config = with_family(tiny_config, "resnet3d", **{
        "train.augment": "color,translation,cutout", "loss.penalty": "r1",
        "loss.penalty_weight": 1.0, "train.steps": 4, "train.lr_decay_from": 0.25})
    straight = Trainer(config, str(tmp_path / "straight"), _one_device())
    it = straight.iterator(0)
    for _ in range(4):
        straight.train_step(it)
    first = Trainer(config, str(tmp_path / "split"), _one_device())
    it = first.iterator(0)
    for _ in range(2):
        first.train_step(it)
    first.manager.save(checkpoint_number=2)
    second = Trainer(config, str(tmp_path / "split"), _one_device())
    assert second.restore() == 2
    it = second.iterator(2)
    for _ in range(2):
        second.train_step(it)
    a, b = _train_values(straight), _train_values(second)
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_allclose(b[name], a[name], rtol=1e-5, atol=1e-6, err_msg=name)


def test_discriminator_heads_are_weighted_and_logged(tiny_config, tmp_path):
    """A discriminator with two heads: each head's loss is logged, and loss/d is their
    weighted sum (the seam a DVD-GAN-style dual discriminator plugs into)."""
    config = with_family(tiny_config, "resnet3d", **{"loss.name": "hinge"})
    trainer = Trainer(config, str(tmp_path), _one_device())
    d = trainer.discriminator
    judge = d.judge

    def two_heads(inputs, training=False):
        video = judge(inputs, training=training)["video"]
        return {"video": video, "frames": 0.5 * video}

    d.judge = two_heads
    d.head_weights = {"video": 1.0, "frames": 2.0}
    values = trainer.train_step(trainer.iterator(0))
    assert {"loss/d_video", "loss/d_frames", "d_logits/frames_real", "loss/g_frames"} <= set(
        values)
    np.testing.assert_allclose(values["loss/d"], values["loss/d_video"]
                               + 2.0 * values["loss/d_frames"], rtol=1e-5)
    np.testing.assert_allclose(values["d_logits/frames_real"],
                               0.5 * values["d_logits/video_real"], rtol=1e-4, atol=1e-6)


def test_learning_rates_decay_linearly_to_zero_at_the_last_step(tiny_config, tmp_path):
    """train.lr_decay_from=0.5 of 4 steps: both rates are constant through half the
    updates, then fall linearly to 0 at the last one (D's schedule counts its n_critic
    updates per step)."""
    from vidgan.training.schedules import learning_rate  # noqa: PLC0415

    assert learning_rate(1e-3, 1.0, 100) == 1e-3  # no decay: a plain constant
    schedule = learning_rate(1e-3, 0.5, 100)
    np.testing.assert_allclose([float(schedule(s)) for s in (0, 50, 75, 100, 120)],
                               [1e-3, 1e-3, 5e-4, 0.0, 0.0], atol=1e-9)
    config = override(tiny_config, {"train.steps": 4, "train.lr_decay_from": 0.5,
                                    "train.n_critic": 2})
    trainer = Trainer(config, str(tmp_path), _one_device())
    it = trainer.iterator(0)
    seen = []
    for _ in range(4):
        trainer.train_step(it)
        seen.append(trainer.learning_rates())
    t = config.train
    # The rate each optimizer will use next: G after 1..4 updates, D after 2..8.
    np.testing.assert_allclose(seen, [(t.g_lr, t.d_lr), (t.g_lr, t.d_lr),
                                      (t.g_lr / 2, t.d_lr / 2), (0.0, 0.0)],
                               rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize("family", ["resnet3d", "dcgan3d"])
def test_real_and_fake_judged_in_one_call_score_each_clip_as_two_calls(tiny_config, tmp_path,
                                                                      family):
    """D's heads on [real; fake] in one call give each row the logits of two separate calls
    (spectral norm's power iteration reset between calls: one call steps it once). A D
    with batch norm (dcgan3d norm=batch) is called twice, as its rows depend on each other."""
    norm = {"model.dcgan3d.discriminator.norm": "batch"} if family == "dcgan3d" else {}
    config = with_family(tiny_config, family, **norm)
    trainer = Trainer(config, str(tmp_path), _one_device())
    d = trainer.discriminator
    assert d.batch_statistics == (family == "dcgan3d")
    shape = (4, *d.video_shape)
    real = tf.random.stateless_uniform(shape, [1, 2], -1.0, 1.0)
    fake = tf.random.stateless_uniform(shape, [3, 4], -1.0, 1.0)
    conditions = {"seed": tf.constant([5, 6], tf.int64)} if d.uses_seed else {}
    start = _values(d.weights)

    def reset():
        for var, value in zip(d.weights, start):
            var.assign(value)

    apart = []
    for video in (real, fake):
        reset()
        apart.append(d({"video": video, **conditions}, training=True))
    reset()
    together = trainer._judge_both(real, fake, conditions)
    for mine, theirs in zip(together, apart):
        assert mine.keys() == theirs.keys()
        for head in mine:
            np.testing.assert_allclose(mine[head], theirs[head], rtol=1e-4, atol=1e-5)
