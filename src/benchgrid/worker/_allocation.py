"""A worker inside a scheduler allocation: its start, its warning signal, a job too long for it (issue 21).

Three facts a worker of a 1-minute allocation gets wrong if it trusts the
scheduler's words alone (measured with ``benchmarks/bench_campaign.py``,
docs/performance.md):

- **SLURM's warning comes early.** ``--signal=B:USR1@60`` is sent by the
  controller's periodic check, "up to 60 seconds earlier than specified"
  (sbatch(1)); on the local SLURM the warning of a 1-minute allocation came
  after 20-29 s. The worker knows the end of its allocation (the batch script
  reads it from ``squeue -o %e``) and so its deadline: a warning before that
  deadline is noted and the worker goes on (:func:`warning_is_early`); at the
  deadline it hands back as at the warning. ``SIGTERM``, ``SIGINT`` and Grid
  Engine's ``SIGUSR2`` (``-notify``, also what ``qdel`` sends first) are
  always obeyed.
- **The allocation starts before Python does.** The batch shell ``exec``\\ s
  the worker, so the process's start time (``/proc/self/stat``) is the
  allocation's start on the node, and an allocation's accounted time covers
  the shell, the setup lines and the imports (:func:`process_started_s`).
- **A job that ran through the whole allocation cannot fit one.** Handed back
  at the limit of a scheduler allocation after running most of what it gives
  (:func:`ran_whole_allocation`), it is failed as too long at once: a second
  allocation as long would only run it to the limit again.

Examples
--------
>>> warning_is_early(until=1000.0, now=970.0), warning_is_early(until=1000.0, now=999.5), warning_is_early(None, 5.0)
(True, False, False)
>>> slurm = {"BENCHGRID_SCHEDULER_JOB_ID": "7_1"}
>>> ran_whole_allocation(43.0, limit_s=45.0, environ=slurm), ran_whole_allocation(20.0, limit_s=45.0, environ=slurm)
(True, False)
>>> ran_whole_allocation(43.0, limit_s=45.0, environ={})  # a worker started by hand with --until
False
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping

__all__ = ["warning_is_early", "process_started_s", "ran_whole_allocation", "EARLY_GRACE_S", "WHOLE_SHARE"]

EARLY_GRACE_S = 1.0  # a warning this close to the deadline is the deadline (the heartbeat signals itself at it)
WHOLE_SHARE = 0.9  # a job that ran this share of an allocation's usable time would not fit a fresh one either


def warning_is_early(until: float | None, now: float) -> bool:
    """Whether a scheduler's warning signal came before this worker's own deadline ``until`` (epoch s).

    ``until`` is ``None`` when the allocation's end is unknown: then the
    warning is all the worker knows, and it is obeyed.
    """
    return until is not None and now < until - EARLY_GRACE_S


def ran_whole_allocation(elapsed_s: float, *, limit_s: float, environ: Mapping[str, str] | None = None) -> bool:
    """Whether a job handed back at the limit after ``elapsed_s`` ran (nearly) all of the ``limit_s`` an allocation gives.

    Only inside a scheduler allocation (its script exports
    ``BENCHGRID_SCHEDULER_JOB_ID``), whose successors are as long: a worker
    started by hand with a short ``--until`` says nothing of the next one,
    and a job it cut is queued again.
    """
    env = os.environ if environ is None else environ
    return bool(env.get("BENCHGRID_SCHEDULER_JOB_ID")) and elapsed_s >= WHOLE_SHARE * limit_s


def process_started_s(pid: int | None = None) -> float:
    """When this process started (epoch s, this host's clock); ``time.time()`` where ``/proc`` does not say.

    Under a scheduler the batch shell ``exec``\\ s the worker, so this is when
    the allocation's script started, before the setup lines and the imports.

    Examples
    --------
    >>> 0 <= time.time() - process_started_s() < 3600 * 24 * 365
    True
    """
    try:
        with open(f"/proc/{pid or os.getpid()}/stat", "rb") as f:
            stat = f.read()
        ticks = int(stat[stat.rfind(b")") + 2:].split()[19])  # field 22, starttime, in clock ticks after boot
        with open("/proc/uptime", "rb") as f:  # seconds since boot, to 10 ms (/proc/stat's btime is whole seconds)
            uptime = float(f.read().split()[0])
        return time.time() - max(0.0, uptime - ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return time.time()
