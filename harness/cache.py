"""Content-addressed cache of per-image acquisition results, written atomically.

The key hashes the image bytes' sha256 with everything that changes the result (detector,
embedder, their weight hashes and parameters, capture degradation). A killed run leaves
only whole entries behind, so the next run resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Optional

import numpy as np
import platformdirs

#: Bump when the record layout or the acquisition code changes meaning.
CACHE_VERSION = 1


def default_dir() -> Path:
    return Path(os.environ.get("FACERISK_CACHE") or platformdirs.user_cache_dir("facerisk")) / "acquisitions"


def params_digest(params: dict[str, Any]) -> str:
    """Stable hash of a parameter mapping (canonical JSON)."""
    blob = json.dumps({"v": CACHE_VERSION, **params}, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file and rename, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


class AcquisitionCache:
    """One ``.npz`` per (image content, parameters) under ``root``."""

    def __init__(self, root: Optional[Path] = None, enabled: bool = True):
        self.root = Path(root) if root else default_dir()
        self.enabled = enabled

    def key(self, image_sha: str, digest: str) -> str:
        return hashlib.sha256(f"{image_sha}:{digest}".encode()).hexdigest()

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.npz"

    def get(self, key: str) -> Optional[dict[str, Any]]:
        """The stored record, or None (absent, disabled, or unreadable: then recomputed)."""
        if not self.enabled:
            return None
        p = self._path(key)
        if not p.is_file():
            return None
        try:
            with np.load(p, allow_pickle=False) as z:
                rec = json.loads(bytes(z["meta"]).decode())
                rec["embedding"] = z["embedding"] if z["embedding"].size else None
                rec["landmarks"] = z["landmarks"]
            return rec
        except (OSError, ValueError, KeyError, json.JSONDecodeError):
            return None

    def put(self, key: str, record: dict[str, Any]) -> None:
        if not self.enabled:
            return
        meta = {k: v for k, v in record.items() if k not in ("embedding", "landmarks")}
        buf = io.BytesIO()
        emb = record.get("embedding")
        np.savez(
            buf,
            meta=np.frombuffer(json.dumps(meta, default=float).encode(), dtype=np.uint8),
            embedding=np.zeros(0) if emb is None else np.asarray(emb, dtype=np.float64),
            landmarks=np.asarray(record.get("landmarks", np.zeros((0, 2))), dtype=np.float64),
        )
        atomic_write_bytes(self._path(key), buf.getvalue())
