"""Any ONNX face-embedding model through onnxruntime.

The face is aligned with dlib's ``get_face_chip`` from the detector's landmarks (the same
similarity transform dlib's ResNet uses), resized to the model's input size, scaled as
``(pixel - mean) / std`` and fed NCHW (or NHWC when the input's last axis is 3).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from harness.detect.base import Detection
from harness.errors import ConfigError
from harness.modelfiles import sha256_model


class OnnxEmbedder:
    """Embeds with an ONNX model file; the first output is the template."""

    def __init__(self, path: str, mean: float = 127.5, std: float = 128.0, padding: float = 0.25):
        self.path = Path(path) if path else None
        self.mean, self.std, self.padding = float(mean), float(std), float(padding)
        self.name = f"onnx:{self.path.name}" if self.path else "onnx"
        self._sess = None

    def load(self) -> None:
        if self.path is None or not self.path.is_file():
            raise ConfigError(f"embedder.path {self.path!s}: ONNX model file not found (set embedder.path=FILE.onnx)")
        try:
            import onnxruntime as ort
        except ImportError:
            raise ConfigError("the onnx embedder needs onnxruntime: pip install 'facerisk[onnx]'") from None
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1  # one process per core does the parallelism
        try:
            self._sess = ort.InferenceSession(str(self.path), opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise ConfigError(f"{self.path}: onnxruntime cannot load the model ({exc})") from None
        shape = self._sess.get_inputs()[0].shape
        if len(shape) != 4:
            raise ConfigError(f"{self.path}: expected a 4-D image input, got shape {shape}")
        self._nhwc = shape[3] == 3
        h, w = (shape[1], shape[2]) if self._nhwc else (shape[2], shape[3])
        self._size = (int(h) if isinstance(h, int) else 112, int(w) if isinstance(w, int) else 112)

    def embed(self, image: np.ndarray, face: Detection) -> np.ndarray:
        import dlib
        from PIL import Image

        from harness.embed.dlib_resnet import to_dlib_shape

        if self._sess is None:
            self.load()
        chip = dlib.get_face_chip(image, to_dlib_shape(face), size=150, padding=self.padding)
        h, w = self._size
        chip = np.asarray(Image.fromarray(chip).resize((w, h), Image.BILINEAR), dtype=np.float32)
        x = (chip - self.mean) / self.std
        x = x[None] if self._nhwc else x.transpose(2, 0, 1)[None]
        out = self._sess.run(None, {self._sess.get_inputs()[0].name: x.astype(np.float32)})[0]
        return np.asarray(out, dtype=np.float64).reshape(-1)

    def provenance(self) -> dict[str, Any]:
        import onnxruntime as ort

        return {
            "name": self.name,
            "library": f"onnxruntime {ort.__version__}",
            "input_size": list(self._size) if self._sess else None,
            "normalisation": {"mean": self.mean, "std": self.std},
            "chip_padding": self.padding,
            "weights": {self.path.name: sha256_model(self.path)} if self.path and self.path.is_file() else {},
        }
