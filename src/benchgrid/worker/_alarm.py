"""A job time limit inside the caller's own process (``run(n_workers=0)``, ``--workers 0``).

A worker that owns its process stops a job past ``job_timeout_s`` from a
watchdog thread and starts afresh (the job may be stuck in C code, whose
memory and threads cannot be taken back). In the caller's process that is
not possible: ending the process would end the user's notebook or debugger.
There the limit is a real-time alarm (``setitimer(ITIMER_REAL)`` and a
``SIGALRM`` handler) that raises :class:`JobTimedOut` in the job's thread,
the main one, so the job unwinds through its ``finally`` blocks and the
worker records the same lost run as a worker process would ("timed out
after N s", failed after ``max_attempts``).

The caller's own ``SIGALRM`` handler and timer are put back afterwards (a
timer that was running gets what was left of it). A Python loop and a C
call that returns on a signal (``time.sleep``, I/O, ``libc.sleep``) are
interrupted; a C loop that never returns to Python is not: debug mode runs
the user's code as it is. Off the main thread, or where there is no
``SIGALRM`` (Windows), there is no limit and :func:`job_time_limit` says so
once with a warning.

Examples
--------
>>> import time
>>> try:
...     with job_time_limit(0.05):
...         time.sleep(5)
... except JobTimedOut as err:
...     print(err)
timed out after 0.05 s
>>> with job_time_limit(None):        # no limit: nothing armed
...     pass
"""

from __future__ import annotations

import signal
import threading
import time
import warnings
from contextlib import contextmanager
from types import FrameType
from typing import Iterator

__all__ = ["JobTimedOut", "job_time_limit", "timeout_reason"]


class JobTimedOut(BaseException):
    """Raised in a job run in the caller's process when it passes ``job_timeout_s``.

    A ``BaseException``, like ``KeyboardInterrupt``: a runner's ``except
    Exception`` does not swallow it.
    """


def timeout_reason(timeout_s: float) -> str:
    """The reason a job past its time limit records, in a worker process or in-process.

    Examples
    --------
    >>> timeout_reason(600.0)
    'timed out after 600 s'
    """
    return f"timed out after {timeout_s:g} s"


_warned = False


@contextmanager
def job_time_limit(timeout_s: float | None) -> Iterator[None]:
    """Raise :class:`JobTimedOut` in the block once it has run ``timeout_s`` seconds (None: no limit)."""
    global _warned
    if timeout_s is None:
        yield
        return
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        if not _warned:
            _warned = True
            warnings.warn(
                f"job_timeout_s={timeout_s:g} is not enforced for jobs run in this process off its main "
                "thread (or without SIGALRM); run them with n_workers >= 1 for a time limit",
                RuntimeWarning, stacklevel=3,
            )
        yield
        return
    armed = True

    def on_alarm(signum: int, frame: FrameType | None) -> None:
        if armed:  # not once the block has ended (the alarm came as it returned)
            raise JobTimedOut(timeout_reason(timeout_s))

    old_handler = signal.signal(signal.SIGALRM, on_alarm)
    old_left_s, old_interval_s = signal.setitimer(signal.ITIMER_REAL, timeout_s)
    t0 = time.monotonic()
    try:
        yield
    finally:
        armed = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old_handler if old_handler is not None else signal.SIG_DFL)
        if old_left_s > 0:  # the caller's own timer goes on with what it had left (at least a tick)
            signal.setitimer(signal.ITIMER_REAL, max(old_left_s - (time.monotonic() - t0), 1e-3), old_interval_s)
