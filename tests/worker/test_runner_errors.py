"""Invariant 5: a runner error is recorded with its traceback, and the worker goes on.

One worker process runs 12 jobs of which 4 raise on their first attempt
(``tests.runners.jobs:fail_first_attempt``). A worker that let the
exception escape would die at the first one (job 0), leaving 11 jobs
undone; a worker that swallowed it without a record would leave no
traceback and no 'error' state for ``retry --errors`` to find.
"""

from __future__ import annotations

import pytest

from benchgrid import Project
from benchgrid.cli.main import main

from .helpers import audit, start_worker, state, stderr_of, wait_exit

N_JOBS = 12
FAILING = [0, 3, 6, 9]


def _run_one_worker(proj_dir, name):
    proc = start_worker(proj_dir, name)
    assert wait_exit(proc, timeout_s=60) == 0, stderr_of(proj_dir, name)
    return stderr_of(proj_dir, name)


def test_runner_error_recorded_worker_goes_on_and_retry_errors_reruns(proj_dir, capsys):
    Project.create(proj_dir, [{"i": i} for i in range(N_JOBS)], "tests.runners.jobs:fail_first_attempt")
    summary = _run_one_worker(proj_dir, "only")
    assert f"{N_JOBS - len(FAILING)} done, {len(FAILING)} errors" in summary

    proj = Project.open(proj_dir)
    # state 'error' for the failing jobs, 'done' for the others: the one worker went on after each error
    res = proj.results().set_index("job_id")
    assert [j for j in range(N_JOBS) if res.loc[j, "state"] == "error"] == FAILING
    assert (res.drop(index=FAILING)["state"] == "done").all()
    assert res["worker"].nunique() == 1
    assert res.loc[3, "error"] == "ValueError: job 3 fails on purpose"
    assert proj.status().counts["error"] == len(FAILING)

    # the traceback, through the API and in the raw log, names the runner's frame and the exception
    errs = proj.errors().set_index("job_id")
    assert list(errs.index) == FAILING
    for job in FAILING:
        tb = errs.loc[job, "traceback"]
        assert tb.startswith("Traceback (most recent call last):")
        assert "runners/jobs.py" in tb and "in fail_first_attempt" in tb
        assert tb.rstrip().endswith(f"ValueError: job {job} fails on purpose")
    a = audit(proj_dir)
    assert sorted(job for job, _a in a.errors) == FAILING
    assert all(len(recs) == 1 and "raise ValueError" in recs[0]["tb"] for recs in a.errors.values())
    worker_id = a.workers[0]
    log = (proj_dir / "workers" / worker_id / "worker.log").read_text()
    assert "job 6 attempt 1 failed" in log and "ValueError: job 6 fails on purpose" in log

    # retry --errors puts exactly those back with attempt 2 ...
    capsys.readouterr()
    assert main(["retry", str(proj_dir), "--errors"]) == 0
    assert f"put {len(FAILING)} job(s) back" in capsys.readouterr().out
    s = state(proj_dir)
    assert [j for j in range(N_JOBS) if s.state_of(j) == "queued"] == FAILING
    assert all(s.latest_attempt(j) == 2 for j in FAILING)
    assert sorted((r["job"], r["a"], r["why"]) for r in audit(proj_dir).requeues) == [(j, 2, "retry") for j in FAILING]

    # ... and a worker reruns them (they pass on attempt 2); the others are not run again
    summary = _run_one_worker(proj_dir, "again")
    assert f"{len(FAILING)} done, 0 errors" in summary
    res = Project.open(proj_dir).results().set_index("job_id")
    assert (res["state"] == "done").all()
    assert res.loc[FAILING, "attempt"].tolist() == [2] * len(FAILING)
    assert (res.drop(index=FAILING)["attempt"] == 1).all()
    assert res.loc[FAILING, "value"].tolist() == FAILING
    a = audit(proj_dir)
    assert sorted(a.done) == sorted([(j, 1) for j in range(N_JOBS) if j not in FAILING] + [(j, 2) for j in FAILING])
    assert Project.open(proj_dir).errors().empty


@pytest.mark.parametrize("how", ["api", "cli"])
def test_retry_errors_touches_only_errored_jobs(proj_dir, how, capsys):
    Project.create(proj_dir, [{"i": i} for i in range(6)], "tests.runners.jobs:fail_some")
    _run_one_worker(proj_dir, "w")
    if how == "api":
        assert Project.open(proj_dir).retry(errors=True) == 2
    else:
        assert main(["retry", str(proj_dir), "--errors"]) == 0
    s = state(proj_dir)
    assert {j: s.state_of(j) for j in range(6)} == {
        0: "queued", 1: "done", 2: "done", 3: "queued", 4: "done", 5: "done"
    }
    # fail_some fails every time: the rerun records a second error, at attempt 2, with its own traceback
    _run_one_worker(proj_dir, "w2")
    a = audit(proj_dir)
    assert sorted(a.errors) == [(0, 1), (0, 2), (3, 1), (3, 2)]
    res = Project.open(proj_dir).results().set_index("job_id")
    assert res.loc[[0, 3], "state"].tolist() == ["error", "error"]
    assert res.loc[[0, 3], "attempt"].tolist() == [2, 2]
