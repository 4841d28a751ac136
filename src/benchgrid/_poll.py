"""The one poll loop: look, show, until done.

``run``'s progress bar, its plain-line progress in a notebook, the supervisor's
wait and ``benchgrid status --watch`` all poll a project the same way. Between
two looks it waits ``poll_s``, or five times what the last look cost when that
is longer: reading a big project's logs is a pass over them, so watching it
never takes more than about a sixth of a core.

Examples
--------
>>> seen = []
>>> poll(iter([1, 2, 3]).__next__, seen.append, lambda v: v == 3, poll_s=0.0)
3
>>> seen
[1, 2, 3]
"""

from __future__ import annotations

import time
from typing import Callable, TypeVar

__all__ = ["poll"]

T = TypeVar("T")
_NOTHING: object = object()


def poll(
    look: Callable[[], T],
    show: Callable[[T], None],
    done: Callable[[T], bool],
    *,
    poll_s: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
    first: object = _NOTHING,
) -> T:
    """Call ``look``, pass what it gives to ``show``, until ``done`` says so; return the last look.

    ``first`` is a look already taken (shown first, without looking again);
    ``sleep(seconds)`` waits between looks (a caller that can be woken early,
    by its workers ending, passes its own).
    """
    t0 = time.perf_counter()
    value: T = look() if first is _NOTHING else first  # type: ignore[assignment]
    cost = time.perf_counter() - t0 if first is _NOTHING else 0.0
    while True:
        show(value)
        if done(value):
            return value
        sleep(max(poll_s, 5 * cost))
        t0 = time.perf_counter()
        value = look()
        cost = time.perf_counter() - t0
