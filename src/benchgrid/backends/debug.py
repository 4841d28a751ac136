"""Debug backend: every job in this process, one after another (pdb and breakpoints work)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..store._state import ProjectState
from ..store._views import Status, status_of
from ..worker._worker import Worker

if TYPE_CHECKING:
    from ..api._project import Project

__all__ = ["run_in_process"]


def run_in_process(project: "Project", **worker_options: Any) -> Status:
    """Run the project's jobs in this process with one worker, without signal handling."""
    Worker(project.path, name=worker_options.pop("name", "debug"), **worker_options).run(handle_signals=False)
    return status_of(ProjectState(project.path).refresh())
