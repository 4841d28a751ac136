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
  worker-seconds: the run time of the jobs done over the allocations' time,
  by the ledger (each worker's process start to its decision) and by
  ``squeue`` (each task's start to the last sample that saw it running);
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
from benchgrid.store import PoolLedger, ProjectState, read_records

ROOT = Path(__file__).resolve().parent.parent


def jobs(n: int, min_s: float, max_s: float, n_long: int) -> list[dict]:
    rng = random.Random(0)
    out = [{"i": i, "seconds": round(min_s * (max_s / min_s) ** rng.random(), 3)} for i in range(n)]
    for k in range(n_long):
        out.insert(1 + k * 7, {"i": n + k, "seconds": float(rng.randint(70, 100))})
    return out


def cli(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "benchgrid", *args], check=True, cwd=ROOT, capture_output=True)


class Sampler:
    """The pool's tasks as ``squeue`` lists them, twice a second: live + pending, and when each ran.

    ``most_listed`` counts every task listed; ``most_live`` leaves out tasks
    whose worker has recorded its end in the ledger (it has handed back its
    jobs and decided; the scheduler lists it for the moment it takes to exit).
    ``ran`` maps a task to (its start by SLURM, the last time it was seen running).
    """

    def __init__(self, name: str, ledger: PoolLedger):
        self.name, self.ledger = name, ledger
        self.most_listed = self.most_live = 0
        self.ran: dict[str, list[float]] = {}

    def sample(self) -> int:
        out = subprocess.run(["squeue", "-h", "-r", "--name", self.name, "-o", "%i %T %S"], capture_output=True,
                             text=True, timeout=60).stdout
        listed, now = set(), time.time()
        for line in out.splitlines():
            task, phase, start = line.split()
            listed.add(task)
            if phase in ("RUNNING", "COMPLETING"):
                first = time.mktime(time.strptime(start, "%Y-%m-%dT%H:%M:%S"))
                self.ran.setdefault(task, [first, now])[1] = now
        live = listed - self.ledger.read().ending_tasks
        self.most_listed, self.most_live = max(self.most_listed, len(listed)), max(self.most_live, len(live))
        return len(live)

    def allocated_s(self) -> float:
        return sum(last - first for first, last in self.ran.values())


def run_chain(folder: Path, grid: list[dict], n_workers: int) -> dict[str, float]:
    proj = folder / "chain"
    bg.Project.create(proj, grid, "tests.runners.jobs:sleep")
    slurm = get_backend("slurm")
    name = pool_job_name(slurm, proj, "p0")  # type: ignore[arg-type]
    ledger = PoolLedger(proj, "p0")
    sampler = Sampler(name, ledger)
    t0 = time.time()
    cli("submit", str(proj), "--workers", str(n_workers), "--time", "1", "--until-done", "--max-allocations", "500")
    while True:
        live = sampler.sample()
        counts = ProjectState(proj).refresh().counts()
        if counts["pending"] + counts["queued"] + counts["running"] == 0 and not live:
            break
        time.sleep(0.5)
    makespan = time.time() - t0
    state = ledger.read()
    busy = sum(float(r["t1"]) - float(r["t0"]) for _j, (_a, _w, r) in ProjectState(proj).refresh().final.items()
               if r.get("op") == "done")
    handed_back = 0.0  # runs cut at an allocation's limit: the long jobs' (and a few short ones at the deadline)
    for log in (proj / "workers").glob("*/events.log"):
        records, _ = read_records(log)
        handed_back += sum(float(r["t1"]) - float(r["t0"]) for r in records
                           if r.get("op") == "handback" and r.get("t0") is not None)
    return {"makespan_s": makespan, "generations": state.generation, "allocations": state.n_submitted,
            "most_live": sampler.most_live, "most_listed": sampler.most_listed, "busy_s": busy,
            "allocated_s": state.worker_s, "squeue_s": sampler.allocated_s(), "done": counts["done"],
            "failed": counts["failed"], "ended_busy_s": state.busy_s, "handed_back_s": handed_back}


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
    ap.add_argument("--dir", help="keep the two projects in this folder (default: a temporary one)")
    ap.add_argument("--chain-only", action="store_true", help="skip the submission by hand")
    args = ap.parse_args()
    grid = jobs(args.jobs, args.min_s, args.max_s, args.long)
    work = sum(j["seconds"] for j in grid)
    print(f"{len(grid)} jobs, {work:.0f} s of work ({args.long} of 70-100 s), W = {args.workers}, 1-minute allocations")
    with tempfile.TemporaryDirectory() as tmp:
        if args.dir:
            tmp = args.dir
            Path(tmp).mkdir(parents=True, exist_ok=False)
        chain = run_chain(Path(tmp), grid, args.workers)
        print(f"chain:   makespan {chain['makespan_s']:.0f} s, {chain['generations']} generations, "
              f"{chain['allocations']} allocations, most live + pending {chain['most_live']} "
              f"({chain['most_listed']} listed, ending ones included), "
              f"{chain['done']} done, {chain['failed']} failed (too long for the allocations)")
        print(f"         busy / allocated {chain['busy_s'] / max(chain['allocated_s'], 1e-9):.0%} "
              f"({chain['busy_s']:.0f} s in jobs done / {chain['allocated_s']:.0f} worker-s by the ledger: "
              f"process start to decision); by squeue's start and last sighting "
              f"{chain['busy_s'] / max(chain['squeue_s'], 1e-9):.0%} ({chain['squeue_s']:.0f} s)")
        rest = chain["allocated_s"] - chain["handed_back_s"]
        print(f"         runs handed back at an allocation's limit: {chain['handed_back_s']:.0f} worker-s; "
              f"busy / the rest {chain['busy_s'] / max(rest, 1e-9):.0%} ({chain['busy_s']:.0f} / {rest:.0f})")
        if args.chain_only:
            return
        hand = run_by_hand(Path(tmp), grid, args.workers)
        print(f"by hand: one submission: {hand['done']} done, {hand['left']} left undone when its allocations ended")


if __name__ == "__main__":
    main()
