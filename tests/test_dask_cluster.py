"""frl-london through a real Dask cluster (a `dask scheduler` and two `dask worker` processes on 127.0.0.1).

The results equal the local run's apart from timings, paths and host names; with one worker killed
mid-run, its tasks are recomputed on the other and the run completes with the same results.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from tests._proc import descendants

pytest.importorskip("distributed", reason="dask.distributed not installed (pip install 'facerisk[dask]')")
pytestmark = [pytest.mark.realdata, pytest.mark.slow]


def _stop(procs) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=15)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """(address, [worker processes]): a scheduler and two single-threaded workers without nannies, so a
    killed worker stays dead. Everything is stopped in a finally."""
    tmp = tmp_path_factory.mktemp("dask")
    sched_file = tmp / "scheduler.json"
    procs: list[subprocess.Popen] = []
    log = open(tmp / "cluster.log", "w")
    try:
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0",
             "--no-dashboard", "--scheduler-file", str(sched_file)], stdout=log, stderr=subprocess.STDOUT))
        t0 = time.time()
        while not sched_file.is_file() or not sched_file.read_text().strip():
            if time.time() - t0 > 60 or procs[0].poll() is not None:
                pytest.fail(f"dask scheduler did not start: {(tmp / 'cluster.log').read_text()}")
            time.sleep(0.2)
        time.sleep(0.3)
        address = json.loads(sched_file.read_text())["address"]
        for i in range(2):
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "distributed.cli.dask_worker", address, "--host", "127.0.0.1", "--nthreads",
                 "1", "--no-nanny", "--no-dashboard", "--name", f"w{i}", "--death-timeout", "60",
                 "--local-directory", str(tmp / f"w{i}")], stdout=log, stderr=subprocess.STDOUT))
        from distributed import Client

        with Client(address, timeout=30) as c:
            c.wait_for_workers(2, timeout=90)
        yield address, procs[1:]
    finally:
        _stop(procs)
        log.close()


def _run(data_home, tmp: Path, address: str, name: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "harness", "run", "--data-home", str(data_home), "--cache-dir",
                             str(tmp / "cache"), "--reports-dir", str(tmp / "reports"), "--name", name, "--workers",
                             "2", "--scheduler", address, "-q"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _comparable(results: dict) -> dict:
    """results.json without what legitimately differs between two runs (times, paths, names, hosts)."""
    r = json.loads(json.dumps(results))
    for k in ("created_utc", "run_name", "files"):
        r.pop(k, None)
    prov = r.pop("provenance")
    cfg = prov["config"]
    for k in ("name", "reports_dir", "cache_dir", "scheduler"):
        cfg.pop(k, None)
    acq = prov["acquisition"]
    for k in list(acq):
        if k.startswith("seconds") or k == "cache_dir":
            acq.pop(k)
    r["provenance"] = {k: prov[k] for k in ("config", "models", "dataset", "seeds", "acquisition", "capture")}
    return r


def _same_outputs(ours: Path, ref: Path) -> None:
    assert _comparable(json.loads((ours / "results.json").read_text())) == \
        _comparable(json.loads((ref / "results.json").read_text()))
    pd.testing.assert_frame_equal(pd.read_csv(ours / "pairs.csv"), pd.read_csv(ref / "pairs.csv"))
    a, b = (pd.read_csv(p / "acquisitions.csv") for p in (ours, ref))
    keep = [c for c in a.columns if not c.startswith("t_")]
    pd.testing.assert_frame_equal(a[keep], b[keep])


def test_a_dask_cluster_gives_the_local_results(cluster, data_home, tmp_path, real_run):
    address, _ = cluster
    proc = _run(data_home, tmp_path, address, "dask")
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    assert "(0 from cache)" in out
    # the workers wrote the cache entries themselves (the folder is shared: same machine)
    assert len(list((tmp_path / "cache").rglob("*.npz"))) == 204
    _same_outputs(tmp_path / "reports" / "dask", real_run[1])
    # a second run is served from the cache the workers wrote
    again = _run(data_home, tmp_path, address, "again")
    out, err = again.communicate(timeout=600)
    assert again.returncode == 0 and "(204 from cache)" in out, err


def test_a_worker_killed_mid_run_loses_nothing_and_counts_nothing_twice(cluster, data_home, tmp_path, real_run):
    address, workers = cluster
    proc = _run(data_home, tmp_path, address, "killed")
    cache = tmp_path / "cache"
    try:
        t0 = time.time()
        while len(list(cache.rglob("*.npz"))) < 20:  # the cluster is well into the run
            assert proc.poll() is None, proc.communicate()
            assert time.time() - t0 < 300, "no progress"
            time.sleep(0.1)
        os.kill(workers[1].pid, signal.SIGKILL)
        workers[1].wait(timeout=30)
        out, err = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "(0 from cache)" in out and "204 images" in out
    assert len(list(cache.rglob("*.npz"))) == 204
    _same_outputs(tmp_path / "reports" / "killed", real_run[1])


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.fixture
def port_8787_taken():
    """Dask's default HTTP port held by another program (as in CI, where it made Dask warn on stderr)."""
    import socket

    s = socket.socket()
    try:
        s.bind(("127.0.0.1", 8787))
        s.listen()
    except OSError:  # already held by something else: the same condition
        pass
    yield
    s.close()


@pytest.mark.parametrize("moment", ["cluster starting", "workers at work"])
def test_sigterm_of_a_local_cluster_run_exits_143_with_one_line_and_leaves_no_process(data_home, tmp_path, moment,
                                                                                      port_8787_taken):
    scratch = tmp_path / "tmp"  # the LocalCluster's scratch folder goes here: it must be gone afterwards
    scratch.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "harness", "run", "--data-home", str(data_home), "--cache-dir",
                             str(tmp_path / "cache"), "--reports-dir", str(tmp_path / "reports"), "--name", "t",
                             "--workers", "2", "--scheduler", "local", "-q"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "TMPDIR": str(scratch)})
    tree: set[int] = set()
    try:
        t0 = time.time()
        while not (list(scratch.glob("facerisk-dask-*")) if moment == "cluster starting"
                   else len(list((tmp_path / "cache").rglob("*.npz"))) >= 3):  # the workers' own cache entries
            assert proc.poll() is None, proc.communicate()
            assert time.time() - t0 < 300, "no progress"
            tree |= descendants(proc.pid)
            time.sleep(0.05)
        if moment == "workers at work":
            tree |= descendants(proc.pid)
            assert len(tree) >= 2, tree  # the two worker processes (and whatever else the cluster started)
        proc.send_signal(signal.SIGTERM)
        for _ in range(20):  # processes the cluster was starting when the signal came
            tree |= descendants(proc.pid)
            time.sleep(0.05)
        out, err = proc.communicate(timeout=90)
        assert proc.returncode == 143, err
        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert len(lines) == 1 and "terminated (SIGTERM)" in lines[0], err  # no Dask tracebacks or chatter
        t0 = time.time()
        while any(_alive(p) for p in tree) and time.time() - t0 < 15:
            time.sleep(0.1)
        assert not [p for p in tree if _alive(p)], "processes left behind"
        reports = tmp_path / "reports"
        assert not reports.exists() or not any(reports.iterdir())  # nothing partial
        assert not list(scratch.iterdir()), f"left in TMPDIR: {list(scratch.iterdir())}"  # dask-scratch-space too
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for p in tree:
            if _alive(p):
                os.kill(p, signal.SIGKILL)


def test_a_local_cluster_leaves_nothing_in_tmpdir(tmp_path):
    """Hostile re-test: every --scheduler local run left $TMPDIR/dask-scratch-space/{global,purge}.lock (the
    scheduler's own WorkSpace, made from Dask's temporary-directory, not from the workers' local_directory)."""
    pytest.importorskip("distributed")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    code = ("from harness.executors.dask_cluster import DaskExecutor\n"
            "ex = DaskExecutor('local', 1)\nprint(ex.workers)\nex.close()\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                       env={**os.environ, "TMPDIR": str(scratch)})
    assert r.returncode == 0 and r.stdout.strip() == "1", r.stderr
    assert list(scratch.iterdir()) == []
