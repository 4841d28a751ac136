"""How a self-sustaining pool ends when what is left is not its work (issue 21).

The scheduler is the file-backed stand-in of ``_fake_scheduler.py``; the
deciders are ``continue_pool`` as an ending worker calls it, the jobs real
and, for a job running elsewhere, run by a real ``benchgrid work`` process.
"""

from __future__ import annotations

import shlex
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
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{__import__('os').environ['PATH']}")
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
