"""Enhancement passes as Keras layers: Denoise, Sharpen, SuperResolution.

Every pass takes videos [B, T, H, W, C] (C = 3) as uint8 [0, 255] or float [-1, 1] and
returns the same dtype and range (SuperResolution: [B, T, s*H, s*W, C]). Inside, frames
are float32 [-1, 1]; a uint8 result is rounded. All ops are core TensorFlow (the Gaussian
kernel of Sharpen comes from tensorflow-io's pure-TF filter code, which traces into plain
TF ops), so a SavedModel with passes baked in loads where neither vidgan nor
tensorflow-io is installed. Each layer serializes with get_config / from_config.
"""

from __future__ import annotations

import math
import warnings

import keras
import tensorflow as tf

from vidgan import pixels

def _gaussian_blur(frames: tf.Tensor, sigma: float) -> tf.Tensor:
    """frames [N, H, W, C] blurred with a Gaussian of `sigma` pixels (reflect padding)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tensorflow-io's import warns about its kernels
        import tensorflow_io as tfio  # noqa: PLC0415

    ksize = 2 * math.ceil(2 * sigma) + 1
    return tfio.experimental.filter.gaussian(frames, ksize, sigma, mode="REFLECT")


@keras.saving.register_keras_serializable(package="vidgan")
class VideoPass(keras.layers.Layer):
    """Base: dtype handling and the [B, T, H, W, C] <-> frames [B*T, H, W, C] reshapes.

    Subclasses implement `enhance(videos float32 [B, T, H, W, C] in [-1, 1])`.
    """

    def call(self, videos):
        videos = tf.convert_to_tensor(videos)
        dtype = videos.dtype
        if dtype == tf.uint8:
            x = pixels.from_uint8(videos)
        elif dtype.is_floating:
            x = tf.cast(videos, tf.float32)
        else:
            raise TypeError(f"{self.name}: expected uint8 or float videos, got {dtype.name}")
        y = tf.clip_by_value(self.enhance(x), -1.0, 1.0)
        if dtype == tf.uint8:
            return pixels.to_uint8(y)
        return tf.cast(y, dtype)

    def min_size(self) -> int:
        """The smallest frame side (pixels) the pass accepts (its reflect padding must be
        smaller than the frame)."""
        return 1

    def enhance(self, x: tf.Tensor) -> tf.Tensor:
        raise NotImplementedError

    def compute_output_spec(self, videos):
        return keras.KerasTensor(self.output_shape_for(videos.shape), videos.dtype)

    def output_shape_for(self, shape):
        return shape

    @staticmethod
    def frames(x: tf.Tensor) -> tf.Tensor:
        shape = tf.shape(x)
        return tf.reshape(x, tf.concat([[-1], shape[2:]], 0))

    @staticmethod
    def videos(frames: tf.Tensor, like: tf.Tensor) -> tf.Tensor:
        shape = tf.shape(like)
        return tf.reshape(frames, tf.concat([shape[:2], tf.shape(frames)[1:]], 0))


@keras.saving.register_keras_serializable(package="vidgan")
class Denoise(VideoPass):
    """Spatio-temporal edge-preserving denoising.

    Space: a bilateral filter (window radius ceil(2 * spatial_sigma)): neighbours are
    weighted by distance and by colour similarity, so edges stay sharp while flat regions
    are averaged. Time: each frame is averaged with its two neighbours, each weighted by
    `temporal` x colour similarity per pixel, so static regions are smoothed over time and
    moving ones (large frame differences) are left alone. `range_sigma` is in [0, 1]
    intensity units (0.1 = a tenth of the full range).
    """

    def __init__(self, spatial_sigma: float = 1.0, range_sigma: float = 0.1,
                 temporal: float = 0.5, **kwargs):
        super().__init__(**kwargs)
        if spatial_sigma < 0 or range_sigma <= 0 or not 0 <= temporal <= 1:
            raise ValueError("Denoise needs spatial_sigma >= 0, range_sigma > 0 and "
                             f"0 <= temporal <= 1, got {spatial_sigma}, {range_sigma}, {temporal}")
        self.spatial_sigma = float(spatial_sigma)
        self.range_sigma = float(range_sigma)
        self.temporal = float(temporal)

    def _similarity(self, a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
        sigma = 2.0 * self.range_sigma  # [0, 1] units -> [-1, 1] units
        d2 = tf.reduce_mean(tf.square(a - b), axis=-1, keepdims=True)
        return tf.exp(-d2 / (2.0 * sigma * sigma))

    def min_size(self) -> int:
        return math.ceil(2 * self.spatial_sigma) + 1

    def _bilateral(self, frames: tf.Tensor) -> tf.Tensor:
        r = math.ceil(2 * self.spatial_sigma)
        if r == 0:
            return frames
        h, w = tf.shape(frames)[1], tf.shape(frames)[2]
        padded = tf.pad(frames, [[0, 0], [r, r], [r, r], [0, 0]], mode="REFLECT")
        total = tf.zeros_like(frames)
        weights = tf.zeros_like(frames[..., :1])
        for dy in range(-r, r + 1):
            for dx in range(-r, r + 1):
                spatial = math.exp(-(dy * dy + dx * dx) / (2 * self.spatial_sigma ** 2))
                if spatial < 1e-3:
                    continue
                shifted = padded[:, r + dy:r + dy + h, r + dx:r + dx + w]
                weight = spatial * self._similarity(shifted, frames)
                total += weight * shifted
                weights += weight
        return total / weights

    def enhance(self, x):
        x = self.videos(self._bilateral(self.frames(x)), x)
        if self.temporal == 0:
            return x
        previous = tf.concat([x[:, :1], x[:, :-1]], axis=1)  # edges repeat themselves
        following = tf.concat([x[:, 1:], x[:, -1:]], axis=1)
        w_prev = self.temporal * self._similarity(previous, x)
        w_next = self.temporal * self._similarity(following, x)
        return (x + w_prev * previous + w_next * following) / (1.0 + w_prev + w_next)

    def get_config(self):
        return {**super().get_config(), "spatial_sigma": self.spatial_sigma,
                "range_sigma": self.range_sigma, "temporal": self.temporal}


@keras.saving.register_keras_serializable(package="vidgan")
class Sharpen(VideoPass):
    """Unsharp masking per frame: x + amount * (x - gaussian(x, radius)), applied only where
    the detail |x - blur| reaches `threshold` ([0, 1] intensity units), so flat regions
    and low-contrast noise are left alone."""

    def __init__(self, amount: float = 0.5, radius: float = 1.0, threshold: float = 0.0,
                 **kwargs):
        super().__init__(**kwargs)
        if amount < 0 or radius <= 0 or not 0 <= threshold < 1:
            raise ValueError("Sharpen needs amount >= 0, radius > 0 and 0 <= threshold < 1, "
                             f"got {amount}, {radius}, {threshold}")
        self.amount = float(amount)
        self.radius = float(radius)
        self.threshold = float(threshold)

    def min_size(self) -> int:
        return math.ceil(2 * self.radius) + 1  # the blur's reflect padding + 1

    def enhance(self, x):
        frames = self.frames(x)
        detail = frames - _gaussian_blur(frames, self.radius)
        if self.threshold > 0:
            strong = tf.reduce_max(tf.abs(detail), axis=-1, keepdims=True) >= 2 * self.threshold
            detail = tf.where(strong, detail, tf.zeros_like(detail))
        return self.videos(frames + self.amount * detail, x)

    def get_config(self):
        return {**super().get_config(), "amount": self.amount, "radius": self.radius,
                "threshold": self.threshold}


@keras.saving.register_keras_serializable(package="vidgan")
class SuperResolution(VideoPass):
    """x`scale` upscaling per frame: "bicubic" (classic) or "learned" (vidgan.enhance.srnet's
    network, trained with `vidgan train-sr`; pass the built network as `network`, or load
    its weights after from_config). [B, T, H, W, C] -> [B, T, scale*H, scale*W, C]."""

    def __init__(self, scale: int = 2, mode: str = "bicubic", network_config: dict | None = None,
                 network=None, **kwargs):
        super().__init__(**kwargs)
        if scale not in (2, 4):
            raise ValueError(f"SuperResolution scale must be 2 or 4, got {scale}")
        if mode not in ("bicubic", "learned"):
            raise ValueError(f"SuperResolution mode must be bicubic or learned, got {mode!r}")
        self.scale = int(scale)
        self.mode = mode
        if mode == "learned":
            from vidgan.enhance import srnet  # noqa: PLC0415

            if network is None:
                network = srnet.SRNet(**(network_config or {"scale": scale}))
            if network.scale != scale:
                raise ValueError(f"the SR network is x{network.scale}, not x{scale}")
        self.network = network

    def build(self, input_shape):
        if self.network is not None and not self.network.built:
            self.network.build_for()  # its weights exist before any are loaded into it
        self.built = True

    def enhance(self, x):
        if self.mode == "learned":
            return self.network(x)
        frames = self.frames(x)
        size = tf.shape(frames)[1:3] * self.scale
        up = tf.image.resize(frames, size, method="bicubic")
        return self.videos(up, x)

    def output_shape_for(self, shape):
        b, t, h, w, c = shape
        return (b, t, None if h is None else h * self.scale,
                None if w is None else w * self.scale, c)

    def get_config(self):
        config = {**super().get_config(), "scale": self.scale, "mode": self.mode}
        if self.network is not None:
            config["network_config"] = self.network.get_config()
        return config
