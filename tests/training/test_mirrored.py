"""Two mirrored CPU replicas train exactly as one device does for the same global batch
(every family's distinctive parts), and mixed bfloat16 runs mirrored."""

import numpy as np
import pytest

from helpers import copy_weights as _copy_weights
from helpers import mirrored as _mirrored
from helpers import one_device as _one_device
from helpers import with_family
from vidgan.config import override
from vidgan.training import Trainer


# Why gradients are compared in norm and weights within Adam's steps, not elementwise:
# the two paths sum in different orders, so an activation within round-off of a ReLU's
# kink can fall on the other side in one of them. Its backward signal then differs at
# that one position, and the difference reaches every upstream weight (seen on an
# AVX2-only host: one channel of motion's block1/conv1, then 1,268 of 81,920 projection
# gradients off by 1-4 % of their RMS). Adam's first step is lr * sign(gradient), so any
# weight whose gradient is smaller than that moves +lr in one path and -lr in the other.
# A real difference between the paths (a gradient not summed over replicas, or scaled by
# their count; BN not synchronized; latents, labels or augmentations drawn per replica)
# changes the losses checked at every step or whole gradients by tens of percent.

def _first_moments(trainer, model: str) -> dict[str, np.ndarray]:
    """Adam's first moment of each trainable variable of `model` (linear in gradients)."""
    optimizer = trainer.g_optimizer if model == "generator" else trainer.d_optimizer
    variables = getattr(trainer, model).trainable_variables
    return {v.path: m.numpy() for v, m in zip(variables, optimizer._momentums, strict=True)}


def _assert_same_gradients(single, mirrored) -> None:
    """Each variable's gradient (via Adam's first moment) agrees to 10 % in L2 norm, or
    to 1e-5 of the whole model's gradient norm: some gradients are zero but for round-off
    (a relativistic D's logit bias: it cancels in D(real) - D(fake))."""
    for model in ("generator", "discriminator"):
        a, b = _first_moments(single, model), _first_moments(mirrored, model)
        total = np.sqrt(sum(np.sum(m ** 2) for m in a.values()))
        for path, m in a.items():
            error, norm = np.linalg.norm(b[path] - m), np.linalg.norm(m)
            assert error <= 0.1 * norm + 1e-5 * total, (
                f"{path}: gradients differ by {error:.3g} (their norm {norm:.3g}, the "
                f"model's {total:.3g})")


def _assert_same_weights(single, mirrored, train, steps: int) -> None:
    """Trainable weights (and their EMA, a weighted mean of them) within the Adam steps
    taken; every other variable (BN statistics, SN's u) agrees to round-off.

    With beta1 0.5 and beta2 0.999, Adam's first 2 steps move a weight at most 2.06 lr
    in all (found numerically over gradient sequences), so 2 paths stay within 2 x that.
    """
    assert steps == 2 and train.n_critic == 1 and (train.beta1, train.beta2) == (0.5, 0.999)
    reach = 2 * 2.06 * max(train.g_lr, train.d_lr)
    for name in ("generator", "discriminator", "ema_generator"):
        trained = getattr(single, "discriminator" if name == "discriminator" else "generator")
        trainable_ids = {id(t) for t in trained.trainable_variables}
        trainable = [id(v) in trainable_ids for v in trained.weights]
        pairs = zip(getattr(single, name).weights, getattr(mirrored, name).weights)
        for (va, vb), is_trainable in zip(pairs, trainable, strict=True):
            np.testing.assert_allclose(vb.numpy(), va.numpy(), rtol=1e-3,
                                       atol=reach if is_trainable else 5e-5,
                                       err_msg=f"{name}: {va.path}")


@pytest.mark.parametrize("case", ["dcgan3d", "dcgan3d+sn", "resnet3d+augment+reuse",
                                  "resnet3d+labels", "resnet3d+context", "motion", "vgan"])
def test_mirrored_matches_one_device(tiny_config, tmp_path, case):
    """Two CPU replicas give the same losses and weights as one device for the same
    global batch: gradients summed over the GLOBAL batch, synchronized batch norm,
    latents and augmentation parameters drawn per global row, each replica's labels and
    context frames."""
    updates = {"loss.penalty": "r1", "loss.penalty_weight": 1.0}
    if case == "resnet3d+augment+reuse":  # + fakes shared by D and G, relativistic pairs,
        # G's loss on the top half of the GLOBAL batch's fakes
        config = with_family(tiny_config, "resnet3d", **updates, **{
            "train.augment": "color,translation,cutout", "train.reuse_fakes": True,
            "loss.name": "relativistic", "loss.top_k": 0.5})
    elif case == "resnet3d+labels":  # conditional BN, projection D with both heads
        config = with_family(tiny_config, "resnet3d", **updates, **{
            "data.labels": True, "model.resnet3d.discriminator.frames": 2})
    elif case == "resnet3d+context":  # the context encoder, the first frames given, the blend
        config = with_family(tiny_config, "resnet3d", **updates, **{
            "data.context_frames": 2, "model.resnet3d.generator.blend_last": True,
            "loss.reconstruction": 1.0})  # + the L1 on the frames after the context
    elif case == "motion":  # motion codes per example, (2+1)D and 2D blocks, dual D
        config = with_family(tiny_config, "motion", **updates)
    elif case == "vgan":  # two streams, the mask penalty averaged over the global batch
        config = with_family(tiny_config, "vgan", **updates)
    else:
        config = override(tiny_config, {
            **updates, "model.dcgan3d.discriminator.spectral_norm": case == "dcgan3d+sn"})
    single = Trainer(config, str(tmp_path / "one"), _one_device())
    mirrored = Trainer(config, str(tmp_path / "two"), _mirrored())
    assert mirrored.replicas == 2
    _copy_weights(single, mirrored)

    it_single, it_mirrored = single.iterator(0), mirrored.iterator(0)
    steps = 2
    for _ in range(steps):
        a = single.train_step(it_single)
        b = mirrored.train_step(it_mirrored)
        for key in a:
            np.testing.assert_allclose(b[key], a[key], rtol=2e-4, atol=1e-5, err_msg=key)
        _assert_same_gradients(single, mirrored)
    _assert_same_weights(single, mirrored, config.train, steps)
    # Replicas hold identical copies of every variable (incl. BN stats, SN's u, EMA).
    for name in ("generator", "discriminator", "ema_generator"):
        for var in getattr(mirrored, name).weights:
            replicas = [v.numpy() for v in var.value.values]
            np.testing.assert_array_equal(replicas[0], replicas[1], err_msg=var.path)


def test_mixed_bfloat16_on_two_mirrored_replicas(tiny_config, tmp_path):
    config = override(tiny_config, {"train.precision": "mixed_bfloat16"})
    trainer = Trainer(config, str(tmp_path), _mirrored())
    g0 = [v.numpy().copy() for v in trainer.generator.trainable_variables]
    iterator = trainer.iterator(0)  # one stream: step 2 sees the next batch
    first, second = trainer.train_step(iterator), trainer.train_step(iterator)
    assert int(trainer.step.numpy()) == 2
    for values in (first, second):
        assert all(np.isfinite(v) for v in values.values()), values
    assert first["loss/d"] != second["loss/d"] and first["loss/g"] != second["loss/g"]
    moved = [not np.array_equal(a, b.numpy())
             for a, b in zip(g0, trainer.generator.trainable_variables)]
    assert all(moved)  # both replicas' gradients reached every generator weight
