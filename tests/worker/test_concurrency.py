"""Invariants 1-3 under contention: 16 worker processes drain 20,000 no-op jobs.

Without the project lock around a claim (or with a lock that does not
exclude), two workers read the same cursor and claim the same jobs: the
claim records then name a job twice and it gets two done records.
"""

from __future__ import annotations

from collections import Counter

import pytest

from benchgrid import Project

from .helpers import assert_exactly_one_accepted, start_worker, stderr_of, stop_all, wait_exit

N_JOBS = 20_000
N_WORKERS = 16


@pytest.mark.slow
@pytest.mark.parametrize("lock", ["lease", "flock"])
def test_16_workers_drain_20000_jobs_each_claimed_and_done_once(proj_dir, lock):
    Project.create(proj_dir, [{"i": i} for i in range(N_JOBS)], "tests.runners.jobs:noop", lock=lock)
    procs = [start_worker(proj_dir, f"w{k}") for k in range(N_WORKERS)]
    try:
        codes = [wait_exit(p, timeout_s=120) for p in procs]
    finally:
        stop_all(procs)
    assert codes == [0] * N_WORKERS, [stderr_of(proj_dir, f"w{k}") for k, c in enumerate(codes) if c]

    a = assert_exactly_one_accepted(proj_dir, N_JOBS)
    # no job was claimed twice: one claim record per job, all first attempts
    per_job = Counter(job for job, _attempt, _w in a.claims)
    twice = [job for job, c in per_job.items() if c > 1]
    assert not twice, f"jobs claimed more than once: {twice[:10]}"
    assert len(a.claims) == N_JOBS
    assert {attempt for _job, attempt, _w in a.claims} == {1}
    assert a.requeues == [] and a.events == [] and not a.handbacks and not a.errors
    # the table was drained by many workers, not by one that happened to start first
    assert len({w for _job, _a, w in a.claims}) > 1
