"""Debug backend: every job in this process, one after another (pdb and breakpoints work)."""

from __future__ import annotations

from typing import Any, ClassVar

from ..store import ProjectState
from ..store import Status, status_of
from ..worker import Worker
from .._errors import InputError
from ._backend import Backend, Launch, project_dir

__all__ = ["DebugBackend", "run_in_process"]


def run_in_process(project: Any, **worker_options: Any) -> Status:
    """Run the project's jobs in this process with one worker, without signal handling."""
    Worker(project_dir(project), name=worker_options.pop("name", "debug"), **worker_options).run(handle_signals=False)
    return status_of(ProjectState(project_dir(project)).refresh())


class DebugBackend(Backend):
    """One worker in this process, jobs one after another: breakpoints in the runner work.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from benchgrid import Project
    >>> proj = Project.create(pathlib.Path(tempfile.mkdtemp()) / "p", [{"a": 3}], "builtins:dict")
    >>> DebugBackend().launch(proj.path, 1).status.counts["done"]
    1
    """

    name: ClassVar[str] = "debug"
    title: ClassVar[str] = "in-process debug"
    waits: ClassVar[bool] = True

    def launch(self, project: Any, n_workers: int = 1, *, progress: bool = False, **worker_options: Any) -> Launch:
        if n_workers not in (0, 1):
            raise InputError(f"n_workers must be 1 for the debug backend (one worker in this process), got {n_workers!r}")
        from dataclasses import asdict

        from .local._supervisor import exit_code_of
        from .local import RunStatus

        status = run_in_process(project, **worker_options)
        return Launch(backend=self.name, n_workers=1, status=RunStatus(**asdict(status), exit_code=exit_code_of(status.counts)))
