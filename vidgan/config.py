"""The typed, validated config tree: the one place that knows every field.

Experiments (experiments/*.py) return an `ml_collections.ConfigDict` built from
`default_config()`; the CLI applies `--config.a.b=v` overrides on it; then
`from_dict()` turns the result into a frozen `Config`, rejecting unknown keys and
wrong types, and `validate()` checks the rules that span fields.
"""

from __future__ import annotations

import dataclasses
import json
import math
import typing
from typing import Any

import ml_collections


class ConfigError(ValueError):
    """A config that cannot be trained; the message names the field."""


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """What the trainer sees: clips of `num_frames` x `height` x `width` x 3."""

    # "bouncing_shapes" | "moving_digits" (built in), "video_files" | "frame_folders"
    # (decoded with OpenCV), "tfrecord" (shards written by `vidgan prepare`).
    source: str = "bouncing_shapes"
    num_frames: int = 16
    height: int = 64
    width: int = 64
    fps: int = 8  # playback rate of samples (GIFs) and exported videos
    num_objects: int = 2  # shapes or digits per clip
    object_size: float = 0.25  # object extent as a fraction of min(height, width)
    max_speed: float = 0.08  # pixels per frame as a fraction of the frame size
    seed: int = 0  # clip i (synthetic) / element i (real) is a pure function of (seed, i)
    # --- real videos (video_files, frame_folders, tfrecord) ---
    path: str = ""  # a folder (searched recursively) or a glob; for tfrecord, of shards
    # Class-conditional models: each clip's class (real videos: the parent folder's name,
    # UCF-101 style; moving_digits: the digit; bouncing_shapes: the shape kind).
    labels: bool = False
    # The classes, in label order. Filled from the data when training starts (and stored in
    # the run's config.json, so export and evaluation need no data); if set, must match.
    class_names: tuple[str, ...] = ()
    # k > 0: the generator is given each clip's first k frames ("context", taken from the
    # real clip) and generates the rest; its output starts with those k frames exactly.
    # 1: a still image brought to life (experiments/animate.py); > 1: continuing a video
    # (experiments/extend.py, autoregressively to any length).
    context_frames: int = 0
    frame_stride: int = 1  # take every k-th frame
    target_fps: float = 0.0  # > 0: per-video stride = round(video fps / target_fps) instead
    clip_offsets: str = "random"  # "random" | "uniform" (evenly spaced) | "all" (every clip)
    clips_per_video: int = 1  # clips per visit of a video (random and uniform offsets)
    resize: str = "center_crop"  # shorter side to size then "center_crop" | "random_crop";
    #                               or "stretch" (plain resize to height x width)
    flip: bool = False  # random horizontal flips
    split: str = "train"  # "train" | "test" | "all"; split BY VIDEO, fixed by seed and path
    test_fraction: float = 0.1
    max_resolution: int = 4096  # videos with a longer side above this are skipped
    decode_parallelism: int = 0  # videos decoded at once, one FFmpeg thread each;
    #                               0 = 3 per CPU core (at most 16)


def _model_config() -> type:
    """model: `family` (a name in vidgan.models.FAMILIES) and one section per registered
    family, `model.<name>`, each that family's own frozen dataclass. Only the selected
    family's section may differ from its defaults (validate says which field does)."""
    from vidgan import models  # noqa: PLC0415  (the families' sections live with them)

    fields = [("family", str, dataclasses.field(default="dcgan3d"))]
    fields += [(name, family.config, dataclasses.field(default=family.config()))
               for name, family in models.FAMILIES.items()]
    cls = dataclasses.make_dataclass("ModelConfig", fields, frozen=True)
    cls.__module__ = __name__
    return cls


ModelConfig = _model_config()


@dataclasses.dataclass(frozen=True)
class LossConfig:
    # a name in vidgan.losses.LOSSES, or "auto": the model family's default (hinge for
    # resnet3d, non_saturating for dcgan3d; vidgan.losses.loss_name)
    name: str = "auto"
    penalty: str = "none"  # a name in vidgan.losses.PENALTIES: "none" | "wgan_gp" | "r1"
    penalty_weight: float = 10.0  # lambda of WGAN-GP, or gamma of R1 (loss = gamma/2 ||grad||^2)


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    steps: int = 10_000  # generator updates
    batch_size: int = 16  # GLOBAL batch, split across replicas
    n_critic: int = 1  # discriminator updates per generator update
    g_lr: float = 2e-4
    d_lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    ema_decay: float = 0.999  # EMA of generator weights, warmed up over the first steps
    seed: int = 0  # latents and penalty noise are a pure function of (seed, step)
    # DiffAugment of every video D sees (real and fake, D and G updates): a comma-separated
    # list of vidgan.augment.AUGMENTATIONS, e.g. "color,translation,cutout"; "" = off
    augment: str = ""
    strategy: str = "auto"  # "auto" | "one_device" | "mirrored"
    cpu_devices: int = 1  # logical CPU devices to mirror over when there is no GPU
    # "float32" | "mixed_bfloat16" (CPU with AVX512_BF16, TPU, Ampere+) | "mixed_float16"
    # (GPU; with dynamic loss scaling) | "auto" (mixed_bfloat16 where it runs natively,
    # else float32; vidgan.runtime.fast_bfloat16). Mixed: layers compute in 16 bits;
    # variables, losses, D logits, the generator's output and the EMA stay float32.
    precision: str = "float32"
    # > 0: stop after this many minutes of wall time (start-up included), checkpointing
    # and sampling at the last step; train.steps still bounds the run
    time_budget_minutes: float = 0.0
    log_every: int = 10
    sample_every: int = 200
    checkpoint_every: int = 200
    keep_checkpoints: int = 3
    num_samples: int = 8  # fixed latents sampled from the EMA generator
    fvd_every: int = 0  # > 0: FVD/KVD of the EMA generator every N steps (needs fetch-i3d)
    fvd_clips: int = 256  # real and generated clips per FVD (tags metrics/fvd<clips>)


@dataclasses.dataclass(frozen=True)
class SRConfig:
    """The learned super-resolution network and how `vidgan train-sr` degrades its inputs.

    Training pairs: a real clip at data.height x data.width is the target; its input is
    the clip blurred (Gaussian, sigma drawn from [0, blur] HR pixels), downscaled by
    `scale` (area), given noise (std drawn from [0, noise], [0, 1] units) and quantized
    to 8 bits.
    """

    scale: int = 2  # 2 | 4
    channels: int = 64  # width of the first layer; the next two have half
    frames: int = 1  # luma frames in: 1 (the frame) or 3 (with its two neighbours; measured
    #                   no better on held-out clips, BUILD.md)
    blur: float = 0.0
    noise: float = 0.0
    lr: float = 1e-3  # Adam, decayed by a cosine to 0 over train.steps


@dataclasses.dataclass(frozen=True)
class Config:
    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    loss: LossConfig = LossConfig()
    train: TrainConfig = TrainConfig()
    sr: SRConfig = SRConfig()


# Fields that may change when a run is resumed in the same workdir.
RESUMABLE_CHANGES = frozenset(
    {
        "train.steps",
        "train.time_budget_minutes",
        "train.log_every",
        "train.sample_every",
        "train.checkpoint_every",
        "train.keep_checkpoints",
        "train.strategy",
        "train.cpu_devices",
        "train.num_samples",
        "train.fvd_every",
        "train.fvd_clips",
        "data.fps",
    }
)


def default_config() -> ml_collections.ConfigDict:
    """The defaults as a ConfigDict, for experiments to edit and flags to override."""
    return ml_collections.ConfigDict(to_dict(Config()))


def load_experiment(path: str, arg: str | None = None) -> ml_collections.ConfigDict:
    """`get_config(arg)` of the experiment file at `path` (as --config=path:arg loads it),
    so one experiment can start from another's settings."""
    import importlib.util  # noqa: PLC0415
    import os  # noqa: PLC0415

    name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(f"vidgan_experiment_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.get_config(arg) if arg else module.get_config()


def make_tiny(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """Shrinks an experiment so it runs in seconds on a CPU (the `:tiny` variants CI runs):
    8x16x16 clips, the selected family's widths as its `tiny` says (8..32 for the built-in
    families), batch 4, 4 steps, everything logged every 2 steps."""
    from vidgan import models  # noqa: PLC0415

    config.data.num_frames, config.data.height, config.data.width = 8, 16, 16
    models.FAMILIES[config.model.family].tiny(config.model[config.model.family])
    config.train.batch_size = 4
    config.train.steps = 4
    config.train.log_every = config.train.sample_every = config.train.checkpoint_every = 2
    config.train.num_samples = 4
    return config


def to_dict(config: Config) -> dict[str, Any]:
    return dataclasses.asdict(config)


def to_json(config: Config) -> str:
    return json.dumps(to_dict(config), indent=2, sort_keys=True)


def from_dict(values: typing.Mapping[str, Any] | ml_collections.ConfigDict) -> Config:
    """Builds a validated `Config`; raises ConfigError naming any bad field."""
    if not isinstance(values, typing.Mapping):
        values = values.to_dict()  # a ConfigDict (its loading errors surface here)
    config = _build(Config, _migrate(values), prefix="")
    validate(config)
    return config


def override(config: Config, updates: typing.Mapping[str, Any]) -> Config:
    """A validated copy of `config` with dotted fields replaced:
    override(c, {"model.family": "resnet3d", "train.steps": 10})."""
    values = to_dict(config)
    for path, value in updates.items():
        *parents, leaf = path.split(".")
        section = values
        for key in parents:
            if not isinstance(section.get(key), dict):
                raise ConfigError(f"unknown config section {path.rsplit('.', 1)[0]!r}")
            section = section[key]
        if leaf not in section:
            raise ConfigError(f"unknown config field {path!r}")
        section[leaf] = value
    return from_dict(values)


def _migrate(values: typing.Mapping[str, Any]) -> typing.Mapping[str, Any]:
    """Reads configs written before model families (vidgan <= 0.6: model.generator.name,
    model.discriminator.name, the DCGAN fields beside them) as model.family + its section."""
    model = values.get("model")
    if not isinstance(model, typing.Mapping) or "family" in model or "generator" not in model:
        return values
    g, d = dict(model.get("generator", {})), dict(model.get("discriminator", {}))
    family = g.pop("name", "dcgan3d")
    d.pop("name", None)
    loss = dict(values.get("loss", {}))
    loss.setdefault("name", "non_saturating")  # the default of those versions
    return {**values, "loss": loss,
            "model": {"family": family, family: {"generator": g, "discriminator": d}}}


def _build(cls: type, values: typing.Mapping[str, Any], prefix: str):
    if not isinstance(values, typing.Mapping):
        raise ConfigError(f"{prefix.rstrip('.') or 'config'}: expected a section, got {values!r}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ConfigError(
            f"unknown config field(s) {', '.join(prefix + u for u in unknown)}; "
            f"{prefix.rstrip('.') or 'config'} has: {', '.join(sorted(names))}"
        )
    kwargs = {}
    for name in names:
        if name not in values:
            continue
        kind, value, path = hints[name], values[name], prefix + name
        if dataclasses.is_dataclass(kind):
            kwargs[name] = _build(kind, value, path + ".")
        else:
            kwargs[name] = _coerce(kind, value, path)
    return cls(**kwargs)


def _coerce(kind: type, value: Any, path: str):
    # bool is an int subclass: check it first, and never accept it as a number.
    if kind is bool:
        if isinstance(value, bool):
            return value
    elif kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif kind is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif kind is str:
        if isinstance(value, str):
            return value
    elif kind == tuple[str, ...]:
        if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            return tuple(value)
        kind = type("a list of strings", (), {})
    raise ConfigError(f"{path}: expected {kind.__name__}, got {value!r}")


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


def _choice(value: str, path: str, choices: typing.Iterable[str]) -> None:
    choices = sorted(choices)
    _require(value in choices, f"{path}: {value!r} is not one of {', '.join(choices)}")


def validate(config: Config) -> None:
    """Cross-field rules. Registries are imported lazily: config has no TF import."""
    from vidgan import augment  # noqa: PLC0415
    from vidgan import losses  # noqa: PLC0415
    from vidgan.data import registry  # noqa: PLC0415

    d, l, t = config.data, config.loss, config.train
    _choice(d.source, "data.source", registry.SOURCES)
    if registry.SOURCES[d.source].reads_files:
        _require(bool(d.path), f"data.path is required for data.source={d.source}")
    _require(d.frame_stride >= 1, "data.frame_stride must be >= 1")
    _require(0 <= d.target_fps < math.inf, "data.target_fps must be >= 0 (0: use frame_stride)")
    _choice(d.clip_offsets, "data.clip_offsets", ("random", "uniform", "all"))
    _require(d.clips_per_video >= 1, "data.clips_per_video must be >= 1")
    _choice(d.resize, "data.resize", ("center_crop", "random_crop", "stretch"))
    _choice(d.split, "data.split", ("train", "test", "all"))
    _require(0 <= d.test_fraction < 1, "data.test_fraction must be in [0, 1)")
    _require(d.max_resolution >= 16, "data.max_resolution must be >= 16")
    _require(d.decode_parallelism >= 0,
             "data.decode_parallelism must be >= 0 (0 = 3 per CPU core)")
    for name in ("num_frames", "height", "width", "fps", "num_objects"):
        _require(getattr(d, name) >= 1, f"data.{name} must be >= 1")
    _require(min(d.height, d.width) >= 8, "data.height and data.width must be >= 8")
    _require(0 < d.object_size < 1, "data.object_size must be in (0, 1)")
    _require(0 <= d.max_speed <= 1, "data.max_speed must be in [0, 1]")
    _require(d.labels or not d.class_names, "data.class_names is set but data.labels=false")
    _require(len(set(d.class_names)) == len(d.class_names) and all(d.class_names),
             f"data.class_names must be distinct non-empty names, got {list(d.class_names)}")

    _require(0 <= d.context_frames < d.num_frames,
             f"data.context_frames must be in [0, data.num_frames={d.num_frames}), got "
             f"{d.context_frames}")

    _validate_model(config)
    _choice(l.name, "loss.name", ("auto", *losses.LOSSES))
    _choice(l.penalty, "loss.penalty", losses.PENALTIES)
    _require(0 <= l.penalty_weight < math.inf, "loss.penalty_weight must be finite and >= 0")
    try:
        augment.parse(t.augment)
    except ValueError as e:
        raise ConfigError(f"train.augment: {e}") from None

    for name in ("steps", "batch_size", "n_critic", "log_every", "sample_every",
                 "checkpoint_every", "keep_checkpoints", "num_samples", "cpu_devices"):
        _require(getattr(t, name) >= 1, f"train.{name} must be >= 1")
    _require(0 < t.g_lr < math.inf and 0 < t.d_lr < math.inf,
             "train.g_lr and train.d_lr must be finite and > 0")
    _require(0 <= t.beta1 < 1 and 0 <= t.beta2 < 1, "train.beta1 and train.beta2 must be in [0, 1)")
    _require(0 <= t.ema_decay < 1, "train.ema_decay must be in [0, 1)")
    for path, seed in (("data.seed", d.seed), ("train.seed", t.seed)):
        _require(0 <= seed < 2**32, f"{path} must be in [0, 2**32)")
    _choice(t.strategy, "train.strategy", ("auto", "one_device", "mirrored"))
    _choice(t.precision, "train.precision",
            ("float32", "mixed_bfloat16", "mixed_float16", "auto"))
    _require(config.sr.scale in (2, 4), "sr.scale must be 2 or 4")
    _require(config.sr.frames in (1, 3), "sr.frames must be 1 or 3")
    _require(config.sr.channels >= 2, "sr.channels must be >= 2")
    _require(config.sr.blur >= 0 and 0 <= config.sr.noise < 1, "sr.blur must be >= 0 and "
             "sr.noise in [0, 1)")
    _require(0 < config.sr.lr < math.inf, "sr.lr must be finite and > 0")
    _require(d.height % config.sr.scale == 0 and d.width % config.sr.scale == 0,
             f"data.height and data.width must be multiples of sr.scale={config.sr.scale}")
    _require(0 <= t.time_budget_minutes < math.inf,
             "train.time_budget_minutes must be >= 0 (0: no budget)")
    _require(t.fvd_every >= 0, "train.fvd_every must be >= 0 (0: no FVD during training)")
    _require(t.fvd_clips >= 2, "train.fvd_clips must be >= 2")
    _require(t.fvd_every == 0 or d.num_frames >= 9,
             f"train.fvd_every needs data.num_frames >= 9 (I3D pools time by 8 and then "
             f"by 2), got {d.num_frames}")
    _require(
        t.batch_size % t.cpu_devices == 0 or t.strategy == "one_device",
        f"train.batch_size={t.batch_size} must divide evenly over "
        f"train.cpu_devices={t.cpu_devices}",
    )


def _validate_model(config: Config) -> None:
    """The family exists, only its section is set, and the family accepts that section."""
    from vidgan import models  # noqa: PLC0415

    m = config.model
    _choice(m.family, "model.family", models.FAMILIES)
    for name, family in models.FAMILIES.items():
        if name == m.family:
            continue
        changed = differences(to_dict(family.config()), dataclasses.asdict(getattr(m, name)))
        _require(not changed, f"model.{name}.{changed[0].split(':')[0] if changed else ''} is "
                 f"set, but model.family={m.family} (set model.family={name} to use it)")
    try:  # the clip size first: a family's own rules assume a plannable size
        models.plan_stages(config.data.num_frames, config.data.height, config.data.width)
    except ValueError as e:
        raise ConfigError(f"data: {e}") from None
    family = models.FAMILIES[m.family]
    _require(family.conditional or not config.data.labels,
             f"model.family={m.family} cannot be class-conditional (data.labels=true); "
             "class-conditional families: "
             + ", ".join(n for n, f in models.FAMILIES.items() if f.conditional))
    _require(family.context or not config.data.context_frames,
             f"model.family={m.family} cannot be conditioned on context frames "
             "(data.context_frames > 0); families that can: "
             + ", ".join(n for n, f in models.FAMILIES.items() if f.context))
    problems = family.check(getattr(m, m.family), config)
    _require(not problems, f"model.{m.family}.{problems[0] if problems else ''}")


def flatten(values: typing.Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"a": {"b": 1}} -> {"a.b": 1}."""
    out = {}
    for key, value in values.items():
        if isinstance(value, typing.Mapping):
            out.update(flatten(value, prefix + key + "."))
        else:
            out[prefix + key] = value
    return out


def differences(old: typing.Mapping[str, Any], new: typing.Mapping[str, Any]) -> list[str]:
    """Fields whose values differ, as 'path: old -> new' (floats compared with isclose)."""
    old_flat, new_flat = flatten(old), flatten(new)
    out = []
    for key in sorted(set(old_flat) | set(new_flat)):
        a, b = old_flat.get(key), new_flat.get(key)
        same = a == b or (
            isinstance(a, float) and isinstance(b, float) and math.isclose(a, b)
        )
        if not same:
            out.append(f"{key}: {a!r} -> {b!r}")
    return out
