"""Video discriminators: video [B, T, H, W, 3] -> logits [B] (float32)."""

from __future__ import annotations

import keras
from keras import ops

from vidgan.models import layers


class VideoDiscriminator(keras.Model):
    """DCGAN-style 3D discriminator, the mirror of `VideoGenerator`.

    Per stage a 4x4x4 (or 3x4x4) strided 3D conv halving H and W (and T in the
    coarsest stages), optional norm (none by default; never on the first stage),
    LeakyReLU(0.2); then flatten -> Dense -> one logit per clip. Optional spectral
    normalization of every conv and of the dense layer (Miyato et al. 2018).
    """

    def __init__(self, num_frames: int, height: int, width: int, channels: int = 64,
                 max_channels: int = 512, norm: str = "none", spectral_norm: bool = False,
                 **kwargs):
        super().__init__(**kwargs)
        self.video_shape = (num_frames, height, width, 3)
        self._config = dict(num_frames=num_frames, height=height, width=width,
                            channels=channels, max_channels=max_channels, norm=norm,
                            spectral_norm=spectral_norm)
        plan = layers.plan_stages(num_frames, height, width)
        widths = layers.stage_channels(channels, max_channels, plan.num_stages)
        conv_cls = layers.SNConv3D if spectral_norm else keras.layers.Conv3D
        dense_cls = layers.SNDense if spectral_norm else keras.layers.Dense
        self.num_stages = plan.num_stages
        # One attribute per layer: tf.train.Checkpoint tracks attributes, not the
        # containers Keras wraps lists in, so layers kept only in a list are not saved.
        # The generator doubles T in its coarsest stages, so D halves T in its last ones.
        for i, (t_stride, out) in enumerate(zip(plan.time_strides[::-1], widths[:-1])):
            setattr(self, f"down{i}", conv_cls(
                out, kernel_size=(4 if t_stride == 2 else 3, 4, 4), strides=(t_stride, 2, 2),
                padding="same", name=f"down{i}"))
            # Never normalize the first stage: it sees the raw pixels.
            setattr(self, f"down{i}_norm",
                    layers.normalization("none" if i == 0 else norm, f"down{i}_norm"))
        self.flatten = keras.layers.Flatten()
        self.logit = dense_cls(1, name="logit")

    @property
    def down_convs(self) -> list[keras.layers.Layer]:
        return [getattr(self, f"down{i}") for i in range(self.num_stages)]

    @property
    def down_norms(self) -> list[keras.layers.Layer]:
        return [getattr(self, f"down{i}_norm") for i in range(self.num_stages)]

    def call(self, video, training=False):
        """video: [B, T, H, W, 3] in [-1, 1] -> logits [B] float32."""
        if tuple(video.shape[1:]) != self.video_shape:
            raise ValueError(
                f"discriminator expects video of shape [B, {', '.join(map(str, self.video_shape))}]"
                f", got {video.shape}")
        x = video
        for conv, norm in zip(self.down_convs, self.down_norms):
            x = conv(x, training=training)  # Keras drops `training` where unused
            x = ops.leaky_relu(norm(x, training=training), 0.2)  # [B, T*, H/2, W/2, 2C]
        x = self.flatten(x)  # [B, T0 * H0 * W0 * C]
        logits = self.logit(x, training=training)
        return ops.cast(ops.reshape(logits, (-1,)), "float32")  # [B]

    def get_config(self):
        return {**super().get_config(), **self._config}
