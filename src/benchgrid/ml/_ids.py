"""Ids of tasks and learners: safe file names, unique, stable content keys."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, Iterable

from .._errors import InputError

__all__ = ["check_id", "check_unique", "digest", "EXPECTED_MEM_KEY", "EXPECTED_S_KEY"]

EXPECTED_MEM_KEY = "expected_mem_gb"  # the memory_key of ML projects created with memory_gb= (issue 13)
EXPECTED_S_KEY = "expected_s"  # the time_key of ML projects created with time_s= (issue 21)

# Ids name files under inputs/ and rows in result tables, on any filesystem.
_SAFE_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+=-]{0,99}")


def check_id(kind: str, value: Any) -> str:
    """Return ``value`` if it is a safe id, else raise :class:`InputError`.

    Examples
    --------
    >>> check_id("task id", "easy")
    'easy'
    >>> check_id("task id", "../x")
    Traceback (most recent call last):
    ...
    benchgrid._errors.InputError: task id must be a safe file name ...
    """
    if not isinstance(value, str) or not _SAFE_ID.fullmatch(value) or ".." in value:
        raise InputError(
            f"{kind} must be a safe file name (1 to 100 of A-Z a-z 0-9 _ . + = -, "
            f"not starting with '.', '-' or '+', no '..'), got {value!r}; "
            "rename it, e.g. 'my_task' or 'ridge-0.1'"
        )
    return value


def check_unique(kind: str, ids: Iterable[str]) -> None:
    """Raise :class:`InputError` if an id appears twice."""
    seen: set[str] = set()
    for i in ids:
        if i in seen:
            raise InputError(
                f"{kind} ids must be unique, got {i!r} twice; give each one its own id"
            )
        seen.add(i)


_json_str = json.encoder.encode_basestring_ascii


def digest(*parts: Any, n_hex: int = 16) -> str:
    """Short sha256 of JSON-able parts or bytes, used as a content key.

    Examples
    --------
    >>> digest("a", 1) == digest("a", 1) != digest("a", 2)
    True
    """
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, (bytes, bytearray, memoryview)):
            h.update(bytes(part))
        elif type(part) is str:
            h.update(_json_str(part).encode())  # what json.dumps gives for a str, without building an encoder
        else:
            h.update(json.dumps(part, sort_keys=True, default=str).encode())
        h.update(b"\x00")
    return h.hexdigest()[:n_hex]
