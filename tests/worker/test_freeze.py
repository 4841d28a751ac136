"""Fencing by attempt: a worker frozen past its lease must not add a second result.

Worker A starts job 0 (a long sleep on attempt 1) and is frozen with
SIGSTOP. Once its lease (1.5 s) has run out, worker B takes the job back
(attempt 2) and runs it; A is thawed with SIGCONT while B still runs it, so
the two really overlap. A's runner returns at once (its sleep is over), and
A must drop its result: without the fence (the ``revoked`` marker checked
before recording, and results counted only for a job's latest attempt) the
logs would hold two done records for job 0.
"""

from __future__ import annotations

import os
import signal

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
    wait_state,
)

LEASE_S = 1.5


@pytest.mark.slow
def test_frozen_worker_past_its_lease_records_no_second_result(proj_dir, tmp_path):
    markers = tmp_path / "markers"
    markers.mkdir()
    # job 0: 2 s on attempt 1 (A, frozen meanwhile), 3 s on attempt 2 (B, so A thaws while B runs it)
    jobs = [{"i": 0, "marker_dir": str(markers), "first_s": 2.0, "then_s": 3.0}]
    jobs += [{"i": i, "marker_dir": str(markers), "first_s": 0.0, "then_s": 0.0} for i in range(1, 4)]
    Project.create(proj_dir, jobs, "tests.runners.jobs:mark_and_sleep", lease_s=LEASE_S)
    a_proc = start_worker(proj_dir, "frozen")
    procs = [a_proc]
    try:
        assert wait_started(markers, job=0, attempt=1, timeout_s=30) == a_proc.pid
        os.kill(a_proc.pid, signal.SIGSTOP)
        # A's heartbeat stops with it: after lease_s the job is stranded (no live worker looked yet)
        wait_state(proj_dir, 0, "stranded", timeout_s=LEASE_S + 10)

        b_proc = start_worker(proj_dir, "taker")
        procs.append(b_proc)
        assert wait_started(markers, job=0, attempt=2, timeout_s=30) == b_proc.pid
        assert state(proj_dir).state_of(0) == "running"
        os.kill(a_proc.pid, signal.SIGCONT)

        # A wakes up, finds its lease revoked and exits without recording anything
        assert wait_exit(a_proc, timeout_s=30, what="the thawed worker") == 0, stderr_of(proj_dir, "frozen")
        assert b_proc.poll() is None, "B should still be running job 0 when A exits (the runs overlap)"
        assert wait_exit(b_proc, timeout_s=30, what="the taking worker") == 0, stderr_of(proj_dir, "taker")
    finally:
        stop_all(procs)

    a = assert_exactly_one_accepted(proj_dir, len(jobs))
    frozen_id = next(w for w in a.workers if w.startswith(f"frozen-{a_proc.pid}-"))
    taker_id = next(w for w in a.workers if w.startswith(f"taker-{b_proc.pid}-"))
    # raw logs: one claim per (job, attempt); job 0 claimed at attempts 1 (A) and 2 (B)
    assert all(c == 1 for c in a.claims_per().values())
    assert sorted((at, w) for j, at, w in a.claims if j == 0) == [(1, frozen_id), (2, taker_id)]
    # done records per (job, attempt): only attempt 2 of job 0, by B; A wrote no result for job 0
    assert [(key, ws) for key, ws in a.done.items() if key[0] == 0] == [((0, 2), [taker_id])]
    assert not any(frozen_id in ws for ws in a.done.values())
    # the requeue: A's lease expired, attempt 2 put back by B
    assert [(r["job"], r["a"], r["why"], r["src"]) for r in a.requeues] == [(0, 2, "expired", frozen_id)]
    assert (proj_dir / "workers" / frozen_id / "revoked").exists()
    log = (proj_dir / "workers" / frozen_id / "worker.log").read_text()
    assert "lease revoked" in log

    s = state(proj_dir)
    assert s.accepted(0)["a"] == s.latest_attempt(0) == 2
    assert s.n_final_records == len(jobs)  # no stale (fenced-out) result reached the logs
    status = Project.open(proj_dir).status()
    assert status.stale_results == 0 and status.counts["done"] == len(jobs)
    res = Project.open(proj_dir).results().set_index("job_id")
    assert res.loc[0, "attempt"] == 2 and res.loc[0, "worker"] == taker_id and res.loc[0, "pid"] == b_proc.pid
