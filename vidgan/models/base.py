"""What every generator and discriminator declares, so the trainer, export, synthesis and
evaluation run any family without knowing which.

A generator declares its inputs (`input_specs`): per-example shapes, and where each comes
from: "noise" inputs are drawn from a seed by `vidgan.models.sampling`; "data" inputs
(class labels, context frames) are taken from the batch in training and given by the user
at synthesis. A discriminator returns a dict of named logit heads, each [B] (or
patch-shaped [B, ...]), weighted by `head_weights` in the loss.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import keras


@dataclasses.dataclass(frozen=True)
class InputSpec:
    """One generator input: per-example `shape` and `dtype`; `source` is "noise" or "data"."""

    shape: tuple[int, ...]
    dtype: str = "float32"
    source: str = "noise"


def _as_dict(inputs: Any, key: str) -> dict:
    """A bare tensor is shorthand for {key: tensor} (a latent batch, a video batch)."""
    return dict(inputs) if isinstance(inputs, dict) else {key: inputs}


class Generator(keras.Model):
    """Base of every generator: inputs {name: [B, *spec.shape]} -> video [B, T, H, W, 3]
    float32 in [-1, 1]. Subclasses implement `generate(inputs, training)` and may extend
    `input_specs()`. Calling with a bare tensor means {"latent": tensor}.

    A class-conditional generator (num_classes > 0) takes "label" int32 [B]; a context
    generator (context_frames = k > 0) takes "context" [B, k, H, W, 3] in [-1, 1], the
    first k frames of the clip, and its output's first k frames ARE the context (the base
    class puts them there, so every family keeps that promise).
    """

    def __init__(self, num_frames: int, height: int, width: int, z_dim: int,
                 num_classes: int = 0, context_frames: int = 0, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= context_frames < num_frames:
            raise ValueError(f"context_frames must be in [0, num_frames={num_frames}), got "
                             f"{context_frames}")
        self.video_shape = (num_frames, height, width, 3)
        self.z_dim = z_dim
        self.num_classes = num_classes  # > 0: class-conditional, takes "label"
        self.context_frames = context_frames  # > 0: takes "context"

    # True for a family whose frames can run past the training clips' T (`render`).
    any_length = False

    def input_specs(self) -> dict[str, InputSpec]:
        specs = {"latent": InputSpec((self.z_dim,))}
        if self.num_classes:
            specs["label"] = InputSpec((), "int32", source="data")
        if self.context_frames:
            specs["context"] = InputSpec((self.context_frames, *self.video_shape[1:]),
                                         source="data")
        return specs

    def call(self, inputs, training=False, return_losses=False):
        """With return_losses: (video, {name: [B]}), the generator's own loss terms per
        clip (e.g. VGAN's mask penalty), which the trainer adds to G's loss."""
        inputs = _as_dict(inputs, "latent")
        specs = self.input_specs()
        missing = sorted(set(specs) - set(inputs))
        if missing:
            raise ValueError(f"generator {self.name} needs inputs {', '.join(specs)}; "
                             f"missing {', '.join(missing)}")
        for name, spec in specs.items():
            shape = tuple(inputs[name].shape[1:])
            if shape != spec.shape:
                raise ValueError(f"generator expects {name} of shape "
                                 f"[B, {', '.join(map(str, spec.shape))}], got "
                                 f"{inputs[name].shape}")
        video, losses = self.generate_with_losses({k: inputs[k] for k in specs},
                                                  training=training)
        if self.context_frames:
            context = keras.ops.cast(inputs["context"], video.dtype)  # [B, k, H, W, 3]
            video = keras.ops.concatenate([context, video[:, self.context_frames:]], axis=1)
        return (video, losses) if return_losses else video

    def generate(self, inputs: dict, training: bool = False):
        raise NotImplementedError

    def generate_with_losses(self, inputs: dict, training: bool = False):
        """(video, {name: per-clip loss [B]}); families with loss terms of their own
        override this (the default has none)."""
        return self.generate(inputs, training=training), {}

    def noise_shapes(self, num_frames) -> dict[str, tuple]:
        """Per-example shapes of the noise inputs of a `num_frames`-frame render (entries
        may be int32 scalar tensors); the same as input_specs' at the clips' T."""
        return {name: spec.shape for name, spec in self.input_specs().items()
                if spec.source == "noise"}

    def render(self, inputs, num_frames, training: bool = False):
        """`num_frames` frames (an int, or an int32 scalar tensor in a tf.function) from
        inputs shaped by `noise_shapes(num_frames)`: [B, num_frames, H, W, 3] in [-1, 1],
        whose first min(T, num_frames) frames are what calling the generator gives for
        the same draws. Families with `any_length` only."""
        if not self.any_length:
            raise ValueError(f"generator {self.name} makes clips of {self.video_shape[0]} "
                             "frames only; a family with any_length renders other lengths")
        return self.render_frames(_as_dict(inputs, "latent"), num_frames, training)

    def render_frames(self, inputs: dict, num_frames, training: bool = False):
        raise NotImplementedError

    def get_config(self):
        return {**super().get_config(), **self._config}


class Discriminator(keras.Model):
    """Base of every discriminator: {"video": [B, T, H, W, 3], ...} -> {head: logits}.

    Each head's logits are float32 [B] or [B, ...]; `head_weights` weighs each head's loss
    (default: one head "video" of weight 1). Calling with a bare tensor means {"video": x}.
    A discriminator with `uses_seed` gets inputs["seed"], int64 [2], a stateless seed the
    trainer derives from (train.seed, step) for its random choices (absent at inference).
    A class-conditional one (num_classes > 0) gets inputs["label"], int32 [B].
    `batch_statistics` is true when one row's logits depend on the other rows (batch
    norm); otherwise the trainer judges real and fake clips in one call.
    A class-conditional one with `class_weight` > 0 also returns "class": logits [B,
    num_classes], beside the heads (AC-GAN, Odena et al. 2017: D learns to classify the
    real clips, G to make clips D classifies as asked, each loss times class_weight).
    """

    uses_seed = False
    batch_statistics = False
    class_weight = 0.0

    def __init__(self, num_frames: int, height: int, width: int,
                 head_weights: dict[str, float] | None = None, num_classes: int = 0,
                 **kwargs):
        super().__init__(**kwargs)
        self.video_shape = (num_frames, height, width, 3)
        self.head_weights = dict(head_weights or {"video": 1.0})
        self.num_classes = num_classes

    def call(self, inputs, training=False):
        inputs = _as_dict(inputs, "video")
        if tuple(inputs["video"].shape[1:]) != self.video_shape:
            raise ValueError(
                f"discriminator expects video of shape [B, {', '.join(map(str, self.video_shape))}]"
                f", got {inputs['video'].shape}")
        if self.num_classes and "label" not in inputs:
            raise ValueError(f"discriminator {self.name} is class-conditional: it needs "
                             "inputs['label'] [B] int32")
        heads = self.judge(inputs, training=training)
        if set(heads) != set(self.head_weights) | ({"class"} if self.class_weight else set()):
            raise ValueError(f"discriminator {self.name} returned heads {sorted(heads)}, "
                             f"declared {sorted(self.head_weights)}")
        return heads

    def judge(self, inputs: dict, training: bool = False) -> dict:
        raise NotImplementedError

    def get_config(self):
        return {**super().get_config(), **self._config}
