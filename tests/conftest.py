"""Shared fixtures. Real-image tests read frl-london from FACERISK_DATA_HOME (default ../shared/datasets)."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]


def real_data_home() -> Path | None:
    home = Path(os.environ.get("FACERISK_DATA_HOME") or REPO.parent / "shared" / "datasets")
    return home if (home / "frl-london" / "metadata.csv").is_file() else None


@pytest.fixture(scope="session")
def data_home() -> Path:
    home = real_data_home()
    if home is None:
        pytest.skip("frl-london not found: set FACERISK_DATA_HOME to the folder holding frl-london/")
    return home


@pytest.fixture(scope="session")
def frl(data_home) -> Path:
    return data_home / "frl-london"


@pytest.fixture(scope="session")
def face_recognition():
    """The reference implementation, installed --no-deps outside the venv (see Makefile)."""
    ref = os.environ.get("FACERISK_REF_PATH") or str(REPO / ".ref")
    if Path(ref).is_dir() and ref not in sys.path:
        sys.path.append(ref)
    try:
        import face_recognition as fr
    except BaseException as exc:  # face_recognition calls quit() when its models fail to import
        pytest.skip(f"face_recognition not importable ({exc!r}); run 'make test' to install the reference")
    return fr


@pytest.fixture(scope="session")
def real_run(data_home, tmp_path_factory):
    """One default run on frl-london (2 workers, fresh cache), shared by the tests that read its outputs."""
    from harness import config, pipeline, report

    tmp = tmp_path_factory.mktemp("realrun")
    cfg = config.load(overrides=[f"dataset.data_home={data_home}", f"cache_dir={tmp / 'cache'}",
                                 f"reports_dir={tmp / 'reports'}", "progress=false", "workers=2", "name=default"])
    res = pipeline.run(cfg)
    out = report.write(res, cfg.reports_dir, cfg.name)
    return res, out, cfg


def write_dataset(root: Path, rows: list[dict], images: dict[str, np.ndarray | bytes]) -> Path:
    """Make a dataset folder: metadata.csv from rows, image files from arrays or raw bytes."""
    import pandas as pd

    root.mkdir(parents=True, exist_ok=True)
    for rel, content in images.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            Image.fromarray(content).save(p)
    pd.DataFrame(rows).to_csv(root / "metadata.csv", index=False)
    return root


@contextlib.contextmanager
def serve_files(root: Path, files: dict[str, bytes]):
    """Write ``files`` (relative path -> bytes) under ``root`` and serve them on 127.0.0.1; yields the base URL."""
    import functools
    import http.server
    import threading

    for rel, content in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(content)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
