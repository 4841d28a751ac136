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

__all__ = ["record_capacity", "known_capacities", "capacity_of_lease", "someone_may_claim", "TOO_LONG"]

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
