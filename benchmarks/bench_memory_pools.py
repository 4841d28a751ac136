"""Memory per job: one big pool, one small pool, or two pools with memory-aware claiming.

Usage::

    python benchmarks/bench_memory_pools.py            # 400 jobs, 20 small workers
    python benchmarks/bench_memory_pools.py --jobs 200 --small-workers 10
    # pools submitted to a local SLURM that ENFORCES memory (OverMemoryKill), 8 CPUs declared:
    BENCHGRID_SLURM_CPUS=8 scripts/slurm-local start
    python benchmarks/bench_memory_pools.py --slurm --unit-gb 0.2 --small-workers 6 --big-workers 1

A simulated grid where 3% of the jobs need 16x the memory of the rest (real
allocations, touched page by page, held for about half a second), drained by
real local worker processes whose budgets (``--mem-gb``) are enforced by
benchgrid's memory guard (95% of the budget, resident size):

(a) one pool sized for the largest job: W workers x 16 units;
(b) one small pool (W workers x 1 unit), as when every array task must ask
    for the same memory and the big jobs are retried until they give up;
(c) two pools with memory-aware claiming: W x 1 unit and 2 x 16 units.

Reserved GB·hours are the sum over workers of budget x lifetime (what a
scheduler would reserve); makespan is from the first worker's start to the
last worker's end. One unit is 0.1 GB here (50 MB jobs, 800 MB big jobs), a
scale model of 2 GB / 32 GB jobs.

With ``--slurm`` the pools are ``benchgrid submit --pool NxMEM`` arrays on the
local SLURM, which kills a job over its ``--mem`` (``scripts/slurm-local``:
``CR_CPU_Memory``, ``OverMemoryKill``); reserved GB·hours and makespan come
from SLURM's own start and end times of each array task (``squeue -t all``)
times the memory SLURM allocated it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import benchgrid as bg  # noqa: E402

UNIT_GB = 0.1
RUNNER = "tests.runners.jobs:allocate_slowly"


def make(root: Path, n_jobs: int, declared: bool, unit_gb: float = UNIT_GB, lease_s: float = 30) -> None:
    """Small jobs use half a unit, big ones (3%) 8 units; ``declared``: the project knows which are big."""
    small_mb, big_mb = round(unit_gb * 500), round(unit_gb * 8000)
    jobs = []
    for i in range(n_jobs):
        big = i % 33 == 0  # 3%
        job = {"i": i, "mb": big_mb if big else small_mb, "step_mb": 50, "step_s": 0.03 if big else 0.5 * 50 / small_mb}
        job["mem_gb"] = (8 * unit_gb if big else 0.5 * unit_gb) if declared else 0.5 * unit_gb
        jobs.append(job)
    bg.Project.create(root, jobs, RUNNER, memory_key="mem_gb", lease_s=lease_s, code_path=[str(ROOT)])


def drain(root: Path, pools: list[tuple[int, float]], timeout_s: float) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    t0 = time.time()
    procs = []
    for n, gb in pools:
        for _ in range(n):
            procs.append((gb, subprocess.Popen(
                [sys.executable, "-m", "benchgrid", "work", str(root), "--mem-gb", str(gb)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)))
    reserved_gb_s = 0.0
    deadline = t0 + timeout_s
    guarded = 0
    for gb, p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        guarded += p.returncode == 75  # stopped by the memory guard
        reserved_gb_s += gb * (time.time() - t0)  # upper bound: each worker counted to its end
    makespan = time.time() - t0
    counts = bg.Project.open(root).status().counts
    return {"makespan_s": makespan, "gb_h": reserved_gb_s / 3600, "done": counts["done"], "guarded": guarded,
            "not_done": sum(v for k, v in counts.items() if k != "done")}


def _slurm_times(array_ids: list[str]) -> list[tuple[float, float, float]]:
    """(start, end, allocated GB) of every task of these arrays, from SLURM (``squeue -t all``)."""
    from datetime import datetime

    out = subprocess.run(["squeue", "-h", "-t", "all", "-r", "-j", ",".join(array_ids), "-o", "%S|%e|%m|%T"],
                         capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.splitlines():
        start, end, mem, _state = line.split("|")
        if start in ("N/A", "Unknown") or end in ("N/A", "Unknown"):
            continue
        gb = float(mem[:-1]) / (1024 if mem.endswith("M") else 1) if mem[-1] in "MG" else float(mem) / 1024
        rows.append((datetime.fromisoformat(start).timestamp(), datetime.fromisoformat(end).timestamp(), gb))
    return rows


def drain_slurm(root: Path, pools: list[tuple[int, float]], timeout_s: float) -> dict[str, float]:
    """Submit one array per pool to the local SLURM; wait until every task ended; SLURM's times and memory."""
    array_ids = []
    for n, gb in pools:
        out = subprocess.run([sys.executable, "-m", "benchgrid", "submit", str(root), "--pool", f"{n}x{gb:g}G@10"],
                             capture_output=True, text=True, check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
        array_ids += [w for w in out.stdout.split() if w.isdigit()][:1]
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        left = subprocess.run(["squeue", "-h", "-j", ",".join(array_ids), "-o", "%i"], capture_output=True, text=True)
        if not left.stdout.strip():
            break
        time.sleep(1)
    else:
        subprocess.run(["scancel", *array_ids])
        time.sleep(3)
    rows = _slurm_times(array_ids)
    counts = bg.Project.open(root).status().counts
    killed = sum(1 for p in (root / "slurm" / "logs").glob("*.out") if b"memory limit" in p.read_bytes())
    return {"makespan_s": max(e for _s, e, _g in rows) - min(s for s, _e, _g in rows),
            "gb_h": sum((e - s) * g for s, e, g in rows) / 3600, "done": counts["done"], "guarded": killed,
            "not_done": sum(v for k, v in counts.items() if k not in ("done", "dropped"))}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=400)
    ap.add_argument("--small-workers", type=int, default=20)
    ap.add_argument("--big-workers", type=int, default=2)
    ap.add_argument("--unit-gb", type=float, default=UNIT_GB, help="one memory unit (small workers get 1, big 16)")
    ap.add_argument("--slurm", action="store_true", help="submit the pools to the local SLURM (memory enforced)")
    args = ap.parse_args()
    w, unit = args.small_workers, args.unit_gb
    cases = [
        ("(a) one pool sized for the largest", [(w, 16 * unit)], True),
        ("(b) one small pool, retries", [(w, unit)], False),
        ("(c) two pools, memory-aware", [(w, unit), (args.big_workers, 16 * unit)], True),
    ]
    where = "pools on the local SLURM (memory enforced)" if args.slurm else "local workers (memory guard)"
    print(f"load average {os.getloadavg()[0]:.1f}; {args.jobs} jobs, 3% need 16x; 1 unit = {unit} GB; {where}")
    stopped = "workers killed by SLURM for memory" if args.slurm else "workers stopped by the guard"
    print(f"| case | workers | makespan s | reserved GB·h | done | not done | {stopped} |")
    print("|---|---|---|---|---|---|---|")
    results = {}
    for name, pools, declared in cases:
        tmp = Path(tempfile.mkdtemp())
        try:
            if args.slurm:
                make(tmp / "p", args.jobs, declared, unit, lease_s=5)
                r = drain_slurm(tmp / "p", pools, timeout_s=240 if name.startswith("(b)") else 900)
            else:
                make(tmp / "p", args.jobs, declared, unit)
                r = drain(tmp / "p", pools, timeout_s=120 if name.startswith("(b)") else 600)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        results[name[:3]] = r
        desc = " + ".join(f"{n}x{gb:g}G" for n, gb in pools)
        print(f"| {name} | {desc} | {r['makespan_s']:.1f} | {r['gb_h']:.4f} | {r['done']} | {r['not_done']} | {r['guarded']} |", flush=True)
    a, c = results["(a)"], results["(c)"]
    print(f"(c) vs (a): {a['gb_h'] / c['gb_h']:.1f}x less memory reserved, makespan ratio {c['makespan_s'] / a['makespan_s']:.2f}")


if __name__ == "__main__":
    main()
