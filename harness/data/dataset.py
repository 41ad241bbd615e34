"""A labelled face set on disk: a folder with ``metadata.csv`` (one row per image).

Required columns: ``image`` (path relative to the folder) and ``subject_id``. Every other
column is an attribute (age, gender, ethnicity, ...) or a protocol column (expression, split).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import pandas as pd
import platformdirs

from harness.data.cards import Card
from harness.data.images import load_rgb, sha256_file
from harness.data.tables import read_csv
from harness.errors import DatasetError, ImageError

MISSING = {"", "NA", "N/A", "NaN", "nan", "null", "None"}
DEFAULT_PROTOCOL_COLUMNS = ("expression", "split", "session", "pose", "illumination", "capture")
#: Per-image annotation of where the intended face is, in pixels (used by ``detector.multi_face: annotated``).
BOX_COLUMNS = ("face_left", "face_top", "face_right", "face_bottom")


def data_home(explicit: Optional[str] = None) -> Path:
    """Where datasets live: the option, then $FACERISK_DATA_HOME, then the user cache dir."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get("FACERISK_DATA_HOME")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_cache_dir("facerisk")) / "datasets"


@dataclass
class Dataset:
    """A validated dataset: its folder, its metadata frame and its card (if registered)."""

    name: str
    root: Path
    frame: pd.DataFrame
    card: Optional[Card] = None

    #: Columns declared per image (the split column, protocol.per_image_columns): exempt from the
    #: per-person consistency check.
    per_image: tuple[str, ...] = ()
    #: Other folders whose images the frame names as ``@<key>/<relative path>`` (a watchlist's gallery).
    extra_roots: dict[str, Path] = field(default_factory=dict)

    @property
    def subject_attributes(self) -> list[str]:
        """Columns that describe a person, so must agree across that person's images."""
        if self.card and self.card.labels:
            return [c for c in self.card.labels if c in self.frame.columns and c not in self.per_image]
        return [c for c in self.frame.columns
                if c not in ("image", "subject_id", *DEFAULT_PROTOCOL_COLUMNS, *BOX_COLUMNS, *self.per_image)]

    def path_of(self, image: str) -> Path:
        if image.startswith("@") and "/" in image:
            key, rel = image[1:].split("/", 1)
            if key in self.extra_roots:
                return self.extra_roots[key] / rel
        return self.root / image

    def manifest(self) -> list[tuple[str, str]]:
        """(relative path, sha256) of metadata.csv and every image, sorted."""
        rows = [("metadata.csv", sha256_file(self.root / "metadata.csv"))]
        rows += [(img, sha256_file(self.path_of(img))) for img in self.frame["image"]]
        return sorted(rows)

    @staticmethod
    def manifest_hash(manifest: list[tuple[str, str]]) -> str:
        """One sha256 standing for the dataset's exact bytes."""
        h = hashlib.sha256()
        for path, digest in manifest:
            h.update(f"{digest}  {path}\n".encode())
        return h.hexdigest()


def read_metadata(root: Path) -> pd.DataFrame:
    """Read ``root/metadata.csv`` as text columns, with the usual missing markers as NA."""
    csv = root / "metadata.csv"
    if not csv.is_file():
        raise DatasetError(
            f"{csv}: metadata.csv not found; a dataset is a folder with metadata.csv "
            "(columns image, subject_id, attributes...) and the images it names"
        )
    frame = read_csv(csv, "a metadata.csv (a header line image,subject_id,attributes... and one row per image)",
                     what="metadata.csv", dtype=str, keep_default_na=False)
    for col in frame.columns:
        frame[col] = frame[col].str.strip()
        frame.loc[frame[col].isin(MISSING), col] = pd.NA
    return frame


def validate_frame(frame: pd.DataFrame, root: Path, subject_attributes: list[str]) -> None:
    """Check a metadata frame; raise :class:`DatasetError` naming the CSV row of the first problem.

    Row numbers are CSV line numbers (the header is line 1).
    """
    csv = root / "metadata.csv"
    missing = [c for c in ("image", "subject_id") if c not in frame.columns]
    if missing:
        raise DatasetError(
            f"{csv}: missing required column(s) {', '.join(missing)}; found {', '.join(frame.columns)}: add it (image: "
            "the path relative to the folder; subject_id: who is pictured), or name your person column with --set "
            "protocol.subject_column=COLUMN"
        )
    if frame.empty:
        raise DatasetError(f"{csv}: no rows (a header only); add one row per image")
    line = frame.index + 2
    for col in ("image", "subject_id"):
        empty = frame[col].isna()
        if empty.any():
            raise DatasetError(f"{csv}: row {line[empty.argmax()]}: empty {col} (or a missing-value marker such as "
                               f"NA); fill it in or delete the row")
    dup = frame["image"].duplicated(keep=False)
    if dup.any():
        rows = ", ".join(str(r) for r in line[dup][:6])
        raise DatasetError(f"{csv}: rows {rows}: the same image is listed more than once; keep one row per image")
    for i, img in zip(line, frame["image"]):
        p = Path(img)
        # Judged on the path as written, not where a symbolic link points: a link inside the folder to a
        # shared copy of the images is the user's choice (the file's bytes are still hashed and checked).
        norm = os.path.normpath(img)
        if p.is_absolute() or norm == ".." or norm.startswith(".." + os.sep) or norm.startswith("../"):
            raise DatasetError(f"{csv}: row {i}: image path {img!r} must be relative and inside {root} "
                               "(symbolic links inside the folder are fine)")
        if (root / p).is_dir():
            raise DatasetError(f"{csv}: row {i}: image path {img!r} is a folder, not an image file")
        if not (root / p).is_file():
            raise DatasetError(
                f"{csv}: row {i}: image file {img!r} not found under {root} (fix the path or restore the file)"
            )
    for col in frame.columns:  # control characters would be written raw into reports, CSVs and terminals
        bad = frame[col].astype(str).str.contains(r"[\x00-\x08\x0b-\x1f\x7f]", regex=True, na=False)
        if bad.any():
            raise DatasetError(f"{csv}: row {line[bad.to_numpy().argmax()]}: column {col!r} holds a control "
                               "character (e.g. ESC); remove it")
    for attr in subject_attributes:
        values = frame.groupby("subject_id")[attr].agg(lambda s: set(s.dropna()))
        bad = values[values.map(len) > 1]
        if len(bad):
            sid = bad.index[0]
            rows = ", ".join(str(r) for r in line[(frame["subject_id"] == sid).to_numpy()])
            raise DatasetError(
                f"{csv}: rows {rows}: subject {sid} has inconsistent {attr} "
                f"({', '.join(sorted(map(str, bad.iloc[0])))}); a person's attributes must agree across images"
            )


def open_dataset(name_or_path: str, home: Optional[str] = None, card: Optional[Card] = None,
                 per_image: Sequence[str] = (), subject_column: str = "subject_id") -> Dataset:
    """Open and validate a dataset folder (``home/name``) or an explicit folder path.

    ``per_image``: columns that describe an image (a split column), exempt from the per-person check.
    ``subject_column``: the column naming the person, read as ``subject_id``.
    """
    p = Path(name_or_path).expanduser()
    root = p if (p.is_dir() and (p / "metadata.csv").exists()) or os.sep in name_or_path else data_home(home) / name_or_path
    frame = read_metadata(root)
    if subject_column != "subject_id":
        if subject_column not in frame.columns:
            raise DatasetError(f"{root / 'metadata.csv'}: protocol.subject_column {subject_column!r} is not a column "
                               f"(columns: {', '.join(frame.columns)})")
        if "subject_id" in frame.columns:
            raise DatasetError(f"{root / 'metadata.csv'}: has both subject_id and protocol.subject_column "
                               f"{subject_column!r}; keep one, or drop the setting")
        frame = frame.rename(columns={subject_column: "subject_id"})
    ds = Dataset(name=card.name if card else root.name, root=root, frame=frame, card=card,
                 per_image=tuple(per_image))
    validate_frame(frame, root, ds.subject_attributes)
    return ds


def text_columns(frame: pd.DataFrame, columns: Sequence[str]) -> dict[str, list[str]]:
    """Of ``columns`` present in ``frame``, those holding values that are not numbers, with examples.

    A numeric attribute is banded (``metrics.bins``); text in it (e.g. "50-64") would land in band
    "unknown", so callers warn instead of letting that happen silently.
    """
    out = {}
    for c in columns:
        if c in frame.columns:
            vals = frame[c].dropna()
            bad = vals[pd.to_numeric(vals, errors="coerce").isna()]
            if len(bad):
                out[c] = sorted(map(str, bad.unique()))[:3]
    return out


def decode_all(ds: Dataset, max_pixels: int = 40_000_000) -> list[ImageError]:
    """Try decoding every image; return the errors (empty when all decode)."""
    errors = []
    for img in ds.frame["image"]:
        try:
            load_rgb(ds.path_of(img), max_pixels=max_pixels)
        except ImageError as exc:
            errors.append(exc)
    return errors
