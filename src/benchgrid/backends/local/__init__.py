"""Local workers: supervised processes on this machine, forked from a preloaded server.

:class:`LocalBackend` (``_backend``) starts and supervises them; ``_supervisor``
recovers a dead worker's jobs at once; ``_forkserver`` forks workers from a
process that imported benchgrid once; ``_progress_lines`` and ``_run_status``
are what ``run`` shows and returns. The backend itself loads on first use, so
importing :mod:`benchgrid.backends` stays light.
"""

from typing import Any

from ._forkserver import prestart
from ._run_status import RunStatus

__all__ = ["LocalBackend", "RunStatus", "prestart", "run_local", "worker_command"]


def __getattr__(name: str) -> Any:
    if name in ("LocalBackend", "run_local", "worker_command"):
        from . import _backend

        return getattr(_backend, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
