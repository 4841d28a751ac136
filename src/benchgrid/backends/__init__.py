"""benchgrid.backends: where workers run. One base class, a registry by name.

``get_backend(name)`` gives a :class:`Backend`: ``local`` (worker processes
here, waits), ``debug`` (in this process), ``slurm`` and ``sge`` (job arrays).
The API and the CLI reach backends only through these names; backends never
import the API. A scheduler is a :class:`SchedulerBackend` (the flow) with a few
hooks; to add one, see docs/design-notes.md ("Adding a backend").
"""

from ._backend import Backend, Launch, WorkerRow, project_dir
from ._base import format_counts, wait_for_project
from ._config import Settings, backend_settings, read_config
from ._registry import backend_names, get_backend, register, scheduler_backends
from ._scheduler import SchedulerBackend

# used by the other packages (they import public names only: tests/test_layers.py)
from .local import RunStatus, prestart
from ._pools import continue_pool, start_pool, stop_pools
from ._capacity import jobs_left_for
from ._template import worker_limit_s

__all__ = [
    "Backend",
    "Launch",
    "SchedulerBackend",
    "Settings",
    "WorkerRow",
    "backend_names",
    "backend_settings",
    "format_counts",
    "get_backend",
    "project_dir",
    "read_config",
    "register",
    "scheduler_backends",
    "wait_for_project",
    "RunStatus", "prestart",
    "continue_pool", "start_pool", "stop_pools", "worker_limit_s", "jobs_left_for",
]
