"""worker/_hand_back.py: a signalled worker hands its job back, at the allocation's limit too, and ends once.

Real ``benchgrid work`` processes and real signals. SIGUSR2 is Grid Engine's
warning (``-notify``), always obeyed; SIGUSR1 is SLURM's (``--signal``), which a
worker that knows its deadline takes as early until then (test_early_warning.py). A
job handed back at the limit ``AT_LIMIT_TIMES`` times is failed with the time it
needs instead of being started again by every allocation (issue 21).
"""

from __future__ import annotations

import shlex
import signal
from pathlib import Path

import pytest

from benchgrid import Project
from benchgrid.store import ProjectState, error_rows
from benchgrid.worker import Worker, WorkerSummary
from benchgrid.worker._capacity import AT_LIMIT_TIMES

from .helpers import state, start_worker, stderr_of, stop_all, wait_exit, wait_started, wait_until


def _long_job(proj_dir: Path, tmp_path: Path, **settings: float) -> Path:
    markers = tmp_path / "markers"
    markers.mkdir()
    Project.create(proj_dir, [{"i": 0, "marker_dir": str(markers), "first_s": 120.0, "then_s": 120.0}],
                   "tests.runners.jobs:mark_and_sleep", **settings)
    return markers


def _queued_again(root: Path) -> ProjectState | None:
    st = state(root)
    return st if st.state_of(0) == "queued" else None


def test_grid_engines_warning_hands_the_job_back(proj_dir: Path, tmp_path: Path) -> None:
    markers = _long_job(proj_dir, tmp_path)
    proc = start_worker(proj_dir, "sge")
    try:
        wait_started(markers, job=0, attempt=1, timeout_s=30)
        proc.send_signal(signal.SIGUSR2)
        assert wait_exit(proc, timeout_s=10) == 0, stderr_of(proj_dir, "sge")
        st = wait_until(lambda: _queued_again(proj_dir), timeout_s=5, what="job 0 queued again")
        assert st.latest_attempt(0) == 2 and st.lost_runs(0) == 0  # a hand-back, not a lost run
    finally:
        stop_all([proc])


def test_a_job_handed_back_at_the_limit_twice_is_failed_with_the_time_it_needs(proj_dir: Path, tmp_path: Path) -> None:
    """Two allocations (8 s, then 14 s) each cut the job at their deadline after most of their time: too long."""
    assert AT_LIMIT_TIMES == 2
    markers = _long_job(proj_dir, tmp_path, lease_s=2.0)  # the heartbeat (lease / 4) sees the deadline
    procs = []
    try:
        for attempt, until in ((1, "+8s"), (2, "+14s")):  # the second has time for what the first saw it run
            proc = start_worker(proj_dir, f"allocation{attempt}", "--until", until)
            procs.append(proc)
            wait_started(markers, job=0, attempt=attempt, timeout_s=30)
            assert wait_exit(proc, timeout_s=30) == 0, stderr_of(proj_dir, f"allocation{attempt}")
        st = state(proj_dir)
        assert st.state_of(0) == "failed" and st.lost_runs(0) == 0
        (row,) = error_rows(st)
        assert "needs more than" in row["error"] and "handed back 2 times at the limit" in row["error"]
        assert f"benchgrid retry {shlex.quote(str(proj_dir))} --expired" in row["error"]
    finally:
        stop_all(procs)


def test_a_job_cut_seconds_after_it_started_is_not_too_long(proj_dir: Path, tmp_path: Path) -> None:
    """Warnings that come seconds into a run of an hour-long allocation say nothing of the job's length.

    A 4.4 s job started 2-3 s before two deadlines in a row failed "needs
    more than" (issue 21's campaign): such a hand-back is not counted.
    """
    markers = _long_job(proj_dir, tmp_path)
    procs = []
    try:
        for attempt in (1, 2, 3):
            proc = start_worker(proj_dir, f"allocation{attempt}", "--until", "+1h")
            procs.append(proc)
            wait_started(markers, job=0, attempt=attempt, timeout_s=30)
            proc.send_signal(signal.SIGUSR2)  # the scheduler's warning: the allocation ends
            assert wait_exit(proc, timeout_s=10) == 0, stderr_of(proj_dir, f"allocation{attempt}")
        st = state(proj_dir)
        assert st.state_of(0) == "queued" and st.latest_attempt(0) == 4 and st.lost_runs(0) == 0
        assert not error_rows(st)
    finally:
        stop_all(procs)


def test_on_end_is_called_once_with_the_summary(proj_dir: Path) -> None:
    Project.create(proj_dir, [{"i": i} for i in range(3)], "tests.runners.jobs:noop")
    ended: list[WorkerSummary] = []
    summary = Worker(proj_dir, on_end=ended.append).run(handle_signals=False)
    assert ended == [summary] and summary.done == 3 and summary.reason == "no job left"


def test_a_failing_on_end_is_said_and_the_worker_ends_as_it_would(proj_dir: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    Project.create(proj_dir, [{"i": 0}], "tests.runners.jobs:noop")

    def broken(summary: WorkerSummary) -> None:
        raise RuntimeError("the pool cannot decide")

    worker = Worker(proj_dir, on_end=broken)
    assert worker.run(handle_signals=False).done == 1
    # run's end: worker.log is closed by then, so the line goes to stderr (the scheduler's log of the allocation)
    assert "on_end failed: RuntimeError: the pool cannot decide" in capsys.readouterr().err


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGUSR2])
def test_a_signal_while_no_job_runs_still_ends_the_worker(proj_dir: Path, tmp_path: Path, signum: int) -> None:
    markers = _long_job(proj_dir, tmp_path)
    busy = start_worker(proj_dir, "busy")
    idle = None
    try:
        wait_started(markers, job=0, attempt=1, timeout_s=30)
        idle = start_worker(proj_dir, "idle")  # nothing to claim: it waits for the busy one's job
        wait_until(lambda: len(list((proj_dir / "workers").iterdir())) == 2, timeout_s=30, what="the idle worker")
        idle.send_signal(signum)
        assert wait_exit(idle, timeout_s=10) == 0
        assert state(proj_dir).state_of(0) == "running"  # the busy worker's job is not touched
    finally:
        stop_all([p for p in (busy, idle) if p is not None])
