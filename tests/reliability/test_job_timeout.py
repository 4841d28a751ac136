"""A job past job_timeout_s is stopped with its child processes, counted as a lost run, failed after max_attempts."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

import benchgrid as bg
from benchgrid._exitcodes import EXIT_FAILED, EXIT_OK

from ..worker.helpers import wait_exit, wait_until
from .helpers import MISBEHAVE, cli, pid_alive, requeue_records


@pytest.mark.parametrize("how", ["hang", "hang_in_c"])
def test_hanging_job_times_out_and_fails_after_max_attempts(proj_dir: Path, how: str) -> None:
    jobs = [{"i": i, "how": how, "bad": 1} for i in range(6)]
    proj = bg.Project.create(proj_dir, jobs, MISBEHAVE, max_attempts=2, lease_s=600.0, job_timeout_s=0.5)
    res = cli("run", str(proj_dir), "--workers", "2", "--no-progress")
    assert res.returncode == EXIT_FAILED, res.stderr
    df = proj.results().set_index("job_id")
    assert (df.drop(index=1)["state"] == "done").all()
    assert df.loc[1, "state"] == "failed"
    assert df.loc[1, "error"].startswith("timed out after 0.5 s 2 times (max_attempts=2)")
    runs = [r for r in requeue_records(proj_dir) if r["job"] == 1]  # a lost run, then the failure
    assert [(r["reason"], "fail" in r) for r in runs] == [("timed out after 0.5 s", False), ("timed out after 0.5 s", True)]
    wasted = proj.status().wasted  # issue 25: two runs thrown away, each timed by the worker that stopped it
    assert (wasted.n, wasted.lost, wasted.n_timed) == (2, 2, 2) and wasted.seconds >= 2 * 0.5, wasted


def test_timeout_from_the_command_line_and_the_jobs_children_end_with_it(proj_dir: Path) -> None:
    markers = proj_dir.parent / "markers"
    markers.mkdir()
    jobs = [{"i": i, "how": "hang_with_child", "bad": 0, "marker_dir": str(markers)} for i in range(3)]
    proj = bg.Project.create(proj_dir, jobs, MISBEHAVE, max_attempts=1, lease_s=600.0)  # no limit in the project
    res = cli("run", str(proj_dir), "--workers", "1", "--no-progress", "--job-timeout", "1")
    assert res.returncode == EXIT_FAILED, res.stderr
    children = [int(p.name.split("-")[1]) for p in markers.glob("child-*")]
    assert len(children) == 1 and not pid_alive(children[0])
    assert proj.status().counts["done"] == 2
    # the worker forked by the fork server restarts as `benchgrid work`, not as the server's command line
    assert "Traceback" not in res.stderr and "Bad file descriptor" not in res.stderr, res.stderr


def _daemons(markers: Path) -> list[int]:
    return [int(p.name.split("-")[1]) for p in markers.glob("daemon-*")]


@pytest.mark.parametrize("how", ["run", "work"])
def test_a_daemon_the_job_started_ends_at_its_time_limit(proj_dir: Path, how: str) -> None:
    """A job's grandchild that left the worker's group and session (double fork + setsid) is killed too.

    Its parent exits, so it is no one's descendant unless the worker is a child subreaper;
    `work` is a worker alone (what SLURM runs), `run` one forked by the fork server.
    """
    markers = proj_dir.parent / "markers"
    markers.mkdir()
    jobs = [{"i": i, "how": "hang_with_daemon", "bad": 1, "marker_dir": str(markers)} for i in range(4)]
    proj = bg.Project.create(proj_dir, jobs, MISBEHAVE, max_attempts=1, lease_s=600.0, job_timeout_s=1.0)
    if how == "run":
        res = cli("run", str(proj_dir), "--workers", "1", "--no-progress")
        assert res.returncode == EXIT_FAILED, res.stderr
    else:
        w = subprocess.Popen([sys.executable, "-m", "benchgrid", "work", str(proj_dir)], stderr=subprocess.PIPE)
        assert wait_exit(w, 60) == EXIT_OK
    daemons = _daemons(markers)
    assert len(daemons) == 1, daemons
    assert not pid_alive(daemons[0]), f"the job's setsid daemon {daemons[0]} outlived its time limit"
    df = proj.results().set_index("job_id")
    assert df.loc[1, "state"] == "failed" and df.loc[1, "error"].startswith("timed out after 1 s"), df.loc[1, "error"]
    assert (df.drop(index=1)["state"] == "done").all()  # the worker went on


def test_a_daemon_the_job_started_ends_when_its_worker_gets_sigterm(proj_dir: Path) -> None:
    markers = proj_dir.parent / "markers"
    markers.mkdir()
    proj = bg.Project.create(proj_dir, [{"i": 0, "how": "hang_with_daemon", "bad": 0, "marker_dir": str(markers)}],
                             MISBEHAVE, lease_s=600.0)
    w = subprocess.Popen([sys.executable, "-m", "benchgrid", "work", str(proj_dir)], stderr=subprocess.PIPE)
    daemon = wait_until(lambda: _daemons(markers), 60, "the job's daemon")[0]
    w.send_signal(signal.SIGTERM)
    assert wait_exit(w, 60) == EXIT_OK
    assert not pid_alive(daemon)
    assert proj.status().counts["queued"] == 1  # handed back


def test_a_daemon_of_a_worker_that_died_ends_with_it(proj_dir: Path) -> None:
    """The worker segfaults after its job started a daemon: the fork server (a subreaper too) kills the daemon."""
    markers = proj_dir.parent / "markers"
    markers.mkdir()
    jobs = [{"i": i, "how": "segv_with_daemon", "bad": 1, "marker_dir": str(markers)} for i in range(3)]
    proj = bg.Project.create(proj_dir, jobs, MISBEHAVE, max_attempts=1, lease_s=600.0)
    res = cli("run", str(proj_dir), "--workers", "1", "--no-progress")
    assert res.returncode == EXIT_FAILED, res.stderr
    daemons = _daemons(markers)
    assert len(daemons) == 1 and not pid_alive(daemons[0]), daemons
    assert proj.status().counts["done"] == 2


def test_a_forked_worker_restarts_as_its_own_command(proj_dir: Path) -> None:
    """After a timeout the worker re-executes `python [flags] -m benchgrid work ...`, never the fork server."""
    jobs = [{"i": i, "how": "hang" if i == 0 else "ok", "bad": 0} for i in range(3)]
    proj = bg.Project.create(proj_dir, jobs, MISBEHAVE, max_attempts=1, lease_s=600.0, job_timeout_s=0.5)
    res = subprocess.run(
        [sys.executable, "-X", "faulthandler", "-m", "benchgrid", "run", str(proj_dir), "--workers", "1", "--no-progress"],
        capture_output=True, text=True, timeout=120,
    )
    assert res.returncode == EXIT_FAILED, res.stderr
    assert "Traceback" not in res.stderr and "exit status 1" not in res.stderr, res.stderr
    assert proj.status().counts["done"] == 2


def test_standalone_worker_starts_afresh_after_a_timeout(proj_dir: Path) -> None:
    """`benchgrid work` (what SLURM runs) re-executes itself, so the array task keeps working."""
    jobs = [{"i": i, "how": "hang", "bad": 0} for i in range(5)]
    proj = bg.Project.create(proj_dir, jobs, MISBEHAVE, max_attempts=2, lease_s=600.0, job_timeout_s=0.5)
    w = subprocess.Popen([sys.executable, "-m", "benchgrid", "work", str(proj_dir)], stderr=subprocess.PIPE)
    assert wait_exit(w, 60) == EXIT_OK
    st = proj.status()
    assert st.counts["done"] == 4 and st.counts["failed"] == 1 and st.finished


@pytest.mark.parametrize("how", ["hang", "hang_in_c"])
def test_in_process_run_times_out_a_job_too(proj_dir: Path, how: str) -> None:
    """run(n_workers=0) (debug, in this process): the same lost runs and failure as worker processes give."""
    jobs = [{"i": i, "how": how, "bad": 1} for i in range(4)]
    proj = bg.Project.create(proj_dir, jobs, MISBEHAVE, max_attempts=2, lease_s=600.0, job_timeout_s=0.5)
    def mine(*_: object) -> None:
        pass

    theirs = signal.signal(signal.SIGALRM, mine)  # the caller's own handler and timer are put back after
    left_before = signal.getitimer(signal.ITIMER_REAL)[0]  # (pytest-timeout's, when it runs)
    try:
        status = proj.run(n_workers=0, progress=False)
        assert signal.getsignal(signal.SIGALRM) is mine
        left_after = signal.getitimer(signal.ITIMER_REAL)[0]
        assert (0 < left_after <= left_before) if left_before else left_after == 0
    finally:
        signal.signal(signal.SIGALRM, theirs)
    assert status.exit_code == EXIT_FAILED and status.counts["done"] == 3
    df = proj.results().set_index("job_id")
    assert df.loc[1, "error"].startswith("timed out after 0.5 s 2 times (max_attempts=2)"), df.loc[1, "error"]
    runs = [r for r in requeue_records(proj_dir) if r["job"] == 1]
    assert [(r["reason"], "fail" in r) for r in runs] == [("timed out after 0.5 s", False), ("timed out after 0.5 s", True)]


def test_workers_0_on_the_command_line_times_out(proj_dir: Path) -> None:
    jobs = [{"i": i, "how": "hang", "bad": 0} for i in range(3)]
    proj = bg.Project.create(proj_dir, jobs, MISBEHAVE, max_attempts=1, lease_s=600.0)
    res = cli("run", str(proj_dir), "--workers", "0", "--no-progress", "--job-timeout", "0.5")
    assert res.returncode == EXIT_FAILED, res.stderr
    df = proj.results().set_index("job_id")
    assert df.loc[0, "error"].startswith("timed out after 0.5 s"), df.loc[0, "error"]
    assert (df.drop(index=0)["state"] == "done").all()


def test_bad_timeouts_are_refused(proj_dir: Path) -> None:
    with pytest.raises(bg.InputError, match="job_timeout_s must be"):
        bg.Project.create(proj_dir, [{"i": 1}], MISBEHAVE, job_timeout_s=float("inf"))
    bg.Project.create(proj_dir, [{"i": 1}], MISBEHAVE)
    res = cli("run", str(proj_dir), "--job-timeout", "nan")
    assert res.returncode == 2 and "--job-timeout must be a number of seconds > 0 and at most 31536000 (365 days), got nan" in res.stderr
