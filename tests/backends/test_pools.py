"""Pools: one array per kind of worker, each with its memory, on a real local SLURM (issue 13)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from benchgrid import Project
from benchgrid.cli._cmd_submit import parse_pool
from benchgrid.cli.main import main

from ..worker.helpers import assert_exactly_one_accepted, audit
from .conftest import require_scheduler, wait_for


def _project(root: Path) -> Project:
    jobs = [{"i": i, "mb": 20, "mem_gb": 0.2} for i in range(10)]
    jobs += [{"i": i, "mb": 300, "mem_gb": 1.2} for i in range(10, 12)]  # for the big pool only
    return Project.create(root, jobs, "tests.runners.jobs:allocate", memory_key="mem_gb")


def test_pool_syntax_is_checked(proj_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert parse_pool("3x0.5G@5") == (3, 0.5, "5", ())
    _project(proj_dir)
    assert main(["submit", str(proj_dir), "--pool", "4G", "--dry-run"]) == 2
    assert "--pool must be WORKERSxMEMORY[+COUNTRESOURCE][@TIME] such as 20x4G, 2x64G@12:00:00 or 2x16G+1gpu, got '4G'" \
        in capsys.readouterr().err
    assert main(["submit", str(proj_dir), "--pool", "2x4G", "--workers", "3", "--dry-run"]) == 2
    assert "either --pool" in capsys.readouterr().err
    assert main(["submit", str(proj_dir), "--dry-run"]) == 2
    assert "--workers is required (or one --pool" in capsys.readouterr().err


def test_two_pools_dry_run_write_one_array_each_with_its_memory(proj_dir: Path) -> None:
    _project(proj_dir)
    out = subprocess.run(
        [sys.executable, "-m", "benchgrid", "submit", str(proj_dir), "--pool", "3x0.5G", "--pool", "1x2G@7",
         "--dry-run"], capture_output=True, text=True,
    )
    assert out.returncode == 0, out.stderr
    small, big = out.stdout.split("# ---- pool 1x2G@7: array")
    assert "#SBATCH --array=0-2" in small and "--mem=512M" in small and "--mem-gb 0.5" in small
    assert "#SBATCH --array=0-0" in big and "--mem=2G" in big and "--mem-gb 2" in big and "--time=7" in big
    assert not (proj_dir / "slurm").exists() or not any((proj_dir / "slurm").glob("*.sh"))


def test_pools_drain_on_slurm_and_only_the_big_pool_takes_big_jobs(proj_dir: Path) -> None:
    require_scheduler("slurm")
    proj = _project(proj_dir)
    assert main(["submit", str(proj_dir), "--pool", "2x0.5G@5", "--pool", "1x2G@5"]) == 0
    wait_for(lambda: proj.status().counts["done"] == 12, timeout_s=240, what="both pools to drain the project")
    a = assert_exactly_one_accepted(proj_dir, 12)
    budgets = {}
    for wid in a.workers:
        lease = (proj_dir / "workers" / wid / "lease.json").read_text()
        budgets[wid] = float(__import__("json").loads(lease)["mem_gb"])
    assert sorted(budgets.values()) == [0.5, 0.5, 2.0]
    big_jobs = {10, 11}
    for job, _attempt, wid in audit(proj_dir).claims:
        if job in big_jobs:
            assert budgets[wid] == 2.0, f"job {job} claimed by a {budgets[wid]} GB worker"


def test_a_job_slurm_kills_for_memory_escalates_to_the_big_pool(proj_dir: Path) -> None:
    """SLURM enforces --mem (scripts/slurm-local: OverMemoryKill) and kills a small worker whose job's
    child process outgrows it; the worker's own guard cannot see a child's memory. The next worker
    reads SLURM's verdict in the dead worker's job log and moves the job to a larger class: the big
    pool finishes it, without a lost run."""
    require_scheduler("slurm")
    jobs = [{"i": 0, "child_mb": 700, "mem_gb": 0.1}]  # expected 0.1 GB: the estimate was wrong
    jobs += [{"i": i, "child_mb": 0, "mem_gb": 0.1} for i in (1, 2)]
    proj = Project.create(proj_dir, jobs, "tests.runners.jobs:allocate_in_child", memory_key="mem_gb",
                          lease_s=2.0)
    assert main(["submit", str(proj_dir), "--pool", "1x0.5G@5"]) == 0
    logs = proj_dir / "slurm" / "logs"
    wait_for(lambda: any(b"Exceeded job memory limit" in p.read_bytes() for p in logs.glob("worker-*.out")),
             timeout_s=120, what="SLURM to kill the small worker for memory")
    assert proj.status().counts["done"] < 3
    assert main(["submit", str(proj_dir), "--pool", "1x2G@5"]) == 0
    wait_for(lambda: proj.status().counts["done"] == 3, timeout_s=180, what="the big pool to finish every job")
    assert_exactly_one_accepted(proj_dir, 3)
    escalations = [r for r in _requeue_records(proj_dir) if r.get("job") == 0 and r.get("why") == "out of memory"]
    assert len(escalations) == 1, escalations
    reason = escalations[0]["reason"]
    low = reason.lower()  # slurmstepd: "exceeded memory limit (...)" or "Exceeded job memory limit"
    assert reason.startswith("killed by the scheduler for memory: its log says ") and "exceeded" in low and "memory limit" in low
    assert escalations[0]["l"] == 0  # no lost run
    assert proj.results()["attempt"].tolist()[0] == 2
    assert "killed by the scheduler for memory" in proj.state().escalated[0]


def _requeue_records(root: Path) -> list[dict]:
    from benchgrid.store.storage._records import read_records

    return read_records(root / "queue" / "requeue.log")[0]
