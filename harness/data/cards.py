"""Registry of named datasets: small YAML cards in the repository's ``datasets/`` folder.

A card records name, licence, citation, how labels were obtained (self-reported,
annotated or inferred), the upstream location pinned to a version, and checksums.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness.errors import DatasetError

REQUIRED = ("name", "licence", "citation", "labels")
LABEL_SOURCES = {"self-reported", "annotated", "inferred"}


def cards_dirs() -> list[Path]:
    """Folders searched for cards: $FACERISK_CARDS (os.pathsep-separated), then the cards shipped in the
    package (an installed wheel), then the checkout's datasets/ (an editable install)."""
    dirs = [Path(p) for p in os.environ.get("FACERISK_CARDS", "").split(os.pathsep) if p]
    shipped = Path(__file__).resolve().parents[1] / "_cards" / "datasets"
    if shipped.is_dir():
        dirs.append(shipped)
    dirs.append(Path(__file__).resolve().parents[2] / "datasets")
    return dirs


@dataclass
class Card:
    """A dataset card."""

    name: str
    licence: str
    citation: str
    labels: dict[str, str]
    path: Path
    title: str = ""
    description: str = ""
    caveats: list[str] = field(default_factory=list)
    protocol: dict[str, Any] = field(default_factory=dict)
    upstream: dict[str, Any] = field(default_factory=dict)
    sha256: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def attribution(self) -> str:
        """The text that must accompany any result computed on the dataset."""
        return f"{self.citation} Licence: {self.licence}."

    def summary(self) -> dict[str, Any]:
        """Card fields for provenance (checksums left out: the manifest hash stands for them)."""
        return {
            "name": self.name,
            "title": self.title,
            "licence": self.licence,
            "citation": self.citation,
            "labels": self.labels,
            "caveats": self.caveats,
            "card": str(self.path.name),
        }


def _parse(path: Path) -> Card:
    try:
        # libyaml when present: a card pinning every file's sha256 took 80 ms to parse in pure Python
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise DatasetError(f"{path}: dataset card is not valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise DatasetError(f"{path}: dataset card must be a mapping")
    missing = [k for k in REQUIRED if k not in data]
    if missing:
        raise DatasetError(f"{path}: dataset card lacks {', '.join(missing)}")
    import re

    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", str(data["name"])):
        raise DatasetError(f"{path}: dataset card name {data['name']!r} must be a plain name (letters, digits, "
                           "'.', '_', '-'; no '/' or '..'), since it names a folder under the data home")
    labels = data["labels"] or {}
    bad = {k: v for k, v in labels.items() if v not in LABEL_SOURCES}
    if bad:
        raise DatasetError(
            f"{path}: labels must say how each was obtained ({', '.join(sorted(LABEL_SOURCES))}); got {bad}"
        )
    known = {"name", "licence", "citation", "labels", "title", "description", "caveats", "protocol", "upstream", "sha256"}
    return Card(
        name=str(data["name"]),
        licence=str(data["licence"]),
        citation=" ".join(str(data["citation"]).split()),
        labels=dict(labels),
        path=path,
        title=str(data.get("title", "")),
        description=" ".join(str(data.get("description", "")).split()),
        caveats=[" ".join(str(c).split()) for c in data.get("caveats", [])],
        protocol=dict(data.get("protocol") or {}),
        upstream=dict(data.get("upstream") or {}),
        sha256={str(k): str(v) for k, v in (data.get("sha256") or {}).items()},
        extra={k: v for k, v in data.items() if k not in known},
    )


def list_cards() -> list[Card]:
    """All cards found, first directory wins on a name clash."""
    seen: dict[str, Card] = {}
    for d in cards_dirs():
        if not d.is_dir():
            continue
        for p in sorted(d.glob("*.yaml")):
            card = _parse(p)
            seen.setdefault(card.name, card)
    return list(seen.values())


def get_card(name: str) -> Card:
    """The card called ``name``; a clear error lists the known ones otherwise."""
    for card in list_cards():
        if card.name == name:
            return card
    known = ", ".join(c.name for c in list_cards()) or "none"
    raise DatasetError(f"unknown dataset {name!r}; known datasets: {known} (add a card to datasets/ or FACERISK_CARDS)")
