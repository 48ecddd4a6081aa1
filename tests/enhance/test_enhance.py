"""Enhancement passes (vidgan.enhance): shapes, dtypes and ranges, serialization, what each
pass does to synthetic videos (denoise, sharpen, super-resolution), SR degradation and
training (library and `vidgan train-sr`), chunked `enhance_file` / `vidgan enhance`, and
SavedModel export with the chain baked in (loadable without vidgan, keras, tensorflow_io)."""

import glob
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile

import cv2
import keras
import numpy as np
import pytest
import tensorflow as tf

from helpers import (LOADER, REPO, assert_one_line_error, read_events,
                     run_concurrently, vidgan, vidgan_argv)
from vidgan import config as config_lib
from vidgan import data as data_lib
from vidgan import pixels
from vidgan.data import video_io
from vidgan.enhance import (Denoise, EnhanceError, Enhancement, Sharpen, SuperResolution,
                            build_chain, parse)
from vidgan.enhance import sr as sr_lib
from vidgan.enhance import video as video_lib
from vidgan.enhance import srnet
from vidgan.enhance.srnet import rgb_to_ycbcr, ycbcr_to_rgb
from vidgan.metrics.quality import psnr
from vidgan.training import workdir as workdir_lib

SR_EXPERIMENT = os.path.join(REPO, "experiments", "sr.py")
SR_TINY = SR_EXPERIMENT + ":tiny"
GAN_TINY = os.path.join(REPO, "experiments", "quickstart.py") + ":tiny"


# --- helpers ---------------------------------------------------------------------------

def sr_experiment(variant="tiny"):
    """experiments/sr.py's get_config(variant) as a ConfigDict (to edit, then from_dict)."""
    spec = importlib.util.spec_from_file_location("sr_experiment", SR_EXPERIMENT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.get_config(variant)


def random_video(shape, seed=0):
    """float32 in [-1, 1], including the extremes exactly."""
    video = np.random.default_rng(seed).uniform(-1, 1, shape).astype(np.float32)
    video.reshape(-1)[:2] = (-1.0, 1.0)
    return video


def to_float(video_uint8):
    return np.asarray(video_uint8, np.float32) / 127.5 - 1.0


def upscale(video, scale, method):
    """[B, T, h, w, C] -> [B, T, s*h, s*w, C] with tf.image.resize, frame by frame."""
    b, t, h, w, c = video.shape
    frames = tf.image.resize(tf.reshape(video, [b * t, h, w, c]), [h * scale, w * scale],
                             method=method)
    return tf.reshape(frames, [b, t, h * scale, w * scale, c]).numpy()


def neighbours(video):
    """(previous, next) frames with the ends repeated, as the temporal passes see them."""
    return (np.concatenate([video[:, :1], video[:, :-1]], 1),
            np.concatenate([video[:, 1:], video[:, -1:]], 1))


def randomized_sr_net(scale=2, channels=6, frames=3, seed=0, hw=(8, 8)):
    """An SRNet whose weights (the zero-initialized tail too) are random, so it is not
    just bicubic and reads its neighbour frames."""
    net = srnet.SRNet(scale, channels, frames).build_for(*hw)
    rng = np.random.default_rng(seed)
    net.set_weights([rng.normal(0, 0.3, w.shape).astype(np.float32) for w in net.get_weights()])
    return net


def mse(a, b):
    return float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))


# --- 1. shapes, dtypes, ranges, bad inputs ------------------------------------------------

PASS_FACTORIES = {
    "denoise": (lambda: Denoise(), 1),
    "denoise_spatial_only": (lambda: Denoise(temporal=0), 1),
    "sharpen": (lambda: Sharpen(amount=2.0), 1),
    "bicubic2x": (lambda: SuperResolution(2, "bicubic"), 2),
    "bicubic4x": (lambda: SuperResolution(4, "bicubic"), 4),
    "learned2x": (lambda: SuperResolution(2, "learned", network=randomized_sr_net(2)), 2),
    "learned4x": (lambda: SuperResolution(4, "learned", network=randomized_sr_net(4)), 4),
    "learned2x_untrained": (lambda: SuperResolution(2, "learned"), 2),
    "chain": (lambda: Enhancement(build_chain("denoise,sharpen,bicubic2x")), 2),
}


@pytest.mark.parametrize("name", sorted(PASS_FACTORIES))
def test_pass_keeps_dtype_and_range_and_scales_shape(name):
    """float32 [-1, 1] in -> float32 in [-1, 1] out; uint8 in -> uint8 out; the shape is
    [B, T, s*H, s*W, 3] (s = 1 without super-resolution); int32 in -> TypeError."""
    make, scale = PASS_FACTORIES[name]
    layer = make()
    shape = (2, 3, 12, 10, 3)
    expected = (2, 3, 12 * scale, 10 * scale, 3)
    x = random_video(shape)
    y = layer(x)
    assert y.dtype == tf.float32 and tuple(y.shape) == expected
    y = y.numpy()
    assert np.all(np.isfinite(y)) and y.min() >= -1.0 and y.max() <= 1.0
    u = np.round((x + 1) * 127.5).astype(np.uint8)
    v = layer(u)
    assert v.dtype == tf.uint8 and tuple(v.shape) == expected
    # The uint8 path is the float path on the decoded frames, rounded.
    reference = np.round((layer(to_float(u)).numpy() + 1) * 127.5)
    assert np.abs(v.numpy().astype(int) - reference).max() <= 1
    with pytest.raises(TypeError, match="expected uint8 or float videos, got int32"):
        layer(tf.zeros(shape, tf.int32))


def test_learned_sr_output_is_clipped():
    """A random (untrained) network overshoots [-1, 1]; the layer clips, SRNet does not."""
    net = randomized_sr_net(2, seed=3)
    x = random_video((1, 3, 8, 8, 3))
    raw = net(x).numpy()
    assert raw.min() < -1.0 or raw.max() > 1.0  # or this test proves nothing
    y = SuperResolution(2, "learned", network=net)(x).numpy()
    np.testing.assert_allclose(y, np.clip(raw, -1, 1), atol=1e-6)


@pytest.mark.parametrize("make, message", [
    (lambda: Denoise(temporal=2), "0 <= temporal <= 1"),
    (lambda: Denoise(range_sigma=0), "range_sigma > 0"),
    (lambda: Denoise(spatial_sigma=-1), "spatial_sigma >= 0"),
    (lambda: Sharpen(radius=0), "radius > 0"),
    (lambda: Sharpen(amount=-1), "amount >= 0"),
    (lambda: Sharpen(threshold=1), "0 <= threshold < 1"),
    (lambda: SuperResolution(3), "scale must be 2 or 4"),
    (lambda: SuperResolution(2, "x"), "bicubic or learned"),
    (lambda: SuperResolution(4, "learned", network=srnet.SRNet(2)), "x2, not x4"),
], ids=["denoise_temporal2", "denoise_range0", "denoise_spatial_neg", "sharpen_radius0",
        "sharpen_amount_neg", "sharpen_threshold1", "sr_scale3", "sr_mode_x",
        "sr_network_scale"])
def test_invalid_parameters_raise_value_error(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_chain_specs_parse_and_bad_specs_raise_enhance_error():
    """parse() reads names and key=number params; build_chain() builds them in order;
    bad specs raise EnhanceError (a ValueError) with a one-line reason."""
    assert parse(" denoise , sharpen(amount=0.8, radius=2),bicubic4x") == [
        ("denoise", {}), ("sharpen", {"amount": 0.8, "radius": 2.0}), ("bicubic4x", {})]
    chain = build_chain("denoise(temporal=0.25),sharpen(amount=0.8),bicubic2x")
    assert [type(p) for p in chain] == [Denoise, Sharpen, SuperResolution]
    assert chain[0].temporal == 0.25 and chain[1].amount == 0.8 and chain[2].scale == 2
    for spec, message in [
        ("denoize", "unknown enhancement pass 'denoize'"),
        ("", "empty enhancement chain"),
        ("sharpen(amount=lots)", "is not key=number"),
        ("sharpen(amount=0.5", "cannot parse"),
        ("denoise(temporal=2)", "0 <= temporal <= 1"),
        ("sharpen(radius=0)", "radius > 0"),
        ("bicubic2x(sharpness=1)", "keyword arguments passed to SuperResolution"),
        ("denoise(sigma=1)", "keyword arguments passed to Denoise"),
        ("bicubic2x(mode=1)", "bicubic2x: "),
        ("sr2x", "or use bicubic2x"),
        ("sr4x(a=1)", "takes no parameters"),
    ]:
        with pytest.raises(EnhanceError, match=re.escape(message)) as info:
            build_chain(spec)
        assert "\n" not in str(info.value), spec


# --- 2. serialization ----------------------------------------------------------------------

SERIALIZED = {
    "denoise": lambda: Denoise(spatial_sigma=1.5, range_sigma=0.2, temporal=0.3),
    "sharpen": lambda: Sharpen(amount=0.8, radius=1.5, threshold=0.02),
    "bicubic4x": lambda: SuperResolution(4, "bicubic"),
    "enhancement": lambda: Enhancement(build_chain(
        "denoise(spatial_sigma=0.5,temporal=0.7),sharpen(amount=1.2,radius=2),bicubic2x")),
}


@pytest.mark.parametrize("name", sorted(SERIALIZED))
def test_config_and_keras_serialization_round_trip(name):
    """from_config(get_config()) and keras.saving serialize -> JSON -> deserialize give a
    layer of the same class and config whose outputs are identical (non-default
    parameters, so a dropped one would show)."""
    layer = SERIALIZED[name]()
    x = random_video((1, 4, 10, 12, 3), seed=1)
    expected = layer(x).numpy()
    clone = type(layer).from_config(layer.get_config())
    text = json.dumps(keras.saving.serialize_keras_object(layer))
    restored = keras.saving.deserialize_keras_object(json.loads(text))
    def normalized(config):  # JSON turns tuples (build_config shapes) into lists
        return json.loads(json.dumps(config))

    for other in (clone, restored):
        assert type(other) is type(layer)
        assert normalized(other.get_config()) == normalized(layer.get_config())
        np.testing.assert_array_equal(other(x).numpy(), expected)
    if isinstance(layer, Enhancement):
        for a, b in zip(layer.passes, restored.passes, strict=True):
            assert type(a) is type(b) and a.get_config() == b.get_config()


def test_learned_sr_from_config_then_weights_gives_same_output():
    """A learned SuperResolution's config carries the network's; from_config builds an
    untrained network of that shape, and copying the weights reproduces the output."""
    layer = SuperResolution(2, "learned", network=randomized_sr_net(2, channels=6, frames=1))
    x = random_video((1, 3, 8, 10, 3), seed=2)
    expected = layer(x).numpy()
    config = layer.get_config()
    assert config["network_config"] == {"scale": 2, "channels": 6, "frames": 1}
    restored = keras.saving.deserialize_keras_object(
        json.loads(json.dumps(keras.saving.serialize_keras_object(layer))))
    for clone in (SuperResolution.from_config(config), restored):
        assert clone.mode == "learned" and clone.network.get_config() == config["network_config"]
        clone.network.build_for()
        assert not np.allclose(clone(x).numpy(), expected, atol=1e-3)  # weights matter
        clone.network.set_weights(layer.network.get_weights())
        np.testing.assert_array_equal(clone(x).numpy(), expected)


# --- 3. denoise ------------------------------------------------------------------------------

T, H, W = 8, 32, 32
YY, XX = np.mgrid[0:H, 0:W]


def shapes_scene(speed):
    """[1, T, H, W, 3] float: a flat background with two coloured rectangles moving
    `speed` px/frame (in opposite directions), piecewise constant."""
    video = np.empty((1, T, H, W, 3), np.float32)
    for t in range(T):
        frame = video[0, t]
        frame[:] = (-0.6, -0.2, 0.1)
        s = speed * t
        frame[(XX >= 4 + s) & (XX < 14 + s) & (YY >= 6) & (YY < 16)] = (0.7, 0.3, -0.4)
        frame[(XX >= 20 - s) & (XX < 28 - s) & (YY >= 20) & (YY < 28)] = (0.2, 0.8, 0.6)
    return video


def add_noise(video, std, seed):
    return (video + np.random.default_rng(seed).normal(0, std, video.shape)).astype(np.float32)


def test_denoise_halves_error_on_noisy_moving_scene():
    """MSE(denoise(noisy), clean) < 0.5 * MSE(noisy, clean) (noise std 0.1 of [-1, 1])."""
    clean = shapes_scene(speed=1)
    noisy = add_noise(clean, 0.1, seed=0)
    before = mse(noisy, clean)
    after = mse(Denoise()(noisy), clean)
    assert after < 0.5 * before, (before, after)
    assert mse(Denoise(temporal=0)(noisy), clean) < 0.5 * before


def test_temporal_denoise_helps_on_static_scene():
    """On a static scene the temporal part averages the noise of neighbouring frames:
    temporal=0.5 beats temporal=0 (same bilateral filter), and temporal=1 beats 0.5."""
    clean = shapes_scene(speed=0)
    noisy = add_noise(clean, 0.1, seed=1)
    errors = [mse(Denoise(temporal=t)(noisy), clean) for t in (0.0, 0.5, 1.0)]
    assert errors[1] < 0.8 * errors[0], errors
    assert errors[2] < errors[1], errors


def test_temporal_denoise_does_not_smear_moving_square():
    """A bright square moving 3 px/frame on a dark noisy background. Moving pixels (whose
    clean value differs from the previous or next frame) must not be smeared by the
    temporal part: their error with temporal=1 is no larger than with temporal=0 (same
    spatial filter), while a plain 3-frame average there is off by ~a third of the
    contrast. The static background's error still drops clearly with temporal=1."""
    clean = np.full((1, T, H, W, 3), -0.8, np.float32)
    for t in range(T):
        clean[0, t, 10:18, 3 * t:3 * t + 8] = 0.9
    noisy = add_noise(clean, 0.05, seed=2)
    spatial = Denoise(temporal=0)(noisy).numpy()
    temporal = Denoise(temporal=1)(noisy).numpy()
    previous, following = neighbours(clean)
    moving = np.any((clean != previous) | (clean != following), axis=-1)
    static = ~moving
    assert 0.03 < moving.mean() < 0.2

    def error(video, mask):
        return float(np.abs(video - clean)[mask].mean())

    box = sum(neighbours(spatial)) / 3 + spatial / 3  # naive temporal average
    assert error(box, moving) > 0.3  # the mask does catch the motion (contrast 1.7)
    assert error(temporal, moving) <= 1.05 * error(spatial, moving) + 1e-3, (
        error(temporal, moving), error(spatial, moving))
    assert error(temporal, moving) < 0.02
    assert error(temporal, static) < 0.8 * error(spatial, static), (
        error(temporal, static), error(spatial, static))


def test_denoise_preserves_edges_better_than_gaussian_blur():
    """A vertical step edge (-0.5 | +0.5) with noise std 0.05: the bilateral filter keeps
    the jump across the edge (>= 0.9 of it), while a Gaussian blur that removes at least
    as much noise in the flat regions flattens the jump to well under that."""
    clean = np.full((1, T, H, W, 3), -0.5, np.float32)
    clean[..., W // 2:, :] = 0.5
    noisy = add_noise(clean, 0.05, seed=3)
    flat = np.zeros((H, W), bool)
    flat[:, 4:W // 2 - 4] = flat[:, W // 2 + 4:W - 4] = True

    def residual(video):
        return float((video - clean)[:, :, flat].std())

    def jump(video):
        return float(np.mean(video[..., W // 2, :] - video[..., W // 2 - 1, :]))

    denoised = Denoise(temporal=0)(noisy).numpy()
    assert residual(denoised) < 0.5 * residual(noisy)
    assert jump(denoised) > 0.9
    for sigma in np.arange(0.5, 4.01, 0.25):  # the weakest blur removing as much noise
        blurred = np.stack([cv2.GaussianBlur(f, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
                            for f in noisy[0]])[None]
        if residual(blurred) <= residual(denoised):
            break
    else:
        pytest.fail("no Gaussian blur removes as much noise as Denoise")
    assert jump(blurred) < 0.7 * jump(denoised), (sigma, jump(blurred), jump(denoised))


# --- 4. sharpen -----------------------------------------------------------------------------

def mean_abs_laplacian(video):
    return float(np.mean([np.abs(cv2.Laplacian(f, cv2.CV_32F)).mean()
                          for f in np.asarray(video).reshape(-1, *video.shape[-3:])]))


def test_sharpen_raises_high_frequency_energy_of_blurred_texture():
    """Blurred noise texture: mean |Laplacian| and |x - blur(x)| grow with sharpening,
    more with a larger amount; amount=0 is the identity."""
    rng = np.random.default_rng(4)
    texture = rng.uniform(-1, 1, (1, 4, 32, 32, 3)).astype(np.float32)
    blurred = np.stack([cv2.GaussianBlur(f, (0, 0), 1.5, borderType=cv2.BORDER_REFLECT)
                        for f in texture[0]])[None]
    blurred = 0.6 * blurred / np.abs(blurred).max()

    def detail(video):
        frames = np.asarray(video)[0]
        return float(np.mean(np.abs(frames - np.stack(
            [cv2.GaussianBlur(f, (0, 0), 1.0, borderType=cv2.BORDER_REFLECT) for f in frames]))))

    base = mean_abs_laplacian(blurred)
    half = Sharpen(amount=0.5)(blurred).numpy()
    full = Sharpen(amount=1.0)(blurred).numpy()
    assert mean_abs_laplacian(half) > 1.15 * base
    assert mean_abs_laplacian(full) > 1.15 * mean_abs_laplacian(half)
    assert detail(full) > 1.3 * detail(blurred)
    np.testing.assert_allclose(Sharpen(amount=0.0)(blurred).numpy(), blurred, atol=1e-7)


@pytest.mark.parametrize("value", [0.3, -0.77, 0.123456, 1.0])
def test_sharpen_leaves_flat_video_unchanged(value):
    """A constant video has no detail: uint8 comes back bit-identical; float within
    1e-6 (the blur's kernel weights sum to 1 only up to float rounding), and exactly
    with a threshold (detail under it is zeroed, not just made small)."""
    flat = np.full((1, 3, 8, 8, 3), value, np.float32)
    np.testing.assert_allclose(Sharpen(amount=2.0, radius=2.5)(flat).numpy(), flat, atol=1e-6)
    np.testing.assert_array_equal(Sharpen(amount=2.0, threshold=0.01)(flat).numpy(), flat)
    levels = np.full((1, 3, 8, 8, 3), round((value + 1) * 127.5), np.uint8)
    np.testing.assert_array_equal(Sharpen(amount=2.0, radius=2.5)(levels).numpy(), levels)


def test_sharpen_threshold_leaves_low_amplitude_noise_alone():
    """Noise of amplitude 0.02 ([-1, 1] units; its detail is under 2 * 0.02 = 0.04) plus a
    step edge of 0.8: with threshold 0.05 ([0, 1] units = 0.1 in [-1, 1]) the noise
    region is bit-identical while the edge is still sharpened; without a threshold
    the noise is amplified."""
    rng = np.random.default_rng(5)
    x = rng.uniform(-0.02, 0.02, (1, 2, 32, 32, 3)).astype(np.float32)
    x[..., 16:, :] += 0.8
    far = np.zeros((32, 32), bool)
    far[:, :12] = far[:, 20:] = True
    with_threshold = Sharpen(amount=1.0, threshold=0.05)(x).numpy()
    without = Sharpen(amount=1.0)(x).numpy()
    np.testing.assert_array_equal(with_threshold[:, :, far], x[:, :, far])
    assert np.abs(with_threshold - x)[:, :, :, 14:18].max() > 0.1  # the edge is sharpened
    assert np.abs(without - x)[:, :, far].max() > 0.01


# --- 5. super-resolution ----------------------------------------------------------------

def smooth_clip(t=8, h=32, w=32):
    """[1, t, h, w, 3] smooth (low-frequency) colour pattern drifting over time."""
    yy, xx = np.mgrid[0:h, 0:w] / float(w)
    frames = [np.stack([0.6 * np.sin(2 * np.pi * (xx + 0.05 * i) + c)
                        * np.cos(2 * np.pi * 1.3 * yy - c) for c in (0, 1, 2)], -1)
              for i in range(t)]
    return np.stack(frames)[None].astype(np.float32)


def downscale(video, scale):
    b, t, h, w, c = video.shape
    frames = tf.image.resize(tf.reshape(video, [b * t, h, w, c]), [h // scale, w // scale],
                             method="area")
    return tf.reshape(frames, [b, t, h // scale, w // scale, c]).numpy()


def test_bicubic_sr_beats_nearest_neighbour_on_smooth_clip():
    """x2 of an area-downscaled smooth clip: bicubic (and the untrained learned pass,
    which is bicubic) is > 5 dB closer to the original than nearest neighbour."""
    hr = smooth_clip()
    lr = downscale(hr, 2)
    nearest = float(psnr(upscale(lr, 2, "nearest"), hr)[0])
    bicubic = float(psnr(SuperResolution(2)(lr), hr)[0])
    learned = float(psnr(SuperResolution(2, "learned")(lr), hr)[0])
    assert bicubic > nearest + 5.0, (bicubic, nearest)
    assert abs(learned - bicubic) < 0.01


@pytest.mark.parametrize("scale, frames", [(2, 1), (2, 3), (4, 1), (4, 3)])
def test_untrained_srnet_is_bicubic(scale, frames):
    """The last conv starts at zero, so a fresh SRNet (frames=1 or 3) outputs the bicubic
    upscale (unclipped) within 1e-5, at [B, T, s*h, s*w, 3]."""
    x = random_video((2, 3, 8, 6, 3), seed=6)
    out = srnet.SRNet(scale, channels=8, frames=frames)(x).numpy()
    assert out.shape == (2, 3, 8 * scale, 6 * scale, 3)
    np.testing.assert_allclose(out, upscale(x, scale, "bicubic"), atol=1e-5)


def test_srnet_frames_3_reads_neighbours_and_frames_1_does_not():
    """Changing frame 2 changes the output of frames 1..3 for sr.frames=3, only frame 2
    for sr.frames=1 (random weights, so the residual is not zero)."""
    x = random_video((1, 5, 8, 8, 3), seed=7)
    changed = x.copy()
    changed[0, 2] = random_video((8, 8, 3), seed=8)
    for frames, affected in ((1, {2}), (3, {1, 2, 3})):
        net = randomized_sr_net(2, frames=frames, seed=frames)
        diff = np.abs(net(x).numpy() - net(changed).numpy()).max(axis=(0, 2, 3, 4))
        assert {i for i in range(5) if diff[i] > 1e-4} == affected, (frames, diff)


def test_rgb_ycbcr_round_trip():
    """ycbcr_to_rgb(rgb_to_ycbcr(x)) == x within 1e-5; grey has zero chroma and Y = grey;
    red minus black is twice BT.601's red column (0.299, -0.168736, 0.5) on [-1, 1]."""
    x = tf.constant(random_video((1000, 3), seed=9))
    np.testing.assert_allclose(ycbcr_to_rgb(rgb_to_ycbcr(x)).numpy(), x.numpy(), atol=1e-5)
    grey = rgb_to_ycbcr(tf.constant([[0.25, 0.25, 0.25]])).numpy()[0]
    np.testing.assert_allclose(grey, [0.25, 0.0, 0.0], atol=1e-6)
    black = rgb_to_ycbcr(tf.constant([[-1.0, -1.0, -1.0]])).numpy()[0]
    red = rgb_to_ycbcr(tf.constant([[1.0, -1.0, -1.0]])).numpy()[0]
    np.testing.assert_allclose(red - black, [2 * 0.299, 2 * -0.168736, 2 * 0.5], atol=1e-6)


# --- 6. degrade ------------------------------------------------------------------------------

def sr_config(**sr_fields):
    cfg = sr_experiment("tiny")
    for key, value in sr_fields.items():
        setattr(cfg.sr, key, value)
    return config_lib.from_dict(cfg)


@pytest.mark.parametrize("scale", [2, 4])
def test_degrade_shape_quantization_and_seeds(scale):
    """[B, T, H, W, 3] -> [B, T, H/s, W/s, 3], 8-bit quantized; the same seed gives the
    same result, another seed another one (noise > 0)."""
    config = sr_config(scale=scale, blur=0.8, noise=0.02)
    hr = tf.constant(random_video((3, 4, 32, 32, 3), seed=10))
    seed = tf.constant([7, 7], tf.int64)
    lr = sr_lib.degrade(hr, config, seed).numpy()
    assert lr.shape == (3, 4, 32 // scale, 32 // scale, 3) and lr.dtype == np.float32
    assert lr.min() >= -1.0 and lr.max() <= 1.0
    levels = (lr + 1.0) * 127.5
    assert np.abs(levels - np.round(levels)).max() < 1e-4
    np.testing.assert_array_equal(sr_lib.degrade(hr, config, seed).numpy(), lr)
    other = sr_lib.degrade(hr, config, tf.constant([8, 7], tf.int64)).numpy()
    assert np.abs(other - lr).max() > 0.02


def test_degrade_without_blur_or_noise_is_area_downscale():
    """blur=0, noise=0: an HR clip made of constant 2x2 blocks of 8-bit levels degrades to
    exactly those levels, whatever the seed."""
    rng = np.random.default_rng(11)
    small = rng.integers(0, 256, (2, 3, 8, 8, 3)) / 127.5 - 1.0
    hr = np.repeat(np.repeat(small, 2, axis=2), 2, axis=3).astype(np.float32)
    config = sr_config(scale=2, blur=0.0, noise=0.0)
    for seed in ([1, 2], [3, 4]):
        lr = sr_lib.degrade(tf.constant(hr), config, tf.constant(seed, tf.int64)).numpy()
        np.testing.assert_allclose(lr, small, atol=1e-6)


# --- 7. SR training -----------------------------------------------------------------------

LIB_SR_STEPS, LIB_SR_LOG_EVERY = 300, 10


@pytest.fixture(scope="module")
def lib_sr(tmp_path_factory):
    """Trains the tiny SR config (bouncing shapes, 32x32, x2, sr.frames=3, 8 channels) in
    process for 300 steps (a few seconds), measuring L1 on a fixed held-out degraded batch
    of 16 clips before and after. (This small network learns slowly on these mostly flat
    clips: over the first ~100 steps it stays within noise of bicubic, so fewer steps
    could not show learning reliably.)"""
    cfg = sr_experiment("tiny")
    cfg.data.height = cfg.data.width = 32  # the behaviour below was measured at 32x32
    cfg.train.steps, cfg.train.log_every = LIB_SR_STEPS, LIB_SR_LOG_EVERY
    cfg.train.checkpoint_every = LIB_SR_STEPS
    config = config_lib.from_dict(cfg)
    held_out = next(iter(data_lib.make_dataset(config.data, 16, start_index=100_000)))["video"]
    degraded = sr_lib.degrade(held_out, config, tf.constant([123, 0], tf.int64))
    workdir = str(tmp_path_factory.mktemp("lib_sr") / "run")
    trainer = sr_lib.SRTrainer(config, workdir, tf.distribute.OneDeviceStrategy("/cpu:0"))

    def l1():
        return float(tf.reduce_mean(tf.abs(trainer.network(degraded) - held_out)))

    before = l1()
    bicubic = float(tf.reduce_mean(tf.abs(upscale(degraded.numpy(), 2, "bicubic") - held_out)))
    step = trainer.train()
    return dict(workdir=workdir, config=config, step=step, before=before, after=l1(),
                bicubic=bicubic, network=trainer.network)


def test_library_sr_training_lowers_l1(lib_sr):
    """SRTrainer on bouncing shapes: the untrained network is exactly bicubic on a held-out
    batch and the trained one has >= 2% lower L1 there; every logged value is finite; the
    paired PSNR gain over bicubic on the step's batch grows from the first to the last
    logged steps; load_sr_network restores exactly the trained weights."""
    assert lib_sr["step"] == LIB_SR_STEPS
    assert abs(lib_sr["before"] - lib_sr["bicubic"]) < 1e-5
    assert lib_sr["after"] < 0.98 * lib_sr["before"], (lib_sr["before"], lib_sr["after"])
    events = read_events(lib_sr["workdir"])
    logged = list(range(LIB_SR_LOG_EVERY, LIB_SR_STEPS + 1, LIB_SR_LOG_EVERY))
    for tag in ("loss/l1", "metrics/psnr_sr", "metrics/psnr_bicubic", "lr"):
        assert [s for s, _ in sorted(events[tag])] == logged, tag
        assert all(np.isfinite(float(v)) for _, v in events[tag]), tag
    gain = (np.array([float(v) for _, v in sorted(events["metrics/psnr_sr"])])
            - np.array([float(v) for _, v in sorted(events["metrics/psnr_bicubic"])]))
    assert gain[-5:].mean() > gain[:5].mean() + 0.01 and gain[-5:].mean() > 0, gain
    network, config = srnet.load_sr_network(lib_sr["workdir"])
    assert config == lib_sr["config"]
    for a, b in zip(network.get_weights(), lib_sr["network"].get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_sr_training_mirrored_over_two_replicas_equals_one_device(tmp_path):
    """Without blur or noise the degradation is deterministic, so SR training on 2 mirrored
    CPU replicas (global batch 4 split in halves) must end at the weights of one device
    (the distributed path: data split, gradient all-reduce, synchronized Adam updates)."""
    module = importlib.util.spec_from_file_location("sr_experiment", SR_EXPERIMENT)
    experiment = importlib.util.module_from_spec(module)
    module.loader.exec_module(experiment)
    values = experiment.get_config("tiny")
    values.sr.blur, values.sr.noise, values.train.steps = 0.0, 0.0, 3
    config = config_lib.from_dict(values)
    weights = {}
    for name, strategy in (
            ("one", tf.distribute.OneDeviceStrategy("/cpu:0")),
            ("two", tf.distribute.MirroredStrategy(
                ["/cpu:0", "/cpu:1"], cross_device_ops=tf.distribute.ReductionToOneDevice()))):
        trainer = sr_lib.SRTrainer(config, str(tmp_path / name), strategy)
        assert trainer.train() == 3
        weights[name] = trainer.network.get_weights()
    keras.utils.set_random_seed(config.train.seed)  # as SRTrainer: the same initial weights
    initial = srnet.SRNet(config.sr.scale, config.sr.channels, config.sr.frames).build_for()
    moved = False
    for a, b, init in zip(weights["one"], weights["two"], initial.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
        moved |= not np.allclose(a, init)
    assert moved  # the comparison is about trained weights, not two copies of the init


def test_sr_training_resumed_midway_equals_an_uninterrupted_run(tmp_path):
    """SR training on the GAN's loop: a run stopped after 2 of 4 steps (checkpointed at 2),
    then a new SRTrainer on the same workdir resuming to 4, ends at exactly the weights of
    4 steps in one go (the restored step positions the clips, the degradation's seeds and
    the cosine schedule), and logs steps/s."""
    values = sr_experiment("tiny")
    values.train.steps, values.train.log_every = 4, 1
    config = config_lib.from_dict(values)
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    straight = sr_lib.SRTrainer(config, str(tmp_path / "straight"), strategy)
    assert straight.train() == 4
    halves = str(tmp_path / "halves")
    stopped = sr_lib.SRTrainer(config, halves, strategy)  # as a stop signal after step 2
    iterator = stopped.iterator(0)
    for _ in range(2):
        stopped.train_step(iterator)
    stopped.save(2)
    resumed = sr_lib.SRTrainer(config, halves, strategy)
    assert resumed.train() == 4
    for a, b in zip(straight.network.get_weights(), resumed.network.get_weights(),
                    strict=True):
        np.testing.assert_array_equal(a, b)
    events = read_events(halves)
    # every step is due (log_every 1) but the resumed run's first, traced one: no rate
    for tag in ("loss/l1", "lr", "perf/steps_per_sec"):
        assert sorted(s for s, _ in events[tag]) == [4], tag


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The CLI training runs, side by side: train-sr :tiny, train-sr :tiny at 32x32 (for
    the learned-SR export: the network is fully convolutional, so it need not be trained
    at the generator's size), train-sr with a bad scale, and `vidgan train` quickstart
    :tiny (8x16x16 generator)."""
    base = tmp_path_factory.mktemp("runs")
    paths = {name: str(base / name) for name in ("sr", "sr32", "sr_bad", "gan")}
    results = run_concurrently({
        "sr": vidgan_argv("train-sr", f"--config={SR_TINY}", f"--workdir={paths['sr']}"),
        "sr32": vidgan_argv("train-sr", f"--config={SR_TINY}", f"--workdir={paths['sr32']}",
                            "--config.data.height=32", "--config.data.width=32"),
        "sr_bad": vidgan_argv("train-sr", f"--config={SR_TINY}", "--config.sr.scale=3",
                              f"--workdir={paths['sr_bad']}"),
        "gan": vidgan_argv("train", f"--config={GAN_TINY}", f"--workdir={paths['gan']}"),
    }, timeout=240)
    return paths, results


def test_cli_train_sr_tiny_writes_checkpoints_and_scalars(runs):
    """`vidgan train-sr --config=experiments/sr.py:tiny` exits 0, checkpoints steps 2 and 4,
    logs loss/l1, metrics/psnr_sr, metrics/psnr_bicubic and lr at steps 2 and 4; the
    32x32 variant trains too."""
    paths, results = runs
    tiny = sr_experiment("tiny")
    for name in ("sr", "sr32"):
        assert results[name].returncode == 0, results[name].stderr[-3000:]
        assert "step 4/4" in results[name].stderr
        for step in (2, 4):
            assert os.path.exists(os.path.join(paths[name], "checkpoints", f"ckpt-{step}.index"))
    with open(os.path.join(paths["sr"], "config.json")) as f:
        record = json.load(f)["config"]
    assert record["sr"] == tiny.sr.to_dict() and record["data"]["height"] == tiny.data.height
    with open(os.path.join(paths["sr32"], "config.json")) as f:
        assert json.load(f)["config"]["data"]["height"] == 32
    events = read_events(paths["sr"])
    for tag in ("loss/l1", "metrics/psnr_sr", "metrics/psnr_bicubic", "lr"):
        assert [s for s, _ in events[tag]] == [2, 4], tag
        assert all(np.isfinite(float(v)) for _, v in events[tag]), tag
    assert all(10 < float(v) < 80 for _, v in events["metrics/psnr_sr"])
    assert 0 < float(events["loss/l1"][-1][1]) < 0.5


def test_load_sr_network_of_cli_run(runs):
    """load_sr_network returns the trained (not the zero-tail) network of the configured
    scale; build_chain refuses a scale it was not trained for; non-runs fail clearly."""
    paths, _ = runs
    network, config = srnet.load_sr_network(paths["sr"])
    assert (network.scale, network.frames, network.channels) == (2, 3, 8)
    assert config.sr.scale == 2 and config.data.height == sr_experiment("tiny").data.height
    assert np.abs(network.tail.get_weights()[0]).max() > 0  # restored, not fresh
    with pytest.raises(EnhanceError, match="trained a x2 network, not x4"):
        build_chain("sr4x", paths["sr"])
    with pytest.raises(EnhanceError, match="no config.json"):
        build_chain("sr2x", paths["sr_bad"] + "_missing")
    with pytest.raises(workdir_lib.RunError, match="no checkpoint for step 3"):
        srnet.load_sr_network(paths["sr"], step=3)


def test_cli_train_sr_bad_scale_is_one_line_error(runs):
    _, results = runs
    assert_one_line_error(results["sr_bad"], "train-sr", "sr.scale must be 2 or 4")


def test_cli_train_sr_rerun_finished_and_resume(runs):
    """Re-running a finished run says so and trains nothing; raising train.steps resumes
    from the step-4 checkpoint to step 6."""
    paths, _ = runs
    workdir = paths["sr"]
    again = vidgan("train-sr", f"--config={SR_TINY}", f"--workdir={workdir}", timeout=180)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "already finished: step 4 of 4" in again.stderr
    assert len(glob.glob(os.path.join(workdir, "events.out.tfevents.*"))) == 1
    resumed = vidgan("train-sr", f"--config={SR_TINY}", f"--workdir={workdir}",
                     "--config.train.steps=6", timeout=180)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "steps 5..6" in resumed.stderr and "step 6/6" in resumed.stderr
    assert os.path.exists(os.path.join(workdir, "checkpoints", "ckpt-6.index"))
    steps = sorted(s for s, _ in read_events(workdir)["loss/l1"])
    assert steps == [2, 4, 6]


# --- 8. enhance_file and `vidgan enhance` -------------------------------------------------

CLIP_T, CLIP_H, CLIP_W = 11, 12, 16


@pytest.fixture(scope="module")
def frame_folder(tmp_path_factory):
    """An 11-frame 12x16 PNG frame folder (lossless): a smooth background with light noise
    and a slowly moving rectangle, so temporal passes mix neighbours substantially."""
    folder = tmp_path_factory.mktemp("frames")
    rng = np.random.default_rng(12)
    yy, xx = np.mgrid[0:CLIP_H, 0:CLIP_W]
    for t in range(CLIP_T):
        frame = np.empty((CLIP_H, CLIP_W, 3), np.float32)
        frame[:] = 0.5 * np.sin(xx / 5.0)[..., None] * np.array([1.0, 0.5, -0.5]) - 0.2
        frame[3:9, t:t + 5] = (0.8, -0.3, 0.4)
        frame += rng.normal(0, 0.03, frame.shape)
        frame = np.clip(np.round((frame + 1) * 127.5), 0, 255).astype(np.uint8)
        cv2.imwrite(str(folder / f"frame_{t}.png"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    return str(folder)


class Collector:
    """Stands in for video_io.Mp4Writer: keeps the frames written, in order."""

    instances = []

    def __init__(self, path, fps, threads=1, atomic=True):
        self.path, self.fps, self.frames, self.closed = path, fps, [], False
        Collector.instances.append(self)

    def write(self, frames):
        self.frames.append(np.array(frames))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.closed = True


def float_enhancement(passes):
    """Replaces Enhancement inside enhance_file: the chain on the frames as float [-1, 1],
    returning float, so enhance_file's own windowing runs on unrounded values."""
    chain = Enhancement(passes)
    return lambda clip: chain(tf.cast(clip, tf.float32) / 127.5 - 1.0)


CHUNK_SPECS = {
    "no_temporal": ("sharpen,bicubic2x", 0),
    "one_temporal": ("denoise(spatial_sigma=0.5),sharpen", 1),
    "two_temporal": ("denoise(spatial_sigma=0.5),bicubic2x,denoise(spatial_sigma=0.5,"
                     "temporal=1)", 2),
    "learned_sr_3_frames": ("sr2x", 1),  # the lib_sr network reads t-1, t, t+1
}
_REFERENCES = {}


def whole_video_reference(spec, sr_workdir, video):
    """Enhancement(build_chain(spec)) on the whole decoded video: (uint8, float) outputs."""
    if spec not in _REFERENCES:
        chain = Enhancement(build_chain(spec, sr_workdir))
        _REFERENCES[spec] = (chain(video[None])[0].numpy(),
                             chain(to_float(video)[None])[0].numpy())
    return _REFERENCES[spec]


@pytest.mark.parametrize("chunk", [1, 3, 7, 50])
@pytest.mark.parametrize("case", sorted(CHUNK_SPECS))
def test_enhance_file_chunks_equal_whole_video(case, chunk, frame_folder, lib_sr, monkeypatch,
                                               tmp_path):
    """enhance_file writes, chunk by chunk, what the chain gives on the whole video: within
    1e-5 when the windowing runs on float frames, and within 2 uint8 levels in its real
    uint8 path (float rounding can tip a value across a .5 boundary). Enhancing the
    chunks without context would differ by far more (checked, so this test can fail)."""
    spec, context = CHUNK_SPECS[case]
    sr_workdir = lib_sr["workdir"]  # only sr2x uses it
    video = np.stack(list(video_io.iter_frames(frame_folder)))
    assert video.shape == (CLIP_T, CLIP_H, CLIP_W, 3)
    expected_u8, expected_float = whole_video_reference(spec, sr_workdir, video)
    assert video_lib.temporal_context(build_chain(spec, sr_workdir)) == context

    monkeypatch.setattr(video_lib.video_io, "Mp4Writer", Collector)
    output = str(tmp_path / "out.mp4")
    Collector.instances.clear()
    result = video_lib.enhance_file(frame_folder, output, spec, sr_workdir, chunk=chunk,
                                    fps=12.0, progress=False)
    writer, = Collector.instances
    assert writer.closed and writer.path == output and writer.fps == 12.0
    sizes = [len(f) for f in writer.frames]  # `chunk` at a time; the rest at the end
    assert sum(sizes) == CLIP_T and set(sizes[:-1]) <= {chunk}
    assert 1 <= sizes[-1] <= chunk + context
    written = np.concatenate(writer.frames)
    assert written.dtype == np.uint8 and written.shape == expected_u8.shape
    assert np.abs(written.astype(int) - expected_u8).max() <= 2
    assert result == {"frames": CLIP_T, "input_size": [CLIP_H, CLIP_W],
                      "output_size": list(expected_u8.shape[1:3]), "fps": 12.0}

    monkeypatch.setattr(video_lib, "Enhancement", float_enhancement)
    Collector.instances.clear()
    video_lib.enhance_file(frame_folder, output, spec, sr_workdir, chunk=chunk, progress=False)
    written = np.concatenate(Collector.instances[0].frames)
    assert written.dtype == np.float32
    np.testing.assert_allclose(written, expected_float, atol=1e-5)

    if context and chunk < CLIP_T:  # the context is what makes the chunks agree
        chain = Enhancement(build_chain(spec, sr_workdir))
        naive = np.concatenate([chain(to_float(video[i:i + chunk])[None])[0].numpy()
                                for i in range(0, CLIP_T, chunk)])
        assert np.abs(naive - expected_float).max() > 1e-3


def test_enhance_file_errors(frame_folder, tmp_path):
    """Bad requests raise EnhanceError before writing anything."""
    for args, message in [
        ((frame_folder, str(tmp_path / "out.avi"), "denoise"), "must be an .mp4 file"),
        ((str(tmp_path / "missing.avi"), str(tmp_path / "o.mp4"), "denoise"),
         "file does not exist"),
        ((frame_folder, str(tmp_path / "o.mp4"), "denoise,blur"), "unknown enhancement pass"),
        ((frame_folder, str(tmp_path / "o.mp4"), "sr2x"), "or use bicubic2x"),
    ]:
        with pytest.raises(EnhanceError, match=message):
            video_lib.enhance_file(*args, progress=False)
    with pytest.raises(EnhanceError, match="chunk must be >= 1"):
        video_lib.enhance_file(frame_folder, str(tmp_path / "o.mp4"), "denoise", chunk=0)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("side, spec, fails", [
    (1, "sharpen", "sharpen"), (2, "denoise", "denoise"), (2, "bicubic2x,sharpen", None),
    (4, "denoise", None)])
def test_enhance_file_refuses_frames_too_small_for_a_pass(tmp_path, side, spec, fails):
    """A pass whose reflect padding does not fit the frames (as they reach it: SR enlarges
    them first) is named in an EnhanceError, not TensorFlow's MirrorPad error."""
    folder = tmp_path / "frames"
    folder.mkdir()
    for t in range(3):
        assert cv2.imwrite(str(folder / f"{t:03d}.png"), np.full((side, side, 3), 80 * t,
                                                                 np.uint8))
    out = str(tmp_path / "o.mp4")
    if fails:
        with pytest.raises(EnhanceError, match=f"too small for {fails}"):
            video_lib.enhance_file(str(folder), out, spec, progress=False)
    else:
        assert video_lib.enhance_file(str(folder), out, spec, progress=False)["frames"] == 3


AVI_T, AVI_H, AVI_W = 20, 16, 24


@pytest.fixture(scope="module")
def enhance_cli(tmp_path_factory):
    """A 20-frame 24x16 MJPG .avi, then `vidgan enhance` on it (denoise,bicubic2x, chunk 6)
    and four bad requests, side by side."""
    base = tmp_path_factory.mktemp("enhance_cli")
    avi = str(base / "input.avi")
    writer = cv2.VideoWriter(avi, cv2.VideoWriter_fourcc(*"MJPG"), 10, (AVI_W, AVI_H))
    assert writer.isOpened()
    for t in range(AVI_T):
        frame = np.full((AVI_H, AVI_W, 3), 60, np.uint8)
        frame[4:10, t % 18:t % 18 + 6] = (50, 100, 200)  # BGR
        writer.write(frame)
    writer.release()
    common = [f"--input={avi}", "--progress=false"]
    results = run_concurrently({
        "ok": vidgan_argv("enhance", *common, f"--output={base / 'out' / 'out.mp4'}",
                          "--passes=denoise,bicubic2x", "--chunk=6"),
        "not_mp4": vidgan_argv("enhance", *common, f"--output={base / 'e1' / 'out.avi'}",
                               "--passes=denoise"),
        "unknown_pass": vidgan_argv("enhance", *common, f"--output={base / 'e2' / 'o.mp4'}",
                                    "--passes=denoise,blurr"),
        "missing_input": vidgan_argv("enhance", f"--input={base / 'nope.avi'}",
                                     f"--output={base / 'e3' / 'o.mp4'}", "--passes=denoise"),
        "sr_without_workdir": vidgan_argv("enhance", *common,
                                          f"--output={base / 'e4' / 'o.mp4'}", "--passes=sr2x"),
    })
    return base, avi, results


def test_cli_enhance_writes_mp4_of_twice_the_size(enhance_cli):
    """`vidgan enhance ... --passes=denoise,bicubic2x --chunk=6` exits 0 and out.mp4 reads
    back with 20 frames of 48x32, close (H.264, CRF 18) to the chain on the decoded avi;
    no temporary file is left."""
    base, avi, results = enhance_cli
    result = results["ok"]
    assert result.returncode == 0, result.stderr[-3000:]
    assert "20 frames, 24x16 -> 48x32, 10 fps" in result.stdout
    out = base / "out" / "out.mp4"
    assert os.listdir(base / "out") == ["out.mp4"]
    assert video_io.probe(str(out)).fps == pytest.approx(10.0)
    decoded = np.stack(list(video_io.iter_frames(str(out))))
    assert decoded.shape == (AVI_T, 2 * AVI_H, 2 * AVI_W, 3)
    source = np.stack(list(video_io.iter_frames(avi)))
    expected = Enhancement(build_chain("denoise,bicubic2x"))(source[None])[0].numpy()
    assert np.abs(decoded.astype(float) - expected).mean() < 3.0


@pytest.mark.parametrize("case, message", [
    ("not_mp4", "--output must be an .mp4 file"),
    ("unknown_pass", "unknown enhancement pass 'blurr'"),
    ("missing_input", "nope.avi: file does not exist"),
    ("sr_without_workdir", "(--sr_workdir), or use bicubic2x"),
])
def test_cli_enhance_errors_are_one_line(enhance_cli, case, message):
    base, _, results = enhance_cli
    assert_one_line_error(results[case], "enhance", message)
    for folder in ("e1", "e2", "e3", "e4"):
        assert not os.path.exists(base / folder) or os.listdir(base / folder) == []


# --- 9. export with enhancement ----------------------------------------------------------

EXPORT_CHAIN = "denoise,sharpen,bicubic2x"


@pytest.fixture(scope="module")
def exports(runs):
    """`vidgan export` of the tiny GAN run with the bicubic chain and with learned sr2x
    (the 32x32 train-sr run), plus sr2x without --sr_workdir, side by side."""
    paths, results = runs
    assert results["gan"].returncode == 0, results["gan"].stderr[-3000:]
    assert results["sr32"].returncode == 0, results["sr32"].stderr[-3000:]
    base = tempfile.mkdtemp(prefix="enhanced_exports_", dir=os.path.dirname(paths["gan"]))
    dirs = {name: os.path.join(base, name) for name in ("bicubic", "learned", "bad")}
    results = run_concurrently({
        "bicubic": vidgan_argv("export", f"--workdir={paths['gan']}",
                               f"--export_dir={dirs['bicubic']}", f"--enhance={EXPORT_CHAIN}"),
        "learned": vidgan_argv("export", f"--workdir={paths['gan']}",
                               f"--export_dir={dirs['learned']}", "--enhance=sr2x",
                               f"--sr_workdir={paths['sr32']}"),
        "bad": vidgan_argv("export", f"--workdir={paths['gan']}", f"--export_dir={dirs['bad']}",
                           "--enhance=sr2x"),
    })
    for name in ("bicubic", "learned"):
        assert results[name].returncode == 0, results[name].stderr[-3000:]
    return paths, dirs, results


@pytest.fixture(scope="module")
def standalone_and_synthesis(exports):
    """Both exports loaded in fresh interpreters where vidgan, keras and tensorflow_io are
    blocked (helpers.LOADER), and `vidgan synthesize` on the bicubic one."""
    paths, dirs, _ = exports
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    procs = {name: subprocess.Popen([sys.executable, "-c", LOADER,
                                     os.path.join(dirs[name], "4")],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                    cwd="/tmp", env=env)
             for name in ("bicubic", "learned")}
    out_dir = os.path.join(os.path.dirname(dirs["bicubic"]), "synthesized")
    synthesis = run_concurrently({"synthesize": vidgan_argv(
        "synthesize", f"--model_dir={dirs['bicubic']}", "--num_videos=2",
        f"--out_dir={out_dir}")})["synthesize"]
    loaded = {}
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err[-3000:]
        lines = [line for line in out.splitlines() if line.startswith("RESULT ")]
        assert len(lines) == 1, out
        loaded[name] = json.loads(lines[0][len("RESULT "):])
    return loaded, synthesis, out_dir


@pytest.mark.parametrize("name, enhance", [("bicubic", EXPORT_CHAIN), ("learned", "sr2x")])
def test_enhanced_export_loads_without_vidgan_keras_or_tensorflow_io(
        standalone_and_synthesis, name, enhance):
    """The enhanced SavedModel loads where vidgan, keras and tensorflow_io cannot be
    imported; generate returns uint8 [4, 8, 32, 32, 3] (the 8x16x16 generator, x2) and
    the metadata has height/width 32 and the chain."""
    result = standalone_and_synthesis[0][name]
    assert result["blocked"] == ["vidgan", "keras", "tensorflow_io"]
    assert result["leaked"] == []
    assert result["video_shape"] == [4, 8, 32, 32, 3] and result["video_dtype"] == "uint8"
    assert result["alone_hash"] == result["hashes"][2]
    meta = result["metadata"]
    assert (meta["num_frames"], meta["height"], meta["width"]) == (8, 32, 32)
    assert meta["generator_size"] == [8, 16, 16]
    assert meta["enhance"] == enhance


def test_enhanced_export_equals_chain_on_generator(exports):
    """In process: the exported videos are Enhancement(build_chain(spec)) applied to the
    run's EMA generator, to within 1 level (latents x30 so the 4-step generator's videos
    have structure); the bicubic-only chain is further off (denoise/sharpen are baked in),
    and the learned export uses the trained SR network, not bicubic."""
    paths, dirs, _ = exports
    generator, _, _ = workdir_lib.load_generator(paths["gan"])
    module = tf.saved_model.load(os.path.join(dirs["bicubic"], "4"))
    latents = module.signatures["generate"](seed=tf.constant([0, 1, 2], tf.int64))["latents"] * 30
    videos = generator(latents, training=False)
    exported = module.signatures["generate_from_latents"](latents=latents)["video"].numpy()
    assert exported.shape == (3, 8, 32, 32, 3)
    expected = Enhancement(build_chain(EXPORT_CHAIN))(videos).numpy()
    expected = pixels.to_uint8(expected).numpy().astype(int)
    assert np.abs(exported.astype(int) - expected).max() <= 1
    bicubic_only = pixels.to_uint8(SuperResolution(2)(videos)).numpy().astype(int)
    assert np.abs(exported.astype(int) - bicubic_only).max() > 4

    learned = tf.saved_model.load(os.path.join(dirs["learned"], "4"))
    exported = learned.signatures["generate_from_latents"](latents=latents)["video"].numpy()
    network, _ = srnet.load_sr_network(paths["sr32"])
    expected = pixels.to_uint8(SuperResolution(2, "learned", network=network)(videos))
    assert np.abs(exported.astype(int) - expected.numpy().astype(int)).max() <= 1


def test_export_sr2x_without_sr_workdir_is_one_line_error(exports):
    _, dirs, results = exports
    assert_one_line_error(results["bad"], "export", "or use bicubic2x")
    assert not os.path.exists(dirs["bad"])


def test_synthesize_on_enhanced_export_writes_enhanced_size(standalone_and_synthesis):
    """`vidgan synthesize` on the x2 export writes mp4s of 8 frames at 32x32."""
    _, result, out_dir = standalone_and_synthesis
    assert result.returncode == 0, result.stderr[-3000:]
    files = sorted(glob.glob(os.path.join(out_dir, "seed_*.mp4")))
    assert len(files) == 2
    for path in files:
        assert video_io.read_video(path, "mp4").shape == (8, 32, 32, 3)
