"""``submit --until-done --max-core-hours H``: bad values exit 2 naming the fix and write nothing (issue 21).

The budget's decisions (never passed, the chain stops saying so) are tested
with real deciders on both clients in ``test_pool_faults.py``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from benchgrid import Project


def _submit(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "benchgrid", "submit", str(root), "--workers", "2", *args],
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(("args", "message"), [
    (("--until-done", "--time", "1", "--max-core-hours", "0"), "max_core_hours must be a number of core-hours > 0"),
    (("--until-done", "--time", "1", "--max-core-hours", "nan"), "max_core_hours must be a number of core-hours > 0"),
    (("--until-done", "--time", "1", "--max-core-hours", "-3"), "max_core_hours must be a number of core-hours > 0"),
    (("--until-done", "--time", "60", "--max-core-hours", "1.5"),
     "max_core_hours must pay for the first 2 allocation(s) of 1 CPU(s) for 1:00:00 (2 core-hour(s)), got 1.5; "
     "give --max-core-hours 2 or more"),
    (("--until-done", "--time", "60", "--cpus-per-worker", "4", "--max-core-hours", "5"),
     "the first 2 allocation(s) of 4 CPU(s) for 1:00:00 (8 core-hour(s)), got 5.0"),
    (("--until-done", "--max-core-hours", "5"), "max_core_hours needs a time limit per allocation (--time)"),
    (("--time", "1", "--max-core-hours", "5"), "--max-core-hours is the budget of a self-sustaining pool: give it "
                                               "with --until-done"),
])
def test_a_bad_budget_exits_2_naming_the_fix_and_writes_nothing(proj_dir, args, message):
    Project.create(proj_dir, [{"i": i} for i in range(4)], "tests.runners.jobs:echo")
    out = _submit(proj_dir, *args)
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert message in out.stderr, out.stderr
    assert not (proj_dir / "pools").exists() and not (proj_dir / "slurm").exists()


def test_a_budget_that_is_not_a_number_is_refused_by_the_parser(proj_dir):
    Project.create(proj_dir, [{"i": 0}], "tests.runners.jobs:echo")
    out = _submit(proj_dir, "--until-done", "--time", "1", "--max-core-hours", "lots")
    assert out.returncode == 2 and "--max-core-hours: invalid float value: 'lots'" in out.stderr, out.stderr


@pytest.mark.parametrize(("args", "message"), [
    (("--time", "1", "--pool-name", "p1"), "--pool-name names a self-sustaining pool: give it with --until-done"),
    (("--until-done", "--time", "1", "--pool-name", "a b"), "a pool name must be 1-41 letters, digits"),
])
def test_a_bad_pool_name_exits_2_and_writes_nothing(proj_dir, args, message):
    Project.create(proj_dir, [{"i": 0}], "tests.runners.jobs:echo")
    out = _submit(proj_dir, *args)
    assert out.returncode == 2 and message in out.stderr, out.stderr
    assert not (proj_dir / "pools").exists()


def test_a_second_pool_of_the_same_name_is_refused_naming_a_free_one(proj_dir):
    from benchgrid.store import PoolLedger

    Project.create(proj_dir, [{"i": 0}], "tests.runners.jobs:echo")
    PoolLedger(proj_dir, "p0").append({"op": "pool", "backend": "slurm", "n_workers": 2})
    out = _submit(proj_dir, "--until-done", "--time", "1")
    assert out.returncode == 2 and "already has a pool named 'p0'" in out.stderr, out.stderr
    assert "--pool-name p1" in out.stderr
