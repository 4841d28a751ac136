"""Throughput of no-op jobs (claim + run + record): benchgrid vs the source's protocol.

Usage::

    python benchmarks/bench_claims.py                 # 1k, 10k, 100k, 1M jobs; 1, 2, 8 workers
    python benchmarks/bench_claims.py --sizes 1000 10000 --workers 2

For each table size and worker count, a fresh project of no-op jobs is
drained by real worker processes in the default lock mode; the rate is jobs
divided by the time from the first claim to the last result (read from the
records, so process start-up is excluded; the wall time including start-up
is printed too). The source's protocol runs side by side in the same
process tree for a fixed time per size (it would take hours to drain
100,000 jobs) and reports claims per second.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchgrid as bg  # noqa: E402
from benchgrid.store import read_records  # noqa: E402  (public: the script also runs against other checkouts)


def drain(root: Path, n_jobs: int, n_workers: int, lock: str) -> tuple[float, float]:
    """Jobs/s from the records and wall seconds, for one fresh project."""
    proj = bg.Project.create(root, [{"i": i} for i in range(n_jobs)], "benchgrid.worker._noop:noop", lock=lock)
    t0 = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-m", "benchgrid", "work", str(root)], stderr=subprocess.DEVNULL)
             for _ in range(n_workers)]
    for p in procs:
        p.wait()
    wall = time.perf_counter() - t0
    claims, _ = read_records(root / "queue" / "claims.log")
    first = min(r["t"] for r in claims if r["op"] == "claim")
    last = 0.0
    n_done = 0
    for d in (root / "workers").iterdir():
        events, _ = read_records(d / "events.log")
        n_done += sum(1 for e in events if e["op"] == "done")
        last = max([last, *(e["t1"] for e in events)])
    assert n_done == n_jobs, (n_done, n_jobs)
    shutil.rmtree(root)
    del proj
    return n_jobs / (last - first), wall


def source_rate(folder: Path, n_jobs: int, n_workers: int, seconds: float) -> float:
    from _source_protocol import write_table

    table = folder / f"source-{n_jobs}.csv"
    write_table(table, n_jobs)
    script = Path(__file__).resolve().parent / "_source_protocol.py"
    procs = [subprocess.Popen([sys.executable, str(script), str(table), str(seconds), f"w{i}"],
                              stdout=subprocess.PIPE, text=True) for i in range(n_workers)]
    total = sum(int(p.communicate()[0]) for p in procs)
    table.unlink()
    return total / seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000, 1_000_000])
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2, 8])
    ap.add_argument("--repeats", type=int, default=3, help="runs per cell below 1M jobs (median reported)")
    ap.add_argument("--lock", default="lease")
    ap.add_argument("--source-seconds", type=float, default=5.0)
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-claims-"))
    print(f"lock={args.lock}; jobs/s from first claim to last result (median of runs); wall s incl. start-up")
    print(f"{'jobs':>9} {'workers':>7} {'benchgrid jobs/s':>17} {'wall s':>8} {'source claims/s':>16} {'ratio':>8}")
    rates_2w: dict[int, float] = {}
    for n in args.sizes:
        for w in args.workers:
            repeats = 1 if n >= 1_000_000 else args.repeats
            runs = [drain(folder / f"p{n}-{w}-{r}", n, w, args.lock) for r in range(repeats)]
            rate = statistics.median(r[0] for r in runs)
            wall = statistics.median(r[1] for r in runs)
            src = source_rate(folder, n, w, args.source_seconds) if n <= 100_000 else float("nan")
            if w == 2:
                rates_2w[n] = rate
            print(f"{n:>9,} {w:>7} {rate:>17,.0f} {wall:>8.1f} {src:>16,.1f} {rate / src:>8,.0f}x", flush=True)
    if len(rates_2w) > 1:
        lo, hi = min(rates_2w), max(rates_2w)
        print(f"2 workers: rate at {hi:,} jobs / rate at {lo:,} jobs = {rates_2w[hi] / rates_2w[lo]:.2f}")
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
