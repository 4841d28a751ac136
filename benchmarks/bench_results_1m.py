"""``results()`` of a 1,000,000-job project: the first call of a fresh process, and a repeat call.

Usage::

    python benchmarks/bench_results_1m.py                      # makes /tmp/bench-1m once (about a minute)
    git archive 9b09f36 src | tar -x -C /tmp/before
    python benchmarks/bench_results_1m.py --before /tmp/before/src --repeats 3

The project (1,000,000 no-op jobs, drained by 2 workers) is made once and kept
in ``--dir``. Each trial is a fresh Python process that opens the project and
times ``results()`` twice (the second call reuses the project's incremental
reader); with ``--before`` an older benchgrid's source runs the same trial,
interleaved. Medians are printed, with the load average.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

TRIAL = """
import os, time, json
import pandas
import benchgrid as bg
p = bg.Project.open(os.environ["BENCH_DIR"])
c = time.process_time(); t = time.perf_counter(); df = p.results(); t1 = time.perf_counter(); c1 = time.process_time()
p.results(); t2 = time.perf_counter()
assert len(df) == int(os.environ["BENCH_N"]) and (df["state"] == "done").all()
print(json.dumps({"first_s": t1 - t, "first_cpu_s": c1 - c, "repeat_s": t2 - t1}))
"""


def make(path: Path, n: int) -> None:
    import benchgrid as bg

    if (path / "project.json").exists():
        return
    proj = bg.Project.create(path, [{"i": i} for i in range(n)], "benchgrid.worker._noop:noop")
    proj.run(n_workers=2, progress=False)


def trial(path: Path, n: int, src: str | None) -> dict[str, float]:
    import json

    env = {**os.environ, "BENCH_DIR": str(path), "BENCH_N": str(n)}
    if src:
        env["PYTHONPATH"] = src
    out = subprocess.run([sys.executable, "-c", TRIAL], env=env, capture_output=True, text=True, check=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default="/tmp/bench-1m")
    ap.add_argument("--jobs", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--before", help="src folder of an older benchgrid to time beside")
    args = ap.parse_args()
    path = Path(args.dir)
    make(path, args.jobs)
    who = {"benchgrid": None, **({"benchgrid-before": args.before} if args.before else {})}
    runs: dict[str, list[dict[str, float]]] = {k: [] for k in who}
    for r in range(args.repeats):
        print(f"round {r + 1}/{args.repeats}, load average {os.getloadavg()[0]:.2f}", flush=True)
        for name, src in who.items():
            res = trial(path, args.jobs, src)
            runs[name].append(res)
            print(f"    {name:17s} first {res['first_s']:.2f} s (CPU {res['first_cpu_s']:.2f}) repeat {res['repeat_s']:.2f} s",
                  flush=True)
    print(f"\nresults() of {args.jobs:,} jobs, medians of {args.repeats}")
    print("| | first call s | repeat call s |\n|---|---:|---:|")
    for name, rs in runs.items():
        print(f"| {name} | {statistics.median(x['first_s'] for x in rs):.2f} | {statistics.median(x['repeat_s'] for x in rs):.2f} |")


if __name__ == "__main__":
    main()
