"""Invariant 4, second half: a worker told to stop (SLURM time limit, scancel, Ctrl-C) hands its job back.

The job runs ``tests.runners.jobs:mark_and_sleep``: a long sleep on its
first attempt (so only a hand-back can free it soon), a short one after.
The signal arrives while the runner sleeps; the worker must put the job
back with attempt + 1 within a second and exit, and a second worker must
finish it. Without the signal thread, SIGTERM would kill the worker with
the job still held (it would come back only after the 60 s lease) and
SIGINT would raise KeyboardInterrupt somewhere in the runner.
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from benchgrid import Project

from .helpers import (
    assert_exactly_one_accepted,
    start_worker,
    state,
    stderr_of,
    stop_all,
    wait_exit,
    wait_started,
    wait_until,
)

HANDBACK_S = 1.0


@pytest.mark.parametrize(
    ("signum", "exit_code"),
    [(signal.SIGTERM, 0), (signal.SIGINT, 130)],
    ids=["SIGTERM", "SIGINT"],
)
def test_signal_hands_job_back_within_a_second_and_another_worker_finishes_it(proj_dir, tmp_path, signum, exit_code):
    markers = tmp_path / "markers"
    markers.mkdir()
    jobs = [{"i": i, "marker_dir": str(markers), "first_s": 120.0 if i == 0 else 0.0, "then_s": 0.0} for i in range(3)]
    Project.create(proj_dir, jobs, "tests.runners.jobs:mark_and_sleep", lease_s=60.0)
    procs = [start_worker(proj_dir, "first")]
    try:
        pid = wait_started(markers, job=0, attempt=1, timeout_s=30)
        assert pid == procs[0].pid
        assert state(proj_dir).state_of(0) == "running"

        t_signal = time.time()
        os.kill(pid, signum)
        # handed back: the job is queued again, with attempt 2, within a second
        s = wait_until(
            lambda: (lambda st: st if st.state_of(0) == "queued" else None)(state(proj_dir)),
            timeout_s=HANDBACK_S,
            what="job 0 to be handed back (state 'queued')",
        )
        assert s.latest_attempt(0) == 2
        assert wait_exit(procs[0], timeout_s=HANDBACK_S, what="the signalled worker") == exit_code
        assert time.time() - t_signal <= 2 * HANDBACK_S  # generous: the poll above already bounds it

        second = start_worker(proj_dir, "second")
        procs.append(second)
        assert wait_exit(second, timeout_s=30, what="the second worker") == 0, stderr_of(proj_dir, "second")
    finally:
        stop_all(procs)

    a = assert_exactly_one_accepted(proj_dir, len(jobs))
    first_id = next(w for w in a.workers if w.startswith(f"first-{procs[0].pid}-"))
    second_id = next(w for w in a.workers if w.startswith("second-"))
    # the raw logs: the first worker handed back attempt 1, the requeue record puts attempt 2 back
    assert a.handbacks == {(0, 1): [first_id]}
    assert [(r["job"], r["a"], r["why"], r["src"]) for r in a.requeues] == [(0, 2, "handback", first_id)]
    assert a.requeues[0]["t"] - t_signal <= HANDBACK_S
    assert a.done[(0, 2)] == [second_id] and (0, 1) not in a.done
    # the runner really ran twice: once cut short, once to the end
    assert wait_started(markers, job=0, attempt=2, timeout_s=0) == second.pid

    res = Project.open(proj_dir).results().set_index("job_id")
    assert res.loc[0, "state"] == "done" and res.loc[0, "attempt"] == 2 and res.loc[0, "pid"] == second.pid
    log = (proj_dir / "workers" / first_id / "worker.log").read_text()
    assert f"received {signal.Signals(signum).name}: handed back 1 job(s)" in log
