"""Pools of different capacities on a real scheduler (issue 21): a GPU pool beside a CPU pool, a long pool beside a short one.

``scripts/slurm-local`` gives its node one fake GPU (``Gres=gpu:1`` on a stand-in
device file) and ``scripts/sge-local`` its host a consumable ``gpu=1``, so a
``--pool 1x1G+1gpu`` array is scheduled with ``--gres=gpu:1`` or ``-l gpu=1``
as on a GPU cluster. Who ran what is read from the raw ``claims.log`` and
each worker's lease (its resources, its allocation), never from timing.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest

from benchgrid import Project
from benchgrid.store import ProjectState, audit_logs, list_leases, read_records
from benchgrid.store.storage._layout import Layout

from .conftest import require_scheduler, side_by_side_fixture, wait_for

RUNNER = "tests.runners.jobs:sleep"
SCHEDULERS = [pytest.param("slurm", marks=pytest.mark.slurm), pytest.param("sge", marks=pytest.mark.sge)]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "benchgrid", *args], capture_output=True, text=True, timeout=120)


def _claims(root: Path) -> list[tuple[str, list[int]]]:
    """(worker id, jobs) per claim record, in the order of ``claims.log``."""
    records, _end = read_records(Layout(root).claims)
    return [(str(r["w"]), [int(c[0]) for c in r["c"]]) for r in records if r.get("op") == "claim"]


def _ended(root: Path, n: int) -> bool:
    counts = ProjectState(root).refresh().counts()
    return counts["done"] + counts["failed"] + counts["error"] == n


class Started(NamedTuple):
    root: Path
    jobs: list[dict]
    submitted: subprocess.CompletedProcess[str]


GPU_JOBS = set(range(12, 16))


def _start_gpu_and_cpu_pools(backend: str, root: Path) -> Started:
    jobs = [{"i": i, "seconds": 1.0} for i in range(12)] + [{"i": i, "seconds": 2.0, "gpus": 1} for i in sorted(GPU_JOBS)]
    Project.create(root, jobs, RUNNER, resource_keys=["gpus"])
    out = _cli("submit", str(root), "--backend", backend, "--pool", "2x1G", "--pool", "1x1G+1gpu", "--time", "5")
    return Started(root, jobs, out)


gpu_and_cpu_pools = side_by_side_fixture("gpu_and_cpu_pools", _start_gpu_and_cpu_pools)


@pytest.mark.timeout(600)
@pytest.mark.parametrize("backend", SCHEDULERS)
def test_a_gpu_pool_beside_a_cpu_pool(gpu_and_cpu_pools, backend: str) -> None:
    proj_dir, jobs, out = gpu_and_cpu_pools[backend]  # submitted side by side with the other scheduler's
    gpu_jobs = GPU_JOBS
    assert out.returncode == 0, out.stderr
    assert "pool 1x1G+1gpu: submitted job array" in out.stdout, out.stdout
    wait_for(lambda: _ended(proj_dir, len(jobs)), timeout_s=300, what="every job to end")
    assert ProjectState(proj_dir).refresh().counts()["done"] == len(jobs)
    leases = list_leases(proj_dir)
    gpus = {w: int((lease.get("resources") or {}).get("gpus", 0)) for w, lease in leases.items()}
    assert sorted(gpus.values()) == [0, 0, 1], gpus  # the scheduler ran the GPU array with its GPU
    claims = _claims(proj_dir)
    assert all(gpus[w] == 1 for w, js in claims if set(js) & gpu_jobs)  # no GPU job on a CPU worker
    on_gpu = [j for w, js in claims if gpus[w] == 1 for j in js]
    assert set(on_gpu[: len(gpu_jobs)]) == gpu_jobs, on_gpu  # no CPU job on the GPU worker while GPU jobs waited
    scripts = "".join(p.read_text() for p in (proj_dir / backend).glob("workers-*.sh"))
    asked = "#SBATCH --gres=gpu:1" if backend == "slurm" else "-l gpu=1"
    assert asked in scripts and "--resource gpus=1" in scripts
    assert audit_logs(proj_dir, save=False).ok


def _start_short_and_long_pools(backend: str, root: Path) -> Started:
    # 1-minute allocations compute 45 s; 3-minute ones 135 s. Job 0 is declared 65 s (the <= 2 min class: the
    # long pool's from the start); job 1 50 s (the <= 1 min class, too long for 45 s: a short worker moves it).
    # Where a job goes is decided by its declared time; each sleeps 5 s, which keeps the test short.
    jobs = [{"i": 0, "seconds": 5.0, "expected_s": 65.0}, {"i": 1, "seconds": 5.0, "expected_s": 50.0}]
    jobs += [{"i": i, "seconds": 0.5} for i in range(2, 22)]
    Project.create(root, jobs, RUNNER, time_key="expected_s")
    out = _cli("submit", str(root), "--backend", backend, "--pool", "2x1G@0:01:00", "--pool", "1x1G@0:03:00",
               "--until-done", "--max-allocations", "4")
    return Started(root, jobs, out)


short_and_long_pools = side_by_side_fixture("short_and_long_pools", _start_short_and_long_pools)


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("backend", SCHEDULERS)
def test_long_jobs_move_to_the_long_pool(short_and_long_pools, backend: str) -> None:
    proj_dir, jobs, out = short_and_long_pools[backend]  # submitted side by side with the other scheduler's
    assert out.returncode == 0, out.stderr
    wait_for(lambda: _ended(proj_dir, len(jobs)), timeout_s=400, what="every job to end")
    state = ProjectState(proj_dir).refresh()
    assert state.counts()["done"] == len(jobs), state.counts()
    limits = {w: float(lease["until"]) - float(lease["started"]) for w, lease in list_leases(proj_dir).items()}
    runs = {j: w for w, js in _claims(proj_dir) for j in js}  # the last claim of each job: the run that ended
    assert limits[runs[0]] > 60 and limits[runs[1]] > 60, (runs[0], runs[1], limits)  # both ran in the long pool
    assert state.lost_runs(1) == 0  # a move for time never burns max_attempts
    check = _cli("check", str(proj_dir))
    assert check.returncode == 0, check.stdout


@pytest.mark.timeout(400)
@pytest.mark.parametrize("backend", SCHEDULERS)
def test_a_job_no_pool_has_time_for_ends_saying_what_it_needs(proj_dir: Path, backend: str) -> None:
    require_scheduler(backend)
    jobs = [{"i": 0, "seconds": 50.0, "expected_s": 50.0}] + [{"i": i, "seconds": 0.5} for i in range(1, 11)]
    Project.create(proj_dir, jobs, RUNNER, time_key="expected_s")
    out = _cli("submit", str(proj_dir), "--backend", backend, "--pool", "2x1G@0:01:00")
    assert out.returncode == 0, out.stderr
    wait_for(lambda: _ended(proj_dir, len(jobs)), timeout_s=200, what="every job to end")
    state = ProjectState(proj_dir).refresh()
    assert state.counts()["done"] == 10 and state.state_of(0) == "failed", state.counts()
    status = _cli("status", str(proj_dir)).stdout
    assert "1 job(s) failed for want of time: job 0 needs more than 0:4" in status, status
    assert "benchgrid submit" in status and "--pool 1x4G@" in status and "--expired" in status, status
