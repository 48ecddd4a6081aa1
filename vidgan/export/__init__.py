"""Exports of a trained generator: a TensorFlow SavedModel (`savedmodel`, the default,
for TF Serving and `vidgan synthesize`) and a LiteRT flatbuffer (`litert`, for phones and
edge boxes). `vidgan export --format=...`; the formats share `common`'s loading."""

from vidgan.export.common import ExportError, Loaded, build_metadata, load
from vidgan.export.savedmodel import GeneratorModule, export

__all__ = ["ExportError", "GeneratorModule", "Loaded", "build_metadata", "export", "load"]
