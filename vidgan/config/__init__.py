"""The typed, validated config tree: the one place that knows every field.

Experiments (experiments/*.py) return an `ml_collections.ConfigDict` built from
`default_config()`; the CLI applies `--config.a.b=v` overrides on it; then
`from_dict()` turns the result into a frozen `Config`, rejecting unknown keys and
wrong types, and `validate()` checks each section's rules (next to the section, in
vidgan.config.sections; the model families' with their classes) and those that span
sections. The tree mechanics (building, coercing, comparing) are vidgan.config.tree.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from typing import Any

import ml_collections

from vidgan.config.sections import (DataConfig, LossConfig, SRConfig, TrainConfig,
                                    validate_data, validate_loss, validate_sr, validate_train)
from vidgan.config.tree import ConfigError, build, choice, differences, flatten, require


@dataclasses.dataclass(frozen=True)
class GeneratorChoice:
    """model.generator: the generator's family (a name in vidgan.models.FAMILIES); its
    settings are model.<name>.generator."""

    name: str = "dcgan3d"


@dataclasses.dataclass(frozen=True)
class DiscriminatorChoice:
    """model.discriminator: "auto" (the generator family's own pairing, set in
    model.<generator>.discriminator) or a family with a discriminator of its own (set in
    model.<name>.discriminator)."""

    name: str = "auto"


def _model_config() -> type:
    """model: `generator.name` and `discriminator.name` (vidgan.models' selection) and one
    section per registered family, `model.<name>`, each that family's own frozen
    dataclass. Only the parts in use may differ from their defaults (validate says which
    field does)."""
    from vidgan import models  # noqa: PLC0415  (the families' sections live with them)

    fields = [("generator", GeneratorChoice, dataclasses.field(default=GeneratorChoice())),
              ("discriminator", DiscriminatorChoice,
               dataclasses.field(default=DiscriminatorChoice()))]
    fields += [(name, family.config, dataclasses.field(default=family.config()))
               for name, family in models.FAMILIES.items()]
    cls = dataclasses.make_dataclass("ModelConfig", fields, frozen=True)
    cls.__module__ = __name__
    return cls


ModelConfig = _model_config()



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
    g, d = config.model.generator.name, models.discriminator_family(config.model)
    models.FAMILIES[g].tiny(config.model[g].generator)
    models.FAMILIES[d].tiny(config.model[d].discriminator)
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
    config = build(Config, _migrate(values), prefix="")
    validate(config)
    return config


def override(config: Config, updates: typing.Mapping[str, Any]) -> Config:
    """A validated copy of `config` with dotted fields replaced:
    override(c, {"model.generator.name": "resnet3d", "train.steps": 10})."""
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
    """Reads configs of earlier versions: model.family + its section (before generator and
    discriminator were chosen apart) as model.generator.name with the family's own
    discriminator; model.generator.name with the DCGAN fields beside it (before model
    families) as that name + its section."""
    model = values.get("model")
    if not isinstance(model, typing.Mapping):
        return values
    if "family" in model:
        rest = {k: v for k, v in model.items() if k != "family"}
        return {**values, "model": {**rest, "generator": {"name": model["family"]},
                                    "discriminator": {"name": "auto"}}}
    g = dict(model.get("generator", {}))
    if not set(g) - {"name"}:
        return values  # today's form
    d = dict(model.get("discriminator", {}))
    family = g.pop("name", "dcgan3d")
    d.pop("name", None)
    loss = dict(values.get("loss", {}))
    loss.setdefault("name", "non_saturating")  # the default of those versions
    return {**values, "loss": loss,
            "model": {"generator": {"name": family}, "discriminator": {"name": "auto"},
                      family: {"generator": g, "discriminator": d}}}


def validate(config: Config) -> None:
    """Each section's rules, then the model family's, then those that span sections.
    (The sr section is checked by `vidgan train-sr`: validate_sr.)"""
    d, t = config.data, config.train
    validate_data(d)
    _validate_model(config)
    validate_loss(config.loss)
    validate_train(t)
    require(not config.loss.reconstruction or d.context_frames > 0,
            "loss.reconstruction needs a context model (data.context_frames > 0): it "
            "compares the generated frames with the real ones after the context")
    require(t.fvd_every == 0 or d.num_frames >= 9,
            f"train.fvd_every needs data.num_frames >= 9 (I3D pools time by 8 and then "
            f"by 2), got {d.num_frames}")


def _validate_model(config: Config) -> None:
    """The families exist, only the parts in use are set, and each family accepts its
    part."""
    from vidgan import models  # noqa: PLC0415

    m = config.model
    choice(m.generator.name, "model.generator.name", models.FAMILIES)
    choice(m.discriminator.name, "model.discriminator.name", models.discriminators())
    g_name, d_name = m.generator.name, models.discriminator_family(m)
    for name, family in models.FAMILIES.items():
        defaults, section = to_dict(family.config()), dataclasses.asdict(getattr(m, name))
        for part in section:
            if (name, part) in ((g_name, "generator"), (d_name, "discriminator")):
                continue
            changed = differences(defaults[part], section[part])
            if not changed:
                continue
            if part == "generator":
                use = f"model.generator.name={name}"
            elif family.own_discriminator:
                use = f"model.discriminator.name={name}"
            else:
                use = f"model.generator.name={name} with model.discriminator.name=auto"
            raise ConfigError(f"model.{name}.{part}.{changed[0].split(':')[0]} is set, but the "
                              f"model does not use it (set {use} to use it)")
    try:  # the clip size first: a family's own rules assume a plannable size
        models.plan_stages(config.data.num_frames, config.data.height, config.data.width)
    except ValueError as e:
        raise ConfigError(f"data: {e}") from None
    for field, name in (("model.generator.name", g_name), ("model.discriminator.name", d_name)):
        require(models.FAMILIES[name].conditional or not config.data.labels,
                 f"{field}={name} cannot be class-conditional (data.labels=true); "
                 "class-conditional families: "
                 + ", ".join(n for n, f in models.FAMILIES.items() if f.conditional))
    require(models.FAMILIES[g_name].context or not config.data.context_frames,
             f"model.generator.name={g_name} cannot be conditioned on context frames "
             "(data.context_frames > 0); families that can: "
             + ", ".join(n for n, f in models.FAMILIES.items() if f.context))
    for name, part, check in (
            (g_name, "generator", models.FAMILIES[g_name].check_generator),
            (d_name, "discriminator", models.FAMILIES[d_name].check_discriminator)):
        problems = check(getattr(getattr(m, name), part), config)
        require(not problems, f"model.{name}.{problems[0] if problems else ''}")


__all__ = ["Config", "ConfigError", "DataConfig", "DiscriminatorChoice", "GeneratorChoice",
           "LossConfig", "ModelConfig", "RESUMABLE_CHANGES",
           "SRConfig", "TrainConfig", "default_config", "differences", "flatten", "from_dict",
           "load_experiment", "make_tiny", "override", "to_dict", "to_json", "validate",
           "validate_sr"]
