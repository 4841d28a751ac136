"""``benchgrid work --restart-crashed``: a worker for the whole allocation (see :mod:`benchgrid.worker._in_allocation`)."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["work_in_allocation"]


def work_in_allocation(argv: Sequence[str], project_dir: str | os.PathLike[str], *, name: str | None,
                       until: float | None, max_jobs: int | None = None, pool: str | None = None) -> int:
    """Run ``python <argv>`` (a ``work`` command) as a child, again after a crash while ``until`` leaves time.

    The allocation started when this process did (the batch shell ``exec``\\ s
    it); the workers' ids start with ``name`` (``--name``, else the host);
    ``max_jobs`` is the allocation's budget of jobs. A worker of ``pool``
    that dies with no new worker after it leaves its allocation's successors
    to this process to decide. Returns the last worker's exit code.
    """
    from ..worker import Tally, process_started_s, run_restarting, worker_prefix

    started = process_started_s()

    def decide_for_the_dead(tally: Tally, why: str, prefix: str) -> None:
        from .._errors import BenchgridError
        from ..store import PoolLedger
        from ._pools import end_of_pooled_worker

        try:
            ending = PoolLedger(Path(project_dir).absolute(), str(pool)).read().ending
            if any(str(e.get("worker") or "").startswith(prefix) for e in ending):
                return  # the worker decided in its last steps
            said = end_of_pooled_worker(project_dir, str(pool), started=started, done=tally.done, why=why,
                                        ran=tally.ran, busy_s=tally.busy_s)
        except (BenchgridError, OSError) as err:  # a full disk, a scheduler that fails: the next decider looks again
            said = f"no successor decided: {err}"
        print(f"pool {pool}: {said}", file=sys.stderr, flush=True)

    return run_restarting(argv, root=project_dir, name=worker_prefix(name, socket.gethostname()), until=until,
                          started=started, max_jobs=max_jobs, on_give_up=decide_for_the_dead if pool else None)
