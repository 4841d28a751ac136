"""worker/_claim_loop.py: batch sizes, how often dead workers are looked for, and why a loop ends."""

from __future__ import annotations

import time
from pathlib import Path

from benchgrid import Project
from benchgrid.store import Layout
from benchgrid.worker import Worker


def _worker(proj_dir: Path, n_jobs: int = 5, **options: object) -> Worker:
    Project.create(proj_dir, [{"i": i} for i in range(n_jobs)], "tests.runners.jobs:noop", lease_s=60.0)
    return Worker(proj_dir, **options)  # type: ignore[arg-type]


def test_the_first_claim_takes_one_job_then_half_a_second_of_them(proj_dir: Path) -> None:
    worker = _worker(proj_dir, max_batch=100)
    assert worker._batch_size() == 1  # no job timed yet
    worker._mean_s = 0.02
    assert worker._batch_size() == 25  # claim_target_s = 0.5
    worker._mean_s = 0.0001
    assert worker._batch_size() == 100  # max_batch
    worker._mean_s, worker._claim_cost_s = 0.02, 0.05  # a slow, contended lock: claims cover 20x their cost
    assert worker._batch_size() == 50


def test_dead_workers_are_looked_for_less_often_when_there_are_many(proj_dir: Path) -> None:
    worker = _worker(proj_dir)
    alone = [worker._expiry_interval() for _ in range(50)]
    assert all(0.75 <= s <= 1.25 for s in alone)  # about every second, jittered
    for i in range(32):
        (Layout(proj_dir).workers_dir / f"w{i}").mkdir(parents=True, exist_ok=True)
    crowd = [worker._expiry_interval() for _ in range(50)]
    assert all(45 <= s <= 75 for s in crowd)  # 32 workers: lease_s / 2 * 32 / 16 = 60 s each, 16 scans per 30 s in all


def test_a_loop_ends_at_its_job_budget(proj_dir: Path) -> None:
    summary = _worker(proj_dir, max_jobs=2).run(handle_signals=False)
    assert (summary.done, summary.reason) == (2, "job budget of 2 reached")
    assert Project.open(proj_dir).status().counts["pending"] == 3


def test_a_loop_ends_when_no_job_is_left(proj_dir: Path) -> None:
    summary = _worker(proj_dir).run(handle_signals=False)
    assert (summary.done, summary.errors, summary.handed_back, summary.reason) == (5, 0, 0, "no job left")


def test_a_loop_past_its_deadline_claims_nothing(proj_dir: Path) -> None:
    summary = _worker(proj_dir, until=time.time() - 1).run(handle_signals=False)
    assert (summary.done, summary.claims, summary.reason) == (0, 0, "deadline reached")


def test_a_job_that_exits_or_returns_what_json_cannot_hold_is_an_error_and_the_loop_goes_on(proj_dir: Path) -> None:
    Project.create(proj_dir, [{"i": i, "how": how, "bad": i if how else -1} for i, how in enumerate(["sys_exit", "circular", ""])],
                   "tests.runners.misbehave:misbehave")
    summary = Worker(proj_dir).run(handle_signals=False)
    assert (summary.done, summary.errors, summary.reason) == (1, 2, "no job left")
