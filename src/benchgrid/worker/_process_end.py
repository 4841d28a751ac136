"""A worker process that ended, seen by the process that started it: its end in words, its jobs put back.

Both parents of worker processes use it: ``run``'s supervisor
(:mod:`benchgrid.backends.local._supervisor`) and the allocation's parent of
``work --restart-crashed`` (:mod:`._in_allocation`). The parent knows how its
child ended, so the job the child was running counts a lost run whose reason
names it ("killed by SIGSEGV"), at once, not a lease later; a SIGKILL while
the kernel's OOM counter rose moves the job to a larger memory class instead.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

from ..store import Claim, Queue, expire_worker
from ._memory import oom_evidence

__all__ = ["describe_exit", "expire_ended_process", "worker_ids_of"]


def describe_exit(returncode: int) -> str:
    """The end of a process in words.

    Examples
    --------
    >>> describe_exit(-9)
    'killed by SIGKILL'
    >>> describe_exit(3)
    'exit status 3'
    """
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit status {returncode}"


def worker_ids_of(workers_dir: Path, name: str, pid: int) -> list[str]:
    """The worker ids process ``pid``, started as ``--name name``, had (``<name>-<pid>-<hex>``; several if it re-executed).

    >>> worker_ids_of(Path("/nowhere"), "w", 1)
    []
    """
    try:
        entries = os.listdir(workers_dir)
    except OSError:
        return []
    return sorted(e for e in entries if e.startswith(f"{name}-{pid}-"))


def expire_ended_process(queue: Queue, name: str, pid: int, returncode: int, *, by: str, reason: str | None = None,
                         count_lost: bool = True) -> tuple[list[Claim], str | None]:
    """Put back the jobs of the worker(s) process ``pid``, started as ``--name name``, held when it ended.

    Returns the claims put back or failed, and the kernel's word when it
    was an OOM kill (its job then moved to a larger memory class). A
    process that re-executed itself has several worker ids; each is
    expired once (:func:`~benchgrid.store.expire_worker`).
    """
    oom: list[str] = []

    def out_of_memory(lease: dict[str, Any]) -> str | None:
        # issue 13: a SIGKILL while the cgroup's OOM counter went up (read from the kernel now,
        # against the count in the lease read under the lock) is the OOM killer's: the job escalates
        why = oom_evidence(lease)
        if why is not None:
            oom.append(why)
        return why

    lost: list[Claim] = []
    for wid in worker_ids_of(queue.layout.workers_dir, name, pid):
        lost += expire_worker(queue, wid, reason=reason or describe_exit(returncode), by=by, count_lost=count_lost,
                              out_of_memory=out_of_memory if returncode == -signal.SIGKILL else None)
    return lost, (oom[0] if oom else None)
