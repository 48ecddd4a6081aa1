"""The two-stream family (vidgan.models.vgan): shapes and ranges, hand-counted parameters,
the composition m * f + (1 - m) * b, and the mask penalty.

Parameter counts from the layer formulas:
  Conv: kt * kh * kw * in * out (+ out bias); Dense: in * out + out; BatchNorm: 4 * C
"""

import numpy as np
import pytest
import tensorflow as tf

from helpers import latents
from vidgan import config as config_lib
from vidgan import models
from vidgan.models.vgan import TwoStreamGenerator


@pytest.mark.parametrize("size", [(8, 16, 16), (16, 32, 32), (4, 8, 16)])
def test_shapes_ranges_and_the_mask_loss(size):
    """float32 [B, T, H, W, 3] in [-1, 1], not constant; return_losses adds the mask
    penalty per clip: mask_weight * mean m, in (0, mask_weight)."""
    g = TwoStreamGenerator(*size, z_dim=8, channels=4, max_channels=16, mask_weight=0.5)
    for training in (False, True):
        video, losses = g(latents(2, 8), training=training, return_losses=True)
        assert video.shape == (2, *size, 3) and video.dtype == tf.float32
        v = video.numpy()
        assert np.all(np.isfinite(v)) and v.min() >= -1.0 and v.max() <= 1.0 and v.std() > 0
        assert set(losses) == {"mask"} and losses["mask"].shape == (2,)
        assert np.all((losses["mask"].numpy() > 0) & (losses["mask"].numpy() < 0.5))
    z = latents(2, 8)
    np.testing.assert_array_equal(g(z).numpy(), g(z, return_losses=True)[0])


def test_generator_param_count():
    """T=4, H=W=8, z=4, channels 2 (max 8): one stage, start (2, 4, 4, 4) for the
    foreground and (1, 4, 4, 4) for the background.

    Each stream: project Dense 4 -> T0*4*4*4 (+ bias); GBlock: BN(4), conv 4 -> 2, BN(2),
    conv 2 -> 2 (no biases; 3x3x3 in the foreground, 1x3x3 in the background), 1x1x1
    shortcut 4 -> 2; out BN(2). Heads: 1x1x1 mix 2 -> 16, RGB conv 16 -> 3 (+ bias) per
    stream (3x3x3 / 1x3x3); the mask: 3x3x3 conv 2 -> 1 (+ bias).
    """
    g = TwoStreamGenerator(4, 8, 8, z_dim=4, channels=2, max_channels=8)
    g(latents(2, 4))
    fg = (4 * 128 + 128) + (16 + 27 * 4 * 2 + 8 + 27 * 2 * 2 + 4 * 2) + 8
    bg = (4 * 64 + 64) + (16 + 9 * 4 * 2 + 8 + 9 * 2 * 2 + 4 * 2) + 8
    heads = (2 * 16 + 27 * 16 * 3 + 3) + (2 * 16 + 9 * 16 * 3 + 3) + (27 * 2 + 1)
    assert g.count_params() == fg + bg + heads == 3325


def _set_mask_bias(g, value):
    g.mask.bias.assign([value])
    g.mask.kernel.assign(tf.zeros_like(g.mask.kernel))


def test_a_closed_mask_shows_the_still_background_and_an_open_one_the_foreground():
    """m -> 0: every frame is the background image b (no motion); m -> 1: the video is
    the foreground f; the penalty follows the mask."""
    g = TwoStreamGenerator(8, 16, 16, z_dim=4, channels=4, max_channels=16, mask_weight=1.0)
    z = latents(2, 4)
    g(z)
    _set_mask_bias(g, -30.0)
    still, losses = g(z, return_losses=True)
    still = still.numpy()
    np.testing.assert_allclose(still, np.repeat(still[:, :1], 8, axis=1), atol=1e-6)
    assert losses["mask"].numpy().max() < 1e-9
    _set_mask_bias(g, 30.0)
    moving, losses = g(z, return_losses=True)
    foreground = np.tanh(g.fg_rgb(g.foreground(z)).numpy())
    np.testing.assert_allclose(moving.numpy(), foreground, atol=1e-5)
    np.testing.assert_allclose(losses["mask"].numpy(), 1.0, atol=1e-6)
    assert np.abs(moving.numpy()[:, 1:] - moving.numpy()[:, :1]).max() > 1e-3


def test_family_builds_from_config_and_refuses_a_bad_field():
    config = config_lib.default_config()
    config.model.generator.name = "vgan"
    config.data.num_frames, config.data.height, config.data.width = 8, 16, 16
    cfg = config_lib.from_dict(config)
    g, d = models.build_generator(cfg), models.build_discriminator(cfg)
    models.build(g, d)
    assert isinstance(g, TwoStreamGenerator) and set(d.head_weights) == {"video", "frames"}
    config.model.vgan.generator.mask_weight = -1.0
    with pytest.raises(config_lib.ConfigError,
                       match=r"model\.vgan\.generator\.mask_weight must be finite and >= 0"):
        config_lib.from_dict(config)
