"""``facerisk datasets init FOLDER``: a metadata.csv skeleton from a one-sub-folder-per-person tree.

LFW and most academic face sets ship as ``FOLDER/<person>/<image>``. The skeleton has one row per image
(``image``, ``subject_id`` = the sub-folder's name) and empty attribute columns to fill; nothing is
guessed from the pixels or the names.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Sequence

from harness.errors import DatasetError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
DEFAULT_COLUMNS = ("gender", "ethnicity", "age")


def init_tree(folder: Path, columns: Sequence[str] = DEFAULT_COLUMNS, force: bool = False) -> dict:
    """Write ``folder/metadata.csv`` from its person sub-folders; return what was written.

    Images directly in ``folder`` (no person folder) are refused, as the person would be unknown.
    Symbolic links are followed for listing (a tree of links to a shared copy is fine).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError(f"{folder}: not a folder; give the folder holding one sub-folder per person")
    out = folder / "metadata.csv"
    if out.exists() and not force:
        raise DatasetError(f"{out} already exists; move it away or pass --force to overwrite it")
    loose = sorted(p.name for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if loose:
        raise DatasetError(f"{folder}: {len(loose)} image(s) directly in the folder (e.g. {loose[0]}); put each "
                           "person's images in a sub-folder named after them")
    rows = []
    for person in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for img in sorted(person.rglob("*")):
            if img.is_file() and img.suffix.lower() in IMAGE_SUFFIXES:
                rows.append({"image": img.relative_to(folder).as_posix(), "subject_id": person.name})
    if not rows:
        raise DatasetError(f"{folder}: no images in sub-folders ({', '.join(IMAGE_SUFFIXES)})")
    cols = ["image", "subject_id", *[c for c in columns if c not in ("image", "subject_id")]]
    tmp = out.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=cols, restval="")
        w.writeheader()
        w.writerows(rows)
    tmp.replace(out)
    people = {r["subject_id"] for r in rows}
    counts = {}
    for r in rows:
        counts[r["subject_id"]] = counts.get(r["subject_id"], 0) + 1
    return {"path": str(out), "n_images": len(rows), "n_people": len(people),
            "n_people_with_2plus": sum(1 for n in counts.values() if n >= 2), "columns_to_fill": cols[2:]}
