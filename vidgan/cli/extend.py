"""`vidgan extend --model_dir=M --input=VIDEO --seconds=20 | --frames=N --output=OUT.mp4
[--enhance=PASSES --sr_workdir=DIR] [--seed=S]`.

Continues a video with an exported context model (data.context_frames = k): the input,
resampled to the model's fps and size, followed by frames generated chunk by chunk from
the last k frames so far, `--seconds` (or `--frames`) long in all. The work is
`vidgan.continuation.extend(ExtendRequest(...))`.
"""

from __future__ import annotations

from absl import flags

from vidgan.cli.common import check_args, fail, run_app

_MODEL_DIR = flags.DEFINE_string("model_dir", None, "Exported context model (the export "
                                 "dir or one version folder).")
_INPUT = flags.DEFINE_string("input", None, "The video to continue (mp4, avi, mkv, webm, "
                             "gif, ... or a folder of numbered frames).")
_OUTPUT = flags.DEFINE_string("output", None, "The result: .mp4 (H.264), .gif, .npz or .png.")
_SECONDS = flags.DEFINE_float("seconds", None, "Length of the output in seconds (input "
                              "included), at the model's fps.")
_FRAMES = flags.DEFINE_integer("frames", None, "Length of the output in frames (input "
                               "included), instead of --seconds.")
_SEED = flags.DEFINE_integer("seed", 0, "Seed of the continuation.")
_ENHANCE = flags.DEFINE_string("enhance", "", "Enhancement chain for the whole output, e.g. "
                               "denoise,sharpen,sr2x (mp4 output).")
_SR_WORKDIR = flags.DEFINE_string("sr_workdir", None, "The `vidgan train-sr` run whose "
                                  "network sr2x/sr4x use.")
_PROGRESS = flags.DEFINE_bool("progress", True, "Show a progress bar.")


def main(argv: list[str]) -> None:
    check_args("extend", argv, (_MODEL_DIR, _INPUT, _OUTPUT))

    from vidgan import continuation  # noqa: PLC0415  (imports TensorFlow)

    try:
        summary = continuation.extend(continuation.ExtendRequest(
            model_dir=_MODEL_DIR.value, input=_INPUT.value, output=_OUTPUT.value,
            seconds=_SECONDS.value, frames=_FRAMES.value, seed=_SEED.value,
            enhance=_ENHANCE.value, sr_workdir=_SR_WORKDIR.value), progress=_PROGRESS.value)
    except continuation.ContinuationError as e:
        fail("extend", str(e))
    except OSError as e:
        fail("extend", str(e), code=1)
    print(f"wrote {summary['output']}: {summary['input_frames']} input frames + "
          f"{summary['generated_frames']} generated = {summary['frames']} frames "
          f"({summary['frames'] / summary['fps']:.2f} s at {summary['fps']:g} fps)")


def run(argv: list[str]) -> None:
    run_app("extend", main, argv)
