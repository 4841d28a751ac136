"""Invariants 3 and 4 under fire: workers SIGKILLed at random moments lose no job and duplicate none.

8 workers drain 2,000 short jobs while a killer SIGKILLs a random worker
every fraction of a second (inside a job, a claim, the lock, a log write:
wherever it happens to be) and starts a replacement. Leases are short
(1 s); once the killing stops and the killed leases have run out, a final
sweep worker puts back what the dead held. Then, from the raw logs:

- every job has exactly one done record, at its latest attempt, and the
  API says 'done' for all of them;
- no (job, attempt) was claimed twice;
- every re-run is paid for by a kill: a job claimed again at attempt a + 1
  was held, unfinished, at attempt a by a worker that was killed, each
  killed worker gives back at most one batch, so the re-runs are at most
  kills x ``Worker.max_batch``.

Without leases the killed workers' jobs would stay 'running' forever;
without the finished-check at expiry (or with attempts not bumped), done
jobs would be re-run or results doubled.
"""

from __future__ import annotations

import inspect
import os
import random
import signal
import time
from collections import Counter, defaultdict

import pytest

from benchgrid import Project
from benchgrid.worker._worker import Worker

from .helpers import assert_exactly_one_accepted, start_worker, state, stderr_of, stop_all, wait_exit, wait_until

N_JOBS = 2_000
N_WORKERS = 8
JOB_S = 0.004
LEASE_S = 1.0
MAX_KILLS = 25
MAX_BATCH = inspect.signature(Worker).parameters["max_batch"].default


def _name_of(worker_id: str) -> str:
    return worker_id.split("-", 1)[0]


@pytest.mark.slow
@pytest.mark.parametrize("lock", ["lease", "flock"])
def test_random_sigkills_lose_no_job_and_reruns_are_bounded_by_kills(proj_dir, lock):
    Project.create(
        proj_dir,
        [{"i": i, "seconds": JOB_S} for i in range(N_JOBS)],
        "tests.runners.jobs:sleep",
        lease_s=LEASE_S,
        lock=lock,
        lock_lease_s=2.0,
        max_attempts=1_000,  # no job may end 'failed' because the dice hit it three times
    )
    rng = random.Random(20250917)
    started = 0
    live: dict[str, object] = {}
    every: list = []

    def spawn() -> None:
        nonlocal started
        name = f"c{started}"
        started += 1
        live[name] = proc = start_worker(proj_dir, name)
        every.append(proc)

    for _ in range(N_WORKERS):
        spawn()
    killed: list[str] = []
    progress = state(proj_dir)
    try:
        while len(killed) < MAX_KILLS:
            time.sleep(rng.uniform(0.05, 0.3))  # the killer's cadence, not a wait for an event
            counts = progress.refresh().counts()
            if counts["pending"] + counts["queued"] == 0:
                break  # nothing left to claim: the rest is the sweep's business
            name = rng.choice(sorted(n for n, p in live.items() if p.poll() is None) or [None])
            if name is None:
                break
            os.kill(live[name].pid, signal.SIGKILL)
            live.pop(name).wait()
            killed.append(name)
            spawn()
        for name, proc in live.items():
            assert wait_exit(proc, timeout_s=120, what=f"worker {name}") == 0, stderr_of(proj_dir, name)

        # the killed workers' leases run out (no job 'running' any more), then one worker sweeps up
        wait_until(
            lambda: state(proj_dir).counts()["running"] == 0, timeout_s=LEASE_S + 30, what="killed leases to expire"
        )
        sweep = start_worker(proj_dir, "sweep")
        every.append(sweep)
        assert wait_exit(sweep, timeout_s=120, what="the sweep worker") == 0, stderr_of(proj_dir, "sweep")
    finally:
        stop_all(every)

    assert len(killed) >= 5, f"only {len(killed)} kills happened before the jobs ran out: the test proved nothing"
    a = assert_exactly_one_accepted(proj_dir, N_JOBS)
    assert Project.open(proj_dir).status().counts["failed"] == 0

    # no (job, attempt) claimed twice
    twice = [key for key, c in a.claims_per().items() if c > 1]
    assert not twice, f"(job, attempt) claimed twice: {twice[:10]}"

    # every re-run is paid for by a kill: attempt a+1 exists only if a killed worker held attempt a unfinished
    killed_set = set(killed)
    claimer = {(job, attempt): w for job, attempt, w in a.claims}
    given_back: Counter[str] = Counter()
    for (job, attempt), w in claimer.items():
        if attempt == 1:
            continue
        prev = claimer.get((job, attempt - 1))
        assert prev is not None, f"job {job} claimed at attempt {attempt} without a claim at {attempt - 1}"
        assert _name_of(prev) in killed_set, f"job {job} re-run after attempt {attempt - 1} by {prev}, never killed"
        assert (job, attempt - 1) not in a.done, f"job {job} re-run although attempt {attempt - 1} was done"
        given_back[prev] += 1
    assert all(n <= MAX_BATCH for n in given_back.values()), given_back
    reruns = len(a.claims) - N_JOBS
    assert reruns == sum(given_back.values())
    assert reruns <= len(killed) * MAX_BATCH, f"{reruns} re-runs for {len(killed)} kills"
    # and the logs agree on why: every requeue is an expiry of a killed worker's lease, which counts a lost
    # run for the one job it was running ("expired") and gives back the jobs it had not started ("handback")
    why = defaultdict(set)
    for r in a.requeues:
        why[r["why"]].add(_name_of(r["src"]))
    assert set(why) <= {"expired", "handback"} and set().union(*why.values()) <= killed_set, why
    expired_per_worker = Counter(r["src"] for r in a.requeues if r["why"] == "expired")
    assert all(n == 1 for n in expired_per_worker.values()), expired_per_worker
    assert len(a.requeues) == reruns
    print(f"chaos[{lock}]: {len(killed)} kills, {reruns} re-runs, {started} workers started")
