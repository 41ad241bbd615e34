"""The Dask executor: addresses, a missing install, an unreachable scheduler, a LocalCluster run."""

import sys

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
