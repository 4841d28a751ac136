"""The successor decision of a self-sustaining pool, killed at every step (issue 21).

Deciders are real processes (``continue_pool``, as an ending worker calls it)
on both clients of the two-client bed and on one local folder; the scheduler
is a stand-in whose state is files (``_fake_scheduler.py``), so a process
SIGKILLed after ``sbatch`` leaves a job the ledger never recorded, as a real
one would. Whatever dies where (after asking the scheduler, after recording
its end, after submitting), or when the scheduler's list fails: the pool's
live + pending allocations never exceed W, and a successor lost to a crash is
made up by the next worker that looks. A job still running elsewhere keeps the
chain going; a budget of core-hours is never passed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from benchgrid import Project
from benchgrid.store import PoolLedger

from ._fake_scheduler import install

W = 2
DECIDE = """
import sys, time
from pathlib import Path
from tests.backends._fake_scheduler import register
register()
from benchgrid.backends import continue_pool
ran_s = float(sys.argv[3]) if len(sys.argv) > 3 else 30.0
print(continue_pool(Path(sys.argv[1]), "p0", task=sys.argv[2], started=time.time() - ran_s, done=5,
                    why="deadline reached"))
"""
START = """
import sys
from pathlib import Path
from tests.backends._fake_scheduler import register
register()
from benchgrid.backends import start_pool
hours = float(sys.argv[3]) if len(sys.argv) > 3 else None
start_pool(Path(sys.argv[1]), "p0", "fake", int(sys.argv[2]), time="1", max_core_hours=hours)
"""


@pytest.fixture
def fake(tmp_path: Path) -> dict[str, str]:
    install(tmp_path / "bin", tmp_path / "state")
    return {**os.environ, "PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}", "FAKE_STATE": str(tmp_path / "state")}


def _live(env: dict[str, str]) -> list[str]:
    return sorted(p.name for p in Path(env["FAKE_STATE"]).iterdir() if not p.name.startswith("."))


def _end(env: dict[str, str], task: str) -> None:
    (Path(env["FAKE_STATE"]) / task).unlink()


def _decide(root: Path, task: str, env: dict[str, str], kill_at: str | None = None,
            ran_s: float = 30.0) -> subprocess.CompletedProcess[str]:
    env = {**env, **({"BENCHGRID_KILL_AT": kill_at} if kill_at else {})}
    return subprocess.run([sys.executable, "-c", DECIDE, str(root), task, str(ran_s)], env=env, capture_output=True,
                          text=True, timeout=120)


def _start(root: Path, env: dict[str, str], *more: str) -> None:
    start = subprocess.run([sys.executable, "-c", START, str(root), str(W), *more], env=env, capture_output=True,
                           text=True, timeout=120)
    assert start.returncode == 0, start.stderr


@pytest.mark.parametrize("step", ["pool.looked", "pool.ending", "pool.submitted"])
def test_a_decider_killed_at_any_step_never_exceeds_w_and_the_next_makes_up(fs_pair, fake, step):
    Project.create(fs_pair.a / "proj", [{"i": i} for i in range(50)], "tests.runners.jobs:echo")
    start = subprocess.run([sys.executable, "-c", START, str(fs_pair.a / "proj"), str(W)], env=fake,
                           capture_output=True, text=True, timeout=120)
    assert start.returncode == 0, start.stderr
    first = _live(fake)
    assert len(first) == W

    # the first allocation ends; its decider (on client a) is killed at `step`
    cut = _decide(fs_pair.a / "proj", first[0], fake, kill_at=step)
    assert cut.returncode == -signal.SIGKILL, cut.stderr
    _end(fake, first[0])  # its process is gone: the scheduler reaps the task
    assert len(_live(fake)) <= W  # pool.submitted: its successor runs, unrecorded, and is counted all the same

    # the second allocation ends; its decider runs on client b and makes up what the first did not
    again = _decide(fs_pair.b / "proj", first[1], fake)
    assert again.returncode == 0, again.stderr
    _end(fake, first[1])
    live = _live(fake)
    assert len(live) == W, (step, live, again.stdout)

    # a third look submits nothing more: W live already
    third = _decide(fs_pair.a / "proj", "no-such-task", fake)
    assert "no successor needed" in third.stdout and len(_live(fake)) == W
    state = PoolLedger(fs_pair.backing / "proj", "p0").read()
    recorded = set(first) if step != "pool.looked" else {first[1]}  # killed before it wrote its ending
    assert state.stopped is None and state.ending_tasks >= recorded


def test_two_deciders_at_once_submit_one_successor_each_never_more(fs_pair, fake):
    Project.create(fs_pair.a / "proj", [{"i": i} for i in range(50)], "tests.runners.jobs:echo")
    start = subprocess.run([sys.executable, "-c", START, str(fs_pair.a / "proj"), str(W)], env=fake,
                           capture_output=True, text=True, timeout=120)
    assert start.returncode == 0, start.stderr
    first = _live(fake)
    procs = [subprocess.Popen([sys.executable, "-c", DECIDE, str(fs_pair.on(side) / "proj"), task], env=fake,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for side, task in zip("ab", first)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    for task in first:
        _end(fake, task)
    assert len(_live(fake)) == W, outs


def test_a_scheduler_command_that_fails_submits_nothing_and_the_next_decider_makes_up(fs_pair, fake):
    Project.create(fs_pair.a / "proj", [{"i": i} for i in range(50)], "tests.runners.jobs:echo")
    _start(fs_pair.a / "proj", fake)
    first = _live(fake)
    (Path(fake["FAKE_STATE"]) / ".fail-once").touch()  # the scheduler's list times out once
    failed = _decide(fs_pair.a / "proj", first[0], fake)
    assert failed.returncode != 0 and "fstat: timed out" in failed.stderr, failed.stderr
    _end(fake, first[0])
    assert len(_live(fake)) == W - 1  # nothing submitted: never more than W
    made_up = _decide(fs_pair.b / "proj", first[1], fake)  # the next worker that looks, on the other client
    assert made_up.returncode == 0, made_up.stderr
    _end(fake, first[1])
    assert len(_live(fake)) == W, made_up.stdout


def test_a_job_running_elsewhere_keeps_the_chain_and_its_worker_decides_after_handing_it_back(fs_pair, fake):
    """No job left to claim, one running on another worker: the pool does not stop (the job may come back)."""
    root = fs_pair.a / "proj"
    Project.create(root, [{"i": 0, "seconds": 300.0}], "tests.runners.jobs:sleep")
    _start(root, fake)
    first = _live(fake)
    worker = subprocess.Popen([sys.executable, "-m", "benchgrid", "work", str(fs_pair.b / "proj")], env=fake,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        from benchgrid.store import ProjectState

        from .conftest import wait_for

        wait_for(lambda: ProjectState(fs_pair.backing / "proj").refresh().counts()["running"] == 1, timeout_s=60,
                 what="the job to run")
        kept = _decide(root, first[0], fake)
        assert kept.returncode == 0 and "1 running on other workers" in kept.stdout, (kept.stdout, kept.stderr)
        assert PoolLedger(fs_pair.backing / "proj", "p0").read().stopped is None
    finally:
        worker.send_signal(signal.SIGTERM)  # it hands its job back
        worker.communicate(timeout=60)
    _end(fake, first[0])
    again = _decide(fs_pair.b / "proj", first[1], fake)  # the job is queued again: a successor is due
    _end(fake, first[1])
    assert again.returncode == 0 and "submitted" in again.stdout, (again.stdout, again.stderr)
    assert len(_live(fake)) == W


def test_the_core_hour_budget_is_never_passed_and_stops_the_chain_saying_so(fs_pair, fake):
    """W = 2 allocations of 1 minute and 1 CPU, a budget of 4 allocations' worth (240 core-s)."""
    root = fs_pair.a / "proj"
    Project.create(root, [{"i": i} for i in range(50)], "tests.runners.jobs:echo")
    _start(root, fake, str(4 / 60))
    a, b = _live(fake)
    decided = [_decide(root, a, fake, ran_s=30.0)]  # used 30 + b live at 60 + a successor at 60: 150 <= 240
    _end(fake, a)
    c = (set(_live(fake)) - {b}).pop()
    decided.append(_decide(fs_pair.b / "proj", b, fake, ran_s=60.0))  # 90 + c 60 + one more 60 = 210 <= 240
    _end(fake, b)
    d = (set(_live(fake)) - {c}).pop()
    decided.append(_decide(root, c, fake, ran_s=60.0))  # 150 + d 60 + one more 60 = 270 > 240: none, d is live
    _end(fake, c)
    assert _live(fake) == [d]
    assert PoolLedger(fs_pair.backing / "proj", "p0").read().stopped is None
    decided.append(_decide(fs_pair.b / "proj", d, fake, ran_s=60.0))  # 210 used, nothing live: the chain stops
    _end(fake, d)
    assert [p.returncode for p in decided] == [0] * 4, [p.stderr for p in decided]
    assert _live(fake) == []
    state = PoolLedger(fs_pair.backing / "proj", "p0").read()
    assert state.n_submitted == 4 and state.core_s <= 240, (state.submitted, state.core_s)
    assert state.stopped is not None and state.stopped.startswith("the budget of 0.0667 core-hours is spent"), state.stopped
    assert "core-hours: 0.058 used" in state.describe(), state.describe()
