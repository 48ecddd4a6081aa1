"""`vidgan evaluate (--workdir=DIR | --model_dir=OUT) [--config=EXPERIMENT] [--num_clips=2048]
[--num_frames=16] [--split=train] [--seed=0] [--num_runs=1] [--per_class] [--json=FILE]`.

Prints FVD and KVD with the protocol that produced them. Real clips come from the run's
own data config unless --config names another (its data section, with --config.data.*
overrides). The work is `vidgan.evaluation.evaluate(...)`.
"""

from __future__ import annotations

import os

from absl import flags
from ml_collections import config_flags

from vidgan import config as config_lib
from vidgan import files
from vidgan.cli.common import check_args, fail, last_line, run_app

_WORKDIR = flags.DEFINE_string("workdir", None, "A training run to evaluate (its checkpoint).")
_STEP = flags.DEFINE_integer("step", None, "With --workdir: checkpoint step (default latest).")
_EMA = flags.DEFINE_bool("ema", True, "With --workdir: the EMA generator (true) or the raw one.")
_MODEL_DIR = flags.DEFINE_string("model_dir", None, "An exported SavedModel to evaluate.")
_CONFIG = config_flags.DEFINE_config_file(
    "config", None, "Experiment config whose data section gives the real clips (default: "
    "the run's own). Override fields with --config.data.<field>=value.", lock_config=True)
_NUM_CLIPS = flags.DEFINE_integer("num_clips", 2048, "Real and generated clips, each.",
                                  lower_bound=2)
_NUM_FRAMES = flags.DEFINE_integer("num_frames", 16, "Frames per clip fed to I3D (FVD16).",
                                   lower_bound=1)
_SPLIT = flags.DEFINE_enum("split", "train", ["train", "test", "all"],
                           "Split of the real data (by video).")
_SEED = flags.DEFINE_integer("seed", 0, "Real clips and generated seeds start at "
                             "seed * num_clips (the data's own seed fixes its split).",
                             lower_bound=0)
_NUM_RUNS = flags.DEFINE_integer("num_runs", 1, "Repeat with seeds seed..seed+runs-1 and "
                                 "report mean and std.", lower_bound=1)
_BATCH_SIZE = flags.DEFINE_integer("batch_size", 16, "Clips per I3D batch.", lower_bound=1)
_WEIGHTS = flags.DEFINE_string("weights", None, "Converted I3D weights (default: where "
                               "`vidgan fetch-i3d` puts them).")
_CACHE = flags.DEFINE_bool("cache", True, "Read and write the real-feature cache.")
_JSON = flags.DEFINE_string("json", None, "Also write the results to this JSON file.")
_PROGRESS = flags.DEFINE_bool("progress", True, "Show progress bars.")
_PER_CLASS = flags.DEFINE_bool("per_class", False, "Class-conditional generators: also FVD "
                               "per class (num_clips real clips of the class against "
                               "num_clips videos made with its label).")


def main(argv: list[str]) -> None:
    check_args("evaluate", argv)
    if bool(_WORKDIR.value) == bool(_MODEL_DIR.value):
        fail("evaluate", "give exactly one of --workdir (a training run) or --model_dir "
                         "(an exported SavedModel)")
    data = None
    if flags.FLAGS["config"].present:
        try:
            data = config_lib.from_dict(_CONFIG.value).data
        except IOError as e:
            fail("evaluate", f"cannot load --config: {last_line(e)}")
        except (config_lib.ConfigError, TypeError) as e:
            fail("evaluate", str(e))

    from vidgan import evaluation  # noqa: PLC0415  (imports TensorFlow)
    from vidgan.data import DataError  # noqa: PLC0415
    from vidgan.models.i3d import WeightsError  # noqa: PLC0415

    protocol = evaluation.Protocol(num_clips=_NUM_CLIPS.value, num_frames=_NUM_FRAMES.value,
                                   split=_SPLIT.value, seed=_SEED.value,
                                   batch_size=_BATCH_SIZE.value)
    try:
        protocol.validate()
        if _WORKDIR.value:
            source = evaluation.source_from_workdir(_WORKDIR.value, _STEP.value, _EMA.value)
        else:
            source = evaluation.source_from_saved_model(_MODEL_DIR.value)
        result = evaluation.evaluate(source, data, protocol, num_runs=_NUM_RUNS.value,
                                     weights=_WEIGHTS.value, cache=_CACHE.value,
                                     progress=_PROGRESS.value, log=print,
                                     per_class=_PER_CLASS.value)
    except (evaluation.EvaluationError, WeightsError, DataError, config_lib.ConfigError) as e:
        fail("evaluate", str(e), code=1)
    print(report(result))
    if _JSON.value:
        os.makedirs(os.path.dirname(os.path.abspath(_JSON.value)), exist_ok=True)
        files.write_json(_JSON.value, result)


def report(result: dict) -> str:
    p, n = result["protocol"], result["num_runs"]
    frames = p["frames"]
    if n > 1:
        scores = (f"FVD{frames} {result['fvd_mean']:.2f} ± {result['fvd_std']:.2f}   "
                  f"KVD{frames} {result['kvd_mean']:.4f} ± {result['kvd_std']:.4f}   ({n} runs)")
    else:
        scores = f"FVD{frames} {result['fvd'][0]:.2f}   KVD{frames} {result['kvd'][0]:.4f}"
    lines = [scores]
    for name, v in result.get("per_class", {}).items():
        lines.append(f"  class {name}: FVD{frames} {v['fvd_mean']:.2f}   "
                     f"KVD{frames} {v['kvd_mean']:.4f}")
    lines.append("protocol:")
    lines += [f"  {key}: {value}" for key, value in p.items() if key != "metric"]
    return "\n".join(lines)


def run(argv: list[str]) -> None:
    run_app("evaluate", main, argv)
