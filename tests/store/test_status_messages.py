"""What status and check say after ordinary events: calm, and only what means something (issue 23)."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import benchgrid as bg
from benchgrid.store import Claim, Queue, read_project_json

FAIL_FIRST = "tests.runners.jobs:fail_first_attempt"
ECHO = "tests.runners.jobs:echo"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "benchgrid", *args], capture_output=True, text=True, timeout=120
    )


def test_a_retry_is_not_fencing_and_check_counts_runs_not_records(proj_dir: Path) -> None:
    bg.Project.create(proj_dir, [{"i": i} for i in range(30)], FAIL_FIRST)
    assert cli("run", str(proj_dir), "--workers", "2", "--no-progress").returncode == 1  # 10 errors
    assert cli("retry", str(proj_dir), "--errors").returncode == 0
    res = cli("status", str(proj_dir))  # the errored runs' records are superseded by the retry
    assert res.returncode == 0 and "queued 10" in res.stdout
    assert "superseded" not in res.stdout and "late result" not in res.stdout, res.stdout
    assert cli("run", str(proj_dir), "--workers", "2", "--no-progress").returncode == 0
    res = cli("status", str(proj_dir))
    assert "done 30" in res.stdout and "superseded" not in res.stdout and "late result" not in res.stdout, res.stdout
    assert bg.Project.open(proj_dir).status().stale_results == 0

    # check: 40 runs handed out (30 + 10 retried), in fewer claim records (small jobs go out in batches)
    res = cli("check", str(proj_dir))
    assert res.returncode == 0, res.stdout
    found = re.search(r": (\d+) job runs claimed \(in (\d+) claim records\), (\d+) results: OK", res.stdout)
    assert found, res.stdout
    runs, records, results = map(int, found.groups())
    assert runs == results == 40 and records <= runs


def test_a_result_of_a_run_given_up_without_a_retry_is_noted(proj_dir: Path) -> None:
    proj = bg.Project.create(proj_dir, [{"i": i} for i in range(3)], ECHO)
    assert cli("run", str(proj_dir), "--workers", "1", "--no-progress").returncode == 0
    # job 1's run 1 given up as if its worker's lease had expired (what expire_dead_workers writes):
    # its result of attempt 1 is then one the project did not wait for
    queue = Queue(proj_dir, read_project_json(proj_dir)["settings"])
    assert queue.requeue([Claim(1, 2, 0, 0)], "expired", "a-test") == 1
    assert cli("run", str(proj_dir), "--workers", "1", "--no-progress").returncode == 0
    assert proj.status().stale_results == 1
    res = cli("status", str(proj_dir))
    assert "note: 1 late result(s) of runs already given up" in res.stdout, res.stdout
    assert "each job keeps its latest run's result" in res.stdout


def test_a_finished_projects_throughput_is_over_its_run_and_has_no_eta(proj_dir: Path) -> None:
    proj = bg.Project.create(proj_dir, [{"i": i} for i in range(20)], ECHO)
    assert cli("run", str(proj_dir), "--workers", "2", "--no-progress").returncode == 0
    first = proj.status()
    time.sleep(0.5)  # the point: time passes after the end
    second = proj.status()
    assert first.overall_per_s == second.overall_per_s and first.overall_per_s > 0
    assert first.recent_per_s is None and first.eta_s is None
    outs = [cli("status", str(proj_dir)).stdout for _ in range(2)]
    lines = [[line for line in out.splitlines() if "throughput" in line] for out in outs]
    assert lines[0] == lines[1] and len(lines[0]) == 1, outs
    assert lines[0][0].startswith("  throughput over the run: ") and lines[0][0].endswith("(first claim to last end)")
    assert "ETA" not in outs[0]
