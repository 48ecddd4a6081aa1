"""The training benchmark stays runnable: a tiny run writes a report with every field and
sane values. Speeds are not asserted (a benchmark is not a timed test)."""

import json
import math
import os
import statistics
import subprocess
import sys

import pytest

from helpers import REPO



def test_train_step_benchmark_tiny_report(tmp_path):
    out, table = tmp_path / "r.json", tmp_path / "r.md"
    result = subprocess.run(
        [sys.executable, os.path.join(REPO, "benchmarks", "train_step.py"), "--tiny",
         "--steps=2", f"--json={out}", f"--markdown={table}"],
        capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    r = json.loads(out.read_text())

    ceilings = r["a_ceilings_gflops"]
    assert set(ceilings) == {"conv3d_float32", "conv3d_bfloat16", "matmul_float32",
                             "matmul_bfloat16"}
    assert all(0 < v < 1e5 for v in ceilings.values()), ceilings
    for precision in ("float32", "mixed_bfloat16"):
        b = r["b_preset"][precision]
        assert len(b["step_times_s"]) == 2 and 0 < b["median_step_s"] < 60
        assert b["clips_per_sec"] > 0
        flops = b["flops"]
        # The rule: per step 4 G + 9 D forward passes (n_critic = 1).
        assert flops["per_step"] == 4 * flops["g_forward"] + 9 * flops["d_forward"]
        assert flops["g_forward"] > 0 and flops["d_forward"] > 0
        assert math.isclose(b["achieved_gflops"],
                            flops["per_step"] / b["median_step_s"] / 1e9, rel_tol=1e-9)
        assert len(b["interleaved_conv_ceiling_gflops"]) == 2
        assert math.isclose(b["conv_ceiling_gflops"],
                            statistics.median(b["interleaved_conv_ceiling_gflops"]))
        assert math.isclose(b["fraction_of_conv_ceiling"],
                            b["achieved_gflops"] / b["conv_ceiling_gflops"], rel_tol=1e-9)
        assert 0 < b["fraction_of_conv_ceiling"] < 10
        assert 0 < b["fraction_of_start_ceiling"] < 10
    assert r["b_preset"]["float32"]["flops"] == r["b_preset"]["mixed_bfloat16"]["flops"]
    assert 100 < r["c_peak_rss_mb"] < 24_000
    assert r["malloc"] == "kept"  # as the vidgan command runs (vidgan/runtime.py)
    points = r["d_scaling"]["points"]
    assert [p["size"] for p in points] == ["4x16x16", "8x16x16", "8x32x32"]
    assert all(p["median_step_s"] > 0 for p in points)
    assert math.isfinite(r["d_scaling"]["exponent"])
    assert set(r["e_other_benchmarks"]) == {"input_pipeline", "export_synthesis", "i3d_features"}
    text = table.read_text()
    for row in ("conv3d ceiling", "preset step", "achieved GFLOP/s", "timed between the steps",
                "peak RSS", "(T*H*W)^k",
                "malloc"):
        assert row in text, row


def test_flop_count_of_a_known_generator_and_discriminator():
    """graph_flops counts 2 x multiply-adds: checked by hand on one conv, one transposed
    conv and one dense layer."""
    import keras  # noqa: PLC0415
    import tensorflow as tf  # noqa: PLC0415

    sys.path.insert(0, os.path.join(REPO, "benchmarks"))
    import train_step  # noqa: PLC0415

    conv = keras.layers.Conv3D(5, 3, padding="same")
    up = keras.layers.Conv3DTranspose(4, 4, strides=2, padding="same")
    dense = keras.layers.Dense(7)
    spec = tf.TensorSpec([2, 4, 6, 6, 3], tf.float32)
    assert train_step.graph_flops(conv, spec) == 2 * (2 * 4 * 6 * 6 * 5) * 27 * 3
    # A transposed conv: each input element meets the whole kernel once per output channel.
    assert train_step.graph_flops(up, spec) == 2 * (2 * 4 * 6 * 6 * 3) * 64 * 4
    assert train_step.graph_flops(dense, tf.TensorSpec([8, 10], tf.float32)) == 2 * 8 * 10 * 7
    conv2d = keras.layers.Conv2D(5, 3, padding="same")
    assert train_step.graph_flops(conv2d, tf.TensorSpec([2, 6, 6, 3], tf.float32)) == (
        2 * (2 * 6 * 6 * 5) * 9 * 3)


@pytest.mark.parametrize("family", ["dcgan3d", "resnet3d", "motion", "vgan"])
def test_step_flops_builds_every_family_s_declared_inputs(tiny_config, family, tmp_path):
    """The FLOP count feeds the generator every input it declares (motion takes a latent
    and motion codes), so every family can be timed; its rule is 4 G + 9 D."""
    import tensorflow as tf  # noqa: PLC0415

    from helpers import with_family  # noqa: PLC0415
    from vidgan.training import Trainer  # noqa: PLC0415

    sys.path.insert(0, os.path.join(REPO, "benchmarks"))
    import train_step  # noqa: PLC0415

    trainer = Trainer(with_family(tiny_config, family), str(tmp_path),
                      tf.distribute.OneDeviceStrategy("/cpu:0"))
    flops = train_step.step_flops(trainer)
    assert flops["g_forward"] > 0 and flops["d_forward"] > 0
    assert flops["per_step"] == 4 * flops["g_forward"] + 9 * flops["d_forward"]


def test_continuation_benchmark_tiny_scores_model_and_baselines(tmp_path):
    """benchmarks/continuation.py --tiny: trains the extend preset's tiny variant and scores
    it and the model-free baselines on clips it did not train on."""
    out = tmp_path / "continuation.json"
    result = subprocess.run(
        [sys.executable, os.path.join(REPO, "benchmarks", "continuation.py"), "--task=extend",
         "--tiny", "--clips=16", f"--json={out}"],
        capture_output=True, text=True, cwd=REPO, timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert result.returncode == 0, result.stderr[-2000:]
    record = json.loads(out.read_text())
    assert record["context_frames"] == 4 and record["steps"] == 4 and record["clips"] == 16
    assert set(record["baselines"]) == {"copy_last", "linear_extrapolation"}
    # Bouncing shapes barely change in 4 frames: copying the last frame is a strong baseline,
    # and the preset's untrained generator starts at it (the last frame warped by a zero
    # flow, blended in at sigmoid(4) ~ 0.98); a generator that redraws starts below 10 dB.
    copy = record["baselines"]["copy_last"]["psnr"]
    assert copy > 10 and abs(record["untrained"]["psnr"] - copy) < 1.0


def test_benchmark_overrides_parse_json_values_and_refuse_malformed_items():
    sys.path.insert(0, os.path.join(REPO, "benchmarks"))
    from overrides import parse_overrides  # noqa: PLC0415

    assert parse_overrides(['train.g_lr=4e-4', 'train.augment="cutout"',
                            'model.resnet3d.generator.skip_rgb=true']) == {
        "train.g_lr": 4e-4, "train.augment": "cutout",
        "model.resnet3d.generator.skip_rgb": True}
    for bad, why in (("train.steps", "expected FIELD=JSON_VALUE"),
                     ("train.augment=cutout", "Expecting value")):
        with pytest.raises(SystemExit, match=why):
            parse_overrides([bad])


def test_every_quality_variant_is_a_valid_config_in_every_setting():
    """benchmarks/quality.py's named variants build (a field the chosen family does not use
    would be refused), and the videos setting's recipe variant is experiments/videos.py."""
    sys.path.insert(0, os.path.join(REPO, "benchmarks"))
    import quality  # noqa: PLC0415

    for setting in quality.SETTINGS:
        for name, overrides in quality.VARIANTS.items():
            config = quality.make_config(setting, overrides, 1.0)
            assert config.train.time_budget_minutes == 1.0, (setting, name)
    assert (quality.make_config("videos", quality.VARIANTS["resnet3d-recipe+aug"], 45.0)
            == quality.make_config("videos", {}, 45.0))
    old = quality.make_config("videos", quality.VARIANTS["dcgan3d-old-videos+aug"], 45.0)
    assert old.model.generator.name == "dcgan3d" and old.train.beta1 == 0.5
    assert old.model.dcgan3d.generator.channels == 64  # the family's own defaults again
