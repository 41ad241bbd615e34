"""The Dask executor: addresses, a missing install, an unreachable scheduler, a LocalCluster run."""

import sys
import time

import numpy as np
import pytest

from harness import config
from harness.errors import ConfigError, FaceriskError
from harness.executors import dask_cluster
from tests.executors import _tasks


@pytest.mark.parametrize("bad", ["tcp:/x", "http://host:8786", "10.0.0.5:8786", "tcp://", ""])
def test_an_address_that_is_not_local_or_scheme_host_port_is_a_config_error(bad):
    with pytest.raises(ConfigError, match="scheduler"):
        dask_cluster.check_address(bad)


def test_the_scheduler_setting_is_checked_with_the_config():
    assert config.load(overrides=["scheduler=tcp://127.0.0.1:8786"]).scheduler == "tcp://127.0.0.1:8786"
    with pytest.raises(ConfigError, match="scheduler"):
        config.load(overrides=["scheduler=somewhere"])


def test_without_dask_installed_the_error_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import fails as if not installed
    with pytest.raises(FaceriskError, match=r"pip install 'facerisk\[dask\]'"):
        config.load(overrides=["scheduler=local"])
    with pytest.raises(FaceriskError, match=r"pip install 'facerisk\[dask\]'"):
        dask_cluster.DaskExecutor("local")


def test_cli_scheduler_without_dask_exits_2_with_one_line_before_any_work(monkeypatch, tmp_path, capsys):
    from harness import cli

    monkeypatch.setitem(sys.modules, "distributed", None)
    rc = cli.main(["run", "--data-home", str(tmp_path / "nowhere"), "--cache-dir", str(tmp_path / "c"), "--reports-dir",
                   str(tmp_path / "r"), "--scheduler", "local", "--no-cache", "-q"])
    err = capsys.readouterr().err
    assert rc == 2 and "facerisk[dask]" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "c").exists()  # stopped at the config, before any folder or data was touched


def test_an_unreachable_scheduler_is_one_clear_error():
    pytest.importorskip("distributed")
    with pytest.raises(FaceriskError, match="tcp://127.0.0.1:9: cannot connect"):
        dask_cluster.DaskExecutor("tcp://127.0.0.1:9", timeout=2)


def test_a_local_cluster_returns_every_keyed_task_once():
    pytest.importorskip("distributed")
    with dask_cluster.DaskExecutor("local", workers=2) as ex:
        assert ex.workers == 2
        got = dict(ex.run(_tasks.square, list(range(30)), context=5, keys=[f"t-{i}" for i in range(30)]))
        facts = [f for _, f in ex.run(_tasks.worker_facts, list(range(4)), keys=[f"f-{i}" for i in range(4)])]
    assert got == {i: 5 + i * i for i in range(30)}
    assert all(f["sigint_ignored"] for f in facts)


def test_a_scheduler_without_workers_is_one_clear_error(tmp_path):
    pytest.importorskip("distributed")
    import json
    import subprocess
    import time

    sched_file = tmp_path / "scheduler.json"
    proc = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port",
                             "0", "--no-dashboard", "--scheduler-file", str(sched_file)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        t0 = time.time()
        while not (sched_file.is_file() and sched_file.read_text().strip()):
            assert time.time() - t0 < 60 and proc.poll() is None, "dask scheduler did not start"
            time.sleep(0.2)
        address = json.loads(sched_file.read_text())["address"]
        with pytest.raises(FaceriskError, match=f"scheduler {address}: no worker joined within 2 s"):
            dask_cluster.DaskExecutor(address, timeout=2)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_one_local_cluster_serves_every_stage_of_a_run_scope(monkeypatch):
    distributed = pytest.importorskip("distributed")
    from harness import executors

    started = []
    real = distributed.LocalCluster

    def counting(*a, **k):
        started.append(1)
        return real(*a, **k)

    monkeypatch.setattr(distributed, "LocalCluster", counting)
    with executors.run_scope("local", 2):
        pids = set()
        for stage in range(3):  # e.g. acquisition, then two capture-sweep steps
            with executors.make("local", 2, 4) as ex:
                got = dict(ex.run(_tasks.square, [1, 2, 3], context=stage, keys=[f"s{stage}-{i}" for i in range(3)]))
                assert got == {0: stage + 1, 1: stage + 4, 2: stage + 9}
                pids |= {f["pid"] for _, f in ex.run(_tasks.worker_facts, list(range(4)))}
        from harness.metrics.scale import all_vs_all, normalise

        rng = np.random.default_rng(0)
        T = normalise(rng.standard_normal((300, 8)))
        sid = np.arange(300) // 2
        bc = all_vs_all(T, sid, sid % 2, ["a", "b"], np.linspace(-1, 1, 21), block=64, scheduler="local")
        assert bc.comparisons == 300 * 299 // 2
    assert len(started) == 1  # one LocalCluster for the whole scope
    assert len(pids) == 2
    t0 = time.time()
    while [p for p in pids if _alive(p)] and time.time() - t0 < 15:
        time.sleep(0.1)
    assert not [p for p in pids if _alive(p)], "workers outlived the scope"
    assert not executors._SCOPE


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
