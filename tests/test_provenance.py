"""Provenance must not write into the checkout it describes (hostile re-test: a run rewrote .git/index)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest

from harness.provenance import git_state


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_git_state_leaves_the_index_alone(tmp_path):
    def git(*a):
        subprocess.run(["git", "-C", str(tmp_path), "-c", "user.email=t@t", "-c", "user.name=t", *a], check=True,
                       capture_output=True)

    git("init", "-q")
    (tmp_path / "f").write_text("a")
    git("add", "f")
    git("commit", "-qm", "x")
    index = tmp_path / ".git" / "index"
    before = index.stat().st_mtime_ns
    time.sleep(0.05)
    os.utime(tmp_path / "f")  # stale stat info: a plain `git status` would refresh and rewrite the index
    state = git_state(tmp_path)
    assert state["commit"] and state["dirty"] is False
    assert index.stat().st_mtime_ns == before
    assert not (tmp_path / ".git" / "index.lock").exists()
    # the check can fail: without GIT_OPTIONAL_LOCKS=0 the same status call rewrites it
    subprocess.run(["git", "-C", str(tmp_path), "status", "--porcelain"], capture_output=True, check=True)
    assert index.stat().st_mtime_ns != before
