"""``benchgrid check`` replays drop records: what a broken drop or undrop would leave is found."""

from __future__ import annotations

import time
from pathlib import Path

from benchgrid import Project
from benchgrid.store import Queue, audit_logs
from benchgrid.store.storage._drops import _commit, drop_jobs
from benchgrid.store.storage._records import append_records

RUNNER = "tests.runners.jobs:noop"


def _queue(root: Path, n: int = 6) -> Queue:
    proj = Project.create(root, [{"i": i} for i in range(n)], RUNNER)
    return Queue(proj.path, proj.settings)


def test_a_clean_drop_claim_undrop_is_ok(proj_dir: Path) -> None:
    q = _queue(proj_dir)
    drop_jobs(q, [1, 2])
    assert [c.job_id for c in q.claim("w", 10)] == [0, 3, 4, 5]
    report = audit_logs(proj_dir, save=False)
    assert report.ok, report.problems


def test_a_claim_of_a_dropped_job_is_not_explained(proj_dir: Path) -> None:
    q = _queue(proj_dir)
    drop_jobs(q, [1])
    cur = q.cursor()
    record = q.cursor_record("claim", cur) | {"w": "rogue", "next": 2, "c": [[0, 1, 0], [1, 1, 0]], "t": time.time()}
    append_records(q.layout.claims, [record])
    report = audit_logs(proj_dir, save=False)
    assert any(p.startswith("claim not explained") and "took [(0, 1), (1, 1)]" in p and "held [(0, 1)]" in p
               for p in report.problems), report.problems


def test_an_undrop_that_does_not_put_back_a_passed_over_job_is_found(proj_dir: Path) -> None:
    q = _queue(proj_dir)
    drop_jobs(q, [1, 4])
    q.claim("w", 10)  # passes over 1 and 4
    with q.lock:  # an undrop that forgets to put the jobs back
        _commit(q, q.cursor(), {"op": "undrop", "jobs": [4], "t": time.time()})
    report = audit_logs(proj_dir, save=False)
    assert report.problems == [
        "lost by an undrop: job 4 was passed over while dropped (attempt 1 never ran) and brought back "
        "without being put back: no worker can claim it"
    ]


def test_a_commit_past_the_drop_records_is_found(proj_dir: Path) -> None:
    q = _queue(proj_dir)
    drop_jobs(q, [2])
    record = q.cursor_record("drop", q.cursor())
    record.update(d=int(record["d"]) + 5, t=time.time())
    append_records(q.layout.claims, [record])
    report = audit_logs(proj_dir, save=False)
    assert any(p.startswith("drop not explained") for p in report.problems), report.problems


def test_a_claim_that_finds_only_dropped_jobs_writes_a_skip_record(proj_dir: Path) -> None:
    q = _queue(proj_dir)
    drop_jobs(q, range(6))
    assert q.claim("w", 1) == []
    last = q.cursor()
    assert last["op"] == "skip" and last["next"] == 6 and "c" not in last
    assert q.claim("w", 1) == []
    assert q.cursor() == last  # nothing left to pass over: nothing written
    report = audit_logs(proj_dir, save=False)
    assert report.ok and report.n_claims == 0, report.problems
