"""What the CLI's ``work`` calls when a worker of a self-sustaining pool ends (issue 21)."""

from __future__ import annotations

import os
from pathlib import Path


def end_of_pooled_worker(project_dir: str | os.PathLike[str], pool: str, *, started: float, done: int, why: str,
                         ran: int | None = None, busy_s: float = 0.0) -> str:
    """Decide the successors of this allocation of ``pool`` (see :mod:`benchgrid.backends._pools`); return what happened.

    The allocation's scheduler id and log come from the environment its job
    script set (``BENCHGRID_SCHEDULER_JOB_ID``, ``BENCHGRID_SCHEDULER_LOG``).
    """
    from ..backends import continue_pool

    return continue_pool(Path(project_dir).absolute(), pool, task=os.environ.get("BENCHGRID_SCHEDULER_JOB_ID"),
                         started=started, done=done, why=why, log=os.environ.get("BENCHGRID_SCHEDULER_LOG"), ran=ran,
                         busy_s=busy_s)
