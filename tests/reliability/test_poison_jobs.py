"""Whatever a runner does, the queue never blocks and the job ends with a state and a reason."""

from __future__ import annotations

from pathlib import Path

import pytest

import benchgrid as bg
from benchgrid._exitcodes import EXIT_ERRORS

from .helpers import MISBEHAVE, cli


@pytest.mark.parametrize(
    "how, message",
    [
        ("sys_exit", "SystemExit: 3"),
        ("keyboard_interrupt", "KeyboardInterrupt"),
        ("circular", "the runner's result cannot be stored: ValueError: Circular reference detected"),
    ],
)
def test_runner_exits_interrupts_or_returns_garbage_is_a_job_error(proj_dir: Path, how: str, message: str) -> None:
    jobs = [{"i": i, "how": how, "bad": 2} for i in range(8)]
    proj = bg.Project.create(proj_dir, jobs, MISBEHAVE, lease_s=600.0)
    res = cli("run", str(proj_dir), "--workers", "2", "--no-progress")
    assert res.returncode == EXIT_ERRORS, res.stderr
    assert "killed" not in res.stderr and "exit status" not in res.stderr  # no worker died for it
    df = proj.results().set_index("job_id")
    assert df.loc[2, "state"] == "error" and message in df.loc[2, "error"]
    assert df.loc[2, "attempt"] == 1  # recorded once, not re-run forever
    assert (df.drop(index=2)["state"] == "done").all()
