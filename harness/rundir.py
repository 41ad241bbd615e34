"""Where a run may write: validated run-directory names and writable output folders.

A run directory is always a direct child of the reports folder. Its name is one path component of
letters, digits, ``.``, ``_`` and ``-`` (no separators, no ``..``, no leading dot), so no name or
config value can point a run at, or delete, anything outside the folders the user named. An existing
folder is replaced only when it is itself a facerisk run directory (it holds ``results.json``).
Folders are checked before any model work, so a mistake costs seconds, not a whole run.
"""

from __future__ import annotations

import errno
import glob
import os
import re
import shutil
import tempfile
from pathlib import Path

from harness.errors import ConfigError

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
#: Free space below which a reports folder is refused before the run starts (a report is a few MB).
MIN_FREE_BYTES = 8 * 1024 * 1024
#: Files that mark a folder as a facerisk output that may be replaced by a rerun of the same name.
RUN_MARKERS = ("results.json", "metrics.json", "ingest.json", "compare.json")


def validate_name(name: str, where: str = "name") -> str:
    """``name`` if it is a safe single folder name, else a ConfigError naming the setting and the fix."""
    if not isinstance(name, str) or not _NAME.fullmatch(name) or name in (".", ".."):
        raise ConfigError(
            f"{where} {name!r} is not a valid run name: use letters, digits, '.', '_' and '-' only "
            "(no '/', no '..', not starting with '.'; at most 128 characters), e.g. --name my-run"
        )
    return name


def safe_name(raw: str) -> str:
    """``raw`` as a valid folder name: each run of other characters becomes '-'."""
    return (re.sub(r"[^A-Za-z0-9._-]+", "-", raw).lstrip(".-") or "run")[:128]


def default_name(cfg) -> str:
    """``<dataset>_<detector>_<embedder>``, made safe as a folder name."""
    return safe_name(f"{Path(str(cfg.dataset.name)).name}_{cfg.detector.name}_{cfg.embedder.name}")


def check_writable(folder: str | Path, setting: str, fix: str, min_free: int = MIN_FREE_BYTES) -> Path:
    """Create ``folder`` if needed and prove it takes a file and has room; ConfigError otherwise."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".facerisk-write-check.")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise ConfigError(f"{setting} {folder}: not writable ({exc.strerror or exc}); choose another with {fix}") \
            from None
    free = shutil.disk_usage(folder).free
    if free < min_free:
        raise ConfigError(f"{setting} {folder}: only {free // 1024} KiB free; free some space or choose another "
                          f"with {fix}")
    return folder


def run_dir(reports_dir: str | Path, name: str) -> Path:
    """The run directory ``reports_dir/name``, refusing names and folders a run must not replace."""
    validate_name(name)
    reports_dir = Path(reports_dir)
    final = reports_dir / name
    if final.is_symlink():
        raise ConfigError(f"{final} is a symbolic link; facerisk does not replace links: choose another --name")
    if final.exists():
        if not final.is_dir() or not any((final / m).is_file() for m in RUN_MARKERS):
            raise ConfigError(f"{final} exists and is not a facerisk run directory; it is left untouched: "
                              "choose another --name or --reports-dir")
    return final


def check_out_folder(final: Path, flag: str) -> Path:
    """An output folder that may be written: absent, or an earlier facerisk output (never a user's folder),
    with a writable parent. Checked before any work, so a mistake costs seconds."""
    final = Path(final)
    if final.exists() or final.is_symlink():
        if final.is_symlink() or not final.is_dir() or not any((final / m).is_file() for m in RUN_MARKERS):
            raise ConfigError(f"{final} exists and is not a facerisk output folder; it is left untouched: choose "
                              f"another {flag}")
    check_writable(final.parent, flag, f"{flag} DIR")
    return final


def staging_dir(parent: Path, name: str) -> Path:
    """A hidden temporary folder ``parent/.name.pidN.XXXX`` where an output is assembled before its rename.

    Its name records the process that owns it: a staging folder left by a process that is gone (kill -9,
    power cut) is removed here, so killed runs do not leave hidden folders piling up; a live run's is left
    alone. (In the name, not in a file inside, so nothing extra is hashed into the output.)
    """
    parent = Path(parent)
    for old in parent.glob(f".{glob.escape(name)}.pid*"):
        m = re.fullmatch(rf"\.{re.escape(name)}\.pid(\d+)\..+", old.name)
        if m and old.is_dir() and not old.is_symlink() and not _alive(int(m.group(1))):
            shutil.rmtree(old, ignore_errors=True)
    return Path(tempfile.mkdtemp(dir=parent, prefix=f".{name}.pid{os.getpid()}."))


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def preflight(cfg) -> Path:
    """Resolve and check the run's output and cache folders before any work; returns the run directory."""
    cfg.name = validate_name(cfg.name) if cfg.name else default_name(cfg)
    check_writable(cfg.reports_dir, "reports_dir", "--reports-dir DIR")
    return run_dir(cfg.reports_dir, cfg.name)


def is_disk_full(exc: OSError) -> bool:
    return exc.errno in (errno.ENOSPC, errno.EDQUOT)
