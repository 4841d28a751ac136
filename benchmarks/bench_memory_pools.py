"""Memory per job: one big pool, one small pool, or two pools with memory-aware claiming.

Usage::

    python benchmarks/bench_memory_pools.py            # 400 jobs, 20 small workers
    python benchmarks/bench_memory_pools.py --jobs 200 --small-workers 10

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


def make(root: Path, n_jobs: int, declared: bool) -> None:
    jobs = []
    for i in range(n_jobs):
        big = i % 33 == 0  # 3%
        job = {"i": i, "mb": 800 if big else 50, "step_mb": 50, "step_s": 0.03 if big else 0.5}
        job["mem_gb"] = (0.8 if big else 0.05) if declared else 0.05
        jobs.append(job)
    bg.Project.create(root, jobs, RUNNER, memory_key="mem_gb", lease_s=30)


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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=400)
    ap.add_argument("--small-workers", type=int, default=20)
    ap.add_argument("--big-workers", type=int, default=2)
    args = ap.parse_args()
    w = args.small_workers
    cases = [
        ("(a) one pool sized for the largest", [(w, 16 * UNIT_GB)], True),
        ("(b) one small pool, retries", [(w, UNIT_GB)], False),
        ("(c) two pools, memory-aware", [(w, UNIT_GB), (args.big_workers, 16 * UNIT_GB)], True),
    ]
    print(f"load average {os.getloadavg()[0]:.1f}; {args.jobs} jobs, 3% need 16x; 1 unit = {UNIT_GB} GB")
    print("| case | workers | makespan s | reserved GB·h | done | not done | workers stopped by the guard |")
    print("|---|---|---|---|---|---|---|")
    results = {}
    for name, pools, declared in cases:
        tmp = Path(tempfile.mkdtemp())
        try:
            make(tmp / "p", args.jobs, declared)
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
