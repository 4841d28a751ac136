"""A scheduler's warning that comes before the worker's own deadline (issue 21, ``worker/_allocation.py``).

SLURM sends ``--signal=B:USR1@T`` from a periodic check, up to a minute
early: in 1-minute allocations the warning came after 20-29 s. A worker that
knows its deadline (``--until``, from the allocation's end) notes an early
SIGUSR1 and goes on: the job it was running ends done, by it, on its first
attempt. Without a deadline SIGUSR1 is all the worker knows and it hands back
at once; SIGUSR2 (Grid Engine's ``-notify``, also sent first by ``qdel``) is
always obeyed. Real worker processes, real signals.
"""

from __future__ import annotations

import os
import signal

import pytest

from benchgrid import Project

from .helpers import assert_exactly_one_accepted, start_worker, stderr_of, stop_all, wait_exit, wait_started, wait_until


@pytest.mark.parametrize(("signum", "until", "obeyed"), [
    (signal.SIGUSR1, "+5m", False),  # early: the worker's deadline is minutes away
    (signal.SIGUSR1, None, True),  # no deadline known: the warning is all there is
    (signal.SIGUSR2, "+5m", True),  # Grid Engine's, and qdel's: never taken for early
], ids=["USR1-early", "USR1-no-deadline", "USR2"])
def test_an_early_warning_is_noted_and_the_running_job_ends_done(proj_dir, tmp_path, signum, until, obeyed):
    markers = tmp_path / "markers"
    markers.mkdir()
    jobs = [{"i": i, "marker_dir": str(markers), "first_s": 2.0 if i == 0 else 0.0, "then_s": 0.0} for i in range(3)]
    Project.create(proj_dir, jobs, "tests.runners.jobs:mark_and_sleep", lease_s=60.0)
    args = ("--until", until) if until else ()
    procs = [start_worker(proj_dir, "first", *args)]
    try:
        pid = wait_started(markers, job=0, attempt=1, timeout_s=30)
        os.kill(pid, signum)
        assert wait_exit(procs[0], timeout_s=60, what="the signalled worker") == 0, stderr_of(proj_dir, "first")
        if obeyed:  # the job comes back; a second worker finishes it
            procs.append(start_worker(proj_dir, "second"))
            assert wait_exit(procs[1], timeout_s=60, what="the second worker") == 0, stderr_of(proj_dir, "second")
    finally:
        stop_all(procs)
    a = assert_exactly_one_accepted(proj_dir, len(jobs))
    first = next(w for w in a.workers if w.startswith(f"first-{procs[0].pid}-"))
    log = (proj_dir / "workers" / first / "worker.log").read_text()
    if obeyed:
        assert a.handbacks == {(0, 1): [first]} and (0, 2) in a.done, (a.handbacks, a.done)
        assert "before this worker's deadline" not in log
    else:
        assert a.handbacks == {} and a.done[(0, 1)] == [first], (a.handbacks, a.done)
        assert all(a.done[(i, 1)] == [first] for i in range(len(jobs)))  # it went on to the end
        assert "SIGUSR1 came" in log and "before this worker's deadline: working on until then" in log
        wait_until(lambda: "no job left" in stderr_of(proj_dir, "first"), timeout_s=5, what="its summary")
