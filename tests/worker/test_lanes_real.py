"""One lanes mechanism with real worker processes (issue 21): GPU and CPU workers, short and long ones.

Workers are ``benchgrid work`` processes of different capacities; who ran
what, and in which order each worker claimed, is read from the raw
``claims.log``, and every run ends checked by ``audit_logs``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from benchgrid import Project
from benchgrid.store import Capacity, ProjectState, audit_logs, read_records, record_capacity
from benchgrid.store.storage._layout import Layout

from .helpers import start_worker, stderr_of, wait_exit, wait_until

RUNNER = "tests.runners.jobs:sleep"
FAST = {"lease_s": 4.0}  # the heartbeat (lease / 4) notices a deadline within a second


def _claims(root: Path) -> list[tuple[str, list[int]]]:
    """(worker name, jobs) per claim record, in the order of ``claims.log``."""
    records, _end = read_records(Layout(root).claims)
    return [(str(r["w"]).split("-")[0], [int(c[0]) for c in r["c"]]) for r in records if r.get("op") == "claim"]


def _no_gpus() -> None:
    os.environ.pop("CUDA_VISIBLE_DEVICES", None)  # the workers inherit it: the CPU worker must have none
    os.environ.pop("SLURM_GPUS_ON_NODE", None)


def test_gpu_jobs_only_on_the_gpu_worker_which_takes_them_first(proj_dir: Path) -> None:
    _no_gpus()
    jobs = [{"i": i, "seconds": 0.05} for i in range(16)] + [{"i": i, "seconds": 0.2, "gpus": 1} for i in range(16, 22)]
    Project.create(proj_dir, jobs, RUNNER, resource_keys=["gpus"], **FAST)
    gpu_jobs = set(range(16, 22))
    procs = [start_worker(proj_dir, "gpu", "--gpus", "1"), start_worker(proj_dir, "cpu")]
    for p, name in zip(procs, ("gpu", "cpu")):
        assert wait_exit(p, 120) == 0, stderr_of(proj_dir, name)
    state = ProjectState(proj_dir).refresh()
    assert state.counts()["done"] == len(jobs)
    claims = _claims(proj_dir)
    by_cpu = {j for w, js in claims if w == "cpu" for j in js}
    assert not by_cpu & gpu_jobs  # no GPU job on a CPU worker
    gpu_order = [j for w, js in claims if w == "gpu" for j in js]
    assert set(gpu_order) >= gpu_jobs
    # no CPU job on the GPU worker while GPU jobs waited: its first claims are every GPU job
    assert set(gpu_order[: len(gpu_jobs)]) == gpu_jobs, gpu_order
    report = audit_logs(proj_dir, save=False)
    assert report.ok, report.problems


def test_long_jobs_go_to_the_long_worker_first(proj_dir: Path) -> None:
    jobs = [{"i": i, "seconds": 0.3, "expected_s": 100.0} for i in range(2)]  # declared <= 2 min
    jobs += [{"i": i, "seconds": 0.05} for i in range(2, 14)]
    Project.create(proj_dir, jobs, RUNNER, time_key="expected_s", **FAST)
    procs = [start_worker(proj_dir, "short", "--until", "+40s"), start_worker(proj_dir, "long", "--until", "+600s")]
    for p, name in zip(procs, ("short", "long")):
        assert wait_exit(p, 120) == 0, stderr_of(proj_dir, name)
    assert ProjectState(proj_dir).refresh().counts()["done"] == len(jobs)
    claims = _claims(proj_dir)
    assert not {0, 1} & {j for w, js in claims if w == "short" for j in js}  # a 40 s worker never takes them
    long_order = [j for w, js in claims if w == "long" for j in js]
    assert long_order[:2] == [0, 1], long_order
    assert audit_logs(proj_dir, save=False).ok


def _handed_back_twice(root: Path) -> None:
    """Two short workers in turn: each takes job 0 (too long for them, not declared) and hands it back."""
    for k in range(2):
        p = start_worker(root, f"short{k}", "--until", "+5s")
        assert wait_exit(p, 60) == 0, stderr_of(root, f"short{k}")


def _long_job_project(root: Path) -> None:
    jobs = [{"i": 0, "seconds": 12.0}] + [{"i": i, "seconds": 0.05} for i in range(1, 4)]
    Project.create(root, jobs, RUNNER, time_key="expected_s", **FAST)


def test_a_job_handed_back_twice_moves_to_a_longer_class_that_a_pool_serves(proj_dir: Path) -> None:
    _long_job_project(proj_dir)
    record_capacity(proj_dir, Capacity(limit_s=3600.0), "submit test")  # as `submit --pool 1x4G@1:00:00` notes it
    _handed_back_twice(proj_dir)
    state = ProjectState(proj_dir).refresh()
    assert state.state_of(0) == "queued" and state.requeued_lane.get(0, 0) != 0, state.requeued.get(0)
    p = start_worker(proj_dir, "short2", "--until", "+5s")  # a short worker leaves it alone now
    assert wait_exit(p, 60) == 0, stderr_of(proj_dir, "short2")
    assert 0 not in {j for w, js in _claims(proj_dir) if w == "short2" for j in js}
    p = start_worker(proj_dir, "long", "--until", "+600s")
    assert wait_exit(p, 120) == 0, stderr_of(proj_dir, "long")
    state = ProjectState(proj_dir).refresh()
    assert state.counts()["done"] == 4
    assert state.lost_runs(0) == 0  # hand-backs for time never burn max_attempts
    assert audit_logs(proj_dir, save=False).ok


def test_a_job_no_worker_has_time_for_ends_saying_what_it_needs(proj_dir: Path) -> None:
    _long_job_project(proj_dir)
    _handed_back_twice(proj_dir)
    state = ProjectState(proj_dir).refresh()
    assert state.state_of(0) == "failed"
    reason = state.failed[0][1]
    assert "needs more than 0:0" in reason and "handed back 2 times at the limit" in reason, reason
    assert "benchgrid submit" in reason and "--pool 1x4G@" in reason and "retry" in reason
    assert state.lost_runs(0) == 0
    out = subprocess.run([sys.executable, "-m", "benchgrid", "status", str(proj_dir)], capture_output=True, text=True)
    assert "needs more than" in out.stdout + out.stderr
    assert audit_logs(proj_dir, save=False).ok


def test_a_job_declared_longer_than_a_worker_moves_at_once_and_blocks_nothing(proj_dir: Path) -> None:
    jobs = [{"i": 0, "seconds": 0.2, "expected_s": 50.0}]  # <= 1 min: the smallest time class, too long for 20 s
    jobs += [{"i": i, "seconds": 0.05} for i in range(1, 8)]
    Project.create(proj_dir, jobs, RUNNER, time_key="expected_s", **FAST)
    record_capacity(proj_dir, Capacity(limit_s=600.0), "submit test")
    p = start_worker(proj_dir, "short", "--until", "+20s")
    assert wait_exit(p, 60) == 0, stderr_of(proj_dir, "short")
    state = ProjectState(proj_dir).refresh()
    assert state.counts()["done"] == 7 and state.state_of(0) == "queued"  # the jobs behind it ran
    p = start_worker(proj_dir, "long", "--until", "+600s")
    assert wait_exit(p, 60) == 0, stderr_of(proj_dir, "long")
    assert ProjectState(proj_dir).refresh().counts()["done"] == 8
    assert audit_logs(proj_dir, save=False).ok


def test_status_names_jobs_no_live_worker_may_take(proj_dir: Path) -> None:
    _no_gpus()
    jobs = [{"i": 0, "seconds": 30.0}, {"i": 1, "gpus": 1}]
    Project.create(proj_dir, jobs, RUNNER, resource_keys=["gpus"], **FAST)
    p = start_worker(proj_dir, "cpu")
    try:
        wait_until(lambda: ProjectState(proj_dir).refresh().state_of(0) == "running", 30, "job 0 to run")
        status = Project.open(proj_dir).status()
        assert "1 job(s) wait in classes no live worker may take (gpus=1: 1)" in status.hint, status.hint
    finally:
        p.terminate()
        wait_exit(p, 30)


def test_a_worker_killed_after_adding_a_lane_loses_nothing(proj_dir: Path, monkeypatch) -> None:
    _long_job_project(proj_dir)
    record_capacity(proj_dir, Capacity(limit_s=3600.0), "submit test")
    p = start_worker(proj_dir, "short0", "--until", "+5s")
    assert wait_exit(p, 60) == 0, stderr_of(proj_dir, "short0")
    monkeypatch.setenv("BENCHGRID_KILL_AT", "lane.added")  # between the longer lane and the job put in it
    p = start_worker(proj_dir, "short1", "--until", "+8s")
    assert wait_exit(p, 60) == -9, stderr_of(proj_dir, "short1")
    monkeypatch.delenv("BENCHGRID_KILL_AT")
    p = start_worker(proj_dir, "long", "--until", "+600s")  # recovers the dead worker's job, then runs it
    assert wait_exit(p, 120) == 0, stderr_of(proj_dir, "long")
    state = ProjectState(proj_dir).refresh()
    assert state.counts()["done"] == 4, state.counts()
    report = audit_logs(proj_dir, save=False)
    assert report.ok, report.problems


def test_a_job_declared_longer_than_every_submitted_pool_says_so_once_the_workers_ended(tmp_path: Path) -> None:
    """Seen in bench_campaign's declared variant: the job waited in a class no pool serves while status
    said only 'no worker is running'; status now names the class and the fix."""
    import time

    from benchgrid import Project
    from benchgrid.worker import Worker

    root = tmp_path / "p"
    Project.create(root, [{"i": i, "seconds": 0.01} for i in range(3)] + [{"i": 9, "seconds": 90, "expected_s": 90}],
                   "tests.runners.jobs:sleep", time_key="expected_s")
    record_capacity(root, Capacity(None, 45.0, {}), "submit slurm")  # what submit --time 0:00:45 notes
    summary = Worker(root, until=time.time() + 45).run(handle_signals=False)
    assert summary.done == 3
    hint = Project.open(root).status().hint
    assert "1 job(s) wait in classes no worker of the submitted pools may take (<= 2:00: 1)" in hint
    assert f"`benchgrid submit {root} --until-done --pool 1x4G@0:03:00`" in hint, hint  # 3 min: 2:15 to compute
