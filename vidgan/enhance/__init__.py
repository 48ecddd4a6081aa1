"""Enhancement passes after the generator (or on any video): denoise, sharpen, super-resolution.

A chain is written as a spec string, e.g. "denoise,sharpen(amount=0.8),sr2x":

    denoise(spatial_sigma=1, range_sigma=0.1, temporal=0.5)   vidgan.enhance.layers.Denoise
    sharpen(amount=0.5, radius=1, threshold=0)                 ...Sharpen
    bicubic2x, bicubic4x                                       SuperResolution, bicubic
    sr2x, sr4x                                                 SuperResolution, learned: the
                                                               network of a `vidgan train-sr`
                                                               run (sr_workdir)

`build_chain(spec, sr_workdir)` returns the layers in order; `Enhancement` runs them as one
Keras layer ([B, T, H, W, 3] uint8 or float in, same dtype out).
"""

from __future__ import annotations

import re

import keras
import tensorflow as tf

from vidgan import pixels
from vidgan.enhance.layers import Denoise, Sharpen, SuperResolution, VideoPass

PASSES = ("denoise", "sharpen", "bicubic2x", "bicubic4x", "sr2x", "sr4x")
_ITEM = re.compile(r"\s*([a-z0-9_]+)\s*(?:\(([^()]*)\))?\s*(?:,|$)")


class EnhanceError(ValueError):
    """A chain spec that cannot be built (one-line reason)."""


def parse(spec: str) -> list[tuple[str, dict[str, float]]]:
    """"denoise,sharpen(amount=0.8)" -> [("denoise", {}), ("sharpen", {"amount": 0.8})]."""
    items, position = [], 0
    spec = spec.strip()
    while position < len(spec):
        match = _ITEM.match(spec, position)
        if not match or match.end() == position:
            raise EnhanceError(f"cannot parse the enhancement chain {spec!r} at "
                               f"{spec[position:]!r}; expected e.g. denoise,sharpen(amount=0.8),sr2x")
        name, args = match.group(1), match.group(2)
        if name not in PASSES:
            raise EnhanceError(f"unknown enhancement pass {name!r}; passes: {', '.join(PASSES)}")
        params = {}
        for arg in filter(None, (a.strip() for a in (args or "").split(","))):
            key, _, value = arg.partition("=")
            try:
                params[key.strip()] = float(value)
            except ValueError:
                raise EnhanceError(f"{name}: {arg!r} is not key=number") from None
        items.append((name, params))
        position = match.end()
    if not items:
        raise EnhanceError("empty enhancement chain")
    return items


def build_chain(spec: str, sr_workdir: str | None = None) -> list[VideoPass]:
    """The layers of a chain spec, in order. Learned SR (sr2x, sr4x) loads the network of
    the `vidgan train-sr` run in `sr_workdir`."""
    layers: list[VideoPass] = []
    for name, params in parse(spec):
        try:
            if name == "denoise":
                layers.append(Denoise(**params))
            elif name == "sharpen":
                layers.append(Sharpen(**params))
            elif name.startswith("bicubic"):
                layers.append(SuperResolution(int(name[-2]), "bicubic", **params))
            else:
                layers.append(_learned(int(name[-2]), sr_workdir, params))
        except TypeError as e:
            raise EnhanceError(f"{name}: {e}") from None
        except ValueError as e:
            raise EnhanceError(str(e)) from None
    return layers


def _learned(scale: int, sr_workdir: str | None, params: dict) -> SuperResolution:
    from vidgan.enhance import srnet  # noqa: PLC0415
    from vidgan.training import workdir as workdir_lib  # noqa: PLC0415

    if params:
        raise EnhanceError(f"sr{scale}x takes no parameters (its network is trained)")
    if not sr_workdir:
        raise EnhanceError(f"sr{scale}x is the learned super-resolution: give the "
                           f"`vidgan train-sr` run (--sr_workdir), or use bicubic{scale}x")
    try:
        network, _ = srnet.load_sr_network(sr_workdir)
    except workdir_lib.RunError as e:
        raise EnhanceError(str(e)) from None
    if network.scale != scale:
        raise EnhanceError(f"{sr_workdir} trained a x{network.scale} network, not x{scale}")
    return SuperResolution(scale, "learned", network=network)


@keras.saving.register_keras_serializable(package="vidgan")
class Enhancement(keras.layers.Layer):
    """A chain of passes as one layer: [B, T, H, W, 3] -> the last pass's shape, same dtype."""

    def __init__(self, passes: list, **kwargs):
        super().__init__(**kwargs)
        self.passes = [p if isinstance(p, keras.layers.Layer)
                       else keras.saving.deserialize_keras_object(p) for p in passes]

    def call(self, videos):
        # uint8 is converted once at each end: passing uint8 between the passes would
        # round every intermediate result to 8 bits (errors that later passes amplify).
        videos = tf.convert_to_tensor(videos)
        quantized = videos.dtype == tf.uint8
        if quantized:
            videos = pixels.from_uint8(videos)
        for layer in self.passes:
            videos = layer(videos)  # float32 in [-1, 1] (each pass clips)
        if quantized:
            return pixels.to_uint8(videos)
        return videos

    def get_config(self):
        return {**super().get_config(),
                "passes": [keras.saving.serialize_keras_object(p) for p in self.passes]}


__all__ = ["PASSES", "Denoise", "EnhanceError", "Enhancement", "Sharpen", "SuperResolution",
           "VideoPass", "build_chain", "parse"]
