"""Building blocks shared by generators and discriminators.

Shapes are `[B, T, H, W, C]` (channels last).
"""

from __future__ import annotations

import dataclasses
import math

import keras
import tensorflow as tf
from keras import ops


@dataclasses.dataclass(frozen=True)
class StagePlan:
    """Geometry of a pyramid of 2x spatial stages between a coarse and a full size.

    Stage i (0 = coarsest) doubles H and W, and doubles T while `time_strides[i] == 2`.
    """

    start: tuple[int, int, int]  # (T0, H0, W0)
    time_strides: tuple[int, ...]  # one per stage, 2 or 1

    @property
    def num_stages(self) -> int:
        return len(self.time_strides)


def _twos(n: int) -> int:
    """How many times 2 divides n."""
    count = 0
    while n % 2 == 0 and n > 0:
        n //= 2
        count += 1
    return count


def plan_stages(num_frames: int, height: int, width: int) -> StagePlan:
    """Stages down to a coarse size of about 4x4 (exact for powers of two).

    Spatial: as many 2x stages as both H and W allow while the smaller side stays
    >= 4. Time: doubled in the coarsest stages, as often as 2 divides T.
    Raises ValueError when H or W is odd (no 2x stage possible).
    """
    stages = min(_twos(height), _twos(width), int(math.log2(min(height, width) / 4)))
    if stages < 1:
        raise ValueError(
            f"height={height} and width={width} must both be even and >= 8 "
            "(the models double H and W per stage)"
        )
    t_stages = min(stages, _twos(num_frames))
    start = (num_frames >> t_stages, height >> stages, width >> stages)
    return StagePlan(start, (2,) * t_stages + (1,) * (stages - t_stages))


def stage_channels(channels: int, max_channels: int, num_stages: int) -> list[int]:
    """Channels from the finest stage (index 0) to the coarsest (index num_stages)."""
    return [min(max_channels, channels * 2**i) for i in range(num_stages + 1)]


def _power_iteration(kernel, u):
    """One step of power iteration on kernel reshaped to [fan_in, out].

    Returns (sigma, new_u); sigma carries gradients w.r.t. the kernel (Miyato et
    al. 2018, sec. 2.1), u is treated as a constant.
    """
    w = ops.reshape(kernel, (-1, kernel.shape[-1]))  # [fan_in, out]
    u = ops.stop_gradient(u)  # [1, out]
    v = _l2_normalize(ops.matmul(u, ops.transpose(w)))  # [1, fan_in]
    u = ops.stop_gradient(_l2_normalize(ops.matmul(v, w)))  # [1, out]
    v = ops.stop_gradient(v)
    sigma = ops.sum(ops.matmul(v, w) * u)
    return sigma, u


def _l2_normalize(x):
    return x / ops.sqrt(ops.sum(ops.square(x)) + 1e-12)


class _SpectralNormMixin:
    """Divides the kernel by its largest singular value, estimated by power iteration.

    Unlike keras.layers.SpectralNormalization, the stored kernel is never
    overwritten: only `u` is updated, with MEAN aggregation so that it also
    updates correctly in replica context under tf.distribute.
    """

    def _build_u(self, out_dim: int) -> None:
        self.sn_u = self.add_weight(
            name="sn_u",
            shape=(1, out_dim),
            initializer=keras.initializers.RandomNormal(seed=0),
            trainable=False,
            aggregation="mean",
        )

    def _normalized_kernel(self, training):
        sigma, u = _power_iteration(self.kernel, self.sn_u)
        if training:
            self.sn_u.assign(u)
        return self.kernel / ops.cast(sigma, self.kernel.dtype)


class SNConv3D(_SpectralNormMixin, keras.layers.Conv3D):
    """Conv3D with a spectrally normalized kernel. [B, T, H, W, C] -> [B, T', H', W', F]."""

    def build(self, input_shape):
        super().build(input_shape)
        self._build_u(self.filters)

    def call(self, inputs, training=False):
        outputs = self.convolution_op(inputs, self._normalized_kernel(training))
        if self.use_bias:
            outputs = outputs + self.bias
        return self.activation(outputs)


class SNDense(_SpectralNormMixin, keras.layers.Dense):
    """Dense with a spectrally normalized kernel. [B, D] -> [B, units]."""

    def build(self, input_shape):
        super().build(input_shape)
        self._build_u(self.units)

    def call(self, inputs, training=False):
        outputs = ops.matmul(inputs, self._normalized_kernel(training))
        if self.use_bias:
            outputs = outputs + self.bias
        return self.activation(outputs)


@keras.saving.register_keras_serializable(package="vidgan")
class VideoBatchNorm(keras.layers.BatchNormalization):
    """Batch normalization over the channels of videos [B, T, H, W, C].

    With one replica it runs TF's fused kernel on a [B, T*H, W, C] view of the same
    numbers (2-3x faster than Keras' unfused 5-D path: 43 vs 115 ms forward+backward on
    [16, 8, 32, 32, 128]); with several replicas, Keras' synchronized path, so N replicas
    still match one device. Same variables, statistics (biased batch variance for the
    moving average, as Keras) and output either way.
    """

    def _fused_here(self, inputs, mask) -> bool:
        ctx = tf.distribute.get_replica_context()
        return (mask is None and len(inputs.shape) == 5 and self.axis in (-1, 4)
                and ctx is not None and ctx.num_replicas_in_sync == 1)

    def call(self, inputs, training=None, mask=None):
        if not self._fused_here(inputs, mask):
            return super().call(inputs, training=training, mask=mask)
        shape = tf.shape(inputs)
        channels = inputs.shape[-1]
        x = tf.cast(tf.reshape(inputs, [shape[0], shape[1] * shape[2], shape[3], channels]),
                    tf.float32)  # statistics in float32, as Keras does for 16-bit inputs
        gamma = tf.cast(self.gamma, tf.float32) if self.scale else tf.ones([channels])
        beta = tf.cast(self.beta, tf.float32) if self.center else tf.zeros([channels])
        if training and self.trainable:
            y, mean, variance = tf.compat.v1.nn.fused_batch_norm(
                x, gamma, beta, epsilon=self.epsilon, is_training=True)
            n = tf.cast(tf.size(x) // channels, tf.float32)
            variance = variance * (n - 1.0) / n  # the kernel returns it Bessel-corrected
            m = self.momentum
            self.moving_mean.assign(self.moving_mean * m + mean * (1.0 - m))
            self.moving_variance.assign(self.moving_variance * m + variance * (1.0 - m))
        else:
            y, _, _ = tf.compat.v1.nn.fused_batch_norm(
                x, gamma, beta, mean=tf.cast(self.moving_mean, tf.float32),
                variance=tf.cast(self.moving_variance, tf.float32), epsilon=self.epsilon,
                is_training=False)
        return tf.cast(tf.reshape(y, shape), inputs.dtype)


class ClassBatchNorm(keras.layers.Layer):
    """Conditional batch norm (de Vries et al. 2017; BigGAN's form, Brock et al. 2019):
    batch statistics as VideoBatchNorm, then a per-example gain 1 + W_g c and offset W_b c
    from a condition vector c (BigGAN: the shared class embedding, here with z beside it).
    W_g, W_b start at zero: a new model begins as plain batch norm. A condition per frame,
    c [B, T, E], gives each frame its own gain and offset (the motion-content family's
    per-frame codes, as StyleGAN-V modulates every layer by the frame's code).

    x [B, T, H, W, C], c [B, E] or [B, T, E] -> [B, T, H, W, C].
    """

    def __init__(self, channels: int, **kwargs):
        super().__init__(**kwargs)
        self.norm = VideoBatchNorm(synchronized=True, center=False, scale=False, name="norm")
        self.gain = keras.layers.Dense(channels, use_bias=False, kernel_initializer="zeros",
                                       name="gain")
        self.offset = keras.layers.Dense(channels, use_bias=False, kernel_initializer="zeros",
                                         name="offset")

    def call(self, x, condition, training=False):
        y = self.norm(x, training=training)
        gain = ops.cast(1.0 + self.gain(condition), y.dtype)  # [B, E] or [B, T, E]
        offset = ops.cast(self.offset(condition), y.dtype)
        if len(condition.shape) == 2:
            gain, offset = gain[:, None], offset[:, None]  # the same for every frame
        return y * gain[:, :, None, None, :] + offset[:, :, None, None, :]


def normalization(kind: str, name: str) -> keras.layers.Layer:
    """'batch' (synchronized across replicas, so N replicas match one device),
    'layer' (per example and position, over channels), or 'none' (an Identity layer)."""
    if kind == "batch":
        return VideoBatchNorm(synchronized=True, name=name)
    if kind == "layer":
        return keras.layers.LayerNormalization(name=name)
    if kind == "none":
        return keras.layers.Identity(name=name)
    raise ValueError(f"unknown normalization {kind!r}; expected batch, layer or none")


def warp(image: tf.Tensor, flow: tf.Tensor) -> tf.Tensor:
    """Backward warping: frame t's pixel (y, x) is `image` sampled bilinearly at
    (y + flow[..., 0], x + flow[..., 1]), positions clamped to the frame (edges repeat).

    image [B, H, W, C], flow float32 [B, T, H, W, 2] in pixels -> float32 [B, T, H, W, C];
    differentiable in the flow (through the bilinear weights) and in the image.
    """
    image = tf.cast(image, tf.float32)
    shape = tf.shape(flow)
    b, h, w = shape[0], shape[2], shape[3]
    grid_y, grid_x = tf.meshgrid(tf.range(h), tf.range(w), indexing="ij")  # [H, W]
    y = tf.clip_by_value(tf.cast(grid_y, tf.float32) + flow[..., 0], 0.0,
                         tf.cast(h - 1, tf.float32))  # [B, T, H, W]
    x = tf.clip_by_value(tf.cast(grid_x, tf.float32) + flow[..., 1], 0.0,
                         tf.cast(w - 1, tf.float32))
    y0, x0 = tf.floor(y), tf.floor(x)
    wy, wx = (y - y0)[..., None], (x - x0)[..., None]  # [B, T, H, W, 1]
    y0, x0 = tf.cast(y0, tf.int32), tf.cast(x0, tf.int32)
    y1, x1 = tf.minimum(y0 + 1, h - 1), tf.minimum(x0 + 1, w - 1)
    pixels = tf.reshape(image, [-1, tf.shape(image)[-1]])  # [B*H*W, C]
    first = tf.reshape(tf.range(b) * h * w, [-1, 1, 1, 1])  # each example's first row

    def at(yi, xi):
        return tf.gather(pixels, first + yi * w + xi)  # [B, T, H, W, C]

    top = at(y0, x0) * (1.0 - wx) + at(y0, x1) * wx
    bottom = at(y1, x0) * (1.0 - wx) + at(y1, x1) * wx
    return top * (1.0 - wy) + bottom * wy
