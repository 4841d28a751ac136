"""A pool's budget in core-hours: ``submit --until-done --max-core-hours H`` (issue 21).

An allocation's cost is its CPUs times the seconds it ran, measured by the
worker from the start of its process (the batch shell that ``exec``\\ s it, so
the shell, setup and imports count) to its decision; an allocation still live
or pending may cost up to its time limit. A successor is submitted only when
what ended plus what is live or pending at its limit, the successor included,
stays within ``H``: the budget is a cap, never passed (an allocation that
runs over its nominal limit by the scheduler's own slack aside). When the
budget cannot pay one more allocation and none is live, the chain stops and
``status`` says so with the core-hours used.

Examples
--------
>>> check_max_core_hours(2.5, limit_s=3600, cpus=1, n_workers=2)
2.5
>>> affordable(4, used_core_s=3600.0, live=1, limit_s=600, cpus=2, max_core_hours=2.0)
2
"""

from __future__ import annotations

import math
from typing import Any

from .._errors import InputError

__all__ = ["check_max_core_hours", "affordable", "allocation_core_s"]


def check_max_core_hours(value: Any, *, limit_s: int | None, cpus: int, n_workers: int) -> float:
    """``max_core_hours`` checked: a number > 0 that pays at least the first ``n_workers`` allocations.

    Examples
    --------
    >>> try:
    ...     check_max_core_hours(0.01, limit_s=3600, cpus=1, n_workers=2)
    ... except InputError as err:
    ...     print(err)  # doctest: +NORMALIZE_WHITESPACE
    max_core_hours must pay for the first 2 allocation(s) of 1 CPU(s) for 1:00:00 (2 core-hour(s)), got 0.01;
    give --max-core-hours 2 or more, or fewer --workers or a shorter --time
    """
    from .._format import fmt_seconds

    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise InputError(f"max_core_hours must be a number of core-hours > 0, such as 500 or 2.5, got {value!r}")
    if limit_s is None:
        raise InputError("max_core_hours needs a time limit per allocation (--time), since an allocation still "
                         f"running may use up to it; got max_core_hours={value!r} and no time")
    first = n_workers * allocation_core_s(limit_s, cpus) / 3600
    if value < first:
        raise InputError(f"max_core_hours must pay for the first {n_workers} allocation(s) of {cpus} CPU(s) for "
                         f"{fmt_seconds(limit_s)} ({first:g} core-hour(s)), got {value!r}; give --max-core-hours "
                         f"{first:g} or more, or fewer --workers or a shorter --time")
    return float(value)


def allocation_core_s(limit_s: float, cpus: int) -> float:
    """The most one allocation can cost (core-seconds)."""
    return float(limit_s) * max(1, int(cpus))


def affordable(n: int, *, used_core_s: float, live: int, limit_s: float, cpus: int, max_core_hours: float) -> int:
    """How many of ``n`` successors the budget pays, live and pending allocations counted at their limit."""
    per = allocation_core_s(limit_s, cpus)
    left = max_core_hours * 3600 - used_core_s - live * per
    return max(0, min(n, int(left // per + 1e-9)))
