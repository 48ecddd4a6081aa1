"""DCGAN-style 3D video GAN family ("dcgan3d", VGAN / TGAN lineage): transposed convs up,
strided convs down.

Vondrick et al. 2016, "Generating Videos with Scene Dynamics" (VGAN); Saito et al. 2017,
"Temporal Generative Adversarial Nets" (TGAN); Radford et al. 2016 (DCGAN).
"""

from __future__ import annotations

import dataclasses

import keras
from keras import ops

from vidgan.models import layers
from vidgan.models.base import Discriminator, Generator


@dataclasses.dataclass(frozen=True)
class DCGAN3DGeneratorConfig:
    z_dim: int = 128
    channels: int = 64  # channels of the last (finest) stage; doubles per coarser stage
    max_channels: int = 512
    norm: str = "batch"  # "batch" | "none"
    rgb_kernel: int = 3  # the last conv to RGB: 3 (3x3x3) or 1 (1x1x1: faster, learned worse)
    rgb_mix: int = 16  # channels of a 1x1x1 conv before it (0: none); 16 is cheap on CPU


@dataclasses.dataclass(frozen=True)
class DCGAN3DDiscriminatorConfig:
    channels: int = 64  # channels of the first (finest) stage; doubles per stage
    max_channels: int = 512
    norm: str = "none"  # "none" | "layer" | "batch"
    spectral_norm: bool = False


@dataclasses.dataclass(frozen=True)
class DCGAN3DConfig:
    """model.dcgan3d: the DCGAN family's section."""

    generator: DCGAN3DGeneratorConfig = DCGAN3DGeneratorConfig()
    discriminator: DCGAN3DDiscriminatorConfig = DCGAN3DDiscriminatorConfig()


class VideoGenerator(Generator):
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
        super().__init__(num_frames, height, width, z_dim, **kwargs)
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

    def generate(self, inputs, training=False):
        """{"latent": [B, z_dim]} -> video [B, T, H, W, 3] float32 in [-1, 1]."""
        x = self.project(inputs["latent"])
        x = ops.reshape(x, (-1,) + self.start_shape)  # [B, T0, H0, W0, C0]
        x = ops.relu(self.project_norm(x, training=training))
        for conv, norm in zip(self.up_convs, self.up_norms):
            x = ops.relu(norm(conv(x), training=training))  # [B, T*, 2H, 2W, C/2]
        if self.rgb_mix is not None:
            x = self.rgb_mix(x)  # [B, T, H, W, rgb_mix]
        x = ops.tanh(ops.cast(self.to_rgb(x), "float32"))  # [B, T, H, W, 3]
        return x


class VideoDiscriminator(Discriminator):
    """DCGAN-style 3D discriminator, the mirror of `VideoGenerator`.

    Per stage a 4x4x4 (or 3x4x4) strided 3D conv halving H and W (and T in the
    coarsest stages), optional norm (none by default; never on the first stage),
    LeakyReLU(0.2); then flatten -> Dense -> one logit per clip. Optional spectral
    normalization of every conv and of the dense layer (Miyato et al. 2018).
    """

    def __init__(self, num_frames: int, height: int, width: int, channels: int = 64,
                 max_channels: int = 512, norm: str = "none", spectral_norm: bool = False,
                 **kwargs):
        super().__init__(num_frames, height, width, **kwargs)
        self._config = dict(num_frames=num_frames, height=height, width=width,
                            channels=channels, max_channels=max_channels, norm=norm,
                            spectral_norm=spectral_norm)
        self.batch_statistics = norm == "batch"
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

    def judge(self, inputs, training=False):
        """{"video": [B, T, H, W, 3] in [-1, 1]} -> {"video": logits [B] float32}."""
        x = inputs["video"]
        for conv, norm in zip(self.down_convs, self.down_norms):
            x = conv(x, training=training)  # Keras drops `training` where unused
            x = ops.leaky_relu(norm(x, training=training), 0.2)  # [B, T*, H/2, W/2, 2C]
        x = self.flatten(x)  # [B, T0 * H0 * W0 * C]
        logits = self.logit(x, training=training)
        return {"video": ops.cast(ops.reshape(logits, (-1,)), "float32")}  # {"video": [B]}
