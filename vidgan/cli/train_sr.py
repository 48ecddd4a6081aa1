"""`vidgan train-sr --config=experiments/sr.py[:tiny] --workdir=DIR [--config.sr.scale=4 ...]`.

Trains the learned super-resolution network (vidgan.enhance.sr) on real clips degraded by
downscaling, blur and noise. Parses and validates; the work is `vidgan.enhance.sr.train_sr`.
"""

from __future__ import annotations

from absl import flags
from absl import logging
from ml_collections import config_flags

from vidgan import config as config_lib
from vidgan.cli.common import check_args, fail, load_config, run_app

_CONFIG = config_flags.DEFINE_config_file(
    "config", None, "Experiment config file, e.g. experiments/sr.py (its data and sr "
    "sections). Override fields with --config.<section>.<field>=value.", lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Run directory; re-running resumes.")
_DRY_RUN = flags.DEFINE_bool("dry_run", False, "Print the resolved config and exit.")


def main(argv: list[str]) -> None:
    check_args("train-sr", argv)
    config = load_config("train-sr", _CONFIG, "experiments/sr.py")
    try:
        config_lib.validate_sr(config.sr, config.data)
    except config_lib.ConfigError as e:
        fail("train-sr", str(e))
    if _DRY_RUN.value:
        print(config_lib.to_json(config))
        return
    if not _WORKDIR.value:
        fail("train-sr", "--workdir is required (where checkpoints and TensorBoard logs go)")

    from vidgan.data import DataError  # noqa: PLC0415  (imports TensorFlow)
    from vidgan.enhance import sr  # noqa: PLC0415
    from vidgan.training.loop import NonFiniteLossError  # noqa: PLC0415

    logging.set_verbosity(logging.INFO)
    try:
        sr.train_sr(config, _WORKDIR.value)
    except (config_lib.ConfigError, DataError) as e:
        fail("train-sr", str(e))
    except NonFiniteLossError as e:
        fail("train-sr", str(e), code=1)
    except KeyboardInterrupt:
        fail("train-sr", "interrupted; re-run the command to resume from the latest "
             "checkpoint", code=130)
    except OSError as e:
        fail("train-sr", str(e), code=1)


def run(argv: list[str]) -> None:
    run_app("train-sr", main, argv)
