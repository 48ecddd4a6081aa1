"""`vidgan animate --model_dir=M --image=PATH|DIR --num_videos=K --out_dir=D`.

Brings still images to life with an exported image -> video model (data.context_frames=1):
K videos per image (seeds seed_start ..), each starting with the image. Resumable like
synthesize. The work is `vidgan.continuation.animate(AnimateRequest(...))`.
"""

from __future__ import annotations

from absl import flags

from vidgan.cli.common import check_args, fail, run_app

_MODEL_DIR = flags.DEFINE_string("model_dir", None, "Exported image -> video model (the "
                                 "export dir or one version folder).")
_IMAGE = flags.DEFINE_string("image", None, "An image file, or a folder of images.")
_OUT_DIR = flags.DEFINE_string("out_dir", None, "Where to write <image>/seed_N.<ext> and "
                               "manifest.json.")
_NUM_VIDEOS = flags.DEFINE_integer("num_videos", 1, "Videos per image (one per seed).")
_SEED_START = flags.DEFINE_integer("seed_start", 0, "First seed; seeds are consecutive.")
_BATCH_SIZE = flags.DEFINE_integer("batch_size", 16, "Videos generated per model call.")
_FORMAT = flags.DEFINE_string("format", "mp4", "mp4 (H.264), gif, npz or png_strip.")
_FPS = flags.DEFINE_float("fps", None, "Frames per second (default: the model's).")
_OVERWRITE = flags.DEFINE_bool("overwrite", False, "Regenerate files that exist, and allow an "
                               "out dir made with another model or settings.")


def main(argv: list[str]) -> None:
    check_args("animate", argv, (_MODEL_DIR, _IMAGE, _OUT_DIR))

    from vidgan import continuation  # noqa: PLC0415  (imports TensorFlow)

    try:
        summary = continuation.animate(continuation.AnimateRequest(
            model_dir=_MODEL_DIR.value, images=_IMAGE.value, out_dir=_OUT_DIR.value,
            num_videos=_NUM_VIDEOS.value, seed_start=_SEED_START.value,
            batch_size=_BATCH_SIZE.value, format=_FORMAT.value, fps=_FPS.value,
            overwrite=_OVERWRITE.value))
    except continuation.ContinuationError as e:
        fail("animate", str(e))
    except OSError as e:
        fail("animate", str(e), code=1)
    print(f"wrote {summary['written']} videos ({summary['skipped']} were already there) to "
          f"{summary['out_dir']}")


def run(argv: list[str]) -> None:
    run_app("animate", main, argv)
