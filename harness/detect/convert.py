"""Convert a detector's .tflite file to ONNX once, into the user model cache.

Converter: ``tflite2onnx`` (an optional dependency, the ``test`` extra installs it). The BlazeFace
files store float16 weights that a ``Dequantize`` op widens to float32; tflite2onnx warns
"Data type float16 not supported/tested yet" for each of them. The warnings are counted and
recorded, and the converted graphs are checked against LiteRT on real images by
tests/detect/test_blazeface_parity.py rather than trusted.
"""

from __future__ import annotations

import importlib.metadata
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import platformdirs

from harness.errors import FaceriskError
from harness.modelfiles import sha256_model


def model_cache_dir() -> Path:
    """Where converted models are kept ($FACERISK_CACHE/models or the user cache)."""
    return Path(os.environ.get("FACERISK_CACHE") or platformdirs.user_cache_dir("facerisk")) / "models"


def _converter_version() -> str:
    try:
        return importlib.metadata.version("tflite2onnx")
    except importlib.metadata.PackageNotFoundError:
        return ""


class _Count(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def tflite_to_onnx(src: str | Path, cache_dir: str | Path | None = None) -> tuple[Path, dict[str, Any]]:
    """The ONNX conversion of ``src`` (converted on first use), and how it was made.

    The file name holds the source's sha256 and the converter version, so a changed source or
    converter gives a new file; writes go to a temporary name first and are renamed into place.

    Raises
    ------
    FaceriskError
        tflite2onnx is missing (and no converted file is cached), or the conversion fails.
    """
    src = Path(src)
    src_sha = sha256_model(src)
    root = Path(cache_dir) if cache_dir else model_cache_dir()
    version = _converter_version()
    # A cached conversion from any converter version is reused when tflite2onnx is absent.
    pattern = f"{src.stem}-{src_sha[:16]}-tflite2onnx-{version or '*'}.onnx"
    found = sorted(root.glob(pattern)) if root.is_dir() else []
    for dst in reversed(found):
        meta = _cached_meta(dst)
        if meta is not None:
            return dst, meta
    if not version:
        stale = f" (the cached {found[-1]} is damaged: delete it)" if found else ""
        raise FaceriskError(
            f"detector.runtime=onnxruntime needs {src.name} converted to ONNX and tflite2onnx is not installed"
            f"{stale}; run 'pip install tflite2onnx' (or use --set detector.runtime=litert)"
        )
    import tflite2onnx

    root.mkdir(parents=True, exist_ok=True)
    dst = root / pattern.replace("*", version)
    counter = _Count()
    logger = logging.getLogger("tflite2onnx")
    old_propagate = logger.propagate
    logger.addHandler(counter)
    logger.propagate = False  # counted and recorded, not printed once per tensor
    fd, tmp = tempfile.mkstemp(dir=root, suffix=".onnx.tmp")
    os.close(fd)
    try:
        tflite2onnx.convert(str(src), tmp)
        with open(tmp, "rb+") as f:  # on disk before it takes the final name (a power cut leaves no torn file)
            os.fsync(f.fileno())
        os.replace(tmp, dst)
    except Exception as exc:  # the converter raises many kinds; the user needs one line
        raise FaceriskError(f"{src}: tflite2onnx {version} could not convert it to ONNX ({exc})") from None
    finally:
        logger.removeHandler(counter)
        logger.propagate = old_propagate
        if os.path.exists(tmp):
            os.unlink(tmp)
    fp16 = sum("float16" in m for m in counter.messages)
    meta = {"converter": f"tflite2onnx {version}", "source_file": src.name, "source_sha256": src_sha,
            "converter_warnings": len(counter.messages), "float16_warnings": fp16,
            "note": "float16 weights dequantized to float32 in the graph; LiteRT parity tested on frl-london"}
    meta["onnx_sha256"] = sha256_model(dst)
    # The record of what was written, renamed into place after the model: a cached file whose hash does
    # not match it (truncated, damaged, replaced) is converted again rather than handed to onnxruntime.
    from harness.cache import atomic_write_text

    atomic_write_text(dst.with_suffix(".json"), json.dumps(meta, indent=2))
    return dst, meta


def _cached_meta(dst: Path) -> dict[str, Any] | None:
    """The conversion record of ``dst`` if the file is the one that was written, else None (a cache miss)."""
    try:
        meta = json.loads(dst.with_suffix(".json").read_text())
        ok = isinstance(meta, dict) and meta.get("onnx_sha256") == sha256_model(dst)
    except (OSError, ValueError):
        return None
    return meta if ok else None
