"""``--where column=value`` filters of the CLI (retry, results)."""

from __future__ import annotations

import json
from typing import Any

from .._errors import InputError

__all__ = ["parse_where"]


def parse_where(items: list[str]) -> dict[str, Any] | None:
    """``["learner_id=rf", "iteration=2"]`` -> ``{"learner_id": "rf", "iteration": 2}``.

    Values that read as JSON numbers, booleans or null are those; the rest are strings.

    Examples
    --------
    >>> parse_where(["learner_id=rf", "iteration=2"])
    {'learner_id': 'rf', 'iteration': 2}
    >>> parse_where(["rf"])
    Traceback (most recent call last):
    ...
    benchgrid._errors.InputError: --where must be column=value, got 'rf'; e.g. --where learner_id=rf
    """
    if not items:
        return None
    out: dict[str, Any] = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or not name:
            raise InputError(f"--where must be column=value, got {item!r}; e.g. --where learner_id=rf")
        try:
            value = json.loads(text)
            if isinstance(value, (dict, list, str)):
                value = text
        except ValueError:
            value = text
        out[name] = value
    return out
