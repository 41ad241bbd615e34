"""Content-addressed cache of the report's plots.

A plot is a pure function of its inputs, the plotting code and matplotlib, so a re-run on the same
answer draws the same PNG bytes. Drawing the eleven PNGs of a frl-london report is most of a cached
re-run's time; this cache hands back the bytes drawn last time instead. The key hashes the plot
function's name, its arguments (pickled, streamed into the hash), the source of every harness module
the drawing depends on and the matplotlib and numpy versions, so a change to any of them is a miss.
An entry that is not a whole, CRC-valid PNG is removed and drawn again.
"""

from __future__ import annotations

import hashlib
import logging
import pickle
import struct
import zlib
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Optional

from harness import __version__

log = logging.getLogger("facerisk")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: Harness sources whose change can change a plot with the same inputs (the plotting code and what it calls).
SOURCES = ("report/plots.py", "report/plotcache.py", "metrics/__init__.py", "metrics/rates.py", "metrics/groups.py")
_HARNESS = Path(__file__).resolve().parents[1]
_static: Optional[bytes] = None


def _static_part() -> bytes:
    """Code and library versions, hashed once per process."""
    global _static
    if _static is None:
        h = hashlib.sha256(b"facerisk-plot-v1\0" + __version__.encode())
        for rel in SOURCES:
            p = _HARNESS / rel
            h.update(rel.encode() + b"\0" + (p.read_bytes() if p.is_file() else b"<absent>") + b"\0")
        for dist in ("matplotlib", "numpy", "pandas", "scipy", "pillow"):
            try:
                v = metadata.version(dist)
            except metadata.PackageNotFoundError:
                v = "<absent>"
            h.update(f"{dist}={v}\0".encode())
        _static = h.digest()
    return _static


class _HashWriter:
    """A file-like sink for pickle that only feeds a hash: arguments are never held twice in memory."""

    def __init__(self, h) -> None:
        self.h = h

    def write(self, b) -> int:
        view = memoryview(b)  # pickle hands large buffers over as PickleBuffer, which has no len()
        self.h.update(view)
        return view.nbytes


def plot_key(fn: Callable, args: tuple) -> Optional[str]:
    """The cache key of ``fn(*args)``, or None when the arguments cannot be pickled (then it is always drawn)."""
    h = hashlib.sha256(_static_part())
    h.update(f"{fn.__module__}.{fn.__qualname__}\0".encode())
    try:
        pickle.Pickler(_HashWriter(h), protocol=5).dump(args)
    except Exception as exc:  # noqa: BLE001 - an unpicklable argument only costs a redraw
        log.debug("plot %s not cached: arguments cannot be pickled (%s)", fn.__qualname__, exc)
        return None
    return h.hexdigest()


def valid_png(data: bytes) -> bool:
    """True when ``data`` is a whole PNG whose every chunk's CRC matches (catches truncation and bit flips)."""
    if not data.startswith(PNG_SIGNATURE):
        return False
    pos, end = len(PNG_SIGNATURE), len(data)
    while pos + 12 <= end:
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        stop = pos + 8 + length
        if stop + 4 > end:
            return False
        (crc,) = struct.unpack(">I", data[stop:stop + 4])
        if zlib.crc32(data[pos + 4:stop]) != crc:
            return False
        pos = stop + 4
        if kind == b"IEND":
            return pos == end
    return False


def plot_cache_root(cache_dir: Optional[str]) -> Path:
    """``<cache_dir>/plots`` when the run names a cache folder (nothing is written outside it), else beside the
    default acquisition cache."""
    if cache_dir:
        return Path(cache_dir) / "plots"
    from harness.cache import default_dir

    return default_dir().parent / "plots"


class PlotCache:
    """PNG bytes by :func:`plot_key`, one file each under ``root`` (``<cache_dir>/plots``)."""

    def __init__(self, root: Optional[Path], enabled: bool = True) -> None:
        self.root = Path(root) if root else None
        self.enabled = enabled and self.root is not None
        #: Entries read, drawn and stored, and damaged entries removed, in this process.
        self.hits = self.stored = self.discarded = 0

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.png"

    def get(self, key: Optional[str]) -> Optional[bytes]:
        if not self.enabled or key is None:
            return None
        p = self._path(key)
        try:
            if p.is_symlink() or not p.is_file():
                return None
            data = p.read_bytes()
        except OSError:
            return None
        if not valid_png(data):
            log.debug("plot cache entry %s damaged; drawing it again", p)
            self.discarded += 1
            try:
                p.unlink()
            except OSError:
                pass
            return None
        self.hits += 1
        return data

    def put(self, key: Optional[str], png: bytes) -> None:
        if not self.enabled or key is None:
            return
        from harness.cache import atomic_write_bytes

        try:
            atomic_write_bytes(self._path(key), png)
            self.stored += 1
        except OSError as exc:  # a full or read-only cache costs the next run a redraw, never this run
            log.debug("cannot store plot in %s (%s)", self.root, exc)

    def stats(self) -> dict[str, Any]:
        return {"hits": self.hits, "stored": self.stored, "discarded": self.discarded}
