"""What waits for which memory, for people: pools of live workers, jobs per memory class, escalations.

Read from a refreshed :class:`~benchgrid.store.storage._state.ProjectState` of a
project with memory lanes (a ``memory_key``); :func:`memory_summary` is the
``memory`` part of ``benchgrid status`` and :func:`starved_hint` its line
"N job(s) need more than X GB; no live worker has that much".

A *pool* here is the live workers of one budget (``--mem-gb``, SLURM's
allocation or the cgroup's limit, as each lease records it), whoever
started them: one ``submit --pool`` array, a ``run --mem-gb``, or a
``benchgrid work`` by hand.

Examples
--------
>>> starved_hint([0, 0, 0, 0, 0, 0, 0, 0, 3], 8.0)
'3 job(s) need more than 8 GB; no live worker has that much: start workers with --mem-gb 8.8 or more (or a pool of that size)'
"""

from __future__ import annotations

import time
from typing import Any

from ..storage._classes import JobClass
from ..storage._lanes import MEM_CLASSES_GB, MEM_MARGIN, lane_size, lanes_for_budget, read_lane_ids
from ..storage._leases import is_dead
from ..storage._state import ProjectState

__all__ = ["memory_summary", "starved_hint", "waiting_per_lane", "waiting_per_mem_class", "live_budgets"]


def waiting_per_lane(state: ProjectState, now: float | None = None) -> list[int]:
    """Jobs waiting to be claimed in each memory lane (never claimed, plus put back); dropped jobs do not wait."""
    if state.lanes is None:
        return []
    now = time.time() if now is None else now
    waiting = [0] * len(state.lanes)
    for lane, (pos, _rq) in enumerate(state.lanes):
        left = lane_size(state.layout.queue_dir, lane, state.n) - int(pos)
        if state.dropped and left > 0:  # a worker passes over them; they are not work for anyone
            ahead = read_lane_ids(state.layout.queue_dir, lane, int(pos), left, state.n)
            left -= sum(1 for job in ahead if job in state.dropped)
        waiting[lane] += left
    for job, lane in state.requeued_lane.items():
        # a lane added after this read of claims.log (issue 21) is counted at the next refresh
        if lane < len(waiting) and state.state_of(job, now) == "queued":
            waiting[lane] += 1
    return waiting


def waiting_per_mem_class(state: ProjectState, now: float | None = None) -> list[int]:
    """Jobs waiting per memory class; the lanes of a project with time or resource classes summed by memory."""
    waiting = waiting_per_lane(state, now)
    if not state.lanes_keys:
        return waiting
    per_class = [0] * len(MEM_CLASSES_GB)
    for lane, n in enumerate(waiting):
        if lane < len(state.lanes_keys):
            per_class[JobClass.parse(state.lanes_keys[lane]).mem] += n
    return per_class


def live_budgets(state: ProjectState, now: float | None = None) -> list[float | None]:
    """The memory budget of every live worker (None: unknown, it takes every class)."""
    now = time.time() if now is None else now
    return [
        None if (gb := lease.get("mem_gb")) is None else float(gb)
        for lease in state.leases.values()
        if lease.get("state") == "running" and not lease.get("revoked") and not is_dead(lease, now)
    ]


def starved_hint(waiting: list[int], biggest_gb: float, who: str = "no live worker has that much") -> str:
    """The line naming jobs that no worker of ``biggest_gb`` or less can take ("" when none)."""
    served = set(lanes_for_budget(biggest_gb))
    starved = [lane for lane, n in enumerate(waiting) if n > 0 and lane not in served]
    if not starved:
        return ""
    n_jobs = sum(waiting[lane] for lane in starved)
    need = MEM_CLASSES_GB[min(starved)] * (1 + MEM_MARGIN)
    return (
        f"{n_jobs} job(s) need more than {biggest_gb:g} GB; {who}: "
        f"start workers with --mem-gb {need:.3g} or more (or a pool of that size)"
    )


def memory_summary(state: ProjectState, now: float | None = None, n_escalated: int = 5) -> dict[str, Any] | None:
    """Pools of live workers, jobs waiting per memory class, and the latest escalations (None without lanes).

    ``pools``: ``{"mem_gb", "alive", "largest_class_gb"}`` per budget, largest
    first (``mem_gb`` None: unknown, takes every class); ``lanes``:
    ``{"class_gb", "waiting", "served"}`` per class with jobs waiting
    (``served``: some live worker can take them); ``escalated``: the last
    jobs moved to a larger class, ``{"job_id", "reason"}``; ``hint``: the
    line of :func:`starved_hint` ("" when every waiting job has a worker).
    """
    if state.lanes is None or (state.lanes_keys and not any(JobClass.parse(k).mem for k in state.lanes_keys)):
        return None  # no memory classes (a project with time or resource classes only)
    now = time.time() if now is None else now
    budgets = live_budgets(state, now)
    pools: dict[float | None, int] = {}
    for b in budgets:
        pools[b] = pools.get(b, 0) + 1
    served: set[int] = set()
    for b in pools:
        served |= set(lanes_for_budget(b))
    waiting = waiting_per_mem_class(state, now)
    escalated = [
        {"job_id": job, "reason": reason}
        for job, reason in list(state.escalated.items())[-n_escalated:]
        if state.state_of(job, now) in ("queued", "running")
    ]
    hint = ""
    if budgets and None not in budgets:
        hint = starved_hint(waiting, max(b for b in budgets if b is not None))
    return {
        "pools": [
            {"mem_gb": b, "alive": n,
             "largest_class_gb": None if b is None else MEM_CLASSES_GB[lanes_for_budget(b)[0]]}
            for b, n in sorted(pools.items(), key=lambda kv: -1.0 if kv[0] is None else -kv[0])
        ],
        "lanes": [
            {"class_gb": MEM_CLASSES_GB[lane], "waiting": n, "served": lane in served}
            for lane, n in enumerate(waiting) if n > 0
        ],
        "escalated": escalated,
        "hint": hint,
    }

