"""Data stage: dataset cards, metadata validation, safe image decoding, upstream fetch."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

from harness.data.cards import Card, get_card, list_cards
from harness.data.dataset import Dataset, data_home, open_dataset
from harness.data.fetch import fetch
from harness.errors import DatasetError

__all__ = ["Card", "Dataset", "data_home", "fetch", "get_card", "list_cards", "open_dataset", "resolve"]


def resolve(name: str, home: Optional[str] = None, download: bool = True, mirror: Optional[str] = None,
            progress: bool = True, per_image: Sequence[str] = (), subject_column: str = "subject_id") -> Dataset:
    """Open dataset ``name`` (a card name or a folder path), fetching the public original if absent.

    ``per_image`` and ``subject_column``: see :func:`harness.data.dataset.open_dataset`.
    """
    p = Path(name).expanduser()
    if (p / "metadata.csv").is_file():
        return open_dataset(str(p), per_image=per_image, subject_column=subject_column)
    if p.is_file() and p.name == "metadata.csv":
        raise DatasetError(f"--dataset {name}: give the folder that holds metadata.csv, i.e. --dataset {p.parent}")
    if p.is_dir():
        raise DatasetError(f"{p}: no metadata.csv in this folder; a dataset folder needs metadata.csv (columns "
                           "image, subject_id, attributes...) beside its images")
    if p.exists() or len(p.parts) > 1:
        raise DatasetError(f"--dataset {name}: not a dataset folder (no {p / 'metadata.csv'}) nor a dataset name; "
                           "see 'facerisk datasets list'")
    card = get_card(name)
    root = data_home(home)
    if not (root / card.name / "metadata.csv").is_file():
        if not download:
            raise DatasetError(
                f"dataset {card.name} not found under {root}; run 'facerisk datasets fetch {card.name}' "
                "or point --data-home / FACERISK_DATA_HOME at the folder that holds it"
            )
        fetch(card, root, mirror=mirror, progress=progress)
    return open_dataset(str(root / card.name), card=card, per_image=per_image, subject_column=subject_column)
