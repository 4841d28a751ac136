"""SIGTERM hands the job back even when the runner's imports started threads (numpy, BLAS)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

import benchgrid as bg
from benchgrid.store import ProjectState

from .helpers import start_worker, stop_all, wait_exit, wait_started, wait_state, wait_until


def test_sigterm_with_blas_threads_hands_back(proj_dir: Path) -> None:
    markers = proj_dir.parent / "markers"
    markers.mkdir()
    proj = bg.Project.create(
        proj_dir, [{"i": 0, "marker_dir": str(markers), "first_s": 120.0}], "tests.runners.heavy:mark_and_sleep_numpy"
    )
    env_threads = os.environ.get("OPENBLAS_NUM_THREADS")
    os.environ["OPENBLAS_NUM_THREADS"] = "4"  # a thread pool even on a 2-core machine
    try:
        w = start_worker(proj_dir, "blas")
    finally:
        if env_threads is None:
            os.environ.pop("OPENBLAS_NUM_THREADS")
        else:
            os.environ["OPENBLAS_NUM_THREADS"] = env_threads
    try:
        pid = wait_started(markers, 0, 1, timeout_s=60)
        assert len(os.listdir(f"/proc/{pid}/task")) > 3  # the worker really has extra threads
        os.kill(w.pid, signal.SIGTERM)
        assert wait_exit(w, 10) == 0  # exited cleanly, not killed by the signal (-15)
        state = wait_state(proj_dir, 0, "queued", timeout_s=5)
        assert state.latest_attempt(0) == 2
        assert proj.status().counts["running"] == 0
    finally:
        stop_all([w])


def test_work_called_in_process_leaves_the_signal_mask_as_it_was(proj_dir: Path) -> None:
    """A blocked mask would leak into every process started afterwards (they could not be stopped)."""
    from benchgrid.cli.main import main

    proj = bg.Project.create(proj_dir, [{"i": 1}], "tests.runners.jobs:echo")
    before = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    assert main(["work", str(proj_dir), "--until", "tomorrow"]) == 2
    assert main(["work", str(proj_dir)]) == 0
    assert signal.pthread_sigmask(signal.SIG_BLOCK, []) == before
    assert proj.status().counts["done"] == 1


def test_a_jobs_child_processes_can_be_stopped_with_sigterm(proj_dir: Path) -> None:
    """The worker handles its hand-back signals without blocking them for the job's processes.

    Before, a child inherited them blocked (``SigBlk`` showed TERM, INT, USR1,
    USR2): ``Popen.terminate()`` and a process pool's SIGTERM did nothing. A
    forked child's SIGTERM is its own: it ends the child, not this worker.
    """
    proj = bg.Project.create(proj_dir, [{"i": 0}], "tests.runners.children:terminate_children")
    w = start_worker(proj_dir, "kids")
    assert wait_exit(w, 90) == 0
    (row,) = proj.results().to_dict("records")
    assert row["state"] == "done" and row["attempt"] == 1, row  # the child's SIGTERM did not hand the job back
    assert list(row["blocked_exec"]) == [] and list(row["blocked_fork"]) == [], row
    assert row["exec_code"] == -signal.SIGTERM and row["fork_code"] == -signal.SIGTERM, row


@pytest.mark.parametrize("repeat", range(3))
def test_a_job_whose_child_the_schedulers_sigterm_killed_is_handed_back_not_failed(proj_dir: Path, repeat: int) -> None:
    """SLURM's limit and ``scancel`` signal every process of the allocation: the job's child dies of it too.

    The job then fails (its child ended by SIGTERM) at the moment the worker
    hands it back; the failure is the signal's, so the hand-back wins: the
    job is queued again at attempt 2 with no error recorded.
    """
    markers = proj_dir.parent / "markers"
    markers.mkdir()
    proj = bg.Project.create(proj_dir, [{"i": 0, "marker_dir": str(markers)}], "tests.runners.children:wait_for_child")
    w = start_worker(proj_dir, "limit")
    try:
        wait_until(lambda: any(markers.iterdir()), 60, "the job's child to start")
        (child,) = [int(p.name.split("-")[1]) for p in markers.iterdir()]
        os.kill(child, signal.SIGTERM)  # slurmstepd signals the allocation's processes one after the other
        os.kill(w.pid, signal.SIGTERM)
        assert wait_exit(w, 30) == 0
    finally:
        stop_all([w])
    st = ProjectState(proj_dir).refresh()
    assert st.state_of(0) == "queued" and st.latest_attempt(0) == 2 and st.lost_runs(0) == 0
    assert proj.errors().empty, proj.errors()[["error"]].to_dict("records")


def test_a_job_that_took_the_signals_does_not_keep_them(proj_dir: Path) -> None:
    """A job's asyncio loop with signal handlers leaves SIGTERM at its default; the worker takes it back."""
    markers = proj_dir.parent / "markers"
    markers.mkdir()
    jobs = [{"i": 0, "marker_dir": str(markers)}, {"i": 1, "marker_dir": str(markers), "first_s": 120.0}]
    proj = bg.Project.create(proj_dir, jobs, "tests.runners.children:take_the_signals")
    w = start_worker(proj_dir, "asyncio")
    try:
        wait_started(markers, 1, 1, timeout_s=60)
        os.kill(w.pid, signal.SIGTERM)
        assert wait_exit(w, 30) == 0  # handed back, not killed by the signal (-15)
    finally:
        stop_all([w])
    res = proj.results().set_index("job_id")
    assert res.loc[0, "sigterm_default_after"]  # what the job left: SIGTERM at its default action
    st = ProjectState(proj_dir).refresh()
    assert st.state_of(1) == "queued" and st.latest_attempt(1) == 2 and st.lost_runs(1) == 0
