"""The processes a job starts: kept in the worker's process group, ended with the job.

A worker that owns its process (``benchgrid work``) makes itself the leader
of a process group, so every process a job forks (a joblib pool, a shell
command) is in that group unless it leaves it on purpose (``setsid``).
When a job is stopped (time limit, SIGTERM) or its worker dies, those
processes are killed too: :func:`kill_job_processes` from inside the
worker, ``killpg`` from the supervisor that saw the worker die.

Linux only (reads ``/proc``); elsewhere the calls do nothing.
"""

from __future__ import annotations

import os
import signal
import sys

__all__ = ["become_group_leader", "kill_job_processes", "group_members"]


def become_group_leader() -> bool:
    """Lead a process group of our own unless that would take Ctrl-C away from us.

    A worker in the terminal's foreground group (``benchgrid work`` typed in a
    shell, which already made it a group leader) stays there; one started by
    a scheduler or a supervisor moves to a group of its own. Returns whether
    this process now leads its group.
    """
    try:
        if os.getpgrp() == os.getpid():
            return True
        if os.isatty(0) and os.tcgetpgrp(0) == os.getpgrp():
            return False  # in a terminal pipeline: keep the user's Ctrl-C
        os.setpgid(0, 0)
    except OSError:
        pass
    return os.getpgrp() == os.getpid()


def _stat_fields(pid: int) -> tuple[int, int] | None:
    """(parent pid, process group) of ``pid`` from /proc, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rfind(b")") + 2 :].split()
    return int(fields[1]), int(fields[2])


def group_members(pgid: int, *, ppid_of: int | None = None) -> list[int]:
    """Pids in process group ``pgid``, plus (with ``ppid_of``) every descendant of that pid."""
    if not sys.platform.startswith("linux"):
        return []
    table: dict[int, tuple[int, int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            fields = _stat_fields(int(name))
            if fields is not None:
                table[int(name)] = fields
    out = {pid for pid, (_pp, pg) in table.items() if pg == pgid}
    if ppid_of is not None:
        parents = {ppid_of}
        while True:
            children = {pid for pid, (pp, _pg) in table.items() if pp in parents and pid not in out}
            if not children:
                break
            out |= children
            parents = children
    return sorted(out)


def kill_job_processes() -> int:
    """SIGKILL every other process of this worker's group and every descendant; return how many."""
    me = os.getpid()
    pgid = os.getpgrp()
    victims = [p for p in group_members(pgid if pgid == me else -1, ppid_of=me) if p != me]
    n = 0
    for pid in victims:
        try:
            os.kill(pid, signal.SIGKILL)
            n += 1
        except OSError:
            pass
    return n
