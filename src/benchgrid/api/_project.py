"""``Project``: the public face of a project directory."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from .._errors import InputError
from ..store._create import create_project
from ..store._jobs import normalize_jobs, content_key
from ..store._layout import read_project_json
from ..store._leases import expire_dead_workers
from ..store._queue import Claim, Queue
from ..store._state import ProjectState
from ..store._views import Status, error_rows, results_columns, status_of
from ..worker._worker import load_runner
from ._ml_methods import MLMethods

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Project"]


class Project(MLMethods):
    """A benchgrid project directory: a job table, its runner, and what workers recorded.

    Create one with :meth:`create`, open an existing one with :meth:`open`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp()) / "proj"
    >>> proj = Project.create(d, [{"a": 1}, {"a": 2}], "math:factorial")
    >>> proj.run(n_workers=0, progress=False).counts["done"]
    2
    """

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path).absolute()
        self.info = read_project_json(self.path)
        self._reader: ProjectState | None = None

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> "Project":
        """Open an existing project (a ProjectError says what is wrong otherwise)."""
        return cls(path)

    @classmethod
    def create(
        cls,
        path: str | os.PathLike[str],
        jobs: Any,
        runner: Any = None,
        cv: Any = None,
        *,
        random_state: int = 0,
        lease_s: float = 60.0,
        max_attempts: int = 3,
        lock: str = "lease",
        lock_lease_s: float = 15.0,
        group_shared: bool = False,
        duration_key: list[str] | None = None,
        default_job_s: float | None = None,
        write_inputs: Callable[[Path], None] | None = None,
        metadata: dict[str, Any] | None = None,
        **ml_options: Any,
    ) -> "Project":
        """Create a project directory (all of it, or nothing when an input is bad).

        Two forms:

        - generic: ``create(path, jobs, "package.module:function")``: ``jobs`` a
          list of dicts or a DataFrame, one job per row; the runner is called
          with each row as keyword arguments and returns a dict or None.
        - machine learning: ``create(path, tasks, learners, cv, measures=[...])``:
          one job per (task, learner, split); see :mod:`benchgrid.ml`.

        Parameters
        ----------
        lease_s : float
            A worker silent for this long is dead and its jobs are run again.
        max_attempts : int
            Runs a job may lose to dead workers before it is marked failed.
        lock : {"lease", "flock"}
            "lease" works across hosts on NFS/Lustre/GPFS; "flock" is faster on one machine.
        group_shared : bool
            Let the group read and write the project (default: owner only).
        duration_key : list of str
            Job columns whose jobs take similar time (walltime rule).
        """
        if runner is not None and not isinstance(runner, str):
            from ..backends._forkserver import prestart

            # local workers' imports (scikit-learn, pandas, pyarrow) overlap with checking,
            # splitting and writing: the first run() finds them done (see backends/_forkserver.py)
            prestart("benchgrid.ml._runner:run_ml_job")
            from ..ml._grid import build_ml_project

            spec = build_ml_project(jobs, runner, cv, random_state=random_state, **ml_options)
            jobs, runner, write_inputs = spec.jobs, spec.runner, spec.write_inputs
            metadata = {**(metadata or {}), **spec.metadata}
            duration_key = duration_key or ["task_id", "learner_id"]
        elif ml_options or cv is not None:
            unknown = sorted(ml_options) + (["cv"] if cv is not None else [])
            raise InputError(f"{unknown} apply only to ML projects (tasks, learners, cv); got a runner {runner!r}")
        if runner is None:
            raise InputError("runner is required: give 'package.module:function' (or tasks, learners and cv)")
        load_runner(runner)
        settings = {
            "lease_s": lease_s,
            "max_attempts": max_attempts,
            "lock": lock,
            "lock_lease_s": lock_lease_s,
            "group_shared": bool(group_shared),
            "duration_key": duration_key,
            "default_job_s": default_job_s,
        }
        create_project(
            Path(path), jobs, runner, settings, random_state=random_state, write_inputs=write_inputs, metadata=metadata
        )
        return cls(path)

    # -- properties ------------------------------------------------------------
    @property
    def settings(self) -> dict[str, Any]:
        return dict(self.info["settings"])

    @property
    def metadata(self) -> dict[str, Any]:
        return dict(self.info.get("metadata", {}))

    @property
    def runner(self) -> str:
        return str(self.info["runner"])

    def _queue(self) -> Queue:
        return Queue(self.path, self.info["settings"])

    def __repr__(self) -> str:
        return f"Project({str(self.path)!r})"

    # -- jobs ------------------------------------------------------------------
    def add_jobs(self, jobs: Any) -> int:
        """Append jobs (rows already in the table are skipped); return how many were added.

        Workers already running pick the new jobs up.
        """
        params_jsons = normalize_jobs(jobs)
        queue = self._queue()
        existing = {row["key"] for row in queue.jobs.rows(int(queue.cursor()["n"]))}
        new: dict[str, str] = {}
        for text in params_jsons:
            key = content_key(text)
            if key not in existing:
                new.setdefault(key, text)
        if new:
            queue.add(list(new.values()))
        return len(new)

    def jobs(self) -> "pd.DataFrame":
        """The job table: ``job_id``, ``key`` and one column per parameter."""
        import pandas as pd

        queue = self._queue()
        rows = queue.jobs.rows(int(queue.cursor()["n"]))
        return pd.DataFrame([{"job_id": r["id"], "key": r["key"], **r["params"]} for r in rows])

    # -- running ---------------------------------------------------------------
    def run(self, n_workers: int = 2, *, progress: bool = True, **worker_options: Any) -> Status:
        """Run the jobs on this machine with ``n_workers`` processes and wait.

        ``n_workers=0`` runs every job in this process, one after the other
        (debug mode: breakpoints in the runner work). Returns the final status.
        """
        from ..backends.local import run_local

        return run_local(self, n_workers, progress=progress, **worker_options)

    def submit(self, n_workers: int, **options: Any) -> Any:
        """Submit ``n_workers`` workers as a SLURM job array (see :mod:`benchgrid.backends.slurm`)."""
        from ..backends.slurm import submit

        return submit(self, n_workers, **options)

    # -- looking ---------------------------------------------------------------
    def state_reader(self) -> ProjectState:
        """This project's incremental log reader (not refreshed): shared by ``run``, ``status`` and ``results``.

        The logs are append-only, so each look reads only what was appended
        since the previous one: ``results()`` right after ``run()`` reads
        nearly nothing.
        """
        if self._reader is None:
            self._reader = ProjectState(self.path)
        return self._reader

    def state(self) -> ProjectState:
        """The state of every job, read from the logs (incrementally, see :meth:`state_reader`)."""
        return self.state_reader().refresh()

    def status(self) -> Status:
        """Counts per state, running jobs, recent errors, throughput and ETA."""
        return status_of(self.state(), root_hint=_shell_path(self.path))

    def results(self) -> "pd.DataFrame":
        """One row per job: its parameters, result values, state, attempt, worker, host and times.

        For ML projects the splitter's metadata columns keep their own names
        (``test.subset``, ``train.subsets``, ``n.train.groups``), as in
        mlr3resampling's ``score()`` table.
        """
        import pandas as pd

        state = self.state()
        table = pd.DataFrame(results_columns(state, self._queue().jobs))
        # ML projects: job parameters are identifiers (test_subset); show the splitter's names (test.subset)
        return table.rename(columns=self.metadata.get("ml", {}).get("columns", {}))

    def errors(self) -> "pd.DataFrame":
        """Jobs in state error or failed, with traceback or reason."""
        import pandas as pd

        return pd.DataFrame(
            error_rows(self.state()), columns=["job_id", "attempt", "worker", "error", "traceback"]
        )

    def retry(self, *, errors: bool = True, expired: bool = False) -> int:
        """Put errored (and/or expired/failed) jobs back in the queue; return how many."""
        queue = self._queue()
        n = expire_dead_workers(queue, by="retry") if expired else 0
        state = self.state()
        wanted = ({"error"} if errors else set()) | ({"failed", "stranded"} if expired else set())
        claims = [
            Claim(job, state.latest_attempt(job) + 1, 0)
            for job in sorted(set(state.final) | set(state.failed) | set(state.claimed))
            if state.state_of(job) in wanted
        ]
        return n + queue.requeue(claims, "retry", "user")


def _shell_path(path: Path) -> str:
    import shlex

    return shlex.quote(str(path))
