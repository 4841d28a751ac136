"""How a self-sustaining pool ends when what is left is not its work (issue 21).

The scheduler is the file-backed stand-in of ``_fake_scheduler.py``; the
deciders are ``continue_pool`` as an ending worker calls it, the jobs real
and, for a job running elsewhere, run by a real ``benchgrid work`` process.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchgrid import Project
from benchgrid.backends import continue_pool, start_pool
from benchgrid.store import PoolLedger, ProjectState

from ._fake_scheduler import install, register


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    state = tmp_path / "state"
    install(tmp_path / "bin", state)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_STATE", str(state))
    from benchgrid.backends import _registry

    entries = dict(_registry._ENTRIES)
    register()  # in this process: taken out again after the test (other tests list the backends)
    yield state
    _registry._ENTRIES.clear()
    _registry._ENTRIES.update(entries)
    _registry._LOADED.pop("fake", None)


def _tasks(state: Path) -> list[str]:
    return sorted(p.name for p in state.iterdir() if not p.name.startswith("."))


def _decide(root: Path, task: str, state: Path) -> str:
    said = continue_pool(root, "p0", task=task, started=time.time() - 50, done=3, why="deadline reached")
    (state / task).unlink()  # the allocation ends
    return said


def test_jobs_only_a_longer_pool_can_run_stop_the_chain_saying_where_they_wait(proj_dir: Path, fake: Path) -> None:
    jobs = [{"i": i, "seconds": 0.1, "expected_s": 600.0} for i in range(3)]  # declared 10 minutes
    Project.create(proj_dir, jobs, "tests.runners.jobs:sleep", time_key="expected_s")
    start_pool(proj_dir, "p0", "fake", 1, time="1")
    (task,) = _tasks(fake)
    said = _decide(proj_dir, task, fake)
    stopped = PoolLedger(proj_dir, "p0").read().stopped
    assert stopped is not None and stopped.startswith("no job left that its workers can run; 3 job(s) wait in "
                                                      "classes they cannot claim"), stopped
    assert f"`benchgrid status {shlex.quote(str(proj_dir))}` names them" in stopped and "the pool stops" in said
    assert _tasks(fake) == []


def test_a_pool_that_left_its_last_job_to_another_worker_ends_idle_not_going_on(proj_dir: Path, fake: Path) -> None:
    Project.create(proj_dir, [{"i": 0, "seconds": 4.0}], "tests.runners.jobs:sleep")
    start_pool(proj_dir, "p0", "fake", 2, time="1")
    worker = subprocess.Popen([sys.executable, "-m", "benchgrid", "work", str(proj_dir)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # another pool's, say
    try:
        deadline = time.time() + 60
        while ProjectState(proj_dir).refresh().counts()["running"] != 1:
            assert time.time() < deadline, "the job never ran"
            time.sleep(0.1)
        for task in _tasks(fake):
            assert "1 running on other workers" in _decide(proj_dir, task, fake)
    finally:
        assert worker.wait(timeout=60) == 0
    (state,) = Project.open(proj_dir).pools(ask_scheduler=True)
    assert state.stopped is None and state.broken is None
    assert state.idle == "no allocation live and no job left that its workers can run", state.idle
    assert state.describe().endswith("  idle: no allocation live and no job left that its workers can run")


def _pool_parent(proj_dir: Path, task: str, tmp_path: Path, until: str) -> subprocess.CompletedProcess[str]:
    """``work --restart-crashed --pool p0`` as the job script runs it; the stand-in scheduler is loaded by a ``sitecustomize``."""
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text("from tests.backends._fake_scheduler import register\nregister()\n")
    repo = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=f"{site}{os.pathsep}{repo}", BENCHGRID_SCHEDULER_JOB_ID=task)
    return subprocess.run([sys.executable, "-m", "benchgrid", "work", str(proj_dir), "--name", "fake-1",
                           "--restart-crashed", "--pool", "p0", "--until", until],
                          env=env, capture_output=True, text=True, timeout=120)


def test_a_pool_worker_a_job_kills_near_its_deadline_leaves_the_decision_to_its_parent(
        proj_dir: Path, fake: Path, tmp_path: Path) -> None:
    """A pool of one allocation: its worker dies by SIGSEGV with no time left for a new one; a successor follows.

    Before, nobody decided: the chain ended with jobs left and nothing pending.
    """
    Project.create(proj_dir, [{"i": 0, "how": "segv", "bad": 0}, {"i": 1}], "tests.runners.misbehave:misbehave")
    start_pool(proj_dir, "p0", "fake", 1, time="1")
    (task,) = _tasks(fake)
    parent = _pool_parent(proj_dir, task, tmp_path, "+9s")
    assert parent.returncode == 128 + signal.SIGSEGV, parent.stderr
    assert "not restarted (" in parent.stderr and "s left before the deadline)" in parent.stderr, parent.stderr
    assert "pool p0: submitted 1 successor(s) to pool p0" in parent.stderr, parent.stderr
    state = PoolLedger(proj_dir, "p0").read()
    (ending,) = [e for e in state.ending if e.get("task") == task]
    assert ending["why"].startswith("its worker died by SIGSEGV; not restarted"), ending
    assert ending["ran"] == 1 and ending["done"] == 0, ending  # the job that killed it was started
    assert state.n_submitted == 2 and state.stopped is None
    assert len(_tasks(fake)) == 2  # this allocation (its file is deleted when it ends) and its successor


def test_the_worker_that_ends_a_restarted_allocation_counts_the_workers_before_it(
        proj_dir: Path, fake: Path, tmp_path: Path) -> None:
    """The pool's accounts (jobs started, done) are the allocation's, not its last worker's."""
    jobs = [{"i": 0, "how": "segv", "bad": 0}] + [{"i": i} for i in range(1, 4)]
    Project.create(proj_dir, jobs, "tests.runners.misbehave:misbehave", max_attempts=1)
    start_pool(proj_dir, "p0", "fake", 1, time="1")
    (task,) = _tasks(fake)
    parent = _pool_parent(proj_dir, task, tmp_path, "+300s")
    assert parent.returncode == 0 and "(restart 1)" in parent.stderr, parent.stderr
    (ending,) = [e for e in PoolLedger(proj_dir, "p0").read().ending if e.get("task") == task]
    assert (ending["ran"], ending["done"]) == (4, 3), ending  # the killed job (first worker) + 3 done (second)
