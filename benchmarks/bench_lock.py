"""Lock cycles per second: benchgrid's lease lock beside flufl.lock (what it replaced) and flock, in one run.

Usage::

    python benchmarks/bench_lock.py                     # W = 1, 2, 4 processes; local disk (+ the bed if up)
    python benchmarks/bench_lock.py --workers 1 2 --seconds 2 --repeats 5

W processes take and release the lock as fast as they can for ``--seconds``
(each cycle also reads and rewrites a small counter file under the lock, as
a claim reads and appends); the figure is all cycles / seconds, the median
of ``--repeats`` runs, cells interleaved repeat by repeat. ``flufl`` is the
previous lock (flufl.lock with benchgrid's short back-off), measured only if
flufl.lock is installed (``pip install flufl.lock``); ``flock`` is the
single-machine mode. On the two-client bed (``scripts/two-clients start``)
the processes alternate between mount a and mount b; ``flock`` is left out
there (it excludes nothing across clients). The last column counts lost
counter updates (two holders inside at once): it must be 0 for benchgrid.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import shutil
import statistics
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path


def _flufl_lock(path: Path, lifetime_s: float):  # the lock benchgrid used before (store/storage/_lock.py until 2026-12)
    from flufl.lock import Lock

    class _Lock(Lock):  # type: ignore[misc]
        _naps = 0

        def _sleep(self) -> None:
            self._naps = min(self._naps + 1, 5)
            time.sleep(random.uniform(0.0002, 0.0005 * 2**self._naps))

    lock = _Lock(str(path), lifetime=timedelta(seconds=max(1, int(lifetime_s / 2))))

    class _Ctx:
        def __enter__(self):
            lock._naps = 0
            lock.lock()

        def __exit__(self, *exc):
            lock.unlock(unconditionally=True)

    return _Ctx()


def _make(kind: str, path: Path):
    if kind == "benchgrid":
        from benchgrid.store.storage._lease_lock import LeaseLock

        return LeaseLock(path, lifetime_s=15)
    if kind == "flock":
        from benchgrid.store.storage._lock import FlockLock

        return FlockLock(path, lifetime_s=15)
    return _flufl_lock(path, 15)


def _cycle(kind: str, lock_path: str, seconds: float, start_at: float, out: "mp.Queue[int]") -> None:
    path = Path(lock_path)
    counter = path.with_name("count")
    lock = _make(kind, path)
    n = 0
    while time.time() < start_at:
        time.sleep(0.001)
    end = time.time() + seconds
    while time.time() < end:
        with lock:
            value = int(counter.read_text() or 0) if counter.exists() else 0
            counter.write_text(str(value + 1))
        n += 1
    out.put(n)


def run_cell(kind: str, views: list[Path], server: Path, workers: int, seconds: float) -> tuple[float, int]:
    name = f"bench-lock-{uuid.uuid4().hex[:8]}"
    (server / name).mkdir()
    try:
        out: mp.Queue[int] = mp.Queue()
        start_at = time.time() + 0.5
        procs = [
            mp.Process(target=_cycle, args=(kind, str(views[i % len(views)] / name / "lock"), seconds, start_at, out))
            for i in range(workers)
        ]
        for p in procs:
            p.start()
        total = sum(out.get(timeout=seconds + 120) for _ in procs)
        for p in procs:
            p.join()
        final = int((server / name / "count").read_text())
        return total / seconds, total - final
    finally:
        shutil.rmtree(server / name, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    try:
        import flufl.lock  # noqa: F401

        kinds = ["benchgrid", "flufl", "flock"]
    except ImportError:
        kinds = ["benchgrid", "flock"]
    local = Path(tempfile.mkdtemp(prefix="bench-lock-"))
    setups: dict[str, tuple[list[Path], Path]] = {"local": ([local], local)}
    bed = Path(os.environ.get("BENCHGRID_TWO_CLIENTS") or "/tmp/benchgrid-two-clients")
    if os.path.ismount(bed / "a") and os.path.ismount(bed / "b"):
        setups["two_clients"] = ([bed / "a", bed / "b"], bed / "backing")
    cells = [(s, k, w) for s in setups for k in kinds if not (s == "two_clients" and k == "flock") for w in args.workers]
    rates: dict[tuple[str, str, int], list[float]] = {c: [] for c in cells}
    lost: dict[tuple[str, str, int], int] = {c: 0 for c in cells}
    for _ in range(args.repeats):
        for setup, kind, w in cells:
            views, server = setups[setup]
            rate, n_lost = run_cell(kind, views, server, w, args.seconds)
            rates[(setup, kind, w)].append(rate)
            lost[(setup, kind, w)] += n_lost
    print(f"| setup | lock | W | cycles/s (median of {args.repeats}) | lost updates |")
    print("|---|---|--:|--:|--:|")
    for c in cells:
        print(f"| {c[0]} | {c[1]} | {c[2]} | {statistics.median(rates[c]):,.0f} | {lost[c]} |")
    shutil.rmtree(local, ignore_errors=True)


if __name__ == "__main__":
    main()
