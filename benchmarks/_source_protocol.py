"""The source's claim protocol (mlr3resampling proj_*, 2025), for comparison only.

Each claim: take the lock, read the whole job CSV, mark the first
'not started' row as started, rewrite the whole CSV, release. Cost O(N) per claim.
"""

from __future__ import annotations

import csv
import os
import sys
import time
from pathlib import Path

from benchgrid.store.storage._lock import LeaseLock


def write_table(path: Path, n_jobs: int) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["job", "status", "worker"])
        w.writerows([i, "not started", ""] for i in range(n_jobs))


def claim(path: Path, lock: LeaseLock, worker: str) -> int | None:
    with lock:
        with open(path, newline="") as f:
            rows = list(csv.reader(f))
        for row in rows[1:]:
            if row[1] == "not started":
                row[1], row[2] = "started", worker
                tmp = path.with_suffix(f".{os.getpid()}.tmp")
                with open(tmp, "w", newline="") as f:
                    csv.writer(f).writerows(rows)
                os.replace(tmp, path)
                return int(row[0])
    return None


def worker(path: Path, seconds: float, worker_id: str) -> int:
    """Claim no-op jobs for ``seconds``; return how many were claimed."""
    lock = LeaseLock(path.with_suffix(".lock"))
    n, end = 0, time.monotonic() + seconds
    while time.monotonic() < end and claim(path, lock, worker_id) is not None:
        n += 1
    return n


if __name__ == "__main__":
    print(worker(Path(sys.argv[1]), float(sys.argv[2]), sys.argv[3]))
