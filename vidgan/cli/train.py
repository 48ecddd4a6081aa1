"""`vidgan train --config=experiments/<preset>.py[:tiny] --workdir=DIR [--config.a.b=v]`.

Parses and validates; the work is `vidgan.training.train(config, workdir)`.
"""

from __future__ import annotations

from absl import flags
from absl import logging
from ml_collections import config_flags

from vidgan import config as config_lib
from vidgan.cli.common import check_args, fail, load_config, run_app

_CONFIG = config_flags.DEFINE_config_file(
    "config", None,
    "Experiment config file, optionally with an argument: experiments/quickstart.py:tiny. "
    "Override any field with --config.<section>.<field>=value.",
    lock_config=True)
_WORKDIR = flags.DEFINE_string(
    "workdir", None, "Run directory: checkpoints, TensorBoard events, samples, config.json. "
    "Re-running with the same workdir resumes.")
_DRY_RUN = flags.DEFINE_bool("dry_run", False, "Print the resolved config and exit.")


def main(argv: list[str]) -> None:
    check_args("train", argv)
    config = load_config("train", _CONFIG, "experiments/quickstart.py")
    if _DRY_RUN.value:
        print(config_lib.to_json(config))
        return
    if not _WORKDIR.value:
        fail("train", "--workdir is required (where checkpoints and TensorBoard logs go)")

    from vidgan import data  # noqa: PLC0415
    from vidgan import training  # noqa: PLC0415

    logging.set_verbosity(logging.INFO)
    try:
        training.train(config, _WORKDIR.value)
    except config_lib.ConfigError as e:
        fail("train", str(e))
    except training.NonFiniteLossError as e:
        fail("train", str(e), code=1)
    except data.DataError as e:
        fail("train", str(e), code=1)
    except KeyboardInterrupt:
        fail("train", "interrupted; re-run the command to resume from the latest checkpoint",
             code=130)
    except OSError as e:  # unwritable workdir, full disk
        fail("train", str(e), code=1)


def run(argv: list[str]) -> None:
    run_app("train", main, argv)
