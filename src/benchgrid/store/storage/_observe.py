"""Judging a lease without comparing clocks: how long *this* process has seen it unchanged.

Invariant 10 of DESIGN.md: no decision compares one host's clock with
another's. A lease (the project lock, a worker's heartbeat file) says "I am
alive" by changing; whether it is over is judged the way Chubby, etcd and
ZooKeeper sessions judge it: the observer notes, on its own monotonic clock,
when it first read a given lease content, and the lease is over once the
observer has seen that very content for longer than the lease. Writers put
something unique in every write (a random token, a counter), so the same
content read at two moments means nobody wrote in between. A writer's
clock, however wrong, never enters: only the rate of the observer's
monotonic clock does, and rates drift by parts per million (a host whose
time daemon died is minutes off, not minutes per minute).

Bounds are taken on the safe side: a content first read during
``[s1, e1]`` and read again during ``[s2, e2]`` was unchanged for at least
``s2 - e1``.

A file server that stops (failover, overload, SIGSTOP on a test bed) freezes
every writer and every reader together; when it resumes, every lease looks
as old as the pause. So an observer that was itself stalled (one of its own
file operations took longer than :data:`STALL_S`) adds the stall to its
judgement (:func:`note_stall`, :func:`stalled_since`): a pause of the server
is seen by all and revokes nobody.

Examples
--------
>>> watch = LeaseWatch()
>>> watch.seen_for("w1", ("beat", 1), read_s=(5010.0, 5010.1))
0.0
>>> round(watch.seen_for("w1", ("beat", 1), read_s=(5025.0, 5025.1)), 3)
14.9
>>> watch.seen_for("w1", ("beat", 2), read_s=(5030.0, 5030.1))  # it changed: alive, watch again
0.0
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from pathlib import Path
from collections import deque
from typing import Hashable

__all__ = ["LeaseWatch", "STALL_S", "note_stall", "stalled_since", "timed", "clock_offset_s", "CLOCK_NOTE_S", "MAX_CLOCK_OFFSET_S"]

CLOCK_NOTE_S = 60.0  # `status` names workers whose clock is further than this off the file server's
MAX_CLOCK_OFFSET_S = 86_400.0  # a worker refuses to start further off: the host's clock is broken (timelines would lie)

STALL_S = 1.0  # a file operation slower than this means the observer (or its file server) stalled
_KEEP_STALLS = 64

_stalls: deque[tuple[float, float]] = deque(maxlen=_KEEP_STALLS)  # (monotonic end, seconds)
_stalls_lock = threading.Lock()


def note_stall(started: float, ended: float) -> None:
    """Record one of this process's own file operations, from ``time.monotonic()`` before and after it.

    Only operations slower than :data:`STALL_S` are kept (the last 64).

    Examples
    --------
    >>> note_stall(1000.0, 1003.5)
    >>> stalled_since(999.0) >= 3.5
    True
    """
    if ended - started > STALL_S:
        with _stalls_lock:
            _stalls.append((ended, ended - started))


def stalled_since(t: float) -> float:
    """Seconds this process spent stalled in operations that ended after monotonic time ``t``."""
    with _stalls_lock:
        return sum(seconds for end, seconds in _stalls if end > t)


class timed:
    """Context manager that times a file operation and notes it if it stalled.

    Examples
    --------
    >>> with timed() as t:
    ...     pass
    >>> t.started <= t.ended
    True
    """

    def __enter__(self) -> "timed":
        self.started = self.ended = time.monotonic()
        return self

    def __exit__(self, *exc: object) -> None:
        self.ended = time.monotonic()
        note_stall(self.started, self.ended)


class LeaseWatch:
    """What this process has seen of each lease, and since when (its own monotonic clock).

    One per observer that judges leases repeatedly (a worker, a supervisor,
    a lock waiter); a process that looks once cannot judge a lease by time
    and must rely on other evidence (a pid gone from this machine).
    """

    def __init__(self) -> None:
        self._seen: dict[Hashable, tuple[Hashable, float, bool]] = {}  # content, first seen, changed before
        self._lock = threading.Lock()

    def seen_for(self, key: Hashable, content: Hashable, read_s: tuple[float, float]) -> float:
        """Record a read of lease ``key`` with ``content``; return for how long it is known unchanged.

        ``read_s`` is ``(monotonic before, monotonic after)`` the read. The
        answer is in seconds of this observer's clock, less the time this
        process was stalled since the content was first read.
        """
        started, ended = read_s
        note_stall(started, ended)
        with self._lock:
            prev = self._seen.get(key)
            if prev is None or prev[0] != content:
                self._seen[key] = (content, ended, prev is not None)
                return 0.0
            first = prev[1]
        return max(0.0, started - first - stalled_since(first))

    def changed(self, key: Hashable) -> bool:
        """True once this process has seen lease ``key`` change (its writer was alive then)."""
        with self._lock:
            prev = self._seen.get(key)
            return prev is not None and prev[2]

    def forget(self, keep: set[Hashable] | None = None) -> None:
        """Forget every lease (or every lease but ``keep``): a lease that went away is watched afresh."""
        with self._lock:
            if keep is None:
                self._seen.clear()
            else:
                for key in [k for k in self._seen if k not in keep]:
                    del self._seen[key]


def clock_offset_s(folder: Path) -> float:
    """How far this host's clock is ahead of the file server's (seconds; negative: behind).

    Measured once from a small file written in ``folder`` (its modification
    time is the server's; on a local disk, this kernel's: a process under
    libfaketime is measured against the true time) and removed. Only for
    people and the sanity check at a worker's start: no decision about a
    lease uses it.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> abs(clock_offset_s(pathlib.Path(tempfile.mkdtemp()))) < 5
    True
    """
    path = folder / f".clock.{os.getpid()}.{secrets.token_hex(4)}"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        before = time.time()
        os.write(fd, b"t")
        os.fsync(fd)  # the write reaches the server, which stamps it
        after = time.time()
        server = os.fstat(fd).st_mtime
    finally:
        os.close(fd)
        try:
            os.unlink(path)
        except OSError:
            pass
    return (before + after) / 2 - server
