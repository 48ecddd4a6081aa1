"""Residual video GAN family ("resnet3d"), in the BigGAN / DVD-GAN lineage.

References: Brock et al. 2019, "Large Scale GAN Training for High Fidelity Natural Image
Synthesis" (BigGAN: residual G and D blocks, batch norm in G, spectral norm in D, hinge
loss); Clark et al. 2019, "Adversarial Video Generation on Complex Datasets" (DVD-GAN:
the same blocks in 3D for video); Odena et al. 2016, "Deconvolution and Checkerboard
Artifacts" (resize, then convolve, instead of a transposed convolution).

Generator: z [B, z_dim] -> Dense -> [B, T0, H0, W0, C0] -> one GBlock per stage
(BN, ReLU, nearest/trilinear 2x upsampling, conv, BN, ReLU, conv; a 1x1x1 shortcut) ->
BN, ReLU -> RGB head -> tanh: video [B, T, H, W, 3] in [-1, 1]. With skip_rgb, each
stage but the last also draws RGB (ReLU, 1x1x1 conv), and the upsampled sum of those is
added before tanh (StyleGAN2's skip generator, Karras et al. 2020, "Analyzing and
Improving the Image Quality of StyleGAN").

Discriminator: video [B, T, H, W, 3] -> one DBlock per stage (ReLU, conv, ReLU, conv,
2x average pooling; a 1x1x1 shortcut), every conv spectrally normalized (unless
discriminator.spectral_norm is false) -> ReLU -> sum over T, H, W -> SNDense -> logits
{"video": [B]}.

Class-conditional (num_classes > 0, from data.labels): every batch norm of G is a
ClassBatchNorm driven by [shared class embedding, z] (BigGAN), which also feeds G's first
projection (BigGAN-deep); D adds the projection
<embed(y), features> to each head's logit (Miyato & Koyama 2018, "cGANs with Projection
Discriminator"), with a spectrally normalized embedding.

Context-conditional (context_frames = k > 0, from data.context_frames: image -> video
with k = 1, continuing a video with k > 1): a 2D encoder of the k context frames (stacked
as channels, so it sees their motion) gives features at every resolution of G, added to
G's activations at that resolution on every frame (DVD-GAN-FP's conditioning, Clark et
al. 2019, as a feature pyramid); the output's first k frames are the context itself.
With blend_last, each generated pixel blends the last context frame and a drawn pixel
by a learned mask (a sigmoid head beside the RGB head); with warp_last too, the last
frame is first warped by a per-frame flow field (a third head, zero at the start).

Convolutions are 3x3x3, or factorized "(2+1)D" (Tran et al. 2018: a 1x3x3 spatial conv,
then a 3x1x1 temporal one; about 2.2x fewer FLOPs at the same width).
"""

from __future__ import annotations

import dataclasses

import keras
import tensorflow as tf
from keras import ops

from vidgan.models import layers, resblocks
from vidgan.models.base import Discriminator, Generator


OUTPUTS = ("tanh", "clip")


def squash(x: tf.Tensor, output: str) -> tf.Tensor:
    """The RGB head's output in [-1, 1]: tanh, or a clip whose gradient is the identity's
    (straight-through), so a pixel held at the bound still learns."""
    if output == "tanh":
        return ops.tanh(x)
    return x + tf.stop_gradient(ops.clip(x, -1.0, 1.0) - x)


@dataclasses.dataclass(frozen=True)
class ResNet3DGeneratorConfig:
    z_dim: int = 128
    channels: int = 32  # channels of the last (finest) stage; doubles per coarser stage
    max_channels: int = 256
    conv: str = "3d"  # "3d" (3x3x3) | "2plus1d" (1x3x3 then 3x1x1)
    upsample: str = "nearest"  # "nearest" | "trilinear" (2x per stage, then a conv)
    # true: T doubles in the coarsest stages (as dcgan3d); false: every stage works at the
    # clip's full T and only H, W double (DVD-GAN's generator)
    upsample_time: bool = True
    rgb_mix: int = 16  # channels of a 1x1x1 conv before the 3x3x3 conv to RGB (0: none)
    embed_dim: int = 128  # class embedding width (class-conditional models only)
    # What G's convs see beyond the first and last frame: "zeros" ("same" padding),
    # "replicate" (the edge frame repeated, so edge frames are made like inner ones) or
    # "causal" (two zero frames before the first, none after)
    time_padding: str = "zeros"
    # Self-modulation (Chen et al. 2019): every batch norm's gain and offset are linear in
    # z (as a class-conditional model's are in [embedding, z]); starts as plain batch norm
    modulate: bool = False
    # The RGB head's squashing: "tanh", or "clip": a linear head clipped to [-1, 1] with a
    # straight-through gradient (exact black and full color without tanh's saturation;
    # G keeps a gradient where the clip holds)
    output: str = "tanh"
    # Skip-RGB outputs (StyleGAN2's "skip" generator, Karras et al. 2020; MSG-GAN): every
    # stage but the last also draws RGB with a 1x1x1 conv, and the image is the sum of all
    # stages' RGB, each upsampled trilinearly, so coarse stages lay out flat colors early
    skip_rgb: bool = False
    # Context models: each generated pixel is a learned blend m * (last context frame) +
    # (1 - m) * (drawn pixel), m from a sigmoid head started near 0.88, so an untrained
    # model already about copies the last frame and training learns what changes (the
    # compositing masks of Finn et al. 2016, "Unsupervised Learning for Physical Interaction
    # through Video Prediction"; VGAN's mask with the last frame as background)
    blend_last: bool = False
    # blend_last's mask logit at the start (2: m = sigmoid(2) ~ 0.88 of the last frame)
    mask_bias: float = 2.0
    # blend_last with the last frame moved first: a flow head beside the mask says, per
    # generated pixel, where in the last context frame to fetch it (bilinear; zero at the
    # start), so moving content keeps its detail and only what appears is drawn (the
    # flow-based predictors of Finn et al. 2016 and SAVP, Lee et al. 2018)
    warp_last: bool = False


@dataclasses.dataclass(frozen=True)
class ResNet3DDiscriminatorConfig:
    channels: int = 32  # channels of the first (finest) stage; doubles per stage
    max_channels: int = 256
    conv: str = "3d"  # "3d" | "2plus1d"
    # DVD-GAN's dual discriminator: > 0 adds a "frames" head judging this many randomly
    # chosen frames of each clip at full resolution with 2D (1x3x3) blocks
    frames: int = 0
    frames_weight: float = 1.0  # weight of the frames head's loss
    # The frames head's widths (0: the video head's channels / max_channels). Its 2D
    # convs on k frames cost a fraction of the 3D head's, so it widens cheaply.
    frame_channels: int = 0
    frame_max_channels: int = 0
    video_downsample: int = 1  # the "video" head sees clips average-pooled by this in H, W
    # false: plain convs and dense layers (StyleGAN2 / R3GAN: D kept smooth by a gradient
    # penalty alone, e.g. loss.penalty="r1"); fewer ops per D call
    spectral_norm: bool = True
    # Class-conditional models: > 0 adds an AC-GAN classifier on the video head's features
    # (D classifies real clips, G is pushed to clips classified as asked), loss weight
    class_weight: float = 0.0


@dataclasses.dataclass(frozen=True)
class ResNet3DConfig:
    """model.resnet3d: the residual family's section."""

    generator: ResNet3DGeneratorConfig = ResNet3DGeneratorConfig()
    discriminator: ResNet3DDiscriminatorConfig = ResNet3DDiscriminatorConfig()


class ResNet3DGenerator(Generator):
    """Residual 3D generator (BigGAN / DVD-GAN blocks, resize-then-convolve upsampling).

    {"latent": z [B, z_dim], "label": [B] int32 (num_classes > 0), "context": [B, k, H, W,
    3] (context_frames = k > 0)} -> video [B, T, H, W, 3] float32 in [-1, 1], whatever
    the compute dtype.
    Stages as `layers.plan_stages`: T is doubled in the coarsest stages (upsample_time), or
    every stage works at the full T.
    """

    def __init__(self, num_frames: int, height: int, width: int, z_dim: int = 128,
                 channels: int = 32, max_channels: int = 256, conv: str = "3d",
                 upsample: str = "nearest", upsample_time: bool = True, rgb_mix: int = 16,
                 embed_dim: int = 128, time_padding: str = "zeros", modulate: bool = False,
                 output: str = "tanh", skip_rgb: bool = False, blend_last: bool = False,
                 mask_bias: float = 2.0, warp_last: bool = False, num_classes: int = 0,
                 context_frames: int = 0, **kwargs):
        super().__init__(num_frames, height, width, z_dim, num_classes=num_classes,
                         context_frames=context_frames, **kwargs)
        if upsample not in resblocks.UPSAMPLES:
            raise ValueError(f"unknown upsample {upsample!r}; expected one of "
                             f"{', '.join(resblocks.UPSAMPLES)}")
        self._config = dict(num_frames=num_frames, height=height, width=width, z_dim=z_dim,
                            channels=channels, max_channels=max_channels, conv=conv,
                            upsample=upsample, upsample_time=upsample_time,
                            rgb_mix=rgb_mix, embed_dim=embed_dim, time_padding=time_padding,
                            modulate=modulate, output=output, skip_rgb=skip_rgb,
                            blend_last=blend_last, mask_bias=mask_bias,
                            warp_last=warp_last, num_classes=num_classes,
                            context_frames=context_frames)
        if output not in OUTPUTS:
            raise ValueError(f"unknown output {output!r}; expected one of {', '.join(OUTPUTS)}")
        self.squashing = output
        self.modulate = modulate
        conditional = num_classes > 0 or modulate  # batch norms driven by a condition
        # N(0, 1) like z beside it (BigGAN's shared embedding): Keras' default U(+-0.05)
        # would leave the class ~30x quieter than z in the first projection and the norms.
        self.embed = (keras.layers.Embedding(
            num_classes, embed_dim, name="embed",
            embeddings_initializer=keras.initializers.RandomNormal(stddev=1.0))
            if num_classes else None)
        plan = layers.plan_stages(num_frames, height, width)
        if not upsample_time:  # all stages at full T
            plan = layers.StagePlan((num_frames, *plan.start[1:]), (1,) * plan.num_stages)
        widths = layers.stage_channels(channels, max_channels, plan.num_stages)[::-1]
        t0, h0, w0 = plan.start
        self.start_shape = (t0, h0, w0, widths[0])
        self.project = keras.layers.Dense(t0 * h0 * w0 * widths[0], name="project")
        self.num_stages = plan.num_stages
        self.encoder = resblocks.ContextEncoder(widths, name="encoder") if context_frames else None
        # One attribute per block: tf.train.Checkpoint tracks attributes, not lists.
        for i, (t_stride, out) in enumerate(zip(plan.time_strides, widths[1:])):
            setattr(self, f"block{i}", resblocks.GBlock(out, t_stride, conv, upsample, conditional,
                                              time_padding, name=f"block{i}"))
        self.out_norm = (layers.ClassBatchNorm(widths[-1], name="out_norm") if conditional
                         else layers.normalization("batch", "out_norm"))
        self.rgb_mix = (keras.layers.Conv3D(rgb_mix, 1, use_bias=False, name="rgb_mix")
                        if rgb_mix else None)
        self.time_padding = time_padding
        head_padding = "same" if time_padding == "zeros" else "valid"  # else padded by hand
        self.to_rgb = keras.layers.Conv3D(3, 3, padding=head_padding, name="to_rgb")
        self.skip_rgb = skip_rgb
        if blend_last and not context_frames:
            raise ValueError("blend_last needs context frames (data.context_frames > 0)")
        if warp_last and not blend_last:
            raise ValueError("warp_last warps blend_last's last frame: it needs blend_last")
        # The blend's mask logit, biased so m = sigmoid(mask_bias) at the start.
        self.to_mask = (keras.layers.Conv3D(
            1, 3, padding=head_padding,
            bias_initializer=keras.initializers.Constant(mask_bias),
            name="to_mask") if blend_last else None)
        # (dy, dx) in pixels per generated pixel; zeros: an untrained model fetches in
        # place. float32 under mixed precision: bfloat16 would round 8 px to 1/16 px.
        self.to_flow = (keras.layers.Conv3D(2, 3, padding=head_padding, dtype="float32",
                                            kernel_initializer="zeros", name="to_flow")
                        if warp_last else None)
        if skip_rgb:  # one RGB draw per stage but the last (whose head is to_rgb)
            for i in range(self.num_stages - 1):
                setattr(self, f"rgb{i}", keras.layers.Conv3D(3, 1, name=f"rgb{i}"))

    @property
    def blocks(self) -> list[resblocks.GBlock]:
        return [getattr(self, f"block{i}") for i in range(self.num_stages)]

    def generate(self, inputs, training=False):
        z = inputs["latent"]  # [B, z_dim]
        # Class-conditional: [class embedding, z] drives the first projection as well as
        # every batch norm (BigGAN-deep), so the class shapes the layout from the start.
        condition = (ops.concatenate([ops.cast(self.embed(inputs["label"]), z.dtype), z],
                                     axis=-1) if self.embed is not None else None)  # [B, E+z]
        x = self.project(z if condition is None else condition)  # [B, T0*H0*W0*C0]
        if condition is None and self.modulate:  # self-modulation: the norms see z
            condition = z
        x = ops.reshape(x, (-1,) + self.start_shape)  # [B, T0, H0, W0, C0]
        # Context features, one [B, 1, h, w, C] per resolution (broadcast over time).
        levels = ([ops.expand_dims(f, 1) for f in self.encoder(inputs["context"])]
                  if self.encoder is not None else None)
        extra = () if condition is None else (condition,)
        if levels:
            x = x + levels[0]
        rgb = None  # skip_rgb: the coarser stages' RGB so far, float32 [B, T*, H*, W*, 3]
        for i, block in enumerate(self.blocks):
            x = block(x, *extra, training=training)  # [B, T*, 2H, 2W, C/2]
            if levels:
                x = x + levels[i + 1]
            if rgb is not None:
                rgb = resblocks.upsample(rgb, block.t_factor, "trilinear")
            if self.skip_rgb and i < self.num_stages - 1:
                drawn = ops.cast(getattr(self, f"rgb{i}")(ops.relu(x)), "float32")
                rgb = drawn if rgb is None else rgb + drawn
        x = ops.relu(self.out_norm(x, *extra, training=training))  # [B, T, H, W, C]
        if self.rgb_mix is not None:
            x = self.rgb_mix(x)  # [B, T, H, W, rgb_mix]
        if self.time_padding != "zeros":
            x = resblocks.pad_time(x, self.time_padding, spatial=True)  # [B, T+2, H+2, W+2, C]
        drawn = ops.cast(self.to_rgb(x), "float32")  # [B, T, H, W, 3]
        drawn = squash(drawn if rgb is None else drawn + rgb, self.squashing)
        if self.to_mask is None:
            return drawn
        mask = ops.sigmoid(ops.cast(self.to_mask(x), "float32"))  # [B, T, H, W, 1]
        last = inputs["context"][:, -1]  # [B, H, W, 3]
        if self.to_flow is None:
            base = ops.cast(last, "float32")[:, None]  # [B, 1, H, W, 3]
        else:
            flow = self.to_flow(x)  # float32 (the head's own policy) [B, T, H, W, 2]
            base = layers.warp(last, flow)  # [B, T, H, W, 3]
        return mask * base + (1.0 - mask) * drawn


def _d_blocks(owner: keras.layers.Layer, prefix: str, shape: tuple[int, int, int],
              channels: int, max_channels: int, conv: str,
              spectral_norm: bool) -> tuple[int, int]:
    """One resblocks.DBlock per stage of plan_stages(shape), set as attributes `prefix`0, 1, ...
    (tf.train.Checkpoint tracks attributes, not lists); returns (how many, the width of
    the last block's output)."""
    plan = layers.plan_stages(*shape)
    widths = layers.stage_channels(channels, max_channels, plan.num_stages)
    # The generator doubles T in its coarsest stages, so D halves T in its last ones.
    for i, (t_stride, out) in enumerate(zip(plan.time_strides[::-1], widths[:-1])):
        setattr(owner, f"{prefix}{i}", resblocks.DBlock(out, t_stride, conv, first=i == 0,
                                                        spectral_norm=spectral_norm,
                                                        name=f"{prefix}{i}"))
    return plan.num_stages, widths[plan.num_stages - 1]


class ResNet3DDiscriminator(Discriminator):
    """Residual 3D discriminator (BigGAN / DVD-GAN blocks), spectral norm everywhere
    (or nowhere: spectral_norm=False).

    {"video": [B, T, H, W, 3] in [-1, 1]} -> {"video": logits [B] float32}, and with
    `frames` > 0 also {"frames": [B]}: DVD-GAN's dual discriminator, a 2D head on `frames`
    frames of each clip (chosen at random per call from inputs["seed"], the same frames
    for the whole batch) at full resolution, beside the 3D head on the clip average-pooled
    by `video_downsample` (DVD-GAN: 2), which judges motion at a quarter of the cost.
    """

    def __init__(self, num_frames: int, height: int, width: int, channels: int = 32,
                 max_channels: int = 256, conv: str = "3d", frames: int = 0,
                 frames_weight: float = 1.0, frame_channels: int = 0,
                 frame_max_channels: int = 0, video_downsample: int = 1,
                 spectral_norm: bool = True, class_weight: float = 0.0,
                 num_classes: int = 0, **kwargs):
        weights = {"video": 1.0, **({"frames": frames_weight} if frames else {})}
        super().__init__(num_frames, height, width, head_weights=weights,
                         num_classes=num_classes, **kwargs)
        if not 0 <= frames <= num_frames:
            raise ValueError(f"frames must be in [0, num_frames={num_frames}], got {frames}")
        if video_downsample not in (1, 2, 4) or height % video_downsample or (
                width % video_downsample):
            raise ValueError(f"video_downsample must be 1, 2 or 4 and divide H and W, got "
                             f"{video_downsample}")
        self._config = dict(num_frames=num_frames, height=height, width=width,
                            channels=channels, max_channels=max_channels, conv=conv,
                            frames=frames, frames_weight=frames_weight,
                            frame_channels=frame_channels,
                            frame_max_channels=frame_max_channels,
                            video_downsample=video_downsample, spectral_norm=spectral_norm,
                            class_weight=class_weight, num_classes=num_classes)
        if class_weight and not num_classes:
            raise ValueError("class_weight > 0 needs a class-conditional model (num_classes)")
        self.class_weight = float(class_weight)
        self.frames = frames
        self.uses_seed = frames > 0
        s = video_downsample
        self.downsample = (keras.layers.AveragePooling3D((1, s, s), name="downsample")
                           if s > 1 else None)
        self.num_stages, features = _d_blocks(
            self, "block", (num_frames, height // s, width // s), channels, max_channels, conv,
            spectral_norm)
        dense = layers.SNDense if spectral_norm else keras.layers.Dense
        self.logit = dense(1, name="logit")
        # Projection: a (spectrally normalized) embedding, as one-hot(y) @ W [K, C].
        self.embed = dense(features, use_bias=False, name="embed") if num_classes else None
        self.classify = (dense(num_classes, use_bias=False, name="classify") if class_weight
                         else None)
        self.num_frame_stages = 0
        if frames:
            self.num_frame_stages, frame_features = _d_blocks(
                self, "frame_block", (1, height, width), frame_channels or channels,
                frame_max_channels or max_channels, "2d", spectral_norm)
            self.frame_logit = dense(1, name="frame_logit")
            self.frame_embed = (dense(frame_features, use_bias=False, name="frame_embed")
                                if num_classes else None)

    @property
    def blocks(self) -> list[resblocks.DBlock]:
        return [getattr(self, f"block{i}") for i in range(self.num_stages)]

    @property
    def frame_blocks(self) -> list[resblocks.DBlock]:
        return [getattr(self, f"frame_block{i}") for i in range(self.num_frame_stages)]

    def _score(self, blocks, logit, embed, x, label, training):
        """x [B, T, H, W, 3], label [B] int32 or None -> (logits [B] float32, the MEAN-
        pooled features [B, C], computed only for a class head: its logits then do not
        grow with the clip)."""
        for block in blocks:
            x = block(x, training=training)  # [B, T*, H/2, W/2, 2C]
        positions = x.shape[1] * x.shape[2] * x.shape[3]
        x = ops.sum(ops.relu(x), axis=(1, 2, 3))  # [B, C]
        out = ops.reshape(logit(x, training=training), (-1,))  # [B]
        if embed is not None:  # + <embed(y), features>
            one_hot = ops.cast(ops.one_hot(label, self.num_classes), x.dtype)  # [B, K]
            out = out + ops.sum(embed(one_hot, training=training) * x, axis=-1)
        return ops.cast(out, "float32"), (x / positions if self.classify is not None else None)

    def judge(self, inputs, training=False):
        video = inputs["video"]  # [B, T, H, W, 3]
        label = inputs.get("label")  # [B] int32 when class-conditional
        x = video if self.downsample is None else self.downsample(video)  # [B, T, H/s, W/s, 3]
        logits, features = self._score(self.blocks, self.logit, self.embed, x, label, training)
        heads = {"video": logits}
        if self.classify is not None:  # [B, num_classes]
            heads["class"] = ops.cast(self.classify(features, training=training), "float32")
        if self.frames:
            t, h, w = self.video_shape[:3]
            seed = inputs.get("seed")
            if seed is None:  # no randomness given (inference): evenly spaced frames
                picked = tf.range(self.frames) * t // self.frames
            else:
                picked = tf.sort(tf.random.experimental.stateless_shuffle(
                    tf.range(t), tf.cast(seed, tf.int64))[:self.frames])
            frames = tf.gather(video, picked, axis=1)  # [B, k, H, W, 3]
            frames = ops.reshape(frames, (-1, 1, h, w, 3))  # [B*k, 1, H, W, 3]
            frame_labels = None if label is None else ops.repeat(label, self.frames, axis=0)
            scores, _ = self._score(self.frame_blocks, self.frame_logit, self.frame_embed,
                                    frames, frame_labels, training)
            heads["frames"] = ops.mean(ops.reshape(scores, (-1, self.frames)), axis=1)  # [B]
        return heads
