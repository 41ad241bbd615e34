"""Run directories: a name can never point a run outside the reports folder or replace a foreign folder."""

import subprocess
import sys

import pytest

from harness.errors import ConfigError
from harness.rundir import check_writable, default_name, run_dir, validate_name
from harness.config import RunConfig


@pytest.mark.parametrize("bad", ["./../src", "../x", "/abs", "a/b", ".", "..", "", ".hidden", "a\\b", "x" * 129,
                                 "tab\tname", "new\nline"])
def test_unsafe_names_are_refused(bad):
    with pytest.raises(ConfigError, match="not a valid run name"):
        validate_name(bad)


@pytest.mark.parametrize("good", ["my-run", "frl-london_dlib-hog_dlib-resnet-v1", "v1.2", "A_1"])
def test_ordinary_names_pass(good):
    assert validate_name(good) == good


def test_default_name_is_always_valid():
    cfg = RunConfig()
    cfg.dataset.name = "/some/path/my data set"
    cfg.embedder.name = "onnx:model.onnx"
    assert validate_name(default_name(cfg)) == default_name(cfg)


def test_a_foreign_folder_is_never_replaced(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "code.py").write_text("x = 1\n")
    with pytest.raises(ConfigError, match="not a facerisk run directory"):
        run_dir(tmp_path, "src")
    (tmp_path / "old-run").mkdir()
    (tmp_path / "old-run" / "results.json").write_text("{}")
    assert run_dir(tmp_path, "old-run") == tmp_path / "old-run"


def test_a_link_is_never_followed(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "results.json").write_text("{}")
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "run").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(ConfigError, match="symbolic link"):
        run_dir(reports, "run")


def test_unwritable_target_is_a_config_error(tmp_path):
    f = tmp_path / "file"
    f.write_text("")
    with pytest.raises(ConfigError, match="reports_dir .*not writable"):
        check_writable(f / "sub", "reports_dir", "--reports-dir DIR")


def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120)


@pytest.mark.parametrize("name", ["./../src", "../x", "/abs", "a/b", ".", ".."])
def test_cli_refuses_escaping_names_before_any_work(tmp_path, name):
    """The reported attack: --name ./../src renamed and deleted a folder beside reports/."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "keep.txt").write_text("precious")
    reports = tmp_path / "reports"
    r = _cli("run", "--reports-dir", str(reports), "--name", name, "--dataset", str(tmp_path / "nowhere"), "-q",
             cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert "not a valid run name" in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert (src / "keep.txt").read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reports", "src"] or \
        sorted(p.name for p in tmp_path.iterdir()) == ["src"]


def test_cli_refuses_a_name_from_a_config_file_too(tmp_path):
    (tmp_path / "c.yaml").write_text("name: ../escape\n")
    r = _cli("run", "--config", str(tmp_path / "c.yaml"), "--reports-dir", str(tmp_path / "r"), "-q", cwd=tmp_path)
    assert r.returncode == 2 and "'../escape' is not a valid run name" in r.stderr


def test_staging_removes_what_a_killed_run_left_and_nothing_else(tmp_path):
    """Hostile re-test: kill -9 during report writing left reports/.r.XXXX behind, and every later run added one."""
    import os
    import subprocess
    import sys

    from harness.rundir import staging_dir

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    stale = tmp_path / f".r.pid{dead_pid}.abc123"
    live = tmp_path / f".r.pid{os.getppid()}.def456"  # a live process (pytest's parent)
    foreign = tmp_path / ".r.xyz"  # not named by facerisk's staging: left alone
    other = tmp_path / f".rr.pid{dead_pid}.abc"  # another run's name
    for d in (stale, live, foreign, other):
        d.mkdir()
        (d / "results.json").write_text("{}")
    new = staging_dir(tmp_path, "r")
    assert new.name.startswith(f".r.pid{os.getpid()}.") and new.is_dir()
    assert not stale.exists() and live.exists() and foreign.exists() and other.exists()
