"""LiteRT (TFLite) export for phones and edge boxes, and the runner `vidgan synthesize` uses.

    vidgan export --workdir=RUN --export_dir=OUT --format=litert \\
        [--quantize=none|float16|dynamic_range] [--enhance=...]
    vidgan synthesize --model_dir=OUT --out_dir=VIDEOS --num_videos=N  # vidgan[litert]

writes OUT/<version>/generator.tflite and OUT/<version>/metadata.json. The flatbuffer has
one signature, generate_from_latents: latents float32 [N, z_dim] (and label int32 [N] for
a class-conditional model) -> video uint8 [N, T, H, W, 3], the SavedModel's signature of
that name with the enhancement passes baked in, in builtin ops only (XNNPACK runs it).
The seed -> latent rule stays beside it (TFLite has no stateless random ops): metadata
"latent_rule" writes it out, and `LiteRTModel` applies it with TensorFlow before calling
the interpreter, so seed s gives the SavedModel's video for s. Clips of the model's T
frames only: `generate_frames` (any length) and the context models' animate / extend loop
in TensorFlow and stay SavedModel-only.

Quantization (TFLiteConverter's): float16 stores weights in 16 bits and computes in
float32 on CPU; dynamic_range stores the weights of dense layers in 8 bits (the 3D
convolutions stay float32: TFLite's dynamic-range and int8 kernels do not cover CONV_3D).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile

import numpy as np
import tensorflow as tf
from tensorflow.python.framework import convert_to_constants

from vidgan import config as config_lib
from vidgan import files
from vidgan import models
from vidgan.export.common import ExportError, load, published, staging_folder
from vidgan.models import sampling
from vidgan.pixels import to_uint8
from vidgan.training import workdir as workdir_lib

QUANTIZE = ("none", "float16", "dynamic_range")
MODEL_FILE = "generator.tflite"
METADATA_FILE = "metadata.json"
SIGNATURE = "generate_from_latents"
INSTALL = "pip install vidgan[litert]"


def _reason(message: str) -> str:
    """The converter's reason in a few words: the TensorFlow ops without a LiteRT builtin
    (e.g. "tf.ResizeBicubic has no LiteRT builtin"), else its first error line."""
    ops = sorted(set(re.findall(r"'(tf\.\w+)' op is neither a custom op nor a flex op",
                                message)))
    if ops:
        return f"{', '.join(ops)} {'has' if len(ops) == 1 else 'have'} no LiteRT builtin"
    lines = [line.strip() for line in message.splitlines() if "error" in line.lower()]
    return (lines[0] if lines else (message.splitlines() or ["unknown"])[0])[:300]


def _flatbuffer(loaded, quantize: str) -> bytes:
    """The generator (and enhancement) frozen into one builtin-op flatbuffer."""
    generator, enhancement = loaded.generator, loaded.enhancement
    specs = generator.input_specs()
    signature = [tf.TensorSpec([None, sampling.latent_width(specs)], tf.float32, "latents")]
    if generator.num_classes:
        signature.append(tf.TensorSpec([None], tf.int32, "label"))

    def video(latents, label=None):  # [N, z_dim] -> uint8 [N, T, H, W, 3]
        inputs = sampling.unflatten_noise(specs, latents)
        if label is not None:
            inputs["label"] = label
        videos = generator(inputs, training=False)
        # Static T, H, W: LiteRT's kernels (depthwise convs of the sharpen pass, say)
        # need them where the generator's reshapes leave them unknown.
        videos = tf.reshape(videos, [-1, *generator.video_shape])
        return to_uint8(videos if enhancement is None else enhancement(videos))

    # Weights become constants (the converter would keep them as uninitialized resource
    # variables); the wrapper names the output, which freezing drops.
    frozen = convert_to_constants.convert_variables_to_constants_v2(
        tf.function(video, input_signature=signature).get_concrete_function())
    named = tf.function(lambda *args: {"video": frozen(*args)[0]}, input_signature=signature)
    # Through a SavedModel of the frozen function: the flatbuffer's signature keeps its name.
    holder = tempfile.mkdtemp(prefix="vidgan-litert-")
    try:
        tf.saved_model.save(tf.Module(), holder,
                            signatures={SIGNATURE: named.get_concrete_function()})
        converter = tf.lite.TFLiteConverter.from_saved_model(holder, signature_keys=[SIGNATURE])
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        if quantize != "none":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if quantize == "float16":
            converter.target_spec.supported_types = [tf.float16]
        return converter.convert()
    except Exception as e:  # the converter raises ConverterError and others
        raise ExportError(f"this export does not convert to LiteRT builtin ops "
                          f"({_reason(str(e))}); use the SavedModel export") from None
    finally:
        shutil.rmtree(holder, ignore_errors=True)


def _interpreter(num_threads: int | None = None, **source):
    """ai-edge-litert's interpreter; else (only to check an export) TensorFlow's own."""
    try:
        from ai_edge_litert.interpreter import Interpreter  # noqa: PLC0415
    except ImportError:
        Interpreter = tf.lite.Interpreter  # noqa: N806
    return Interpreter(num_threads=num_threads, **source)


def _check_runs(blob: bytes, metadata: dict) -> None:
    """A converter can write a flatbuffer the runtime refuses (a tensor shaped at
    conversion): run two videos before anything is written."""
    feed = {"latents": np.zeros([2, metadata["z_dim"]], np.float32)}
    if metadata["conditional"]:
        feed["label"] = np.zeros([2], np.int32)
    try:
        _interpreter(model_content=blob).get_signature_runner(SIGNATURE)(**feed)
    except (ValueError, RuntimeError) as e:
        raise ExportError(f"the LiteRT flatbuffer converts but does not run "
                          f"({str(e).splitlines()[0][:200]}); use the SavedModel export") from None


def export_litert(workdir: str, export_dir: str, step: int | None = None, ema: bool = True,
                  version: int | None = None, overwrite: bool = False, enhance: str = "",
                  sr_workdir: str | None = None, quantize: str = "none") -> str:
    """Writes export_dir/<version>/{generator.tflite, metadata.json}; returns the folder.

    Same loading, enhancement chain, versioning and atomic rename as the SavedModel
    export; ExportError (one line) for what cannot be exported.
    """
    if quantize not in QUANTIZE:
        raise ExportError(f"unknown quantize {quantize!r}; use one of {', '.join(QUANTIZE)}")
    try:
        context = workdir_lib.load_config(workdir).data.context_frames
    except workdir_lib.RunError as e:
        raise ExportError(str(e)) from None
    if context:
        raise ExportError("a context model (animate / extend) loops over chunks in "
                          "TensorFlow: export it as a SavedModel (--format=savedmodel)")
    loaded = load(workdir, step, ema, enhance, sr_workdir)
    blob = _flatbuffer(loaded, quantize)
    _check_runs(blob, loaded.metadata)
    metadata = {**loaded.metadata, "format": "litert", "quantize": quantize,
                "signature": SIGNATURE, "any_length": False,
                "precision": {"weights": {"none": "float32", "float16": "float16",
                                          "dynamic_range": "int8 dense, float32 convs"}[
                                              quantize], "compute": "float32"}}
    target, staging = staging_folder(export_dir, loaded.step if version is None else version,
                                     overwrite)
    with published(staging, target):
        with open(os.path.join(staging, MODEL_FILE), "wb") as f:
            f.write(blob)
        files.write_json(os.path.join(staging, METADATA_FILE), metadata)
    return target


def is_litert(path: str) -> bool:
    """Whether `path` is a .tflite file or a folder holding this export's flatbuffer."""
    return path.endswith(".tflite") or os.path.isfile(os.path.join(path, MODEL_FILE))


class LiteRTModel:
    """A LiteRT export behind the SavedModel's synthesis interface:
    signatures["generate_truncated"](seed=int64 [N], truncation=float32 [] (, label=int32
    [N])) -> {"video": uint8 [N, T, H, W, 3]}, the latents drawn by export's seed rule.
    Runs on ai-edge-litert's interpreter (XNNPACK on CPU, all cores)."""

    def __init__(self, path: str, num_threads: int | None = None):
        folder = os.path.dirname(path) if path.endswith(".tflite") else path
        model_path = path if path.endswith(".tflite") else os.path.join(path, MODEL_FILE)
        try:
            import ai_edge_litert.interpreter  # noqa: F401, PLC0415
        except ImportError:
            raise ExportError(f"running a LiteRT export needs ai-edge-litert: {INSTALL}") from None
        try:
            with open(os.path.join(folder, METADATA_FILE)) as f:
                self.metadata = json.load(f)
            self.interpreter = _interpreter(num_threads or os.cpu_count(),
                                            model_path=model_path)
            self._run = self.interpreter.get_signature_runner(self.metadata["signature"])
        except (OSError, ValueError, KeyError, RuntimeError) as e:
            raise ExportError(f"{model_path} is not a vidgan LiteRT export or is corrupt: "
                              f"{str(e).splitlines()[0][:300]}") from None
        config = config_lib.from_dict(self.metadata["config"])
        self.specs = models.build_generator(config).input_specs()  # declared inputs only
        self.path = model_path
        self.signatures = {"generate_truncated": self.generate}

    def latents(self, seed, truncation=1.0) -> np.ndarray:
        """Export's rule: float32 [N, z_dim] for seeds int64 [N]."""
        noise = sampling.draw_noise(self.specs, sampling.seed_pairs_for_seeds(
            tf.constant(seed, tf.int64)))
        return (sampling.flatten_noise(self.specs, noise) * float(truncation)).numpy()

    def generate(self, seed, truncation=1.0, label=None) -> dict[str, tf.Tensor]:
        feed = {"latents": self.latents(seed, truncation)}
        if self.metadata.get("conditional"):
            feed["label"] = np.asarray(label, np.int32)
        return {"video": tf.constant(self._run(**feed)["video"])}
