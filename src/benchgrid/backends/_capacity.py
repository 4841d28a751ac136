"""What a pool's workers have, from its submit options; how much work is left for them (issue 21).

Examples
--------
>>> pool_capacity({"mem_gb": 16, "time": "0:03:00", "resources": {"gpus": 1}})
Capacity(mem_gb=16.0, limit_s=135.0, resources={'gpus': 1})
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, NamedTuple

from ._template import worker_limit_s

__all__ = ["pool_capacity", "jobs_left_for", "JobsLeft"]


class JobsLeft(NamedTuple):
    """What a pool's successor would find: jobs it could run, jobs running, jobs waiting that it cannot run."""

    left: int
    running: int
    elsewhere: int = 0


def pool_capacity(options: Mapping[str, Any]) -> Any:
    """The :class:`~benchgrid.store.Capacity` of a worker submitted with ``options`` (mem_gb, time, resources)."""
    from ..store import Capacity

    mem = options.get("mem_gb")
    return Capacity(None if mem is None else float(mem),
                    worker_limit_s(options.get("time"), options.get("warning_s")),
                    dict(options.get("resources") or {}))


def jobs_left_for(root: Path, options: Mapping[str, Any] | None = None, state: Any = None) -> JobsLeft:
    """What a successor of a pool submitted with ``options`` would find, from a fresh read of the logs.

    ``state``: a :class:`~benchgrid.store.ProjectState` just refreshed, to
    judge several pools on one read (default: read the logs now).

    ``left``: jobs waiting in its lanes, and stranded ones; ``running``:
    jobs running; ``elsewhere``: jobs waiting in classes its workers cannot
    claim (longer, larger, other resources: another pool's, or none's).
    Jobs running on other workers are theirs: when their allocations end
    unfinished, those workers decide (and the jobs are queued again).
    """
    from ..store import ProjectState, waiting_for

    state = ProjectState(root).refresh() if state is None else state
    counts = state.counts()
    waiting = sum(counts[s] for s in ("pending", "queued"))
    mine = None if options is None else waiting_for(state, pool_capacity(options))
    left = waiting + counts["stranded"] if mine is None else min(waiting + counts["stranded"], mine + counts["stranded"])
    return JobsLeft(left, counts["running"], waiting + counts["stranded"] - left)
