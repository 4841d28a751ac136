"""What a runner may ask about the job it is running."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


class _SeedOnDemand(JobContext):
    """A :class:`JobContext` whose seed is computed when a runner first asks for it.

    A worker makes one per job; the seed is a sha256 of the project seed and
    the job's content key, which most runners never read (an ML runner does).

    Examples
    --------
    It reads, compares and prints as the :class:`JobContext` it stands for.

    >>> from benchgrid.store import job_seed
    >>> ctx = _SeedOnDemand(Path("p"), 3, 1, "w", 7, "abc")
    >>> ctx.seed == job_seed(7, "abc") and ctx == JobContext(Path("p"), 3, 1, ctx.seed, "w")
    True
    >>> repr(ctx) == repr(JobContext(Path("p"), 3, 1, ctx.seed, "w"))
    True
    >>> import dataclasses
    >>> other = dataclasses.replace(ctx, attempt=2)   # a plain JobContext with the same seed
    >>> type(other).__name__, other.attempt, other.seed == ctx.seed
    ('JobContext', 2, True)
    """

    def __new__(cls, *args: Any, **fields: Any) -> Any:
        if "seed" in fields:  # dataclasses.replace() passes every field by name: a plain JobContext
            return JobContext(*args, **fields)
        return super().__new__(cls)

    def __init__(self, project_dir: Path, job_id: int, attempt: int, worker_id: str, random_state: int, key: str):
        # frozen: the attributes go straight into the instance's dict (one per job, so the cheapest way)
        self.__dict__.update(project_dir=project_dir, job_id=job_id, attempt=attempt, worker_id=worker_id,
                             _seed_of=(random_state, key))  # fmt: skip

    @property  # type: ignore[override]  # read-only here: the dataclass field is computed on demand
    def seed(self) -> int:
        value = self.__dict__.get("_seed")
        if value is None:
            from ..store import job_seed

            value = job_seed(*self.__dict__["_seed_of"])
            object.__setattr__(self, "_seed", value)
        return int(value)

    def _as_context(self) -> JobContext:
        return JobContext(self.project_dir, self.job_id, self.attempt, self.seed, self.worker_id)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, JobContext):
            return self._as_context() == (other._as_context() if isinstance(other, _SeedOnDemand) else other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._as_context())

    def __repr__(self) -> str:
        return repr(self._as_context())


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
