"""Dropping jobs by filter while real workers run, bringing them back, and crashes in between.

The invariants: a job dropped is never claimed after its drop is committed
(a worker that claimed it before finishes it); every other job ends with
exactly one result; an undrop loses no job (one the queue passed over is
put back once); two processes dropping at once drop each job once; a drop
or undrop killed at any step leaves a project that ``check`` finds
consistent and that ordinary workers finish.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from benchgrid import Project
from benchgrid.store import audit_logs
from benchgrid.store.storage._records import decode, read_records

from ..worker.helpers import audit, start_worker, stderr_of, stop_all, wait_exit, wait_until

SLEEP = "tests.runners.jobs:sleep"
SETTINGS = {"lease_s": 60.0, "lock_lease_s": 2.0}


def _grid(n_per_learner: int, seconds: float = 0.0) -> list[dict[str, object]]:
    return [
        {"i": i, "learner_id": learner, "seconds": seconds}
        for i in range(n_per_learner)
        for learner in ("rf", "lm", "knn")
    ]


def _env(step: str | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("BENCHGRID_KILL_AT", None)
    if step:
        env["BENCHGRID_KILL_AT"] = step
    return env


def _cli(*args: str, step: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "benchgrid", *args], env=_env(step), capture_output=True, text=True, timeout=120
    )


def _run_workers(root: Path, n: int, name: str) -> None:
    procs = [start_worker(root, f"{name}{k}") for k in range(n)]
    try:
        for k, p in enumerate(procs):
            assert wait_exit(p, 120, f"{name}{k}") == 0, stderr_of(root, f"{name}{k}")
    finally:
        stop_all(procs)


def _drop_commits(root: Path) -> list[tuple[int, str]]:
    """(byte offset in claims.log, op) of every drop and undrop commit."""
    out, offset = [], 0
    with open(root / "queue" / "claims.log", "rb") as f:
        for line in f:
            rec = decode(line)
            if rec is not None and rec.get("op") in ("drop", "undrop"):
                out.append((offset, rec["op"]))
            offset += len(line)
    return out


def _claims_with_offsets(root: Path) -> list[tuple[int, int, int]]:
    """(byte offset of the claim record, job, attempt) of every claimed job."""
    out, offset = [], 0
    with open(root / "queue" / "claims.log", "rb") as f:
        for line in f:
            rec = decode(line)
            if rec is not None and rec.get("op") == "claim":
                out += [(offset, int(c[0]), int(c[1])) for c in rec["c"]]
            offset += len(line)
    return out


def test_drop_while_workers_run(proj_dir: Path) -> None:
    jobs = _grid(40, seconds=0.02)
    proj = Project.create(proj_dir, jobs, SLEEP, **SETTINGS)
    rf = {j for j, row in enumerate(jobs) if row["learner_id"] == "rf"}
    procs = [start_worker(proj_dir, f"w{k}") for k in range(2)]
    try:
        wait_until(lambda: proj.status().counts["done"] >= 10, 60, "10 jobs done")
        assert proj.drop(where={"learner_id": "rf"}) == len(rf)
        for k, p in enumerate(procs):
            assert wait_exit(p, 120, f"w{k}") == 0, stderr_of(proj_dir, f"w{k}")
    finally:
        stop_all(procs)
    [(commit_at, _op)] = _drop_commits(proj_dir)
    claims = _claims_with_offsets(proj_dir)
    after = [job for at, job, _a in claims if at > commit_at]
    assert after, "the workers claimed nothing after the drop: the test did not drop while they ran"
    assert not rf & set(after), "a dropped job was claimed after its drop"
    a = audit(proj_dir)
    done = a.done_per_job()
    claimed_before = {job for at, job, _a in claims if at < commit_at}
    assert {j for j in rf if done.get(j)} <= claimed_before, "a dropped job got a result without an earlier claim"
    others = [j for j in range(len(jobs)) if j not in rf]
    assert [done.get(j, 0) for j in others] == [1] * len(others), "a kept job was not done exactly once"
    assert all(n == 1 for n in done.values())
    status = proj.status()
    assert status.counts["dropped"] == len(rf) and status.counts["done"] == len(others)
    assert status.finished and status.counts["pending"] == 0 and status.counts["failed"] == 0
    res = proj.results()
    assert sorted(res["job_id"]) == others and set(res["state"]) == {"done"}
    every = proj.results(dropped=True)
    assert len(every) == len(jobs) and set(every[every["learner_id"] == "rf"]["state"]) == {"dropped"}
    report = audit_logs(proj_dir, save=False)
    assert report.ok, report.problems


def test_drop_then_undrop_then_run_every_job_once(proj_dir: Path) -> None:
    jobs = _grid(12)
    proj = Project.create(proj_dir, jobs, SLEEP, **SETTINGS)
    assert proj.drop(where={"learner_id": "knn"}) == 12
    assert proj.drop(where={"learner_id": "knn"}) == 0  # already dropped: nothing written
    assert len(_drop_commits(proj_dir)) == 1
    _run_workers(proj_dir, 2, "first")
    assert proj.status().counts == {**dict.fromkeys(proj.status().counts, 0), "done": 24, "dropped": 12}
    # retry leaves dropped jobs alone; undrop brings them back, passed over, so they are put back once
    assert proj.retry(errors=True, expired=True) == 0
    assert proj.undrop(where={"learner_id": "knn", "i": 3}) == 1
    assert proj.undrop() == 11
    assert proj.undrop() == 0
    assert proj.status().counts["queued"] == 12
    _run_workers(proj_dir, 2, "second")
    a = audit(proj_dir)
    assert a.done_per_job() == Counter(range(len(jobs)))
    assert max(a.claims_per().values()) == 1
    assert len(proj.results()) == len(jobs) and set(proj.results()["state"]) == {"done"}
    report = audit_logs(proj_dir, save=False)
    assert report.ok, report.problems


def test_undrop_gives_back_done_jobs_and_a_job_never_reached(proj_dir: Path) -> None:
    jobs = _grid(4)
    proj = Project.create(proj_dir, jobs, SLEEP, **SETTINGS)
    _run_workers(proj_dir, 1, "first")
    assert proj.drop(where={"learner_id": "lm"}) == 4
    assert len(proj.results()) == 8
    assert proj.undrop(where={"learner_id": "lm"}) == 4
    assert proj.status().counts["done"] == 12  # done before the drop: done again, no rerun
    proj.add_jobs([{"i": 9, "learner_id": "rf", "seconds": 0.0}])
    assert proj.drop(where={"i": 9}) == 1  # not reached by the cursor yet
    assert proj.undrop(where={"i": 9}) == 1
    requeues, _ = read_records(proj_dir / "queue" / "requeue.log")
    assert requeues == [], "a job ahead of the cursor must not be put back (it would be claimed twice)"
    _run_workers(proj_dir, 1, "second")
    assert audit(proj_dir).done_per_job() == Counter(range(13))
    assert audit_logs(proj_dir, save=False).ok


DROP = """
import sys, time
from pathlib import Path
from benchgrid import Project
go = Path(sys.argv[2])
while not go.exists():
    time.sleep(0.001)
print(Project.open(sys.argv[1]).drop(where={sys.argv[3]: sys.argv[4]}))
"""


def test_two_processes_dropping_at_once(proj_dir: Path, tmp_path: Path) -> None:
    jobs = _grid(30, seconds=0.01)
    proj = Project.create(proj_dir, jobs, SLEEP, **SETTINGS)
    go = tmp_path / "go"
    workers = [start_worker(proj_dir, "w0")]
    droppers = [
        subprocess.Popen([sys.executable, "-c", DROP, str(proj_dir), str(go), col, value],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
        for col, value in (("learner_id", "rf"), ("i", "7"), ("learner_id", "rf"))
    ]
    try:
        wait_until(lambda: proj.status().counts["done"] >= 3, 60, "3 jobs done")
        go.touch()
        outs = [p.communicate(timeout=60) for p in droppers]
        assert all(p.returncode == 0 for p in droppers), [err for _o, err in outs]
        assert wait_exit(workers[0], 120, "w0") == 0, stderr_of(proj_dir, "w0")
    finally:
        stop_all(workers + droppers)  # type: ignore[arg-type]
    wanted = {j for j, row in enumerate(jobs) if row["learner_id"] == "rf" or row["i"] == 7}
    assert sum(int(out) for out, _err in outs) == len(wanted)  # each job dropped by one of them
    records, _ = read_records(proj_dir / "queue" / "drops.log")
    named = Counter(j for r in records for j in r["jobs"])
    assert set(named) == wanted and set(named.values()) == {1}
    counts = proj.status().counts
    assert counts["dropped"] == len(wanted) and counts["done"] == len(jobs) - len(wanted)
    report = audit_logs(proj_dir, save=False)
    assert report.ok, report.problems


@pytest.mark.parametrize("step", ["drop.locked", "drop.written", "drop.committed"])
def test_drop_killed_at_any_step(proj_dir: Path, step: str) -> None:
    jobs = _grid(8)
    proj = Project.create(proj_dir, jobs, SLEEP, **SETTINGS)
    cut = _cli("drop", str(proj_dir), "--where", "learner_id=rf", step=step)
    assert cut.returncode == -signal.SIGKILL, cut.stderr
    took_effect = step == "drop.committed"
    assert proj.status().counts["dropped"] == (8 if took_effect else 0)
    report = audit_logs(proj_dir, save=False)
    assert report.ok, report.problems
    if step == "drop.written":
        assert any("never committed" in note for note in report.notes), report.notes
    # another drop works, and what the killed one wrote is not resurrected by it
    again = _cli("drop", str(proj_dir), "--where", "i=0")
    assert again.returncode == 0, again.stderr
    rf = {j for j, row in enumerate(jobs) if row["learner_id"] == "rf"}
    dropped = rf | {0, 1, 2} if took_effect else {0, 1, 2}
    assert proj.state().dropped == dropped
    _run_workers(proj_dir, 2, "w")
    done = audit(proj_dir).done_per_job()
    assert done == Counter(j for j in range(len(jobs)) if j not in dropped)
    report = audit_logs(proj_dir, save=False)
    assert report.ok and not any("never committed" in n for n in report.notes), (report.problems, report.notes)


@pytest.mark.parametrize("step", ["drop.locked", "putback.written", "drop.written", "drop.committed"])
def test_undrop_killed_at_any_step_loses_no_job(proj_dir: Path, step: str) -> None:
    jobs = _grid(6)
    proj = Project.create(proj_dir, jobs, SLEEP, **SETTINGS)
    proj.drop(where={"learner_id": "lm"})
    _run_workers(proj_dir, 1, "first")  # every lm job is passed over
    cut = _cli("undrop", str(proj_dir), step=step)
    assert cut.returncode == -signal.SIGKILL, cut.stderr
    assert proj.status().counts["dropped"] == (0 if step == "drop.committed" else 6)
    _run_workers(proj_dir, 1, "between")  # passes over any line the killed undrop put back
    report = audit_logs(proj_dir, save=False)
    assert report.ok, report.problems
    again = _cli("undrop", str(proj_dir))
    assert again.returncode == 0, again.stderr
    _run_workers(proj_dir, 1, "last")
    a = audit(proj_dir)
    assert a.done_per_job() == Counter(range(len(jobs)))
    assert max(a.claims_per().values()) == 1
    report = audit_logs(proj_dir, save=False)
    assert report.ok, report.problems


def test_drop_in_a_project_with_memory_lanes(proj_dir: Path) -> None:
    jobs = [{"i": i, "learner_id": "rf" if i % 2 else "lm", "mem_gb": [0.1, 3.0, 20.0][i % 3]} for i in range(24)]
    proj = Project.create(proj_dir, jobs, SLEEP, memory_key="mem_gb", **SETTINGS)
    assert proj.drop(where={"learner_id": "rf"}) == 12
    first = proj.run(n_workers=0, progress=False)
    assert first.counts["done"] == 12 and first.counts["dropped"] == 12
    assert audit_logs(proj_dir, save=False).ok
    assert proj.undrop() == 12
    second = proj.run(n_workers=0, progress=False)
    assert second.counts["done"] == 24
    assert audit(proj_dir).done_per_job() == Counter(range(24))
    report = audit_logs(proj_dir, save=False)
    assert report.ok, report.problems
