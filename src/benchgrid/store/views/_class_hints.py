"""Status lines and counts of the classes workers may claim (issue 21): jobs failed for want of time,
jobs waiting in classes no live worker may take, and the jobs a pool's workers could run.

Views over :mod:`..storage._capacities` (who may claim what) and the
memory view's waiting counts; nothing here writes.
"""

from __future__ import annotations

import shlex
import time
from typing import Any, Mapping

from ..storage._capacities import TOO_LONG, capacity_of_lease, known_capacities
from ..storage._classes import Capacity, lane_classes, may_claim
from ..storage._leases import is_dead
from ._memory import waiting_per_lane

__all__ = ["too_long_hint", "waiting_for", "starved_classes_hint"]


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

    if state.lanes is None:
        return None
    cursor = {"lanes": state.lanes, **({"lk": state.lanes_keys} if state.lanes_keys else {})}
    classes = lane_classes(cursor)
    waiting = waiting_per_lane(state)
    return sum(n for lane, n in enumerate(waiting) if lane < len(classes) and may_claim(classes[lane], cap))


def starved_classes_hint(state: Any, now: float | None = None) -> str:
    """The status line for jobs waiting in classes no worker may claim ("" when none, or no worker is known).

    The workers judged are the live ones; when none is live, those of every
    submitted pool (``queue/capacities.log``): a job declared longer than
    every pool's limit waits in a class none serves, and says so instead of
    looking like work for the next allocation. Projects with time or
    resource classes only (memory alone has its own line).
    """
    if state.lanes is None or not state.lanes_keys:
        return ""
    now = time.time() if now is None else now
    caps = [capacity_of_lease(lease) for lease in state.leases.values()
            if lease.get("state") == "running" and not lease.get("revoked") and not is_dead(lease, now)]
    who = "live worker"
    if not caps:
        caps, who = known_capacities(state.root, now), "worker of the submitted pools"
    if not caps:
        return ""
    classes = lane_classes({"lanes": state.lanes, "lk": state.lanes_keys})
    starved = [(classes[lane], n) for lane, n in enumerate(waiting_per_lane(state, now))
               if n > 0 and lane < len(classes) and not any(may_claim(classes[lane], cap) for cap in caps)]
    if not starved:
        return ""
    what = "; ".join(f"{c.describe()}: {n}" for c, n in starved)
    pools = " ".join(f"--pool {c.pool_text()}" for c, _n in starved)
    return (f"{sum(n for _c, n in starved)} job(s) wait in classes no {who} may take ({what}): "
            f"submit a pool that has what they need, e.g. `benchgrid submit {shlex.quote(str(state.root))} "
            f"--until-done {pools}`")
