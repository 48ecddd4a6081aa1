"""`vidgan export --workdir=DIR --export_dir=OUT [--step=N] [--ema=true] [--version=V]
[--format=savedmodel|litert] [--precision=float32|float16|bfloat16]
[--quantize=none|float16|dynamic_range]`.

Writes OUT/<version>/ (version defaults to the training step): a TensorFlow SavedModel
(`vidgan.export.export`), or with --format=litert a LiteRT flatbuffer and its metadata
(`vidgan.export.litert.export_litert`).
"""

from __future__ import annotations

from absl import flags

from vidgan.cli.common import check_args, fail, run_app

_WORKDIR = flags.DEFINE_string("workdir", None, "Training run directory to export from.")
_EXPORT_DIR = flags.DEFINE_string(
    "export_dir", None, "Where to write the SavedModel; a numeric version folder is created "
    "inside, as TF Serving expects.")
_STEP = flags.DEFINE_integer("step", None, "Checkpoint step to export (default: the latest).")
_EMA = flags.DEFINE_bool("ema", True, "Export the EMA generator (true) or the raw one.")
_VERSION = flags.DEFINE_integer("version", None, "Version folder name (default: the step).")
_OVERWRITE = flags.DEFINE_bool("overwrite", False, "Replace an existing version folder.")
_ENHANCE = flags.DEFINE_string(
    "enhance", "", "Enhancement chain baked in after the generator, e.g. "
    "denoise,sharpen(amount=0.8),sr2x (passes: denoise, sharpen, bicubic2x, bicubic4x, sr2x, "
    "sr4x; see README).")
_SR_WORKDIR = flags.DEFINE_string("sr_workdir", None,
                                  "The `vidgan train-sr` run whose network sr2x/sr4x use.")
_FORMAT = flags.DEFINE_string(
    "format", "savedmodel", "savedmodel (TF Serving, vidgan synthesize) or litert (a .tflite "
    "flatbuffer for phones and edge boxes; run it with pip install vidgan[litert]).")
_QUANTIZE = flags.DEFINE_string(
    "quantize", "none", "--format=litert only: none, float16 (16-bit weights) or "
    "dynamic_range (8-bit dense weights; 3D convs stay float32).")
_PRECISION = flags.DEFINE_string(
    "precision", "float32", "float32, float16 or bfloat16: how the generator's weights are "
    "stored. 16 bits halve the file; compute is 16-bit where this machine runs it natively "
    "(bfloat16 with AVX512_BF16/AMX, float16 on a GPU), else float32.")


def main(argv: list[str]) -> None:
    check_args("export", argv, (_WORKDIR, _EXPORT_DIR))

    if _FORMAT.value not in ("savedmodel", "litert"):
        fail("export", f"unknown format {_FORMAT.value!r}; use savedmodel or litert")
    if _FORMAT.value == "savedmodel" and _QUANTIZE.value != "none":
        fail("export", "--quantize applies to --format=litert; a SavedModel takes --precision")
    if _FORMAT.value == "litert" and _PRECISION.value != "float32":
        fail("export", "--precision applies to SavedModels; a LiteRT export takes --quantize")

    from vidgan import export as export_lib  # noqa: PLC0415  (imports TensorFlow)
    from vidgan.export import litert  # noqa: PLC0415

    common = dict(step=_STEP.value, ema=_EMA.value, version=_VERSION.value,
                  overwrite=_OVERWRITE.value, enhance=_ENHANCE.value,
                  sr_workdir=_SR_WORKDIR.value)
    try:
        if _FORMAT.value == "litert":
            path = litert.export_litert(_WORKDIR.value, _EXPORT_DIR.value,
                                        quantize=_QUANTIZE.value, **common)
        else:
            path = export_lib.export(_WORKDIR.value, _EXPORT_DIR.value,
                                     precision=_PRECISION.value, **common)
    except export_lib.ExportError as e:
        fail("export", str(e))
    except OSError as e:
        fail("export", str(e), code=1)
    print(f"exported to {path}")


def run(argv: list[str]) -> None:
    run_app("export", main, argv)
