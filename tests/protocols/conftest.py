"""Data sets built from frl-london for the protocol tests: symbolic links into the shared copy, never copies."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest


def linked_set(frl: Path, root: Path, meta: pd.DataFrame, layout=None) -> Path:
    """A data set folder whose images are symbolic links to frl-london's (``layout``: new relative paths)."""
    root.mkdir(parents=True)
    meta = meta.copy()
    if layout is not None:
        meta["image"] = [layout(r) for r in meta.itertuples()]
    for src, dst in zip(meta["_src"], meta["image"]):
        (root / dst).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(frl / src, root / dst)
    meta.drop(columns="_src").to_csv(root / "metadata.csv", index=False)
    return root


@pytest.fixture(scope="session")
def frl_meta(frl) -> pd.DataFrame:
    meta = pd.read_csv(frl / "metadata.csv", dtype=str)
    return meta.assign(_src=meta["image"])


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory) -> Path:
    """One acquisition cache for every protocol test: frl-london is detected and embedded once."""
    return tmp_path_factory.mktemp("protocol-cache")


@pytest.fixture(scope="session")
def run_cfg(data_home, shared_cache, tmp_path_factory):
    """A config factory: the given overrides on top of fast, quiet, cached settings."""
    from harness import config

    reports = tmp_path_factory.mktemp("protocol-reports")

    def make(*overrides: str, dataset: str | None = None):
        base = [f"dataset.data_home={data_home}", f"cache_dir={shared_cache}", f"reports_dir={reports}",
                "progress=false", "workers=2", "metrics.bootstrap=0"]
        if dataset is not None:
            base.append(f"dataset.name='{dataset}'")
        return config.load(overrides=base + list(overrides))

    return make
