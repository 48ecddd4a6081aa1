"""Motion-content family ("motion"): a content code per clip and motion codes along time
drive a generator that draws each frame with 2D residual blocks.

References: Tulyakov et al. 2018, "MoCoGAN: Decomposing Motion and Content for Video
Generation" (a content code shared by all frames, a motion code per frame, one image
generator per frame, an image D beside a video D); Skorokhodov et al. 2022, "StyleGAN-V"
(motion codes placed sparsely in time and interpolated per frame, instead of an RNN whose
codes drift for long clips); Brock et al. 2019 (BigGAN's residual blocks).

Generator:
  content z [B, z_dim], motion codes m [B, K, motion_dim] (K anchors, one every
  `motion_every` frames from frame 0) -> a temporal conv over the anchors (mixes
  neighbouring codes) -> linear interpolation to every frame: u [B, T, motion_dim] ->
  per frame Dense([z, u_t]) -> [B, T, H0, W0, C0] -> one GBlock per stage with 1x3x3 convs
  (the coarsest `temporal_stages` with (2+1)D convs, which also mix neighbouring frames)
  -> BN, ReLU -> RGB head -> tanh: video [B, T, H, W, 3] in [-1, 1]. With `modulate`,
  every batch norm also takes a gain and offset per frame from [z, u_t].
  Time is never up- or downsampled: every stage works at all T frames, and what moves is
  the per-frame code, so objects keep the look the content code gives them.

Any length: the temporal conv over the anchors and the (2+1)D convs are causal (a frame
sees earlier anchors and frames only), so `render(inputs, n)` makes n frames from
num_anchors(n) motion codes, and its first T frames are the T-frame clip's. A seed's
motion codes for n frames extend its codes for T (stateless_normal draws a longer [K, m]
as the shorter one followed by more rows; tests/models/test_motion.py checks it).

Discriminator: the residual family's (vidgan.models.resnet3d), by default DVD-GAN's dual
discriminator (a 2D head on a few frames, a 3D head on the clip), which is MoCoGAN's image
D + video D in residual form.
"""

from __future__ import annotations

import dataclasses

import keras
import tensorflow as tf
from keras import ops

from vidgan.models import layers, resblocks
from vidgan.models.base import Generator, InputSpec
from vidgan.models.resnet3d import ResNet3DDiscriminatorConfig


@dataclasses.dataclass(frozen=True)
class MotionGeneratorConfig:
    z_dim: int = 128  # content code
    motion_dim: int = 32  # width of each motion code
    motion_every: int = 4  # one motion code every this many frames, interpolated between
    channels: int = 16  # channels of the last (finest) stage; doubles per coarser stage
    max_channels: int = 128
    # The coarsest stages use (2+1)D convs (frames see their neighbours at low resolution);
    # the others draw each frame on its own (1x3x3 convs). 0: purely per frame.
    temporal_stages: int = 1
    rgb_mix: int = 16  # channels of a 1x1x1 conv before the 1x3x3 conv to RGB (0: none)
    # Every batch norm takes a per-frame gain and offset from the frame's code [z, u_t]
    # (conditional batch norm; StyleGAN-V modulates every layer by it), not only the input.
    modulate: bool = False


@dataclasses.dataclass(frozen=True)
class MotionConfig:
    """model.motion: the motion-content family's section."""

    generator: MotionGeneratorConfig = MotionGeneratorConfig()
    discriminator: ResNet3DDiscriminatorConfig = ResNet3DDiscriminatorConfig(
        channels=16, max_channels=128, frames=4)


def num_anchors(num_frames: int, every: int) -> int:
    """Motion codes for `num_frames` frames: anchors at frames 0, every, 2*every, ...,
    up to the first at or past the last frame."""
    return -(-(num_frames - 1) // every) + 1


def interpolation_matrix(num_frames, every: int, anchors=None) -> tf.Tensor:
    """[T, K] float32 (T an int or an int32 scalar tensor; K = num_anchors(T, every)
    unless given): frame t's code is (1 - a) * anchor[t // every] + a * anchor[t // every
    + 1], a = (t % every) / every (rows sum to 1)."""
    k = num_anchors(num_frames, every) if anchors is None else anchors
    t = tf.range(num_frames)
    a = tf.cast(t % every, tf.float32)[:, None] / every  # [T, 1]
    return (tf.one_hot(t // every, k) * (1.0 - a)
            + tf.one_hot(t // every + 1, k) * a)  # an index K (a = 0) is a zero row


class MotionContentGenerator(Generator):
    """Content code + interpolated motion codes -> per-frame 2D residual generator.

    {"latent": z [B, z_dim], "motion": [B, K, motion_dim]} -> video [B, T, H, W, 3]
    float32 in [-1, 1], K = num_anchors(T, motion_every).
    """

    def __init__(self, num_frames: int, height: int, width: int, z_dim: int = 128,
                 motion_dim: int = 32, motion_every: int = 4, channels: int = 16,
                 max_channels: int = 128, temporal_stages: int = 1, rgb_mix: int = 16,
                 modulate: bool = False, **kwargs):
        super().__init__(num_frames, height, width, z_dim, **kwargs)
        plan = layers.plan_stages(1, height, width)  # spatial stages only
        if not 0 <= temporal_stages <= plan.num_stages:
            raise ValueError(f"temporal_stages must be in [0, {plan.num_stages}], got "
                             f"{temporal_stages}")
        if motion_every < 1 or motion_dim < 1:
            raise ValueError("motion_every and motion_dim must be >= 1")
        self._config = dict(num_frames=num_frames, height=height, width=width, z_dim=z_dim,
                            motion_dim=motion_dim, motion_every=motion_every,
                            channels=channels, max_channels=max_channels,
                            temporal_stages=temporal_stages, rgb_mix=rgb_mix,
                            modulate=modulate)
        self.modulate = modulate
        self.motion_every, self.motion_dim = motion_every, motion_dim
        self.motion_shape = (num_anchors(num_frames, motion_every), motion_dim)
        # Mixes each anchor with the two before it, so a frame's code depends on more
        # than the two anchors around it (StyleGAN-V's temporal conv over codes); causal,
        # so more anchors never change the earlier frames.
        self.mix = keras.layers.Conv1D(motion_dim, 3, padding="causal", name="mix")
        widths = layers.stage_channels(channels, max_channels, plan.num_stages)[::-1]
        h0, w0 = plan.start[1:]
        self.start_shape = (h0, w0, widths[0])
        self.project = keras.layers.Dense(h0 * w0 * widths[0], name="project")
        self.num_stages = plan.num_stages
        for i, out in enumerate(widths[1:]):
            conv = "2plus1d" if i < temporal_stages else "2d"
            setattr(self, f"block{i}", resblocks.GBlock(out, 1, conv, "nearest", modulate,
                                                        "causal", name=f"block{i}"))
        self.out_norm = (layers.ClassBatchNorm(widths[-1], name="out_norm") if modulate
                         else layers.normalization("batch", "out_norm"))
        self.rgb_mix = (keras.layers.Conv3D(rgb_mix, 1, use_bias=False, name="rgb_mix")
                        if rgb_mix else None)
        self.to_rgb = keras.layers.Conv3D(3, (1, 3, 3), padding="same", name="to_rgb")

    @property
    def blocks(self) -> list[resblocks.GBlock]:
        return [getattr(self, f"block{i}") for i in range(self.num_stages)]

    any_length = True

    def input_specs(self) -> dict[str, InputSpec]:
        return {**super().input_specs(), "motion": InputSpec(self.motion_shape)}

    def noise_shapes(self, num_frames) -> dict[str, tuple]:
        return {"latent": (self.z_dim,),
                "motion": (num_anchors(num_frames, self.motion_every), self.motion_dim)}

    def generate(self, inputs, training=False):
        return self.render_frames(inputs, self.video_shape[0], training)

    def render_frames(self, inputs, num_frames, training=False):
        """{"latent": [B, z_dim], "motion": [B, K >= num_anchors(n), m]} -> [B, n, H, W, 3]."""
        z, motion = inputs["latent"], inputs["motion"]
        if isinstance(num_frames, int):  # a tensor length is checked by who draws the codes
            if num_frames < 1:
                raise ValueError(f"num_frames must be >= 1, got {num_frames}")
            needed = num_anchors(num_frames, self.motion_every)
            if motion.shape[1] is not None and motion.shape[1] < needed:
                raise ValueError(f"{num_frames} frames need {needed} motion codes "
                                 f"[B, {needed}, {self.motion_dim}], got {motion.shape}")
        anchors = self.mix(motion)  # [B, K, motion_dim]
        weights = interpolation_matrix(num_frames, self.motion_every, tf.shape(anchors)[1])
        # [n, K] @ [B, K, d], broadcast over B (a plain batched matmul, which LiteRT
        # converts for any batch; its einsum lowering fixes the batch at conversion)
        codes = ops.matmul(ops.cast(weights, anchors.dtype)[None], anchors)  # [B, n, d]
        content = tf.tile(ops.expand_dims(ops.cast(z, codes.dtype), 1), [1, num_frames, 1])
        frame_codes = ops.concatenate([content, codes], axis=-1)  # [B, n, z_dim + m]
        x = self.project(frame_codes)  # [B, n, H0*W0*C0]
        x = tf.reshape(x, [-1, num_frames, *self.start_shape])  # [B, n, H0, W0, C0]
        extra = (frame_codes,) if self.modulate else ()
        for block in self.blocks:
            x = block(x, *extra, training=training)  # [B, T, 2H, 2W, C/2]
        x = ops.relu(self.out_norm(x, *extra, training=training))  # [B, T, H, W, C]
        if self.rgb_mix is not None:
            x = self.rgb_mix(x)  # [B, T, H, W, rgb_mix]
        return ops.tanh(ops.cast(self.to_rgb(x), "float32"))  # [B, T, H, W, 3]
