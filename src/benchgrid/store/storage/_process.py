"""Which process wrote a lease, and whether it still runs: pids compared on their own machine only.

A lease (a worker's heartbeat file, the project lock) records its writer's
host, boot id (plus pid namespace), pid and the pid's start time. A reader on
the same machine and boot can then tell at once that the writer is gone,
without waiting for a lease to run out, and a reused pid cannot fool it
(its start time differs). Readers elsewhere learn nothing from a pid.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

__all__ = ["process_identity", "on_this_machine", "process_gone"]


@lru_cache(maxsize=1)
def _this_machine() -> tuple[str, str]:
    """(host name, boot id + pid namespace): pids compare only within one kernel and namespace."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            boot = f.read().strip()
        boot += ":" + os.readlink("/proc/self/ns/pid")
    except OSError:
        boot = ""
    return socket.gethostname(), boot


def _start_time(pid: int) -> str | None:
    """The start time of a live process (clock ticks since boot), or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    except OSError:
        return ""  # cannot tell (no /proc, no access): not evidence of death
    fields = stat[stat.rfind(b")") + 2 :].split()
    return None if fields[0] == b"Z" else fields[19].decode()  # a zombie has ended


def process_identity(pid: int | None = None) -> dict[str, Any]:
    """What a lease records so that same-host readers can tell its process died.

    Examples
    --------
    >>> ident = process_identity()
    >>> sorted(ident)
    ['boot', 'host', 'pid', 'pid_start']
    """
    pid = os.getpid() if pid is None else pid
    host, boot = _this_machine()
    return {"host": host, "boot": boot, "pid": pid, "pid_start": _start_time(pid)}


def on_this_machine(lease: Mapping[str, Any]) -> bool:
    """True when the lease was written on this machine since its last boot (its pids and cgroups are ours).

    Examples
    --------
    >>> on_this_machine(process_identity()), on_this_machine({"host": "elsewhere"})
    (True, False)
    """
    host, boot = _this_machine()
    return bool(boot) and lease.get("host") == host and lease.get("boot") == boot


def process_gone(lease: Mapping[str, Any]) -> bool:
    """True when the lease names a process of this machine that no longer runs."""
    host, boot = _this_machine()
    if not boot or lease.get("host") != host or lease.get("boot") != boot or not lease.get("pid_start"):
        return False
    start = _start_time(int(lease["pid"]))
    return start is None or (start != "" and start != lease["pid_start"])


