"""A torn last record (a write cut mid-line by a killed writer) is ignored on read; its job runs again.

Two files, two writers killed mid-write, the torn bytes appended by hand
exactly as the killed writer would have left them (a prefix of the record
the core's own ``encode`` makes):

- a worker's ``events.log``: the worker was SIGKILLed while writing the
  done record of the job it ran. The job must not count as done; once the
  lease expires another worker runs it again (attempt 2).
- ``queue/claims.log``: a worker died while appending its claim record,
  after publishing the claim in its lease (step one of the claim protocol).
  The cursor must skip the torn record, the next worker claims those jobs,
  and the dead worker's lease must not bring them back a second time.

Each cut is tried in the middle of the line and just before its newline
(the whole record but its terminator).
"""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path

import pytest

from benchgrid import Project
from benchgrid.store.storage._layout import Layout
from benchgrid.store.storage._leases import is_dead, read_lease, write_lease
from benchgrid.store.storage._queue import Queue
from benchgrid.store.storage._records import decode, encode, read_records
from tests.worker.helpers import (
    assert_exactly_one_accepted,
    audit,
    start_worker,
    state,
    stderr_of,
    stop_all,
    wait_exit,
    wait_started,
    wait_state,
    wait_until,
)

CUTS = {"mid-line": lambda line: line[: len(line) // 2], "before-newline": lambda line: line[:-1]}


def _append_raw(path: Path, data: bytes) -> None:
    with open(path, "ab") as f:
        f.write(data)


def _lines_after(path: Path, torn: bytes) -> list[bytes]:
    """The lines of ``path`` after the torn one, which must still be a line of its own and stay invalid.

    A writer may end the torn line with a mark of its own, but it must not
    make it valid: a record cut just before its newline would otherwise
    come back to life once the next writer adds the newline.
    """
    lines = path.read_bytes().splitlines(keepends=True)
    at = [i for i, line in enumerate(lines) if line.startswith(torn)]
    assert len(at) == 1, "the torn bytes must stay at the start of a line of their own"
    assert decode(lines[at[0]]) is None, f"the torn line became a valid record: {lines[at[0]]!r}"
    return lines[at[0] + 1 :]


@pytest.mark.slow
@pytest.mark.parametrize("cut", sorted(CUTS))
def test_torn_done_record_in_worker_events_log_is_ignored_and_job_rerun(proj_dir, tmp_path, cut):
    markers = tmp_path / "markers"
    markers.mkdir()
    jobs = [{"i": i, "marker_dir": str(markers), "first_s": 120.0 if i == 0 else 0.0, "then_s": 0.0} for i in range(4)]
    Project.create(proj_dir, jobs, "tests.runners.jobs:mark_and_sleep", lease_s=1.0)
    victim = start_worker(proj_dir, "victim")
    procs = [victim]
    try:
        wait_started(markers, job=0, attempt=1, timeout_s=30)
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(timeout=10)
        (victim_id,) = audit(proj_dir).workers
        events = Layout(proj_dir).worker_dir(victim_id) / "events.log"
        now = time.time()
        line = encode({"op": "done", "job": 0, "a": 1, "t0": now - 1, "r": {"slept": 120.0, "pid": victim.pid}, "t1": now})
        torn = CUTS[cut](line)
        _append_raw(events, torn)

        # ignored on read: no record, and job 0 is not done (running, then stranded when the lease runs out)
        assert read_records(events)[0] == []
        assert state(proj_dir).state_of(0) in ("running", "stranded")
        wait_state(proj_dir, 0, "stranded", timeout_s=30)
        assert Project.open(proj_dir).status().counts["done"] == 0

        # the job is run again by the next worker, at attempt 2
        after = start_worker(proj_dir, "after")
        procs.append(after)
        assert wait_exit(after, timeout_s=60) == 0, stderr_of(proj_dir, "after")
        assert wait_started(markers, job=0, attempt=2, timeout_s=0) == after.pid
    finally:
        stop_all(procs)

    a = assert_exactly_one_accepted(proj_dir, len(jobs))
    after_id = next(w for w in a.workers if w.startswith("after-"))
    assert a.done[(0, 2)] == [after_id] and (0, 1) not in a.done
    assert [(r["job"], r["a"], r["why"], r["src"]) for r in a.requeues] == [(0, 2, "expired", victim_id)]
    assert events.read_bytes().endswith(torn)  # nobody rewrote the dead worker's log


@pytest.mark.slow
@pytest.mark.parametrize("cut", sorted(CUTS))
def test_torn_claim_record_is_ignored_and_its_jobs_run_once(proj_dir, cut):
    n_jobs = 10
    Project.create(proj_dir, [{"i": i} for i in range(n_jobs)], "tests.runners.jobs:echo", lease_s=1.0)
    procs = [start_worker(proj_dir, "first", "--max-jobs", "4")]
    try:
        assert wait_exit(procs[0], timeout_s=60) == 0, stderr_of(proj_dir, "first")
        layout = Layout(proj_dir)
        cursor = Queue(proj_dir, Project.open(proj_dir).settings).cursor()
        assert cursor["next"] == 4

        # a worker that died mid-append: its lease published the claim and the record's offset (step one),
        # the record itself (step two) was cut short
        ghost = "ghost-1-dead"
        ghost_dir = layout.worker_dir(ghost)
        ghost_dir.mkdir()
        (ghost_dir / "events.log").touch()
        held = [[4, 1, 0], [5, 1, 0]]
        offset = layout.claims.stat().st_size
        ghost_lease_s = 3.0  # alive for a moment: the next worker claims before the ghost's lease runs out
        write_lease(
            ghost_dir,
            {
                "worker": ghost, "host": socket.gethostname(), "pid": 1, "state": "running",
                "heartbeat": time.time(), "lease_s": ghost_lease_s, "started": time.time(),
                "held": held, "claim_offset": offset, "current": None,
            },
        )
        record = {"op": "claim", "w": ghost, "c": held, "next": 6, "rq": cursor["rq"], "n": n_jobs, "t": time.time()}
        torn = CUTS[cut](encode(record))
        _append_raw(layout.claims, torn)

        # ignored on read: the cursor is unchanged, jobs 4 and 5 are not claimed
        assert Queue(proj_dir, Project.open(proj_dir).settings).cursor() == cursor
        s = state(proj_dir)
        assert (s.state_of(4), s.state_of(5)) == ("pending", "pending")

        # the next worker claims and runs them (and appends after the torn line, on a fresh line)
        procs.append(start_worker(proj_dir, "next"))
        assert wait_exit(procs[1], timeout_s=60) == 0, stderr_of(proj_dir, "next")
        # once the ghost's lease has run out, a sweeping worker must find nothing of the ghost's to redo
        wait_until(lambda: is_dead(read_lease(ghost_dir)), timeout_s=30, what="the ghost's lease to run out")
        procs.append(start_worker(proj_dir, "sweep"))
        assert wait_exit(procs[2], timeout_s=60) == 0, stderr_of(proj_dir, "sweep")
    finally:
        stop_all(procs)

    a = assert_exactly_one_accepted(proj_dir, n_jobs)
    assert all(c == 1 for c in a.claims_of_job().values()), f"jobs claimed twice: {a.claims_per()}"
    assert not any(w == ghost for _j, _a, w in a.claims)
    assert a.requeues == []
    assert {key: ws[0].split("-")[0] for key, ws in a.done.items() if key[0] in (4, 5)} == {(4, 1): "next", (5, 1): "next"}
    # every line written after the torn one is a valid record
    after = _lines_after(layout.claims, torn)
    assert after and all(decode(line) is not None for line in after)
