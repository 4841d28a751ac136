"""How much memory a worker may use, and how much it uses now.

A worker's budget comes from, in order: ``--mem-gb``; SLURM's allocation
(``SLURM_MEM_PER_NODE``, or ``SLURM_MEM_PER_CPU`` × CPUs, in MB); Grid
Engine's ``h_vmem`` is passed as ``--mem-gb`` by its script; the cgroup v2
limit of the worker's own cgroup (``memory.max``); ``RLIMIT_AS`` (``ulimit
-v``). None means unknown: the worker then claims from every memory lane.

Examples
--------
>>> budget_gb(2.5)
(2.5, '--mem-gb')
>>> rss_gb() > 0
True
"""

from __future__ import annotations

import os
import resource
from pathlib import Path

__all__ = ["budget_gb", "rss_gb"]

_GB = 1024**3


def _slurm_gb(env: dict[str, str]) -> float | None:
    try:
        if env.get("SLURM_MEM_PER_NODE"):
            return int(env["SLURM_MEM_PER_NODE"]) / 1024
        if env.get("SLURM_MEM_PER_CPU"):
            cpus = int(env.get("SLURM_CPUS_ON_NODE") or env.get("SLURM_CPUS_PER_TASK") or 1)
            return int(env["SLURM_MEM_PER_CPU"]) * cpus / 1024
    except ValueError:
        return None
    return None


def _cgroup_gb() -> float | None:
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            if line.startswith("0::"):
                limit = (Path("/sys/fs/cgroup") / line[3:].lstrip("/") / "memory.max").read_text().strip()
                return None if limit == "max" else int(limit) / _GB
    except (OSError, ValueError):
        return None
    return None


def _rlimit_gb() -> float | None:
    soft, _hard = resource.getrlimit(resource.RLIMIT_AS)
    return None if soft == resource.RLIM_INFINITY else soft / _GB


def budget_gb(mem_gb: float | None = None, env: dict[str, str] | None = None) -> tuple[float | None, str]:
    """The worker's memory budget in GB and where it came from."""
    if mem_gb is not None:
        return float(mem_gb), "--mem-gb"
    env = dict(os.environ) if env is None else env
    for value, source in ((_slurm_gb(env), "SLURM allocation"), (_cgroup_gb(), "cgroup memory.max"), (_rlimit_gb(), "ulimit -v")):
        if value is not None:
            return value, source
    return None, "unknown"


def rss_gb(pid: int | None = None) -> float:
    """Resident memory of a process now (this one by default), in GB."""
    with open(f"/proc/{pid or os.getpid()}/statm", "rb") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / _GB
