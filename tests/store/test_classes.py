"""One lanes mechanism (issue 21): the pure claim rule, then the queue with time and resource classes."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchgrid import Project
from benchgrid._errors import InputError
from benchgrid.store import Capacity, Claim, JobClass, Queue, audit_logs, claim_order, may_claim, read_project_json
from benchgrid.store.storage._classes import TIME_CLASSES_S, time_class_above, time_class_of
from benchgrid.store.storage._lanes import MEM_CLASSES_GB, lanes_for_budget

RUNNER = "tests.runners.jobs:sleep"
GPU = (("gpus", 1),)


# -- the pure rule ----------------------------------------------------------------
@pytest.mark.parametrize("budget", [None, 0.1, 1.0, 2.0, 4.4, 8.0, 8.8, 64.0, 4096.0])
def test_memory_alone_claims_exactly_as_memory_lanes_did(budget: float | None) -> None:
    classes = [JobClass(mem=k) for k in range(len(MEM_CLASSES_GB))]
    assert claim_order(classes, Capacity(mem_gb=budget)) == lanes_for_budget(budget)


def test_resources_a_worker_lacks_keep_it_off_and_a_gpu_worker_takes_gpu_jobs_first() -> None:
    lanes = [JobClass(), JobClass(mem=6), JobClass(res=GPU), JobClass(mem=6, res=(("gpus", 2),))]
    cpu, gpu, two = Capacity(mem_gb=16), Capacity(mem_gb=16, resources={"gpus": 1}), Capacity(resources={"gpus": 2})
    assert claim_order(lanes, cpu) == [1, 0]
    assert claim_order(lanes, gpu) == [2, 1, 0]
    assert claim_order(lanes, two) == [3, 2, 1, 0]
    assert not may_claim(JobClass(res=(("fpga", 1),)), two)


def test_time_classes_go_to_workers_long_enough_longest_first() -> None:
    assert time_class_of(None) == time_class_of(59) == 0 and time_class_of(61) == 1 and TIME_CLASSES_S[1] == 120
    lanes = [JobClass(), JobClass(time=1), JobClass(time=3)]  # <= 1 min, <= 2 min, <= 8 min
    assert claim_order(lanes, Capacity(limit_s=45)) == [0]  # a 1-minute allocation less its warning
    assert claim_order(lanes, Capacity(limit_s=135)) == [1, 0]  # a 3-minute one
    assert claim_order(lanes, Capacity(limit_s=3 * 3600)) == [2, 1, 0]
    assert claim_order(lanes, Capacity()) == [2, 1, 0]  # no known limit: every class
    # a job handed back at a limit goes where that worker may not claim it
    for limit in (45.0, 60.0, 135.0, 3 * 3600.0):
        assert not may_claim(JobClass(time=time_class_above(limit)), Capacity(limit_s=limit))
        assert may_claim(JobClass(time=time_class_above(limit)), Capacity(limit_s=4 * limit))


def test_class_keys_round_trip() -> None:
    for c in (JobClass(), JobClass(3, 2), JobClass(0, 0, (("fpga", 2), ("gpus", 1)))):
        assert JobClass.parse(c.key()) == c


# -- the queue ---------------------------------------------------------------------
def _project(root: Path) -> Queue:
    jobs = [{"i": i} for i in range(4)]  # plain CPU jobs, short
    jobs += [{"i": i, "gpus": 1} for i in range(4, 7)]
    jobs += [{"i": i, "expected_s": 100.0} for i in range(7, 9)]  # <= 2 min
    jobs += [{"i": 9, "gpus": 1, "mem_gb": 6.0}]
    Project.create(root, jobs, RUNNER, memory_key="mem_gb", time_key="expected_s", resource_keys=["gpus"])
    return Queue(root, read_project_json(root)["settings"])


def test_cpu_worker_never_gets_gpu_jobs_and_gpu_worker_takes_them_first(proj_dir: Path) -> None:
    q = _project(proj_dir)
    gpu = Capacity(mem_gb=16, limit_s=30, resources={"gpus": 1})
    taken = [c.job_id for c in q.claim("gpu", 2, capacity=gpu)]
    assert taken == [9]  # the big GPU job first, alone in its lane
    assert [c.job_id for c in q.claim("gpu", 10, capacity=gpu)] == [4, 5, 6]
    cpu = Capacity(mem_gb=16, limit_s=30)
    assert [c.job_id for c in q.claim("cpu", 10, capacity=cpu)] == [0, 1, 2, 3]
    assert q.claim("cpu", 10, capacity=cpu) == []  # the long jobs wait for a long worker
    assert [c.job_id for c in q.claim("long", 10, capacity=Capacity(limit_s=3600))] == [7, 8]
    assert audit_logs(proj_dir, save=False).ok


def test_a_new_class_gets_a_lane_and_put_backs_reach_it(proj_dir: Path) -> None:
    q = _project(proj_dir)
    n_lanes = len(q.cursor()["lk"])
    Project.open(proj_dir).add_jobs([{"i": 20, "gpus": 2}, {"i": 21}])
    assert len(q.cursor()["lk"]) == n_lanes + 1
    one = Capacity(resources={"gpus": 1})
    assert [c.job_id for c in q.claim("one", 10, capacity=one) + q.claim("one", 10, capacity=one)] == [9, 4, 5, 6]
    assert [c.job_id for c in q.claim("two", 1, capacity=Capacity(resources={"gpus": 2}))] == [10]  # job 10 (i=20)
    # a job handed back at a limit moves to a lane added for its longer class
    (c,) = q.claim("cpu", 1, capacity=Capacity(limit_s=30))
    lane = q.lane_of_class(JobClass(time=time_class_above(300)))  # <= 16 min: no job had it yet
    assert lane == len(q.cursor()["lk"]) - 1
    q.put_back([Claim(c.job_id, 2, 0, lane)], "handback", "cpu")
    assert c.job_id not in [x.job_id for x in q.claim("cpu", 10, capacity=Capacity(limit_s=30))]
    assert (c.job_id, 2) in [(x.job_id, x.attempt) for x in q.claim("long", 10, capacity=Capacity(limit_s=600))]
    report = audit_logs(proj_dir, save=False)
    assert report.ok, report.problems


def test_bad_counts_and_names_are_refused_up_front(proj_dir: Path) -> None:
    with pytest.raises(InputError, match=r"jobs\[1\]\['gpus'\] must be a count of gpus .* got -1"):
        Project.create(proj_dir, [{"i": 1}, {"i": 2, "gpus": -1}], RUNNER, resource_keys=["gpus"])
    with pytest.raises(InputError, match=r"jobs\[0\]\['s'\] must be the expected seconds .* got 'long'"):
        Project.create(proj_dir, [{"i": 1, "s": "long"}], RUNNER, time_key="s")
    with pytest.raises(InputError, match=r"resource_keys must be a list of job column names"):
        Project.create(proj_dir, [{"i": 1}], RUNNER, resource_keys="gpus")
    assert not proj_dir.exists()
