"""A campaign longer than its allocations: a self-sustaining pool against one submission by hand (issue 21).

Usage::

    scripts/slurm-local start                           # as root, once
    python benchmarks/bench_campaign.py                 # 1,000 jobs of 0.05-5 s and 4 of 70-100 s, W = 4, --time 1
    python benchmarks/bench_campaign.py --jobs 300 --max-s 2 --long 2   # smaller

Two projects with the same jobs (sleeps of ``--min-s``..``--max-s`` seconds,
log-uniform, seed 0, plus ``--long`` jobs of 70-100 s placed early):

- **chain**: ``submit --workers W --time 1 --until-done``; measured until every
  job has ended (the long ones end "needs more than ...", the allocations
  being 1 minute): makespan, generations, allocations, the largest live +
  pending seen in ``squeue`` (sampled twice a second), and busy / allocated
  worker-seconds (the jobs' run time over the allocations' run time, from the
  ledger and the records);
- **by hand**: ``submit --workers W --time 1`` once; what is left undone when
  its allocations have ended.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import benchgrid as bg
from benchgrid.backends import get_backend
from benchgrid.backends._pools import pool_job_name
from benchgrid.store import PoolLedger, ProjectState

ROOT = Path(__file__).resolve().parent.parent


def jobs(n: int, min_s: float, max_s: float, n_long: int) -> list[dict]:
    rng = random.Random(0)
    out = [{"i": i, "seconds": round(min_s * (max_s / min_s) ** rng.random(), 3)} for i in range(n)]
    for k in range(n_long):
        out.insert(1 + k * 7, {"i": n + k, "seconds": float(rng.randint(70, 100))})
    return out


def cli(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "benchgrid", *args], check=True, cwd=ROOT, capture_output=True)


def run_chain(folder: Path, grid: list[dict], n_workers: int) -> dict[str, float]:
    proj = folder / "chain"
    bg.Project.create(proj, grid, "tests.runners.jobs:sleep")
    slurm = get_backend("slurm")
    name = pool_job_name(slurm, proj, "p0")  # type: ignore[arg-type]
    t0 = time.time()
    cli("submit", str(proj), "--workers", str(n_workers), "--time", "1", "--until-done", "--max-allocations", "500")
    ledger, most = PoolLedger(proj, "p0"), 0
    while True:
        live = {row.job_id for row in slurm.named_tasks(name)} - ledger.read().ending_tasks  # type: ignore[attr-defined]
        most = max(most, len(live))
        counts = ProjectState(proj).refresh().counts()
        if counts["pending"] + counts["queued"] + counts["running"] == 0 and not live:
            break
        time.sleep(0.5)
    makespan = time.time() - t0
    state = ledger.read()
    busy = sum(float(r["t1"]) - float(r["t0"]) for _j, (_a, _w, r) in ProjectState(proj).refresh().final.items())
    return {"makespan_s": makespan, "generations": state.generation, "allocations": state.n_submitted,
            "most_live": most, "busy_s": busy, "allocated_s": state.worker_s, "done": counts["done"],
            "failed": counts["failed"]}


def run_by_hand(folder: Path, grid: list[dict], n_workers: int) -> dict[str, float]:
    proj = folder / "by-hand"
    bg.Project.create(proj, grid, "tests.runners.jobs:sleep")
    cli("submit", str(proj), "--workers", str(n_workers), "--time", "1")
    slurm = get_backend("slurm")
    while any(row.phase != "ended" for row in slurm.workers(proj)):
        time.sleep(1)
    counts = ProjectState(proj).refresh().counts()
    return {"done": counts["done"], "left": counts["pending"] + counts["queued"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=1000)
    ap.add_argument("--min-s", type=float, default=0.05)
    ap.add_argument("--max-s", type=float, default=5.0)
    ap.add_argument("--long", type=int, default=4)
    ap.add_argument("--workers", type=int, default=4)
    args = ap.parse_args()
    grid = jobs(args.jobs, args.min_s, args.max_s, args.long)
    work = sum(j["seconds"] for j in grid)
    print(f"{len(grid)} jobs, {work:.0f} s of work ({args.long} of 70-100 s), W = {args.workers}, 1-minute allocations")
    with tempfile.TemporaryDirectory() as tmp:
        chain = run_chain(Path(tmp), grid, args.workers)
        print(f"chain:   makespan {chain['makespan_s']:.0f} s, {chain['generations']} generations, "
              f"{chain['allocations']} allocations, most live + pending {chain['most_live']}, "
              f"busy / allocated {chain['busy_s'] / max(chain['allocated_s'], 1e-9):.0%} "
              f"({chain['busy_s']:.0f} / {chain['allocated_s']:.0f} worker-s), "
              f"{chain['done']} done, {chain['failed']} failed (too long for the allocations)")
        hand = run_by_hand(Path(tmp), grid, args.workers)
        print(f"by hand: one submission: {hand['done']} done, {hand['left']} left undone when its allocations ended")


if __name__ == "__main__":
    main()
