"""Which capacities a project's workers have, or will have: live leases and submitted pools (issue 21).

A job handed back at a walltime limit moves to a longer time class only
when some worker could take it there; otherwise it would wait for ever, so
it is failed with the time it needs. *Some worker* is a live one (its
lease: memory budget, ``until - started``, resources) or one submitted and
maybe still pending: ``submit`` appends what each pool's workers will have
to ``queue/capacities.log`` (one checksummed record per submission, never
rewritten; a project without the file has only its live workers).

Examples
--------
>>> lease = {"state": "running", "mem_gb": 4.0, "started": 100.0, "until": 3700.0, "resources": {"gpus": 1}}
>>> capacity_of_lease(lease)
Capacity(mem_gb=4.0, limit_s=3600.0, resources={'gpus': 1})
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Mapping

from ._classes import Capacity, JobClass, may_claim
from ._layout import Layout
from ._leases import is_dead, list_leases
from ._records import append_records, read_records

__all__ = ["record_capacity", "known_capacities", "capacity_of_lease", "someone_may_claim", "too_long_hint", "TOO_LONG",
           "waiting_for", "starved_classes_hint"]

TOO_LONG = "needs more than "  # how the reason of a job failed for want of time starts (worker._capacity)

CAPACITIES = "capacities.log"


def _path(root: Path) -> Path:
    return Layout(root).queue_dir / CAPACITIES


def record_capacity(root: Path, cap: Capacity, source: str) -> None:
    """Note that workers of capacity ``cap`` were submitted (``source``: ``"submit slurm"``)."""
    append_records(_path(root), [{"mem_gb": cap.mem_gb, "limit_s": cap.limit_s, "res": dict(cap.resources),
                                  "src": source, "t": time.time()}])


def capacity_of_lease(lease: Mapping[str, Any]) -> Capacity:
    """What a worker has, as its lease says."""
    until, started = lease.get("until"), lease.get("started")
    limit = float(until) - float(started) if until is not None and started is not None else None
    mem = lease.get("mem_gb")
    return Capacity(None if mem is None else float(mem), limit, dict(lease.get("resources") or {}))


def known_capacities(root: Path, now: float | None = None) -> list[Capacity]:
    """Capacities of the live workers and of every submitted pool."""
    now = time.time() if now is None else now
    caps = [
        capacity_of_lease(lease) for lease in list_leases(root).values()
        if lease.get("state") == "running" and not lease.get("revoked") and not is_dead(lease, now)
    ]
    path = _path(root)
    if path.exists():
        for rec in read_records(path, 0)[0]:
            limit, mem = rec.get("limit_s"), rec.get("mem_gb")
            caps.append(Capacity(None if mem is None else float(mem), None if limit is None else float(limit),
                                 {str(k): int(v) for k, v in (rec.get("res") or {}).items()}))
    return caps


def someone_may_claim(root: Path, job_class: JobClass) -> bool:
    """Whether a live or submitted worker may claim jobs of ``job_class`` (:func:`._classes.may_claim`)."""
    return any(may_claim(job_class, cap) for cap in known_capacities(root))


def too_long_hint(failed: Mapping[int, tuple[int, str]], state_of: Any) -> str:
    """The status line for jobs failed because no worker had time for them ("" when none).

    ``failed`` maps job to (attempt, reason); ``state_of(job)`` is its state now (a retry revives it).

    >>> too_long_hint({3: (2, "needs more than 0:45 (...); give it a pool")}, lambda job: "failed")
    '1 job(s) failed for want of time: job 3 needs more than 0:45 (...); give it a pool'
    """
    jobs = [(job, reason) for job, (_a, reason) in sorted(failed.items())
            if reason.startswith(TOO_LONG) and state_of(job) == "failed"]
    if not jobs:
        return ""
    job, reason = jobs[0]
    return f"{len(jobs)} job(s) failed for want of time: job {job} {reason}"


def waiting_for(state: Any, cap: Capacity) -> int | None:
    """Jobs waiting in the lanes a worker of ``cap`` may claim (None: a project without lanes, where any may).

    A self-sustaining pool submits successors only for work its workers can
    take: a CPU pool does not live on for GPU jobs, nor a short pool for long ones.
    """
    from ._classes import lane_classes
    from ._memory_view import waiting_per_lane

    if state.lanes is None:
        return None
    cursor = {"lanes": state.lanes, **({"lk": state.lanes_keys} if state.lanes_keys else {})}
    classes = lane_classes(cursor)
    waiting = waiting_per_lane(state)
    return sum(n for lane, n in enumerate(waiting) if lane < len(classes) and may_claim(classes[lane], cap))


def starved_classes_hint(state: Any, now: float | None = None) -> str:
    """The status line for jobs waiting in classes no live worker may claim ("" when none, or no live worker).

    Projects with time or resource classes only (memory alone has its own line).
    """
    from ._classes import lane_classes
    from ._memory_view import waiting_per_lane

    if state.lanes is None or not state.lanes_keys:
        return ""
    now = time.time() if now is None else now
    caps = [capacity_of_lease(lease) for lease in state.leases.values()
            if lease.get("state") == "running" and not lease.get("revoked") and not is_dead(lease, now)]
    if not caps:
        return ""
    classes = lane_classes({"lanes": state.lanes, "lk": state.lanes_keys})
    starved = [(classes[lane], n) for lane, n in enumerate(waiting_per_lane(state, now))
               if n > 0 and lane < len(classes) and not any(may_claim(classes[lane], cap) for cap in caps)]
    if not starved:
        return ""
    what = "; ".join(f"{c.describe()}: {n}" for c, n in starved)
    return (f"{sum(n for _c, n in starved)} job(s) wait in classes no live worker may take ({what}): "
            "submit a pool that has what they need (--pool NxMEM+1gpu@TIME)")
