"""Content-addressed cache of per-image acquisition results, written atomically.

The key hashes the image bytes' sha256 with everything that changes the result (detector,
embedder, their weight hashes and parameters, capture degradation). A killed run leaves
only whole entries behind, so the next run resumes where it stopped.

The cache heals itself: any entry that cannot be read back whole (truncated, zero-length,
bit-flipped, written by another layout, or found under another entry's name) is a miss, is
removed, and is recomputed. Writes are
fsync'd before the rename (and the folder after it), so a power cut cannot leave half an entry
under a final name.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Optional

import numpy as np
import platformdirs

#: Bump when the record layout or the acquisition code changes meaning.
CACHE_VERSION = 1

log = logging.getLogger("facerisk")


def default_dir() -> Path:
    return Path(os.environ.get("FACERISK_CACHE") or platformdirs.user_cache_dir("facerisk")) / "acquisitions"


def params_digest(params: dict[str, Any]) -> str:
    """Stable hash of a parameter mapping (canonical JSON)."""
    blob = json.dumps({"v": CACHE_VERSION, **params}, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()


def fsync_dir(folder: Path) -> None:
    """Make a rename inside ``folder`` durable (no-op where directories cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via an fsync'd temporary file and rename: readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


class AcquisitionCache:
    """One ``.npz`` per (image content, parameters) under ``root``."""

    def __init__(self, root: Optional[Path] = None, enabled: bool = True):
        self.root = Path(root) if root else default_dir()
        self.enabled = enabled
        #: Damaged entries found (and removed) by :meth:`get` in this process.
        self.discarded = 0
        #: The first write failure (disk full, read-only), or "".
        self.write_error = ""

    def key(self, image_sha: str, digest: str) -> str:
        return hashlib.sha256(f"{image_sha}:{digest}".encode()).hexdigest()

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.npz"

    def get(self, key: str) -> Optional[dict[str, Any]]:
        """The stored record, or None (absent, disabled, or unreadable: then removed and recomputed)."""
        if not self.enabled:
            return None
        p = self._path(key)
        if p.is_symlink() or (p.exists() and not p.is_file()):  # a folder or link where an entry belongs
            self._discard(p, ValueError("not a regular file"))
            return None
        if not p.is_file():
            return None
        try:
            with np.load(p, allow_pickle=False) as z:
                rec = json.loads(bytes(z["meta"]).decode())
                emb = np.asarray(z["embedding"], dtype=np.float64)
                lm = np.asarray(z["landmarks"], dtype=np.float64)
            if not isinstance(rec, dict) or "status" not in rec or emb.ndim != 1 or lm.ndim != 2:
                raise ValueError("unexpected record layout")
            if rec.pop("_key", None) != key:
                # A whole, readable entry under another entry's name (a copied or swapped file) would hand this
                # image another image's template: every entry names the key it was written for.
                raise ValueError("entry written for another key")
            if rec["status"] == "ok" and (emb.size == 0 or not np.isfinite(emb).all()):
                raise ValueError("ok record without a finite template")
            rec["embedding"] = emb if emb.size else None
            rec["landmarks"] = lm
            return rec
        except Exception as exc:  # noqa: BLE001 - zipfile, zlib, EOF, JSON, numpy: any damage is a miss
            self._discard(p, exc)
            return None

    def _discard(self, p: Path, exc: BaseException) -> None:
        # A damaged entry would otherwise be read (and fail) on every later run.
        log.debug("cache entry %s unreadable (%s: %s); recomputing", p, type(exc).__name__, exc)
        self.discarded += 1
        try:
            if p.is_dir() and not p.is_symlink():  # named as an entry inside the cache: nothing of the user's
                shutil.rmtree(p)
            else:
                p.unlink()
        except OSError:
            pass

    def put(self, key: str, record: dict[str, Any]) -> None:
        if not self.enabled:
            return
        meta = {k: v for k, v in record.items() if k not in ("embedding", "landmarks")}
        meta["_key"] = key
        buf = io.BytesIO()
        emb = record.get("embedding")
        np.savez(
            buf,
            meta=np.frombuffer(json.dumps(meta, default=float).encode(), dtype=np.uint8),
            embedding=np.zeros(0) if emb is None else np.asarray(emb, dtype=np.float64),
            landmarks=np.asarray(record.get("landmarks", np.zeros((0, 2))), dtype=np.float64),
        )
        try:
            atomic_write_bytes(self._path(key), buf.getvalue())
        except OSError as exc:
            # A full or read-only cache must not lose the run: the result is kept in memory and the
            # run says that nothing more could be cached.
            if not self.write_error:
                log.warning("cannot write to the cache %s (%s); continuing without caching", self.root,
                            exc.strerror or exc)
            self.write_error = f"{self.root}: {exc.strerror or exc}"

    def check_writable(self) -> None:
        """Fail fast, before any model work, when the cache folder cannot be written."""
        if not self.enabled:
            return
        from harness.rundir import check_writable

        # A cache that fills up later only costs speed (put() degrades to no caching), so the bar is low.
        check_writable(self.root, "cache_dir", "--cache-dir DIR or --no-cache", min_free=256 * 1024)
