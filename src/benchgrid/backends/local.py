"""Local backend: N worker processes on this machine (or, with 0, jobs run in this process)."""

from __future__ import annotations

import signal
import sys
from typing import TYPE_CHECKING, Any

from .._errors import InputError
from ..store._views import Status
from ._base import wait_for_project
from ._forkserver import spawn_worker, wait_all

if TYPE_CHECKING:
    from ..api._project import Project

__all__ = ["run_local", "worker_command"]


def worker_command(project_dir: str, name: str | None = None, **options: Any) -> list[str]:
    """The command line of one worker process (what every backend launches).

    Examples
    --------
    >>> worker_command("/p", name="w1", max_jobs=5)[-6:]
    ['work', '/p', '--name', 'w1', '--max-jobs', '5']
    """
    cmd = [sys.executable, "-m", "benchgrid", "work", project_dir]
    if name:
        cmd += ["--name", name]
    for key, value in options.items():
        if value is not None:
            cmd += [f"--{key.replace('_', '-')}", str(value)]
    return cmd


def run_local(project: "Project", n_workers: int, *, progress: bool = True, **worker_options: Any) -> Status:
    """Run ``n_workers`` worker processes and wait for them; Ctrl-C hands their jobs back."""
    if not isinstance(n_workers, int) or isinstance(n_workers, bool) or n_workers < 0:
        raise InputError(f"n_workers must be an integer >= 0 (0 runs jobs in this process), got {n_workers!r}")
    if n_workers == 0:
        from .debug import run_in_process

        return run_in_process(project, **worker_options)
    procs = [
        spawn_worker(worker_command(str(project.path), name=f"local{i}", **worker_options), project.runner)
        for i in range(n_workers)
    ]
    state = project.state_reader()  # results() afterwards reads only what is new
    try:
        return wait_for_project(
            state, lambda: any(p.poll() is None for p in procs), progress=progress, sleep=lambda s: wait_all(procs, s)
        )
    except KeyboardInterrupt:
        # the terminal sent SIGINT to the workers too; make sure, then wait for their hand-back
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        for p in procs:
            p.wait()
        raise
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
                p.wait()
