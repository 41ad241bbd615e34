"""Model cards: what an embedding model file is, where it comes from, and how to feed it.

One YAML file per embedding model (``models/*.yaml``; cards with ``kind: detector`` are the
detectors' and are skipped here in the repository, shipped in the wheel as
``harness._cards/models``). Looked up, first match winning, in:

1. the package resource ``harness._cards/models`` (an installed wheel);
2. the repository's ``models/`` folder (a checkout);
3. every folder in ``$FACERISK_MODEL_CARDS`` (``os.pathsep``-separated): your own cards.

A card names the file (``file``, ``sha256``, ``size_bytes``), how to obtain it (``obtain``: fetch /
convert-dlib / package / manual, with ``url`` or ``archive``), its licence (``commercial_use`` says
plainly whether commercial use is allowed), the input it expects (``input``: size, layout, colour
order, normalisation ``(pixel - mean) / std``), the ``alignment`` template (see
:mod:`harness.embed.align`), ``output_dim``, ``similarity`` and published ``accuracy`` with sources.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import yaml

from harness.errors import ConfigError

LAYOUTS = ("NCHW", "NHWC")
COLOURS = ("RGB", "BGR")
SIMILARITIES = ("cosine", "euclidean")
OBTAIN = ("fetch", "convert-dlib", "package", "manual")
ALIGNMENTS = ("dlib-chip", "arcface-112")
_SHA = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class InputSpec:
    """How chips are turned into the model's input tensor."""

    size: tuple[int, int]                  # (H, W)
    layout: str = "NCHW"
    colour: str = "RGB"
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)   # per channel, in the card's colour order
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)

    def to_dict(self) -> dict[str, Any]:
        return {"size": list(self.size), "layout": self.layout, "colour": self.colour,
                "mean": list(self.mean), "std": list(self.std)}


@dataclass(frozen=True)
class ModelCard:
    """One validated model card."""

    name: str
    path: Path
    title: str
    backend: str
    file: str
    obtain: str
    licence: str
    commercial_use: Any                    # True / False / "unclear"
    sha256: Optional[str] = None
    size_bytes: Optional[int] = None
    url: Optional[str] = None
    archive: Optional[dict[str, Any]] = None   # {url, member, sha256 (of the archive) or null}
    input: Optional[InputSpec] = None
    alignment: Optional[str] = None
    output_dim: Optional[int] = None
    similarity: str = "cosine"
    accuracy: list[dict[str, Any]] = field(default_factory=list)
    source: Optional[str] = None
    notes: Optional[str] = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def fetchable(self) -> bool:
        return self.obtain == "fetch" and bool(self.url or self.archive)

    def summary(self) -> dict[str, Any]:
        """What a run records about the card (provenance)."""
        return {"name": self.name, "file": self.file, "sha256": self.sha256, "licence": self.licence,
                "commercial_use": self.commercial_use, "card_file": str(self.path)}


def _err(path: Path, msg: str) -> ConfigError:
    return ConfigError(f"{path}: {msg}")


def _triple(value: Any, path: Path, key: str) -> tuple[float, float, float]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (float(value),) * 3
    if isinstance(value, (list, tuple)) and len(value) == 3 and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        return tuple(float(v) for v in value)  # type: ignore[return-value]
    raise _err(path, f"{key} must be a number or a list of three numbers, got {value!r}")


def parse_input(data: Any, path: Path, where: str = "input") -> InputSpec:
    """Validate an ``input:`` mapping."""
    if not isinstance(data, dict):
        raise _err(path, f"{where} must be a mapping with size, layout, colour, mean, std")
    unknown = set(data) - {"size", "layout", "colour", "mean", "std"}
    if unknown:
        raise _err(path, f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    size = data.get("size")
    if isinstance(size, int) and not isinstance(size, bool):
        size = [size, size]
    if not (isinstance(size, (list, tuple)) and len(size) == 2 and all(isinstance(v, int) and v > 0 for v in size)):
        raise _err(path, f"{where}.size must be [height, width] in pixels, got {data.get('size')!r}")
    layout = data.get("layout", "NCHW")
    colour = data.get("colour", "RGB")
    if layout not in LAYOUTS:
        raise _err(path, f"{where}.layout {layout!r} is not one of {', '.join(LAYOUTS)}")
    if colour not in COLOURS:
        raise _err(path, f"{where}.colour {colour!r} is not one of {', '.join(COLOURS)}")
    std = _triple(data.get("std", 1.0), path, f"{where}.std")
    if any(s == 0 for s in std):
        raise _err(path, f"{where}.std must not be 0")
    return InputSpec((int(size[0]), int(size[1])), layout, colour, _triple(data.get("mean", 0.0), path,
                                                                          f"{where}.mean"), std)


def parse(data: Any, path: Path) -> ModelCard:
    """Validate one card's YAML data; every problem names the card file and the field."""
    path = Path(path)
    if not isinstance(data, dict):
        raise _err(path, "a model card must be a mapping")
    for key in ("name", "backend", "file", "obtain", "licence", "commercial_use"):
        if key not in data:
            raise _err(path, f"missing required field {key!r}")
    name = data["name"]
    if not isinstance(name, str) or not re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]*$", name):
        raise _err(path, f"name {name!r} must be letters, digits, '.', '_' or '-'")
    if data["obtain"] not in OBTAIN:
        raise _err(path, f"obtain {data['obtain']!r} is not one of {', '.join(OBTAIN)}")
    sha = data.get("sha256")
    if sha is not None and (not isinstance(sha, str) or not _SHA.match(sha)):
        raise _err(path, f"sha256 must be 64 lower-case hex digits or null, got {sha!r}")
    if data["commercial_use"] not in (True, False, "unclear"):
        raise _err(path, "commercial_use must be true, false or unclear")
    size = data.get("size_bytes")
    if size is not None and (not isinstance(size, int) or size <= 0):
        raise _err(path, f"size_bytes must be a positive integer or null, got {size!r}")
    archive = data.get("archive")
    if archive is not None:
        if not isinstance(archive, dict) or not archive.get("url") or not archive.get("member"):
            raise _err(path, "archive must be a mapping with url and member (and sha256 or null)")
        a_sha = archive.get("sha256")
        if a_sha is not None and (not isinstance(a_sha, str) or not _SHA.match(a_sha)):
            raise _err(path, f"archive.sha256 must be 64 hex digits or null, got {a_sha!r}")
    if data["obtain"] == "fetch" and not (data.get("url") or archive):
        raise _err(path, "obtain: fetch needs url or archive")
    inp = None
    align = data.get("alignment")
    if data["backend"] == "onnx":
        inp = parse_input(data.get("input"), path)
        if align not in ALIGNMENTS:
            raise _err(path, f"alignment {align!r} is not one of {', '.join(ALIGNMENTS)}")
    dim = data.get("output_dim")
    if dim is not None and (not isinstance(dim, int) or dim <= 0):
        raise _err(path, f"output_dim must be a positive integer, got {dim!r}")
    sim = data.get("similarity", "cosine")
    if sim not in SIMILARITIES:
        raise _err(path, f"similarity {sim!r} is not one of {', '.join(SIMILARITIES)}")
    acc = data.get("accuracy") or []
    if not isinstance(acc, list) or not all(isinstance(a, dict) and "benchmark" in a and "source" in a for a in acc):
        raise _err(path, "accuracy must be a list of {benchmark, value, source} entries")
    return ModelCard(name=name, path=path, title=str(data.get("title", name)), backend=str(data["backend"]),
                     file=str(data["file"]), obtain=data["obtain"], licence=str(data["licence"]),
                     commercial_use=data["commercial_use"], sha256=sha, size_bytes=size, url=data.get("url"),
                     archive=archive, input=inp, alignment=align, output_dim=dim, similarity=sim, accuracy=acc,
                     source=data.get("source"), notes=data.get("notes"), raw=data)


def load_card(path: str | os.PathLike) -> ModelCard:
    """Read and validate one card file."""
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read model card ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: model card is not valid YAML ({str(exc).splitlines()[0]})") from None
    return parse(data, p)


def card_dirs() -> list[Path]:
    """Folders searched for cards, in order (see the module docstring)."""
    dirs: list[Path] = []
    try:
        from importlib import resources

        res = resources.files("harness").joinpath("_cards", "models")
        if res.is_dir():
            dirs.append(Path(str(res)))
    except (ModuleNotFoundError, FileNotFoundError, NotADirectoryError, TypeError):
        pass
    repo = Path(__file__).resolve().parents[2] / "models"
    if repo.is_dir():
        dirs.append(repo)
    for d in os.environ.get("FACERISK_MODEL_CARDS", "").split(os.pathsep):
        if d.strip():
            dirs.append(Path(d).expanduser())
    seen, out = set(), []
    for d in dirs:
        key = str(d.resolve()) if d.exists() else str(d)
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out


def _kind(path: Path) -> str:
    """A card's ``kind`` (embedder unless it says otherwise: detector cards share the folder)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return "embedder"  # let load_card report the problem
    return str(data.get("kind", "embedder")) if isinstance(data, dict) else "embedder"


def list_cards() -> list[ModelCard]:
    """Every embedder card found (``kind: detector`` cards are skipped), first of a name winning, by name."""
    found: dict[str, ModelCard] = {}
    for d in card_dirs():
        if not d.is_dir():
            continue
        for p in sorted(d.glob("*.yaml")):
            if _kind(p) != "embedder":
                continue
            card = load_card(p)
            found.setdefault(card.name, card)
    return [found[k] for k in sorted(found)]


def get_card(name_or_path: str) -> ModelCard:
    """A card by name, or a card YAML file by path."""
    p = Path(name_or_path).expanduser()
    if p.suffix in (".yaml", ".yml") and p.is_file():
        return load_card(p)
    cards = list_cards()
    for c in cards:
        if c.name == name_or_path:
            return c
    raise ConfigError(f"model card {name_or_path!r} not found; known cards: {', '.join(c.name for c in cards)} "
                      "(or pass a card YAML file, or add a folder of cards to $FACERISK_MODEL_CARDS)")


def card_for_file(path: Path, sha256: Optional[str]) -> Optional[ModelCard]:
    """The card describing model file ``path``: by its sha256, else by file name (None if no card matches).

    A file whose name matches a card that pins a different sha256 is a different file: an error, since
    feeding it the card's normalisation and alignment could silently be wrong.
    """
    cards = [c for c in list_cards() if c.backend == "onnx"]
    if sha256:
        for c in cards:
            if c.sha256 == sha256:
                return c
    for c in cards:
        if c.file == path.name:
            if c.sha256 and sha256 and c.sha256 != sha256:
                raise ConfigError(
                    f"{path}: named like model card {c.name!r} ({c.path}) but its sha256 {sha256[:12]}... differs "
                    f"from the card's {c.sha256[:12]}...; re-download it ('facerisk models fetch {c.name}') or pass "
                    "the right card with embedder.card=NAME_OR_FILE")
            return c
    return None
