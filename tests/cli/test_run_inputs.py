"""What `benchgrid run` and `submit` do with too many workers and absurd limits (issue 23)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import benchgrid as bg


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "benchgrid", *args], capture_output=True, text=True, timeout=120)


def test_more_workers_than_jobs_starts_one_per_job_and_says_so(proj_dir: Path) -> None:
    proj = bg.Project.create(proj_dir, [{"i": i} for i in range(4)], "tests.runners.jobs:echo")
    res = cli("run", str(proj_dir), "--workers", "64", "--no-progress")
    assert res.returncode == 0, res.stderr
    assert "starting 4 worker(s), not 64: 4 job(s) left to run" in res.stderr
    assert len(list((proj_dir / "workers").iterdir())) == 4  # 4 processes, not 64
    assert proj.status().counts["done"] == 4
    # a second run of a finished project starts one worker, which finds nothing to do
    res = cli("run", str(proj_dir), "--workers", "8", "--no-progress")
    assert res.returncode == 0 and "starting 1 worker(s), not 8: 0 job(s) left to run" in res.stderr
    # as many workers as jobs left: nothing to say
    res = cli("run", str(proj_dir), "--workers", "1", "--no-progress")
    assert "starting" not in res.stderr


def test_a_big_result_is_stored_with_a_warning_naming_the_job(proj_dir: Path) -> None:
    jobs = [{"i": 0, "kb": 1}, {"i": 1, "kb": 2000}, {"i": 2, "kb": 1}]
    proj = bg.Project.create(proj_dir, jobs, "tests.runners.misbehave:big_result")
    res = cli("run", str(proj_dir), "--workers", "1", "--no-progress")
    assert res.returncode == 0, res.stderr
    warned = [line for line in res.stderr.splitlines() if line.startswith("benchgrid: warning: job ")]
    assert len(warned) == 1 and warned[0].startswith("benchgrid: warning: job 1 attempt 1: its result is 2.0 MB"), res.stderr
    assert "events.log" in warned[0] and "save big outputs to files" in warned[0]
    (worker,) = (proj_dir / "workers").iterdir()
    assert "job 1 attempt 1: its result is 2.0 MB" in (worker / "worker.log").read_text()
    assert len(proj.results()["blob"][1]) == 2000 * 1024  # stored all the same
