"""Worker processes of this machine (``concurrent.futures``), tied to the parent's life."""

from __future__ import annotations

import os
import signal
import sys
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Callable, Iterator, Optional, Sequence

from harness.provenance import usable_cores

_CONTEXT: dict[str, Any] = {}


def resolve_workers(requested: int, n_tasks: int) -> int:
    """``requested`` workers (0: one per usable core), never more than tasks, at least one."""
    n = requested or usable_cores()
    return max(1, min(n, n_tasks))


def die_with_parent() -> None:
    """Ask Linux to SIGKILL this worker when its parent dies (kill -9 included), so no worker is orphaned."""
    import ctypes

    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the parent already died between fork and prctl
        os._exit(1)


def _initializer(fn: Callable, context: Any) -> None:
    die_with_parent()
    # The parent decides what Ctrl-C / SIGTERM mean; workers are shut down by it (or die with it).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _CONTEXT.update(fn=fn, context=context)


def _call(task: Any) -> Any:
    return _CONTEXT["fn"](_CONTEXT["context"], task)


class LocalPool:
    """``workers`` processes (one: everything runs in this process, nothing is pickled).

    Results arrive in task order; tasks are sent in chunks so per-task overhead stays small.
    """

    name = "local"

    def __init__(self, workers: int):
        self.workers = max(1, int(workers))
        self._pool: Optional[ProcessPoolExecutor] = None

    def run(self, fn, tasks: Sequence[Any], context: Any = None,
            keys: Optional[Sequence[str]] = None) -> Iterator[tuple[int, Any]]:  # noqa: ARG002 - keys: Dask only
        if self.workers == 1:
            return enumerate(fn(context, t) for t in tasks)
        self._pool = ProcessPoolExecutor(max_workers=self.workers, initializer=_initializer, initargs=(fn, context))
        # Small chunks keep the workers finishing together (a chunk is at most one worker's idle tail);
        # large runs send up to 8 tasks at a time so the per-task messaging stays negligible.
        chunk = max(1, min(8, len(tasks) // (self.workers * 64)))
        return enumerate(self._pool.map(_call, tasks, chunksize=chunk))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
