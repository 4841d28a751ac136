"""Damaged project files are reported, never read as "no jobs" or "no results".

:func:`check_project_files` looks, in O(number of table parts), at what a
reader needs before it trusts an empty answer: ``queue/claims.log`` must
end with a valid record (the queue cursor), and every part of the job
table the cursor counts must exist and hold its last committed row. A
failure is a :class:`~benchgrid._errors.ProjectError` naming the file and
what to do (the CLI exits 2).

Damage inside a log (garbage bytes, a torn line) is not fatal: every line
is checksummed and readers skip bad ones, so a job is never frozen by it.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from .._errors import ProjectError
from ._jobs import PART_SIZE, JobTable
from ._layout import Layout
from ._records import read_last_record

__all__ = ["check_project_files"]

_TAIL_BYTES = 1 << 16


def _last_row_id(path: Path) -> int | None:
    """The id of the last complete, parsable row of a part (reading only its tail)."""
    with open(path, "rb") as f:
        f.seek(0, 2)
        size = f.tell()
        f.seek(max(0, size - _TAIL_BYTES))
        tail = f.read()
    for line in reversed(tail.split(b"\n")[1 if size > _TAIL_BYTES else 0 : -1]):
        try:
            return int(json.loads(line)["id"])
        except (ValueError, KeyError, TypeError):
            continue
    return None


def check_project_files(root: Path) -> int:
    """Check the queue cursor and the job table; return the number of committed jobs.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import benchgrid as bg
    >>> d = pathlib.Path(tempfile.mkdtemp()) / "p"
    >>> _ = bg.Project.create(d, [{"a": 1}], "builtins:dict")
    >>> check_project_files(d)
    1
    >>> (d / "queue" / "claims.log").write_bytes(b"garbage")
    7
    >>> check_project_files(d)
    Traceback (most recent call last):
    ...
    benchgrid._errors.ProjectError: ...claims.log' holds no valid record...
    """
    layout = Layout(Path(root))
    claims = layout.claims
    try:
        cursor = read_last_record(claims)
    except OSError as err:
        raise ProjectError(f"cannot read {str(claims)!r}: {err.strerror or err}; check its owner and mode") from None
    if cursor is None or "n" not in cursor:
        what = "is missing" if not claims.exists() else "holds no valid record (truncated or overwritten)"
        raise ProjectError(
            f"{str(claims)!r} {what}: the queue of this project is lost; restore the file from a backup "
            "(workers' results are kept in workers/*/events.log), or create the project again"
        )
    n = int(cursor["n"])
    table = JobTable(layout.jobs_dir)
    for part in range(math.ceil(n / PART_SIZE)):
        path = table.part_path(part)
        expected = min(n, (part + 1) * PART_SIZE) - 1
        try:
            last = _last_row_id(path)
        except FileNotFoundError:
            raise ProjectError(
                f"job table part {str(path)!r} is missing (the queue counts {n} jobs); restore it from a backup"
            ) from None
        except OSError as err:
            raise ProjectError(f"cannot read {str(path)!r}: {err.strerror or err}") from None
        if last is None or last < expected:
            raise ProjectError(
                f"job table part {str(path)!r} is truncated or damaged: its last row is job {last}, "
                f"the queue counts up to job {expected}; restore it from a backup"
            )
    return n
