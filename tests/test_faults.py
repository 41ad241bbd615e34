"""Fault injection: kill -9, SIGTERM, damaged cache, read-only and full folders.

Each asserts the exit code, a one-line message, no traceback, no orphan worker, no partial report,
and an identical result after recovery.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from tests._proc import children

pytestmark = pytest.mark.realdata


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _start(args, **kw):
    return subprocess.Popen([sys.executable, "-m", "harness", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **kw)


def _wait_for_workers(proc, n=2, timeout=90.0) -> list[int]:
    t0 = time.time()
    while time.time() - t0 < timeout:
        kids = children(proc.pid)
        if len(kids) >= n:
            time.sleep(1.0)  # let them start on images
            return children(proc.pid)
        if proc.poll() is not None:
            pytest.fail(f"run ended before its workers started: {proc.communicate()}")
        time.sleep(0.1)
    pytest.fail("workers did not start")


def _gone(pids, timeout=10.0) -> bool:
    t0 = time.time()
    while time.time() - t0 < timeout:
        if not any(_alive(p) for p in pids):
            return True
        time.sleep(0.1)
    return False


def _run_args(data_home, tmp, name="r"):
    return ["run", "--data-home", str(data_home), "--cache-dir", str(tmp / "cache"), "--reports-dir",
            str(tmp / "reports"), "--name", name, "--workers", "2", "-q"]


def test_kill_9_leaves_no_worker_and_the_rerun_resumes_to_the_same_result(data_home, tmp_path, real_run):
    proc = _start(_run_args(data_home, tmp_path))
    workers = _wait_for_workers(proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    try:
        assert _gone(workers), f"orphaned workers: {[p for p in workers if _alive(p)]}"
    finally:
        for p in workers:
            if _alive(p):
                os.kill(p, signal.SIGKILL)
    assert not (tmp_path / "reports" / "r").exists()  # no partial report under the final name
    done = len(list((tmp_path / "cache").rglob("*.npz")))
    r = subprocess.run([sys.executable, "-m", "harness", *_run_args(data_home, tmp_path)], capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert f"({done} from cache)" in r.stdout  # resumed: only the rest was computed
    _, ref_out, _ = real_run
    ours = pd.read_csv(tmp_path / "reports" / "r" / "groups.csv")
    ref = pd.read_csv(ref_out / "groups.csv")
    cols = ["slice", "group", "threshold_id", "n_impostor", "n_false_match", "n_genuine", "n_false_non_match", "fmr"]
    pd.testing.assert_frame_equal(ours[cols], ref[cols])


def test_sigterm_exits_143_with_a_message_and_no_worker_left(data_home, tmp_path):
    proc = _start(_run_args(data_home, tmp_path, "t") + ["--no-cache"])
    workers = _wait_for_workers(proc)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "terminated (SIGTERM)" in err and "Traceback" not in err
    assert _gone(workers)
    reports = tmp_path / "reports"
    assert not reports.exists() or not any(reports.iterdir())  # nothing partial, not even a temporary folder


def test_every_cache_entry_damaged_still_gives_the_same_result(data_home, tmp_path, real_run):
    res, ref_out, cfg = real_run
    import shutil

    shutil.copytree(cfg.cache_dir, tmp_path / "cache")
    entries = sorted((tmp_path / "cache").rglob("*.npz"))
    for i, p in enumerate(entries):  # a mix of the three ways a power cut or a bad disk leaves a file
        blob = p.read_bytes()
        p.write_bytes(b"" if i % 3 == 0 else blob[: len(blob) // 2] if i % 3 == 1 else blob[:200] + b"\x00" * 64)
    r = subprocess.run([sys.executable, "-m", "harness", *_run_args(data_home, tmp_path, "healed")],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert "damaged cache entr" in r.stdout
    ours = pd.read_csv(tmp_path / "reports" / "healed" / "groups.csv")
    ref = pd.read_csv(ref_out / "groups.csv")
    pd.testing.assert_frame_equal(ours[["group", "threshold_id", "n_false_match", "fmr"]],
                                  ref[["group", "threshold_id", "n_false_match", "fmr"]])
    r2 = subprocess.run([sys.executable, "-m", "harness", *_run_args(data_home, tmp_path, "healed")],
                        capture_output=True, text=True, timeout=600)
    assert r2.returncode == 0 and "(204 from cache)" in r2.stdout  # healed: every entry rewritten


@pytest.fixture
def tmpfs(tmp_path):
    """A 512 KiB tmpfs mount (root only): too small for a run's 204 cache entries (one 4 KiB page each)."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(mnt)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def test_read_only_reports_folder_fails_in_seconds_not_after_the_run(data_home, tmp_path, tmpfs):
    subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], check=True)
    t0 = time.time()
    r = subprocess.run([sys.executable, "-m", "harness", "run", "--data-home", str(data_home), "--reports-dir",
                        str(tmpfs / "reports"), "--cache-dir", str(tmp_path / "c"), "-q"], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 2 and "reports_dir" in r.stderr and "not writable" in r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert time.time() - t0 < 30 and not (tmp_path / "c").exists()


def test_read_only_cache_folder_fails_before_work(data_home, tmp_path, tmpfs):
    subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], check=True)
    r = subprocess.run([sys.executable, "-m", "harness", "run", "--data-home", str(data_home), "--reports-dir",
                        str(tmp_path / "rep"), "--cache-dir", str(tmpfs / "cache"), "-q"], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 2 and "cache_dir" in r.stderr and "--no-cache" in r.stderr
    assert not (tmp_path / "rep").exists() or not any((tmp_path / "rep").iterdir())


def test_a_cache_that_fills_up_mid_run_still_gives_the_full_result(data_home, tmp_path, tmpfs, real_run):
    """512 KiB holds only part of the 204 entries: the run finishes, says so, and its numbers are right."""
    _, ref_out, _ = real_run
    r = subprocess.run([sys.executable, "-m", "harness", "run", "--data-home", str(data_home), "--reports-dir",
                        str(tmp_path / "rep"), "--cache-dir", str(tmpfs), "--name", "full", "-q"],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    ours = pd.read_csv(tmp_path / "rep" / "full" / "groups.csv")
    ref = pd.read_csv(ref_out / "groups.csv")
    assert ours["n_false_match"].tolist() == ref["n_false_match"].tolist()
    assert "could not be written" in r.stdout and "No space left" in r.stdout


def test_sigterm_is_not_swallowed_by_a_library_catching_exception():
    """SIGTERM unwinds as a BaseException: distributed's client (and any library) catching ``Exception``
    around the point where the signal lands must not turn it into a completed run (hostile attempt 407)."""
    from harness.cli import Terminated, _on_sigterm

    def library_call():
        try:
            _on_sigterm(15, None)
        except Exception:  # noqa: BLE001 - what a library does
            return "carried on"

    with pytest.raises(Terminated):
        library_call()
