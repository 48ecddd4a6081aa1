"""`vidgan <subcommand> [flags]`: dispatches to one absl app per subcommand.

Subcommand modules are imported lazily so each defines only its own flags.
"""

from __future__ import annotations

import importlib
import os
import sys

from vidgan import runtime

SUBCOMMANDS = {
    "train": ("vidgan.cli.train", "train a video GAN from an experiment config"),
    "export": ("vidgan.cli.export", "export a trained generator as a TensorFlow SavedModel"),
    "synthesize": ("vidgan.cli.synthesize", "write videos in bulk from an exported model"),
    "animate": ("vidgan.cli.animate", "bring still images to life with an image -> video model"),
    "extend": ("vidgan.cli.extend", "continue a video (e.g. 10 s -> 20 s) with a context model"),
    "prepare": ("vidgan.cli.prepare", "turn a video folder into TFRecord shards (--stats: describe it)"),
    "fetch-i3d": ("vidgan.cli.fetch_i3d", "fetch the Kinetics I3D weights FVD needs (once, ~47 MB)"),
    "evaluate": ("vidgan.cli.evaluate", "FVD and KVD of a training run or exported model"),
    "train-sr": ("vidgan.cli.train_sr", "train the learned super-resolution pass"),
    "enhance": ("vidgan.cli.enhance", "denoise / sharpen / super-resolve a video file"),
}


def _usage() -> str:
    lines = ["usage: vidgan <subcommand> [flags]   (vidgan <subcommand> --help for its flags)",
             "", "subcommands:"]
    lines += [f"  {name:<12} {help_}" for name, (_, help_) in SUBCOMMANDS.items()]
    return "\n".join(lines)


def run(argv: list[str] | None = None) -> None:
    argv = list(sys.argv if argv is None else argv)
    if len(argv) < 2:
        print(_usage(), file=sys.stderr)
        sys.exit(2)
    if argv[1] in ("-h", "--help", "help"):
        print(_usage())
        sys.exit(0)
    name = argv[1]
    if name not in SUBCOMMANDS:
        print(f"vidgan: unknown subcommand {name!r}\n\n{_usage()}", file=sys.stderr)
        sys.exit(2)
    # Hides TensorFlow's C++ INFO/WARNING lines after startup (TF 2.21 still prints a
    # few at import, before its logging reads this).
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    runtime.keep_freed_memory()  # before TensorFlow allocates anything
    module = importlib.import_module(SUBCOMMANDS[name][0])
    module.run([f"vidgan {name}"] + argv[2:])


if __name__ == "__main__":
    run()
