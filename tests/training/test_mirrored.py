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


def _family(config, family: str, **updates):
    return with_family(config, family, updates)


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
        config = _family(tiny_config, "resnet3d", **updates, **{
            "train.augment": "color,translation,cutout", "train.reuse_fakes": True,
            "loss.name": "relativistic", "loss.top_k": 0.5})
    elif case == "resnet3d+labels":  # conditional BN, projection D with both heads
        config = _family(tiny_config, "resnet3d", **updates, **{
            "data.labels": True, "model.resnet3d.discriminator.frames": 2})
    elif case == "resnet3d+context":  # the context encoder, the first frames given, the blend
        config = _family(tiny_config, "resnet3d", **updates, **{
            "data.context_frames": 2, "model.resnet3d.generator.blend_last": True,
            "loss.reconstruction": 1.0})  # + the L1 on the frames after the context
    elif case == "motion":  # motion codes per example, (2+1)D and 2D blocks, dual D
        config = _family(tiny_config, "motion", **updates)
    elif case == "vgan":  # two streams, the mask penalty averaged over the global batch
        config = _family(tiny_config, "vgan", **updates)
    else:
        config = override(tiny_config, {
            **updates, "model.dcgan3d.discriminator.spectral_norm": case == "dcgan3d+sn"})
    single = Trainer(config, str(tmp_path / "one"), _one_device())
    mirrored = Trainer(config, str(tmp_path / "two"), _mirrored())
    assert mirrored.replicas == 2
    _copy_weights(single, mirrored)

    it_single, it_mirrored = single.iterator(0), mirrored.iterator(0)
    for _ in range(2):
        a = single.train_step(it_single)
        b = mirrored.train_step(it_mirrored)
        for key in a:
            np.testing.assert_allclose(b[key], a[key], rtol=2e-4, atol=1e-5, err_msg=key)

    # atol: a quarter of one Adam step (lr 2e-4). Adam divides each gradient by its own
    # scale, so a weight whose gradient is at round-off level moves by a noisy fraction
    # of a step; summing over 2 replicas changes that round-off (seen: 1.6e-5 in motion;
    # 1.6e-4 in 1 of vgan's 65,536 background projection weights; 3.9e-4 in 1 of motion's
    # 3,072 RGB-mix weights on an AVX2-only host). So for vgan and motion at most 1 weight
    # in 10,000 of a variable (at least 1) may be off by more, never by more than the 2
    # steps taken; a real difference between the paths moves far more weights than that.
    for name in ("generator", "discriminator", "ema_generator"):
        for va, vb in zip(getattr(single, name).weights, getattr(mirrored, name).weights):
            a_, b_ = va.numpy(), vb.numpy()
            if case in ("vgan", "motion"):
                off = np.abs(b_ - a_) > 5e-5 + 1e-3 * np.abs(a_)
                assert off.sum() <= max(1, off.size // 10_000), (
                    f"{name}: {va.path}: {off.sum()} of {off.size} weights differ")
            np.testing.assert_allclose(b_, a_, rtol=1e-3,
                                       atol=2 * 2e-4 if case in ("vgan", "motion") else 5e-5,
                                       err_msg=f"{name}: {va.path}")
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
