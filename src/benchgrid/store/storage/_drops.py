"""Dropping jobs and bringing them back, under the project lock.

A drop is one record in ``queue/drops.log`` (see :mod:`._droplog`) committed
by a cursor record in ``claims.log`` that carries the new offset ``d``:

1. take the lock, read the cursor and the committed drop records;
2. cut ``drops.log`` back to ``d`` (bytes a drop killed before its commit
   left there must never take effect later);
3. append the record (``drop.written``), then the commit (``drop.committed``).

A process killed before step 3 ends leaves the drop undone, as if it had
never been asked; once the commit is written, every client sees it at its
next claim (claims read the cursor, then the drop records up to ``d``).

Jobs a worker claimed before the drop are run to the end by that worker
(finishing is the race-free choice: the only decision is the claim's, taken
under the lock); their result is kept but the job stays ``dropped``.

An undrop gives dropped jobs back the state their runs give them (done,
error, failed, running...). A job whose place in the queue was passed over
while it was dropped (a table row or a requeue line behind the cursor) is
put back first, with the next attempt number, in ``requeue.log``; then the
undrop record is written and committed. Killed between the two, the job is
still dropped and its requeue line is passed over like any dropped job's, so
running the undrop again finds it passed over again and puts it back once.

Examples
--------
>>> import tempfile, pathlib
>>> from benchgrid.store.storage._create import create_project
>>> from benchgrid.store.storage._settings import ProjectSettings
>>> from benchgrid.store.storage._queue import Queue
>>> root = pathlib.Path(tempfile.mkdtemp()) / "p"
>>> _ = create_project(root, [{"a": i} for i in range(4)], "builtins:dict", ProjectSettings().to_dict())
>>> q = Queue(root, ProjectSettings().to_dict())
>>> drop_jobs(q, [1, 2], where={"a": [1, 2]})
2
>>> [c.job_id for c in q.claim("w", 10)]        # the claim passes over jobs 1 and 2
[0, 3]
>>> undrop_jobs(q, [1])                          # passed over: put back in the queue
1
>>> [(c.job_id, c.attempt) for c in q.claim("w", 10)]
[(1, 1)]
"""

from __future__ import annotations

import os
import socket
import time
from typing import Any, Iterable

from ._record_types import DropRecord
from ._faults import fault_point
from ._lanes import expected_gb, lane_of, read_lane_ids
from ._queue import Claim, Queue
from ._records import append_records, encode
from ._safe_io import open_nofollow
from ._settings import ProjectSettings
from ._state import ProjectState

__all__ = ["drop_jobs", "undrop_jobs", "passed_over"]


def _by() -> str:
    return f"{socket.gethostname().split('.')[0]}:{os.getpid()}"


def _commit(queue: Queue, cur: dict[str, Any], record: DropRecord) -> None:
    """Steps 2 and 3 of the module docstring; call holding the lock."""
    path = queue.layout.drops
    committed = int(cur.get("d", 0))
    queue.lock.check_held()
    fd = open_nofollow(path, os.O_RDWR | os.O_CREAT)
    try:
        if os.fstat(fd).st_size > committed:  # what a drop killed before its commit left
            os.ftruncate(fd, committed)
    finally:
        os.close(fd)
    start = append_records(path, [record])
    fault_point("drop.written")
    commit = queue.cursor_record(str(record["op"]), cur)
    commit["d"], commit["t"] = start + len(encode(record)), record["t"]
    queue.lock.check_held()
    append_records(queue.layout.claims, [commit])
    fault_point("drop.committed")


def drop_jobs(queue: Queue, job_ids: Iterable[int], *, where: Any = None, by: str | None = None) -> int:
    """Drop jobs: no worker claims them from now on; return how many were newly dropped.

    Jobs already dropped, and ids past the committed table, are left out;
    when nothing is left, nothing is written.

    Parameters
    ----------
    queue : Queue
        The project's queue.
    job_ids : iterable of int
        The jobs to drop.
    where : JSON-able, optional
        The filter that chose them, kept in the record for people.
    by : str, optional
        Who dropped them (default: host and pid).
    """
    wanted = {int(j) for j in job_ids}
    with queue.lock:
        fault_point("drop.locked")
        cur = queue.cursor()
        dropped = queue.dropped(cur)
        new = sorted(j for j in wanted if j not in dropped and 0 <= j < int(cur["n"]))
        if not new:
            return 0
        _commit(queue, cur, DropRecord(op="drop", jobs=new, where=where, by=by or _by(), t=time.time()))
        return len(new)


def passed_over(state: ProjectState, job: int, remaining: dict[int, set[int]], lane: int = 0) -> bool:
    """Whether the queue moved past ``job``'s latest attempt without handing it out.

    True for a job whose table row is behind the cursor (or its lane's) and
    that was never claimed, and for a job whose latest attempt is a requeue
    line the cursor passed with no claim, result or failure at that
    attempt: such a job can only run again if it is put back. ``remaining``
    maps a memory lane to the ids its cursor has not reached (projects with
    memory lanes). ``state`` must be read under the lock.
    """
    attempt = state.latest_attempt(job)
    if attempt == 0:
        return job not in remaining[lane] if state.lanes is not None else job < state.next
    final = state.final.get(job)
    if final is not None and final[0] == attempt:
        return False
    if job in state.failed and state.failed[job][0] == attempt:
        return False
    claim = state.claimed.get(job)
    if claim is not None and claim[0] == attempt:
        return False
    requeued = state.requeued.get(job)
    return not (requeued is not None and requeued[0] == attempt and requeued[1] > state._lane_rq(job))


def undrop_jobs(queue: Queue, job_ids: Iterable[int], *, where: Any = None, by: str | None = None) -> int:
    """Bring dropped jobs back; return how many were dropped (the others are left alone).

    Each gets back the state its runs give it; one the queue passed over
    while it was dropped is put back with its next attempt (see the module
    docstring for the order of the writes).
    """
    wanted = {int(j) for j in job_ids}
    with queue.lock:
        fault_point("drop.locked")
        cur = queue.cursor()
        back = sorted(wanted & queue.dropped(cur))
        if not back:
            return 0
        state = ProjectState(queue.layout.root, queue).refresh()  # every log opened after taking the lock
        memory_key = ProjectSettings.of(queue.settings).memory_key
        lanes: dict[int, int] = {}
        remaining: dict[int, set[int]] = {}
        if state.lanes is not None and memory_key:
            n = int(cur["n"])
            for job in back:
                own = lane_of(expected_gb(queue.jobs.get(job)["params"], str(memory_key)))
                lanes[job] = max(own, state.requeued_lane.get(job, 0))
                if own not in remaining:
                    pos = int(state.lanes[own][0])
                    remaining[own] = set(read_lane_ids(queue.layout.queue_dir, own, pos, n, n))
        again = [
            Claim(job, state.latest_attempt(job) + 1, state.lost_runs(job), lanes.get(job, 0))  # its lost runs kept
            for job in back
            if passed_over(state, job, remaining, lanes.get(job, 0))
        ]
        queue.put_back(again, "undrop", by or _by(), locked=True)
        _commit(queue, cur, DropRecord(op="undrop", jobs=back, where=where, by=by or _by(), t=time.time()))
        return len(back)
