"""What a pool's workers have, from its submit options; how much work is left for them (issue 21).

Examples
--------
>>> pool_capacity({"mem_gb": 16, "time": "0:03:00", "resources": {"gpus": 1}})
Capacity(mem_gb=16.0, limit_s=135.0, resources={'gpus': 1})
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from ._template import worker_limit_s

__all__ = ["pool_capacity", "jobs_left_for"]


def pool_capacity(options: Mapping[str, Any]) -> Any:
    """The :class:`~benchgrid.store.Capacity` of a worker submitted with ``options`` (mem_gb, time, resources)."""
    from ..store import Capacity

    mem = options.get("mem_gb")
    return Capacity(None if mem is None else float(mem),
                    worker_limit_s(options.get("time"), options.get("warning_s")),
                    dict(options.get("resources") or {}))


def jobs_left_for(root: Path, options: Mapping[str, Any] | None = None) -> tuple[int, int]:
    """``(left, running)``: jobs a successor of a pool submitted with ``options`` could run (waiting
    in its lanes, and stranded ones) and jobs running, from a fresh read of the logs.

    Jobs running on other workers are theirs: when their allocations end
    unfinished, those workers decide (and the jobs are queued again).
    """
    from ..store import ProjectState, waiting_for

    state = ProjectState(root).refresh()
    counts = state.counts()
    left = sum(counts[s] for s in ("pending", "queued", "stranded"))
    mine = None if options is None else waiting_for(state, pool_capacity(options))
    return (left if mine is None else min(left, mine + counts["stranded"])), counts["running"]
