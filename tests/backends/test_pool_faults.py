"""The successor decision of a self-sustaining pool, killed at every step (issue 21).

Deciders are real processes (``continue_pool``, as an ending worker calls it)
on both clients of the two-client bed and on one local folder; the scheduler
is a stand-in whose state is files (``_fake_scheduler.py``), so a process
SIGKILLed after ``sbatch`` leaves a job the ledger never recorded, as a real
one would. Whatever dies where: the pool's live + pending allocations never
exceed W, and a successor lost to a crash is made up by the next worker that
looks.
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
import sys
from pathlib import Path
from tests.backends._fake_scheduler import register
register()
from benchgrid.backends import continue_pool
print(continue_pool(Path(sys.argv[1]), "p0", task=sys.argv[2], started=0.0, done=5, why="deadline reached"))
"""
START = """
import sys
from pathlib import Path
from tests.backends._fake_scheduler import register
register()
from benchgrid.backends import start_pool
start_pool(Path(sys.argv[1]), "p0", "fake", int(sys.argv[2]), time="10")
"""


@pytest.fixture
def fake(tmp_path: Path) -> dict[str, str]:
    install(tmp_path / "bin", tmp_path / "state")
    return {**os.environ, "PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}", "FAKE_STATE": str(tmp_path / "state")}


def _live(env: dict[str, str]) -> list[str]:
    return sorted(p.name for p in Path(env["FAKE_STATE"]).iterdir() if not p.name.startswith("."))


def _end(env: dict[str, str], task: str) -> None:
    (Path(env["FAKE_STATE"]) / task).unlink()


def _decide(root: Path, task: str, env: dict[str, str], kill_at: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**env, **({"BENCHGRID_KILL_AT": kill_at} if kill_at else {})}
    return subprocess.run([sys.executable, "-c", DECIDE, str(root), task], env=env, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("step", ["pool.ending", "pool.submitted"])
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
    assert state.stopped is None and state.ending_tasks >= set(first)


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
