"""Two-stream family ("vgan"): a moving foreground with a mask over a static background.

Reference: Vondrick, Pirsiavash and Torralba 2016, "Generating Videos with Scene
Dynamics" (VGAN: a 3D convolutional foreground stream that also outputs a mask, a 2D
stream for one background image, composed per pixel, and an L1 penalty that keeps the
mask sparse). Here both streams use the residual family's resize-then-convolve blocks
(vidgan.models.resblocks) instead of transposed convolutions.

Generator: z [B, z_dim] ->
  foreground: Dense -> [B, T0, H0, W0, C0] -> GBlocks (3x3x3, T doubled in the coarsest
    stages) -> BN, ReLU -> f = tanh(RGB head) [B, T, H, W, 3] and m = sigmoid(3x3x3 conv)
    [B, T, H, W, 1];
  background: Dense -> [B, 1, H0, W0, C0] -> GBlocks (1x3x3) -> BN, ReLU -> b = tanh(RGB
    head) [B, 1, H, W, 3];
  video = m * f + (1 - m) * b, [B, T, H, W, 3] in [-1, 1]. The generator's loss gains
  `mask_weight` * mean |m| per clip (the sparsity penalty, as the "mask" loss).

Discriminator: the residual family's (vidgan.models.resnet3d), by default DVD-GAN's dual
discriminator (VGAN itself used one 3D convolutional D).
"""

from __future__ import annotations

import dataclasses

import keras
from keras import ops

from vidgan.models import layers, resblocks
from vidgan.models.base import Generator
from vidgan.models.resnet3d import ResNet3DDiscriminatorConfig


@dataclasses.dataclass(frozen=True)
class VGANGeneratorConfig:
    z_dim: int = 128
    channels: int = 16  # channels of the last (finest) stage of each stream; doubles per coarser stage
    max_channels: int = 128
    mask_weight: float = 0.1  # lambda of the L1 penalty on the mask (VGAN: 0.1)
    rgb_mix: int = 16  # channels of a 1x1x1 conv before each RGB conv (0: none)


@dataclasses.dataclass(frozen=True)
class VGANConfig:
    """model.vgan: the two-stream family's section."""

    generator: VGANGeneratorConfig = VGANGeneratorConfig()
    discriminator: ResNet3DDiscriminatorConfig = ResNet3DDiscriminatorConfig(
        channels=16, max_channels=128, frames=4)


class _Stream(keras.layers.Layer):
    """z [B, z_dim] -> features [B, T', H, W, C] of one stream: a projection to the
    coarsest stage, one GBlock per stage, BN and ReLU; `frames` = 1 makes a still image
    with 1x3x3 convs."""

    def __init__(self, plan: layers.StagePlan, widths: list[int], conv: str, **kwargs):
        super().__init__(**kwargs)
        t0, h0, w0 = plan.start
        self.start_shape = (t0, h0, w0, widths[0])
        self.project = keras.layers.Dense(t0 * h0 * w0 * widths[0], name="project")
        self.num_stages = plan.num_stages
        for i, (t_stride, out) in enumerate(zip(plan.time_strides, widths[1:])):
            setattr(self, f"block{i}", resblocks.GBlock(out, t_stride, conv, "nearest",
                                                        name=f"block{i}"))
        self.out_norm = layers.normalization("batch", "out_norm")

    def call(self, z, training=False):
        x = ops.reshape(self.project(z), (-1,) + self.start_shape)  # [B, T0, H0, W0, C0]
        for i in range(self.num_stages):
            x = getattr(self, f"block{i}")(x, training=training)  # [B, T*, 2H, 2W, C/2]
        return ops.relu(self.out_norm(x, training=training))


def _rgb_head(rgb_mix: int, kernel, name: str) -> keras.Sequential:
    mix = [keras.layers.Conv3D(rgb_mix, 1, use_bias=False, name="mix")] if rgb_mix else []
    return keras.Sequential([*mix, keras.layers.Conv3D(3, kernel, padding="same", name="rgb")],
                            name=name)


class TwoStreamGenerator(Generator):
    """VGAN's generator: {"latent": z [B, z_dim]} -> video [B, T, H, W, 3] float32 in
    [-1, 1]; with return_losses, also {"mask": mask_weight * mean |m| per clip, [B]}."""

    def __init__(self, num_frames: int, height: int, width: int, z_dim: int = 128,
                 channels: int = 16, max_channels: int = 128, mask_weight: float = 0.1,
                 rgb_mix: int = 16, **kwargs):
        super().__init__(num_frames, height, width, z_dim, **kwargs)
        self._config = dict(num_frames=num_frames, height=height, width=width, z_dim=z_dim,
                            channels=channels, max_channels=max_channels,
                            mask_weight=mask_weight, rgb_mix=rgb_mix)
        self.mask_weight = mask_weight
        plan = layers.plan_stages(num_frames, height, width)
        widths = layers.stage_channels(channels, max_channels, plan.num_stages)[::-1]
        still = layers.StagePlan((1, *plan.start[1:]), (1,) * plan.num_stages)
        self.foreground = _Stream(plan, widths, "3d", name="foreground")
        self.background = _Stream(still, widths, "2d", name="background")
        self.fg_rgb = _rgb_head(rgb_mix, 3, "fg_rgb")
        self.mask = keras.layers.Conv3D(1, 3, padding="same", name="mask")
        self.bg_rgb = _rgb_head(rgb_mix, (1, 3, 3), "bg_rgb")

    def generate(self, inputs, training=False):
        return self.generate_with_losses(inputs, training)[0]

    def generate_with_losses(self, inputs, training=False):
        z = inputs["latent"]  # [B, z_dim]
        moving = self.foreground(z, training=training)  # [B, T, H, W, C]
        f = ops.tanh(ops.cast(self.fg_rgb(moving), "float32"))  # [B, T, H, W, 3]
        m = ops.sigmoid(ops.cast(self.mask(moving), "float32"))  # [B, T, H, W, 1]
        b = ops.tanh(ops.cast(self.bg_rgb(self.background(z, training=training)),
                              "float32"))  # [B, 1, H, W, 3], the same for every frame
        video = m * f + (1.0 - m) * b
        return video, {"mask": self.mask_weight * ops.mean(m, axis=(1, 2, 3, 4))}  # [B]
