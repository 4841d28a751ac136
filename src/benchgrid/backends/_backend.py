"""The one seam between a project and where its workers run: :class:`Backend`.

A backend launches ``n`` copies of ``benchgrid work DIR`` somewhere (this
process, local processes, a SLURM or Grid Engine job array), lists the ones it
launched, cancels them, and says what ``benchgrid status`` shows about them.
Everything else (claims, leases, results) is the worker's and the store's
business, so a backend is small: fill in :meth:`Backend.launch` (local,
debug), or, for a scheduler, derive from
:class:`~benchgrid.backends._scheduler.SchedulerBackend`, which owns the
whole flow, and fill its hooks.

The walltime contract, the same for every scheduler:

- the worker gets ``--until <epoch s>``: the end of its allocation minus
  ``warning_s``; it does not start a job it expects to end after that;
- the scheduler sends :attr:`Backend.warning_signal` before it kills the
  worker (SLURM: USR1 ``warning_s`` before the limit; Grid Engine with
  ``-notify``: USR2 at ``h_rt``, SIGKILL the queue's ``notify`` time later);
  the worker hands its running jobs back on it (and on SIGTERM);
- a cancel (``scancel``, ``qdel``) reaches the worker as SIGTERM (or the
  warning signal) first, so its jobs come back at once; a SIGKILL without
  warning is covered by the lease, which expires.

Backends never import the API: they take the project directory.
Submissions are recorded in ``<project>/<backend name>/jobs.jsonl`` (one
line each, appended), so listing and cancelling touch only this project's jobs.
"""

from __future__ import annotations

import json
import os
import signal
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from .._errors import InputError

__all__ = ["Backend", "Launch", "WorkerRow", "project_dir"]

#: table key -> (check returning True when the value is valid, the rule in words)
Schema = Mapping[str, "tuple[Callable[[Any], bool], str]"]


def project_dir(project: Any) -> Path:
    """The directory of a project given as a path or as anything with a ``.path`` (a Project).

    Examples
    --------
    >>> project_dir("/scratch/grid")
    PosixPath('/scratch/grid')
    """
    path = getattr(project, "path", project)
    if not isinstance(path, (str, os.PathLike)):
        raise InputError(f"project must be a Project or a path to a project directory, got {project!r}")
    return Path(path).absolute()


@dataclass(frozen=True)
class WorkerRow:
    """One worker a backend launched, as the scheduler sees it.

    Attributes
    ----------
    job_id : str
        The scheduler's id of this worker (``<array id>_<task>`` for SLURM,
        ``<job id>.<task>`` for Grid Engine).
    array_job_id : str
        The id of the submission (what cancel acts on).
    phase : {"pending", "running", "ended"}
    state : str
        The scheduler's own word (RUNNING, qw, ...).
    where : str
        Node, or why it waits.
    elapsed : str
        Run time so far, in the scheduler's format ("" when unknown).
    """

    job_id: str
    array_job_id: str
    phase: str
    state: str
    where: str = ""
    elapsed: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"job_id": self.job_id, "array_job_id": self.array_job_id, "phase": self.phase,
                "state": self.state, "where": self.where, "elapsed": self.elapsed}


@dataclass
class Launch:
    """What :meth:`Backend.launch` did (or, with ``dry_run``, would do).

    Attributes
    ----------
    backend : str
    n_workers : int
    job_ids : list of str
        One id per submitted array (empty for local runs and dry runs).
    scripts : list of str
        The batch script texts, one per array.
    script_paths : list of Path
        Where the scripts were saved (empty for a dry run).
    settings : object
        The resolved options and where each came from (``.describe()``).
    status : object
        For backends that wait (local, debug): the project's final Status.
    """

    backend: str
    n_workers: int = 0
    job_ids: list[str] = field(default_factory=list)
    scripts: list[str] = field(default_factory=list)
    script_paths: list[Path] = field(default_factory=list)
    settings: Any = None
    status: Any = None


class Backend(ABC):
    """Base class of every backend; subclasses register by :attr:`name`.

    Class attributes
    ----------------
    name : str
        The registry name (``backend="sge"``, ``--backend sge``).
    title : str
        How messages name it ("SLURM", "Grid Engine").
    waits : bool
        True when :meth:`launch` returns only after the workers ended
        (local, debug); False for schedulers (launch submits and returns).
    warning_signal : signal.Signals or None
        What the scheduler sends before the walltime kill (None: no walltime).
    config_schema : mapping
        The keys of the backend's own ``[name]`` table in ``config.toml``:
        key -> (check, rule in words). Empty: the backend reads no table.
    config_defaults : mapping
        Built-in values of that table (the lowest layer of precedence).

    Examples
    --------
    >>> from benchgrid.backends import get_backend
    >>> get_backend("sge").warning_signal.name, get_backend("local").waits
    ('SIGUSR2', True)
    """

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    waits: ClassVar[bool] = False
    warning_signal: ClassVar[signal.Signals | None] = None
    config_schema: ClassVar[Schema] = {}
    config_defaults: ClassVar[Mapping[str, Any]] = {}

    # -- hooks -------------------------------------------------------------------
    @abstractmethod
    def launch(self, project: Any, n_workers: int, **options: Any) -> Launch:
        """Start ``n_workers`` workers of ``project`` (a path); options are the backend's own."""

    def workers(self, project: Any) -> list[WorkerRow]:
        """The workers this backend launched for ``project`` that it still knows about."""
        return []

    def cancel(self, project: Any) -> list[str]:
        """Cancel this project's pending and running workers; return the ids acted on."""
        return []

    @classmethod  # noqa: B027 - an optional hook, empty by default
    def validate_settings(cls, values: Mapping[str, Any], where: str) -> None:
        """Deeper checks of a ``[name]`` table than the schema's.

        ``where`` is ``"in <file>"`` for a configuration file, ``""`` for
        values given as arguments (then name the argument alone).
        """

    # -- shared ------------------------------------------------------------------
    def has_submissions(self, project: Any) -> bool:
        """Whether this backend ever recorded a submission for ``project``."""
        return bool(self.recorded_job_ids(project))

    def worker_counts(self, project: Any) -> dict[str, int]:
        """``{"pending": n, "running": n, "ended": n}`` over :meth:`workers` (for ``status``)."""
        counts = {"pending": 0, "running": 0, "ended": 0}
        for row in self.workers(project):
            counts[row.phase] += 1
        return counts

    def state_dir(self, project: Any) -> Path:
        """``<project>/<name>/``: scripts, logs and the submission records of this backend."""
        return project_dir(project) / self.name

    def record_submission(self, project: Any, job_id: str, n_workers: int, script: str) -> None:
        """Append one line to ``<project>/<name>/jobs.jsonl`` (O_APPEND: concurrent submits are safe)."""
        record = {"job_id": job_id, "n_workers": n_workers, "script": script,
                  "submitted_at": time.time(), "host": os.uname().nodename}
        from ..store import make_dir
        from ..store import open_nofollow

        line = (json.dumps(record, sort_keys=True) + "\n").encode()
        path = self.state_dir(project) / "jobs.jsonl"
        make_dir(path.parent, parents=True)
        fd = open_nofollow(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)

    def submissions(self, project: Any) -> list[dict[str, Any]]:
        """The recorded submissions, oldest first (a torn last line is ignored)."""
        try:
            lines = (self.state_dir(project) / "jobs.jsonl").read_text().splitlines()
        except FileNotFoundError:
            return []
        out = []
        for line in lines:
            try:
                record = json.loads(line)
                record["job_id"] = str(record["job_id"])
            except (ValueError, KeyError, TypeError):
                continue
            out.append(record)
        return out

    def recorded_job_ids(self, project: Any) -> list[str]:
        """Array job ids this backend submitted for ``project``, oldest first."""
        return [r["job_id"] for r in self.submissions(project)]

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def time_stamp() -> str:
    """A sortable, file-name-safe time, e.g. ``20260131-180000-123``."""
    t = time.time()
    return time.strftime("%Y%m%d-%H%M%S", time.localtime(t)) + f"-{int(t * 1000) % 1000:03d}"
