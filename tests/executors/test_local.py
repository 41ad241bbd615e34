"""The local process pool: every task once, in order, workers tied to the parent."""

import os
import signal
import sys

import pytest

from harness import executors
from harness.executors.local import LocalPool, resolve_workers
from tests.executors import _tasks


def test_one_worker_runs_in_this_process_in_order():
    with LocalPool(1) as pool:
        assert list(pool.run(_tasks.square, [3, 1, 2], context=10)) == [(0, 19), (1, 11), (2, 14)]


def test_two_workers_give_every_result_once_in_task_order():
    with LocalPool(2) as pool:
        got = list(pool.run(_tasks.square, list(range(50)), context=1))
    assert got == [(i, 1 + i * i) for i in range(50)]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux only")
def test_workers_die_with_the_parent_and_leave_ctrl_c_to_it():
    with LocalPool(2) as pool:
        facts = [f for _, f in pool.run(_tasks.worker_facts, list(range(8)))]
    assert all(f["pid"] != os.getpid() for f in facts)
    assert {f["pdeathsig"] for f in facts} == {int(signal.SIGKILL)}
    assert all(f["sigint_ignored"] for f in facts)


def test_worker_count_is_capped_by_tasks_and_defaults_to_cores():
    assert resolve_workers(8, 3) == 3
    assert resolve_workers(0, 1000) == len(os.sched_getaffinity(0))
    assert resolve_workers(2, 0) == 1


def test_no_scheduler_means_the_local_pool():
    ex = executors.make(None, 2, 10)
    assert ex.name == "local" and ex.workers == 2
