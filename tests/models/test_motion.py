"""The motion-content family (vidgan.models.motion): shapes and ranges, declared inputs,
hand-counted parameters, the interpolation of motion codes, and that a frame is drawn
from its own code.

Parameter counts from the layer formulas:
  Conv: kt * kh * kw * in * out (+ out bias); Dense: in * out + out; BatchNorm: 4 * C
"""

import numpy as np
import pytest
import tensorflow as tf

from vidgan import config as config_lib
from vidgan import models
from vidgan.models import motion
from vidgan.models.motion import MotionContentGenerator


def _inputs(g, batch, seed=0):
    specs = g.input_specs()
    return {name: tf.random.stateless_normal([batch, *spec.shape], seed=[seed, k])
            for k, (name, spec) in enumerate(specs.items())}


@pytest.mark.parametrize("size, kwargs", [
    ((8, 16, 16), dict(channels=8, max_channels=32)),
    ((16, 32, 32), dict(channels=4, max_channels=16, motion_every=3)),  # T-1 not a multiple
    ((5, 32, 48), dict(channels=4, max_channels=16, temporal_stages=2)),  # odd T, non-square
    ((1, 16, 16), dict(channels=4, max_channels=8, temporal_stages=0)),  # one frame
])
def test_shapes_and_ranges(size, kwargs):
    """{latent [B, z], motion [B, K, m]} -> float32 [B, T, H, W, 3] in [-1, 1], not
    constant, in training and inference mode."""
    g = MotionContentGenerator(*size, z_dim=8, motion_dim=4, **kwargs)
    every = kwargs.get("motion_every", 4)
    assert g.input_specs()["motion"].shape == (motion.num_anchors(size[0], every), 4)
    for training in (False, True):
        video = g(_inputs(g, 2), training=training)
        assert video.shape == (2, *size, 3) and video.dtype == tf.float32
        v = video.numpy()
        assert np.all(np.isfinite(v)) and v.min() >= -1.0 and v.max() <= 1.0 and v.std() > 0


def test_inputs_are_checked_at_entry():
    g = MotionContentGenerator(8, 16, 16, z_dim=4, motion_dim=3, motion_every=4,
                               channels=2, max_channels=8)
    with pytest.raises(ValueError, match="missing motion"):
        g(tf.zeros([2, 4]))
    with pytest.raises(ValueError, match=r"motion of shape \[B, 3, 3\]"):
        g({"latent": tf.zeros([2, 4]), "motion": tf.zeros([2, 4, 3])})
    with pytest.raises(ValueError, match="temporal_stages must be in"):
        MotionContentGenerator(8, 16, 16, temporal_stages=3)


@pytest.mark.parametrize("frames, every, anchors", [(16, 4, 5), (16, 3, 6), (1, 4, 1),
                                                    (8, 1, 8), (9, 8, 2)])
def test_interpolation_places_anchors_every_m_frames(frames, every, anchors):
    """Frame t = i * M + a takes (1 - a / M) of anchor i and a / M of anchor i + 1: frames
    on an anchor take it alone, rows sum to 1, every anchor is used."""
    assert motion.num_anchors(frames, every) == anchors
    m = motion.interpolation_matrix(frames, every).numpy()
    assert m.shape == (frames, anchors)
    np.testing.assert_allclose(m.sum(axis=1), 1.0)
    assert np.all(m.max(axis=0) > 0)
    for t in range(0, frames, every):
        assert m[t, t // every] == 1.0
    if every == 4 and frames == 16:
        np.testing.assert_allclose(m[6], [0, 0.5, 0.5, 0, 0])
        np.testing.assert_allclose(m[13], [0, 0, 0, 0.75, 0.25])


def test_generator_param_count():
    """T=4, H=W=8, z=4, motion 2 every 2 frames (3 anchors), channels 2 (max 8), no
    temporal stages: one spatial stage, start 4x4x4 per frame.

    mix: Conv1D k3 2 -> 2 (+ bias); project: Dense (4 + 2) -> 4*4*4 (+ bias); block0: BN(4),
    1x3x3 conv 4 -> 2, BN(2), 1x3x3 conv 2 -> 2, 1x1x1 shortcut 4 -> 2 (no biases);
    out BN(2); 1x1x1 mix 2 -> 16 (no bias); 1x3x3 conv 16 -> 3 (+ bias).
    """
    g = MotionContentGenerator(4, 8, 8, z_dim=4, motion_dim=2, motion_every=2, channels=2,
                               max_channels=8, temporal_stages=0)
    g(_inputs(g, 2))
    mix = 3 * 2 * 2 + 2
    project = 6 * 64 + 64
    block0 = 4 * 4 + 9 * 4 * 2 + 4 * 2 + 9 * 2 * 2 + 4 * 2
    head = 4 * 2 + 2 * 16 + 9 * 16 * 3 + 3
    assert g.count_params() == mix + project + block0 + head == 1077
    assert g.input_specs()["motion"].shape == (3, 2)


def test_a_frame_is_drawn_from_its_own_motion_code():
    """Without temporal stages each frame sees only the content code and its own motion
    code: changing the last anchor (16 frames, an anchor every 4, each anchor mixed with
    the two before it) leaves frames 0..12 as they were and changes the last frame;
    changing the content code changes every frame."""
    g = MotionContentGenerator(16, 16, 16, z_dim=4, motion_dim=3, motion_every=4,
                               channels=4, max_channels=16, temporal_stages=0)
    inputs = _inputs(g, 2)
    base = g(inputs).numpy()
    moved = g({**inputs, "motion": tf.concat(
        [inputs["motion"][:, :-1], inputs["motion"][:, -1:] + 1.0], axis=1)}).numpy()
    np.testing.assert_allclose(moved[:, :13], base[:, :13], atol=1e-6)
    assert np.abs(moved[:, -1] - base[:, -1]).max() > 1e-3
    other = g({**inputs, "latent": inputs["latent"] + 1.0}).numpy()
    assert np.all(np.abs(other - base).max(axis=(0, 2, 3, 4)) > 1e-3)


@pytest.mark.parametrize("temporal_stages", [0, 2])
def test_longer_renders_keep_the_clip_as_their_first_frames(temporal_stages):
    """render(n) for n = 4T, T + 1 and T - 3 frames, from codes drawn for n frames: the first
    min(n, T) frames are the T-frame clip's (causal mixing of codes and causal (2+1)D
    convs), also traced with n a tensor, and later frames move."""
    g = MotionContentGenerator(8, 16, 16, z_dim=4, motion_dim=3, motion_every=3,
                               channels=4, max_channels=16, temporal_stages=temporal_stages)
    inputs = _inputs(g, 2)
    clip = g(inputs).numpy()  # [2, 8, 16, 16, 3]
    render = tf.function(lambda x, n: g.render(x, n))
    for n in (32, 9, 5):
        k = g.noise_shapes(n)["motion"][0]
        assert k == motion.num_anchors(n, 3)
        extra = tf.random.stateless_normal([2, max(0, k - 3), 3], seed=[9, n])
        codes = {**inputs, "motion": tf.concat([inputs["motion"], extra], 1)[:, :k]}
        long = g.render(codes, n).numpy()
        assert long.shape == (2, n, 16, 16, 3)
        np.testing.assert_allclose(long[:, :8], clip[:, :n], atol=1e-5)
        np.testing.assert_allclose(render(codes, tf.constant(n)).numpy(), long, atol=1e-5)
    assert np.abs(long[:, 1:] - long[:, :1]).max() > 1e-3


def test_a_seeds_codes_for_a_longer_render_extend_its_codes_for_the_clip():
    """The export rule draws a seed's motion codes with one stateless_normal of shape
    [K, m]: for more anchors the draw starts with the same rows (what makes a seed's long
    render begin with its clip)."""
    from vidgan.models import sampling  # noqa: PLC0415

    g = MotionContentGenerator(16, 16, 16, z_dim=4, motion_dim=3, channels=4,
                               max_channels=8)
    pairs = sampling.seed_pairs_for_seeds(tf.constant([0, 5, 2**40], tf.int64))
    short = sampling.draw_noise(g.input_specs(), pairs)
    long = sampling.draw_noise(g.input_specs(), pairs, shapes=g.noise_shapes(64))
    assert long["motion"].shape == (3, 17, 3)
    np.testing.assert_array_equal(long["latent"].numpy(), short["latent"].numpy())
    np.testing.assert_array_equal(long["motion"].numpy()[:, :5], short["motion"].numpy())


def test_only_any_length_families_render_other_lengths():
    from vidgan.models.resnet3d import ResNet3DGenerator  # noqa: PLC0415

    g = ResNet3DGenerator(4, 8, 8, z_dim=4, channels=2, max_channels=8)
    assert not g.any_length and MotionContentGenerator.any_length
    with pytest.raises(ValueError, match="clips of 4 frames only"):
        g.render(tf.zeros([1, 4]), 8)
    m = MotionContentGenerator(8, 16, 16, z_dim=4, motion_dim=3, channels=4, max_channels=8)
    with pytest.raises(ValueError, match=r"12 frames need 4 motion codes \[B, 4, 3\]"):
        m.render(_inputs(m, 1), 12)


def test_family_builds_from_config_with_its_dual_discriminator():
    """model.generator.name=motion: the section's defaults build G and the dual D (2D frames
    head + 3D video head); a wrong field fails validation in one line naming it."""
    config = config_lib.default_config()
    config.model.generator.name = "motion"
    config.data.num_frames, config.data.height, config.data.width = 8, 16, 16
    frozen = config_lib.from_dict(config)
    config_lib.validate(frozen)
    g, d = models.build_generator(frozen), models.build_discriminator(frozen)
    models.build(g, d)
    heads = d(g(_inputs(g, 2)))
    assert set(heads) == {"video", "frames"}
    config.model.motion.generator.temporal_stages = 5
    with pytest.raises(config_lib.ConfigError,
                       match=r"model\.motion\.generator\.temporal_stages must be in \[0, 2\]"):
        config_lib.validate(config_lib.from_dict(config))


def test_per_frame_condition_gives_each_frame_its_own_gain_and_offset():
    """ClassBatchNorm with c [B, T, E]: frame t is normalized x_t * (1 + W_g c_t) + W_b c_t;
    with c [B, E] every frame gets the same gain and offset."""
    from vidgan.models import layers  # noqa: PLC0415

    norm = layers.ClassBatchNorm(4)
    x = tf.random.stateless_normal([2, 3, 2, 2, 4], seed=[1, 2])
    c = tf.random.stateless_normal([2, 3, 5], seed=[3, 4])
    norm(x, c)
    norm.gain.kernel.assign(tf.random.stateless_normal([5, 4], seed=[5, 6]))
    norm.offset.kernel.assign(tf.random.stateless_normal([5, 4], seed=[7, 8]))
    y = norm(x, c, training=True).numpy()
    base = norm.norm(x, training=True).numpy()
    gain = 1.0 + np.einsum("bte,ec->btc", c.numpy(), norm.gain.kernel.numpy())
    offset = np.einsum("bte,ec->btc", c.numpy(), norm.offset.kernel.numpy())
    np.testing.assert_allclose(y, base * gain[:, :, None, None] + offset[:, :, None, None],
                               rtol=1e-5, atol=1e-5)
    same = norm(x, c[:, 0], training=True).numpy()
    np.testing.assert_allclose(same, base * gain[:, :1, None, None] + offset[:, :1, None, None],
                               rtol=1e-5, atol=1e-5)


def test_modulated_generator_feeds_each_frames_code_to_every_norm():
    """modulate=True: every batch norm is conditional on [z, u_t] of width z_dim +
    motion_dim; the output keeps its shape and range."""
    from vidgan.models import layers  # noqa: PLC0415

    g = MotionContentGenerator(8, 16, 16, z_dim=6, motion_dim=3, channels=4, max_channels=16,
                               modulate=True)
    video = g(_inputs(g, 2), training=True).numpy()
    assert video.shape == (2, 8, 16, 16, 3) and np.abs(video).max() <= 1.0
    norms = [layer for layer in g._flatten_layers() if isinstance(layer, layers.ClassBatchNorm)]
    assert len(norms) == 2 * g.num_stages + 1
    assert all(n.gain.kernel.shape[0] == 9 for n in norms)
