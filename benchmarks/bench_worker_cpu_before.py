"""CPU time of the worker loop on an ML grid, this checkout against another, side by side.

Usage::

    git -C /work/main archive HEAD src | tar -x -C /tmp/main        # the checkout to compare with
    python benchmarks/bench_worker_cpu_before.py --before /tmp/main/src --jobs 3000 --repeats 5
    python benchmarks/bench_worker_cpu_before.py --before /tmp/main/src --jobs 30000 --repeats 3

The grid of ``bench_ml_overhead.py`` (the demo's tasks scaled up, 2 learners,
SOAK with 18 iterations per task) is created, then drained by one worker loop
run in the trial's own process (``run(n_workers=0)``: the claim, run and
record code of a worker process), so the process's CPU time measures the loop
and the ML jobs, not its start-up and not the other processes of a shared
machine, whose load moves wall times by half (docs/performance.md). Each trial
is a child Python with the checkout's ``src`` first on PYTHONPATH; the two take
turns, which goes first alternating each round; medians.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()
THIS_SRC = str(HERE.parents[1] / "src")


def trial(n_tasks: int) -> dict[str, float | str]:
    """Create the grid and run one in-process worker loop over it (run in the child)."""
    sys.path.insert(0, str(HERE.parent))
    import benchgrid as bg
    from bench_ml_overhead import scaled_grid

    grid = scaled_grid(n_tasks)
    proj = bg.Project.create(Path(tempfile.mkdtemp()) / "p", grid.pop("tasks"), grid.pop("learners"),
                             grid.pop("cv"), **grid)  # fmt: skip
    t0, c0 = time.perf_counter(), time.process_time()
    status = proj.run(n_workers=0, progress=False)
    cpu, wall = time.process_time() - c0, time.perf_counter() - t0
    if status.counts["done"] != status.n_jobs:
        raise SystemExit(f"{status.counts} of {status.n_jobs} jobs")
    return {"cpu": cpu, "wall": wall, "n_jobs": status.n_jobs, "src": os.path.dirname(os.path.dirname(bg.__file__))}


def run_in(src: str, n_tasks: int) -> dict[str, float | str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")])))
    out = subprocess.run([sys.executable, str(HERE), "--trial", str(n_tasks)], env=env, check=True,
                         capture_output=True, text=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    if os.path.realpath(str(result["src"])) != os.path.realpath(src):
        raise SystemExit(f"the trial imported benchgrid from {result['src']!r}, not {src!r}")
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", metavar="SRC", help="the other checkout's src/ folder (required)")
    ap.add_argument("--jobs", type=int, default=3000, help="about this many jobs (36 per task)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--trial", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.trial:
        print(json.dumps(trial(args.trial)))
        return
    if not args.before:
        ap.error("--before SRC is required")
    n_tasks = max(1, round(args.jobs / 36))
    sides = {"this": THIS_SRC, "before": args.before}
    cpu: dict[str, list[float]] = {k: [] for k in sides}
    for r in range(args.repeats):
        for name in (list(sides) if r % 2 == 0 else list(sides)[::-1]):
            res = run_in(sides[name], n_tasks)
            cpu[name].append(float(res["cpu"]))
            print(f"round {r + 1} {name:>6}: {res['n_jobs']} jobs, worker loop {float(res['cpu']):.2f} s CPU, "
                  f"{float(res['wall']):.2f} s wall, load {os.getloadavg()[0]:.1f}", flush=True)
    for name in sides:
        print(f"{name:>6} ({sides[name]}): median {statistics.median(cpu[name]):.2f} s CPU "
              f"(min {min(cpu[name]):.2f}, max {max(cpu[name]):.2f})")
    print(f"this / before (CPU, medians): {statistics.median(cpu['this']) / statistics.median(cpu['before']):.3f}")


if __name__ == "__main__":
    main()
