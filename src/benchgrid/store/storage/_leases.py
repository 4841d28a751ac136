"""Worker leases: a heartbeat file per worker, and taking back the jobs of dead ones.

Each worker rewrites ``workers/<id>/lease.json`` (temp file + rename) every
few seconds with the time, its host, pid and the pid's start time, and the
claims it holds. A worker is dead when its heartbeat is older than
``lease_s``, or at once when its lease names this host (same boot) and its
process is gone (pid plus start time, so a reused pid cannot fool it). Any
process may then, under the project lock, put its unfinished jobs back with
attempt + 1 (or mark them failed after ``max_attempts`` lost runs).

Whether those jobs were already put back is decided from the content of
``requeue.log`` read under the lock (``Queue.put_back`` writes each (job,
attempt) once), never from the ``revoked`` marker: a marker is written last
and only spares later scans the work. A recoverer killed at any step, or
one whose client caches "no such file", therefore re-does nothing. A worker
that wakes up (SIGCONT after a freeze) and finds that marker drops its
results and exits; fencing by attempt keeps them out even if it does not.
"""

from __future__ import annotations

import time
from pathlib import Path
from collections.abc import Mapping
from typing import Any, Callable, cast, Iterable

from ._faults import error_point, fault_point
from ._observe import LeaseWatch, timed
from ._process import on_this_machine, process_gone, process_identity
from ._layout import Layout
from ._lock import LockLost, retry_lock_lost
from ._queue import Claim, Queue
from ._record_types import Lease, QueueEventRecord
from ._records import read_json, read_records, record_at, write_json_atomic
from ._settings import ProjectSettings

__all__ = [
    "read_lease",
    "write_lease",
    "is_dead",
    "watch_leases",
    "live_workers_seen",
    "unconfirmed_workers",
    "held_unfinished",
    "expire_dead_workers",
    "list_leases",
    "process_identity",
    "expire_worker",
    "supervisor_alive",
    "on_this_machine",
    "SUPERVISOR_ENV",
]

FINAL_OPS = ("done", "error", "handback")


def read_lease(worker_dir: Path) -> dict[str, Any] | None:
    """A worker's lease, or None when it is missing, unreadable or damaged (the worker's jobs are then not judged)."""
    try:
        error_point("lease.read", worker_dir / "lease.json")
        lease = read_json(worker_dir / "lease.json")
    except (OSError, ValueError):
        return None
    return lease if isinstance(lease, dict) else None


def write_lease(worker_dir: Path, lease: Lease) -> None:
    write_json_atomic(worker_dir / "lease.json", lease)


def list_leases(root: Path) -> dict[str, Lease]:
    """Every worker's lease, by worker id (O(number of workers))."""
    out: dict[str, Lease] = {}
    workers = Layout(root).workers_dir
    if workers.exists():
        for d in sorted(workers.iterdir()):
            lease = read_lease(d)
            if lease is not None:
                lease["revoked"] = (d / "revoked").exists()
                out[d.name] = cast(Lease, lease)
    return out


def is_dead(lease: Mapping[str, Any], now: float | None = None, seen_s: float | None = None) -> bool:
    """A running worker whose lease is over, or whose process (on this host) is gone.

    ``seen_s``: for how long the caller has itself seen this lease unchanged
    (:func:`watch_leases`), the only measure a decision may use (invariant
    10: a writer's clock is never compared with the reader's). Without it (a
    one-time look such as ``status``) the heartbeat's age by this host's
    clock, ``now``, stands in: good enough to show, never used to act.

    Examples
    --------
    >>> lease = {"state": "running", "heartbeat": 100.0, "lease_s": 60, "host": "elsewhere"}
    >>> is_dead(lease, now=130.0), is_dead(lease, now=99_999.0, seen_s=10.0), is_dead(lease, seen_s=61.0)
    (False, False, True)
    """
    if lease.get("state") != "running":
        return False
    if process_gone(lease) and not supervisor_alive(lease):
        return True
    if seen_s is not None:
        return seen_s > float(lease["lease_s"])
    now = time.time() if now is None else now
    return now - float(lease["heartbeat"]) > float(lease["lease_s"])


#: what this process has seen of every worker's lease (keys: (project folder, worker id)); workers and
#: supervisors look again and again, so their judgement grows with what they saw
_WATCH = LeaseWatch()


_LAST_LOOK: dict[str, dict[str, Lease]] = {}  # project folder -> the leases at this process's last look


def live_workers_seen(root: Path) -> int | None:
    """How many workers ran at this process's last look at the leases (None: it never looked).

    Examples
    --------
    >>> live_workers_seen(Path("/nowhere")) is None
    True
    """
    leases = _LAST_LOOK.get(str(root))
    return None if leases is None else sum(1 for lease in leases.values() if _runs(lease))


def _runs(lease: Mapping[str, Any]) -> bool:
    return lease.get("state") == "running" and not lease.get("revoked")


def _content(lease: Mapping[str, Any]) -> tuple[Any, ...]:
    """What changes with every write of a worker's lease (its beat counter, its heartbeat and state)."""
    return (lease.get("beat"), lease.get("heartbeat"), lease.get("state"), lease.get("pid"))


def watch_leases(root: Path, watch: LeaseWatch | None = None) -> dict[str, tuple[Lease, float]]:
    """Every worker's lease with how long this process has seen it unchanged (seconds, its own clock).

    Each call is one look: a lease seen for the first time, or changed since
    the last look, counts 0 s. Leases are read with the stall of the read
    noted, so a file server that paused everyone does not age them all.
    """
    watch = _WATCH if watch is None else watch
    key_root = str(root)
    with timed() as look:
        leases = list_leases(root)
    _LAST_LOOK[key_root] = leases
    out: dict[str, tuple[Lease, float]] = {}
    for wid, lease in leases.items():
        out[wid] = (lease, watch.seen_for((key_root, wid), _content(lease), (look.started, look.ended)))
    return out


def unconfirmed_workers(root: Path, exclude: str = "", watch: LeaseWatch | None = None) -> list[str]:
    """Running workers holding jobs whose lease this process has not yet seen change.

    A worker with nothing left to claim waits for these before it exits: one
    of them may be dead (or frozen) with jobs that only a watcher can put
    back. A worker seen alive once, or holding nothing, is not waited for.
    """
    watch = _WATCH if watch is None else watch
    leases = _LAST_LOOK.get(str(root)) if watch is _WATCH else None  # the look expire_dead_workers just took
    out = []
    for wid, lease in (list_leases(root) if leases is None else leases).items():
        if wid != exclude and _runs(lease) and lease.get("held") and not watch.changed((str(root), wid)):
            out.append(wid)
    return out


# issue 10: a worker started by `run` names its supervisor, which puts its jobs back the moment it dies,
# with the signal or exit status as the reason; others leave it that moment (lease expiry still applies)
SUPERVISOR_ENV = "BENCHGRID_SUPERVISOR"


def supervisor_alive(lease: Mapping[str, Any]) -> bool:
    """True when the lease names a supervising process of this machine that still runs."""
    sup = lease.get("supervisor")
    if not isinstance(sup, dict) or "pid" not in sup:
        return False
    return not process_gone({**lease, "pid": sup["pid"], "pid_start": sup.get("pid_start")})


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


#: ``judge(lease)``: why the worker of ``lease`` was killed for memory (from the kernel), or None
OomJudge = Callable[[dict[str, Any]], "str | None"]


def _budget_of(lease: dict[str, Any]) -> float | None:
    """The memory budget a dead worker's job did not fit in: its own, else its cgroup's limit."""
    for value in (lease.get("mem_gb"), (lease.get("oom") or {}).get("limit_gb")):
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
            return float(value)
    return None


def expire_dead_workers(
    queue: Queue,
    *,
    force: bool = False,
    by: str = "",
    workers: Iterable[str] | None = None,
    reason: str | None = None,
    out_of_memory: OomJudge | None = None,
    watch: LeaseWatch | None = None,
) -> int:
    """Put back the jobs of dead workers; return how many jobs were put back or failed.

    A worker is dead when its process on this machine is gone, or when this
    process has seen its lease unchanged for longer than the lease over its
    repeated calls (``watch``: this process's, by default; invariant 10); a
    single call sees only the first kind. Of a dead worker's unfinished
    claims only the first, the one it was running (a worker runs its claims
    in order), counts a lost run; the others had not started and go back
    without one.

    ``force`` expires every worker still marked running (for ``retry
    --expired`` when the user knows they are gone, or a supervisor that saw
    its child die); ``workers`` limits the scan to these ids; ``reason``
    says why they died (recorded with each job, and in the failure reason).
    ``out_of_memory(lease)`` (issue 13) judges a dead worker (its process
    gone from this machine, or its scheduler job killed for memory, see
    :func:`benchgrid.worker._memory.oom_evidence`): when it names an OOM kill, the job it was
    running moves to a larger memory class (:func:`~._lost.escalate_runs`)
    and the others go back without a lost run.
    Safe to call from any number of processes at once, and after a crash of
    a previous call at any step: each (job, attempt) is put back once.
    """
    layout = queue.layout
    max_attempts = ProjectSettings.of(queue.settings).max_attempts
    seen = watch_leases(layout.root, watch)
    if workers is not None:
        wanted = set(workers)
        seen = {wid: item for wid, item in seen.items() if wid in wanted}
    candidates = [
        wid
        for wid, (lease, seen_s) in seen.items()
        if not lease["revoked"] and (is_dead(lease, seen_s=seen_s) or (force and lease.get("state") == "running"))
    ]
    if not candidates:
        return 0
    n_done = 0
    try:
        with queue.lock:
            for wid in candidates:
                wdir = layout.worker_dir(wid)
                lease = read_lease(wdir)  # fresh, under the lock: unchanged since judged, or judged again
                if lease is None or not (
                    (_content(lease) == _content(seen[wid][0]) and is_dead(lease, seen_s=seen[wid][1]))
                    or (force and lease.get("state") == "running")
                ):
                    continue
                lost = held_unfinished(layout, wid, lease)
                why = reason or f"lease expired (worker {wid} on {lease.get('host')} was killed, froze or lost its node)"
                # the judge asks for its own evidence: the kernel's counter only once the process is gone
                # from this machine, the scheduler's log of the worker's job from anywhere
                oom = out_of_memory(lease) if lost and out_of_memory is not None else None
                if oom is not None:
                    from ._lost import escalate_runs, lose_runs

                    new = escalate_runs(queue, lost[:1], budget_gb=_budget_of(lease), reason=oom, source=wid)
                    new += lose_runs(queue, [], reason=oom, source=wid, spared=lost[1:])
                    _mark_expired(queue, wid, new, lost, by, oom)
                    n_done += len(new)
                    continue
                # a worker runs its claims in order: the first unfinished one was running, the others had not
                # started and go back without a lost run (issue 25: a frozen worker's batch of 20 small jobs
                # burnt an attempt of each; expire_worker's rule)
                running, spared = lost[:1], lost[1:]
                again = [Claim(c.job_id, c.attempt + 1, c.lost + 1, c.lane) for c in running if c.lost + 1 < max_attempts]
                failed = [
                    (Claim(c.job_id, c.attempt + 1, c.lost + 1, c.lane), f"{c.lost + 1} lost runs (max_attempts={max_attempts}); last: {why}")
                    for c in running
                    if c.lost + 1 >= max_attempts
                ]
                new = queue.put_back(again, "expired", wid, failed=failed, locked=True)
                if spared:
                    back = [Claim(c.job_id, c.attempt + 1, c.lost, c.lane) for c in spared]
                    new += queue.put_back(back, "handback", wid, locked=True)
                now = time.time()
                if new:
                    queue.log_event(
                        [QueueEventRecord(op="expired", w=wid, c=[c.to_list() for c in new], by=by, why=why, t=now)]
                    )
                    fault_point("recover.events")
                # a hint for later scans only: the requeue lines above are what decides
                write_json_atomic(wdir / "revoked", {"by": by, "t": now, "claims": [c.to_list() for c in lost]})
                fault_point("recover.marked")
                n_done += len(new)
    except LockLost:  # frozen under the lock past half its lease: the next look puts back the rest
        pass
    return n_done


# -- issue 10 (reliability): a supervisor that saw its worker end puts its jobs back at once --------
def _mark_expired(queue: Queue, wid: str, new: list[Claim], lost: list[Claim], by: str, why: str) -> None:
    """The event and the ``revoked`` hint after a dead worker's jobs were put back; call holding the lock."""
    now = time.time()
    if new:
        queue.log_event([QueueEventRecord(op="expired", w=wid, c=[c.to_list() for c in new], by=by, why=why, t=now)])
        fault_point("recover.events")
    write_json_atomic(queue.layout.worker_dir(wid) / "revoked", {"by": by, "t": now, "claims": [c.to_list() for c in lost]})
    fault_point("recover.marked")


def expire_worker(
    queue: Queue,
    worker_id: str,
    *,
    reason: str,
    by: str = "",
    count_lost: bool = True,
    out_of_memory: OomJudge | None = None,
) -> list[Claim]:
    """Put back now the jobs of a worker whose end its supervisor saw, naming why (no lease wait).

    The worker runs its claims in order and records each as it ends, so the
    first unfinished claim is the job it was running: that one counts a lost
    run with ``reason`` (``"killed by SIGSEGV"``); the claims it held but had
    not started go back without one (they did not kill it). With
    ``count_lost=False`` (the disk filled) none counts. A worker that ended
    cleanly is left alone, and each (job, attempt) is put back once
    (:meth:`Queue.put_back`), so calling this twice, or after a recoverer, is
    harmless. Returns the claims it put back or failed.

    ``out_of_memory(lease)`` (issue 13), given when the worker was SIGKILLed:
    if it names an OOM kill (the kernel's counter, read now, against the one
    in the lease read here under the lock), the running job moves to a
    larger memory class instead of counting a lost run.
    """
    from ._lost import escalate_runs, lose_runs

    def step() -> list[Claim]:
        wdir = queue.layout.worker_dir(worker_id)
        with queue.lock:
            lease = read_lease(wdir)  # fresh, under the lock
            if lease is None or lease.get("state") != "running":
                return []
            lost = held_unfinished(queue.layout, worker_id, lease)
            running, spared = (lost[:1], lost[1:]) if count_lost else ([], lost)
            oom = out_of_memory(lease) if running and out_of_memory is not None else None
            if oom is not None:
                new = escalate_runs(queue, running, budget_gb=_budget_of(lease), reason=oom, source=worker_id)
                new += lose_runs(queue, [], reason=oom, source=worker_id, spared=spared)
            else:
                new = lose_runs(queue, running, reason=reason, source=worker_id, spared=spared,
                                detail=f"last worker {worker_id} on {lease.get('host')}")
            _mark_expired(queue, worker_id, new, lost, by, oom or reason)
        return new

    # frozen under the lock past half its lease: nothing of this step was written after that; again
    return retry_lock_lost(step)
