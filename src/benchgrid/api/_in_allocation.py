"""``benchgrid work --restart-crashed``: a worker for the whole allocation (see :mod:`benchgrid.worker._in_allocation`)."""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence

__all__ = ["work_in_allocation"]


def work_in_allocation(argv: Sequence[str], project_dir: str | os.PathLike[str], *, name: str | None,
                       until: float | None) -> int:
    """Run ``python <argv>`` (a ``work`` command) as a child, again after a crash while ``until`` leaves time.

    The allocation started when this process did (the batch shell ``exec``\\ s
    it); the workers' ids start with ``name`` (``--name``, else the host).
    Returns the last worker's exit code.
    """
    from ..worker import process_started_s, run_restarting, worker_prefix

    return run_restarting(argv, root=project_dir, name=worker_prefix(name, socket.gethostname()), until=until,
                          started=process_started_s())
