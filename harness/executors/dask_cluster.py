"""A ``dask.distributed`` cluster as the executor: one that already runs, or a LocalCluster.

Tasks are submitted under caller-chosen keys (the acquisition cache key), so a task is computed once
however often it is asked for. When a worker is lost mid-run, the scheduler reruns the tasks it held
on the surviving workers; each task's result reaches this client once, so nothing is counted twice.
The run's context (configuration, capture model) is sent to the workers once, not with every task.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import tempfile
import time
from typing import Any, Callable, Iterator, Optional, Sequence

from harness.errors import ConfigError, FaceriskError

#: ``--scheduler local``: a LocalCluster of this many worker processes when ``workers`` is 0.
LOCAL_WORKERS = 2


def _require_distributed():
    try:
        import distributed
    except ImportError:
        raise FaceriskError("scheduler is set but dask.distributed is not installed; install the extra with "
                            "pip install 'facerisk[dask]' (or leave --scheduler out to use local worker "
                            "processes)") from None
    return distributed


def check_address(scheduler: str) -> None:
    """``local`` or ``SCHEME://HOST:PORT`` (tcp, tls, ucx, inproc), and dask.distributed installed."""
    if scheduler != "local":
        scheme, sep, rest = scheduler.partition("://")
        if not sep or scheme not in ("tcp", "tls", "ucx", "inproc") or not rest:
            raise ConfigError(f"scheduler: {scheduler!r} is not 'local' or a Dask scheduler address such as "
                              "tcp://10.0.0.5:8786")
    import importlib.util

    try:  # found without importing it (importing distributed takes a while)
        found = importlib.util.find_spec("distributed") is not None
    except ValueError:  # present in sys.modules as None: import blocked
        found = False
    if not found:
        _require_distributed()


def _guard_local_worker() -> int:
    """In a LocalCluster worker process: die with the facerisk process, leave signals to it, keep quiet.

    Returns the worker's process id (so an aborted run can stop it at once)."""
    import os
    import signal

    logging.getLogger("distributed").setLevel(logging.WARNING)

    from harness.executors.local import die_with_parent

    die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    return os.getpid()


def _quiet() -> None:
    """Keep Dask's shutdown messages (heartbeats to a closed scheduler, workers killed) off facerisk's log."""
    for name in ("distributed", "tornado", "asyncio"):
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)


def _kill_started_processes() -> None:
    """Kill the worker processes this process started (a LocalCluster's nannies spawn them from here).

    Interrupted while the cluster is starting, the cluster object does not exist yet, so its workers
    cannot be asked to stop; left alive, they would try to tidy the scratch folder after it is removed
    and print distributed's "Failed to remove" errors on the user's terminal after facerisk's one line.
    """
    import multiprocessing

    for p in multiprocessing.active_children():
        try:
            p.kill()
            p.join(5)
        except Exception:  # noqa: BLE001 - already gone
            pass


@contextlib.contextmanager
def _signals_deferred():
    """Hold SIGINT/SIGTERM back until the block ends, then deliver them to the handlers that were set.

    While a LocalCluster is being built its object does not exist, so an interrupt there cannot stop the
    worker processes its nannies are spawning from a thread of their own: one spawned after facerisk
    removed the scratch folder recreated it (CI: ``left in TMPDIR: facerisk-dask-...``). Building it
    takes seconds; the signal then takes effect with the cluster in hand, and close(abort) stops it. A
    second Ctrl-C in that time is not held back (the user insists). Outside the main thread (embedded
    use) signals are left alone.
    """
    pending: list[int] = []
    old = {}

    def hold(signum, frame):  # noqa: ARG001 - signal handler signature
        if signum == signal.SIGINT and signal.SIGINT in pending:
            raise KeyboardInterrupt
        pending.append(signum)

    try:
        for sig in (signal.SIGINT, signal.SIGTERM):
            old[sig] = signal.signal(sig, hold)
    except ValueError:  # not the main thread
        pass
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
        for sig in dict.fromkeys(pending):  # each once, in order of arrival
            signal.raise_signal(sig)  # runs the restored handler: Terminated / KeyboardInterrupt


def _descendants() -> set[int]:
    """Process ids of this process's children and theirs (from /proc; empty where there is none)."""
    children: dict[int, list[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return set()
    for entry in entries:
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    found, todo = set(), [os.getpid()]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _remove_scratch(path: str, deadline: float = 10.0) -> None:
    """Remove the scratch folder and keep it removed: a worker that was still starting may write into it."""
    t0 = time.monotonic()
    while True:
        shutil.rmtree(path, ignore_errors=True)
        time.sleep(0.2)  # a process that was mid-write shows itself
        if not os.path.exists(path) or time.monotonic() - t0 > deadline:
            return
        for pid in _descendants():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


class DaskExecutor:
    """Runs tasks on the Dask cluster at ``scheduler`` (``local``: a LocalCluster started here)."""

    name = "dask"

    def __init__(self, scheduler: str, workers: int = 0, timeout: float = 20.0):
        check_address(scheduler)
        distributed = _require_distributed()
        self.scheduler = scheduler
        self._cluster = None
        self._scratch = None
        self._futures: list = []
        self._pids: list[int] = []
        try:
            if scheduler == "local":
                with _signals_deferred():
                    self._start(distributed, scheduler, workers, timeout)
            else:  # connecting can take the whole timeout: an interrupt acts at once (nothing is started here)
                self._start(distributed, scheduler, workers, timeout)
        except BaseException:  # Ctrl-C/SIGTERM while starting: stop what already runs, remove the scratch folder
            self.close(abort=True)
            raise

    def _start(self, distributed, scheduler: str, workers: int, timeout: float) -> None:
        # Dask's own progress chatter (INFO) would otherwise reach facerisk's log handler.
        logging.getLogger("distributed").setLevel(logging.WARNING)
        # "Couldn't gather N keys, rescheduling" is Dask recovering from a lost worker by itself (the tasks are
        # recomputed, each result counted once); in CI it also raced facerisk's one SIGTERM line onto stderr.
        logging.getLogger("distributed.client").setLevel(logging.ERROR)
        if scheduler == "local":
            # One thread per worker process: dlib's network objects are not shared between threads.
            # No dashboard: nothing is served that the run does not need. The scheduler still starts an HTTP
            # server (Dask's health routes); without an address it tries port 8787 and, when another program
            # holds it, warns on stderr (seen in CI): a free port on 127.0.0.1 instead, chosen by the kernel.
            import dask

            # Workers' scratch space in a folder of our own, removed on close: nothing is left in /tmp. The
            # scheduler (a distributed Server) makes its own WorkSpace from temporary-directory, not from
            # local_directory: without it $TMPDIR/dask-scratch-space/{global,purge}.lock stayed after every run.
            self._scratch = tempfile.mkdtemp(prefix="facerisk-dask-")
            with dask.config.set({"logging.distributed": "warning",  # the workers' own chatter too
                                  "temporary-directory": self._scratch}):
                self._cluster = distributed.LocalCluster(n_workers=workers or LOCAL_WORKERS, threads_per_worker=1,
                                                         local_directory=self._scratch,
                                                         processes=True, host="127.0.0.1", dashboard_address=None,
                                                         scheduler_kwargs={"dashboard": False,
                                                                           "dashboard_address": "127.0.0.1:0"},
                                                         silence_logs=logging.ERROR)
            self.client = distributed.Client(self._cluster)
            self._pids = list(self.client.run(_guard_local_worker).values())
        else:
            try:
                self.client = distributed.Client(scheduler, timeout=timeout)
            except (OSError, TimeoutError) as exc:
                raise FaceriskError(f"scheduler {scheduler}: cannot connect ({exc}); check the address, or start "
                                    "one with 'dask scheduler' and 'dask worker ADDRESS'") from None
        info = self.client.scheduler_info()
        self.workers = sum(w.get("nthreads", 1) for w in info.get("workers", {}).values())
        if not self.workers:
            try:
                self.client.wait_for_workers(1, timeout=timeout)
            except TimeoutError:  # distributed's WorkerStartTimeoutError is one
                raise FaceriskError(f"scheduler {scheduler}: no worker joined within {timeout:g} s; start some "
                                    f"with 'dask worker {scheduler}'") from None
            info = self.client.scheduler_info()
            self.workers = sum(w.get("nthreads", 1) for w in info.get("workers", {}).values())

    def run(self, fn: Callable[[Any, Any], Any], tasks: Sequence[Any], context: Any = None,
            keys: Optional[Sequence[str]] = None) -> Iterator[tuple[int, Any]]:
        from distributed import as_completed
        from distributed.scheduler import KilledWorker

        [ctx] = self.client.scatter([context], broadcast=True, hash=False)
        futures = self.client.map(fn, [ctx] * len(tasks), list(tasks), key=list(keys) if keys else None,
                                  pure=False if keys is None else True)
        self._futures = futures
        index = {f.key: i for i, f in enumerate(futures)}
        try:
            for fut in as_completed(futures):
                try:
                    result = fut.result()
                except KilledWorker as exc:
                    raise FaceriskError(f"scheduler {self.scheduler}: task {exc.task} was lost with "
                                        f"{exc.allowed_failures + 1} workers in turn, each of which died (out of "
                                        "memory?); see the worker logs") from None
                yield index[fut.key], result
                fut.release()
        finally:
            self._futures = []

    def cancel(self) -> None:
        """Cancel the tasks of the :meth:`run` in progress (if any); the cluster stays up."""
        futures, self._futures = self._futures, []
        if futures:
            self.client.cancel(futures)

    def close(self, abort: bool = False) -> None:
        """Stop the client (and the LocalCluster, removing its scratch folder).

        ``abort``: the run is ending on an error, Ctrl-C or SIGTERM, possibly with workers mid-task: a
        LocalCluster's workers are killed at once rather than asked to finish (which they cannot do
        within Dask's 4 s while in a long task), and Dask's shutdown messages are kept off the terminal.
        """
        if abort:
            _quiet()
            self._kill_local_workers()
        try:
            client = getattr(self, "client", None)
            if client is not None:
                try:
                    self.cancel()
                    client.close()
                except Exception:
                    if not abort:
                        raise
        finally:
            if self._cluster is not None:
                try:
                    self._cluster.close(timeout=10 if abort else None)
                except Exception:
                    if not abort:
                        raise
                self._cluster = None
            if self._scratch is not None:
                if abort:
                    _kill_started_processes()
                    _remove_scratch(self._scratch)
                else:
                    shutil.rmtree(self._scratch, ignore_errors=True)
                self._scratch = None

    def _kill_local_workers(self) -> None:
        import os
        import signal

        if self._cluster is None:
            return
        pids = set(self._pids)
        for nanny in list(getattr(self._cluster, "workers", {}).values()):
            try:
                nanny.close_gracefully()  # its worker's exit is then not answered with a new worker
                pids.add(nanny.pid)
            except Exception:  # a nanny still starting has no process yet
                pass
        for pid in pids - {None}:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        self._pids = []

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc) -> None:
        self.close(abort=exc_type is not None)
