"""A runner that does nothing: for benchmarks of the claim loop and smoke tests."""

from __future__ import annotations

from typing import Any


def noop(**params: Any) -> None:
    """Do nothing and record nothing.

    Examples
    --------
    >>> noop(i=1) is None
    True
    """
    return None
