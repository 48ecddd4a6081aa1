"""Building blocks of the residual family (vidgan.models.resnet3d): the convolution
(3x3x3, (2+1)D or 2D, optionally spectrally normalized and with replicate time padding),
resize upsampling, the generator's and discriminator's residual blocks, and the context
encoder of image -> video and continuation models. Shapes are [B, T, H, W, C].
"""

from __future__ import annotations

import keras
from keras import ops

from vidgan.models import layers

CONVS = ("3d", "2plus1d")  # "2d" (1x3x3) is internal: the frames head
UPSAMPLES = ("nearest", "trilinear")
TIME_PADDINGS = ("zeros", "replicate", "causal")


def pad_time(x, mode: str, spatial: bool):
    """[B, T, H, W, C] -> [B, T+2, H', W', C] for a "valid" conv of extent 3 in time.

    "replicate": the first and last frame repeated once. "causal": two zero frames before
    the first, none after, so output frame t sees frames t-2..t only and a longer clip
    keeps the frames of a shorter one. (spatial) one ring of zeros in H and W.
    """
    # Time by concatenation, never a pad op in front of the conv: TF 2.21's graph
    # optimizer drops the second of two pads before a "valid" Conv3D (6x6 out of 8x8
    # frames), and its Pad+Conv3D fusion fails on a time pad ("remapper failed"), which
    # turns off every fusion of the graph (BUILD.md, "Known behaviour").
    if mode == "replicate":
        x = ops.concatenate([x[:, :1], x, x[:, -1:]], axis=1)
    else:  # causal
        x = ops.concatenate([ops.repeat(ops.zeros_like(x[:, :1]), 2, axis=1), x], axis=1)
    return ops.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1), (0, 0))) if spatial else x


class Conv(keras.layers.Layer):
    """A 3x3x3 conv, or a (2+1)D pair (1x3x3 then 3x1x1) of the same output width.

    The (2+1)D middle width keeps the parameter count of the 3x3x3 conv (Tran et al.
    2018, eq. 1), rounded to a multiple of 8. time_padding "replicate": the convs that
    span time see the edge frames repeated instead of zeros (same weights, same shapes);
    "causal": they see the two frames before (zeros before frame 0) and none after.
    [B, T, H, W, C] -> [B, T, H, W, filters].

    A conv spanning time over a 2-frame input computes in float32 under a bfloat16
    policy: TF 2.21's oneDNN filter gradient of a "same"-padded 3-deep conv over 2 frames
    is NaN in bfloat16 for most shapes (BUILD.md, "Known behaviour"). Such convs sit at
    the coarsest stages, where float32 costs little.
    """

    def __init__(self, filters: int, kind: str, spectral_norm: bool, use_bias: bool = True,
                 time_padding: str = "zeros", **kwargs):
        super().__init__(**kwargs)
        if time_padding not in TIME_PADDINGS:
            raise ValueError(f"unknown time_padding {time_padding!r}; expected one of "
                             f"{', '.join(TIME_PADDINGS)}")
        conv = layers.SNConv3D if spectral_norm else keras.layers.Conv3D
        self.kind = kind
        # Replicate / causal: pad by hand, then a "valid" conv; a 2D conv never spans time.
        self.time_padding = time_padding if kind != "2d" else "zeros"
        padded = self.time_padding != "zeros"
        span = "valid" if padded else "same"
        if kind in ("3d", "2d"):
            kernel = 3 if kind == "3d" else (1, 3, 3)
            self.conv = conv(filters, kernel, padding=span, use_bias=use_bias, name="conv")
        elif kind == "2plus1d":
            self.filters = filters
            self.spatial = None  # built once the input width is known
            self._conv_cls, self._use_bias = conv, use_bias
            self.temporal = conv(filters, (3, 1, 1), padding=span, use_bias=use_bias,
                                 name="temporal")
        else:
            raise ValueError(f"unknown conv {kind!r}; expected one of {', '.join(CONVS)}")

    def build(self, input_shape):
        # The conv that spans time: float32 over 2 frames in bfloat16 (the NaN above).
        spanning = self.temporal if self.kind == "2plus1d" else self.conv
        if (input_shape[1] == 2 and self.kind != "2d"
                and self.compute_dtype == "bfloat16"):
            spanning.dtype_policy = keras.DTypePolicy("float32")
        if self.kind == "2plus1d":
            c_in = int(input_shape[-1])
            mid = 27 * c_in * self.filters // (9 * c_in + 3 * self.filters)
            mid = max(8, (mid + 4) // 8 * 8)
            self.spatial = self._conv_cls(mid, (1, 3, 3), padding="same",
                                          use_bias=self._use_bias, name="spatial")
            self.spatial.build(input_shape)
            self.temporal.build(_padded_shape(tuple(input_shape[:-1]) + (mid,),
                                              self.time_padding, spatial=False))
        else:
            self.conv.build(_padded_shape(input_shape, self.time_padding, self.kind == "3d"))
        self.built = True

    def call(self, x, training=False):
        padded = self.time_padding != "zeros"
        if self.kind != "2plus1d":
            if padded:
                x = pad_time(x, self.time_padding, spatial=True)  # [B, T+2, H+2, W+2, C]
            return ops.cast(self.conv(x, training=training), self.compute_dtype)
        h = ops.relu(self.spatial(x, training=training))
        if padded:
            h = pad_time(h, self.time_padding, spatial=False)  # [B, T+2, H, W, mid]
        return ops.cast(self.temporal(h, training=training), self.compute_dtype)


def _padded_shape(shape, time_padding: str, spatial: bool) -> tuple:
    """The input shape a conv sees after pad_time (unchanged with zeros padding)."""
    shape = tuple(shape)
    if time_padding == "zeros":
        return shape
    grow = lambda d, by: None if d is None else d + by  # noqa: E731
    return (shape[0], grow(shape[1], 2), *(grow(d, 2 * spatial) for d in shape[2:4]),
            shape[4])


def upsample(x, t_factor: int, method: str):
    """[B, T, H, W, C] -> [B, t_factor*T, 2H, 2W, C]."""
    if method == "nearest":
        x = ops.repeat(x, 2, axis=2)
        x = ops.repeat(x, 2, axis=3)
        return ops.repeat(x, t_factor, axis=1) if t_factor > 1 else x
    # Trilinear (half-pixel centers) as separable 1-D interpolations: spatial per frame,
    # then time with weights 3/4, 1/4 (edges repeated).
    b, t, h, w, c = ops.shape(x)
    frames = ops.reshape(x, (-1, h, w, c))
    frames = ops.image.resize(frames, (2 * h, 2 * w), interpolation="bilinear")
    x = ops.reshape(frames, (-1, t, 2 * h, 2 * w, c))
    if t_factor == 1:
        return x
    prev = ops.concatenate([x[:, :1], x[:, :-1]], axis=1)
    nxt = ops.concatenate([x[:, 1:], x[:, -1:]], axis=1)
    early, late = 0.75 * x + 0.25 * prev, 0.75 * x + 0.25 * nxt
    return ops.reshape(ops.stack([early, late], axis=2), (-1, 2 * t, 2 * h, 2 * w, c))


class GBlock(keras.layers.Layer):
    """BN -> ReLU -> 2x upsample -> conv -> BN -> ReLU -> conv, plus a shortcut
    (1x1x1 conv when the width changes, applied BEFORE upsampling: both are linear and
    per-position, so the result is the same at a fraction of the cost).

    [B, T, H, W, C_in] -> [B, t_factor*T, 2H, 2W, filters].
    """

    def __init__(self, filters: int, t_factor: int, conv: str, upsample: str,
                 conditional: bool = False, time_padding: str = "zeros", **kwargs):
        super().__init__(**kwargs)
        self.filters, self.t_factor, self.upsample = filters, t_factor, upsample
        self.conditional = conditional
        # Conditional: norm1's width is the input's, known in build().
        self.norm1 = None if conditional else layers.normalization("batch", "norm1")
        self.conv1 = Conv(filters, conv, spectral_norm=False, use_bias=False,
                           time_padding=time_padding, name="conv1")
        self.norm2 = (layers.ClassBatchNorm(filters, name="norm2") if conditional
                      else layers.normalization("batch", "norm2"))
        # No biases: every block output feeds a batch norm (the next block's or the
        # output's), which removes them; Adam would amplify their ~0 gradients into noise.
        self.conv2 = Conv(filters, conv, spectral_norm=False, use_bias=False,
                           time_padding=time_padding, name="conv2")
        self.shortcut = None

    def build(self, input_shape):
        if self.conditional:
            self.norm1 = layers.ClassBatchNorm(int(input_shape[-1]), name="norm1")
        if int(input_shape[-1]) != self.filters:
            self.shortcut = keras.layers.Conv3D(self.filters, 1, use_bias=False,
                                                name="shortcut")

    def _norm(self, norm, x, condition, training):
        if self.conditional:
            return norm(x, condition, training=training)
        return norm(x, training=training)

    def call(self, x, condition=None, training=False):
        """x [B, T, H, W, C_in]; condition [B, E] (or per frame [B, T, E]) when conditional."""
        h = ops.relu(self._norm(self.norm1, x, condition, training))
        h = self.conv1(upsample(h, self.t_factor, self.upsample))  # [B, T', 2H, 2W, F]
        h = self.conv2(ops.relu(self._norm(self.norm2, h, condition, training)))
        skip = self.shortcut(x) if self.shortcut is not None else x
        return h + upsample(skip, self.t_factor, self.upsample)


class DBlock(keras.layers.Layer):
    """(ReLU ->) conv -> ReLU -> conv -> 2x average pool, plus a shortcut (average pool
    then 1x1x1 conv, cheaper than the reverse and the same map). The first block of the
    discriminator sees raw pixels and skips the first ReLU (BigGAN's "optimized" block).
    Every conv is spectrally normalized unless spectral_norm is false.

    [B, T, H, W, C_in] -> [B, T / t_factor, H/2, W/2, filters].
    """

    def __init__(self, filters: int, t_factor: int, conv: str, first: bool,
                 spectral_norm: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.first, self.spectral_norm = filters, first, spectral_norm
        self.conv1 = Conv(filters, conv, spectral_norm=spectral_norm, name="conv1")
        self.conv2 = Conv(filters, conv, spectral_norm=spectral_norm, name="conv2")
        self.pool = keras.layers.AveragePooling3D((t_factor, 2, 2), name="pool")
        self.shortcut = None

    def build(self, input_shape):
        if self.first or int(input_shape[-1]) != self.filters:
            conv = layers.SNConv3D if self.spectral_norm else keras.layers.Conv3D
            self.shortcut = conv(self.filters, 1, name="shortcut")

    def call(self, x, training=False):
        h = x if self.first else ops.relu(x)
        h = self.conv1(h, training=training)
        h = self.pool(self.conv2(ops.relu(h), training=training))
        skip = self.pool(x)
        if self.shortcut is not None:
            skip = self.shortcut(skip, training=training)
        return h + skip


class ContextEncoder(keras.layers.Layer):
    """Context frames -> a feature pyramid at the generator's resolutions.

    context [B, k, H, W, 3] -> frames as channels [B, H, W, 3k] -> conv -> features at
    H x W, then (ReLU, conv, 2x average pool) per coarser stage. Returns one [B, h_i, w_i,
    widths[i]] per level, coarsest first (level i matches G's width widths[i]).
    """

    def __init__(self, widths: list[int], **kwargs):
        super().__init__(**kwargs)
        self.num_levels = len(widths)
        # No biases: every level is added to G's activations just before a batch norm,
        # which removes a constant; Adam would amplify their ~0 gradients into noise.
        self.conv_in = keras.layers.Conv2D(widths[-1], 3, padding="same", use_bias=False,
                                           name="conv_in")
        for i in range(1, self.num_levels):  # conv{i} makes level num_levels - 1 - i
            setattr(self, f"conv{i}", keras.layers.Conv2D(
                widths[-1 - i], 3, padding="same", use_bias=False, name=f"conv{i}"))
        self.pool = keras.layers.AveragePooling2D(2, name="pool")

    def call(self, context):
        b, k, h, w, c = context.shape
        x = ops.reshape(ops.transpose(context, (0, 2, 3, 1, 4)), (-1, h, w, k * c))
        x = self.conv_in(x)  # [B, H, W, widths[-1]]
        levels = [x]
        for i in range(1, self.num_levels):
            x = self.pool(getattr(self, f"conv{i}")(ops.relu(x)))  # [B, h/2, w/2, C']
            levels.append(x)
        return levels[::-1]
