"""Damaged project files are reported, never read as "no jobs" or "no results".

:func:`check_integrity` looks, in O(number of table parts), at what a
reader needs before it trusts an empty answer: ``queue/claims.log`` must
end with a valid record (the queue cursor), and every part of the job
table the cursor counts must exist and hold its last committed row. A
failure is a :class:`~benchgrid._errors.ProjectError` naming the file and
what to do (the CLI exits 2).

Damage inside a log (garbage bytes, a torn line) is not fatal: every line
is checksummed and readers skip bad ones, so a job is never frozen by it.

A ``claims.log`` that lost its last records (restored from a backup or a
snapshot taken while workers ran, a copy made mid-run) still ends with a
valid record, but its cursor is behind runs that have results: it would
hand those (job, attempt) runs out again, and the table would show done
jobs without their claim. The rule, one for claims and results: **every
run a worker recorded (a result, a hand-back) must be one the cursor has
handed out**: a first run of a job the table cursor ``next`` has passed,
or a put-back run whose ``requeue.log`` line the cursor's ``rq`` has
consumed. Claims are appended to a log in time order, so a log cut short
lost each worker's latest claims first: looking at each worker's last run
(a tail read of its ``events.log``) finds the damage in O(number of
workers), at every worker's start and every ``status``, ``results`` and
``run``. Mid-log damage (a garbled claim record whose successors carry the
cursor on) is not this: the cursor has passed those runs.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from ..._errors import ProjectError
from ._jobs import PART_SIZE, JobTable
from ._lanes import lane_index, lane_path
from ._layout import Layout
from ._records import decode, iter_records, read_last_record
from ._safe_io import open_nofollow

__all__ = ["check_integrity", "check_integrity_of_runs"]

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


def check_integrity(root: Path) -> int:
    """Check the queue cursor and the job table; return the number of committed jobs.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import benchgrid as bg
    >>> d = pathlib.Path(tempfile.mkdtemp()) / "p"
    >>> _ = bg.Project.create(d, [{"a": 1}], "builtins:dict")
    >>> check_integrity(d)
    1
    >>> (d / "queue" / "claims.log").write_bytes(b"garbage")
    7
    >>> check_integrity(d)
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
    check_integrity_of_runs(layout)
    return n


def _last_run(events: Path) -> tuple[int, int] | None:
    """The (job, attempt) of the last run a worker recorded in its ``events.log`` (a tail read), or None."""
    try:
        fd = open_nofollow(events, os.O_RDONLY)
    except OSError:
        return None  # no events yet, or a damaged worker folder (reported elsewhere)
    try:
        size = os.fstat(fd).st_size
        data = os.pread(fd, min(size, _TAIL_BYTES), max(0, size - _TAIL_BYTES))
    finally:
        os.close(fd)
    for line in reversed(data.split(b"\n")[1 if size > _TAIL_BYTES else 0 :]):
        record = decode(line + b"\n") if line else None
        if record is not None and "job" in record and "a" in record:
            return int(record["job"]), int(record["a"])
    return None


def _past_its_lane(layout: Layout, lanes: list[list[int]], job: int) -> str | None:
    """Where a job's first run is not yet handed out by its memory lane's cursor, or None when it is.

    A job's first run is entry ``i`` of the one lane file that lists it; the lane's cursor
    ``[pos, rq]`` has handed it out when ``pos > i``. O(lanes × log n) reads.
    """
    for lane in range(len(lanes)):  # memory lanes, or the classes' lanes a cursor lists
        i = lane_index(layout.queue_dir, lane, job)
        if i is not None:
            pos = int(lanes[lane][0])
            if i < pos:
                return None
            return f"past its memory class's cursor at entry {pos} of {lane_path(layout.queue_dir, lane).name}"
    return None  # in no lane (a damaged lane file): `benchgrid check` replays it


def check_integrity_of_runs(layout: Layout) -> None:
    """Raise ProjectError when a worker's last run is one ``claims.log``'s cursor has not handed out.

    See the module docstring for the rule. The cursor is read after the
    workers' logs: a claim is appended before its run starts, so a run
    recorded while this looks is never taken for damage. In a project with
    memory lanes a first run is judged by its lane's cursor: the job's place
    in its lane file is found by a binary search (it lists ids in order).
    """
    runs: list[tuple[int, int, str]] = []
    try:
        names = sorted(os.listdir(layout.workers_dir))
    except OSError:
        return
    for wid in names:
        run = _last_run(layout.worker_dir(wid) / "events.log")
        if run is not None:
            runs.append((*run, wid))
    if not runs:
        return
    cursor = read_last_record(layout.claims)
    if cursor is None:
        return  # reported by check_integrity
    lanes = cursor.get("lanes")
    put_back: dict[tuple[int, int], tuple[int, int]] = {}  # (job, attempt) -> (end offset, lane)
    if any(a > 1 for _j, a, _w in runs):
        for rec, end in iter_records(layout.requeue, 0, max_bytes=-1):
            if rec is not None and "job" in rec and "fail" not in rec:
                put_back.setdefault((int(rec["job"]), int(rec["a"])), (end, int(rec.get("lane") or 0)))
    lost = []
    for job, attempt, wid in runs:
        line = put_back.get((job, attempt))
        if line is not None:
            end, lane = line
            rq = int(lanes[lane][1]) if lanes else int(cursor["rq"])
            if end > rq:
                lost.append(f"job {job} attempt {attempt} of worker {wid}, put back in requeue.log and never claimed")
        elif attempt == 1 and not lanes and job >= int(cursor["next"]):
            lost.append(f"job {job} attempt {attempt} of worker {wid}, past the cursor at job {cursor['next']}")
        elif attempt == 1 and lanes:
            past = _past_its_lane(layout, lanes, job)
            if past is not None:
                lost.append(f"job {job} attempt {attempt} of worker {wid}, {past}")
    if lost:
        more = f" and {len(lost) - 1} more" if len(lost) > 1 else ""
        raise ProjectError(
            f"{str(layout.claims)!r} lost its last records: workers have results of runs it never handed out "
            f"({lost[0]}{more}), as after a restore from a copy taken while workers ran (or a claim written with a "
            "stale cursor, which `benchgrid check` names); running now would hand "
            "those runs out again. Restore the claims.log that goes with workers/*/events.log (a copy taken after "
            "the workers stopped), or create the project again; `benchgrid check DIR` lists every problem"
        )
