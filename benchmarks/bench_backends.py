"""The same project drained by every backend: time from launch to the last result.

Usage::

    python benchmarks/bench_backends.py                    # 300 jobs of 10 ms, 2 workers, 3 repeats
    python benchmarks/bench_backends.py --jobs 1000 --job-s 0 --repeats 5

For each backend registered (``debug``, ``local``, ``slurm``, ``sge``; a
scheduler that does not answer is left out with its reason), a fresh project
of ``--jobs`` jobs that sleep ``--job-s`` seconds (``tests.runners.jobs:sleep``;
run from the repository root) is run with ``--workers`` workers: local backends wait; schedulers submit
one array (``--time 5``) and the script polls ``proj.status()`` every 0.1 s
until every job has a result. Measured: wall seconds from the call that
launches until the last result, and, for schedulers, until the first result
(the scheduler's start latency plus one worker's start). Repeats go round the
backends in turn, rotating which goes first; medians are printed side by side.
Every run must end with every job done exactly once.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.runners importable

from benchgrid import Project  # noqa: E402
from benchgrid.backends import backend_names, get_backend  # noqa: E402


def missing(name: str) -> str | None:
    from tests.backends.conftest import scheduler_missing

    return scheduler_missing(name)


def one_run(root: Path, name: str, n_jobs: int, n_workers: int, job_s: float, k: int) -> tuple[float, float]:
    jobs = [{"i": i, "seconds": job_s} for i in range(n_jobs)]
    proj = Project.create(root / f"{name}-{k}", jobs, "tests.runners.jobs:sleep")
    backend = get_backend(name)
    t0 = time.perf_counter()
    first = float("nan")
    if backend.waits:
        proj.run(1 if name == "debug" else n_workers, backend=name, progress=False)
    else:
        proj.submit(n_workers, backend=name, time="5")
        while True:
            counts = proj.status().counts
            if counts["done"] and first != first:
                first = time.perf_counter() - t0
            if counts["done"] + counts["error"] + counts["failed"] == n_jobs:
                break
            if time.perf_counter() - t0 > 600:
                backend.cancel(proj.path)
                raise SystemExit(f"{name}: not done after 600 s: {counts}")
            time.sleep(0.1)
    total = time.perf_counter() - t0
    res = proj.results()
    assert list(res["state"]) == ["done"] * n_jobs and res["job_id"].is_unique, f"{name}: {res['state'].value_counts()}"
    return total, first


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=300)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--job-s", type=float, default=0.01)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    names = []
    for name in backend_names():
        why = None if get_backend(name).waits else missing(name)
        if why:
            print(f"# {name}: left out ({why})")
        else:
            names.append(name)
    root = Path(tempfile.mkdtemp(prefix="bench backends "))
    totals: dict[str, list[float]] = {n: [] for n in names}
    firsts: dict[str, list[float]] = {n: [] for n in names}
    try:
        for k in range(args.repeats):
            order = names[k % len(names):] + names[: k % len(names)]
            for name in order:
                total, first = one_run(root, name, args.jobs, args.workers, args.job_s, k)
                totals[name].append(total)
                firsts[name].append(first)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"# {args.jobs} jobs of {args.job_s} s, {args.workers} workers, median of {args.repeats}")
    print(f"{'backend':8} {'launch to last result (s)':>26} {'launch to first result (s)':>27}")
    for name in names:
        first = statistics.median(firsts[name])
        print(f"{name:8} {statistics.median(totals[name]):26.2f} {'-' if first != first else f'{first:.2f}':>27}")


if __name__ == "__main__":
    main()
