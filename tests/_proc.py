"""Process-tree helpers for the fault tests and the hostile driver, read from Linux's /proc."""

from __future__ import annotations

from pathlib import Path


def parents() -> dict[int, int]:
    """Every live process id mapped to its parent's."""
    out: dict[int, int] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                out[int(d.name)] = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue  # gone while being read
    return out


def children(pid: int) -> list[int]:
    """The direct children of ``pid``."""
    return sorted(c for c, p in parents().items() if p == pid)


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (children, theirs, ...)."""
    parent = parents()
    out: set[int] = set()
    todo = [pid]
    while todo:
        this = todo.pop()
        kids = [c for c, p in parent.items() if p == this]
        out.update(kids)
        todo.extend(kids)
    return out
