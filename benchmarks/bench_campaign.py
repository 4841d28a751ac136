"""A campaign longer than its allocations: self-sustaining pools with and without time classes (issue 21).

Usage::

    scripts/slurm-local start                           # as root, once
    python benchmarks/bench_campaign.py                 # the three variants below, one after the other
    python benchmarks/bench_campaign.py --variants declared two-pools --jobs 300 --max-s 2 --long 2   # smaller

The same jobs in every variant: sleeps of ``--min-s``..``--max-s`` seconds
(log-uniform, seed 0) and ``--long`` jobs of 70-100 s placed early. W =
``--workers`` workers in 1-minute allocations (45 s usable: the warning is a
quarter of limits shorter than 4 minutes), all ``submit --until-done``:

- **one-pool** (the baseline): no durations declared (no ``time_key``),
  ``--workers W --time 1``. The long jobs run to the limit before anything
  knows they are long, and end "needs more than ...";
- **declared**: the project's ``time_key`` is ``expected_s``, declared for the
  long jobs (``--declare long``, the default: the short ones unknown), all of
  them (``all``) or none (``none``: the column exists, every job unknown);
  one pool as in one-pool. A job declared longer than the 1-minute workers'
  45 s lands in a time class they may not claim;
- **two-pools**: as declared, plus a pool of longer allocations:
  ``--pool WxMEM@0:01:00 --pool <--long-pool>`` (default ``1x1G@0:03:00``);
  the long jobs go to the long pool.

Measured until every job has ended, or until no allocation is live or
pending and every pool's chain has stopped (jobs may then wait in a class no
pool may claim: reported as "left"): makespan, generations, allocations,
busy / allocated worker-seconds (busy: the run time of the jobs done;
allocated: each allocation from its process start to its decision, by the
pools' ledgers; and by ``squeue``, each task's start to the last sample that
saw it running), the same per pool from its ledger (its workers' time in
jobs that ended), the largest live + pending each pool had in ``squeue``
(sampled twice a second), the worker-seconds of runs handed back at a limit,
and jobs done / failed / left. ``--by-hand`` also submits the baseline's
workers once, without a chain, and counts what is left undone.
"""

from __future__ import annotations

import argparse
import json
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
VARIANTS = ("one-pool", "declared", "two-pools")
TIME_KEY = "expected_s"


def jobs(n: int, min_s: float, max_s: float, n_long: int) -> list[dict]:
    rng = random.Random(0)
    out = [{"i": i, "seconds": round(min_s * (max_s / min_s) ** rng.random(), 3)} for i in range(n)]
    for k in range(n_long):
        out.insert(1 + k * 7, {"i": n + k, "seconds": float(rng.randint(70, 100))})
    return out


def declared(grid: list[dict], which: str) -> list[dict]:
    """The jobs with their expected seconds in ``expected_s``: for the long ones (>= 60 s), all, or none."""
    if which == "none":
        return grid
    return [{**j, TIME_KEY: j["seconds"]} if which == "all" or j["seconds"] >= 60 else j for j in grid]


def cli(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "benchgrid", *args], check=True, cwd=ROOT, capture_output=True)


class Sampler:
    """A pool's tasks as ``squeue`` lists them: live + pending, and when each ran.

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
        live = listed - (self.ledger.read().ending_tasks if self.ledger.exists() else set())
        self.most_listed, self.most_live = max(self.most_listed, len(listed)), max(self.most_live, len(live))
        return len(live)

    def allocated_s(self) -> float:
        return sum(last - first for first, last in self.ran.values())


def submit_args(variant: str, n_workers: int, long_pool: str) -> list[str]:
    if variant == "two-pools":
        return ["--pool", f"{n_workers}x1G@0:01:00", "--pool", long_pool]
    return ["--workers", str(n_workers), "--time", "1"]


def run_campaign(folder: Path, grid: list[dict], variant: str, n_workers: int, declare: str, long_pool: str,
                 timeout_s: float) -> dict:
    proj = folder / variant
    if variant == "one-pool":
        bg.Project.create(proj, grid, "tests.runners.jobs:sleep")
    else:
        bg.Project.create(proj, declared(grid, declare), "tests.runners.jobs:sleep", time_key=TIME_KEY)
    args = ["submit", str(proj), *submit_args(variant, n_workers, long_pool), "--until-done", "--max-allocations", "500"]
    names = ["p0", "p1"] if variant == "two-pools" else ["p0"]
    slurm = get_backend("slurm")
    ledgers = {p: PoolLedger(proj, p) for p in names}
    samplers = {p: Sampler(pool_job_name(slurm, proj, p), ledgers[p]) for p in names}  # type: ignore[arg-type]
    t0 = time.time()
    cli(*args)
    quiet_since, end_why = None, "every job ended"
    while True:
        live = sum(s.sample() for s in samplers.values())
        counts = ProjectState(proj).refresh().counts()
        left = counts["pending"] + counts["queued"] + counts["stranded"]
        if not live and counts["running"] == 0:
            if left == 0:
                break
            if all(ledger.read().stopped for ledger in ledgers.values()):
                end_why = "every chain stopped, jobs left"
                break
            quiet_since = quiet_since or time.time()
            if time.time() - quiet_since > 60:
                end_why = "nothing live for 60 s, chains not stopped (broken?)"
                break
        else:
            quiet_since = None
        if time.time() - t0 > timeout_s:
            end_why = f"timed out after {timeout_s:.0f} s"
            break
        time.sleep(0.5)
    makespan = time.time() - t0
    state = ProjectState(proj).refresh()
    counts = state.counts()
    busy = sum(float(r["t1"]) - float(r["t0"]) for _j, (_a, _w, r) in state.final.items() if r.get("op") == "done")
    pools = {p: ledger.read() for p, ledger in ledgers.items()}
    pool_of = {str(r.get("worker")): p for p, st in pools.items() for r in st.ending if r.get("worker")}
    handed_back = {p: 0.0 for p in names}  # runs cut at an allocation's limit
    for log in (proj / "workers").glob("*/events.log"):
        records, _ = read_records(log)
        pool = pool_of.get(log.parent.name, names[0])
        handed_back[pool] += sum(float(r["t1"]) - float(r["t0"]) for r in records
                                 if r.get("op") == "handback" and r.get("t0") is not None and r.get("t1") is not None)
    reasons: dict[str, int] = {}
    for _job, (_a, why) in state.failed.items():
        short = why.split(";")[0]
        reasons[short] = reasons.get(short, 0) + 1
    per_pool = {p: {"generations": st.generation, "allocations": st.n_submitted, "ended": len(st.ending),
                    "worker_s": st.worker_s, "busy_s": st.busy_s, "jobs": st.jobs_done, "stopped": st.stopped,
                    "most_live": samplers[p].most_live, "most_listed": samplers[p].most_listed,
                    "squeue_s": samplers[p].allocated_s(), "handed_back_s": handed_back[p]} for p, st in pools.items()}
    return {"variant": variant, "command": "benchgrid " + " ".join(args), "makespan_s": makespan, "end": end_why,
            "busy_s": busy, "pools": per_pool, "done": counts["done"], "failed": counts["failed"],
            "left": counts["pending"] + counts["queued"] + counts["stranded"] + counts["running"], "reasons": reasons}


def run_by_hand(folder: Path, grid: list[dict], n_workers: int) -> dict[str, float]:
    proj = folder / "by-hand"
    bg.Project.create(proj, grid, "tests.runners.jobs:sleep")
    cli("submit", str(proj), "--workers", str(n_workers), "--time", "1")
    slurm = get_backend("slurm")
    while any(row.phase != "ended" for row in slurm.workers(proj)):
        time.sleep(1)
    counts = ProjectState(proj).refresh().counts()
    return {"done": counts["done"], "left": counts["pending"] + counts["queued"]}


def pct(a: float, b: float) -> str:
    return f"{a / b:.0%}" if b > 0 else "-"


def report(r: dict) -> None:
    pools = r["pools"].values()
    allocated = sum(p["worker_s"] for p in pools)
    squeue_s = sum(p["squeue_s"] for p in pools)
    handed = sum(p["handed_back_s"] for p in pools)
    print(f"{r['variant']}: {r['command']}")
    print(f"  makespan {r['makespan_s']:.0f} s ({r['end']}); {r['done']} done, {r['failed']} failed, {r['left']} left"
          + "".join(f"; failed {n}x: {why}" for why, n in r["reasons"].items()))
    print(f"  busy / allocated {pct(r['busy_s'], allocated)} ({r['busy_s']:.0f} s in jobs done / {allocated:.0f} "
          f"worker-s by the ledgers); by squeue {pct(r['busy_s'], squeue_s)} ({squeue_s:.0f} s); "
          f"handed back at a limit {handed:.0f} worker-s, busy / the rest {pct(r['busy_s'], allocated - handed)}")
    for name, p in r["pools"].items():
        print(f"  pool {name}: {p['generations']} generations, {p['allocations']} allocations ({p['ended']} ended), "
              f"busy / allocated {pct(p['busy_s'], p['worker_s'])} ({p['busy_s']:.0f} / {p['worker_s']:.0f} worker-s, "
              f"{p['jobs']} jobs; squeue {p['squeue_s']:.0f} s), handed back {p['handed_back_s']:.0f} worker-s, "
              f"most live + pending {p['most_live']} ({p['most_listed']} listed); stopped: {p['stopped']}")
    sys.stdout.flush()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=1000)
    ap.add_argument("--min-s", type=float, default=0.05)
    ap.add_argument("--max-s", type=float, default=5.0)
    ap.add_argument("--long", type=int, default=4)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    ap.add_argument("--declare", choices=("long", "all", "none"), default="long",
                    help="which jobs declare their expected seconds (time_key) in declared and two-pools")
    ap.add_argument("--long-pool", default="1x1G@0:03:00", help="two-pools: the second pool (a --pool of submit)")
    ap.add_argument("--timeout-s", type=float, default=3600.0, help="stop measuring a variant after this long")
    ap.add_argument("--dir", help="keep the projects in this folder (default: a temporary one)")
    ap.add_argument("--json", metavar="FILE", help="append each variant's figures to FILE, one JSON line each")
    ap.add_argument("--by-hand", action="store_true", help="also submit the baseline once by hand (no chain)")
    args = ap.parse_args()
    grid = jobs(args.jobs, args.min_s, args.max_s, args.long)
    work = sum(j["seconds"] for j in grid)
    print(f"{len(grid)} jobs, {work:.0f} s of work ({args.long} of 70-100 s), W = {args.workers}, "
          f"1-minute allocations; declared: {args.declare}")
    with tempfile.TemporaryDirectory() as tmp:
        if args.dir:
            tmp = args.dir
            Path(tmp).mkdir(parents=True, exist_ok=True)
        for variant in args.variants:
            result = run_campaign(Path(tmp), grid, variant, args.workers, args.declare, args.long_pool, args.timeout_s)
            if args.json:
                with open(args.json, "a") as out:
                    out.write(json.dumps(result) + "\n")
            report(result)
        if args.by_hand:
            hand = run_by_hand(Path(tmp), grid, args.workers)
            print(f"by hand: one submission: {hand['done']} done, {hand['left']} left undone when its allocations ended")


if __name__ == "__main__":
    main()
