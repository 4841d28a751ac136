"""Fault injection: a process that kills itself right after step k of a multi-step write.

Set ``BENCHGRID_KILL_AT`` to a step name (``claim.published``) or a name and
a count (``claim.published:3`` = the third time that step is passed). The
process then sends itself SIGKILL at that point, so tests can show that a
crash between any two steps of a claim, a recovery, a hand-back, an add or
a drop neither loses nor duplicates a job. Unset, :func:`fault_point` costs one
dictionary lookup.

Steps (in the order they happen):

``claim.locked``       lock taken, nothing read yet
``claim.published``    the worker's lease names the claims, no claim record yet
``claim.appended``     claim record written, lock still held
``lane.added``         a lane added for a class first needed (issue 21), no job put in it yet
``putback.locked``     lock taken by a recovery or a hand-back, nothing written
``putback.written``    requeue records written, lock still held
``recover.events``     a recovery's events written, marker not yet
``recover.marked``     a recovery's ``revoked`` marker written
``handback.recorded``  a hand-back's records written in the worker's own log
``add.rows``           new job-table rows written, not yet committed
``add.committed``      the commit record written, lock still held
``drop.locked``        lock taken by a drop or an undrop, nothing written
``drop.written``       the drop (or undrop) record written in ``drops.log``, not yet committed
``drop.committed``     its commit record written in ``claims.log``, lock still held
``pool.ending``        a pool's ending allocation recorded itself, no successor submitted yet
``pool.submitted``     its successors submitted, not yet recorded in the ledger

``BENCHGRID_PAUSE_AT`` (``name:seconds``) makes the process sleep at a
:func:`pause_point` instead (saying so on stderr first), so a test can hold
a process between two steps of the lock protocol while others go on:

``lock.judged_expired``  a waiter read the holder's lock, found its lease over, broke nothing yet
``lock.held``            the lock was just taken, nothing done under it yet

``BENCHGRID_FAIL_AT`` (``name:ERRNO`` or ``name:ERRNO:count``, e.g.
``lock.fstat:ENOENT:3``) makes an :func:`error_point` raise that ``OSError``
once, the count-th time it is passed: the races a shared filesystem plays on
files the protocol itself removes or renames (issue 25), at the step where
they strike:

``lock.open``          a waiter opens the lock to read its lease
``lock.fstat``         ... and reads its attributes (the holder just unlinked it)
``lock.read``          ... and its content
``lock.link``          a waiter links its claim file to the lock
``lock.rename``        a breaker renames the expired lock away
``lease.read``         a worker's heartbeat file is read (replaced by rename meanwhile)

Examples
--------
>>> fault_point("claim.locked")   # no BENCHGRID_KILL_AT: nothing happens
>>> error_point("lock.link")      # no BENCHGRID_FAIL_AT: nothing happens
"""

from __future__ import annotations

import os
import signal
from collections import Counter

__all__ = ["fault_point", "pause_point", "error_point", "FAULT_STEPS", "PAUSE_STEPS", "ERROR_STEPS"]

FAULT_STEPS = (
    "claim.locked",
    "claim.published",
    "claim.appended",
    "putback.locked",
    "putback.written",
    "recover.events",
    "recover.marked",
    "handback.recorded",
    "add.rows",
    "add.committed",
    "drop.locked",
    "drop.written",
    "drop.committed",
    "pool.ending",
    "pool.submitted",
)

PAUSE_STEPS = ("lock.judged_expired", "lock.held")

ERROR_STEPS = ("lock.open", "lock.fstat", "lock.read", "lock.link", "lock.rename", "lease.read")

_passed: Counter[str] = Counter()


def _aimed_at(variable: str, step: str) -> str | None:
    """What follows ``step:`` in the environment ``variable`` when it names ``step`` (else None)."""
    spec = os.environ.get(variable)
    if not spec:
        return None
    name, _, rest = spec.partition(":")
    return rest if name == step else None


def fault_point(step: str) -> None:
    """Kill this process with SIGKILL if ``BENCHGRID_KILL_AT`` names ``step`` (and its count is reached)."""
    count = _aimed_at("BENCHGRID_KILL_AT", step)
    if count is None:
        return
    _passed[step] += 1
    if _passed[step] >= int(count or 1):
        os.kill(os.getpid(), signal.SIGKILL)


def pause_point(step: str) -> None:
    """Sleep if ``BENCHGRID_PAUSE_AT`` is ``step:seconds`` (once per process).

    Examples
    --------
    >>> pause_point("lock.held")   # no BENCHGRID_PAUSE_AT: nothing happens
    """
    spec = os.environ.get("BENCHGRID_PAUSE_AT")
    if not spec:
        return
    name, _, seconds = spec.partition(":")
    if name != step or _passed["pause:" + step]:
        return
    _passed["pause:" + step] += 1
    import sys
    import time

    print(f"benchgrid: pausing at {step} for {float(seconds or 1):g} s", file=sys.stderr, flush=True)
    time.sleep(float(seconds or 1))


def error_point(step: str, path: object = None) -> None:
    """Raise the ``OSError`` that ``BENCHGRID_FAIL_AT`` names for ``step`` (once, at its count).

    Examples
    --------
    >>> import os, errno
    >>> os.environ["BENCHGRID_FAIL_AT"] = "lease.read:ESTALE"
    >>> import contextlib, io
    >>> try:
    ...     with contextlib.redirect_stderr(io.StringIO()):
    ...         error_point("lease.read", "lease.json")
    ... except OSError as err:
    ...     print(errno.errorcode[err.errno], err.filename)
    ESTALE lease.json
    >>> error_point("lease.read")  # once only
    >>> del os.environ["BENCHGRID_FAIL_AT"]
    """
    rest = _aimed_at("BENCHGRID_FAIL_AT", step)
    if rest is None:
        return
    code, _, count = rest.partition(":")
    _passed["fail:" + step] += 1
    if _passed["fail:" + step] == int(count or 1):
        import errno
        import sys

        number = getattr(errno, code or "ESTALE")
        print(f"benchgrid: injected {code or 'ESTALE'} at {step}", file=sys.stderr, flush=True)
        raise OSError(number, os.strerror(number), None if path is None else str(path))
