"""Context models (data.context_frames = k > 0): image -> video (k = 1) and continuing a
video (k > 1). The data gives the context, resnet3d's encoder takes it, the output starts
with it exactly, training and the exported `animate` / `extend` signatures, `vidgan
animate` and `vidgan extend` with their one-line errors."""

import json
import os

import cv2
import numpy as np
import pytest
import tensorflow as tf

from helpers import REPO, last_line, vidgan, with_family, write_video
from helpers import one_device as _one_device
from vidgan import config as config_lib
from vidgan import continuation
from vidgan import data as data_lib
from vidgan import export as export_lib
from vidgan import models
from vidgan import synthesis
from vidgan.data import video_io
from vidgan.training import Trainer



def with_context(tiny_config, k: int, **updates):
    return with_family(tiny_config, "resnet3d", {"data.context_frames": k, **updates})


# --- config, data, model -------------------------------------------------------------------
def test_config_checks_context_frames(tiny_config):
    with pytest.raises(config_lib.ConfigError, match="cannot be conditioned on context"):
        config_lib.override(tiny_config, {"data.context_frames": 1})  # dcgan3d
    with pytest.raises(config_lib.ConfigError, match=r"context_frames must be in \[0, "):
        with_context(tiny_config, 8)  # num_frames is 8: nothing left to generate
    assert with_context(tiny_config, 7).data.context_frames == 7


def test_batches_carry_the_first_k_frames(tiny_config):
    config = with_context(tiny_config, 3)
    batch = next(iter(data_lib.make_dataset(config.data, 4)))
    assert batch["context"].shape == (4, 3, 16, 16, 3)
    np.testing.assert_array_equal(batch["context"], batch["video"][:, :3])


def test_context_generator_starts_with_the_context_and_follows_it(tiny_config):
    config = with_context(tiny_config, 2)
    g = models.build_generator(config)
    specs = g.input_specs()
    assert specs["context"].shape == (2, 16, 16, 3) and specs["context"].source == "data"
    models.build(g)
    z = tf.random.stateless_normal([2, specs["latent"].shape[0]], [1, 2])
    context = tf.random.stateless_uniform([2, 2, 16, 16, 3], [3, 4], -1.0, 1.0)
    video = g({"latent": z, "context": context})
    assert video.shape == (2, 8, 16, 16, 3) and video.dtype == tf.float32
    np.testing.assert_array_equal(video[:, :2], context)  # exactly the given frames
    other = g({"latent": z, "context": context[::-1]})
    # The same latent continues another context differently: the encoder is wired in.
    assert float(tf.reduce_mean(tf.abs(other[::-1, 2:] - video[:, 2:]))) > 0
    assert float(tf.reduce_mean(tf.abs(other[:, 2:] - video[:, 2:]))) > 1e-3
    with pytest.raises(ValueError, match="missing context"):
        g({"latent": z})


def test_blend_last_mixes_the_last_context_frame_with_drawn_pixels(tiny_config):
    """blend_last: a 3x3x3 mask head (C -> 1, + bias) beside the RGB head; a mask of 1
    copies the last context frame into every generated frame, a mask of 0 gives the drawn
    frames (the same generator's RGB head), and at initialization the mask is ~0.88, so the
    output is near the last frame. Without context frames it is a config error."""
    config = with_context(tiny_config, 2, **{"model.resnet3d.generator.blend_last": True})
    plain_config = with_context(tiny_config, 2)
    g, plain = models.build_generator(config), models.build_generator(plain_config)
    models.build(g), models.build(plain)
    head_in = g.to_mask.kernel.shape[3]
    assert g.count_params() == plain.count_params() + 27 * head_in + 1
    z = tf.random.stateless_normal([2, g.z_dim], [1, 2])
    context = tf.random.stateless_uniform([2, 2, 16, 16, 3], [3, 4], -1.0, 1.0)
    inputs = {"latent": z, "context": context}
    start = g(inputs).numpy()
    last = context.numpy()[:, -1:]
    # |out - last| = (1 - m) |drawn - last| <= 2 (1 - m): small where m is near 0.88
    assert np.abs(start[:, 2:] - last).mean() < 0.5 * np.abs(last).mean()
    g.to_mask.kernel.assign(tf.zeros_like(g.to_mask.kernel))
    g.to_mask.bias.assign([50.0])
    np.testing.assert_allclose(g(inputs)[:, 2:], np.broadcast_to(last, start[:, 2:].shape),
                               atol=1e-6)
    g.to_mask.bias.assign([-50.0])
    mask_vars = {id(v) for v in g.to_mask.weights}
    plain.set_weights([v.numpy() for v in g.weights if id(v) not in mask_vars])
    np.testing.assert_allclose(g(inputs), plain(inputs), atol=1e-5)
    with pytest.raises(config_lib.ConfigError, match="blend_last .* needs data.context_frames"):
        with_family(tiny_config, "resnet3d", {"model.resnet3d.generator.blend_last": True})


def test_warp_last_starts_as_blend_last_and_moves_the_last_frame(tiny_config):
    """warp_last: a zero-initialized 3x3x3 flow head (C -> 2, + bias) beside the mask, so
    the untrained model is blend_last's (same weights, same output); a constant flow moves
    the copied last frame; mask_bias sets the mask's start; warp_last alone is refused."""
    warp_config = with_context(tiny_config, 2, **{"model.resnet3d.generator.blend_last": True,
                                                  "model.resnet3d.generator.warp_last": True,
                                                  "model.resnet3d.generator.mask_bias": 50.0})
    blend_config = with_context(tiny_config, 2, **{"model.resnet3d.generator.blend_last": True})
    g, blend = models.build_generator(warp_config), models.build_generator(blend_config)
    models.build(g), models.build(blend)
    head_in = g.to_flow.kernel.shape[3]
    assert g.count_params() == blend.count_params() + 2 * (27 * head_in + 1)
    z = tf.random.stateless_normal([2, g.z_dim], [1, 2])
    context = tf.random.stateless_uniform([2, 2, 16, 16, 3], [3, 4], -1.0, 1.0)
    inputs = {"latent": z, "context": context}
    flow_vars = {id(v) for v in g.to_flow.weights}
    blend.set_weights([v.numpy() for v in g.weights if id(v) not in flow_vars])
    np.testing.assert_allclose(g(inputs), blend(inputs), atol=1e-6)  # mask bias 50 in both
    for model in (g, blend):  # a mask of 0.5: the drawn pixels count as much
        model.to_mask.bias.assign([0.0])
    np.testing.assert_allclose(g(inputs), blend(inputs), atol=1e-6)
    for model in (g, blend):
        model.to_mask.bias.assign([50.0])
    last = context.numpy()[:, -1]
    np.testing.assert_allclose(g(inputs)[:, 2:], np.broadcast_to(last[:, None],
                                                                 (2, 6, 16, 16, 3)), atol=1e-6)
    g.to_flow.bias.assign([0.0, 3.0])  # every generated pixel fetched 3 pixels to its right
    moved = g(inputs).numpy()
    np.testing.assert_allclose(moved[:, 2:, :, :13], np.broadcast_to(
        last[:, None, :, 3:], (2, 6, 16, 13, 3)), atol=1e-5)
    np.testing.assert_array_equal(moved[:, :2], context)  # the context stays as given
    with pytest.raises(config_lib.ConfigError, match="warp_last .* needs generator.blend_last"):
        with_context(tiny_config, 2, **{"model.resnet3d.generator.warp_last": True})


def test_context_training_runs_and_resumes(tiny_config, tmp_path):
    config = with_context(tiny_config, 1)
    workdir = str(tmp_path / "run")
    trainer = Trainer(config, workdir, _one_device())
    assert trainer.train() == 4
    fixed = trainer.fixed_inputs()
    first = next(iter(data_lib.make_dataset(config.data, fixed["latent"].shape[0])))
    np.testing.assert_array_equal(fixed["context"], first["context"])
    samples = trainer.sample()
    np.testing.assert_array_equal(samples[:, :1], first["video"][:, :1])
    more = config_lib.override(config, {"train.steps": 6})
    assert Trainer(more, workdir, _one_device()).train() == 6


# --- export ---------------------------------------------------------------------------------
def _export(tiny_config, base, k: int, **updates) -> str:
    config = with_context(tiny_config, k, **updates)
    workdir = str(base / f"run{k}")
    Trainer(config, workdir, _one_device()).train()
    return export_lib.export(workdir, str(base / f"export{k}"))


@pytest.fixture(scope="module")
def animate_model(tmp_path_factory):
    from vidgan import config as c  # noqa: PLC0415

    tiny = c.from_dict(c.make_tiny(c.default_config()))
    return _export(tiny, tmp_path_factory.mktemp("animate"), 1)


@pytest.fixture(scope="module")
def extend_model(tmp_path_factory):
    from vidgan import config as c  # noqa: PLC0415

    tiny = c.from_dict(c.make_tiny(c.default_config()))
    return _export(tiny, tmp_path_factory.mktemp("extend"), 3)


def _images(n: int, size=(16, 16), seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, *size, 3), dtype=np.uint8)


def test_animate_signature_keeps_the_image_as_frame_zero(animate_model):
    module = tf.saved_model.load(animate_model)
    meta = json.loads(module.signatures["metadata"]()["json"].numpy())
    assert meta["context_frames"] == 1
    assert "generate" not in module.signatures
    images = _images(3)
    seeds = tf.constant([0, 1, 0], tf.int64)
    video = module.signatures["animate"](image=tf.constant(images), seed=seeds)["video"]
    assert video.dtype == tf.uint8 and video.shape == (3, 8, 16, 16, 3)
    np.testing.assert_array_equal(video[:, 0], images)  # exactly, as uint8
    again = module.signatures["animate"](image=tf.constant(images[:1]), seed=seeds[:1])
    np.testing.assert_array_equal(again["video"], video[:1])  # seed s: same at any batch
    assert np.abs(video[0, 1:].numpy().astype(int) - video[1, 1:]).mean() > 0
    # Another size: resized (antialiased bilinear), and frame 0 is the resized image.
    big = _images(1, (40, 24), seed=1)
    out = module.signatures["animate"](image=tf.constant(big), seed=seeds[:1])["video"]
    resized = tf.image.resize(tf.cast(big, tf.float32), [16, 16], antialias=True)
    expected = tf.cast(tf.clip_by_value(tf.round(resized), 0, 255), tf.uint8)
    np.testing.assert_array_equal(out[:, 0], expected)
    with pytest.raises(tf.errors.InvalidArgumentError, match="seed must be int64"):
        module.signatures["animate"](image=tf.constant(images), seed=seeds[:2])
    with pytest.raises(tf.errors.InvalidArgumentError, match="image must be uint8"):
        module.signatures["animate"](image=tf.constant(images[0]), seed=seeds[:1])


def test_extend_signature_continues_chunk_by_chunk(extend_model, animate_model):
    module = tf.saved_model.load(extend_model)
    assert "animate" not in module.signatures  # three context frames: not an image model
    frames = tf.constant(np.stack([_images(5, seed=2), _images(5, seed=3)]))  # [2, 5, ...]
    seed = tf.constant([4, 5], tf.int64)
    out = module.signatures["extend"](frames=frames, seed=seed,
                                      num_frames=tf.constant(12))["video"]
    assert out.dtype == tf.uint8 and out.shape == (2, 12, 16, 16, 3)
    # Piece by piece (5 new frames per chunk: T = 8, k = 3) gives the one-call result.
    window, parts = frames, []
    for c in range(3):
        new = module.signatures["extend_from_chunk"](
            frames=window, seed=seed, num_frames=tf.constant(5),
            first_chunk=tf.constant(c))["video"]
        parts.append(new)
        window = tf.concat([window, new], axis=1)
    np.testing.assert_array_equal(tf.concat(parts, axis=1)[:, :12], out)
    # Only the last k frames matter.
    short = module.signatures["extend"](frames=frames[:, 2:], seed=seed,
                                        num_frames=tf.constant(12))["video"]
    np.testing.assert_array_equal(short, out)
    for kwargs, message in (
            ({"frames": frames[:, :2]}, "m >= 3"),
            ({"num_frames": tf.constant(0)}, "num_frames must be a positive"),
            ({"frames": frames[:, :, :, :, :2]}, "frames must be uint8")):
        args = {"frames": frames, "seed": seed, "num_frames": tf.constant(4), **kwargs}
        with pytest.raises(tf.errors.InvalidArgumentError, match=message):
            module.signatures["extend"](**args)
    # An image model extends too, and its first chunk is what `animate` makes.
    animate = tf.saved_model.load(animate_model)
    image = _images(1, seed=4)
    animated = animate.signatures["animate"](image=tf.constant(image),
                                             seed=tf.constant([7], tf.int64))["video"]
    extended = animate.signatures["extend"](frames=tf.constant(image[:, None]),
                                            seed=tf.constant([7], tf.int64),
                                            num_frames=tf.constant(7))["video"]
    np.testing.assert_array_equal(extended, animated[:, 1:])


def test_synthesize_refuses_a_context_model(animate_model, tmp_path):
    with pytest.raises(synthesis.SynthesisError, match="use vidgan animate or vidgan extend"):
        synthesis.synthesize(synthesis.SynthesisRequest(animate_model, str(tmp_path), 1),
                             progress=False)


def test_export_refuses_enhancement_for_a_context_model(tiny_config, tmp_path):
    config = with_context(tiny_config, 1)
    workdir = str(tmp_path / "run")
    Trainer(config, workdir, _one_device()).train()
    with pytest.raises(export_lib.ExportError, match="enhance its videos afterwards"):
        export_lib.export(workdir, str(tmp_path / "export"), enhance="sharpen")


# --- animate / extend (library and CLI) --------------------------------------------------
def test_animate_writes_videos_per_image_and_resumes(animate_model, tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    for i, image in enumerate(_images(2, (32, 48), seed=5)):
        cv2.imwrite(str(images / f"photo{i}.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    request = continuation.AnimateRequest(animate_model, str(images), str(tmp_path / "out"),
                                          num_videos=2, format="npz")
    summary = continuation.animate(request, progress=False)
    assert (summary["written"], summary["skipped"]) == (4, 0)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert [v["path"] for v in manifest["videos"]] == [
        f"photo{i}/seed_{s:08d}.npz" for i in range(2) for s in range(2)]
    video = video_io.read_video(str(tmp_path / "out" / "photo1" / "seed_00000001.npz"), "npz")
    first = cv2.cvtColor(cv2.imread(str(images / "photo1.png")), cv2.COLOR_BGR2RGB)
    np.testing.assert_array_equal(video[0], continuation.fit_frame(first, 16, 16,
                                                                   "center_crop"))
    again = continuation.animate(request, progress=False)
    assert (again["written"], again["skipped"]) == (0, 4)


def test_animate_cli_errors_are_one_line(animate_model, extend_model, tmp_path):
    result = vidgan("animate", f"--model_dir={extend_model}", f"--image={tmp_path}",
                  f"--out_dir={tmp_path / 'o'}")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert last_line(result).startswith("vidgan animate: error: ")
    assert "not one image: use vidgan extend" in last_line(result)
    result = vidgan("animate", f"--model_dir={animate_model}", f"--image={tmp_path}",
                  f"--out_dir={tmp_path / 'o'}")
    assert result.returncode == 2 and "holds no images" in last_line(result)


def test_extend_cli_input_then_continuation(extend_model, tmp_path):
    """A 2-second input at 16 fps becomes 4 seconds at the model's fps; the output starts
    with the input resampled and resized, then the continuation."""
    fps = json.loads(tf.saved_model.load(extend_model).signatures["metadata"]()["json"]
                     .numpy())["fps"]
    source = np.random.default_rng(6).integers(0, 256, (32, 24, 32, 3), dtype=np.uint8)
    write_video(tmp_path / "in.avi", source, 16)
    out = tmp_path / "out.npz"
    result = vidgan("extend", f"--model_dir={extend_model}", f"--input={tmp_path / 'in.avi'}",
                  "--seconds=4", f"--output={out}", "--seed=3")
    assert result.returncode == 0, result.stderr[-2000:]
    video = video_io.read_video(str(out), "npz")
    assert video.shape == (4 * fps, 16, 16, 3)
    given = continuation.read_video(str(tmp_path / "in.avi"), fps, 16, 16, "center_crop")
    assert len(given) == 2 * fps
    np.testing.assert_array_equal(video[:len(given)], given)
    summary = continuation.extend(continuation.ExtendRequest(
        extend_model, str(tmp_path / "in.avi"), str(tmp_path / "again.npz"), frames=4 * fps,
        seed=3), progress=False)
    assert summary["generated_frames"] == 2 * fps
    np.testing.assert_array_equal(video_io.read_video(str(tmp_path / "again.npz"), "npz"),
                                  video)


def test_extend_cli_errors_are_one_line(extend_model, tmp_path):
    write_video(tmp_path / "short.avi", _images(2), 8)  # 2 frames; the model needs 3
    (tmp_path / "junk.mp4").write_bytes(b"not a video")
    cases = [
        ([f"--input={tmp_path / 'short.avi'}", "--frames=20"], "the model continues from"),
        ([f"--input={tmp_path / 'junk.mp4'}", "--frames=20"], "junk.mp4: "),
        ([f"--input={tmp_path / 'short.avi'}", "--seconds=-1"], "seconds must be > 0"),
        ([f"--input={tmp_path / 'short.avi'}"], "give the output length"),
    ]
    for args, message in cases:
        result = vidgan("extend", f"--model_dir={extend_model}", *args,
                      f"--output={tmp_path / 'o.mp4'}")
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
        assert last_line(result).startswith("vidgan extend: error: ")
        assert message in last_line(result), last_line(result)


@pytest.mark.parametrize("experiment", ["animate.py:tiny", "extend.py:tiny"])
def test_context_presets_train_from_the_cli(experiment, tmp_path):
    result = vidgan("train", "--config=" + os.path.join(REPO, "experiments", experiment),
                  f"--workdir={tmp_path / 'run'}", timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    config = json.loads((tmp_path / "run" / "config.json").read_text())["config"]
    assert config["data"]["context_frames"] == (1 if experiment.startswith("animate") else 4)
