"""The invariants every backend keeps, run over every registered backend through one fixture.

A new backend is tested here by adding its name to the registry: the
``drain`` fixture runs a project to its end on it (waiting for the local
ones, submitting and polling for the schedulers), and each test checks an
invariant of DESIGN.md on the outcome, against a reference run in-process.
Scheduler backends skip when their scheduler is not up, and fail under CI=true.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import pytest

from benchgrid import Project
from benchgrid.backends import backend_names, get_backend

from .conftest import require_scheduler

Drain = Callable[[Project, int], None]


@pytest.fixture(params=backend_names())
def drain(request: pytest.FixtureRequest) -> Drain:
    """``drain(proj, n_workers)``: run ``proj`` to its end on the backend named by the param."""
    backend = get_backend(request.param)
    if not backend.waits:
        require_scheduler(backend.name)

    def run(proj: Project, n_workers: int) -> None:
        if backend.name == "debug":
            proj.run(1, backend="debug", progress=False)
        elif backend.waits:
            proj.run(n_workers, backend=backend.name, progress=False)
        else:
            proj.submit(n_workers, backend=backend.name, time="5")
            deadline = time.time() + 240
            while time.time() < deadline:
                rows = backend.workers(proj.path)
                if rows and all(r.phase == "ended" for r in rows):
                    return
                time.sleep(0.3)
            backend.cancel(proj.path)
            raise AssertionError(f"{backend.name} workers of {proj.path} did not end: {backend.workers(proj.path)}")

    return run


def reference(proj_dir: Path, jobs: list[dict], runner: str) -> Project:
    ref = Project.create(proj_dir.parent / "reference", jobs, runner)
    ref.run(0, progress=False)
    return ref


def test_each_job_runs_once_with_the_results_of_an_in_process_run(drain: Drain, proj_dir: Path) -> None:
    jobs = [{"i": i} for i in range(60)]
    proj = Project.create(proj_dir, jobs, "tests.runners.jobs:echo")
    drain(proj, 2)
    got, want = proj.results(), reference(proj_dir, jobs, "tests.runners.jobs:echo").results()
    assert list(got["state"]) == ["done"] * 60  # invariant 3: exactly one accepted result each
    assert got["job_id"].is_unique and set(got["attempt"]) == {1}
    assert got.set_index("job_id")["value"].equals(want.set_index("job_id")["value"])
    assert proj.status().counts["done"] == 60


def test_a_runner_error_is_recorded_and_the_worker_goes_on(drain: Drain, proj_dir: Path) -> None:
    proj = Project.create(proj_dir, [{"i": i, "fail_every": 3} for i in range(12)], "tests.runners.jobs:fail_some")
    drain(proj, 2)
    res = proj.results().set_index("job_id")
    failing = {j for j in res.index if res.loc[j, "i"] % 3 == 0}
    assert {j for j in res.index if res.loc[j, "state"] == "error"} == failing  # invariant 5
    assert set(res.loc[sorted(set(res.index) - failing), "state"]) == {"done"}
    errors = proj.errors()
    assert len(errors) == len(failing)
    assert all("fails on purpose" in tb for tb in errors["traceback"])


def test_seeds_do_not_depend_on_the_backend(drain: Drain, proj_dir: Path) -> None:
    jobs = [{"i": i} for i in range(20)]
    proj = Project.create(proj_dir, jobs, "tests.runners.jobs:seeded")
    drain(proj, 2)
    got = proj.results().set_index("job_id")["seed"]
    want = reference(proj_dir, jobs, "tests.runners.jobs:seeded").results().set_index("job_id")["seed"]
    assert got.equals(want)  # invariant 6
