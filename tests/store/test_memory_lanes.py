"""Memory lanes: workers claim what fits, largest first, in O(1) per claim."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchgrid import Project
from benchgrid._errors import InputError
from benchgrid.store import Queue, audit_logs, read_project_json
from benchgrid.store.storage._lanes import MEM_CLASSES_GB, lane_of, lanes_for_budget

RUNNER = "tests.runners.jobs:sleep"


def _project(root: Path) -> Queue:
    jobs = [{"i": i, "mem_gb": 0.3} for i in range(6)]  # lane 0
    jobs += [{"i": i, "mem_gb": 6.0} for i in range(6, 9)]  # the 8 GB class
    jobs += [{"i": i} for i in range(9, 12)]  # unknown: lane 0
    Project.create(root, jobs, RUNNER, memory_key="mem_gb")
    return Queue(root, read_project_json(root)["settings"])


def test_classes_and_fit_rule() -> None:
    assert MEM_CLASSES_GB[:5] == (0.5, 0.71, 1.0, 1.41, 2.0)
    assert lane_of(0.3) == 0 and lane_of(6.0) == MEM_CLASSES_GB.index(8.0) and lane_of(None) == 0
    # a worker takes a class whose bound plus 10% fits its budget: 8 GB jobs need 8.8 GB
    assert MEM_CLASSES_GB.index(8.0) not in lanes_for_budget(8.0)
    assert lanes_for_budget(8.8)[0] == MEM_CLASSES_GB.index(8.0)
    assert lanes_for_budget(0.1) == [0]


def test_small_worker_never_gets_big_jobs_and_big_worker_takes_them_first(proj_dir: Path) -> None:
    q = _project(proj_dir)
    small = q.claim("small", 100, mem_gb=2.0)
    assert sorted(c.job_id for c in small) == [0, 1, 2, 3, 4, 5, 9, 10, 11]
    assert q.claim("small", 100, mem_gb=2.0) == []  # the big ones wait for a big worker
    big = q.claim("big", 2, mem_gb=16.0)
    assert [c.job_id for c in big] == [6, 7] and {c.lane for c in big} == {lane_of(6.0)}
    assert [c.job_id for c in q.claim("big", 5, mem_gb=16.0)] == [8]


def test_a_big_worker_takes_small_jobs_when_no_big_one_is_left(proj_dir: Path) -> None:
    q = _project(proj_dir)
    assert [c.job_id for c in q.claim("big", 3, mem_gb=16.0)] == [6, 7, 8]
    assert [c.job_id for c in q.claim("big", 3, mem_gb=16.0)] == [0, 1, 2]


def test_walltime_look_ahead_takes_a_job_from_a_smaller_lane(proj_dir: Path) -> None:
    q = _project(proj_dir)
    # the big jobs would not finish in time: the worker takes a small one instead of stopping
    claims = q.claim("w", 1, fits=lambda row: row["params"].get("mem_gb") != 6.0, mem_gb=16.0)
    assert [c.job_id for c in claims] == [0]


def test_put_back_keeps_the_lane_and_adds_join_their_lanes(proj_dir: Path) -> None:
    from benchgrid.store.storage._queue import Claim

    q = _project(proj_dir)
    (c,) = q.claim("big", 1, mem_gb=16.0)
    q.put_back([Claim(c.job_id, 2, 0, c.lane)], "handback", "big")
    small = q.claim("small", 100, mem_gb=2.0)
    assert small and c.job_id not in {x.job_id for x in small}  # the put-back big job stays in its lane
    Project.open(proj_dir).add_jobs([{"i": 100, "mem_gb": 40.0}, {"i": 101, "mem_gb": 0.2}])
    big = q.claim("huge", 10, mem_gb=64.0)
    assert [x.job_id for x in big] == [12]  # the 64 GB class comes first
    again = q.claim("huge", 10, mem_gb=64.0)
    assert (again[0].job_id, again[0].attempt) == (c.job_id, 2)  # the put-back job, in its lane
    report = audit_logs(proj_dir, save=False)
    assert report.ok, report.problems


def test_memory_key_is_checked_at_creation(proj_dir: Path) -> None:
    with pytest.raises(InputError, match="memory_key 'mem' names no job column"):
        Project.create(proj_dir, [{"i": 1}], RUNNER, memory_key="mem")
    with pytest.raises(InputError, match=r"jobs\[1\]\['mem'\] must be the expected peak memory in GB .* got 'big'"):
        Project.create(proj_dir, [{"i": 1, "mem": 1}, {"i": 2, "mem": "big"}], RUNNER, memory_key="mem")
    assert not proj_dir.exists()


def test_escalation_moves_up_without_a_lost_run_and_the_largest_class_counts_one(proj_dir: Path) -> None:
    from benchgrid.store.storage._lanes import N_LANES, lane_above
    from benchgrid.store.storage._lost import escalate_runs

    q = _project(proj_dir)
    (c,) = q.claim("w", 1, mem_gb=1.0)
    with q.lock:
        (up,) = escalate_runs(q, [c], budget_gb=1.0, reason="killed for memory", source="w")
    assert (up.attempt, up.lost, up.lane) == (c.attempt + 1, 0, lane_above(c.lane, 1.0))
    (back,) = q.claim("big", 1, mem_gb=2.0)
    assert (back.job_id, back.lane) == (c.job_id, up.lane)
    with q.lock:  # already in the largest class it can reach: a lost run, with the reason
        (lost,) = escalate_runs(q, [back], budget_gb=MEM_CLASSES_GB[-1], reason="killed for memory", source="big")
    assert lane_above(back.lane, MEM_CLASSES_GB[-1]) == N_LANES and lost.lost == 1
    from benchgrid.store.storage._records import read_records

    rec = read_records(q.layout.requeue)[0][-1]
    assert rec["why"] == "lost" and rec["reason"] == "killed for memory (no larger memory class)"
