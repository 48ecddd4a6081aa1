"""The learned video super-resolution network: a compact sub-pixel network (ESPCN-like) on
luma that adds a residual to bicubic upscaling; its training is vidgan.enhance.sr.

SRNet: videos float [B, T, h, w, 3] in [-1, 1] -> [B, T, s*h, s*w, 3]. Luma (BT.601 Y)
of the frame, or of the frame and its two neighbours (sr.frames = 3), goes through
conv5x5(C) -> conv3x3(C/2) -> conv3x3(C/2) -> conv3x3(s*s) -> depth_to_space(s); the result
is added to the bicubic upscale of Y. Chroma is upscaled bicubically (the eye resolves
colour more coarsely). The last conv starts at zero, so an untrained network IS bicubic.
load_sr_network(workdir) restores a `vidgan train-sr` run's network (enhancement passes
and exports use it without the training code).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from vidgan.config import Config
from vidgan.training import workdir as workdir_lib

# BT.601 full-range RGB <-> YCbCr on [-1, 1] values (chroma centred on 0). tensorflow-io's
# rgb_to_ycbcr takes uint8 only and is limited-range (its round trip is off by up to 4 levels).
# numpy, not tf.constant: a TF op at import time would initialize the devices before the
# trainer can split the CPU into logical devices for MirroredStrategy.
_RGB_TO_YCBCR = np.array([[0.299, -0.168736, 0.5],
                          [0.587, -0.331264, -0.418688],
                          [0.114, 0.5, -0.081312]], np.float32)
_YCBCR_TO_RGB = np.array([[1.0, 1.0, 1.0],
                          [0.0, -0.344136, 1.772],
                          [1.402, -0.714136, 0.0]], np.float32)


def rgb_to_ycbcr(x: tf.Tensor) -> tf.Tensor:
    """[..., 3] RGB in [-1, 1] -> Y in [-1, 1], Cb and Cr in [-1, 1] centred on 0."""
    return tf.tensordot(x, _RGB_TO_YCBCR, 1)


def ycbcr_to_rgb(x: tf.Tensor) -> tf.Tensor:
    return tf.tensordot(x, _YCBCR_TO_RGB, 1)


@keras.saving.register_keras_serializable(package="vidgan")
class SRNet(keras.Model):
    """x`scale` video super-resolution; see the module docstring."""

    def __init__(self, scale: int = 2, channels: int = 64, frames: int = 3, **kwargs):
        super().__init__(**kwargs)
        self.scale, self.channels, self.frames = int(scale), int(channels), int(frames)
        half = max(1, channels // 2)
        self.head = keras.layers.Conv2D(channels, 5, padding="same", activation="relu")
        self.body1 = keras.layers.Conv2D(half, 3, padding="same", activation="relu")
        self.body2 = keras.layers.Conv2D(half, 3, padding="same", activation="relu")
        self.tail = keras.layers.Conv2D(scale * scale, 3, padding="same",
                                        kernel_initializer="zeros")

    def call(self, videos):
        """videos float32 [B, T, h, w, 3] in [-1, 1] -> [B, T, s*h, s*w, 3] (not clipped)."""
        shape = tf.shape(videos)
        b, t, h, w = shape[0], shape[1], shape[2], shape[3]
        ycc = rgb_to_ycbcr(videos)
        luma = ycc[..., :1]
        if self.frames == 3:  # neighbours as channels; the ends repeat themselves
            previous = tf.concat([luma[:, :1], luma[:, :-1]], axis=1)
            following = tf.concat([luma[:, 1:], luma[:, -1:]], axis=1)
            luma = tf.concat([previous, luma, following], axis=-1)
        x = tf.reshape(luma, [b * t, h, w, self.frames])
        residual = tf.nn.depth_to_space(self.tail(self.body2(self.body1(self.head(x)))),
                                        self.scale)  # [B*T, s*h, s*w, 1]
        up = tf.image.resize(tf.reshape(ycc, [b * t, h, w, 3]),
                             [h * self.scale, w * self.scale], method="bicubic")
        out = ycbcr_to_rgb(tf.concat([up[..., :1] + residual, up[..., 1:]], axis=-1))
        return tf.reshape(out, [b, t, h * self.scale, w * self.scale, 3])

    def get_config(self):
        return {"scale": self.scale, "channels": self.channels, "frames": self.frames}

    def build_for(self, height: int = 16, width: int = 16) -> "SRNet":
        self(tf.zeros([1, 2, height, width, 3]))
        return self


def load_sr_network(workdir: str, step: int | None = None) -> tuple[SRNet, Config]:
    """The trained SR network of a `vidgan train-sr` run (latest checkpoint by default).
    Raises workdir.RunError with a one-line reason."""
    config = workdir_lib.load_config(workdir, kind="vidgan train-sr run")
    path = workdir_lib.checkpoint_path(workdir, step)
    sr = config.sr
    network = SRNet(sr.scale, sr.channels, sr.frames, name="sr_network").build_for()
    workdir_lib.restore(path, network=network)
    return network, config
