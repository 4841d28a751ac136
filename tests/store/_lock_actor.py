"""A process that takes the project lock and reports what it did, for the lock-breaking tests.

``python -m tests.store._lock_actor LOCK LEASE_S HOLD_S REPORT [CYCLES [WITNESS_DIR]]``
takes the lease lock at ``LOCK`` (lease ``LEASE_S``) ``CYCLES`` times (default 1);
each time, inside the lock:

- it checks that it still holds the lock (``check_held()``), then creates ``LOCK.inside`` with ``O_EXCL`` naming its pid; if the file is
  there already and names a process that is still alive, two processes are
  inside at once: it writes ``"overlap"`` into the report and exits 3;
- it holds the lock ``HOLD_S`` seconds, then calls ``check_held()`` (a
  frozen process gets ``LockLost`` there and writes nothing);
- it reads and increments a counter (``LOCK.count``), then removes
  ``LOCK.inside`` and releases.

The witnesses (``inside``, ``count``) live in ``WITNESS_DIR`` (default: beside
the lock): the tests put them on the server's side of the two-client bed, so
that what they check is the lock, taken through the caching clients, and not
how fresh a client's reads of a plain file are.

The report (JSON, replaced atomically) holds each cycle's enter and exit
times, the counter values it wrote, ``lost`` (cycles refused by
``check_held``) and whether the lock still named this taking when it left.
``BENCHGRID_PAUSE_AT`` pauses it at a step of the lock protocol.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from benchgrid.store.storage._lock import LeaseLock, LockLost


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _write(report: Path, out: dict) -> None:
    tmp = report.with_name(report.name + ".tmp")
    tmp.write_text(json.dumps(out))
    os.replace(tmp, report)


def main(lock_path: Path, lease_s: float, hold_s: float, report: Path, cycles: int = 1, witness: Path | None = None) -> int:
    where = witness if witness is not None else lock_path.parent
    inside = where / (lock_path.name + ".inside")
    counter = where / (lock_path.name + ".count")
    out: dict = {"pid": os.getpid(), "cycles": [], "lost": 0, "counts": []}
    lock = LeaseLock(lock_path, lifetime_s=lease_s)
    for _ in range(cycles):
        with lock:
            entered = time.time()
            token = lock._claim.name if lock._claim else None
            try:
                lock.check_held()  # a holder frozen right after taking the lock stops here
            except LockLost:
                out["lost"] += 1
                continue
            while True:
                try:
                    fd = os.open(inside, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
                    os.write(fd, str(os.getpid()).encode())
                    os.close(fd)
                    break
                except FileExistsError:
                    try:
                        other = int(inside.read_text() or 0)
                    except (FileNotFoundError, ValueError):
                        continue  # being written or removed right now: look again
                    if other and _alive(other):
                        out["overlap"] = {"other": other, "t": time.time()}
                        _write(report, out)
                        return 3
                    inside.unlink()  # left by a holder that was killed inside
            time.sleep(hold_s)
            try:
                lock.check_held()
            except LockLost:
                out["lost"] += 1
                inside.unlink()
                continue
            try:
                value = int(counter.read_text() or 0)
            except FileNotFoundError:
                value = 0
            # replaced whole: a holder killed mid-write must leave the old value, not an empty file that
            # reads as 0 (CI saw that: the count restarted and looked like lost updates)
            tmp = counter.with_name(f"{counter.name}.{os.getpid()}")
            tmp.write_text(str(value + 1))
            os.replace(tmp, counter)
            out["counts"].append(value + 1)
            inside.unlink()
            try:
                still = json.loads(lock_path.read_bytes())["token"] == token
            except (OSError, ValueError, KeyError):
                still = False
            out["cycles"].append({"enter": entered, "exit": time.time(), "still_ours": still})
        _write(report, out)
    out["done"] = True
    _write(report, out)
    return 0


if __name__ == "__main__":
    args = sys.argv[1:]
    sys.exit(
        main(
            Path(args[0]), float(args[1]), float(args[2]), Path(args[3]),
            int(args[4]) if len(args) > 4 else 1, Path(args[5]) if len(args) > 5 else None,
        )
    )
