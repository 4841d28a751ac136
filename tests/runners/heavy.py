"""A runner module that, like every ML runner, starts threads when imported (numpy's BLAS pool)."""

from __future__ import annotations

import numpy as np

from .jobs import mark_and_sleep

__all__ = ["mark_and_sleep_numpy"]


def mark_and_sleep_numpy(**params):
    np.dot(np.ones((64, 64)), np.ones((64, 64)))  # make sure the thread pool exists
    return mark_and_sleep(**params)
