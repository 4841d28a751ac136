"""worker/_in_allocation.py: ``benchgrid work --restart-crashed`` keeps a worker running for its allocation (issue 21).

Real processes: the parent is ``benchgrid work --restart-crashed`` as every
scheduler's job script starts it; its workers are killed by a real SIGSEGV in
C code, or stopped by their real memory guard; the signals are real.
"""

from __future__ import annotations

import signal
from pathlib import Path

from benchgrid import Project
from benchgrid.store import ProjectState, audit_logs, error_rows

from .helpers import start_worker, stderr_of, stop_all, wait_exit, wait_started

SEGV = "tests.runners.misbehave:misbehave"


def _leases(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "workers").iterdir())


def test_a_job_that_kills_its_worker_is_followed_by_a_new_worker_in_the_allocation(proj_dir: Path) -> None:
    jobs = [{"i": i, "how": "segv", "bad": 2} for i in range(8)]
    Project.create(proj_dir, jobs, SEGV, max_attempts=2)
    parent = start_worker(proj_dir, "slurm-7_0", "--restart-crashed", "--until", "+300s")
    assert wait_exit(parent, 120) == 0, stderr_of(proj_dir, "slurm-7_0")
    err = stderr_of(proj_dir, "slurm-7_0")
    assert err.count("the worker died by SIGSEGV") == 2, err  # job 2 killed two workers: max_attempts
    assert "starting a new worker in this allocation (restart 2)" in err, err
    st = ProjectState(proj_dir).refresh()
    assert st.counts()["done"] == 7 and st.state_of(2) == "failed"
    (row,) = error_rows(st)
    assert row["error"].startswith("killed by SIGSEGV 2 times (max_attempts=2)"), row["error"]
    assert len(_leases(proj_dir)) == 3  # three workers, one after the other, under one parent
    report = audit_logs(proj_dir, save=False)
    assert report.ok, report.problems


def test_a_worker_stopped_by_its_memory_guard_is_followed_by_a_new_one(proj_dir: Path) -> None:
    jobs = [{"i": 0, "mb": 900, "mem_gb": 0.2}] + [{"i": i, "mb": 10, "mem_gb": 0.2} for i in range(1, 4)]
    Project.create(proj_dir, jobs, "tests.runners.jobs:allocate_slowly", memory_key="mem_gb")
    parent = start_worker(proj_dir, "sge-8.1", "--restart-crashed", "--mem-gb", "0.5", "--until", "+300s")
    assert wait_exit(parent, 120) == 0, stderr_of(proj_dir, "sge-8.1")
    err = stderr_of(proj_dir, "sge-8.1")
    assert "the worker stopped itself to be replaced (its memory guard" in err and "(restart 1)" in err, err
    st = ProjectState(proj_dir).refresh()
    assert st.counts()["done"] == 3 and st.state_of(0) == "queued"  # waits in a larger class, not lost
    assert st.lost_runs(0) == 0
    assert len(_leases(proj_dir)) == 2


def test_the_schedulers_signals_reach_the_worker_that_runs(proj_dir: Path, tmp_path: Path) -> None:
    markers = tmp_path / "markers"
    markers.mkdir()
    Project.create(proj_dir, [{"i": 0, "marker_dir": str(markers), "first_s": 120.0, "then_s": 120.0}],
                   "tests.runners.jobs:mark_and_sleep")
    parent = start_worker(proj_dir, "slurm-9_0", "--restart-crashed", "--until", "+1h")
    try:
        wait_started(markers, job=0, attempt=1, timeout_s=30)
        parent.send_signal(signal.SIGUSR2)  # Grid Engine's warning, sent to the job script's process only
        assert wait_exit(parent, 20) == 0, stderr_of(proj_dir, "slurm-9_0")
    finally:
        stop_all([parent])
    st = ProjectState(proj_dir).refresh()
    assert st.state_of(0) == "queued" and st.latest_attempt(0) == 2 and st.lost_runs(0) == 0  # handed back
    assert "starting a new worker" not in stderr_of(proj_dir, "slurm-9_0")


def test_workers_that_die_as_they_start_end_the_allocation(proj_dir: Path) -> None:
    """A broken environment kills every worker at once: five in a row within 10 s, and the parent gives up."""
    Project.create(proj_dir, [{"i": 0, "how": "segv", "bad": 0}], SEGV, max_attempts=50)
    parent = start_worker(proj_dir, "slurm-10_0", "--restart-crashed", "--until", "+300s")
    assert wait_exit(parent, 120) == 128 + signal.SIGSEGV
    err = stderr_of(proj_dir, "slurm-10_0")
    assert "not restarted (5 workers in a row died within 10 s of starting)" in err, err
    assert len(_leases(proj_dir)) == 5


def test_no_new_worker_without_time_left(proj_dir: Path) -> None:
    Project.create(proj_dir, [{"i": 0, "how": "segv", "bad": 0}, {"i": 1}], SEGV)
    parent = start_worker(proj_dir, "slurm-11_0", "--restart-crashed", "--until", "+9s")
    assert wait_exit(parent, 60) == 128 + signal.SIGSEGV
    err = stderr_of(proj_dir, "slurm-11_0")
    assert "not restarted (" in err and "s left before the deadline)" in err, err


def test_max_jobs_is_the_allocations_budget_not_each_workers(proj_dir: Path) -> None:
    """``--max-jobs 3``: the job that killed the first worker counts, so its successor runs 2 jobs, not 3."""
    Project.create(proj_dir, [{"i": 0, "how": "segv", "bad": 0}] + [{"i": i} for i in range(1, 8)], SEGV,
                   max_attempts=1)
    parent = start_worker(proj_dir, "slurm-12_0", "--restart-crashed", "--max-jobs", "3", "--until", "+300s")
    assert wait_exit(parent, 120) == 0, stderr_of(proj_dir, "slurm-12_0")
    err = stderr_of(proj_dir, "slurm-12_0")
    assert "(restart 1)" in err and "2 done" in err, err
    st = ProjectState(proj_dir).refresh()
    assert st.state_of(0) == "failed" and st.counts()["done"] == 2  # 1 started and killed its worker + 2 = 3


def test_no_restart_once_the_job_budget_is_spent(proj_dir: Path) -> None:
    Project.create(proj_dir, [{"i": 0, "how": "segv", "bad": 0}, {"i": 1}], SEGV, max_attempts=1)
    parent = start_worker(proj_dir, "slurm-13_0", "--restart-crashed", "--max-jobs", "1", "--until", "+300s")
    assert wait_exit(parent, 120) == 128 + signal.SIGSEGV
    err = stderr_of(proj_dir, "slurm-13_0")
    assert "not restarted (the allocation's job budget of 1 is spent)" in err, err
    assert ProjectState(proj_dir).refresh().state_of(1) == "pending"  # never claimed: no worker after the budget
