"""Embed stage: faces to templates. One file per backend, registered in :data:`BACKENDS`.

:data:`BACKENDS` maps a name to ``("module:Class", description)``; the module is imported only when
the backend is made, so listing backends never loads dlib or onnxruntime.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
from typing import Any

from harness.embed.base import Embedder
from harness.errors import ConfigError

BACKENDS: dict[str, tuple[str, str]] = {
    "dlib-resnet-v1": ("harness.embed.dlib_resnet:DlibResNet",
                       "dlib ResNet-29, 128-d, face_recognition's encoder (weights: face_recognition_models)"),
    "dlib-resnet-v1-onnx": ("harness.embed.dlib_onnx:DlibResNetOnnx",
                            "dlib-resnet-v1's weights under onnxruntime, converted locally on first use (faster; "
                            "templates equal to float round-off, not bit-identical)"),
    "onnx": ("harness.embed.onnx_model:OnnxEmbedder",
             "any ONNX embedding model via onnxruntime (embedder.path=FILE.onnx; fed as its model card says)"),
    "null": ("harness.embed.null:NullEmbedder", "pixel statistics, no model (overhead measurement)"),
}

#: Options every caller may pass whatever the backend; dropped where a backend does not take them
#: and they hold their default (so ``make("null", jitters=1, path=None)`` works).
_DEFAULTS = {"jitters": 1, "path": None, "card": None, "provider": "cpu", "threads": 1, "batch_size": 32,
             "graph_optimization": "all", "partial_landmarks": False}


def backend_class(name: str) -> type:
    """The class registered as ``name`` (imported now)."""
    if name not in BACKENDS:
        raise ConfigError(f"unknown embedder {name!r}; choose one of {', '.join(BACKENDS)}")
    module, _, cls = BACKENDS[name][0].partition(":")
    return getattr(importlib.import_module(module), cls)


def make(name: str, **options: Any) -> Embedder:
    """Build the embedder called ``name`` with ``options`` (keyword arguments of its class).

    An option the backend does not take is an error unless it holds its default value.
    """
    cls = backend_class(name)
    params = {} if cls.__init__ is object.__init__ else inspect.signature(cls.__init__).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    kwargs = {}
    for key, value in options.items():
        if key in params or takes_any:
            kwargs[key] = value
        elif key in _DEFAULTS and value == _DEFAULTS[key]:
            continue
        else:
            raise ConfigError(f"embedder.{key}={value!r}: the {name} embedder does not take this option "
                              f"(it takes: {', '.join(p for p in params if p != 'self') or 'none'})")
    return cls(**kwargs)


def from_config(ec: Any) -> Embedder:
    """The embedder an :class:`harness.config.EmbedderConfig` describes (every field passed as an option)."""
    options = dataclasses.asdict(ec)
    return make(options.pop("name"), **options)


def describe(name: str) -> str:
    """One-line description of a backend."""
    return BACKENDS[name][1]


__all__ = ["BACKENDS", "Embedder", "backend_class", "describe", "from_config", "make"]
