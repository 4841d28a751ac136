"""What a runner may ask about the job it is running."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass
from pathlib import Path

from .._errors import BenchgridError

__all__ = ["JobContext", "current_job"]


@dataclass(frozen=True)
class JobContext:
    """The job a runner is running.

    Attributes
    ----------
    project_dir : Path
        The project directory (to load inputs stored at creation).
    job_id : int
        Row of the job table.
    attempt : int
        1 for the first run, +1 for each run after a lost or handed-back one.
    seed : int
        Derived from the project's random_state and the job's content key, so
        it does not depend on which worker runs the job or when.
    worker_id : str
        The worker running it.
    """

    project_dir: Path
    job_id: int
    attempt: int
    seed: int
    worker_id: str


_CURRENT: contextvars.ContextVar[JobContext] = contextvars.ContextVar("benchgrid_job")


def current_job() -> JobContext:
    """The :class:`JobContext` of the job being run (call it inside a runner).

    Examples
    --------
    >>> current_job()
    Traceback (most recent call last):
    ...
    benchgrid._errors.BenchgridError: current_job() is only available inside a runner called by a benchgrid worker
    """
    try:
        return _CURRENT.get()
    except LookupError:
        raise BenchgridError(
            "current_job() is only available inside a runner called by a benchgrid worker"
        ) from None


def set_current_job(ctx: JobContext) -> contextvars.Token[JobContext]:
    return _CURRENT.set(ctx)


def reset_current_job(token: contextvars.Token[JobContext]) -> None:
    _CURRENT.reset(token)
