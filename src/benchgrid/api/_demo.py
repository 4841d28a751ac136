"""``benchgrid demo``: the seed example end to end, runnable again and again.

The demo's folder holds a marker file; running the demo again on a folder
with that marker replaces it (nothing else is ever removed: a folder without
the marker that is not empty is refused). Its workers all take part: the
demo holds the project lock while they start, so none can claim a job
before the others are ready (the 72 jobs take about a second in all, less
than a worker takes to start on a busy machine).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .._errors import InputError
from ..store import Status

__all__ = ["MARKER", "DemoResult", "run_demo"]

MARKER = ".benchgrid-demo"
_BARRIER_S = 10.0  # below the lock's 15 s lease, so waiting workers never break it


@dataclass
class DemoResult:
    """What ``benchgrid demo`` wrote and how the run ended."""

    directory: Path
    project: Path
    files: dict[str, Path] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    n_workers: int = 0
    workers_with_jobs: int = 0
    ok: bool = True
    replaced: bool = False


def prepare_directory(out: Path) -> bool:
    """Make ``out`` ready; True when a previous demo's output was replaced."""
    if out.is_symlink():
        raise InputError(f"demo directory must not be a symbolic link, got {str(out)!r}; give a real folder")
    if not out.exists():
        out.mkdir(parents=True)
        (out / MARKER).write_text("written by `benchgrid demo`; running it again replaces this folder\n")
        return False
    if not out.is_dir():
        raise InputError(f"demo directory {str(out)!r} is a file; give a folder (default ./demo)")
    if (out / MARKER).is_file():
        shutil.rmtree(out)
        prepare_directory(out)
        return True
    if any(out.iterdir()):
        raise InputError(
            f"demo directory {str(out)!r} is not empty and was not written by `benchgrid demo`; "
            "give another DIR (`benchgrid demo DIR`) or empty it"
        )
    (out / MARKER).write_text("written by `benchgrid demo`; running it again replaces this folder\n")
    return False


def run_demo(
    directory: str | os.PathLike[str] = "demo",
    n_workers: int = 2,
    *,
    progress: bool = True,
    say: Callable[[str], None] | None = None,
) -> DemoResult:
    """Create and run the seed example in ``directory`` and write its scores (the CLI adds plots and the report).

    ``say(text)``, when given, hears each step before it starts (creating the
    project, starting the workers, which take seconds before the first job).

    Examples
    --------
    >>> # run_demo("demo")   # what `benchgrid demo` does; see docs/getting-started.md
    """
    from ..backends import wait_for_project
    from ..backends.local import worker_command
    from ..ml import demo_grid
    from ..store import ProjectState
    from ._project import Project

    if not isinstance(n_workers, int) or n_workers < 0:
        raise InputError(f"n_workers must be an integer >= 0, got {n_workers!r}")
    say = say or (lambda text: None)
    out = Path(directory).absolute()
    replaced = prepare_directory(out)
    say(f"creating the project in {out / 'project'} (data, learners and the SOAK splits of 72 jobs) ...")
    grid = demo_grid()
    proj = Project.create(out / "project", grid.pop("tasks"), grid.pop("learners"), grid.pop("cv"), **grid)
    status: Status
    if n_workers == 0:
        status = proj.run(n_workers=0, progress=False)
    else:
        procs: list[subprocess.Popen[bytes]] = []
        say(f"starting {n_workers} worker process(es); each imports scikit-learn before its first job ...")
        try:
            with proj._queue().lock:  # no claim until every worker is up (see the module docstring)
                procs = [  # quiet: the progress bar and the demo's summary say how they did
                    subprocess.Popen(worker_command(str(proj.path), name=f"demo{i}", quiet=True), stdin=subprocess.DEVNULL)
                    for i in range(n_workers)
                ]
                _wait_for_leases(proj.path / "workers", n_workers, procs)
            status = wait_for_project(
                ProjectState(proj.path), lambda: any(p.poll() is None for p in procs), progress=progress
            )
        finally:
            for p in procs:
                if p.poll() is None:
                    p.terminate()
                p.wait()
    result = DemoResult(out, proj.path, n_workers=n_workers, replaced=replaced)
    result.ok = status.counts["error"] == 0 and status.counts["failed"] == 0
    scores = proj.scores()  # type: ignore[attr-defined]  # an MLProject: made from tasks and learners
    result.workers_with_jobs = int(proj.results()["worker"].nunique())
    result.files["results"] = out / "results.csv"
    scores.to_csv(result.files["results"], index=False)
    return result


def _wait_for_leases(workers_dir: Path, n: int, procs: list[subprocess.Popen[bytes]]) -> None:
    """Wait (at most _BARRIER_S) until ``n`` workers wrote their lease or one of them ended."""
    deadline = time.monotonic() + _BARRIER_S
    while time.monotonic() < deadline:
        ready = sum(1 for d in workers_dir.iterdir() if (d / "lease.json").is_file()) if workers_dir.is_dir() else 0
        if ready >= n or any(p.poll() is not None for p in procs):
            return
        time.sleep(0.05)
