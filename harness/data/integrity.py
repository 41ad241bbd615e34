"""Is the data set on disk the one its checksums pin? Checked on every run, before any model work.

Where the pins come from, first found wins:

1. ``.facerisk-manifest.json``, written by ``facerisk datasets fetch`` beside the files it built: the sha256
   of metadata.csv and every image as downloaded (each image verified against the card on the way in).
2. ``SHA256SUMS`` in the folder or in its ``images/`` (``sha256sum`` format; paths relative to the folder
   or to its ``images/``), as a curated local copy ships it (``cd images && sha256sum * > SHA256SUMS``).
3. Nothing: the copy is *unverified*, which is said in the run's provenance and warnings.

Every run already hashes every file (the hashes key the acquisition cache), so the check is a full
comparison at no extra cost. A changed file stops the run naming it, unless the user allows local
edits (``dataset.allow_modified``), in which case every changed file is listed in the provenance.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.errors import DatasetError

MANIFEST = ".facerisk-manifest.json"
SUMS = "SHA256SUMS"


def write_manifest(root: Path, files: dict[str, str], card_name: str) -> None:
    """Record the sha256 of each built file (``files``: relative path -> sha256) in ``root``."""
    from harness.cache import atomic_write_text

    atomic_write_text(root / MANIFEST, json.dumps({"card": card_name, "sha256": dict(sorted(files.items()))},
                                                  indent=1))


def _read_sums(path: Path, root: Path) -> dict[str, str]:
    pins: dict[str, str] = {}
    for n, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split(None, 1)
        if len(parts) != 2 or len(parts[0]) != 64:
            raise DatasetError(f"{path}: line {n} is not '<sha256>  <file>' (fix or remove the file)")
        rel = parts[1].strip().lstrip("*")
        if not (root / rel).is_file() and (root / "images" / rel).is_file():
            rel = f"images/{rel}"
        pins[rel] = parts[0].lower()
    return pins


def pins(root: Path) -> tuple[str, dict[str, str]]:
    """(source, relative path -> sha256) of the checksums that pin the folder ``root``."""
    m = root / MANIFEST
    if m.is_file():
        try:
            doc = json.loads(m.read_text(encoding="utf-8"))
            return MANIFEST, {str(k): str(v) for k, v in doc["sha256"].items()}
        except (ValueError, KeyError, TypeError, AttributeError):
            raise DatasetError(f"{m}: damaged fetch manifest; re-fetch the data set or delete the file") from None
    for s in (root / SUMS, root / "images" / SUMS):
        if s.is_file():
            return str(s.relative_to(root)), _read_sums(s, root)
    return "", {}


def check(root: Path, manifest: list[tuple[str, str]], allow_modified: bool = False) -> dict[str, Any]:
    """Compare the files' hashes (``manifest``: (relative path, sha256)) with the folder's pins.

    Returns the integrity record for the run's provenance; raises DatasetError naming the first changed
    file unless ``allow_modified``.
    """
    source, pinned = pins(root)
    if not source:
        return {"status": "unverified", "source": None, "n_pinned": 0, "changed": [], "unpinned": len(manifest),
                "note": f"no {MANIFEST} (written by 'facerisk datasets fetch') or {SUMS} in {root} or its "
                        "images/: the files cannot be checked against a pinned copy"}
    changed = [rel for rel, sha in manifest if rel in pinned and pinned[rel] != sha]
    unpinned = [rel for rel, _ in manifest if rel not in pinned]
    if changed and not allow_modified:
        more = f" (and {len(changed) - 1} more)" if len(changed) > 1 else ""
        raise DatasetError(
            f"{root / changed[0]}: changed since it was pinned in {root / source}{more}; restore it (re-fetch "
            "with 'facerisk datasets fetch NAME'), or accept local edits with --set dataset.allow_modified=true "
            "(they are then listed in the results)"
        )
    return {"status": "modified" if changed else "verified", "source": source, "n_pinned": len(pinned),
            "changed": changed, "unpinned": len(unpinned),
            "unpinned_examples": unpinned[:5]}
