"""Worker leases: a heartbeat file per worker, and taking back the jobs of dead ones.

Each worker rewrites ``workers/<id>/lease.json`` (temp file + rename) every
few seconds with the time, its pid and host, and the claims it holds. A
worker whose heartbeat is older than ``lease_s`` is dead: any worker may
then, under the project lock, put its unfinished jobs back with attempt + 1
(or mark them failed after ``max_attempts`` lost runs) and leave a
``revoked`` marker in its folder. A worker that wakes up (SIGCONT after a
freeze) and finds that marker drops its results and exits.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ._layout import Layout
from ._queue import Claim, Queue
from ._records import read_json, read_records, record_at, write_json_atomic

__all__ = [
    "read_lease", "write_lease", "is_dead", "held_unfinished", "expire_dead_workers", "list_leases", "expire_worker",
]

FINAL_OPS = ("done", "error", "handback")


def read_lease(worker_dir: Path) -> dict[str, Any] | None:
    try:
        lease = read_json(worker_dir / "lease.json")
    except (OSError, ValueError):
        return None
    return lease if isinstance(lease, dict) else None


def write_lease(worker_dir: Path, lease: dict[str, Any]) -> None:
    write_json_atomic(worker_dir / "lease.json", lease)


def list_leases(root: Path) -> dict[str, dict[str, Any]]:
    """Every worker's lease, by worker id (O(number of workers))."""
    out = {}
    workers = Layout(root).workers_dir
    if workers.exists():
        for d in sorted(workers.iterdir()):
            lease = read_lease(d)
            if lease is not None:
                lease["revoked"] = (d / "revoked").exists()
                out[d.name] = lease
    return out


def is_dead(lease: dict[str, Any], now: float | None = None) -> bool:
    """A running worker whose heartbeat is older than its lease."""
    now = time.time() if now is None else now
    return lease.get("state") == "running" and now - float(lease["heartbeat"]) > float(lease["lease_s"])


def held_unfinished(layout: Layout, worker_id: str, lease: dict[str, Any]) -> list[Claim]:
    """Claims of a worker that were committed and have no final record yet."""
    held = [Claim.from_list(c) for c in lease.get("held", [])]
    if not held:
        return []
    record = record_at(layout.claims, int(lease.get("claim_offset", -1))) if "claim_offset" in lease else None
    if record is None or record.get("w") != worker_id or record.get("c") != [c.to_list() for c in held]:
        return []  # the worker died before its claim record was written: nothing was taken
    events, _ = read_records(layout.worker_dir(worker_id) / "events.log")
    finished = {(e["job"], e["a"]) for e in events if e.get("op") in FINAL_OPS}
    return [c for c in held if (c.job_id, c.attempt) not in finished]


def expire_dead_workers(queue: Queue, *, force: bool = False, by: str = "") -> int:
    """Put back the jobs of dead workers; return how many jobs were put back or failed.

    ``force`` expires every worker still marked running (for ``retry
    --expired`` when the user knows they are gone).
    """
    layout = queue.layout
    max_attempts = int(queue.settings.get("max_attempts", 3))
    candidates = [
        wid
        for wid, lease in list_leases(layout.root).items()
        if not lease["revoked"] and (is_dead(lease) or (force and lease.get("state") == "running"))
    ]
    if not candidates:
        return 0
    n_done = 0
    with queue.lock:
        for wid in candidates:
            wdir = layout.worker_dir(wid)
            lease = read_lease(wdir)  # fresh, under the lock
            if lease is None or (wdir / "revoked").exists():
                continue
            if not (is_dead(lease) or (force and lease.get("state") == "running")):
                continue
            lost = held_unfinished(layout, wid, lease)
            now = time.time()
            again = [Claim(c.job_id, c.attempt + 1, c.lost + 1) for c in lost if c.lost + 1 < max_attempts]
            failed = [c for c in lost if c.lost + 1 >= max_attempts]
            queue.requeue(again, "expired", wid, locked=True)
            events: list[dict[str, Any]] = [
                {"op": "expired", "w": wid, "c": [c.to_list() for c in lost], "by": by, "t": now}
            ]
            events += [
                {
                    "op": "failed",
                    "job": c.job_id,
                    "a": c.attempt,
                    "reason": f"lease expired on {c.lost + 1} runs (max_attempts={max_attempts}); "
                    f"last worker {wid} on {lease.get('host')} was killed, froze or lost its node",
                    "t": now,
                }
                for c in failed
            ]
            queue.log_event(events)
            # the marker comes last: a recoverer killed before it is redone (a wasted run, never a lost job)
            write_json_atomic(wdir / "revoked", {"by": by, "t": now, "claims": [c.to_list() for c in lost]})
            n_done += len(lost)
    return n_done


# -- issue 10 (reliability): a supervisor that saw its worker end puts its jobs back at once --------
def expire_worker(queue: Queue, worker_id: str, *, reason: str, by: str = "", count_lost: bool = True) -> list[Claim]:
    """Put back now the jobs of a worker whose end its supervisor saw, naming why (no lease wait).

    The worker runs its claims in order and records each as it ends, so the
    first unfinished claim is the job it was running: that one counts a lost
    run with ``reason`` (``"killed by SIGSEGV"``); the claims it held but had
    not started go back without one (they did not kill it). With
    ``count_lost=False`` (the disk filled) none counts. A worker that ended
    cleanly or was already expired is left alone, so calling this twice is
    harmless. Returns the unfinished claims it found.
    """
    from ._lost import lose_runs

    layout = queue.layout
    wdir = layout.worker_dir(worker_id)
    with queue.lock:
        lease = read_lease(wdir)  # fresh, under the lock
        if lease is None or (wdir / "revoked").exists() or lease.get("state") != "running":
            return []
        lost = held_unfinished(layout, worker_id, lease)
        now = time.time()
        running, spared = (lost[:1], lost[1:]) if count_lost else ([], lost)
        lose_runs(queue, running, reason=reason, source=worker_id, spared=spared,
                  detail=f"last worker {worker_id} on {lease.get('host')}")
        queue.log_event([{"op": "expired", "w": worker_id, "c": [c.to_list() for c in lost], "by": by,
                          "reason": reason, "t": now}])
        write_json_atomic(wdir / "revoked", {"by": by, "t": now, "claims": [c.to_list() for c in lost]})
    return lost
