"""Wasted runs, with real workers and real signals: a run started and thrown away is counted and shown (issue 25).

A frozen worker's lease really expires and a second worker takes its jobs
back; a worker really gets SIGTERM in the middle of a job. ``status`` (the
API and the command) says how many runs were wasted and why, and a lease
expiry counts a lost run only for the job that was running, not for the
jobs its worker held but had not started.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from benchgrid import Project
from benchgrid.store import WastedRuns

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
RUNNER = "tests.runners.jobs:mark_and_sleep"


def _status_text(proj_dir, *args: str) -> str:
    res = subprocess.run([sys.executable, "-m", "benchgrid", "status", str(proj_dir), *args],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    return res.stdout


@pytest.mark.slow
def test_an_expired_lease_wastes_the_running_job_only(proj_dir, tmp_path):
    markers = tmp_path / "markers"
    markers.mkdir()
    # job 0 is quick (the worker learns jobs are short and claims the rest in one batch);
    # job 1 runs 3 s on attempt 1: the worker is frozen in it, holding jobs 2-11 not started
    jobs = [{"i": 0, "marker_dir": str(markers)}, {"i": 1, "marker_dir": str(markers), "first_s": 3.0}]
    jobs += [{"i": i, "marker_dir": str(markers)} for i in range(2, 12)]
    Project.create(proj_dir, jobs, RUNNER, lease_s=LEASE_S)
    frozen = start_worker(proj_dir, "frozen")
    procs = [frozen]
    try:
        assert wait_started(markers, job=1, attempt=1, timeout_s=30) == frozen.pid
        os.kill(frozen.pid, signal.SIGSTOP)
        wait_state(proj_dir, 1, "stranded", timeout_s=LEASE_S + 10)
        taker = start_worker(proj_dir, "taker")
        procs.append(taker)
        assert wait_exit(taker, timeout_s=60, what="the taking worker") == 0, stderr_of(proj_dir, "taker")
        os.kill(frozen.pid, signal.SIGCONT)
        assert wait_exit(frozen, timeout_s=30, what="the thawed worker") == 0, stderr_of(proj_dir, "frozen")
    finally:
        stop_all(procs)

    a = assert_exactly_one_accepted(proj_dir, len(jobs))
    frozen_id = next(w for w in a.workers if w.startswith("frozen-"))
    held = sorted(j for j, at, w in a.claims if w == frozen_id and j >= 1)
    assert held == list(range(1, 12)), f"the frozen worker should have held jobs 1-11 in one batch, held {held}"
    # the running job counts a lost run; the ten it had not started go back without one
    put_back = {r["job"]: (r["a"], r["l"], r["why"]) for r in a.requeues}
    assert put_back[1] == (2, 1, "expired")
    assert all(put_back[j] == (2, 0, "handback") for j in range(2, 12)), put_back
    s = state(proj_dir)
    assert [s.lost_runs(j) for j in range(12)] == [0, 1] + [0] * 10

    status = Project.open(proj_dir).status()
    assert status.wasted == WastedRuns(lost=1), status.wasted  # nothing recorded its end: no run time known
    assert status.counts["done"] == len(jobs)
    assert "  wasted runs: 1 (1 lost: a worker died, froze past its lease or timed out)" in _status_text(proj_dir)
    assert json.loads(_status_text(proj_dir, "--json"))["wasted"] == {
        "lost": 1, "handed_back": 0, "late": 0, "seconds": 0.0, "n_timed": 0}


@pytest.mark.slow
def test_a_job_handed_back_at_sigterm_is_a_wasted_run_with_its_run_time(proj_dir, tmp_path):
    markers = tmp_path / "markers"
    markers.mkdir()
    jobs = [{"i": 0, "marker_dir": str(markers), "first_s": 60.0}, {"i": 1, "marker_dir": str(markers)}]
    Project.create(proj_dir, jobs, RUNNER, lease_s=30)
    first = start_worker(proj_dir, "first")
    procs = [first]
    try:
        assert wait_started(markers, job=0, attempt=1, timeout_s=30) == first.pid
        first.send_signal(signal.SIGTERM)  # SLURM's time limit, scancel: the job goes back unfinished
        assert wait_exit(first, timeout_s=30, what="the signalled worker") == 0, stderr_of(proj_dir, "first")
        second = start_worker(proj_dir, "second")
        procs.append(second)
        assert wait_exit(second, timeout_s=60, what="the second worker") == 0, stderr_of(proj_dir, "second")
    finally:
        stop_all(procs)

    assert_exactly_one_accepted(proj_dir, len(jobs))
    wasted = Project.open(proj_dir).status().wasted
    assert (wasted.n, wasted.handed_back, wasted.n_timed) == (1, 1, 1), wasted
    assert wasted.seconds > 0  # measured by the worker that ran it, from its start to its hand-back
    assert state(proj_dir).lost_runs(0) == 0  # a hand-back is not a lost run
    assert "wasted runs: 1 (1 handed back unfinished" in _status_text(proj_dir)
