"""A process that takes the project lock and reports what it did, for the lock-breaking tests.

``python -m tests.store._lock_actor LOCK LEASE_S HOLD_S REPORT [CYCLES [WITNESS_DIR]]``
takes the lease lock at ``LOCK`` (lease ``LEASE_S``) ``CYCLES`` times (default 1);
each time, inside the lock:

- it checks that it still holds the lock (``check_held()``), then creates
  ``LOCK.inside`` with ``O_EXCL``, naming its pid, the pid's start time and
  its taking's lease: from when it entered to when no waiter may break it
  (``_written + lifetime_s``, this machine's monotonic clock); if the file is
  there already, see below;
- it holds the lock ``HOLD_S`` seconds, then calls ``check_held()`` (a
  frozen process gets ``LockLost`` there and writes nothing);
- it reads and increments a counter (``LOCK.count``), then removes
  ``LOCK.inside`` and releases.

What the lock promises, and so what counts as two holders inside at once
(exit 3, ``"overlap"`` in the report): a taking is never broken while its
lease runs, unless its process has ended. So a marker found in place is

- left by a holder that has ended (killed inside): removed. Ended means no
  longer running, not "``kill(pid, 0)`` succeeds": a holder killed and not
  yet reaped by its parent is a zombie, which can do nothing more, and the
  lock rightly breaks its taking at once (``process_gone``). The test kills
  holders and reaps them a moment later; a waiter that went in meanwhile
  took the zombie for a live holder and reported an overlap (seen once on a
  loaded machine);
- a running holder whose lease interval overlaps ours: a live lease was
  broken, a real overlap;
- a running holder whose lease ended before ours began (or ours before
  its began): the earlier one stalled past its lease and was rightly broken
  (the lock's promise ends there: ``check_held`` keeps half a lease for a
  stall between it and a write); we wait for it to leave, noted in
  ``"overran"``, which keeps the counter's updates apart.

All of this reads one machine's monotonic clock, which the tests can do: the
two clients of the bed are on one machine.

The witnesses (``inside``, ``count``) live in ``WITNESS_DIR`` (default: beside
the lock): the tests put them on the server's side of the two-client bed, so
that what they check is the lock, taken through the caching clients, and not
how fresh a client's reads of a plain file are.

The report (JSON, replaced atomically) holds each cycle's enter and exit
times, the counter values it wrote, ``lost`` (cycles refused by
``check_held``) and whether the lock still named this taking when it left.
``BENCHGRID_PAUSE_AT`` pauses it at a step of the lock protocol, or at
``actor.inside`` (its marker made, before it holds and writes).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from benchgrid.store.storage._faults import pause_point
from benchgrid.store.storage._lock import LeaseLock, LockLost


def _start_time(pid: int) -> str | None:
    """The start time (clock ticks since boot) of process ``pid`` while it runs; None once it has ended.

    A zombie (killed, not yet reaped by its parent) has ended: it can do nothing more.
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = stat[stat.rfind(b")") + 2 :].split()
    return None if fields[0] in (b"Z", b"X", b"x") else fields[19].decode()


def _running(pid: int, start: str) -> bool:
    """True while the process that wrote a marker still runs (a reused pid has another start time)."""
    return _start_time(pid) == start


def _write(report: Path, out: dict) -> None:
    tmp = report.with_name(report.name + ".tmp")
    tmp.write_text(json.dumps(out))
    os.replace(tmp, report)


def main(lock_path: Path, lease_s: float, hold_s: float, report: Path, cycles: int = 1, witness: Path | None = None) -> int:
    where = witness if witness is not None else lock_path.parent
    inside = where / (lock_path.name + ".inside")
    counter = where / (lock_path.name + ".count")
    out: dict = {"pid": os.getpid(), "cycles": [], "lost": 0, "counts": [], "overran": []}
    me = _start_time(os.getpid())
    lock = LeaseLock(lock_path, lifetime_s=lease_s)
    for _ in range(cycles):
        with lock:
            entered_mono = time.monotonic()  # after the link: not before the taking began
            entered = time.time()
            token = lock._claim.name if lock._claim else None
            try:
                lock.check_held()  # a holder frozen right after taking the lock stops here
            except LockLost:
                out["lost"] += 1
                continue
            lease_end = lock._written + lock.lifetime_s  # no waiter may break this taking before it
            marker = f"{os.getpid()} {me} {entered_mono!r} {lease_end!r}"
            while True:
                try:
                    fd = os.open(inside, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
                    os.write(fd, marker.encode())
                    os.close(fd)
                    break
                except FileExistsError:
                    try:
                        seen = inside.read_text()
                        pid, start, their_entered, their_end = seen.split()
                        other = (int(pid), start, float(their_entered), float(their_end))
                    except (FileNotFoundError, ValueError):
                        continue  # being written or removed right now: look again
                    if not _running(other[0], other[1]):
                        inside.unlink(missing_ok=True)  # left by a holder that ended inside (killed)
                        continue
                    met = {"other": other[0], "t": time.time(), "now": time.monotonic()}
                    met.update(mine=[entered_mono, lease_end], theirs=list(other[2:]))
                    if max(entered_mono, other[2]) < min(lease_end, other[3]):  # both leases ran at once
                        out["overlap"] = met
                        _write(report, out)
                        return 3
                    if not out["overran"] or out["overran"][-1]["other"] != other[0]:
                        out["overran"].append(met)
                    time.sleep(0.01)  # one of us stalled past its lease: let it leave first
            pause_point("actor.inside")
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
