"""What supervision costs and what it buys: `run` wall time, and how soon a killed worker's job comes back.

Usage::

    python benchmarks/bench_supervision.py                 # 3,000 noop jobs, 5 repeats
    python benchmarks/bench_supervision.py --n-jobs 1000 --repeats 3

Two figures, each side by side in one run (medians, interleaved so the
order favours neither side):

1. wall time of 2 workers on ``--n-jobs`` noop jobs: workers started and
   waited for as before (``benchgrid work`` x 2, no supervisor) vs
   ``Project.run(n_workers=2)`` with its supervisor;
2. seconds from a SIGKILL of the worker of ``run`` running a long job to
   that job's requeue record, written by the supervisor (before supervision,
   the job stayed "running" until ``lease_s`` passed and another worker
   looked: never within the same ``run``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import benchgrid as bg
from benchgrid.store.storage._layout import Layout
from benchgrid.store.storage._records import read_records

ROOT = Path(__file__).resolve().parent.parent
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def work_cmd(root: Path, name: str) -> list[str]:
    return [sys.executable, "-m", "benchgrid", "work", str(root), "--name", name]


def wall_unsupervised(root: Path) -> float:
    t0 = time.perf_counter()
    procs = [subprocess.Popen(work_cmd(root, f"w{i}"), stderr=subprocess.DEVNULL) for i in range(2)]
    for p in procs:
        p.wait()
    return time.perf_counter() - t0


def wall_supervised(root: Path) -> float:
    t0 = time.perf_counter()
    bg.Project.open(root).run(n_workers=2, progress=False)
    return time.perf_counter() - t0


def wait_for(pred, timeout_s: float = 120.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(0.01)
    raise TimeoutError


def requeue_t(root: Path) -> float | None:
    records = read_records(Layout(root).requeue)[0]
    return float(records[0]["t"]) if records else None


def kill_to_requeue(root: Path, markers: Path) -> float:
    """Seconds from SIGKILL of the worker running job 0 to job 0's requeue record."""
    runner = subprocess.Popen(
        [sys.executable, "-m", "benchgrid", "run", str(root), "--workers", "1", "--no-progress"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        marker = wait_for(lambda: sorted(markers.glob("started-0-1-*")))[0]
        victim = int(marker.name.rsplit("-", 1)[1])
        t_kill = time.time()
        os.kill(victim, signal.SIGKILL)
        t_back = wait_for(lambda: requeue_t(root))
        return t_back - t_kill
    finally:
        if runner.poll() is None:
            runner.send_signal(signal.SIGINT)
        runner.wait()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n-jobs", type=int, default=3000)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    walls: dict[str, list[float]] = {"unsupervised": [], "supervised": []}
    backs: list[float] = []
    try:
        for r in range(args.repeats):
            for kind, fn in ((("unsupervised", wall_unsupervised), ("supervised", wall_supervised)) if r % 2 == 0
                             else (("supervised", wall_supervised), ("unsupervised", wall_unsupervised))):
                root = tmp / f"{kind}{r}"
                bg.Project.create(root, [{"i": i} for i in range(args.n_jobs)], "tests.runners.jobs:noop")
                walls[kind].append(fn(root))
                assert bg.Project.open(root).status().counts["done"] == args.n_jobs
            root, markers = tmp / f"kill{r}", tmp / f"markers{r}"
            markers.mkdir()
            jobs = [{"i": 0, "marker_dir": str(markers), "first_s": 600.0}]
            bg.Project.create(root, jobs, "tests.runners.jobs:mark_and_sleep", lease_s=60.0)
            backs.append(kill_to_requeue(root, markers))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{args.n_jobs} noop jobs, 2 workers, median of {args.repeats}:")
    for kind, values in walls.items():
        med = statistics.median(values)
        print(f"  {kind:<28} {med:6.2f} s  ({args.n_jobs / med:,.0f} jobs/s)")
    print(f"SIGKILL of a worker of run mid-job -> job put back by the supervisor (lease_s=60), median of "
          f"{args.repeats}: {statistics.median(backs):.2f} s (max {max(backs):.2f} s)")


if __name__ == "__main__":
    main()
