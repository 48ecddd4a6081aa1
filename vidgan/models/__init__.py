"""Model families: a registry of name -> (config section, generator, discriminator).

A family owns its config section (`model.<name>`, a frozen dataclass next to its classes)
and builds its generator and discriminator from it and the data's clip shape. The trainer,
export, synthesis and evaluation only see the `Generator` / `Discriminator` interfaces
(declared inputs, named logit heads), so a new family plugs in with `register_family`.

Selection: `model.generator.name` picks the generator's family; `model.discriminator.name`
is "auto" (that family's own pairing: motion and vgan pair the residual dual D) or a family
whose discriminator is a kind of its own (dcgan3d, resnet3d), configured in its section.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Any, Callable

from vidgan.models import dcgan3d, motion, resblocks, resnet3d, vgan
from vidgan.models.base import Discriminator, Generator, InputSpec
from vidgan.models.dcgan3d import VideoDiscriminator, VideoGenerator
from vidgan.models.motion import MotionContentGenerator
from vidgan.models.layers import StagePlan, plan_stages
from vidgan.models.resnet3d import ResNet3DDiscriminator, ResNet3DGenerator
from vidgan.models.vgan import TwoStreamGenerator

if TYPE_CHECKING:
    from vidgan.config import Config, DataConfig


def _tiny(net) -> None:
    """A generator's or discriminator's widths for the `:tiny` variants: 8..32."""
    net.channels, net.max_channels = 8, 32


@dataclasses.dataclass(frozen=True)
class Family:
    """name: the key in FAMILIES and of its config section model.<name>.
    config: the section's frozen dataclass, with a `generator` and a `discriminator` part.
    generator / discriminator: (data config, section, Keras name) -> an UNBUILT model; the
    discriminator is the family's own pairing (`model.discriminator.name="auto"`), built
    from the section's `discriminator` part.
    check_generator / check_discriminator: (that part, whole config) -> problems, each
    naming its field relative to the section ("generator.norm: ...").
    tiny: shrinks one part (an ml_collections ConfigDict) for the `:tiny` variants.
    default_loss: the loss `loss.name="auto"` means with this family's discriminator.
    own_discriminator: its discriminator is a kind of its own, selectable for any generator
    by `model.discriminator.name=<name>` (false: it pairs another family's kind with its own
    defaults, as motion and vgan pair the residual dual D).
    conditional: whether its models can be class-conditional (data.labels=true); its
    builders then read the classes from data.class_names.
    context: whether its generators take context frames (data.context_frames > 0)."""

    name: str
    config: type
    generator: Callable[["DataConfig", Any, str], Generator]
    discriminator: Callable[["DataConfig", Any, str], Discriminator]
    check_generator: Callable[[Any, "Config"], list[str]]
    check_discriminator: Callable[[Any, "Config"], list[str]]
    default_loss: str
    description: str
    tiny: Callable[[Any], None] = _tiny
    own_discriminator: bool = True
    conditional: bool = False
    context: bool = False


FAMILIES: dict[str, Family] = {}


def register_family(family: Family) -> None:
    if family.name in FAMILIES:
        raise ValueError(f"model family {family.name!r} is already registered")
    FAMILIES[family.name] = family


def discriminators() -> tuple[str, ...]:
    """The values of model.discriminator.name: "auto" and every family with its own kind."""
    return ("auto", *(n for n, f in FAMILIES.items() if f.own_discriminator))


def discriminator_family(model) -> str:
    """The family whose discriminator the model uses, set in model.<family>.discriminator:
    the generator's own pairing for "auto", else model.discriminator.name (`model`: a
    Config's or a ConfigDict's)."""
    chosen = model.discriminator.name
    return model.generator.name if chosen == "auto" else chosen


def _shape(data: "DataConfig") -> tuple[int, int, int]:
    return data.num_frames, data.height, data.width


def num_classes(data: "DataConfig") -> int:
    """Classes a model is conditioned on: 0 without data.labels. With labels, the classes
    must have been read from the data (vidgan.data.with_class_names does it)."""
    if not data.labels:
        return 0
    if not data.class_names:
        raise ValueError("data.labels=true but data.class_names is empty: fill it from the "
                         "data with vidgan.data.with_class_names(config)")
    return len(data.class_names)


def _choices(value: str, field: str, choices) -> list[str]:
    return [] if value in choices else [f"{field}: {value!r} is not one of {', '.join(choices)}"]


def _widths(net, part: str) -> list[str]:
    """The fields every generator and discriminator has: channels, max_channels."""
    problems = []
    if net.channels < 1:
        problems.append(f"{part}.channels must be >= 1")
    if net.max_channels < net.channels:
        problems.append(f"{part}.max_channels must be >= {part}.channels")
    return problems


def _common_generator(g) -> list[str]:
    """Every generator's widths, z_dim and rgb_mix."""
    problems = _widths(g, "generator")
    if g.z_dim < 1:
        problems.append("generator.z_dim must be >= 1")
    if g.rgb_mix < 0:
        problems.append("generator.rgb_mix must be >= 0 (0: no mixing conv)")
    return problems


def _check_dcgan3d_generator(g: dcgan3d.DCGAN3DGeneratorConfig, config: "Config") -> list[str]:
    problems = _common_generator(g) + _choices(g.norm, "generator.norm", ("batch", "none"))
    if g.rgb_kernel not in (1, 3):
        problems.append("generator.rgb_kernel must be 1 or 3")
    return problems


def _check_dcgan3d_discriminator(d: dcgan3d.DCGAN3DDiscriminatorConfig,
                                 config: "Config") -> list[str]:
    problems = _widths(d, "discriminator")
    problems += _choices(d.norm, "discriminator.norm", ("none", "layer", "batch"))
    if d.norm == "batch" and config.loss.penalty != "none":
        problems.append(f"discriminator.norm=batch cannot be used with loss.penalty="
                        f"{config.loss.penalty}, which needs per-example input gradients: "
                        "use discriminator.norm=none or layer")
    return problems


def _check_dual_discriminator(d: resnet3d.ResNet3DDiscriminatorConfig,
                              config: "Config") -> list[str]:
    problems = _widths(d, "discriminator") + _choices(d.conv, "discriminator.conv",
                                                      resblocks.CONVS)
    data = config.data
    if not 0 <= d.frames <= data.num_frames:
        problems.append(f"discriminator.frames must be in [0, data.num_frames="
                        f"{data.num_frames}], got {d.frames}")
    if d.frames_weight < 0:
        problems.append("discriminator.frames_weight must be >= 0")
    if d.frame_channels < 0 or d.frame_max_channels < 0:
        problems.append("discriminator.frame_channels and frame_max_channels must be >= 0 "
                        "(0: the video head's)")
    if not 0 <= d.class_weight < float("inf"):
        problems.append("discriminator.class_weight must be finite and >= 0")
    elif d.class_weight and not data.labels:
        problems.append("discriminator.class_weight needs a class-conditional model "
                        "(data.labels=true)")
    s = d.video_downsample
    if s not in (1, 2, 4) or data.height % (4 * s) or data.width % (4 * s):
        problems.append(f"discriminator.video_downsample must be 1, 2 or 4 and leave H and W "
                        f"multiples of 4 (data is {data.height}x{data.width}), got {s}")
    return problems


def _check_resnet3d_generator(g: resnet3d.ResNet3DGeneratorConfig,
                              config: "Config") -> list[str]:
    problems = _common_generator(g) + _choices(g.conv, "generator.conv", resblocks.CONVS)
    problems += _choices(g.upsample, "generator.upsample", resblocks.UPSAMPLES)
    problems += _choices(g.time_padding, "generator.time_padding", resblocks.TIME_PADDINGS)
    problems += _choices(g.output, "generator.output", resnet3d.OUTPUTS)
    if g.embed_dim < 1:
        problems.append("generator.embed_dim must be >= 1")
    if g.blend_last and not config.data.context_frames:
        problems.append("generator.blend_last blends the last context frame: it needs "
                        "data.context_frames > 0")
    if not math.isfinite(g.mask_bias):
        problems.append("generator.mask_bias must be finite")
    if g.warp_last and not g.blend_last:
        problems.append("generator.warp_last warps blend_last's last frame: it needs "
                        "generator.blend_last=true")
    return problems


def _check_motion_generator(g: motion.MotionGeneratorConfig, config: "Config") -> list[str]:
    problems = _common_generator(g)
    if g.motion_dim < 1:
        problems.append("generator.motion_dim must be >= 1")
    if g.motion_every < 1:
        problems.append("generator.motion_every must be >= 1")
    stages = plan_stages(1, config.data.height, config.data.width).num_stages
    if not 0 <= g.temporal_stages <= stages:
        problems.append(f"generator.temporal_stages must be in [0, {stages}] (the stages of "
                        f"{config.data.height}x{config.data.width}), got {g.temporal_stages}")
    return problems


register_family(Family(
    name="dcgan3d", config=dcgan3d.DCGAN3DConfig,
    generator=lambda data, s, name: VideoGenerator(
        *_shape(data), **dataclasses.asdict(s.generator), name=name),
    discriminator=lambda data, s, name: VideoDiscriminator(
        *_shape(data), **dataclasses.asdict(s.discriminator), name=name),
    check_generator=_check_dcgan3d_generator,
    check_discriminator=_check_dcgan3d_discriminator, default_loss="non_saturating",
    description="DCGAN-style: transposed convs up, strided convs down (VGAN/TGAN)"))


def _residual_discriminator(data: "DataConfig", s, name: str) -> ResNet3DDiscriminator:
    return ResNet3DDiscriminator(*_shape(data), **dataclasses.asdict(s.discriminator),
                                 num_classes=num_classes(data), name=name)


register_family(Family(
    name="resnet3d", config=resnet3d.ResNet3DConfig,
    generator=lambda data, s, name: ResNet3DGenerator(
        *_shape(data), **dataclasses.asdict(s.generator), num_classes=num_classes(data),
        context_frames=data.context_frames, name=name),
    discriminator=_residual_discriminator,
    check_generator=_check_resnet3d_generator,
    check_discriminator=_check_dual_discriminator, default_loss="hinge",
    description="residual BigGAN/DVD-GAN blocks, resize-then-conv up, spectral-norm D",
    conditional=True, context=True))


def _on_residual_discriminator(name: str, config: type, generator: type, check: Callable,
                               description: str) -> Family:
    """A generator family that takes its section's generator fields and pairs the residual
    family's discriminator (dual by default) with its section's discriminator fields,
    trained with hinge loss."""
    return Family(
        name=name, config=config,
        generator=lambda data, s, n: generator(
            *_shape(data), **dataclasses.asdict(s.generator), name=n),
        discriminator=_residual_discriminator,
        check_generator=check, check_discriminator=_check_dual_discriminator,
        default_loss="hinge", description=description, own_discriminator=False)


register_family(_on_residual_discriminator(
    "motion", motion.MotionConfig, MotionContentGenerator, _check_motion_generator,
    "motion-content (MoCoGAN / StyleGAN-V): content code + interpolated motion codes, "
    "per-frame 2D residual G, dual D"))


def _check_vgan_generator(g: vgan.VGANGeneratorConfig, config: "Config") -> list[str]:
    problems = _common_generator(g)
    if not 0 <= g.mask_weight < float("inf"):
        problems.append("generator.mask_weight must be finite and >= 0")
    return problems


register_family(_on_residual_discriminator(
    "vgan", vgan.VGANConfig, TwoStreamGenerator, _check_vgan_generator,
    "two-stream (VGAN): a 3D foreground with a mask over a static 2D background, residual "
    "blocks, dual D"))


def build_generator(config: "Config", name: str = "generator") -> Generator:
    """An UNBUILT generator for `config`; `build_models` or a first call creates weights."""
    family = config.model.generator.name
    return FAMILIES[family].generator(config.data, getattr(config.model, family), name)


def build_discriminator(config: "Config", name: str = "discriminator") -> Discriminator:
    """An UNBUILT discriminator for `config`: model.discriminator.name's kind (the
    generator family's own pairing for "auto"), set by model.<that family>.discriminator."""
    family = discriminator_family(config.model)
    return FAMILIES[family].discriminator(config.data, getattr(config.model, family), name)


def dummy_inputs(generator: Generator, batch: int = 1) -> dict:
    """Zeros for every declared input, [batch, *shape]: calling on them builds the model."""
    import tensorflow as tf  # noqa: PLC0415

    return {name: tf.zeros([batch, *spec.shape], spec.dtype)
            for name, spec in generator.input_specs().items()}


def build(generator: Generator, discriminator: Discriminator | None = None) -> None:
    """Creates the weights of an unbuilt generator (and discriminator) by one call each on
    zeros (subclassed Keras models create weights on their first call)."""
    import tensorflow as tf  # noqa: PLC0415

    inputs = dummy_inputs(generator)
    generator(inputs)
    if discriminator is not None:
        conditions = {k: v for k, v in inputs.items()
                      if generator.input_specs()[k].source == "data"}
        discriminator({"video": tf.zeros([1, *generator.video_shape]), **conditions})


PRECISIONS = ("float32", "float16", "bfloat16")


def in_precision(generator: Generator, config: "Config", precision: str):
    """`generator` with its weights stored in `precision`: (model, compute dtype). It
    computes in 16 bits where this machine does so natively (bfloat16 on CPUs with
    AVX512_BF16 or AMX, float16 on a GPU), else in float32 with the weights cast up as
    they are read. Its output stays float32 [N, T, H, W, 3]."""
    import tensorflow as tf  # noqa: PLC0415

    from vidgan import runtime  # noqa: PLC0415

    if precision == "float32":
        return generator, "float32"
    native = (runtime.fast_bfloat16() if precision == "bfloat16"
              else bool(tf.config.list_physical_devices("GPU")))
    with runtime.dtype_policy(precision if native else runtime.stored_policy(precision)):
        low = build_generator(config, name="generator")
        build(low)
    for target, source in zip(low.weights, generator.weights):
        target.assign(tf.cast(source, target.dtype))
    return low, precision if native else "float32"


__all__ = [
    "Discriminator", "FAMILIES", "Family", "Generator", "InputSpec", "MotionContentGenerator",
    "ResNet3DDiscriminator",
    "ResNet3DGenerator", "StagePlan", "TwoStreamGenerator", "VideoDiscriminator",
    "VideoGenerator", "build",
    "PRECISIONS", "build_discriminator", "build_generator", "dummy_inputs", "in_precision",
    "plan_stages",
    "num_classes", "register_family", "section",
]
