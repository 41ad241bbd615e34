"""Where per-item work runs: this process's pool of worker processes, or a Dask cluster.

An executor runs ``fn(context, task)`` for every task and yields ``(index, result)`` pairs, each index
exactly once, in whatever order results arrive. ``context`` is sent to each worker once (the run's
configuration, the capture model); ``fn`` must be a module-level function, importable on the workers.

- :class:`~harness.executors.local.LocalPool`: worker processes of this machine (the default). Workers
  die with their parent (kill -9 included) and ignore Ctrl-C/SIGTERM, which the parent handles.
- :class:`~harness.executors.dask_cluster.DaskExecutor`: a ``dask.distributed`` cluster, either one
  that already runs (``tcp://HOST:PORT``) or a LocalCluster started for the run (``local``). Needs the
  optional extra ``pip install 'facerisk[dask]'``.
"""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator, Optional, Protocol, Sequence

#: The run's Dask executor while :func:`run_scope` is open: [scheduler, workers, executor or None].
_SCOPE: list[Any] = []


class Executor(Protocol):
    """The seam between a stage's per-item function and where it runs."""

    #: "local" or "dask"
    name: str
    #: Worker processes (or Dask worker threads) the tasks are spread over.
    workers: int

    def run(self, fn: Callable[[Any, Any], Any], tasks: Sequence[Any], context: Any = None,
            keys: Optional[Sequence[str]] = None) -> Iterator[tuple[int, Any]]:
        """Yield ``(i, fn(context, tasks[i]))`` once per task, in arrival order."""

    def close(self) -> None:
        """Stop the workers (cancelling unfinished tasks)."""


def make(scheduler: Optional[str], workers: int, n_tasks: int) -> Executor:
    """The executor for a run's ``scheduler`` setting.

    Parameters
    ----------
    scheduler : None (worker processes of this machine), ``"local"`` (a Dask LocalCluster) or the
        address of a running Dask scheduler (``tcp://HOST:PORT``).
    workers : worker processes for the local pool and the LocalCluster (0: one per core, at least 2
        for the LocalCluster); ignored for an existing cluster, which has its own.
    n_tasks : how many tasks will run (no more local workers than tasks are started).
    """
    if scheduler:
        from harness.executors.dask_cluster import DaskExecutor

        if _SCOPE and _SCOPE[0] == scheduler:
            if _SCOPE[2] is None:  # started on first use: a fully cached run starts no cluster
                _SCOPE[2] = DaskExecutor(scheduler, _SCOPE[1])
            return _Borrowed(_SCOPE[2])
        return DaskExecutor(scheduler, workers)
    from harness.executors.local import LocalPool, resolve_workers

    return LocalPool(resolve_workers(workers, n_tasks))


@contextlib.contextmanager
def run_scope(scheduler: Optional[str], workers: int = 0) -> Iterator[None]:
    """Within the block, every :func:`make` for ``scheduler`` shares one Dask client (and, for ``local``, one
    LocalCluster), started on first use and closed when the block ends, however it ends.

    A run's stages (acquisition, each step of a capture sweep, the all-vs-all engine) then pay for one
    cluster start, not one each. Without a scheduler this does nothing.
    """
    if not scheduler or _SCOPE:  # nested: the outer scope's cluster serves
        yield
        return
    _SCOPE[:] = [scheduler, workers, None]
    ok = False
    try:
        yield
        ok = True
    finally:
        ex = _SCOPE[2]
        _SCOPE.clear()
        if ex is not None:
            ex.close(abort=not ok)  # ended by an error or a signal: workers stopped at once, quietly


class _Borrowed:
    """The run's shared executor, lent to one stage: closing it cancels that stage's tasks only."""

    def __init__(self, ex: Any):
        self._ex = ex
        self.name, self.workers = ex.name, ex.workers

    def run(self, fn: Callable[[Any, Any], Any], tasks: Sequence[Any], context: Any = None,
            keys: Optional[Sequence[str]] = None) -> Iterator[tuple[int, Any]]:
        return self._ex.run(fn, tasks, context, keys)

    def close(self) -> None:
        self._ex.cancel()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
