"""Video generators: latent z [B, z_dim] -> video [B, T, H, W, 3] in [-1, 1]."""

from __future__ import annotations

import keras
from keras import ops

from vidgan.models import layers


class VideoGenerator(keras.Model):
    """DCGAN-style 3D generator (VGAN/TGAN lineage).

    z [B, z_dim] -> Dense -> [B, T0, H0, W0, C0] -> per stage a 3D transposed conv
    doubling H and W (and T in the coarsest stages), norm, ReLU -> conv to RGB -> tanh.
    Channels halve per stage from `min(max_channels, channels * 2^S)` down to `channels`.
    The output is float32 whatever the compute dtype.

    The RGB head: a 1x1x1 conv to `rgb_mix` channels (no bias; 0 skips it), then a
    `rgb_kernel`^3 conv to 3 channels. On CPU a conv to 3 channels costs as much as one to
    16 (oneDNN pads them), so the 3x3x3 conv straight from 64 channels took ~12 % of a
    64x64 training step for 3 % of its FLOPs; from 16 mixed channels it costs a quarter
    of that, and learned at least as well in the learning benchmark (BUILD.md).
    """

    def __init__(self, num_frames: int, height: int, width: int, z_dim: int = 128,
                 channels: int = 64, max_channels: int = 512, norm: str = "batch",
                 rgb_kernel: int = 3, rgb_mix: int = 16, **kwargs):
        super().__init__(**kwargs)
        self.video_shape = (num_frames, height, width, 3)
        self.z_dim = z_dim
        self._config = dict(num_frames=num_frames, height=height, width=width, z_dim=z_dim,
                            channels=channels, max_channels=max_channels, norm=norm,
                            rgb_kernel=rgb_kernel, rgb_mix=rgb_mix)
        plan = layers.plan_stages(num_frames, height, width)
        widths = layers.stage_channels(channels, max_channels, plan.num_stages)[::-1]
        t0, h0, w0 = plan.start
        self.start_shape = (t0, h0, w0, widths[0])
        self.project = keras.layers.Dense(t0 * h0 * w0 * widths[0], use_bias=False,
                                          name="project")
        self.project_norm = layers.normalization(norm, "project_norm")
        self.num_stages = plan.num_stages
        # One attribute per layer: tf.train.Checkpoint tracks attributes, not the
        # containers Keras wraps lists in, so layers kept only in a list are not saved.
        for i, (t_stride, out) in enumerate(zip(plan.time_strides, widths[1:])):
            setattr(self, f"up{i}", keras.layers.Conv3DTranspose(
                out, kernel_size=(4 if t_stride == 2 else 3, 4, 4),
                strides=(t_stride, 2, 2), padding="same", use_bias=norm == "none",
                name=f"up{i}"))
            setattr(self, f"up{i}_norm", layers.normalization(norm, f"up{i}_norm"))
        self.rgb_mix = (keras.layers.Conv3D(rgb_mix, 1, use_bias=False, name="rgb_mix")
                        if rgb_mix else None)
        self.to_rgb = keras.layers.Conv3D(3, rgb_kernel, padding="same", name="to_rgb")

    @property
    def up_convs(self) -> list[keras.layers.Layer]:
        return [getattr(self, f"up{i}") for i in range(self.num_stages)]

    @property
    def up_norms(self) -> list[keras.layers.Layer]:
        return [getattr(self, f"up{i}_norm") for i in range(self.num_stages)]

    def call(self, z, training=False):
        """z: [B, z_dim] -> video [B, T, H, W, 3] float32 in [-1, 1]."""
        if z.shape.rank != 2 or z.shape[-1] != self.z_dim:
            raise ValueError(f"generator expects z of shape [B, {self.z_dim}], got {z.shape}")
        x = self.project(z)
        x = ops.reshape(x, (-1,) + self.start_shape)  # [B, T0, H0, W0, C0]
        x = ops.relu(self.project_norm(x, training=training))
        for conv, norm in zip(self.up_convs, self.up_norms):
            x = ops.relu(norm(conv(x), training=training))  # [B, T*, 2H, 2W, C/2]
        if self.rgb_mix is not None:
            x = self.rgb_mix(x)  # [B, T, H, W, rgb_mix]
        x = ops.tanh(ops.cast(self.to_rgb(x), "float32"))  # [B, T, H, W, 3]
        return x

    def get_config(self):
        return {**super().get_config(), **self._config}
