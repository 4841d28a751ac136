"""Cost of one claim with lanes: no lanes, memory lanes, and memory x time x GPU classes (issue 21).

Usage::

    python benchmarks/bench_lanes.py                      # 10k and 100k jobs, 2,000 claims each
    python benchmarks/bench_lanes.py --sizes 10000 --claims 500

For each table size a fresh project is created three ways: plain, with a
``memory_key`` (24 memory lanes), and with ``memory_key``, ``time_key`` and
``resource_keys=["gpus"]`` (jobs spread over 5 memory, 4 time and 2 GPU
classes: 40 lanes listed in the cursor). One process then claims one job at
a time (the lock, the cursor's tail, the lane, the claim record) as a CPU
worker with a 1-hour limit and 16 GB would, and the claims per second are
printed: a claim must stay O(1) in the number of jobs and lanes.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import benchgrid as bg
from benchgrid.store import Capacity, Queue, read_project_json

RUNNER = "benchgrid.worker._noop:noop"


def jobs(n: int, kind: str) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for i in range(n):
        job: dict[str, object] = {"i": i}
        if kind != "plain":
            job["mem_gb"] = (0.3, 1.0, 2.0, 6.0, 12.0)[i % 5]
        if kind == "classes":
            job["expected_s"] = (5.0, 90.0, 200.0, 1000.0)[i % 4]
            if i % 7 == 0:
                job["gpus"] = 1
        out.append(job)
    return out


def rate(root: Path, n: int, kind: str, n_claims: int) -> tuple[float, int]:
    options: dict[str, object] = {}
    if kind != "plain":
        options["memory_key"] = "mem_gb"
    if kind == "classes":
        options.update(time_key="expected_s", resource_keys=["gpus"])
    bg.Project.create(root, jobs(n, kind), RUNNER, **options)  # type: ignore[arg-type]
    q = Queue(root, read_project_json(root)["settings"])
    cap = Capacity(mem_gb=16.0, limit_s=3600.0)
    t0 = time.perf_counter()
    for k in range(n_claims):
        q.claim(f"w{k % 4}", 1, capacity=cap)
    seconds = time.perf_counter() - t0
    n_lanes = len(q.cursor().get("lanes") or [])
    shutil.rmtree(root)
    return n_claims / seconds, n_lanes


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    p.add_argument("--claims", type=int, default=2000)
    args = p.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-lanes-"))
    print(f"{'jobs':>8} {'project':<8} {'lanes':>5} {'claims/s':>9}")
    for n in args.sizes:
        for kind in ("plain", "memory", "classes"):
            per_s, n_lanes = rate(folder / f"{kind}-{n}", n, kind, args.claims)
            print(f"{n:>8} {kind:<8} {n_lanes:>5} {per_s:>9.0f}", flush=True)
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
