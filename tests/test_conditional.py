"""Class-conditional generation: labelled built-in data, class names from the data, the
conditional resnet3d (conditional batch norm in G, projection in D), training and its
per-class samples, export with `label`, synthesis per class, and per-class FVD
bookkeeping (with a stand-in feature network)."""

import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest
import tensorflow as tf

from helpers import REPO, with_family
from helpers import one_device as _one_device
from vidgan import config as config_lib
from vidgan import data as data_lib
from vidgan import evaluation
from vidgan import export as export_lib
from vidgan import models
from vidgan import pixels
from vidgan import synthesis
from vidgan.data import synthetic, video_io
from vidgan.models import layers
from vidgan.training import Trainer


def labelled(tiny_config, **updates):
    """The tiny config with resnet3d (dual D: the frames head has a projection too) on
    labelled bouncing shapes."""
    return with_family(tiny_config, "resnet3d", {
        "data.labels": True, "model.resnet3d.discriminator.frames": 2, **updates})


# --- data ----------------------------------------------------------------------------------
def test_labelled_digits_show_the_labelled_digit(tiny_config):
    """moving_digits with labels: every clip's pixels match its label's sprite better than
    any other digit's (template matching on frame 0)."""
    config = config_lib.override(labelled(tiny_config), {
        "data.source": "moving_digits", "data.num_objects": 1,
        "data.height": 32, "data.width": 32, "data.object_size": 0.5})
    batch = next(iter(data_lib.make_dataset(config.data, 16)))
    assert batch["label"].dtype == tf.int32 and batch["label"].shape == (16,)
    size = round(0.5 * 32)
    sprites = synthetic.digit_sprites(size)
    frames = (batch["video"].numpy()[:, 0, :, :, 0] + 1.0) / 2.0  # [B, H, W] in [0, 1]
    for frame, label in zip(frames, batch["label"].numpy()):
        scores = [cv2.matchTemplate(frame.astype(np.float32), sprite, cv2.TM_SQDIFF).min()
                  for sprite in sprites]
        assert int(np.argmin(scores)) == label
    assert len(set(batch["label"].numpy())) > 3  # the labels vary


def test_labelled_shapes_have_a_label_per_clip_and_unlabelled_data_has_none(tiny_config):
    config = labelled(tiny_config)
    batch = next(iter(data_lib.make_dataset(config.data, 32)))
    labels = batch["label"].numpy()
    assert set(labels) == {0, 1}
    plain = next(iter(data_lib.make_dataset(tiny_config.data, 4)))
    assert set(plain) == {"video"}


def test_class_names_come_from_the_data(tiny_config, tmp_path):
    config = data_lib.with_class_names(labelled(tiny_config))
    assert config.data.class_names == ("circle", "square")
    digits = config_lib.override(labelled(tiny_config), {"data.source": "moving_digits"})
    assert data_lib.with_class_names(digits).data.class_names == tuple("0123456789")
    assert data_lib.with_class_names(tiny_config) is tiny_config  # no labels: unchanged
    # Real videos: the sorted folder names.
    for name in ("walk", "jump"):
        os.makedirs(tmp_path / name)
        writer = cv2.VideoWriter(str(tmp_path / name / "a.avi"),
                                 cv2.VideoWriter_fourcc(*"MJPG"), 8, (16, 16))
        for _ in range(10):
            writer.write(np.zeros((16, 16, 3), np.uint8))
        writer.release()
    files = config_lib.override(labelled(tiny_config), {
        "data.source": "video_files", "data.path": str(tmp_path)})
    assert data_lib.with_class_names(files).data.class_names == ("jump", "walk")
    wrong = config_lib.override(files, {"data.class_names": ["walk", "jump"]})
    with pytest.raises(config_lib.ConfigError, match="data.class_names=.*has classes"):
        data_lib.with_class_names(wrong)
    one = config_lib.override(files, {"data.path": str(tmp_path / "walk")})
    with pytest.raises(config_lib.ConfigError, match="at least 2 classes"):
        data_lib.with_class_names(one)


def test_config_refuses_labels_a_family_cannot_use(tiny_config):
    with pytest.raises(config_lib.ConfigError) as e:
        config_lib.override(tiny_config, {"data.labels": True})  # dcgan3d
    message = str(e.value)
    assert "model.generator.name=dcgan3d cannot be class-conditional" in message
    assert "resnet3d" in message and "\n" not in message
    with pytest.raises(config_lib.ConfigError, match="data.class_names is set but"):
        config_lib.override(tiny_config, {"data.class_names": ["a", "b"]})
    with pytest.raises(config_lib.ConfigError, match="expected a list of strings"):
        config_lib.override(labelled(tiny_config), {"data.class_names": "a,b"})
    # A resolved config survives config.json.
    resolved = data_lib.with_class_names(labelled(tiny_config))
    again = config_lib.from_dict(json.loads(config_lib.to_json(resolved)))
    assert again == resolved


# --- models --------------------------------------------------------------------------------
def _randomize_class_norms(model) -> None:
    """ClassBatchNorm starts as plain batch norm (zero gain/offset maps): give it random
    maps so the label shows."""
    rng = np.random.default_rng(0)
    for layer in model._flatten_layers():
        if isinstance(layer, layers.ClassBatchNorm):
            for dense in (layer.gain, layer.offset):
                dense.kernel.assign(rng.normal(0, 0.3, dense.kernel.shape))


def test_conditional_models_declare_and_use_the_label(tiny_config):
    config = data_lib.with_class_names(labelled(tiny_config))
    g, d = models.build_generator(config), models.build_discriminator(config)
    specs = g.input_specs()
    assert specs["label"] == models.InputSpec((), "int32", source="data")
    models.build(g, d)
    z = tf.random.stateless_normal([2, g.z_dim], [1, 2])
    plain = g({"latent": z, "label": tf.constant([0, 0])})
    assert plain.shape == (2, 8, 16, 16, 3)
    # The class embedding feeds G's first projection: the label shows from the start ...
    other = g({"latent": z, "label": tf.constant([1, 1])})
    assert float(tf.reduce_mean(tf.abs(other - plain))) > 1e-4
    # ... as loud as z: the class embedding starts N(0, 1), z's scale (BigGAN).
    assert 0.8 < float(np.std(g.embed.embeddings.numpy())) < 1.2
    # ... and through the class norms once their maps (zero at the start) have learned.
    _randomize_class_norms(g)
    a = g({"latent": z, "label": tf.constant([0, 0])}).numpy()
    b = g({"latent": z, "label": tf.constant([1, 1])}).numpy()
    assert np.abs(a - b).mean() > 1e-3
    # ... while D's projection sees it from the start, in both heads.
    video = tf.random.stateless_uniform([2, 8, 16, 16, 3], [3, 4], -1, 1)
    seed = tf.constant([5, 6], tf.int64)
    h0 = d({"video": video, "label": tf.constant([0, 0]), "seed": seed})
    h1 = d({"video": video, "label": tf.constant([1, 1]), "seed": seed})
    assert set(h0) == {"video", "frames"}
    for head in h0:
        assert not np.allclose(h0[head], h1[head]), head
    with pytest.raises(ValueError, match="needs inputs\\['label'\\]"):
        d({"video": video, "seed": seed})
    with pytest.raises(ValueError, match="missing label"):
        g({"latent": z})


def test_conditional_generator_parameters(tiny_config):
    """Hand count of what conditioning adds: the embedding K x E, E more inputs to the
    first projection (to T0*H0*W0*C0 = 2*4*4*32 units), and per ClassBatchNorm of width C
    two maps (E + z_dim) x C in place of BN's gamma and beta."""
    plain_cfg = with_family(tiny_config, "resnet3d")
    config = data_lib.with_class_names(labelled(tiny_config))
    g_plain, g = models.build_generator(plain_cfg), models.build_generator(config)
    models.build(g_plain)
    models.build(g)
    section = config.model.resnet3d.generator
    e, z = section.embed_dim, section.z_dim
    # Tiny widths 8..32 over 2 stages: blocks 32->16 and 16->8; norms of widths
    # 32, 16 (block 0), 16, 8 (block 1) and 8 (out_norm).
    norm_widths = [32, 16, 16, 8, 8]
    added = 2 * e + e * 2 * 4 * 4 * 32 + sum(2 * (e + z) * c - 2 * c for c in norm_widths)
    assert g.count_params() - g_plain.count_params() == added


# --- training -------------------------------------------------------------------------------
def test_conditional_training_moves_the_embeddings_and_samples_per_class(tiny_config,
                                                                         tmp_path):
    config = labelled(tiny_config, **{"train.num_samples": 6})
    trainer = Trainer(config, str(tmp_path), _one_device())
    assert trainer.config.data.class_names == ("circle", "square")
    g_embed = trainer.generator.embed.embeddings.numpy().copy()
    d_embed = trainer.discriminator.embed.kernel.numpy().copy()
    iterator = trainer.iterator(0)
    for _ in range(2):  # G's embedding gets gradients once its norms' maps have moved
        values = trainer.train_step(iterator)
    assert all(np.isfinite(v) for v in values.values())
    assert not np.allclose(trainer.generator.embed.embeddings.numpy(), g_embed)
    assert not np.allclose(trainer.discriminator.embed.kernel.numpy(), d_embed)
    # One row per class, the same seeds in every row.
    inputs = trainer.fixed_inputs()
    assert trainer.sample_columns == 3
    np.testing.assert_array_equal(inputs["label"], [0, 0, 0, 1, 1, 1])
    np.testing.assert_array_equal(inputs["latent"][:3], inputs["latent"][3:])
    assert trainer.sample().shape == (6, 8, 16, 16, 3)


def test_class_head_learns_labels_and_steers_the_generator(tiny_config, tmp_path):
    """discriminator.class_weight (AC-GAN): D returns class logits [B, K] beside its heads;
    the step adds class_weight * cross-entropy to D's loss (real clips, their labels) and
    to G's (fakes, the labels they were made for), logged as loss/d_class, loss/g_class;
    the classifier is a (spectrally normalized) dense layer C -> K without bias."""
    config = labelled(tiny_config, **{"model.resnet3d.discriminator.class_weight": 0.5})
    trainer = Trainer(config, str(tmp_path), _one_device())
    d = trainer.discriminator
    video = tf.zeros([3, 8, 16, 16, 3])
    heads = d({"video": video, "label": tf.constant([0, 1, 1]),
               "seed": tf.constant([1, 2], tf.int64)})
    assert heads["class"].shape == (3, 2) and heads["class"].dtype == tf.float32
    features = d.classify.kernel.shape[0]
    assert d.classify.count_params() == features * 2 + 2  # kernel (no bias), SN's u
    classify0 = d.classify.kernel.numpy().copy()
    values = trainer.train_step(trainer.iterator(0))
    assert values["loss/d_class"] > 0 and values["loss/g_class"] > 0
    assert not np.allclose(d.classify.kernel.numpy(), classify0)
    with pytest.raises(config_lib.ConfigError, match="class_weight needs a class-conditional"):
        with_family(tiny_config, "resnet3d", {"model.resnet3d.discriminator.class_weight": 1.0})


def test_class_head_on_two_mirrored_replicas_matches_one_device(tiny_config, tmp_path):
    """The class losses average over the GLOBAL batch: two replicas give one device's
    metrics and weights. (One D head: the frames head's logit bias gets exactly cancelling
    hinge gradients, whose round-off Adam turns into a step of either sign.)"""
    from helpers import copy_weights, mirrored  # noqa: PLC0415

    config = labelled(tiny_config, **{"model.resnet3d.discriminator.class_weight": 0.5,
                                      "model.resnet3d.discriminator.frames": 0})
    single = Trainer(config, str(tmp_path / "one"), _one_device())
    two = Trainer(config, str(tmp_path / "two"), mirrored())
    copy_weights(single, two)
    a, b = single.train_step(single.iterator(0)), two.train_step(two.iterator(0))
    for key in a:
        np.testing.assert_allclose(b[key], a[key], rtol=2e-4, atol=1e-5, err_msg=key)
    for va, vb in zip(single.discriminator.weights, two.discriminator.weights):
        np.testing.assert_allclose(vb.numpy(), va.numpy(), rtol=1e-3, atol=5e-5,
                                   err_msg=va.path)


def test_conditional_run_writes_class_names_and_resumes(tiny_config, tmp_path):
    config = labelled(tiny_config)
    workdir = str(tmp_path / "run")
    assert Trainer(config, workdir, _one_device()).train() == 4
    with open(os.path.join(workdir, "config.json")) as f:
        stored = json.load(f)["config"]
    assert stored["data"]["class_names"] == ["circle", "square"]
    more = config_lib.override(config, {"train.steps": 6})
    assert Trainer(more, workdir, _one_device()).train() == 6


def test_digits_by_class_preset_trains_from_the_cli(tmp_path):
    """experiments/moving_digits.py:labels_tiny through `vidgan train`: the classes reach
    config.json and the samples are one row per digit."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    workdir = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "-m", "vidgan.cli.main", "train",
         "--config=" + os.path.join(REPO, "experiments", "moving_digits.py") + ":labels_tiny",
         f"--workdir={workdir}"], capture_output=True, text=True, cwd=REPO, env=env,
        timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    config = json.loads((workdir / "config.json").read_text())["config"]
    assert config["data"]["class_names"] == list("0123456789")
    assert config["model"]["generator"]["name"] == "resnet3d" and config["data"]["num_objects"] == 1
    grid = video_io.read_video(str(workdir / "samples" / "step_0000004.gif"), "gif",
                               num_frames=8)
    assert grid.shape[1] == 10 * 17 - 1  # ten rows of 16-pixel clips, 1-pixel gaps


# --- export and synthesis ---------------------------------------------------------------
@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A conditional tiny run (4 steps, with class norms made label-sensitive before
    export), its trainer and its SavedModel."""
    from vidgan import config as c  # noqa: PLC0415

    base = tmp_path_factory.mktemp("conditional")
    tiny = c.from_dict(c.make_tiny(c.default_config()))
    # 16 frames: FVD's feature network needs >= 9.
    config = with_family(tiny, "resnet3d", {"data.labels": True, "data.num_frames": 16})
    workdir = str(base / "run")
    trainer = Trainer(config, workdir, _one_device())
    trainer.train()
    _randomize_class_norms(trainer.ema_generator)
    trainer.manager.save(checkpoint_number=4)  # overwrite: the export reads this
    version = export_lib.export(workdir, str(base / "export"))
    return trainer, version, str(base)


def test_export_takes_a_label_and_matches_training_samples(exported):
    trainer, version, _ = exported
    module = tf.saved_model.load(version)
    meta = json.loads(module.signatures["metadata"]()["json"].numpy())
    assert meta["conditional"] is True and meta["class_names"] == ["circle", "square"]
    inputs = trainer.fixed_inputs()
    columns = trainer.sample_columns
    seeds = tf.tile(tf.range(columns, dtype=tf.int64), [2])
    out = module.signatures["generate"](seed=seeds, label=inputs["label"])["video"].numpy()
    np.testing.assert_array_equal(out, pixels.to_uint8(trainer.sample()).numpy())
    a = module.signatures["generate"](seed=tf.constant([0, 0], tf.int64),
                                      label=tf.constant([0, 1]))["video"].numpy()
    assert np.abs(a[0].astype(int) - a[1]).mean() > 0.5  # the label changes the video
    latents = module.signatures["generate"](seed=tf.constant([3], tf.int64),
                                            label=tf.constant([1]))
    again = module.signatures["generate_from_latents"](latents=latents["latents"],
                                                       label=tf.constant([1]))
    np.testing.assert_array_equal(again["video"], latents["video"])
    for label, message in (([2], "one class in \\[0, 2\\)"), ([-1], "one class"),
                           ([0, 1], "one class")):
        with pytest.raises(tf.errors.InvalidArgumentError, match=message):
            module.signatures["generate"](seed=tf.constant([0], tf.int64),
                                          label=tf.constant(label))
    with pytest.raises(TypeError):
        module.signatures["generate"](seed=tf.constant([0], tf.int64))


def test_synthesis_per_class_folders_and_label_errors(exported, tmp_path):
    _, version, _ = exported
    meta = synthesis.load_model(version)[1]
    assert synthesis.resolve_labels(meta, "1") == (1,)
    assert synthesis.resolve_labels(meta, "all") == (0, 1)
    assert synthesis.resolve_labels(meta, label_names="square,circle") == (1, 0)
    for labels, names, message in (("", "", "class-conditional: pass --labels"),
                                   ("2", "", "unknown class 2"), ("x", "", "class indices"),
                                   ("", "star", "unknown class name 'star'"),
                                   ("0", "circle", "pass --labels")):
        with pytest.raises(synthesis.SynthesisError, match=message):
            synthesis.resolve_labels(meta, labels, names)
    with pytest.raises(synthesis.SynthesisError, match="not class-conditional"):
        synthesis.resolve_labels({"conditional": False}, "1")
    out = tmp_path / "out"
    summary = synthesis.synthesize(synthesis.SynthesisRequest(
        version, str(out), num_videos=2, format="npz", labels=(1, 0)), progress=False)
    assert summary["written"] == 4
    manifest = json.loads((out / "manifest.json").read_text())
    assert [(v["class_name"], v["seed"]) for v in manifest["videos"]] == [
        ("square", 0), ("square", 1), ("circle", 0), ("circle", 1)]
    module = tf.saved_model.load(version)
    expected = module.signatures["generate"](seed=tf.constant([1], tf.int64),
                                             label=tf.constant([1]))["video"].numpy()[0]
    with np.load(out / "square" / "seed_00000001.npz") as stored:
        np.testing.assert_array_equal(stored[stored.files[0]], expected)
    again = synthesis.synthesize(synthesis.SynthesisRequest(
        version, str(out), num_videos=2, format="npz", labels=(1, 0)), progress=False)
    assert again["skipped"] == 4 and again["written"] == 0
    with pytest.raises(synthesis.SynthesisError, match="pass --labels"):
        synthesis.synthesize(synthesis.SynthesisRequest(version, str(tmp_path / "o2"), 1),
                             progress=False)


def test_synthesize_cli_unknown_class_is_one_line(exported, tmp_path):
    _, version, _ = exported
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, "-m", "vidgan.cli.main", "synthesize", f"--model_dir={version}",
         f"--out_dir={tmp_path}", "--num_videos=1", "--label_names=circle,star"],
        capture_output=True, text=True, cwd=REPO, env=env, timeout=180)
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[-1].startswith("vidgan synthesize: error: unknown class name 'star'")
    assert "Traceback" not in result.stderr


# --- evaluation (stand-in features) -------------------------------------------------------
class ColorFeatures:
    """A stand-in for I3D: per-channel means and standard deviations and the mean frame
    difference of uint8 videos -> [N, 7] (evaluation's bookkeeping, not its numbers)."""

    weights_sha256 = "stand-in"

    def __init__(self, weights=None):
        self.calls = 0

    def __call__(self, videos):
        self.calls += 1
        v = videos.astype(np.float32) / 255.0
        motion = np.abs(np.diff(v, axis=1)).mean(axis=(1, 2, 3, 4))
        return np.concatenate([v.mean(axis=(1, 2, 3)), v.std(axis=(1, 2, 3)),
                               motion[:, None]], axis=1)


def test_per_class_fvd_matches_labels(exported, monkeypatch, tmp_path):
    trainer, version, _ = exported
    monkeypatch.setenv("VIDGAN_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(evaluation, "FeatureExtractor", ColorFeatures)
    source = evaluation.source_from_saved_model(version)
    calls = []
    generate = source.generate

    def recording(seeds, labels=None):
        calls.append((list(seeds), None if labels is None else list(labels)))
        return generate(seeds, labels)

    source = evaluation.Source(recording, source.config, source.description)
    protocol = evaluation.Protocol(num_clips=8, num_frames=16, batch_size=4)
    result = evaluation.evaluate(source, protocol=protocol, per_class=True, progress=False)
    assert set(result["per_class"]) == {"circle", "square"}
    for v in result["per_class"].values():
        assert len(v["fvd"]) == 1 and np.isfinite(v["fvd_mean"])
    # Overall: video i got real clip i's label; per class: all videos the class's label.
    real_cfg = evaluation.real_data_config(source.config.data, protocol, (16, 16, 16))
    _, labels, _, cached = evaluation.labelled_real_features(real_cfg, protocol,
                                                            ColorFeatures())
    assert cached  # evaluate() stored them, with their labels
    overall = [label for _, batch in calls[:2] for label in batch]
    assert overall == list(labels)
    assert [set(batch) for _, batch in calls[2:]] == [{0}, {0}, {1}, {1}]
    for c in (0, 1):
        _, class_labels, _, cached = evaluation.labelled_real_features(
            real_cfg, protocol, ColorFeatures(), label=c)
        assert cached and set(class_labels) == {c}
    with pytest.raises(evaluation.EvaluationError, match="a label per video"):
        evaluation.generated_features(source, protocol, ColorFeatures(), progress=False)


def test_litert_export_takes_the_label(exported):
    """The LiteRT flatbuffer of a conditional run has a label input; seed and label give
    the SavedModel's video (float32: within 50 dB PSNR)."""
    from vidgan.export import litert  # noqa: PLC0415

    _, version, base = exported
    model = litert.LiteRTModel(litert.export_litert(os.path.join(base, "run"),
                                                    os.path.join(base, "litert")))
    seeds, labels = tf.constant([0, 0, 5], tf.int64), tf.constant([0, 1, 1])
    video = model.generate(seeds, label=labels)["video"].numpy()
    expected = tf.saved_model.load(version).signatures["generate"](
        seed=seeds, label=labels)["video"].numpy()
    mse = np.mean((video.astype(np.float64) - expected) ** 2)
    assert mse == 0 or 10 * np.log10(255.0**2 / mse) >= 50.0
    assert np.abs(video[0].astype(int) - video[1]).mean() > 0.5  # the label counts
