"""Plain runner functions the core tests use (no ML)."""

from __future__ import annotations

import os
import time


def noop(**params):
    return None


def echo(i: int, **params):
    return {"value": i * 2}


def sleep(i: int = 0, seconds: float = 0.0, **params):
    time.sleep(seconds)
    return {"slept": seconds, "pid": os.getpid()}


def fail_some(i: int, fail_every: int = 3, **params):
    if i % fail_every == 0:
        raise ValueError(f"job {i} fails on purpose")
    return {"value": i}


def allocate(i: int, mb: int = 10, **params):
    block = bytearray(mb * 1024 * 1024)
    return {"bytes": len(block)}


def seeded(i: int, **params):
    from benchgrid import current_job

    return {"seed": current_job().seed}
