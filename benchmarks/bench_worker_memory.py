"""A worker's memory does not grow with the number of jobs (issue 25): peak RSS after 10k, 100k and 1M jobs.

Usage::

    python benchmarks/bench_worker_memory.py                  # a 1,000,000-job no-op project in a temp folder
    python benchmarks/bench_worker_memory.py --jobs 200000    # smaller

One project of ``--jobs`` no-op jobs; one ``benchgrid work`` process runs
``--max-jobs`` of them for each step (10k, 100k, then the rest), each a fresh
process, and its peak resident memory (``ru_maxrss`` of the child) is printed
with the jobs it ran. The project's table grows with N; a worker reads it a
claim's rows at a time, so its peak should not.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=1_000_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        proj = Path(tmp) / "proj"
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import sys; import benchgrid as bg; "
                        "bg.Project.create(sys.argv[1], [{'i': i} for i in range(int(sys.argv[2]))], "
                        "'benchgrid.worker._noop:noop')", str(proj), str(args.jobs)], check=True, cwd=ROOT)
        print(f"created {args.jobs:,} jobs in {time.perf_counter() - t:.1f} s")
        steps = [n for n in (10_000, 100_000) if n < args.jobs]
        done = 0
        for n in [*steps, None]:
            cmd = [sys.executable, "-m", "benchgrid", "work", str(proj)]
            run_n = (n - done) if n is not None else args.jobs - done
            cmd += ["--max-jobs", str(run_n)]
            t = time.perf_counter()
            proc = subprocess.Popen(cmd, cwd=ROOT, stderr=subprocess.DEVNULL)
            _pid, status, usage = os.wait4(proc.pid, 0)  # this child's own peak, not the largest child's
            proc.returncode = os.waitstatus_to_exitcode(status)
            if proc.returncode:
                raise SystemExit(f"the worker failed with exit code {proc.returncode}")
            done += run_n
            print(f"worker ran {run_n:>9,} jobs (jobs {done - run_n:,}..{done - 1:,} of {args.jobs:,}) in "
                  f"{time.perf_counter() - t:6.1f} s: peak RSS {usage.ru_maxrss / 1024:6.1f} MB")


if __name__ == "__main__":
    main()
