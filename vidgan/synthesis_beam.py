"""Batch synthesis on Apache Beam: `vidgan synthesize ... --runner=DirectRunner` (or
PrismRunner, DataflowRunner, FlinkRunner, SparkRunner) with `pip install vidgan[beam]`.

    from vidgan.synthesis_beam import synthesize_beam
    synthesize_beam(SynthesisRequest("exports/gen", "out/", num_videos=10_000),
                    runner="DirectRunner", beam_options="--direct_num_workers=2")

The same plan as `vidgan.synthesis` (file names, manifest, skipping files that exist and
read back, so a re-run resumes), executed as a pipeline: the items still to write are
reshuffled into shards across workers; each worker loads the export once (Beam's
RunInference with a model handler for vidgan exports, SavedModel or LiteRT), generates
batches of up to `batch_size` seeds, and writes each video with the local path's writer.
The launcher writes the manifest, complete, when the pipeline has finished. Seed s gives
the video `vidgan synthesize` gives: the exported signature is the same and each seed's
video does not depend on the batch it is in.

Beam's own TensorFlow handler (`apache_beam.ml.inference.tensorflow_inference`) cannot
load these exports on TF 2.21: it imports tensorflow_hub (not a Beam dependency; it pulls
in tf-keras) and loads with `tf.keras.models.load_model`, which under Keras 3 reads
only `.keras` files ("the legacy SavedModel format is not supported by load_model() in
Keras 3"). The handler here loads with `tf.saved_model.load` instead.
"""

from __future__ import annotations

import os
import time

from absl import logging

from vidgan import synthesis
from vidgan.data import video_io
from vidgan.synthesis import SynthesisError, SynthesisRequest

RUNNERS = ("DirectRunner", "PrismRunner", "DataflowRunner", "FlinkRunner", "SparkRunner")
INSTALL = "pip install vidgan[beam]"


def _beam():
    try:
        import apache_beam  # noqa: PLC0415
        from apache_beam.ml.inference import base  # noqa: PLC0415
    except ImportError:
        raise SynthesisError(f"--runner needs Apache Beam: {INSTALL}") from None
    return apache_beam, base


def _handler_class(base):
    class GeneratorHandler(base.ModelHandler):
        """RunInference model handler: (seed, label) items -> uint8 videos [T, H, W, 3]."""

        def __init__(self, model_path: str, job: synthesis.Plan, batch_size: int):
            super().__init__()
            self.model_path, self.job, self.batch_size = model_path, job, batch_size

        def load_model(self):
            module, _, _ = synthesis.load_model(self.model_path)  # once per worker
            return module

        def run_inference(self, batch, model, inference_args=None):
            signature = model.signatures[self.job.signature]
            videos = signature(**self.job.inputs(list(batch)))["video"].numpy()
            return [base.PredictionResult(item, video) for item, video in zip(batch, videos)]

        def batch_elements_kwargs(self):
            return {"min_batch_size": self.batch_size, "max_batch_size": self.batch_size}

        def share_model_across_processes(self) -> bool:
            return False

    return GeneratorHandler


def _write(result, paths: dict, fps: float, format: str) -> str:
    path = paths[tuple(result.example)]
    video_io.write_video(path, result.inference, fps, format)
    return path


def synthesize_beam(request: SynthesisRequest, runner: str = "DirectRunner",
                    beam_options: str = "") -> dict:
    """Plans like `synthesize`, runs the pipeline on `runner`, writes the manifest; returns
    the same summary dict. SynthesisError (one line) for bad requests or runners."""
    request.validate()
    if runner not in RUNNERS:
        raise SynthesisError(f"unknown runner {runner!r}; use one of {', '.join(RUNNERS)}")
    beam, base = _beam()
    from apache_beam.options.pipeline_options import PipelineOptions  # noqa: PLC0415

    module, metadata, model_path = synthesis.load_model(request.model_dir)
    job = synthesis.plan(request, module, metadata, model_path)
    del module  # the workers load their own
    if job.todo:
        try:
            options = PipelineOptions([f"--runner={runner}", *beam_options.split()])
            options.get_all_options()  # parses now: a bad option fails here, in one line
        except (ValueError, SystemExit) as e:
            why = e if isinstance(e, ValueError) else "Beam's parser printed why above"
            raise SynthesisError(f"bad --beam_options {beam_options!r}: {why}") from None
        handler = _handler_class(base)(os.path.abspath(model_path), job, request.batch_size)
        start = time.perf_counter()
        try:
            with beam.Pipeline(options=options) as pipeline:
                _ = (pipeline
                     | "Items" >> beam.Create([list(item) for item in job.todo])
                     | "Shard" >> beam.Reshuffle()
                     | "Generate" >> base.RunInference(handler)
                     | "Write" >> beam.Map(_write, job.paths, job.fps, request.format))
        except Exception as e:  # a runner's failure: one line, the files written stay
            first = (str(e).splitlines() or [type(e).__name__])[0][:300]
            raise SynthesisError(f"the {runner} pipeline failed ({first}); files written "
                                 "so far stay, and a re-run skips them") from None
        logging.info("%s wrote %d videos in %.1f s.", runner, len(job.todo),
                     time.perf_counter() - start)
    job.write_manifest(request.out_dir, complete=True)
    return {"written": len(job.todo), "skipped": job.skipped, "out_dir": request.out_dir,
            "manifest": os.path.join(request.out_dir, synthesis.MANIFEST),
            "model": model_path, "stopped": None, "remaining": 0}
