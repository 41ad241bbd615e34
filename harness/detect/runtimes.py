"""Small adapters that run one model file under LiteRT or onnxruntime.

Both take and return NHWC float32 arrays keyed by output name, so a detector's pre- and
post-processing is written once and the runtime is a setting. Each adapter reports its own
provenance (runtime, version, provider, model file sha256, input shape).
"""

from __future__ import annotations

import importlib
import importlib.metadata
from pathlib import Path
from typing import Any

import numpy as np

from harness.errors import FaceriskError
from harness.modelfiles import sha256_model

RUNTIMES = ("litert", "onnxruntime")

_INSTALL = {
    "litert": ("ai_edge_litert.interpreter", "ai-edge-litert"),
    "onnxruntime": ("onnxruntime", "onnxruntime"),
}


def _import(runtime: str):
    module, dist = _INSTALL[runtime]
    try:
        return importlib.import_module(module)
    except ImportError:
        raise FaceriskError(
            f"detector.runtime={runtime}: the {dist} package is not installed; run 'pip install {dist}' "
            f"or choose another runtime with --set detector.runtime=..."
        ) from None


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - importable but not a distribution
        return "unknown"


class LiteRTModel:
    """A .tflite model under LiteRT (``ai_edge_litert.interpreter``), CPU with XNNPACK.

    Parameters
    ----------
    path : path-like
        The .tflite file.
    threads : int
        Interpreter threads (1: one per worker process, the harness parallelises over images).
    """

    runtime = "litert"

    def __init__(self, path: str | Path, threads: int = 1):
        self.path = Path(path)
        self.threads = int(threads)
        interp = _import("litert")
        self._it = interp.Interpreter(model_path=str(self.path), num_threads=self.threads)
        self._it.allocate_tensors()
        self._in = self._it.get_input_details()[0]
        self._out = self._it.get_output_details()

    @property
    def input_shape(self) -> tuple[int, ...]:
        """NHWC input shape."""
        return tuple(int(v) for v in self._in["shape"])

    def run(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Outputs by tensor name for one NHWC float32 batch."""
        self._it.set_tensor(self._in["index"], np.ascontiguousarray(x, dtype=np.float32))
        self._it.invoke()
        return {d["name"]: self._it.get_tensor(d["index"]).copy() for d in self._out}

    def provenance(self) -> dict[str, Any]:
        return {"runtime": "litert", "version": _version("ai-edge-litert"), "provider": "CPU (XNNPACK delegate)",
                "threads": self.threads, "model_file": self.path.name, "model_sha256": sha256_model(self.path),
                "input_shape_nhwc": list(self.input_shape)}


class OnnxModel:
    """An .onnx model under onnxruntime's CPU provider, fed NHWC like the LiteRT adapter.

    Converted BlazeFace graphs take NCHW; the adapter transposes when the model's channel axis is 1.
    """

    runtime = "onnxruntime"

    def __init__(self, path: str | Path, threads: int = 1):
        self.path = Path(path)
        self.threads = int(threads)
        ort = _import("onnxruntime")
        so = ort.SessionOptions()
        so.intra_op_num_threads = self.threads
        so.inter_op_num_threads = 1
        so.log_severity_level = 3
        self._sess = ort.InferenceSession(str(self.path), so, providers=["CPUExecutionProvider"])
        inp = self._sess.get_inputs()[0]
        self._in_name = inp.name
        shape = [int(d) if isinstance(d, int) else 1 for d in inp.shape]
        self._nchw = len(shape) == 4 and shape[1] == 3 and shape[3] != 3
        self._shape = (shape[0], shape[2], shape[3], shape[1]) if self._nchw else tuple(shape)
        self._names = [o.name for o in self._sess.get_outputs()]

    @property
    def input_shape(self) -> tuple[int, ...]:
        """NHWC input shape."""
        return self._shape

    def run(self, x: np.ndarray) -> dict[str, np.ndarray]:
        x = np.ascontiguousarray(x, dtype=np.float32)
        if self._nchw:
            x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
        return dict(zip(self._names, self._sess.run(None, {self._in_name: x})))

    def provenance(self) -> dict[str, Any]:
        return {"runtime": "onnxruntime", "version": _version("onnxruntime"), "provider": "CPUExecutionProvider",
                "threads": self.threads, "model_file": self.path.name, "model_sha256": sha256_model(self.path),
                "input_shape_nhwc": list(self.input_shape), "input_layout": "NCHW" if self._nchw else "NHWC"}


def open_model(runtime: str, path: str | Path, threads: int = 1):
    """A LiteRT or onnxruntime adapter for ``path``."""
    if runtime == "litert":
        return LiteRTModel(path, threads)
    if runtime == "onnxruntime":
        return OnnxModel(path, threads)
    raise FaceriskError(f"detector.runtime={runtime!r}: choose one of {', '.join(RUNTIMES)}")


def require(runtime: str) -> None:
    """Fail with the one-line install hint now if ``runtime`` is not importable."""
    if runtime not in RUNTIMES:
        raise FaceriskError(f"detector.runtime={runtime!r}: choose one of {', '.join(RUNTIMES)}")
    _import(runtime)
