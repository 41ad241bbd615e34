"""Download a dataset's public original, verify every checksum, and build the facerisk layout.

The download goes to ``<home>/.<name>.partial`` (files already there with the right checksum
are kept, so an interrupted fetch resumes) and is renamed to ``<home>/<name>`` only when
complete, so a half-fetched dataset is never mistaken for a whole one.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import shutil
import urllib.error
import urllib.request
from pathlib import Path
from typing import Optional

from tqdm import tqdm

from harness.data.cards import Card
from harness.errors import DatasetError

TIMEOUT_S = 30


def _offline_help(card: Card, home: Path) -> str:
    return (
        f"download from a copy instead with --mirror URL, or, to provide {card.name} yourself, place the folder "
        f"'{card.name}/' (metadata.csv + images/) under {home}, or point --data-home / FACERISK_DATA_HOME at the "
        "folder that holds it"
    )


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=TIMEOUT_S) as resp:  # noqa: S310 - URL comes from a card
        return resp.read()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _build_rows(card: Card, meta_bytes: bytes) -> list[dict[str, str]]:
    spec = card.upstream["metadata"]
    cols = spec.get("columns", {})
    reader = csv.DictReader(io.StringIO(meta_bytes.decode("utf-8")))
    rows = []
    for rec in reader:
        subject = {ours: rec[theirs] for ours, theirs in cols.items()}
        for img in card.upstream["images"]:
            row = {
                "image": img["image"].format(**subject),
                "subject_id": subject["subject_id"],
                "_upstream": img["upstream"].format(**subject),
            }
            row.update({k: v for k, v in img.items() if k not in ("upstream", "image")})
            row.update({k: v for k, v in subject.items() if k != "subject_id"})
            rows.append(row)
    return rows


def _tree_rows(card: Card, download) -> tuple[list[dict[str, str]], dict[str, bytes]]:
    """Rows for an upstream laid out one sub-folder per person (LFW): ``<images_prefix><person>/<file>``.

    The images are the card's pinned files under ``images_prefix`` (the person is the sub-folder's name);
    ``files`` are other pinned files copied into the folder (a pair list); ``labels`` give per-person
    values from name lists (one file per value, lines naming images ``Person_0001[.jpg]`` or people).
    A person whose images the lists label differently gets no label, and is listed in the caveat file.
    """
    up = card.upstream
    prefix = up.get("images_prefix", "")
    images = sorted(k for k in card.sha256 if k.startswith(prefix) and k.lower().endswith((".jpg", ".jpeg", ".png")))
    if not images:
        raise DatasetError(f"dataset card {card.path}: no pinned image under {prefix!r}")
    extras = {f["dest"]: download(f["dest"], f.get("url")) for f in up.get("files", [])}
    labels: dict[str, dict[str, set]] = {}
    for attr, sources in (up.get("labels") or {}).items():
        seen: dict[str, set] = {}
        for src in sources:
            text = download(src["dest"], src.get("url")).decode("utf-8")
            for line in text.split():
                stem = line.strip().rsplit(".", 1)[0] if line.lower().endswith((".jpg", ".jpeg", ".png")) else line
                person = stem[:-5] if len(stem) > 5 and stem[-5] == "_" and stem[-4:].isdigit() else stem
                seen.setdefault(person, set()).add(str(src["value"]))
        labels[attr] = seen
    rows, conflicts = [], {}
    for rel in images:
        inner = rel[len(prefix):]
        person = inner.split("/", 1)[0]
        row = {"image": f"images/{inner}", "subject_id": person, "_upstream": rel}
        for attr, seen in labels.items():
            vals = seen.get(person, set())
            row[attr] = next(iter(vals)) if len(vals) == 1 else ""
            if len(vals) > 1:
                conflicts.setdefault(attr, set()).add(person)
        rows.append(row)
    if conflicts:
        extras["LABEL-CONFLICTS.txt"] = "".join(
            f"{attr}: {p} (labelled {' and '.join(sorted(labels[attr][p]))}; left empty)\n"
            for attr, people in sorted(conflicts.items()) for p in sorted(people)).encode("utf-8")
    return rows, extras


def fetch(card: Card, home: Path, mirror: Optional[str] = None, progress: bool = True) -> Path:
    """Fetch ``card``'s upstream into ``home/<name>``; return the folder.

    Parameters
    ----------
    card : Card
        Must have ``upstream`` (base_url, metadata, images) and ``sha256`` entries.
    home : Path
        Data home.
    mirror : str, optional
        Base URL used instead of the card's (same relative paths), e.g. a local copy.
    """
    if not card.upstream:
        raise DatasetError(f"dataset {card.name} has no public upstream to download; {_offline_help(card, home)}")
    if not card.upstream.get("images_pinned", True) or not card.upstream.get("base_url"):
        raise DatasetError(
            f"dataset card {card.path}: the {card.name} images are not pinned to a public copy "
            f"({card.upstream.get('images_note', 'no base_url')}); build the folder from your own copy with "
            "'facerisk datasets init FOLDER' (README: Bring your own data), then run with --dataset FOLDER")
    from harness.rundir import validate_name

    validate_name(card.name, f"dataset card {card.path}: name")  # a card named '../x' must not leave the home
    base = (mirror or card.upstream["base_url"]).rstrip("/")
    final = home / card.name
    partial = home / f".{card.name}.partial"
    partial.mkdir(parents=True, exist_ok=True)
    try:
        return _fetch_into(card, partial, final, base, progress)
    except BaseException:
        # Keep verified downloads for the resume, but never leave an empty folder behind.
        if partial.is_dir() and not any(p.is_file() for p in partial.rglob("*")):
            shutil.rmtree(partial, ignore_errors=True)
        raise


def _fetch_into(card: Card, partial: Path, final: Path, base: str, progress: bool) -> Path:
    home = final.parent

    def download(rel: str, url: Optional[str] = None) -> bytes:
        """The pinned file ``rel`` (the card's sha256 key), from ``base/rel`` or its own pinned ``url``."""
        expected = card.sha256.get(rel)
        if expected is None:
            raise DatasetError(f"dataset card {card.path} has no sha256 for {rel}; refusing an unverified file")
        cached = partial / ".upstream" / rel
        if cached.is_file():
            data = cached.read_bytes()
            if _sha(data) == expected:
                return data
        url = url or f"{base}/{rel}"
        try:
            data = _get(url)
        except (urllib.error.URLError, OSError) as exc:
            raise DatasetError(f"cannot download {url} ({exc}); {_offline_help(card, home)}") from None
        got = _sha(data)
        if got != expected:
            raise DatasetError(
                f"checksum mismatch for {url}: expected sha256 {expected}, got {got}; "
                "the upstream changed or the download was corrupted (retry, or use --mirror)"
            )
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(cached.suffix + ".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, cached)
        return data

    if card.upstream.get("layout") == "tree":
        rows, extras = _tree_rows(card, download)
    else:
        rows, extras = _build_rows(card, download(card.upstream["metadata"]["path"])), {}
    built: dict[str, str] = {}
    for dest, data in extras.items():  # pair lists and label files, pinned like the images
        (partial / dest).parent.mkdir(parents=True, exist_ok=True)
        (partial / dest).write_bytes(data)
        built[dest] = _sha(data)
    for row in tqdm(rows, desc=f"fetch {card.name}", unit="img", disable=not progress):
        data = download(row["_upstream"])
        dest = partial / row["image"]
        if not dest.resolve().is_relative_to(partial.resolve()):
            raise DatasetError(f"dataset card {card.path}: image path {row['image']!r} leaves the dataset folder")
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
        built[row["image"]] = _sha(data)
    fields = [k for k in rows[0] if k != "_upstream"]
    with open(partial / "metadata.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    built["metadata.csv"] = _sha((partial / "metadata.csv").read_bytes())
    from harness.data.integrity import write_manifest

    write_manifest(partial, built, card.name)
    (partial / "ATTRIBUTION.txt").write_text(card.attribution + "\n", encoding="utf-8")
    shutil.rmtree(partial / ".upstream", ignore_errors=True)
    if final.exists():
        from harness.data.integrity import MANIFEST

        if not (final / MANIFEST).is_file() and any(final.iterdir()):
            raise DatasetError(f"{final} exists and was not built by 'facerisk datasets fetch'; it is left untouched: "
                               "move it away, or use it as it is with --dataset " + str(final))
        shutil.rmtree(final)
    os.replace(partial, final)
    return final
