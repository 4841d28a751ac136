"""Claim throughput of this checkout and another, side by side: no-op jobs drained by real workers.

Usage::

    git -C /work/main archive HEAD src | tar -x -C /tmp/main        # the checkout to compare with
    python benchmarks/bench_claims_before.py --before /tmp/main/src --jobs 100000 --workers 2 --repeats 5

Each trial is a fresh project of no-op jobs drained by ``--workers`` real
``benchgrid work`` processes, in a child Python whose PYTHONPATH starts with
the checkout's ``src`` (its workers inherit it). The two checkouts take turns
(which goes first alternates each round), so a load that comes and goes on a
shared machine falls on both; the rate is jobs divided by the time from the
first claim to the last result, read from the records (start-up excluded), and
the median of the rounds is printed with every round's figure.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()
THIS_SRC = str(HERE.parents[1] / "src")


def trial(root: Path, n_jobs: int, n_workers: int) -> dict[str, float]:
    """Drain one fresh project; the rate from the records and the wall seconds (run in the child)."""
    import benchgrid as bg
    from benchgrid.store import read_records

    bg.Project.create(root, [{"i": i} for i in range(n_jobs)], "benchgrid.worker._noop:noop")
    t0 = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-m", "benchgrid", "work", str(root)], stderr=subprocess.DEVNULL)
             for _ in range(n_workers)]
    for p in procs:
        p.wait()
    wall = time.perf_counter() - t0
    claims, _ = read_records(root / "queue" / "claims.log")
    first = min(r["t"] for r in claims if r["op"] == "claim")
    last, n_done = 0.0, 0
    for d in (root / "workers").iterdir():
        events, _ = read_records(d / "events.log")
        n_done += sum(1 for e in events if e["op"] == "done")
        last = max([last, *(e["t1"] for e in events)])
    if n_done != n_jobs:
        raise SystemExit(f"{n_done} of {n_jobs} jobs done")
    return {"rate": n_jobs / (last - first), "wall": wall, "src": os.path.dirname(os.path.dirname(bg.__file__))}


def run_in(src: str, root: Path, n_jobs: int, n_workers: int) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")])))
    out = subprocess.run([sys.executable, str(HERE), "--trial", str(root), str(n_jobs), str(n_workers)],
                         env=env, check=True, capture_output=True, text=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    if os.path.realpath(result["src"]) != os.path.realpath(src):
        raise SystemExit(f"the trial imported benchgrid from {result['src']!r}, not {src!r}")
    shutil.rmtree(root)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", metavar="SRC", help="the other checkout's src/ folder (required)")
    ap.add_argument("--jobs", type=int, default=100_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--trial", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.trial:
        print(json.dumps(trial(Path(args.trial[0]), int(args.trial[1]), int(args.trial[2]))))
        return
    if not args.before:
        ap.error("--before SRC is required")
    sides = {"this": THIS_SRC, "before": args.before}
    rates: dict[str, list[float]] = {k: [] for k in sides}
    folder = Path(tempfile.mkdtemp(prefix="bench-claims-before-"))
    print(f"{args.jobs:,} no-op jobs, {args.workers} workers; jobs/s from first claim to last result", flush=True)
    for r in range(args.repeats):
        order = list(sides) if r % 2 == 0 else list(sides)[::-1]
        for name in order:
            res = run_in(sides[name], folder / f"{name}-{r}", args.jobs, args.workers)
            rates[name].append(res["rate"])
            print(f"round {r + 1} {name:>6}: {res['rate']:>8,.0f} jobs/s, wall {res['wall']:.1f} s, "
                  f"load {os.getloadavg()[0]:.1f}", flush=True)
    for name in sides:
        print(f"{name:>6} ({sides[name]}): median {statistics.median(rates[name]):,.0f} jobs/s "
              f"(min {min(rates[name]):,.0f}, max {max(rates[name]):,.0f})")
    ratio = statistics.median(rates["this"]) / statistics.median(rates["before"])
    print(f"this / before: {ratio:.3f}")
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
