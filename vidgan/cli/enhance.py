"""`vidgan enhance --input=VIDEO --output=OUT.mp4 --passes=denoise,sharpen,sr2x
[--sr_workdir=DIR] [--chunk=32] [--fps=F]`.

Runs an enhancement chain over any video file OpenCV reads (or a frame folder), a chunk
of frames at a time. The work is `vidgan.enhance.video.enhance_file(...)`.
"""

from __future__ import annotations

from absl import flags

from vidgan.cli.common import check_args, fail, run_app

_INPUT = flags.DEFINE_string("input", None, "A video file (mp4, avi, mkv, webm, gif, ...) "
                             "or a folder of numbered frames.")
_OUTPUT = flags.DEFINE_string("output", None, "The enhanced video (.mp4, H.264).")
_PASSES = flags.DEFINE_string(
    "passes", None, "Enhancement chain, e.g. denoise,sharpen(amount=0.8),sr2x (passes: "
    "denoise, sharpen, bicubic2x, bicubic4x, sr2x, sr4x).")
_SR_WORKDIR = flags.DEFINE_string("sr_workdir", None,
                                  "The `vidgan train-sr` run whose network sr2x/sr4x use.")
_CHUNK = flags.DEFINE_integer("chunk", 32, "Frames enhanced at once (bounds memory).",
                              lower_bound=1)
_FPS = flags.DEFINE_float("fps", None, "Output frame rate (default: the input's).")
_PROGRESS = flags.DEFINE_bool("progress", True, "Show a progress bar.")


def main(argv: list[str]) -> None:
    check_args("enhance", argv, (_INPUT, _OUTPUT, _PASSES))

    from vidgan.enhance import EnhanceError  # noqa: PLC0415  (imports TensorFlow)
    from vidgan.enhance.video import enhance_file  # noqa: PLC0415

    try:
        result = enhance_file(_INPUT.value, _OUTPUT.value, _PASSES.value, _SR_WORKDIR.value,
                              chunk=_CHUNK.value, fps=_FPS.value, progress=_PROGRESS.value)
    except EnhanceError as e:
        fail("enhance", str(e))
    except (OSError, ValueError) as e:
        fail("enhance", str(e), code=1)
    h, w = result["output_size"]
    print(f"wrote {_OUTPUT.value}: {result['frames']} frames, {result['input_size'][1]}x"
          f"{result['input_size'][0]} -> {w}x{h}, {result['fps']:g} fps")


def run(argv: list[str]) -> None:
    run_app("enhance", main, argv)
