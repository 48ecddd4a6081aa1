"""The residual family (vidgan.models.resnet3d): shapes and ranges, input checks,
hand-counted parameters, the upsampling rules, and the (2+1)D factorization.

Parameter counts from the layer formulas:
  Conv3D: kt * kh * kw * in * out (+ out bias); Dense: in * out + out
  BatchNorm: 4 * C; spectral norm: + out (u, [1, out])
"""

import numpy as np
import pytest
import tensorflow as tf

from helpers import latents
from vidgan.models import layers
from vidgan.models import resblocks
from vidgan.models.resnet3d import ResNet3DDiscriminator, ResNet3DGenerator


CASES = [
    ((8, 16, 16), dict(channels=8, max_channels=32)),
    ((16, 32, 32), dict(channels=4, max_channels=16)),
    ((12, 48, 64), dict(channels=4, max_channels=16)),  # T doubled twice, non-square
    ((1, 16, 16), dict(channels=4, max_channels=8)),  # a single frame: no time stages
    ((8, 16, 16), dict(channels=8, max_channels=16, conv="2plus1d")),
]


@pytest.mark.parametrize("size, kwargs", CASES)
@pytest.mark.parametrize("upsample", ["nearest", "trilinear"])
def test_shapes_and_ranges(size, kwargs, upsample):
    """G: z [B, z] -> float32 [B, T, H, W, 3] in [-1, 1], not constant; D -> {"video": [B]}."""
    g = ResNet3DGenerator(*size, z_dim=8, upsample=upsample, **kwargs)
    d = ResNet3DDiscriminator(*size, **kwargs)
    for training in (False, True):
        video = g(latents(2, 8), training=training)
        assert video.shape == (2, *size, 3) and video.dtype == tf.float32
        v = video.numpy()
        assert np.all(np.isfinite(v)) and v.min() >= -1.0 and v.max() <= 1.0
        assert v.std() > 0
        heads = d(video, training=training)
        assert set(heads) == {"video"} and d.head_weights == {"video": 1.0}
        assert heads["video"].shape == (2,) and heads["video"].dtype == tf.float32
        assert np.all(np.isfinite(heads["video"].numpy()))


def test_inputs_are_checked_at_entry():
    g = ResNet3DGenerator(4, 8, 8, z_dim=4, channels=2, max_channels=8)
    d = ResNet3DDiscriminator(4, 8, 8, channels=2, max_channels=8)
    with pytest.raises(ValueError, match=r"latent of shape \[B, 4\]"):
        g(tf.zeros([2, 5]))
    with pytest.raises(ValueError, match="missing latent"):
        g({"noise": tf.zeros([2, 4])})
    with pytest.raises(ValueError, match="discriminator expects video"):
        d(tf.zeros([1, 4, 8, 16, 3]))
    with pytest.raises(ValueError, match="unknown upsample"):
        ResNet3DGenerator(4, 8, 8, upsample="bicubic")
    with pytest.raises(ValueError, match="unknown conv"):
        ResNet3DGenerator(4, 8, 8, z_dim=4, conv="4d")(tf.zeros([1, 4]))


def test_generator_param_count():
    """T=4, H=W=8, z=4, channels 2 (max 8): one stage doubling T, start (2, 4, 4, 4).

    project: Dense 4 -> 2*4*4*4 with bias; block0: BN(4), 3x3x3 conv 4 -> 2 (no bias),
    BN(2), 3x3x3 conv 2 -> 2 (no bias), 1x1x1 shortcut 4 -> 2 (no bias); out BN(2);
    1x1x1 mix 2 -> 16 (no bias); 3x3x3 conv 16 -> 3 (+ bias).
    """
    g = ResNet3DGenerator(4, 8, 8, z_dim=4, channels=2, max_channels=8)
    g(latents(2, 4))
    project = 4 * 128 + 128
    block0 = 4 * 4 + 27 * 4 * 2 + 4 * 2 + 27 * 2 * 2 + 4 * 2
    head = 4 * 2 + 2 * 16 + 27 * 16 * 3 + 3
    assert g.count_params() == project + block0 + head == 2335
    assert g.start_shape == (2, 4, 4, 4)


def test_self_modulated_generator_param_count_and_behaviour():
    """modulate=true: each batch norm becomes a ClassBatchNorm on z [B, 4]: no gain/offset
    of its own, two zero-initialized 4 -> C Dense maps instead (and the same statistics).
    Same sizes as above: norms of widths 4, 2, 2."""
    g = ResNet3DGenerator(4, 8, 8, z_dim=4, channels=2, max_channels=8, modulate=True)
    z = latents(2, 4)
    plain = g(z, training=False)
    project = 4 * 128 + 128
    norms = sum(2 * c + 2 * 4 * c for c in (4, 2, 2))  # statistics + gain + offset maps
    convs = 27 * 4 * 2 + 27 * 2 * 2 + 4 * 2
    head = 2 * 16 + 27 * 16 * 3 + 3
    assert g.count_params() == project + norms + convs + head == 2383
    # At initialization the maps are zero: plain batch norm. Once they are not, each
    # example's own z changes its gains.
    for norm in (g.block0.norm1, g.block0.norm2, g.out_norm):
        assert isinstance(norm, layers.ClassBatchNorm)
        norm.gain.kernel.assign(tf.random.stateless_normal(norm.gain.kernel.shape, [1, 2]))
    modulated = g(z, training=False)
    assert np.abs(modulated.numpy() - plain.numpy()).max() > 1e-3


def test_discriminator_param_count():
    """T=4, H=W=8, channels 2 (max 8): one block 3 -> 2 halving T, H, W, every conv
    spectrally normalized (+ u); the first block's shortcut is a 1x1x1 conv 3 -> 2;
    ReLU, sum over T, H, W, SNDense 2 -> 1."""
    d = ResNet3DDiscriminator(4, 8, 8, channels=2, max_channels=8)
    d(tf.zeros([2, 4, 8, 8, 3]))
    conv1 = 27 * 3 * 2 + 2 + 2
    conv2 = 27 * 2 * 2 + 2 + 2
    shortcut = 3 * 2 + 2 + 2
    logit = 2 + 1 + 1
    assert d.count_params() == conv1 + conv2 + shortcut + logit == 292
    assert all(isinstance(c, layers.SNConv3D)
               for c in (d.block0.conv1.conv, d.block0.conv2.conv, d.block0.shortcut))


def test_discriminator_without_spectral_norm_is_the_same_map_on_raw_kernels():
    """spectral_norm=False: the same layers without u (292 - 2 - 2 - 2 - 1 = 285
    parameters, as counted above); given the normalized D's kernels divided by their
    sigma, it scores exactly as the normalized D does."""
    normed = ResNet3DDiscriminator(4, 8, 8, channels=2, max_channels=8)
    plain = ResNet3DDiscriminator(4, 8, 8, channels=2, max_channels=8, spectral_norm=False)
    video = tf.random.stateless_uniform([2, 4, 8, 8, 3], [1, 2], -1.0, 1.0)
    normed(video), plain(video)
    assert plain.count_params() == 285
    pairs = [(getattr(normed.block0, name), getattr(plain.block0, name))
             for name in ("conv1", "conv2")]
    pairs = [(n.conv, p.conv) for n, p in pairs] + [
        (normed.block0.shortcut, plain.block0.shortcut), (normed.logit, plain.logit)]
    for n, p in pairs:
        assert not isinstance(p, (layers.SNConv3D, layers.SNDense))
        sigma, _ = layers._power_iteration(n.kernel, n.sn_u)
        p.kernel.assign(n.kernel / sigma)
        p.bias.assign(n.bias + 0.1)
        n.bias.assign(n.bias + 0.1)
    np.testing.assert_allclose(plain(video)["video"], normed(video)["video"], rtol=1e-5)


def test_widths_follow_the_stage_plan():
    """16x64x64, channels 32 (max 256): G 256 -> 128 -> 64 -> 32, D 32 -> 64 -> 128 -> 256."""
    g = ResNet3DGenerator(16, 64, 64, z_dim=8)
    d = ResNet3DDiscriminator(16, 64, 64)
    assert g.start_shape == (1, 4, 4, 256)
    assert [b.filters for b in g.blocks] == [256, 128, 64, 32]
    assert [b.filters for b in d.blocks] == [32, 64, 128, 256]
    assert [b.t_factor for b in g.blocks] == [2, 2, 2, 2]


def test_full_time_generator_upsamples_space_only():
    """upsample_time=false (DVD-GAN): the Dense projects to all T frames at the coarsest
    size; blocks double H and W only. Same widths, a wider projection."""
    g = ResNet3DGenerator(16, 64, 64, z_dim=8, upsample_time=False)
    assert g.start_shape == (16, 4, 4, 256)
    assert [b.t_factor for b in g.blocks] == [1, 1, 1, 1]
    video = g(latents(2, 8))
    assert video.shape == (2, 16, 64, 64, 3)
    coarse = ResNet3DGenerator(16, 64, 64, z_dim=8)
    coarse(latents(1, 8))
    # Only the projection differs: 8 -> 16*4*4*256 instead of 8 -> 1*4*4*256 (+ biases).
    assert g.count_params() - coarse.count_params() == (8 + 1) * 15 * 4 * 4 * 256


def test_2plus1d_middle_width_keeps_the_3d_parameter_count():
    """Tran et al.'s rule: mid = 27 C_in C_out / (9 C_in + 3 C_out), rounded to 8s."""
    conv = resblocks.Conv(64, "2plus1d", spectral_norm=False, use_bias=False)
    conv.build((None, 4, 8, 8, 128))
    mid = 27 * 128 * 64 // (9 * 128 + 3 * 64)  # 164 -> 168
    assert conv.spatial.filters == 168 == (mid + 4) // 8 * 8
    assert tuple(conv.spatial.kernel.shape) == (1, 3, 3, 128, 168)
    assert tuple(conv.temporal.kernel.shape) == (3, 1, 1, 168, 64)
    params = 9 * 128 * 168 + 3 * 168 * 64
    assert abs(params - 27 * 128 * 64) / (27 * 128 * 64) < 0.03


@pytest.mark.parametrize("kind", ["3d", "2plus1d"])
def test_replicate_time_padding_treats_edge_frames_like_inner_ones(kind):
    """A clip constant in time stays constant in time through a replicate-padded conv
    (every frame sees the same three frames), while zero padding changes the edge frames;
    both have the same weights and keep [B, T, H, W, C]; with the same weights, inner
    frames agree."""
    x = tf.tile(tf.random.stateless_normal([1, 1, 6, 6, 4], seed=[1, 2]), [1, 5, 1, 1, 1])
    zeros = resblocks.Conv(8, kind, spectral_norm=False, time_padding="zeros")
    replicate = resblocks.Conv(8, kind, spectral_norm=False, time_padding="replicate")
    zeros.build(x.shape)
    replicate.build(x.shape)
    assert [w.shape for w in zeros.weights] == [w.shape for w in replicate.weights]
    for src, dst in zip(zeros.weights, replicate.weights):
        dst.assign(src)
    a, b = zeros(x).numpy(), replicate(x).numpy()
    assert a.shape == b.shape == (1, 5, 6, 6, 8)
    np.testing.assert_allclose(b, np.broadcast_to(b[:, :1], b.shape), atol=1e-5)
    np.testing.assert_allclose(a[:, 1:-1], b[:, 1:-1], atol=1e-5)
    assert np.abs(a[:, 0] - b[:, 0]).max() > 1e-3 and np.abs(a[:, -1] - b[:, -1]).max() > 1e-3


def test_replicate_time_padding_generator_keeps_parameters_and_shapes():
    zeros = ResNet3DGenerator(4, 8, 8, z_dim=4, channels=2, max_channels=8)
    replicate = ResNet3DGenerator(4, 8, 8, z_dim=4, channels=2, max_channels=8,
                                  time_padding="replicate")
    video = replicate(latents(2, 4))
    zeros(latents(2, 4))
    assert video.shape == (2, 4, 8, 8, 3)
    assert replicate.count_params() == zeros.count_params() == 2335
    with pytest.raises(ValueError, match="unknown time_padding"):
        ResNet3DGenerator(4, 8, 8, z_dim=4, time_padding="wrap")(latents(1, 4))


def test_nearest_upsampling_repeats_each_voxel():
    x = tf.reshape(tf.range(2 * 2 * 2, dtype=tf.float32), [1, 2, 2, 2, 1])
    up = resblocks.upsample(x, 2, "nearest").numpy()
    assert up.shape == (1, 4, 4, 4, 1)
    np.testing.assert_array_equal(up[0, ::2, ::2, ::2], x.numpy()[0])
    np.testing.assert_array_equal(up[0, 1::2, 1::2, 1::2], x.numpy()[0])


def test_trilinear_upsampling_interpolates_with_half_pixel_centers():
    """A linear ramp over time t -> 4t upsamples to 4 * ((t' + 0.5) / 2 - 0.5), clamped at
    the edges, and a constant stays constant."""
    t = tf.range(4, dtype=tf.float32)
    x = tf.reshape(tf.tile(4.0 * t[:, None], [1, 4]), [1, 4, 2, 2, 1])
    up = resblocks.upsample(x, 2, "trilinear").numpy()[0, :, 0, 0, 0]
    expected = np.clip(4 * ((np.arange(8) + 0.5) / 2 - 0.5), 0, 12)
    np.testing.assert_allclose(up, expected, atol=1e-6)
    const = resblocks.upsample(tf.ones([1, 2, 3, 3, 2]), 2, "trilinear")
    np.testing.assert_allclose(const, 1.0, atol=1e-6)


@pytest.mark.parametrize("upsample", ["nearest", "trilinear"])
def test_shortcut_before_upsampling_equals_after(upsample):
    """The 1x1x1 shortcut runs before the (linear, per-channel) upsampling: the same map."""
    block = resblocks.GBlock(4, 2, "3d", upsample)
    x = tf.random.stateless_normal([2, 2, 4, 4, 6], [1, 2])
    block(x)
    before = resblocks.upsample(block.shortcut(x), 2, upsample)
    after = block.shortcut(resblocks.upsample(x, 2, upsample))
    np.testing.assert_allclose(before, after, rtol=1e-5, atol=1e-5)


def test_gradients_reach_every_trainable_weight():
    g = ResNet3DGenerator(4, 8, 8, z_dim=4, channels=4, max_channels=8)
    d = ResNet3DDiscriminator(4, 8, 8, channels=4, max_channels=8)
    with tf.GradientTape(persistent=True) as tape:
        score = tf.reduce_sum(d(g(latents(2, 4), training=True), training=True)["video"])
    for model in (g, d):
        grads = tape.gradient(score, model.trainable_weights)
        assert all(gr is not None and np.any(gr.numpy() != 0) for gr in grads), model.name


def test_checkpoint_holds_every_variable(tmp_path):
    g = ResNet3DGenerator(4, 8, 8, z_dim=4, channels=4, max_channels=8, conv="2plus1d")
    d = ResNet3DDiscriminator(4, 8, 8, channels=4, max_channels=8, conv="2plus1d")
    d(g(latents(1, 4)))
    for model in (g, d):
        path = tf.train.Checkpoint(model=model).save(str(tmp_path / model.name))
        saved = [n for n, _ in tf.train.list_variables(path) if n.startswith("model/")]
        assert len(saved) == len(model.weights), model.name


def test_dual_discriminator_heads():
    """frames > 0: a "frames" head on k frames chosen by inputs["seed"] (evenly spaced
    without one), and the "video" head on the clip pooled by video_downsample."""
    d = ResNet3DDiscriminator(8, 16, 16, channels=4, max_channels=8, frames=3,
                              frames_weight=0.5, video_downsample=2)
    assert d.head_weights == {"video": 1.0, "frames": 0.5} and d.uses_seed
    video = tf.random.stateless_uniform([2, 8, 16, 16, 3], [1, 1], -1, 1)
    heads = d(video)
    assert set(heads) == {"video", "frames"}
    assert all(h.shape == (2,) and h.dtype == tf.float32 for h in heads.values())
    # The video head works on 8x8 frames: one stage fewer than the frames head.
    assert d.num_stages == 1 and d.num_frame_stages == 2
    a = d({"video": video, "seed": tf.constant([1, 2], tf.int64)})["frames"].numpy()
    b = d({"video": video, "seed": tf.constant([1, 2], tf.int64)})["frames"].numpy()
    np.testing.assert_array_equal(a, b)
    # The frames head only looks at the chosen frames: which frames depends on the seed.
    outs = {tuple(np.round(d({"video": video, "seed": tf.constant([s, 0], tf.int64)})[
        "frames"].numpy(), 5)) for s in range(6)}
    assert len(outs) > 1
    with pytest.raises(ValueError, match="frames must be in"):
        ResNet3DDiscriminator(8, 16, 16, frames=9)


def test_frames_head_takes_its_own_widths():
    """frame_channels / frame_max_channels widen the 2D frames head alone: at 8x16x16 with
    frames 8..16 (video head 4..8) its two blocks are 3 -> 8 and 8 -> 16 (1x3x3 convs,
    spectral norm's u per conv and shortcut), the video head is unchanged."""
    narrow = ResNet3DDiscriminator(8, 16, 16, channels=4, max_channels=8, frames=2)
    wide = ResNet3DDiscriminator(8, 16, 16, channels=4, max_channels=8, frames=2,
                                 frame_channels=8, frame_max_channels=16)
    video = tf.zeros([1, 8, 16, 16, 3])
    narrow(video), wide(video)
    assert [b.filters for b in wide.frame_blocks] == [8, 16]
    assert [b.filters for b in wide.blocks] == [b.filters for b in narrow.blocks] == [4, 8]
    conv = lambda k_in, out: 9 * k_in * out + out + out  # noqa: E731  (kernel, bias, u)
    block0 = conv(3, 8) + conv(8, 8) + (3 * 8 + 8 + 8)
    block1 = conv(8, 16) + conv(16, 16) + (8 * 16 + 16 + 16)
    frame_params = sum(w.shape.num_elements() for w in wide.weights
                       if "frame_block" in w.path)
    assert frame_params == block0 + block1


def test_clip_output_is_exact_at_the_bounds_with_a_straight_through_gradient():
    """output="clip": values beyond [-1, 1] land exactly on the bounds (black is exactly
    -1), and the gradient is the identity's, also where the clip holds; tanh's is
    1 - tanh^2."""
    from vidgan.models.resnet3d import squash  # noqa: PLC0415

    x = tf.constant([-3.0, -1.0, -0.25, 0.5, 2.0])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        clipped, tanh = squash(x, "clip"), squash(x, "tanh")
    np.testing.assert_array_equal(clipped, [-1.0, -1.0, -0.25, 0.5, 1.0])
    np.testing.assert_array_equal(tape.gradient(clipped, x), np.ones(5))
    np.testing.assert_allclose(tape.gradient(tanh, x), 1 - np.tanh(x.numpy()) ** 2, rtol=1e-4)
    g = ResNet3DGenerator(4, 8, 8, z_dim=4, channels=4, max_channels=8, output="clip")
    video = g(latents(3, 4) * 30.0).numpy()
    assert video.min() >= -1.0 and video.max() <= 1.0
    with pytest.raises(ValueError, match="unknown output 'sigmoid'"):
        ResNet3DGenerator(4, 8, 8, output="sigmoid")


def test_skip_rgb_generator_adds_every_stage_s_rgb():
    """skip_rgb: T=8, H=W=16, channels 2 (max 8) has two stages; the first adds a 1x1x1
    conv 4 -> 3 (+ bias) = 15 parameters to the plain generator's. Its RGB reaches the
    output: zeroing it changes the video, and the result stays in [-1, 1]."""
    kwargs = dict(z_dim=4, channels=2, max_channels=8)
    plain = ResNet3DGenerator(8, 16, 16, **kwargs)
    skip = ResNet3DGenerator(8, 16, 16, skip_rgb=True, **kwargs)
    z = latents(2, 4)
    plain(z), skip(z)
    assert skip.num_stages == 2
    assert skip.count_params() == plain.count_params() + 4 * 3 + 3
    before = skip(z, training=False).numpy()
    assert before.shape == (2, 8, 16, 16, 3)
    assert np.all(np.isfinite(before)) and before.min() >= -1.0 and before.max() <= 1.0
    skip.rgb0.kernel.assign(tf.zeros_like(skip.rgb0.kernel))
    skip.rgb0.bias.assign(tf.zeros_like(skip.rgb0.bias))
    assert np.abs(skip(z, training=False).numpy() - before).max() > 1e-3


def test_two_frame_convs_have_finite_bfloat16_filter_gradients():
    """Under a bfloat16 policy, a conv spanning time over a 2-frame input computes in
    float32: TF 2.21's bfloat16 filter gradient of a "same"-padded 3-deep conv over 2
    frames is NaN for some shapes (seen: 3 of these 16 in a tf.function, the trainer's
    case; 11-15 of 16 on the raw op). Other convs stay bfloat16; the output keeps the
    policy's dtype; the (2+1)D pair's temporal conv takes the same path."""
    import itertools  # noqa: PLC0415

    from vidgan import runtime  # noqa: PLC0415

    for i, (b, h, c_in, c_out) in enumerate(itertools.product((16, 32), (4, 8), (64, 128),
                                                              (128, 256))):
        x = tf.random.stateless_normal([b, 2, h, h, c_in], [1, i])
        with runtime.dtype_policy("mixed_bfloat16"):
            conv = resblocks.Conv(c_out, "3d", spectral_norm=True)
            conv.build(x.shape)

        @tf.function
        def grads(x, conv=conv, i=i):
            with tf.GradientTape() as tape:
                y = tf.cast(conv(x, training=True), tf.float32)
                loss = tf.reduce_sum(y * tf.random.stateless_normal(tf.shape(y), [3, i]))
            return tape.gradient(loss, conv.trainable_variables)

        assert conv.conv.compute_dtype == "float32"
        assert all(np.all(np.isfinite(g.numpy())) for g in grads(x)), (b, h, c_in, c_out)

    x = tf.random.stateless_normal([2, 2, 8, 8, 16], [1, 2])
    with runtime.dtype_policy("mixed_bfloat16"):
        pair = resblocks.Conv(32, "2plus1d", spectral_norm=False)
        wider = resblocks.Conv(32, "3d", spectral_norm=False)  # 4 frames: bfloat16
        pair.build(x.shape), wider.build((2, 4, 8, 8, 16))
    assert pair.temporal.compute_dtype == "float32"
    assert pair.spatial.compute_dtype == wider.conv.compute_dtype == "bfloat16"
    assert pair(x).dtype == wider(tf.concat([x, x], 1)).dtype == tf.bfloat16
    assert pair(x).shape == (2, 2, 8, 8, 32)


@pytest.mark.parametrize("time_padding", ["zeros", "replicate", "causal"])
@pytest.mark.parametrize("frames", [1, 2, 4])
def test_padded_convs_make_the_same_map_in_a_tf_function(time_padding, frames):
    """Hand-padded convs give the same output in a tf.function (graph, optimized) as
    eagerly: TF 2.21's graph optimizer drops the second of two consecutive pad ops before
    a "valid" Conv3D (6x6 out of 8x8 frames), so time and space are padded in one op."""
    x = tf.random.stateless_normal([8, frames, 8, 8, 64], [1, 2])
    # Without a bias (as G's convs): a bias-add after the conv hid the bug.
    conv = resblocks.Conv(128, "3d", spectral_norm=False, use_bias=False,
                          time_padding=time_padding)
    eager = conv(x)
    graph = tf.function(lambda v: conv(v))(x)
    assert eager.shape == graph.shape == (8, frames, 8, 8, 128)
    np.testing.assert_allclose(graph, eager, atol=1e-5)
