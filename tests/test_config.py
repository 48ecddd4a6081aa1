"""Tests for vidgan.config: parsing, type checks, cross-field validation, diffs."""

import copy
import dataclasses
import importlib.util
import math
import os

import ml_collections
import pytest

from helpers import REPO
from vidgan import config as config_lib
from vidgan.config import Config, ConfigError


def _defaults() -> dict:
    return config_lib.to_dict(Config())


def _with(path: str, value) -> dict:
    """The default config as a plain dict with one dotted field replaced."""
    values = _defaults()
    *parents, leaf = path.split(".")
    node = values
    for key in parents:
        node = node[key]
    node[leaf] = value
    return values


EXPERIMENTS = sorted(f[:-3] for f in os.listdir(os.path.join(REPO, "experiments"))
                     if f.endswith(".py"))


def _load_experiment(name="quickstart"):
    path = os.path.join(REPO, "experiments", f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"{name}_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- round trips ---------------------------------------------------------------------
def test_default_config_round_trips():
    """default_config() -> from_dict gives exactly Config() (ConfigDict and plain dict)."""
    cd = config_lib.default_config()
    assert isinstance(cd, ml_collections.ConfigDict)
    assert config_lib.from_dict(cd) == Config()
    assert config_lib.from_dict(cd.to_dict()) == Config()
    assert config_lib.from_dict(_defaults()) == Config()


def test_partial_dict_fills_in_defaults():
    """Missing sections / fields keep their defaults; given ones are applied."""
    cfg = config_lib.from_dict({"data": {"height": 32}, "train": {"g_lr": 1e-3}})
    assert cfg.data.height == 32 and cfg.data.width == 64
    assert cfg.train.g_lr == 1e-3 and cfg.train.d_lr == 2e-4
    assert cfg.model == Config().model
    assert config_lib.from_dict({}) == Config()


def test_to_json_is_sorted_and_complete():
    """to_json holds every field, so a Config can be rebuilt from its JSON."""
    import json

    cfg = config_lib.from_dict(_with("data.num_frames", 8))
    assert config_lib.from_dict(json.loads(config_lib.to_json(cfg))) == cfg


def test_overrides_on_a_config_dict_are_applied():
    """Editing the ConfigDict (as experiments and flags do) reaches the frozen Config."""
    cd = config_lib.default_config()
    cd.model.dcgan3d.discriminator.spectral_norm = True
    cd.loss.name = "hinge"
    cd.train.batch_size = 8
    cfg = config_lib.from_dict(cd)
    assert cfg.model.dcgan3d.discriminator.spectral_norm is True
    assert cfg.loss.name == "hinge" and cfg.train.batch_size == 8


# --- unknown keys / sections ---------------------------------------------------------
@pytest.mark.parametrize("path", ["bogus", "data.bogus", "model.dcgan3d.generator.bogus",
                                  "model.dcgan3d.discriminator.spectral", "train.lr"])
def test_unknown_keys_name_the_dotted_path(path):
    """An unknown key at any depth raises ConfigError naming its full dotted path."""
    with pytest.raises(ConfigError, match=path.replace(".", r"\.")):
        config_lib.from_dict(_with(path, 1))


def test_unknown_section_lists_the_valid_fields():
    """The message for an unknown key also lists what the section does have."""
    with pytest.raises(ConfigError) as e:
        config_lib.from_dict(_with("loss.weight", 1.0))
    assert "loss.weight" in str(e.value)
    assert "penalty_weight" in str(e.value)


@pytest.mark.parametrize("path", ["data", "model.dcgan3d.generator"])
def test_scalar_in_place_of_a_section(path):
    """A scalar where a section belongs raises ConfigError naming the section."""
    with pytest.raises(ConfigError, match=path.replace(".", r"\.")):
        config_lib.from_dict(_with(path, 3))


# --- types ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "path, value",
    [
        ("data.height", "64"),  # str for int
        ("train.steps", 100.0),  # float for int
        ("train.batch_size", 16.5),
        ("train.steps", True),  # bool for int (bool is an int subclass)
        ("data.seed", False),
        ("model.dcgan3d.discriminator.spectral_norm", 1),  # int for bool
        ("model.dcgan3d.discriminator.spectral_norm", "true"),
        ("train.g_lr", "2e-4"),  # str for float
        ("train.g_lr", True),  # bool for float
        ("loss.name", 3),  # int for str
        ("data.source", None),
    ],
)
def test_wrong_types_name_the_field(path, value):
    """A value of the wrong type raises ConfigError naming the field."""
    with pytest.raises(ConfigError, match=path.replace(".", r"\.")):
        config_lib.from_dict(_with(path, value))


def test_ints_are_accepted_for_float_fields():
    """An int for a float field is accepted and stored as a float."""
    cfg = config_lib.from_dict(_with("loss.penalty_weight", 5))
    assert cfg.loss.penalty_weight == 5.0 and type(cfg.loss.penalty_weight) is float
    cfg = config_lib.from_dict(_with("train.beta1", 0))
    assert cfg.train.beta1 == 0.0 and type(cfg.train.beta1) is float


# --- cross-field rules ----------------------------------------------------------------
def _invalid(*changes):
    values = _defaults()
    for path, value in changes:
        *parents, leaf = path.split(".")
        node = values
        for key in parents:
            node = node[key]
        node[leaf] = value
    return values


INVALID = [
    # (changes, text that must appear in the message)
    ([("data.source", "ucf101")], "data.source"),
    ([("data.num_frames", 0)], "data.num_frames"),
    ([("data.height", 0)], "data.height"),
    ([("data.width", -8)], "data.width"),
    ([("data.fps", 0)], "data.fps"),
    ([("data.num_objects", 0)], "data.num_objects"),
    ([("data.seed", -1)], "data.seed"),
    ([("data.height", 4)], "data.height"),  # < 8
    ([("data.width", 6)], "data.width"),  # < 8
    ([("data.object_size", 0.0)], "data.object_size"),
    ([("data.object_size", 1.0)], "data.object_size"),
    ([("data.max_speed", -0.1)], "data.max_speed"),
    ([("data.max_speed", 1.5)], "data.max_speed"),
    ([("model.generator.name", "stylegan_v")], "model.generator.name"),
    ([("model.resnet3d.generator.channels", 8)], "model.resnet3d.generator.channels"),
    ([("model.generator.name", "resnet3d"), ("model.dcgan3d.discriminator.norm", "layer")],
     "model.dcgan3d.discriminator.norm"),  # set, but another family is selected
    ([("model.generator.name", "resnet3d"), ("model.resnet3d.generator.conv", "2d")],
     "model.resnet3d.generator.conv"),
    ([("model.generator.name", "resnet3d"), ("model.resnet3d.discriminator.conv", "2d")],
     "model.resnet3d.discriminator.conv"),
    ([("model.generator.name", "resnet3d"), ("model.resnet3d.generator.upsample", "bicubic")],
     "model.resnet3d.generator.upsample"),
    ([("model.generator.name", "resnet3d"), ("model.resnet3d.generator.mask_bias", math.nan)],
     "model.resnet3d.generator.mask_bias must be finite"),
    ([("model.generator.name", "resnet3d"), ("model.resnet3d.generator.time_padding", "wrap")],
     "model.resnet3d.generator.time_padding"),
    ([("model.generator.name", "resnet3d"), ("model.resnet3d.generator.max_channels", 8)],
     "model.resnet3d.generator.max_channels"),
    ([("model.generator.name", "resnet3d"), ("model.resnet3d.discriminator.channels", 0)],
     "model.resnet3d.discriminator.channels"),
    ([("train.augment", "color,rotate")], "train.augment"),
    ([("train.augment", "color,color")], "train.augment"),
    ([("train.time_budget_minutes", -1.0)], "train.time_budget_minutes"),
    # G: batch|none only; rgb_kernel 1 or 3
    ([("model.dcgan3d.generator.norm", "layer")], "model.dcgan3d.generator.norm"),
    ([("model.dcgan3d.generator.rgb_kernel", 2)], "model.dcgan3d.generator.rgb_kernel"),
    ([("model.dcgan3d.generator.rgb_mix", -1)], "model.dcgan3d.generator.rgb_mix"),
    ([("model.dcgan3d.discriminator.norm", "group")], "model.dcgan3d.discriminator.norm"),
    ([("model.dcgan3d.generator.z_dim", 0)], "model.dcgan3d.generator.z_dim"),
    ([("model.dcgan3d.generator.channels", 0)], "model.dcgan3d.generator.channels"),
    ([("model.dcgan3d.discriminator.channels", 0)], "model.dcgan3d.discriminator.channels"),
    ([("model.dcgan3d.generator.max_channels", 32)],
     "model.dcgan3d.generator.max_channels"),
    ([("model.dcgan3d.discriminator.max_channels", 32)],
     "model.dcgan3d.discriminator.max_channels"),
    ([("data.height", 33)], "height"),  # odd: no 2x stage (plan_stages' error)
    ([("loss.name", "ralsgan")], "loss.name"),
    ([("loss.penalty", "dragan")], "loss.penalty"),
    ([("loss.penalty_weight", -1.0)], "loss.penalty_weight"),
    ([("loss.penalty_every", 0)], "loss.penalty_every"),
    ([("loss.top_k", 0.0)], "loss.top_k is a share"),
    ([("loss.top_k", 1.5)], "loss.top_k is a share"),
    ([("loss.top_k_steps", -1)], "loss.top_k_steps"),
    ([("loss.reconstruction", -1.0)], "loss.reconstruction must be finite"),
    ([("loss.reconstruction", float("nan"))], "loss.reconstruction must be finite"),
    ([("loss.reconstruction", 1.0)], "loss.reconstruction needs a context model"),
    ([("loss.penalty", "wgan_gp"), ("model.dcgan3d.discriminator.norm", "batch")],
     "model.dcgan3d.discriminator.norm"),
    ([("train.steps", 0)], "train.steps"),
    ([("train.batch_size", 0)], "train.batch_size"),
    ([("train.n_critic", 0)], "train.n_critic"),
    ([("train.log_every", 0)], "train.log_every"),
    ([("train.sample_every", 0)], "train.sample_every"),
    ([("train.checkpoint_every", 0)], "train.checkpoint_every"),
    ([("train.keep_checkpoints", 0)], "train.keep_checkpoints"),
    ([("train.num_samples", 0)], "train.num_samples"),
    ([("train.cpu_devices", 0)], "train.cpu_devices"),
    ([("train.g_lr", 0.0)], "train.g_lr"),
    ([("train.d_lr", -1e-4)], "train.d_lr"),
    ([("train.g_lr", float("inf"))], "train.g_lr"),
    ([("train.d_lr", float("nan"))], "train.d_lr"),
    ([("loss.penalty_weight", float("inf"))], "loss.penalty_weight"),
    ([("train.beta1", 1.0)], "train.beta1"),
    ([("train.beta2", -0.1)], "train.beta2"),
    ([("train.ema_decay", 1.0)], "train.ema_decay"),
    ([("train.lr_decay_from", 1.5)], "train.lr_decay_from"),
    ([("data.height", 100000)], "data.height"),
    ([("data.num_frames", 5000)], "data.num_frames"),
    ([("train.lr_decay_from", -0.1)], "train.lr_decay_from"),
    ([("train.seed", -1)], "train.seed"),
    ([("train.seed", 2**32)], "train.seed"),
    ([("data.seed", 2**32)], "data.seed"),
    ([("loss.penalty", "r1"), ("model.dcgan3d.discriminator.norm", "batch")],
     "model.dcgan3d.discriminator.norm"),
    ([("train.strategy", "horovod")], "train.strategy"),
    ([("data.decode_parallelism", -1)], "data.decode_parallelism"),
    ([("train.batch_size", 6), ("train.cpu_devices", 4)], "train.batch_size"),
]


@pytest.mark.parametrize("changes, field", INVALID,
                         ids=[f"{c[0][0]}={c[0][1]!r}" for c, _ in INVALID])
def test_cross_field_rules(changes, field):
    """Each rule of validate() rejects a violating config, naming the field."""
    with pytest.raises(ConfigError) as e:
        config_lib.from_dict(_invalid(*changes))
    assert field in str(e.value)


def test_plan_stage_errors_are_config_errors_under_data():
    """An unplannable size (odd height) is reported as a ConfigError about data."""
    with pytest.raises(ConfigError, match=r"^data: .*height=33"):
        config_lib.from_dict(_invalid(("data.height", 33)))


@pytest.mark.parametrize(
    "changes",
    [
        # Boundary values that the rules allow.
        [("data.seed", 0), ("train.seed", 0), ("train.beta1", 0.0), ("train.ema_decay", 0.0)],
        [("data.max_speed", 0.0)],
        [("data.max_speed", 1.0)],
        [("data.height", 8), ("data.width", 8)],
        [("loss.penalty_weight", 0.0)],
        [("loss.penalty", "wgan_gp"), ("model.dcgan3d.discriminator.norm", "layer")],
        [("loss.penalty", "r1"), ("model.dcgan3d.discriminator.norm", "layer")],
        [("data.seed", 2**32 - 1), ("train.seed", 2**32 - 1)],
        # An uneven batch is fine on one device.
        [("train.batch_size", 6), ("train.cpu_devices", 4), ("train.strategy", "one_device")],
        [("train.batch_size", 8), ("train.cpu_devices", 4), ("train.strategy", "mirrored")],
        [("model.dcgan3d.generator.max_channels", 64)],  # == channels
    ],
)
def test_valid_edge_cases_pass(changes):
    """Values on the allowed side of each boundary validate."""
    config_lib.from_dict(_invalid(*changes))


def test_every_registered_loss_and_source_validates():
    """Every name in the loss / data registries is accepted by validate()."""
    from vidgan import losses
    from vidgan.data import SOURCES

    for name in losses.LOSSES:
        assert config_lib.from_dict(_with("loss.name", name)).loss.name == name
    for source, spec in SOURCES.items():
        values = _with("data.source", source)
        if spec.reads_files:
            values["data"]["path"] = "/data"
        assert config_lib.from_dict(values).data.source == source


# --- frozen, differences ---------------------------------------------------------------
def test_configs_are_frozen():
    """Neither the Config nor its sections can be mutated."""
    cfg = Config()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.train = None
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.train.steps = 5
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.model.dcgan3d.generator.z_dim = 5


def test_differences_reports_changed_fields():
    """differences() lists exactly the changed dotted fields as 'path: old -> new'."""
    old = _defaults()
    new = _invalid(("train.steps", 20), ("model.dcgan3d.discriminator.norm", "layer"),
                   ("data.max_speed", 0.5))
    assert config_lib.differences(old, new) == [
        "data.max_speed: 0.08 -> 0.5",
        "model.dcgan3d.discriminator.norm: 'none' -> 'layer'",
        "train.steps: 10000 -> 20",
    ]
    assert config_lib.differences(old, copy.deepcopy(old)) == []


def test_differences_tolerates_float_round_off_and_reports_missing_keys():
    """Floats equal up to round-off are the same; a key on one side only is a change."""
    old = {"a": {"x": 0.1 + 0.2, "y": 1}}
    new = {"a": {"x": 0.3, "z": 2}}
    assert config_lib.differences(old, new) == ["a.y: 1 -> None", "a.z: None -> 2"]


def test_flatten():
    """flatten turns nested mappings into dotted keys."""
    assert config_lib.flatten({"a": {"b": 1, "c": {"d": 2}}, "e": 3}) == {
        "a.b": 1, "a.c.d": 2, "e": 3}


def test_resumable_changes_are_real_fields():
    """Every RESUMABLE_CHANGES entry names an existing field."""
    fields = set(config_lib.flatten(_defaults()))
    assert config_lib.RESUMABLE_CHANGES <= fields


# --- the experiments ---------------------------------------------------------------------
def test_quickstart_sizes():
    """experiments/quickstart.py is 16x32x32; its :tiny variant is 8x16x16 for 4 steps."""
    quickstart = _load_experiment("quickstart")
    full = config_lib.from_dict(quickstart.get_config())
    tiny = config_lib.from_dict(quickstart.get_config("tiny"))
    assert (full.data.num_frames, full.data.height, full.data.width) == (16, 32, 32)
    assert (tiny.data.num_frames, tiny.data.height, tiny.data.width) == (8, 16, 16)
    assert tiny.train.steps == 4 and tiny.train.batch_size == 4


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_every_experiment_and_its_tiny_variant_validate(name):
    """Every preset validates, has a :tiny variant that is small, and rejects other variants."""
    experiment = _load_experiment(name)
    full = config_lib.from_dict(experiment.get_config())
    tiny = config_lib.from_dict(experiment.get_config("tiny"))
    # sr's and extend's tiny variants train on built-in shapes, so CI needs no videos.
    assert tiny.data.source == full.data.source or name in ("sr", "extend")
    assert tiny.loss == full.loss
    assert tiny.data.height * tiny.data.width <= 256 and tiny.train.steps <= 10
    with pytest.raises(ValueError, match="unknown variant"):
        experiment.get_config("huge")


# --- model families ----------------------------------------------------------------------
def test_only_the_parts_in_use_may_be_set():
    """A field of a part the model does not use fails in one line naming it and the choice
    that would use it."""
    with pytest.raises(ConfigError, match=r"^model\.resnet3d\.generator\.upsample is set, but "
                       r"the model does not use it \(set model\.generator\.name=resnet3d"):
        config_lib.from_dict(_invalid(("model.resnet3d.generator.upsample", "trilinear")))
    cfg = config_lib.from_dict(_invalid(("model.generator.name", "resnet3d"),
                                        ("model.resnet3d.generator.upsample", "trilinear")))
    assert cfg.model.resnet3d.generator.upsample == "trilinear"
    # motion's own pairing is set in its section; a chosen discriminator in its family's
    with pytest.raises(ConfigError, match=r"^model\.resnet3d\.discriminator\.frames is set, "
                       r"but .*\(set model\.discriminator\.name=resnet3d"):
        config_lib.from_dict(_invalid(("model.generator.name", "motion"),
                                      ("model.resnet3d.discriminator.frames", 2)))
    with pytest.raises(ConfigError, match=r"^model\.motion\.discriminator\.frames is set, "
                       r"but .*model\.discriminator\.name=auto"):
        config_lib.from_dict(_invalid(("model.generator.name", "motion"),
                                      ("model.discriminator.name", "resnet3d"),
                                      ("model.motion.discriminator.frames", 2)))


def test_generator_and_discriminator_are_chosen_apart():
    """model.generator.name alone trains with the family's own discriminator; another kind
    is chosen by model.discriminator.name and set in its family's section; a family
    without a kind of its own is not a discriminator name."""
    from vidgan import losses, models

    motion = config_lib.from_dict(_invalid(("model.generator.name", "motion")))
    assert models.discriminator_family(motion.model) == "motion"
    assert isinstance(models.build_discriminator(motion), models.ResNet3DDiscriminator)
    assert models.build_discriminator(motion).frames == 4  # motion's own pairing: dual D
    mixed = config_lib.from_dict(_invalid(("model.generator.name", "motion"),
                                          ("model.discriminator.name", "dcgan3d"),
                                          ("model.dcgan3d.discriminator.channels", 8)))
    d = models.build_discriminator(mixed)
    assert isinstance(models.build_generator(mixed), models.MotionContentGenerator)
    assert isinstance(d, models.VideoDiscriminator)
    assert losses.loss_name(mixed) == "non_saturating"  # the discriminator's family's
    with pytest.raises(ConfigError, match=r"model\.discriminator\.name: 'vgan' is not one of "
                       r"auto, dcgan3d, resnet3d"):
        config_lib.from_dict(_invalid(("model.discriminator.name", "vgan")))
    with pytest.raises(ConfigError, match=r"^model\.discriminator\.name=dcgan3d cannot be "
                       r"class-conditional"):
        config_lib.from_dict(_invalid(("model.generator.name", "resnet3d"),
                                      ("model.discriminator.name", "dcgan3d"),
                                      ("data.labels", True), ("data.source", "moving_digits")))


def test_loss_auto_is_the_family_default():
    """loss.name="auto" (the default) means hinge for resnet3d, non-saturating for dcgan3d;
    a named loss is kept."""
    from vidgan import losses

    assert config_lib.Config().loss.name == "auto"
    dcgan = config_lib.from_dict(_defaults())
    resnet = config_lib.from_dict(_invalid(("model.generator.name", "resnet3d")))
    assert losses.loss_name(dcgan) == "non_saturating"
    assert losses.loss_name(resnet) == "hinge"
    assert losses.loss_name(config_lib.override(resnet, {"loss.name": "least_squares"})) == (
        "least_squares")


def test_configs_of_earlier_versions_are_read():
    """A config.json written before model families (model.generator/discriminator with a
    name and the DCGAN fields, an explicit non-saturating default loss) reads as that
    generator + its section; one written with model.family as that generator with the
    family's own discriminator, its section kept."""
    old = {"model": {"generator": {"name": "dcgan3d", "channels": 8, "z_dim": 16},
                     "discriminator": {"name": "dcgan3d", "spectral_norm": True}},
           "train": {"steps": 3}}
    cfg = config_lib.from_dict(old)
    assert cfg.model.generator.name == "dcgan3d"
    assert cfg.model.dcgan3d.generator.channels == 8 and cfg.model.dcgan3d.generator.z_dim == 16
    assert cfg.model.dcgan3d.discriminator.spectral_norm is True
    assert cfg.loss.name == "non_saturating" and cfg.train.steps == 3
    family = {"model": {"family": "motion", "motion": {"discriminator": {"frames": 2}}}}
    cfg = config_lib.from_dict(family)
    assert cfg.model.generator.name == "motion" and cfg.model.discriminator.name == "auto"
    assert cfg.model.motion.discriminator.frames == 2


def test_override_replaces_dotted_fields_and_validates():
    cfg = config_lib.override(config_lib.Config(), {"train.steps": 7,
                                                    "model.generator.name": "resnet3d"})
    assert cfg.train.steps == 7 and cfg.model.generator.name == "resnet3d"
    with pytest.raises(ConfigError, match="unknown config field 'train.stepz'"):
        config_lib.override(cfg, {"train.stepz": 1})
    with pytest.raises(ConfigError, match="train.steps must be >= 1"):
        config_lib.override(cfg, {"train.steps": 0})
