"""A runner that sleeps: for load-balance benchmarks and smoke tests."""

from __future__ import annotations

import time
from typing import Any


def sleep(seconds: float = 0.0, **params: Any) -> dict[str, float]:
    """Sleep ``seconds`` and report it.

    Examples
    --------
    >>> sleep(0.0)
    {'slept_s': 0.0}
    """
    time.sleep(seconds)
    return {"slept_s": seconds}
