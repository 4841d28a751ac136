"""Fixtures that need a real scheduler: skip with the reason when none answers, fail under CI=true."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from collections.abc import Iterator
from typing import Any, Callable, Generic, TypeVar

import pytest

T = TypeVar("T")


def scheduler_missing(name: str) -> str | None:
    """None when the named scheduler answers on this machine, else why not."""
    if name == "slurm":
        if shutil.which("sbatch") is None:
            return "sbatch is not on PATH; start one with `sudo scripts/slurm-local start`"
        cmd = ["sinfo", "-h", "-o", "%T"]

        def ok(out: str) -> bool:
            return any(s.startswith(("idle", "mixed", "alloc", "completing")) for s in out.split())
    elif name == "sge":
        if shutil.which("qsub") is None:
            return "qsub is not on PATH; start one with `sudo scripts/sge-local start`"
        cmd = ["qstat", "-f"]

        def ok(out: str) -> bool:  # noqa: F811 - one check per scheduler
            # a queue instance line ends with its load; "-NA-" means execd is not there
            return any("@" in line and "-NA-" not in line for line in out.splitlines())
    else:
        return None
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"{cmd[0]} failed: {err}"
    if out.returncode != 0 or not ok(out.stdout):
        return f"no usable {name} host ({' '.join(cmd)}: {out.stdout.strip() or out.stderr.strip()!r})"
    return None


def require_scheduler(name: str) -> None:
    why = scheduler_missing(name)
    if why is None:
        return
    message = f"no {name} here: {why}"
    if os.environ.get("CI") == "true":
        pytest.fail(message + f" (CI=true: {name} tests must run)")
    pytest.skip(message)


@pytest.fixture(scope="module")
def sge() -> None:
    require_scheduler("sge")


def wait_for(predicate: Callable[[], object], timeout_s: float = 120, what: str = "condition") -> None:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


# -- one campaign per scheduler, submitted side by side ----------------------------------


class SideBySide(Generic[T]):
    """What ``start(backend, root)`` returned for each scheduler, or the error it raised.

    SLURM and Grid Engine are two schedulers with their own slots: a campaign
    on one does not wait for the other's allocations, and both are mostly
    minutes of allocations waiting for their time limit. So the parametrized
    test of a long campaign starts the campaign of every scheduler its
    selected items name at once (a module fixture), and each item waits for
    and asserts its own: the same campaigns and assertions, in the time of
    the slower one.
    """

    def __init__(self, started: dict[str, T | BaseException], roots: dict[str, Path]):
        self._started = started
        self.roots = roots  # the project of each scheduler's campaign

    def __getitem__(self, backend: str) -> T:
        require_scheduler(backend)
        if backend not in self._started:
            raise AssertionError(f"no {backend} campaign was started: its scheduler was missing at the start")
        got = self._started[backend]
        if isinstance(got, BaseException):
            raise AssertionError(f"starting the {backend} campaign failed: {got!r}") from got
        return got

    def cancel(self) -> None:
        """Cancel what each campaign still has on its scheduler (a failed item's, or one asserted before its end)."""
        for root in self.roots.values():
            cancel_project(root)


def start_side_by_side(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                       start: Callable[[str, Path], T]) -> SideBySide[T]:
    """Start a campaign on each scheduler a selected test of ``request.fixturename`` takes as ``backend``.

    Each project is at a path with a space and a quote in it, as ``proj_dir``'s.
    """
    wanted = sorted({item.callspec.params["backend"] for item in request.session.items
                     if request.fixturename in getattr(item, "fixturenames", ())
                     and "backend" in getattr(getattr(item, "callspec", None), "params", {})})
    started: dict[str, T | BaseException] = {}
    roots: dict[str, Path] = {}
    for backend in wanted:
        if scheduler_missing(backend) is not None:
            continue  # the item fails (CI=true) or skips saying why
        roots[backend] = root = tmp_path_factory.mktemp(f"{request.fixturename}-{backend}") / "my proj's dir" / "proj"
        root.parent.mkdir()
        try:
            started[backend] = start(backend, root)
        except Exception as err:  # noqa: BLE001 - the item of this scheduler reports it, the other goes on
            started[backend] = err
    return SideBySide(started, roots)


def side_by_side_fixture(name: str, start: Callable[[str, Path], T]) -> Any:
    """A module fixture ``name``: ``start`` each selected scheduler's campaign at once, cancel what is left after.

    ``gpu_and_cpu_pools = side_by_side_fixture("gpu_and_cpu_pools", _start_gpu_and_cpu_pools)``
    """
    @pytest.fixture(scope="module", name=name)
    def fixture(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SideBySide[T]]:
        started = start_side_by_side(request, tmp_path_factory, start)
        yield started
        started.cancel()

    return fixture


def cancel_project(root: Path) -> None:
    """Cancel whatever ``root`` still has on a scheduler (a test that ends before its allocations do)."""
    if (root / "project.json").exists():
        subprocess.run([sys.executable, "-m", "benchgrid", "cancel", str(root)], capture_output=True, text=True,
                       timeout=120)


def segfault_project(proj_dir: Path) -> Any:
    """Six jobs, job 1 a real SIGSEGV in C code, ``max_attempts=2`` (issue 21's restart inside the allocation)."""
    from benchgrid import Project

    jobs = [{"i": i, "how": "segv", "bad": 1} for i in range(6)]
    return Project.create(proj_dir, jobs, "tests.runners.misbehave:misbehave", max_attempts=2)


def assert_new_workers_followed_the_crashes(proj: Any, task_prefix: str, logs: str) -> None:
    """One scheduler task ran three workers in turn: the job that killed two failed, every other job is done."""
    res = proj.results().set_index("job_id")
    assert list(res["state"]) == ["done", "failed", "done", "done", "done", "done"]
    assert str(res.loc[1, "error"]).startswith("killed by SIGSEGV 2 times (max_attempts=2)"), res.loc[1, "error"]
    workers = sorted(p.name for p in (proj.path / "workers").iterdir())
    assert len(workers) == 3 and all(w.startswith(task_prefix) for w in workers), workers
    assert "starting a new worker in this allocation (restart 2)" in logs, logs
