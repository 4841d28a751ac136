"""Load balance on heterogeneous jobs: makespan / lower bound, three ways, side by side.

Usage::

    python benchmarks/bench_load_balance.py                # W = 2, 4, 8; 3 repeats
    python benchmarks/bench_load_balance.py --workers 2 --total-s 20 --repeats 1

Jobs sleep for log-normal durations (sigma 1, plus a few very long ones),
scaled so the total is ``--total-s`` seconds of work per worker count... per
worker: each W gets ``total_s * W / 2`` seconds in all, so every run lasts
about ``total_s / 2`` seconds. Three ways to run the same jobs:

- benchgrid, job table ordered longest first;
- benchgrid, job table in random order;
- static chunking: each worker gets a fixed contiguous share of the random
  order up front (equal job counts), as ``joblib``/array jobs without
  load balancing do.

The lower bound is max(total/W, longest job); makespan is the time from the
first job start to the last job end, from the recorded timestamps. Sleeping
jobs use no CPU, so 8 workers on 2 cores measure scheduling, not CPU contention.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

import benchgrid as bg


def durations(n_jobs: int, total_s: float, rng: np.random.Generator) -> list[float]:
    d = rng.lognormal(mean=0.0, sigma=1.0, size=n_jobs)
    d[rng.choice(n_jobs, size=3, replace=False)] *= 8  # a few very long jobs
    d *= total_s / d.sum()
    return [round(float(x), 4) for x in d]


def makespan_ratio(df, n_workers: int, secs: list[float]) -> float:
    makespan = (df.ended_at.max() - df.started_at.min()).total_seconds()  # UTC datetimes
    lower = max(sum(secs) / n_workers, max(secs))
    return float(makespan / lower)


def run_benchgrid(folder: Path, secs: list[float], n_workers: int, name: str) -> float:
    root = folder / name
    proj = bg.Project.create(root, [{"i": i, "seconds": s} for i, s in enumerate(secs)],
                             "benchgrid.worker._sleep:sleep", lock="lease")
    procs = [subprocess.Popen([sys.executable, "-m", "benchgrid", "work", str(root)], stderr=subprocess.DEVNULL)
             for _ in range(n_workers)]
    for p in procs:
        p.wait()
    df = proj.results()
    assert (df.state == "done").all()
    ratio = makespan_ratio(df, n_workers, secs)
    shutil.rmtree(root)
    return ratio


STATIC = """
import sys, time, json
secs = json.loads(sys.argv[1])
t0 = time.time()
for s in secs:
    time.sleep(s)
print(json.dumps([t0, time.time()]))
"""


def run_static(secs: list[float], n_workers: int) -> float:
    import json

    chunks = np.array_split(np.array(secs), n_workers)
    procs = [subprocess.Popen([sys.executable, "-c", STATIC, json.dumps(c.tolist())], stdout=subprocess.PIPE, text=True)
             for c in chunks]
    spans = [json.loads(p.communicate()[0]) for p in procs]
    makespan = max(s[1] for s in spans) - min(s[0] for s in spans)
    return makespan / max(sum(secs) / n_workers, max(secs))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", type=int, nargs="+", default=[2, 4, 8])
    ap.add_argument("--jobs", type=int, default=200)
    ap.add_argument("--total-s", type=float, default=20.0, help="seconds of work per worker (run length)")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-balance-"))
    print(f"{args.jobs} jobs, log-normal durations, ~{args.total_s:.0f} s of work per worker; "
          "makespan / max(total/W, longest job), median of repeats")
    print(f"{'W':>3} {'longest-first':>14} {'unordered':>10} {'static chunks':>14}")
    for w in args.workers:
        cells: dict[str, list[float]] = {"sorted": [], "random": [], "static": []}
        for r in range(args.repeats):
            rng = np.random.default_rng(1000 * w + r)
            secs = durations(args.jobs, args.total_s * w, rng)
            order = rng.permutation(len(secs))
            shuffled = [secs[i] for i in order]
            cells["sorted"].append(run_benchgrid(folder, sorted(secs, reverse=True), w, f"s{w}{r}"))
            cells["random"].append(run_benchgrid(folder, shuffled, w, f"r{w}{r}"))
            cells["static"].append(run_static(shuffled, w))
        med = {k: statistics.median(v) for k, v in cells.items()}
        print(f"{w:>3} {med['sorted']:>14.3f} {med['random']:>10.3f} {med['static']:>14.3f}", flush=True)
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
