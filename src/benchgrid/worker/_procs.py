"""The processes a job starts: found wherever they went, ended with the job.

A worker that owns its process (``benchgrid work``) makes itself the leader
of a process group, so every process a job forks (a joblib pool, a shell
command) is in that group. A process can leave the group on purpose
(``setsid``, a daemon's double fork), and once its parent exits it is no
one's descendant any more: Linux hands an orphan to init. So the worker also
makes itself a *child subreaper* (``prctl(PR_SET_CHILD_SUBREAPER)``): every
orphan among its descendants is handed to it instead, whatever session or
group it moved to, and stays one of its descendants in ``/proc``.

When a job is stopped (time limit, memory guard, SIGTERM) or its worker
ends, :func:`kill_job_processes` SIGKILLs the worker's group and every
descendant, again until none is left (a process may fork while it is being
killed; a killed parent's children come to the worker), and reaps those that
are its children, so no zombie outlives the kill. A worker that dies itself
(SIGKILL, a segfault) is cleaned after by its supervisor: ``killpg`` of its
group, and, when it was forked by ``run``'s fork server, the server (a
subreaper too) kills the orphans handed to it (:func:`kill_orphans`).

The worker's cgroup is not used: on a laptop or a cgroup-v1 node it holds
other processes, and under SLURM or Grid Engine the scheduler already ends
the whole allocation's cgroup (or its added group id) when the task ends.

Linux only (reads ``/proc``); elsewhere the calls do nothing.

Examples
--------
What a worker does (not run here: it would adopt and kill this process's own children)::

    become_group_leader(); become_subreaper()   # at its start
    ...                                         # a job runs, forks, daemonizes
    kill_job_processes()                        # its time limit: none of them is left

>>> import subprocess, sys
>>> child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
>>> child.pid in descendants(os.getpid()) or not sys.platform.startswith("linux")
True
>>> child.kill(); child.wait()
-9
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import time
from typing import Callable

__all__ = ["become_group_leader", "become_subreaper", "descendants", "group_members", "kill_job_processes",
           "kill_orphans"]

PR_SET_CHILD_SUBREAPER = 36  # <linux/prctl.h>
KILL_WAIT_S = 5.0  # how long a kill keeps looking for processes that are still dying (uninterruptible I/O)


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


def become_subreaper() -> bool:
    """Adopt the orphans among this process's descendants (Linux); return whether it now does.

    A job's process that double-forks into a new session (a daemon) is then
    handed to this process when its parent exits, not to init, so
    :func:`descendants` still finds it. The setting is kept across ``execve``
    (a worker that restarts itself) and not given to children.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _stat_fields(pid: int) -> tuple[str, int, int] | None:
    """(state, parent pid, process group) of ``pid`` from /proc, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rfind(b")") + 2 :].split()
    return fields[0].decode(), int(fields[1]), int(fields[2])


def _table() -> dict[int, tuple[str, int, int]]:
    table: dict[int, tuple[str, int, int]] = {}
    if not sys.platform.startswith("linux"):
        return table
    for name in os.listdir("/proc"):
        if name.isdigit():
            fields = _stat_fields(int(name))
            if fields is not None:
                table[int(name)] = fields
    return table


def _below(table: dict[int, tuple[str, int, int]], roots: set[int]) -> set[int]:
    out: set[int] = set()
    parents = set(roots)
    while parents:
        parents = {pid for pid, (_st, pp, _pg) in table.items() if pp in parents and pid not in out}
        out |= parents
    return out


def descendants(pid: int) -> list[int]:
    """Every live (not zombie) descendant of ``pid``, from /proc (empty off Linux)."""
    table = _table()
    return sorted(p for p in _below(table, {pid}) if table[p][0] != "Z")


def group_members(pgid: int, *, ppid_of: int | None = None) -> list[int]:
    """Pids in process group ``pgid``, plus (with ``ppid_of``) every descendant of that pid."""
    table = _table()
    out = {pid for pid, (_st, _pp, pg) in table.items() if pg == pgid}
    if ppid_of is not None:
        out |= _below(table, {ppid_of})
    return sorted(out)


def _reap(pids: set[int]) -> None:
    """Collect the exit status of those of ``pids`` that ended and are our children (no zombie left)."""
    for pid in pids:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass  # not ours (a grandchild: its parent reaps it) or already reaped


def _kill_until_none(pick: Callable[[dict[int, tuple[str, int, int]]], set[int]]) -> int:
    """SIGKILL what ``pick(table)`` names until it names no live process; reap our children among them."""
    me = os.getpid()
    killed: set[int] = set()
    deadline = time.monotonic() + KILL_WAIT_S
    while True:
        table = _table()
        found = pick(table) - {me}
        live = {p for p in found if table[p][0] != "Z"}
        for pid in live:
            try:
                os.kill(pid, signal.SIGKILL)
                killed.add(pid)
            except OSError:
                pass
        _reap({p for p in found if table[p][1] == me})
        if not live or time.monotonic() > deadline:
            return len(killed)
        time.sleep(0.01)  # killed parents hand their children to us: look again


def kill_job_processes() -> int:
    """SIGKILL every other process of this worker's group and every descendant, reap them; return how many.

    Looks again until none is left (a process that forks while being killed,
    the children a killed parent hands to this subreaper), for at most
    :data:`KILL_WAIT_S` seconds.
    """
    me = os.getpid()
    group = me if os.getpgrp() == me else None

    def pick(table: dict[int, tuple[str, int, int]]) -> set[int]:
        members = {pid for pid, (_st, _pp, pg) in table.items() if pg == group} if group is not None else set()
        return members | _below(table, {me})

    return _kill_until_none(pick)


def kill_orphans(known: set[int]) -> int:
    """Kill and reap this process's children other than ``known``, and their descendants; return how many.

    For a subreaper that forks workers (``run``'s fork server): a child it
    did not fork was handed to it when a worker died and left processes
    behind (a daemon its job started), so it ends with that worker.
    """
    me = os.getpid()

    def pick(table: dict[int, tuple[str, int, int]]) -> set[int]:
        orphans = {pid for pid, (_st, pp, _pg) in table.items() if pp == me and pid not in known}
        return orphans | _below(table, orphans)

    return _kill_until_none(pick)
