"""Tests for vidgan.models: stage planning, shapes, parameter counts, spectral norm.

Parameter counts are derived by hand in each test from the layer formulas:
  Dense:            in * out (+ out bias)
  Conv3D(Transpose): kt * kh * kw * in * out + out bias (when used)
  BatchNorm:        4 * C (gamma, beta, moving mean, moving variance)
  LayerNorm:        2 * C (gamma, beta)
  spectral norm:    + out (the power-iteration vector u, [1, out])
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from helpers import latents, with_family
from vidgan import models
from vidgan.config import override
from vidgan.models import layers
from vidgan.models import VideoDiscriminator, VideoGenerator


# --- plan_stages ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "size, start, strides",
    [
        # 64 -> 4 is 4 halvings; 16 = 2^4 allows 4 time doublings: T0 = 16 / 16 = 1.
        ((16, 64, 64), (1, 4, 4), (2, 2, 2, 2)),
        # 48 = 16*3, 64 = 2^6: log2(48/4) = 3.58 -> 3 stages; 12 = 4*3 -> 2 time doublings.
        ((12, 48, 64), (3, 6, 8), (2, 2, 1)),
        # 16 -> 4: 2 stages; 8 = 2^3 but only 2 stages: T0 = 8 / 4 = 2.
        ((8, 16, 16), (2, 4, 4), (2, 2)),
        # A single frame: no time doubling at all; 32 -> 4 is 3 stages.
        ((1, 32, 32), (1, 4, 4), (1, 1, 1)),
        # Odd T (5) never doubles; 8 -> 4 is one stage.
        ((5, 8, 8), (5, 4, 4), (1,)),
        # Non-square: limited by the smaller side 16 (2 stages), W 32 -> 8.
        ((4, 16, 32), (1, 4, 8), (2, 2)),
    ],
)
def test_plan_stages(size, start, strides):
    """plan_stages gives the hand-computed coarse size and per-stage time strides."""
    plan = models.plan_stages(*size)
    assert plan.start == start
    assert plan.time_strides == strides
    assert plan.num_stages == len(strides)
    # Undoing the stages recovers the full size.
    t0, h0, w0 = plan.start
    assert (t0 * int(np.prod(strides)), h0 * 2**plan.num_stages, w0 * 2**plan.num_stages) == size


@pytest.mark.parametrize("size", [(8, 33, 32), (8, 32, 31), (8, 6, 6), (8, 4, 16)])
def test_plan_stages_rejects_sizes_without_a_2x_stage(size):
    """Odd H or W, or a side below 8, leaves no 2x stage: ValueError."""
    with pytest.raises(ValueError):
        models.plan_stages(*size)


def test_warp_fetches_pixels_along_the_flow():
    """Zero flow copies the image into every frame; an integer flow shifts it (with edge
    pixels repeated where it reaches outside); a half-pixel flow averages neighbours; the
    gradient reaches the flow."""
    image = tf.reshape(tf.range(2 * 4 * 5 * 3, dtype=tf.float32), [2, 4, 5, 3])
    zero = tf.zeros([2, 3, 4, 5, 2])
    np.testing.assert_array_equal(layers.warp(image, zero),
                                  np.broadcast_to(image[:, None], [2, 3, 4, 5, 3]))
    down_right = tf.broadcast_to(tf.constant([1.0, 2.0]), [2, 3, 4, 5, 2])
    shifted = layers.warp(image, down_right).numpy()
    for y in range(4):
        for x in range(5):
            np.testing.assert_array_equal(shifted[:, :, y, x],
                                          np.broadcast_to(image[:, None, min(y + 1, 3),
                                                                min(x + 2, 4)], [2, 3, 3]))
    half = tf.broadcast_to(tf.constant([0.0, 0.5]), [2, 1, 4, 5, 2])
    np.testing.assert_allclose(layers.warp(image, half)[:, 0, :, :4],
                               (image[:, :, :4] + image[:, :, 1:]) / 2, rtol=1e-6)
    flow = tf.Variable(tf.fill([2, 1, 4, 5, 2], 0.25))
    with tf.GradientTape() as tape:
        out = tf.reduce_sum(layers.warp(image, flow))
    grad = tape.gradient(out, flow).numpy()
    assert np.all(np.isfinite(grad)) and np.abs(grad).max() > 0


def test_stage_channels_double_and_clip():
    """Channels double per stage from the finest, clipped at max_channels."""
    assert layers.stage_channels(64, 512, 4) == [64, 128, 256, 512, 512]
    assert layers.stage_channels(8, 32, 2) == [8, 16, 32]
    assert layers.stage_channels(3, 5, 2) == [3, 5, 5]


# --- shapes --------------------------------------------------------------------------
SMALL_CASES = [
    # (T, H, W), generator/discriminator kwargs
    ((8, 16, 16), dict(channels=8, max_channels=32)),
    ((12, 48, 64), dict(channels=4, max_channels=16)),
    ((1, 32, 32), dict(channels=4, max_channels=16)),
    ((16, 32, 32), dict(channels=4, max_channels=16, norm="none")),
]


@pytest.mark.parametrize("size, kwargs", SMALL_CASES)
def test_generator_and_discriminator_shapes(size, kwargs):
    """G: z [B, z] -> float32 [B, T, H, W, 3] in [-1, 1]; D on that -> float32 [B]."""
    g = VideoGenerator(*size, z_dim=8, **kwargs)
    d = VideoDiscriminator(*size, **kwargs)
    for training in (False, True):
        video = g(latents(2, 8, stream=1), training=training)
        assert video.shape == (2, *size, 3)
        assert video.dtype == tf.float32
        v = video.numpy()
        assert np.all(np.isfinite(v)) and v.min() >= -1.0 and v.max() <= 1.0
        assert v.std() > 0  # not a constant output
        logits = d(video, training=training)["video"]
        assert logits.shape == (2,)
        assert logits.dtype == tf.float32
        assert np.all(np.isfinite(logits.numpy()))


def test_default_width_generator_and_discriminator_at_16x64x64():
    """The default widths (64, max 512) at 16x64x64: one batch-1 forward pass each."""
    g = VideoGenerator(16, 64, 64)  # z_dim 128, channels 64, max 512, batch norm
    video = g(latents(1, 128, stream=1))
    assert video.shape == (1, 16, 64, 64, 3) and video.dtype == tf.float32
    v = video.numpy()
    assert v.min() >= -1.0 and v.max() <= 1.0
    # Coarse start: 1 x 4 x 4 x 512, projected from z by a bias-free Dense.
    assert g.start_shape == (1, 4, 4, 512)
    assert tuple(g.project.kernel.shape) == (128, 4 * 4 * 512)
    # Four up-stages, channels 512 -> 256 -> 128 -> 64 (the first keeps 512: clipped).
    assert [conv.filters for conv in g.up_convs] == [512, 256, 128, 64]
    d = VideoDiscriminator(16, 64, 64)
    logits = d(video)["video"]
    assert logits.shape == (1,) and logits.dtype == tf.float32
    assert [conv.filters for conv in d.down_convs] == [64, 128, 256, 512]


@pytest.mark.parametrize("norm", ["none", "layer", "batch"])
@pytest.mark.parametrize("spectral_norm", [False, True])
def test_discriminator_variants(norm, spectral_norm):
    """Every norm / spectral-norm combination maps [B, 8, 16, 16, 3] to float32 [B]."""
    d = VideoDiscriminator(8, 16, 16, channels=8, max_channels=32, norm=norm,
                           spectral_norm=spectral_norm)
    video = tf.random.stateless_uniform([3, 8, 16, 16, 3], [0, 2], -1, 1)
    for training in (False, True):
        logits = d(video, training=training)["video"]
        assert logits.shape == (3,) and logits.dtype == tf.float32
        assert np.all(np.isfinite(logits.numpy()))
    conv_type = layers.SNConv3D if spectral_norm else keras.layers.Conv3D
    assert all(type(conv) is conv_type for conv in d.down_convs)
    # No norm on the first stage; the others get the requested kind.
    assert isinstance(d.down_norms[0], keras.layers.Identity)
    expected = {"none": keras.layers.Identity, "layer": keras.layers.LayerNormalization,
                "batch": keras.layers.BatchNormalization}[norm]
    assert all(isinstance(n, expected) for n in d.down_norms[1:])


def test_generator_rejects_wrong_latent_shape():
    """z with the wrong z_dim (or rank) raises ValueError, before and after building."""
    g = VideoGenerator(4, 8, 8, z_dim=4, channels=2, max_channels=8)
    with pytest.raises(ValueError, match="latent of shape"):
        g(tf.zeros([2, 5]))
    g(tf.zeros([2, 4]))  # builds
    with pytest.raises(ValueError, match="latent of shape"):
        g(tf.zeros([2, 3]))
    with pytest.raises(ValueError, match="latent of shape"):
        g(tf.zeros([2, 4, 1]))


def test_discriminator_rejects_wrong_video_shape():
    """A video whose [T, H, W, C] differs from the configured one raises ValueError."""
    d = VideoDiscriminator(4, 8, 8, channels=2, max_channels=8)
    d(tf.zeros([1, 4, 8, 8, 3]))
    for bad in ([1, 4, 8, 8, 1], [1, 2, 8, 8, 3], [1, 4, 8, 16, 3], [1, 4, 16, 8, 3]):
        with pytest.raises(ValueError, match="discriminator expects video"):
            d(tf.zeros(bad))


# --- parameter counts (by hand) ------------------------------------------------------
def test_tiny_generator_param_count_no_norm():
    """T=4, H=W=8, z=4, channels 2 (max 8), norm none.

    plan: 8 -> 4 is one stage, T 4 -> start T0 = 2 with one time doubling.
    widths (coarse -> fine): [4, 2]; start [2, 4, 4, 4].
    """
    g = VideoGenerator(4, 8, 8, z_dim=4, channels=2, max_channels=8, norm="none")
    g(latents(2, 4, stream=1))
    project = 4 * (2 * 4 * 4 * 4)  # Dense, no bias: 512
    up0 = 4 * 4 * 4 * 4 * 2 + 2  # 4x4x4 transposed conv 4 -> 2, with bias (norm none): 514
    rgb_mix = 2 * 16  # 1x1x1 conv 2 -> 16, no bias: 32
    to_rgb = 3 * 3 * 3 * 16 * 3 + 3  # 3x3x3 conv 16 -> 3 + bias: 1299
    assert g.count_params() == project + up0 + rgb_mix + to_rgb == 2357


@pytest.mark.parametrize("rgb_kernel,rgb_mix,head", [
    (1, 0, 2 * 3 + 3),  # 1x1x1 conv 2 -> 3 straight from the last stage: 9
    (3, 0, 27 * 2 * 3 + 3),  # 3x3x3 conv 2 -> 3: 165
    (1, 4, 2 * 4 + 4 * 3 + 3),  # 1x1x1 2 -> 4 (no bias), 1x1x1 4 -> 3: 23
])
def test_generator_rgb_head_options(rgb_kernel, rgb_mix, head):
    """rgb_kernel / rgb_mix change only the head (the same tiny generator otherwise)."""
    g = VideoGenerator(4, 8, 8, z_dim=4, channels=2, max_channels=8, norm="none",
                       rgb_kernel=rgb_kernel, rgb_mix=rgb_mix)
    assert g(latents(2, 4, stream=1)).shape == (2, 4, 8, 8, 3)
    assert g.to_rgb.kernel.shape == (rgb_kernel,) * 3 + (rgb_mix or 2, 3)
    assert (g.rgb_mix is None) == (rgb_mix == 0)
    assert g.count_params() == 512 + 514 + head
    config = VideoGenerator.from_config(g.get_config()).get_config()
    assert (config["rgb_kernel"], config["rgb_mix"]) == (rgb_kernel, rgb_mix)


def test_tiny_generator_param_count_batch_norm():
    """Same tiny generator with batch norm: convs lose their bias, BN adds 4*C each."""
    g = VideoGenerator(4, 8, 8, z_dim=4, channels=2, max_channels=8, norm="batch")
    g(latents(2, 4, stream=1))
    project = 4 * (2 * 4 * 4 * 4) + 4 * 4  # Dense (no bias) + BN over 4 channels
    up0 = 4 * 4 * 4 * 4 * 2 + 4 * 2  # no bias; BN over 2 channels
    to_rgb = 2 * 16 + 3 * 3 * 3 * 16 * 3 + 3  # 1x1x1 mix to 16, 3x3x3 conv to RGB
    assert g.count_params() == project + up0 + to_rgb == 2379


@pytest.mark.parametrize("norm", ["none", "batch"])
def test_two_stage_generator_param_count(norm):
    """T=4, H=W=16, z=4, channels 2, max 4 (so the coarsest width is clipped 8 -> 4).

    plan: 16 -> 4 is 2 stages, both doubling T: start (1, 4, 4).
    widths (coarse -> fine): [min(4, 8), 4, 2] = [4, 4, 2].
    """
    g = VideoGenerator(4, 16, 16, z_dim=4, channels=2, max_channels=4, norm=norm)
    g(latents(1, 4, stream=1))
    bias = norm == "none"
    bn = (lambda c: 4 * c) if norm == "batch" else (lambda c: 0)
    project = 4 * (1 * 4 * 4 * 4) + bn(4)
    up0 = 4 * 4 * 4 * 4 * 4 + (4 if bias else 0) + bn(4)
    up1 = 4 * 4 * 4 * 4 * 2 + (2 if bias else 0) + bn(2)
    to_rgb = 2 * 16 + 27 * 16 * 3 + 3
    assert g.count_params() == project + up0 + up1 + to_rgb


def test_generator_time_stride_one_uses_3_frame_kernels():
    """A stage that keeps T uses a 3x4x4 kernel: (1, 16, 16), channels 2, max 4, norm none.

    plan: 2 stages, no time doubling (T=1); widths [4, 4, 2].
    """
    g = VideoGenerator(1, 16, 16, z_dim=3, channels=2, max_channels=4, norm="none")
    g(latents(1, 3, stream=1))
    project = 3 * (1 * 4 * 4 * 4)
    up0 = 3 * 4 * 4 * 4 * 4 + 4
    up1 = 3 * 4 * 4 * 4 * 2 + 2
    to_rgb = 2 * 16 + 27 * 16 * 3 + 3
    assert g.count_params() == project + up0 + up1 + to_rgb


def test_tiny_discriminator_param_count():
    """T=4, H=W=8, channels 2 (max 8): one stage.

    down0: 4x4x4 conv 3 -> 2 + bias, halving T, H and W: output [2, 4, 4, 2],
    flattened to 64 features -> Dense to 1 logit + bias.
    """
    d = VideoDiscriminator(4, 8, 8, channels=2, max_channels=8)
    d(tf.zeros([2, 4, 8, 8, 3]))
    down0 = 4 * 4 * 4 * 3 * 2 + 2  # 386
    logit = (2 * 4 * 4 * 2) * 1 + 1  # 65
    assert d.count_params() == down0 + logit == 451


@pytest.mark.parametrize("norm", ["none", "layer", "batch"])
@pytest.mark.parametrize("spectral_norm", [False, True])
def test_two_stage_discriminator_param_count(norm, spectral_norm):
    """T=4, H=W=16, channels 2, max 8: two stages, both halving T.

    down0: 3 -> 2 (no norm on the first stage); down1: 2 -> 4 (+ norm over 4 channels);
    output [1, 4, 4, 4] -> 64 features -> 1 logit.
    """
    d = VideoDiscriminator(4, 16, 16, channels=2, max_channels=8, norm=norm,
                           spectral_norm=spectral_norm)
    d(tf.zeros([2, 4, 16, 16, 3]))
    sn = (lambda out: out) if spectral_norm else (lambda out: 0)
    norm_params = {"none": 0, "layer": 2 * 4, "batch": 4 * 4}[norm]
    down0 = 4 * 4 * 4 * 3 * 2 + 2 + sn(2)
    down1 = 4 * 4 * 4 * 2 * 4 + 4 + sn(4) + norm_params
    logit = (1 * 4 * 4 * 4) + 1 + sn(1)
    assert d.count_params() == down0 + down1 + logit


def test_discriminator_time_stride_one_uses_3_frame_kernels():
    """With T=1 no stage halves time: every conv is 3x4x4. (1, 16, 16), channels 2, max 8."""
    d = VideoDiscriminator(1, 16, 16, channels=2, max_channels=8)
    d(tf.zeros([1, 1, 16, 16, 3]))
    down0 = 3 * 4 * 4 * 3 * 2 + 2
    down1 = 3 * 4 * 4 * 2 * 4 + 4
    logit = (1 * 4 * 4 * 4) + 1
    assert d.count_params() == down0 + down1 + logit


# --- spectral normalization ----------------------------------------------------------
def _sn_layers(d):
    return [conv for conv in d.down_convs] + [d.logit]


def _layer_sigma(layer):
    """The sigma a spectrally normalized layer divides by, read off its behaviour:
    SN output (minus bias) times sigma equals the raw-kernel output."""
    rng = np.random.default_rng(0)
    kernel = layer.kernel
    if isinstance(layer, layers.SNConv3D):
        x = tf.constant(rng.normal(size=(1, 4, 8, 8, kernel.shape[-2])).astype(np.float32))
        raw = layer.convolution_op(x, kernel)
    else:
        x = tf.constant(rng.normal(size=(3, kernel.shape[0])).astype(np.float32))
        raw = tf.matmul(x, kernel)
    normalized = (layer(x, training=False) - layer.bias).numpy()
    raw = raw.numpy()
    sigma = float(np.sum(raw * raw) / np.sum(raw * normalized))  # least squares
    np.testing.assert_allclose(normalized * sigma, raw, rtol=1e-3, atol=1e-4)
    return sigma


def test_spectral_norm_normalizes_top_singular_value_to_one():
    """After 50 training calls, kernel / sigma has top singular value within 5% of 1.

    Seeded: power iteration converges as (sigma2 / sigma1)^calls, so with whatever
    initialization earlier tests left in the global RNG, 20 calls once fell short."""
    keras.utils.set_random_seed(0)
    d = VideoDiscriminator(8, 16, 16, channels=8, max_channels=32, spectral_norm=True)
    video = tf.random.stateless_uniform([2, 8, 16, 16, 3], [3, 4], -1, 1)
    for _ in range(50):
        d(video, training=True)
    for layer in _sn_layers(d):
        kernel = layer.kernel.numpy()
        w = kernel.reshape(-1, kernel.shape[-1])
        sigma = _layer_sigma(layer)
        top = np.linalg.svd(w / sigma, compute_uv=False)[0]
        assert abs(top - 1.0) < 0.05, (layer.name, top)


def test_sn_dense_with_one_output_divides_by_the_kernel_norm():
    """For a [fan_in, 1] kernel the only singular value is ||w||: exact after one call."""
    d = VideoDiscriminator(4, 8, 8, channels=2, max_channels=8, spectral_norm=True)
    video = tf.random.stateless_uniform([2, 4, 8, 8, 3], [5, 6], -1, 1)
    d(video, training=True)
    np.testing.assert_allclose(_layer_sigma(d.logit), np.linalg.norm(d.logit.kernel.numpy()),
                               rtol=1e-4)


def test_spectral_norm_training_call_updates_only_u():
    """A training call changes every sn_u but no stored kernel or bias;
    an inference call changes nothing."""
    d = VideoDiscriminator(8, 16, 16, channels=8, max_channels=32, spectral_norm=True)
    video = tf.random.stateless_uniform([2, 8, 16, 16, 3], [7, 8], -1, 1)
    d(video, training=False)  # builds
    sn = _sn_layers(d)
    before = {w.path: w.numpy().copy() for w in d.weights}
    d(video, training=False)
    for w in d.weights:
        np.testing.assert_array_equal(w.numpy(), before[w.path])
    d(video, training=True)
    for layer in sn:
        np.testing.assert_array_equal(layer.kernel.numpy(), before[layer.kernel.path])
        np.testing.assert_array_equal(layer.bias.numpy(), before[layer.bias.path])
        assert not np.array_equal(layer.sn_u.numpy(), before[layer.sn_u.path]), layer.name
        # u is kept unit-norm by the power iteration.
        np.testing.assert_allclose(np.linalg.norm(layer.sn_u.numpy()), 1.0, rtol=1e-5)
    changed = {w.path for w in d.weights if not np.array_equal(w.numpy(), before[w.path])}
    assert changed == {layer.sn_u.path for layer in sn}


@pytest.mark.parametrize("make", [
    lambda: layers.SNDense(5, use_bias=False),
    lambda: layers.SNConv3D(4, 3, padding="same", use_bias=False)])
def test_spectral_norm_gradient_flows_through_sigma(make):
    """With u fixed, sigma(W) = v W u^T is linear in W, so the layer's output f(W / sigma(W))
    does not change when W is scaled, and (Euler) the kernel's gradient is orthogonal to W:
    <dL/dW, W> = 0. A sigma cut off from the gradient (stop_gradient) gives
    <dL/dW, W> = <dL/dW_normalized, W> / sigma, far from 0: this tells the two apart."""
    layer = make()
    shape = [3, 7] if isinstance(layer, layers.SNDense) else [2, 3, 5, 5, 2]
    x = tf.random.stateless_normal(shape, [4, 2])
    layer(x)  # build; training=False below keeps u fixed
    readout = tf.random.stateless_normal(layer(x).shape, [5, 5])
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x) * readout)
    grad = tape.gradient(loss, layer.kernel)
    kernel = layer.kernel
    inner = float(tf.reduce_sum(grad * kernel))
    scale = float(tf.norm(grad) * tf.norm(kernel))
    assert scale > 1e-3  # a real gradient
    assert abs(inner) < 1e-4 * scale, (inner, scale)
    with tf.GradientTape() as tape:  # what a stop-gradient sigma would give
        sigma, _ = layers._power_iteration(kernel, layer.sn_u)
        normalized = kernel / tf.stop_gradient(sigma)
        out = (tf.matmul(x, normalized) if isinstance(layer, layers.SNDense)
               else tf.nn.conv3d(x, normalized, [1] * 5, "SAME"))
        cut = tf.reduce_sum(out * readout)
    np.testing.assert_allclose(float(cut), float(loss), rtol=1e-5)  # the same forward pass
    cut_inner = float(tf.reduce_sum(tape.gradient(cut, kernel) * kernel))
    assert abs(cut_inner) > 1e-2 * scale, (cut_inner, scale)


def test_spectral_norm_discriminator_gradients_are_finite():
    """Every weight of an SN discriminator gets a finite gradient (and u is not trainable)."""
    d = VideoDiscriminator(4, 8, 8, channels=2, max_channels=8, spectral_norm=True)
    video = tf.random.stateless_uniform([2, 4, 8, 8, 3], [9, 9], -1, 1)
    d(video)
    with tf.GradientTape() as tape:
        out = tf.reduce_sum(d(video, training=True)["video"])
    grads = tape.gradient(out, d.trainable_weights)
    assert all(g is not None and np.all(np.isfinite(g.numpy())) for g in grads)
    assert all(not w.trainable for layer in _sn_layers(d) for w in [layer.sn_u])


# --- registry / config builders ------------------------------------------------------
def test_build_from_tiny_config(tiny_config):
    """build_generator / build_discriminator take every size and width from the config."""
    section, data = tiny_config.model.dcgan3d, tiny_config.data
    g = models.build_generator(tiny_config)
    d = models.build_discriminator(tiny_config)
    assert tiny_config.model.generator.name == "dcgan3d"
    assert isinstance(g, VideoGenerator) and isinstance(d, VideoDiscriminator)
    assert g.name == "generator" and d.name == "discriminator"
    assert not g.weights and not d.weights  # unbuilt until called
    video = g(latents(2, section.generator.z_dim, stream=1), training=True)
    shape = (data.num_frames, data.height, data.width, 3)
    assert video.shape == (2, *shape)
    assert d(video)["video"].shape == (2,)
    assert g.z_dim == section.generator.z_dim == 16
    assert g.input_specs() == {"latent": models.InputSpec((16,))}
    assert d.head_weights == {"video": 1.0}
    assert g.video_shape == d.video_shape == shape == (8, 16, 16, 3)
    # Widths: channels 8, max 32 over 2 stages -> G 32 -> 16 -> 8, D 8 -> 16.
    assert g.start_shape[-1] == 32
    assert [c.filters for c in g.up_convs] == [16, 8]
    assert [c.filters for c in d.down_convs] == [8, 16]
    # tiny_config keeps the default norms: batch in G, none in D, no spectral norm.
    assert all(isinstance(n, keras.layers.BatchNormalization) for n in g.up_norms)
    assert all(isinstance(n, keras.layers.Identity) for n in d.down_norms)
    assert all(type(c) is keras.layers.Conv3D for c in d.down_convs)


def test_build_follows_config_changes(tiny_config):
    """Changing norm / spectral_norm / widths in the config changes the built models."""
    cfg = override(tiny_config, {
        "model.dcgan3d.generator.norm": "none", "model.dcgan3d.generator.channels": 4,
        "model.dcgan3d.generator.max_channels": 4, "model.dcgan3d.generator.z_dim": 5,
        "model.dcgan3d.discriminator.norm": "layer",
        "model.dcgan3d.discriminator.spectral_norm": True,
        "model.dcgan3d.discriminator.channels": 2,
        "model.dcgan3d.discriminator.max_channels": 2})
    g = models.build_generator(cfg, name="g2")
    d = models.build_discriminator(cfg, name="d2")
    models.build(g, d)
    assert g.name == "g2" and d.name == "d2"
    assert all(isinstance(n, keras.layers.Identity) and c.use_bias
               for c, n in zip(g.up_convs, g.up_norms))
    assert [c.filters for c in g.up_convs] == [4, 4]
    assert all(type(c) is layers.SNConv3D and c.filters == 2 for c in d.down_convs)
    assert isinstance(d.down_norms[1], keras.layers.LayerNormalization)
    assert isinstance(d.logit, layers.SNDense)


def test_every_family_builds_from_its_section(tiny_config):
    """Each registered family builds from config.model.<family> at the tiny size."""
    for name in models.FAMILIES:
        cfg = with_family(tiny_config, name)
        g, d = models.build_generator(cfg), models.build_discriminator(cfg)
        models.build(g, d)
        inputs = {k: tf.random.stateless_normal([2, *spec.shape], [1, i])
                  for i, (k, spec) in enumerate(g.input_specs().items())}
        video = g(inputs)
        assert video.shape == (2, 8, 16, 16, 3), name
        heads = d(video)
        assert set(heads) == set(d.head_weights), name


def test_get_config_records_constructor_arguments():
    """get_config carries the architecture arguments (for serialization)."""
    g = VideoGenerator(4, 8, 8, z_dim=4, channels=2, max_channels=8, norm="none")
    d = VideoDiscriminator(4, 8, 8, channels=2, max_channels=8, norm="layer",
                           spectral_norm=True)
    gc, dc = g.get_config(), d.get_config()
    assert {k: gc[k] for k in ("num_frames", "height", "width", "z_dim", "channels",
                               "max_channels", "norm")} == dict(
        num_frames=4, height=8, width=8, z_dim=4, channels=2, max_channels=8, norm="none")
    assert dc["norm"] == "layer" and dc["spectral_norm"] is True and dc["channels"] == 2


def test_normalization_rejects_unknown_kind():
    """normalization() raises ValueError for an unknown kind."""
    with pytest.raises(ValueError, match="unknown normalization"):
        layers.normalization("group", "n")


@pytest.mark.parametrize("build", ["generator", "discriminator"])
@pytest.mark.parametrize("norm", ["batch", "none"])
def test_checkpoint_holds_every_variable(tmp_path, build, norm):
    """tf.train.Checkpoint saves every weight of G and D (incl. BN moving statistics and
    spectral-norm u), so resume and export restore the whole model."""
    if build == "generator":
        model = models.VideoGenerator(8, 16, 16, z_dim=4, channels=4, max_channels=8, norm=norm)
        model(tf.zeros([1, 4]))
    else:
        model = models.VideoDiscriminator(8, 16, 16, channels=4, max_channels=8,
                                          norm="batch" if norm == "batch" else "layer",
                                          spectral_norm=True)
        model(tf.zeros([1, 8, 16, 16, 3]))
    path = tf.train.Checkpoint(model=model).save(str(tmp_path / "ckpt"))
    saved = [name for name in tf.train.list_variables(path)
             if name[0].startswith("model/") and "OPTIMIZER_SLOT" not in name[0]]
    assert len(saved) == len(model.weights), (sorted(n for n, _ in saved),
                                              [w.path for w in model.weights])


@pytest.mark.parametrize("dtype", ["float32", "mixed_bfloat16"])
def test_video_batch_norm_equals_keras_batch_norm(dtype):
    """The fused one-replica path of VideoBatchNorm gives Keras' outputs, gradients and
    moving statistics (training and inference) on [B, T, H, W, C]."""
    x = tf.random.stateless_normal([4, 3, 6, 5, 8], [0, 1]) * 3 + 1
    fused = layers.VideoBatchNorm(synchronized=True, dtype=dtype)
    reference = keras.layers.BatchNormalization(synchronized=True, dtype=dtype)
    for layer in (fused, reference):
        layer.build(x.shape)
        layer.gamma.assign(tf.random.stateless_normal([8], [1, 2]))
        layer.beta.assign(tf.random.stateless_normal([8], [3, 4]))

    def run(layer, training):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=training)
            loss = tf.reduce_sum(tf.cast(y, tf.float32) ** 2)
        return y, tape.gradient(loss, [x, layer.gamma, layer.beta])

    for training in (True, True, False):
        (ya, ga), (yb, gb) = run(fused, training), run(reference, training)
        assert ya.dtype == yb.dtype and ya.shape == yb.shape
        np.testing.assert_allclose(tf.cast(ya, tf.float32), tf.cast(yb, tf.float32),
                                   rtol=1e-5, atol=1e-5)
        for a, b in zip(ga, gb):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-3)
        np.testing.assert_allclose(fused.moving_mean, reference.moving_mean, rtol=1e-5,
                                   atol=1e-6)
        np.testing.assert_allclose(fused.moving_variance, reference.moving_variance,
                                   rtol=1e-5, atol=1e-6)
    assert not np.allclose(fused.moving_mean, 0)  # the statistics did move
