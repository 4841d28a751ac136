"""A claim never takes more than its share of the jobs left (issue 25: the last claims were too big)."""

from __future__ import annotations

from benchgrid import Project
from benchgrid.store import Queue, read_project_json


def _queue(proj_dir, n_jobs):
    Project.create(proj_dir, [{"i": i} for i in range(n_jobs)], "tests.runners.jobs:echo")
    return Queue(proj_dir, read_project_json(proj_dir)["settings"])


def test_a_claim_takes_at_most_its_share_of_what_is_left(proj_dir):
    queue = _queue(proj_dir, 100)
    assert len(queue.claim("w", 400, n_workers=16)) == 7  # ceil(100 / 16)
    assert len(queue.claim("w", 400, n_workers=16)) == 6  # ceil(93 / 16)
    assert len(queue.claim("w", 400, n_workers=None)) == 87  # unknown peers: the batch the worker asked for
    assert queue.claim("w", 400, n_workers=16) == []


def test_the_last_job_is_still_claimed_by_one_of_many(proj_dir):
    queue = _queue(proj_dir, 3)
    got = [len(queue.claim(f"w{i}", 50, n_workers=16)) for i in range(4)]
    assert got == [1, 1, 1, 0]
