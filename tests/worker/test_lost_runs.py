"""Jobs lost to dead workers: stranded, then re-run up to max_attempts, then failed; Ctrl-C on `run`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import benchgrid as bg
from benchgrid.cli.main import main

from .helpers import start_worker, stop_all, wait_exit, wait_started, wait_state, wait_until

RUNNER = "tests.runners.jobs:mark_and_sleep"


def test_max_attempts_then_failed_then_retry_expired(proj_dir: Path, capsys) -> None:
    markers = proj_dir.parent / "markers"
    markers.mkdir()
    proj = bg.Project.create(
        proj_dir, [{"i": 0, "marker_dir": str(markers), "first_s": 60.0, "then_s": 60.0}], RUNNER,
        lease_s=1.0, max_attempts=2,
    )
    procs = []
    try:
        for attempt in (1, 2):
            w = start_worker(proj_dir, f"victim{attempt}")
            procs.append(w)
            wait_started(markers, 0, attempt, timeout_s=30)
            w.kill()
            w.wait()
            # every worker is gone: the job is stranded, and status says how to finish it
            wait_state(proj_dir, 0, "stranded", timeout_s=10)
            assert main(["status", str(proj_dir), "--json"]) == 0
            status = json.loads(capsys.readouterr().out)
            assert status["stranded"] == [0] and status["workers"]["dead"] == 1
            assert "benchgrid run" in status["hint"] and "puts them back" in status["hint"]
            if attempt == 1:
                assert proj.retry(errors=False, expired=True) == 1  # the expiry of a dead worker
                assert proj.status().counts["queued"] == 1
        # the second lost run reaches max_attempts=2: the next worker marks it failed, with the reason
        sweep = start_worker(proj_dir, "sweep")
        procs.append(sweep)
        assert wait_exit(sweep, 30, "sweep worker") == 0
        st = proj.status()
        assert st.counts["failed"] == 1 and st.counts["queued"] == 0
        assert not list(markers.glob("started-0-3-*"))  # it did not run a third time
        df = proj.results()
        assert df.loc[0, "state"] == "failed" and "max_attempts=2" in df.loc[0, "error"]
        assert "victim2" in df.loc[0, "error"]
        # the user puts it back, with one more run: its count of lost runs is kept (issue 23)
        assert main(["retry", str(proj_dir), "--expired"]) == 0
        assert "put 1 job(s) back" in capsys.readouterr().out
        state = proj.state()
        # the failure took attempt 3's place in requeue.log (each (job, attempt) is written once), so the retry is 4
        assert state.state_of(0) == "queued" and state.latest_attempt(0) == 4
        assert state.lost_runs(0) == 1  # max_attempts - 1: one more lost run fails it again
    finally:
        stop_all(procs)


KILLS_ITSELF = "tests.runners.misbehave:misbehave"  # with how="sigkill_self", bad=0: job 0's every run


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "benchgrid", *args], capture_output=True, text=True, timeout=120)


def test_retry_keeps_the_count_of_lost_runs(proj_dir: Path) -> None:
    """A failed job retried gets one more run, not a fresh max_attempts (issue 23)."""
    proj = bg.Project.create(proj_dir, [{"i": 0, "how": "sigkill_self", "bad": 0}], KILLS_ITSELF, max_attempts=2)
    assert _cli("run", str(proj_dir), "--workers", "1", "--no-progress").returncode == 3  # failed
    assert proj.state().latest_attempt(0) == 3  # runs 1 and 2 lost; the failure is written as attempt 3
    assert _cli("retry", str(proj_dir), "--expired").returncode == 0
    assert _cli("run", str(proj_dir), "--workers", "1", "--no-progress").returncode == 3
    state = proj.state()
    # one more run (attempt 4), lost too: failed as attempt 5 (without the count kept: runs 4 and 5, failed as 6)
    assert proj.check().ok
    assert state.state_of(0) == "failed" and state.latest_attempt(0) == 5, state.latest_attempt(0)
    assert "killed by SIGKILL 2 times (max_attempts=2)" in proj.results().loc[0, "error"]


def test_undrop_keeps_the_count_of_lost_runs(proj_dir: Path) -> None:
    """A job that lost a run, then was dropped and passed over, comes back with that lost run counted."""
    proj = bg.Project.create(
        proj_dir, [{"i": 0, "how": "sigkill_self", "bad": 0}, {"i": 1, "how": "", "bad": 0}], KILLS_ITSELF,
        max_attempts=2,
    )
    w = start_worker(proj_dir, "alone", "--max-jobs", "1")  # unsupervised: its job waits for a look at its lease
    assert wait_exit(w, 60) == -signal.SIGKILL
    assert _cli("drop", str(proj_dir), "--where", "i=0").returncode == 0
    # the next worker puts the dead worker's job back (a lost run) and passes over it: it is dropped
    assert _cli("run", str(proj_dir), "--workers", "1", "--no-progress").returncode == 0
    state = proj.state()
    assert state.state_of(0) == "dropped" and state.lost_runs(0) == 1
    assert _cli("undrop", str(proj_dir)).returncode == 0
    assert proj.state().lost_runs(0) == 1
    assert _cli("run", str(proj_dir), "--workers", "1", "--no-progress").returncode == 3
    state = proj.state()
    # the lost run before the drop counts: one more run, and it is failed
    assert state.state_of(0) == "failed"
    assert proj.results().loc[0, "error"].startswith(
        "lost 2 runs (max_attempts=2): lease expired (worker killed, frozen or node lost); killed by SIGKILL"
    )


def test_ctrl_c_on_run_hands_every_job_back(proj_dir: Path) -> None:
    markers = proj_dir.parent / "markers"
    markers.mkdir()
    proj = bg.Project.create(
        proj_dir, [{"i": i, "marker_dir": str(markers), "first_s": 120.0} for i in range(4)], RUNNER,
    )
    run = subprocess.Popen(
        [sys.executable, "-m", "benchgrid", "run", str(proj_dir), "--workers", "2", "--no-progress"],
        start_new_session=True,  # its own process group, like a terminal's foreground job
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        wait_until(lambda: len(list(markers.iterdir())) == 2, 60, "both workers in a job")
        os.killpg(run.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        code = wait_exit(run, 30, "benchgrid run")
        assert code == 130
        counts = proj.status().counts
        assert counts["queued"] == 2 and counts["pending"] == 2
        assert counts["running"] == counts["stranded"] == 0
        leases = proj.state().leases
        assert len(leases) == 2 and all(lease["state"] == "exited" for lease in leases.values())
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
