"""`vidgan synthesize --model_dir=OUT --num_videos=N --out_dir=DIR [--format=mp4] ...`.

The work is `vidgan.synthesis.synthesize(SynthesisRequest(...))`; with --runner,
`vidgan.synthesis_beam.synthesize_beam` (Apache Beam, `pip install vidgan[beam]`).
"""

from __future__ import annotations

from absl import flags

from vidgan.cli.common import check_args, fail, run_app

_MODEL_DIR = flags.DEFINE_string(
    "model_dir", None, "An export (SavedModel or LiteRT): the export dir (its highest version "
    "is used), one version folder, or a .tflite file.")
_OUT_DIR = flags.DEFINE_string("out_dir", None, "Where to write the videos and manifest.json.")
_NUM_VIDEOS = flags.DEFINE_integer("num_videos", None, "How many videos (one per seed).")
_BATCH_SIZE = flags.DEFINE_integer("batch_size", 16, "Videos generated per model call.")
_FORMAT = flags.DEFINE_string("format", "mp4", "mp4 (H.264), gif, npz or png_strip.")
_SEED_START = flags.DEFINE_integer("seed_start", 0, "First seed; seeds are consecutive.")
_FPS = flags.DEFINE_float("fps", None, "Frames per second (default: the model's).")
_TRUNCATION = flags.DEFINE_float("truncation", 1.0, "Latent scale; < 1 trades variety for "
                                 "typicality.")
_LABELS = flags.DEFINE_string("labels", "", "Class-conditional models: class indices, e.g. "
                              "3,7, or all; each class gets --num_videos videos, in a folder "
                              "named after the class.")
_LABEL_NAMES = flags.DEFINE_string("label_names", "", "Class-conditional models: class names "
                                   "instead of indices, e.g. circle,square.")
_NUM_FRAMES = flags.DEFINE_integer(
    "num_frames", None, "Frames per video (default: the model's clip length). Other lengths "
    "need a family that renders any length (model.generator.name=motion); a longer video starts "
    "with the clip.")
_RUNNER = flags.DEFINE_string(
    "runner", None, "Run as an Apache Beam pipeline on this runner: DirectRunner, PrismRunner, "
    "DataflowRunner, FlinkRunner or SparkRunner (pip install vidgan[beam]); the same files "
    "and manifest as without.")
_BEAM_OPTIONS = flags.DEFINE_string(
    "beam_options", "", "--runner only: Beam pipeline options, e.g. \"--direct_num_workers=2 "
    "--direct_running_mode=multi_processing\" or Dataflow's --project/--region/--temp_location.")
_OVERWRITE = flags.DEFINE_bool("overwrite", False, "Regenerate files that exist, and allow an "
                               "out dir made with another model or settings.")


def main(argv: list[str]) -> None:
    check_args("synthesize", argv, (_MODEL_DIR, _OUT_DIR, _NUM_VIDEOS))
    if _BEAM_OPTIONS.value and not _RUNNER.value:
        fail("synthesize", "--beam_options applies with --runner")

    from vidgan import synthesis  # noqa: PLC0415  (imports TensorFlow)

    try:
        synthesizer = synthesis.Synthesizer(_MODEL_DIR.value)
        labels = synthesis.resolve_labels(synthesizer.metadata, _LABELS.value,
                                          _LABEL_NAMES.value)
        request = synthesis.SynthesisRequest(
            model_dir=_MODEL_DIR.value, out_dir=_OUT_DIR.value, num_videos=_NUM_VIDEOS.value,
            batch_size=_BATCH_SIZE.value, format=_FORMAT.value, seed_start=_SEED_START.value,
            fps=_FPS.value, truncation=_TRUNCATION.value, overwrite=_OVERWRITE.value,
            labels=labels, num_frames=_NUM_FRAMES.value)
        if _RUNNER.value:
            from vidgan import synthesis_beam  # noqa: PLC0415

            summary = synthesis_beam.synthesize_beam(request, _RUNNER.value, _BEAM_OPTIONS.value)
        else:
            summary = synthesizer.run(request)
    except synthesis.SynthesisError as e:
        fail("synthesize", str(e))
    except OSError as e:  # disk full, encoder failure
        fail("synthesize", str(e), code=1)
    except KeyboardInterrupt:  # a second SIGTERM / SIGINT: stop at once
        fail("synthesize", f"interrupted; finished videos are kept in {_OUT_DIR.value}; "
             "re-run the same command to write the rest", code=130)
    if summary["stopped"]:
        print(f"stopped by {summary['stopped']}: wrote {summary['written']} videos, "
              f"{summary['remaining']} to go; re-run the same command to finish them (written "
              f"ones are kept) in {summary['out_dir']}")
        return
    print(f"wrote {summary['written']} videos ({summary['skipped']} were already there) to "
          f"{summary['out_dir']}; manifest: {summary['manifest']}")


def run(argv: list[str]) -> None:
    run_app("synthesize", main, argv)
