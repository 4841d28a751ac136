"""Every record benchgrid writes, typed, in one place: the queue's logs, a worker's events, a lease.

Every line a worker appends to its own ``workers/<id>/events.log`` is one of
these (checksummed by :mod:`._records`). They are written by the worker and
read by the state (:mod:`._state`), ``check``, the duration model and the
timeline plot; the key names are short because a million-job project has a
million of them. The types say which keys each kind has (``mypy`` checks the
writers and readers against them); at run time they are plain dicts, so
reading costs nothing extra.

========  =====================================================================
``op``    meaning
========  =====================================================================
done      the runner returned ``r`` (a dict of result values)
error     the runner raised: ``err`` (one line) and ``tb`` (the traceback)
handback  the worker gave the job back unfinished (a signal, its deadline, a
          timeout or out of memory): ``why``; ``lost`` when it counts as a lost run
========  =====================================================================

Keys: ``job`` (job id), ``a`` (attempt), ``t0``/``t1`` (start and end, epoch
seconds; ``t0`` is None for a job handed back before it started).

Examples
--------
>>> rec = done_record(3, 1, 10.0, {"rmse": 0.5}, t1=10.25)
>>> rec["op"], rec["r"], rec["t1"] - rec["t0"]
('done', {'rmse': 0.5}, 0.25)
>>> handback_record(3, 2, None, 11.0, "worker got SIGTERM")["why"]
'worker got SIGTERM'
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, TypedDict, Union

__all__ = [
    "CursorRecord", "PutBackRecord", "QueueEventRecord", "DropRecord", "Lease",
    "ResultRecord", "HandbackRecord", "EventRecord",
    "done_record", "error_record", "handback_record", "handbacks_of",
]  # fmt: skip


class CursorRecord(TypedDict, total=False):
    """A line of ``queue/claims.log``; each carries the cursor, so the last one is the queue's state.

    ``op``: ``init``, ``claim``, ``add``, ``drop``, ``undrop``, ``skip`` or ``lane`` (a lane added).
    """

    op: str
    next: int  # the next job-table row to hand out
    rq: int  # the requeue.log offset up to which put-back jobs were taken
    n: int  # committed job-table rows
    d: int  # committed drops.log bytes
    lanes: list[list[int]]  # per lane: [next, rq]
    lk: list[str]  # per lane: its class (issue 21; only projects with a time_key or resource_keys)
    lane: int  # the lane a claim took from
    t: float
    w: str  # claim: the worker
    c: list[list[int]]  # claim: [job, attempt, lost runs(, lane)] per job


class PutBackRecord(TypedDict, total=False):
    """A line of ``queue/requeue.log``: a run that ended without a result, put back (or failed), once."""

    job: int
    a: int  # the attempt the job is put back AS
    l: int  # noqa: E741 - lost runs so far
    why: str  # expired, handback, retry, out of memory, ...
    src: str  # who wrote it (a worker, the supervisor, "user")
    t: float
    lane: int  # a memory lane other than 0
    tl: int  # runs handed back at the walltime limit so far (issue 21; never counted against max_attempts)
    fail: str  # failed after max_attempts lost runs: never handed out again
    reason: str  # what showed it (a signal, an OOM kill, ...)


class QueueEventRecord(TypedDict, total=False):
    """A line of ``queue/events.log``: what recoverers did (``expired``) or a job failed (``failed``)."""

    op: str
    w: str
    c: list[list[int]]
    by: str
    why: str
    t: float
    job: int
    a: int
    reason: str


class DropRecord(TypedDict, total=False):
    """A line of ``queue/drops.log``."""

    op: Literal["drop", "undrop"]
    jobs: list[int]
    where: dict[str, Any] | None
    by: str
    t: float


class Lease(TypedDict, total=False):
    """A worker's ``lease.json``: who it is, that it lives, what it holds."""

    worker: str
    host: str
    boot: str
    pid: int
    pid_start: int
    state: str  # running, exited
    heartbeat: float  # for people: this host's clock; nobody compares it with their own (invariant 10)
    beat: int  # numbers the writes of the lease: readers judge it alive by seeing this change
    clock_offset_s: float | None  # this host's clock minus the file server's, measured at start
    lease_s: float
    started: float
    held: list[list[int]]
    claim_offset: int
    current: list[Any] | None  # [job, attempt, started]
    until: float | None
    mem_gb: float | None
    resources: dict[str, int]  # issue 21: resource counts this worker claims by ({"gpus": 1})
    oom: dict[str, Any] | None
    supervisor: str | None
    scheduler_job_id: str | None
    scheduler_log: str | None
    scheduler_messages: str | None  # Grid Engine: its execd's messages file, where it says why it killed the task
    revoked: bool  # set by readers: the lease was revoked (its jobs recovered)


class ResultRecord(TypedDict, total=False):
    """A job's end with a result (``op="done"``) or an exception (``op="error"``)."""

    op: Literal["done", "error"]
    job: int
    a: int
    t0: float
    t1: float
    r: dict[str, Any]  # done: the runner's result values
    err: str  # error: ``ExceptionType: message``
    tb: str  # error: the traceback


class HandbackRecord(TypedDict, total=False):
    """A job the worker gave back unfinished."""

    op: Literal["handback"]
    job: int
    a: int
    t0: float | None  # None: handed back before it started
    t1: float
    why: str
    lost: bool  # the run counts as lost (a timeout)


EventRecord = Union[ResultRecord, HandbackRecord]


def done_record(job: int, attempt: int, t0: float, result: dict[str, Any], *, t1: float | None = None) -> ResultRecord:
    """The record of a job whose runner returned ``result`` (``t1`` is set when the job ends)."""
    rec: ResultRecord = {"op": "done", "job": job, "a": attempt, "t0": t0, "r": result}
    if t1 is not None:
        rec["t1"] = t1
    return rec


def error_record(job: int, attempt: int, t0: float, err: str, tb: str) -> ResultRecord:
    """The record of a job whose runner raised (``err`` one line, ``tb`` the traceback)."""
    return {"op": "error", "job": job, "a": attempt, "t0": t0, "err": err, "tb": tb}


def handback_record(job: int, attempt: int, t0: float | None, t1: float, why: str, *, lost: bool = False) -> HandbackRecord:
    """The record of a job handed back unfinished."""
    rec: HandbackRecord = {"op": "handback", "job": job, "a": attempt, "t0": t0, "t1": t1, "why": why}
    if lost:
        rec["lost"] = True
    return rec


def handbacks_of(root: Path, worker_ids: list[str]) -> dict[str, list[HandbackRecord]]:
    """Every hand-back record of these workers (for the timeline), read through the checksummed reader."""
    from ._layout import Layout
    from ._records import read_records

    layout = Layout(root)
    out: dict[str, list[HandbackRecord]] = {}
    for wid in worker_ids:
        try:
            records, _ = read_records(layout.worker_dir(wid) / "events.log")
        except OSError:
            records = []
        out[wid] = [r for r in records if r.get("op") == "handback"]  # type: ignore[misc]
    return out
