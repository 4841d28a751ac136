"""The hand-back signals, taken by one thread of the worker, never blocked for the job or its processes.

SIGTERM, SIGINT, SIGUSR1 and SIGUSR2 tell a worker to hand its jobs back
(:mod:`._hand_back`). They must be handled at once even while a job is stuck
in C code, and no thread of the runner (numpy's BLAS pool) may die by them.
:class:`HandbackSignals` does both without blocking them:

- a Python handler for each, so their action is no longer to end the process
  whichever thread the kernel picks (a disposition is the process's, not a
  thread's); the handler itself does nothing;
- the interpreter's wakeup fd (:func:`signal.set_wakeup_fd`): its C-level
  handler writes the signal's number into a pipe the moment the signal
  arrives, in any thread, even while the main thread is inside C code; the
  worker's signal thread reads that pipe (:meth:`HandbackSignals.wait`).

Before (issue 21's limit), the worker blocked them in every thread and
waited with ``sigwait``: a job's child processes inherited the blocked mask,
so a job that stopped its own child with ``Popen.terminate()``, or a process
pool stopping its workers with SIGTERM, waited for ever. Now a child that
``exec``\\ s starts with the signals unblocked and at their default action
(``exec`` resets handled signals); a child forked without ``exec``
(``multiprocessing``'s fork) is reset by an at-fork hook, so its SIGTERM ends
it instead of reaching this worker through the inherited pipe.

A process blocks them before it starts threads (the CLI does, before the
runner's imports; the fork server's child does); entering unblocks them in
the main thread, so signals that came meanwhile are delivered then. One
instance per process: entering again (the CLI, then ``Worker.run``) shares it.

Examples
--------
>>> import os, signal, threading
>>> with HandbackSignals() as signals:
...     os.kill(os.getpid(), signal.SIGUSR2)
...     signals.wait() == signal.SIGUSR2
True
>>> signal.getsignal(signal.SIGUSR2) == signal.SIG_DFL  # as it was
True
"""

from __future__ import annotations

import _signal
import os
import select
import signal
import threading
from types import FrameType

__all__ = ["HandbackSignals", "HANDBACK_SIGNALS", "RELEASED"]

# SIGUSR1: SLURM's warning (--signal); SIGUSR2: Grid Engine's (-notify, at h_rt and before qdel's kill)
HANDBACK_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1, signal.SIGUSR2)
RELEASED = 0  # what wait() returns after release(): no signal, the worker ended
_SIGNAL_NUMBERS = tuple(int(s) for s in HANDBACK_SIGNALS)


def _noted(signum: int, frame: FrameType | None) -> None:
    """The Python-level handler: nothing; the C-level one already wrote the number into the wakeup pipe."""


class HandbackSignals:
    """Route the hand-back signals into a pipe that one thread reads; undo it all on exit (in-process callers)."""

    _active: "HandbackSignals | None" = None  # the instance in force in this process
    _fork_hook_registered = False

    def __init__(self) -> None:
        self._depth = 0
        self._read_fd = self._write_fd = -1
        self._old_fd = -1
        self._old_handlers: dict[int, object] = {}
        self._old_mask: set[int] = set()

    def __enter__(self) -> "HandbackSignals":
        active = HandbackSignals._active
        if active is not None:  # entered again (the CLI armed it before the runner's imports): one pipe
            active._depth += 1
            return active
        if threading.current_thread() is not threading.main_thread():
            raise RuntimeError("the hand-back signals can be handled only from the main thread: "
                               "call Worker.run(handle_signals=False) from other threads")
        self._read_fd, self._write_fd = os.pipe()  # close-on-exec: a job's exec'd child does not get them
        os.set_blocking(self._write_fd, False)  # set_wakeup_fd needs it; a full pipe drops, never blocks
        self._old_fd = signal.set_wakeup_fd(self._write_fd, warn_on_full_buffer=False)
        self._old_handlers = {s: signal.signal(s, _noted) for s in HANDBACK_SIGNALS}
        # unblocked in this thread only after the handlers are in place: what came meanwhile arrives now
        self._old_mask = signal.pthread_sigmask(signal.SIG_UNBLOCK, HANDBACK_SIGNALS)
        self._depth = 1
        HandbackSignals._active = self
        if not HandbackSignals._fork_hook_registered:
            os.register_at_fork(after_in_child=HandbackSignals._reset_in_forked_child)
            HandbackSignals._fork_hook_registered = True
        return self

    def __exit__(self, *exc: object) -> None:
        self._depth -= 1
        if self._depth > 0:
            return
        signal.pthread_sigmask(signal.SIG_SETMASK, self._old_mask)
        _restore(self._old_handlers)
        signal.set_wakeup_fd(self._old_fd)
        HandbackSignals._active = None
        for fd in (self._read_fd, self._write_fd):
            os.close(fd)

    def wait(self) -> int:
        """The next hand-back signal's number, or :data:`RELEASED` after :meth:`release` (blocks; any thread)."""
        while True:
            try:
                data = os.read(self._read_fd, 1)
            except InterruptedError:  # pragma: no cover - PEP 475 retries; kept for other interpreters
                continue
            if not data:
                return RELEASED
            if data[0] == RELEASED or data[0] in HANDBACK_SIGNALS:
                return data[0]
            # another signal with a Python handler (an alarm): not ours

    def reassert(self) -> None:
        """Take the signals back if a job changed them (main thread, between jobs).

        A job's ``asyncio`` loop with signal handlers sets its own wakeup fd
        and, when closed, none; a library may install its own handlers. A
        signal that came meanwhile still reached the pipe if only the
        handler changed (any Python handler writes the wakeup fd).
        """
        if HandbackSignals._active is not self or threading.current_thread() is not threading.main_thread():
            return
        signal.set_wakeup_fd(self._write_fd, warn_on_full_buffer=False)  # ours again if a job changed it
        for s in _SIGNAL_NUMBERS:  # once per job: the raw lookup (signal.getsignal's enum conversion took 11 us)
            if _signal.getsignal(s) is not _noted:
                signal.signal(s, _noted)

    def pending(self) -> bool:
        """Whether a signal (or a release) waits in the pipe, not yet read by :meth:`wait` (never blocks)."""
        return bool(select.select([self._read_fd], [], [], 0)[0])

    def release(self) -> None:
        """Let a thread in :meth:`wait` go (the worker ended without a signal)."""
        os.write(self._write_fd, bytes([RELEASED]))

    @staticmethod
    def _reset_in_forked_child() -> None:
        """In a child forked without exec: default actions, no wakeup pipe (its SIGTERM is its own)."""
        active = HandbackSignals._active
        if active is None:
            return
        HandbackSignals._active = None
        try:
            signal.set_wakeup_fd(-1)
            _restore(active._old_handlers)  # what the worker's process had before (default actions, as a rule)
        except ValueError:  # pragma: no cover - not the child's main thread (cannot happen after fork)
            return
        for fd in (active._read_fd, active._write_fd):
            try:
                os.close(fd)
            except OSError:
                pass


def _restore(handlers: dict[int, object]) -> None:
    """Put back the handlers :func:`signal.signal` returned (``None``, one set outside Python, as the default)."""
    for s, handler in handlers.items():
        signal.signal(s, signal.SIG_DFL if handler is None else handler)  # type: ignore[arg-type]
