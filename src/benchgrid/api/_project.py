"""``Project``: the public face of a project directory."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Callable, ClassVar, TypeVar

from .._errors import DiskFull, InputError, ProjectError, is_disk_full
from ..store import gc_paused
from ..store import AuditReport, audit_logs
from ..store import create_project, remove_interrupted_creations
from ..store import ProjectSettings
from ._capacity import check_pool_resources, note_submitted
from ..store import JobClass, class_of, expected_gb, lane_of, time_class_of, uses_classes
from ..store import JobTable, content_key, normalize_jobs
from ..store import Layout, read_project_json
from ..store import expire_dead_workers
from ..store import Claim, Queue
from ..store import ProjectState
from ..store import check_trust
from ..store import Status, error_rows, results_columns, status_of
from ..worker import check_loadable, code_path_at_creation, use_code_path
from ..worker import check_runner_findable, import_runner

if TYPE_CHECKING:
    import pandas as pd

    from ..backends import RunStatus

P = TypeVar("P", bound="Project")
_ML_METHODS = ("scores", "predictions", "add", "try_jobs")


class NotAnMLProjectError(ProjectError, AttributeError):
    """An ML method (scores, add, ...) called on a project made from a job table and a runner."""

__all__ = ["NotAnMLProjectError", "Project"]


class Project:
    """A benchgrid project directory: a job table, its runner, and what workers recorded.

    Create one with :meth:`create`, open an existing one with :meth:`open`;
    both give an :class:`~benchgrid.MLProject` (scores, add, try_jobs) for a
    project made from tasks, learners and a splitter.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp()) / "proj"
    >>> # the runner gets each job as keyword arguments and returns a dict (or None)
    >>> proj = Project.create(d, [{"a": 1}, {"a": 2}], "builtins:dict")
    >>> proj.run(n_workers=0, progress=False).counts["done"]
    2
    """

    #: metadata key -> the subclass that opens such projects (MLProject registers "ml")
    _kinds: ClassVar[dict[str, type["Project"]]] = {}

    def __init_subclass__(cls, kind: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if kind is not None:
            Project._kinds[kind] = cls

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path).absolute()
        self.info = read_project_json(self.path)
        self._reader: ProjectState | None = None
        self._table: JobTable | None = None  # the job table reader of results() (caches committed parts)

    @classmethod
    def open(cls: type[P], path: str | os.PathLike[str]) -> P:
        """Open an existing project (a ProjectError says what is wrong otherwise).

        ``Project.open`` of an ML project gives an :class:`~benchgrid.MLProject`.
        """
        proj = cls(path)
        if cls is Project:
            for kind, subclass in Project._kinds.items():
                if kind in proj.metadata:
                    return subclass(path)  # type: ignore[return-value]
        return proj

    if not TYPE_CHECKING:  # type checkers should still see that Project has no scores()

        def __getattr__(self, name: str) -> Any:
            if name in _ML_METHODS:
                raise NotAnMLProjectError(
                    f"{name}() needs an ML project, and {str(self.path)!r} was created from a job table and a "
                    "runner; use results() instead"
                )
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @classmethod
    def create(
        cls: type[P],
        path: str | os.PathLike[str],
        jobs: Any = None,
        runner: Any = None,
        cv: Any = None,
        *,
        tasks: Any = None,
        learners: Any = None,
        random_state: int = 0,
        lease_s: float = ProjectSettings.lease_s,
        max_attempts: int = ProjectSettings.max_attempts,
        lock: str = ProjectSettings.lock,
        lock_lease_s: float = ProjectSettings.lock_lease_s,
        group_shared: bool = ProjectSettings.group_shared,
        duration_key: list[str] | None = None,
        default_job_s: float | None = None,
        job_timeout_s: float | None = None,
        memory_key: str | None = None,
        time_key: str | None = None,
        resource_keys: list[str] | None = None,
        write_inputs: Callable[[Path], None] | None = None,
        metadata: dict[str, Any] | None = None,
        code_path: list[str] | None = None,
        **ml_options: Any,
    ) -> P:
        """Create a project directory (all of it, or nothing when an input is bad).

        Two forms:

        - generic: ``create(path, jobs, "package.module:function")``: ``jobs`` a
          list of dicts or a DataFrame, one job per row; the runner is called
          with each row as keyword arguments and returns a dict or None.
        - machine learning: ``create(path, tasks, learners, cv, measures=[...])``,
          or with keywords ``create(path, tasks=..., learners=..., cv=...)``:
          one job per (task, learner, split); see :mod:`benchgrid.ml`.
          Returns an :class:`~benchgrid.MLProject`.

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
        job_timeout_s : float, optional
            A job running longer than this is stopped (with its child
            processes) and counts a lost run "timed out after N s"; it is
            failed after ``max_attempts``. None: no limit.
        memory_key : str
            Job column of expected peak memory in GB: workers with a memory
            budget (``--mem-gb``, SLURM's allocation, the cgroup's limit)
            claim only jobs expected to fit, largest first; a job that runs
            out of memory is put back in the next larger class.
        time_key : str, optional
            Job column of expected seconds (missing: not known): a job goes
            only to workers whose allocation is long enough, longest first
            on long workers; a job handed back at a walltime limit moves to
            a longer class (docs/slurm.md, "Long campaigns").
        resource_keys : list of str, optional
            Job columns of resource counts, each named as the resource
            (``["gpus"]``): a job goes only to workers that have that many
            (``--gpus``, ``--resource``, ``submit --pool 2x16G+1gpu``), and
            such workers take such jobs first.
        code_path : list of str, optional
            Folders the workers import the runner (and pickled learners) from,
            besides the installed packages. Default: as Python would search
            here: the current folder, the running script's folder and the
            folder the runner's module came from (see ``benchgrid status``).
        """
        if isinstance(random_state, bool) or not isinstance(random_state, int):
            raise InputError(f"random_state must be an integer (the project seed), got {random_state!r}")
        if tasks is not None or learners is not None:
            if jobs is not None or runner is not None:
                raise InputError(
                    "give tasks and learners either by position (path, tasks, learners, cv) or by keyword, "
                    f"not both; got jobs={type(jobs).__name__} and tasks={type(tasks).__name__}"
                )
            if tasks is None or learners is None:
                raise InputError(f"an ML project needs both tasks and learners, got tasks={tasks!r} and learners={learners!r}")
            jobs, runner = tasks, learners
        if jobs is None:
            raise InputError("jobs is required: a list of dicts or a DataFrame (or tasks=, learners=, cv=)")
        pickles: dict[str, tuple[bytes, set[str]]] = {}
        if runner is not None and not isinstance(runner, str):
            from ..backends import prestart

            # local workers' imports (scikit-learn, pandas, pyarrow) overlap with checking,
            # splitting and writing: the first run() finds them done (see backends/_forkserver.py)
            prestart("benchgrid.ml._runner:run_ml_job")
            from ..ml import build_ml_project

            spec = build_ml_project(jobs, runner, cv, random_state=random_state, **ml_options)
            jobs, runner, write_inputs = spec.jobs, spec.runner, spec.write_inputs
            pickles = spec.pickles
            metadata = {**(metadata or {}), **spec.metadata}
            duration_key = duration_key or ["task_id", "learner_id"]
            memory_key = memory_key or spec.memory_key  # memory_gb= gave each job its expected_mem_gb
            time_key = time_key or spec.time_key  # time_s= gave each job its expected_s (issue 21)
            resource_keys = resource_keys or spec.resource_keys  # resources= per learner
        elif ml_options or cv is not None:
            unknown = sorted(ml_options) + (["cv"] if cv is not None else [])
            raise InputError(f"{unknown} apply only to ML projects (tasks, learners, cv); got a runner {runner!r}")
        if runner is None:
            raise InputError("runner is required: give 'package.module:function' (or tasks, learners and cv)")
        modules = {m for _data, mods in pickles.values() for m in mods}
        if code_path is None:
            code_path = code_path_at_creation(runner, modules=modules)  # the folders of the user's modules too
        else:
            code_path = [str(Path(p).absolute()) for p in code_path]
        where = {"code_path": code_path, "settings": {"group_shared": group_shared}}
        skipped = use_code_path(where)
        import_runner(runner, code_path, skipped)  # here first: a module that raises is named with its error
        check_loadable(where, pickles, runner)  # what a worker loads, loaded once by a fresh Python
        from ..backends import prestart

        prestart(runner)  # local workers' server starts while the job table is written (ML: started above)
        settings = ProjectSettings(
            lease_s=lease_s, max_attempts=max_attempts, lock=lock, lock_lease_s=lock_lease_s,
            group_shared=bool(group_shared), duration_key=duration_key, default_job_s=default_job_s,
            memory_key=memory_key, job_timeout_s=job_timeout_s, time_key=time_key, resource_keys=resource_keys,
        ).to_dict()
        create_project(
            Path(path), jobs, runner, settings, random_state=random_state, write_inputs=write_inputs, metadata=metadata,
            code_path=code_path,
        )
        return cls.open(path)

    @staticmethod
    def remove_interrupted_creations(path: str | os.PathLike[str]) -> tuple[list[Path], list[Path]]:
        """Remove the temp folders that interrupted creations of ``path`` left, when their creator is gone.

        Returns ``(removed, kept)``: a kept folder may belong to a creation
        still running, or to one on another host (``benchgrid init`` names both).

        Examples
        --------
        >>> import tempfile
        >>> Project.remove_interrupted_creations(tempfile.mkdtemp() + "/p")
        ([], [])
        """
        return remove_interrupted_creations(Path(path))

    # -- properties ------------------------------------------------------------
    @property
    def settings(self) -> dict[str, Any]:
        """The settings as ``project.json`` keeps them (a copy); :attr:`project_settings` types them."""
        return dict(self.info["settings"])

    @property
    def project_settings(self) -> ProjectSettings:
        """The settings, typed: every one present (a key older projects lack takes its default)."""
        return ProjectSettings.of(self.info["settings"])

    @property
    def metadata(self) -> dict[str, Any]:
        return dict(self.info.get("metadata", {}))

    @property
    def runner(self) -> str:
        return str(self.info["runner"])

    def check_runner(self) -> None:
        """Raise InputError when the runner cannot be found or (the user's own) does not import.

        :meth:`run` and :meth:`submit` (so ``benchgrid run`` and ``submit``) call it before starting any worker,
        so a module broken since creation is one clear error, not one per
        worker (see :func:`benchgrid.worker.check_runner_findable`).
        """
        check_runner_findable(self.info)

    def _queue(self) -> Queue:
        return Queue(self.path, self.info["settings"])

    def __repr__(self) -> str:
        """What ``benchgrid status DIR`` prints (the REPL shows it)."""
        from ..store import status_lines

        try:
            return "\n".join(status_lines(self.status()))
        except Exception:  # noqa: BLE001 - a repr must not raise; open/status say what is wrong
            return f"Project({str(self.path)!r})"

    def _repr_html_(self) -> str:
        """The status summary as HTML (Jupyter)."""
        import html

        from ..store import status_html

        try:
            return status_html(self.status())
        except Exception:  # noqa: BLE001
            return f"<pre>{html.escape(repr(self))}</pre>"

    # -- jobs ------------------------------------------------------------------
    def add_jobs(self, jobs: Any) -> int:
        """Append jobs (rows already in the table are skipped); return how many were added.

        Workers already running pick the new jobs up.
        """
        params_jsons = normalize_jobs(jobs)
        queue = self._queue()
        new: dict[str, str] = {}
        for text in params_jsons:
            new.setdefault(content_key(text), text)
        # rows already committed are skipped under the project lock, so concurrent adds add a job once
        try:
            queue.add(list(new.values()))
        except OSError as err:
            if is_disk_full(err):  # rows past the committed count are ignored, and removed by the next add
                raise DiskFull.from_os_error(err, repr(str(queue.layout.jobs_dir))) from None
            raise
        return queue.last_added

    def jobs(self) -> "pd.DataFrame":
        """The job table: ``job_id``, ``key`` and one column per parameter."""
        import pandas as pd

        queue = self._queue()
        rows = queue.jobs.rows(int(queue.cursor()["n"]))
        return pd.DataFrame([{"job_id": r["id"], "key": r["key"], **r["params"]} for r in rows])

    # -- running ---------------------------------------------------------------
    def run(self, n_workers: int = 2, *, backend: str = "local", progress: bool = True, trust_owner: bool = False,
            **worker_options: Any) -> "RunStatus":  # fmt: skip
        """Run the jobs on this machine with ``n_workers`` supervised processes and wait until every job ended.

        A worker that dies has its job put back at once and is replaced; a
        job that kills its worker ``max_attempts`` times is failed with the
        reason. ``n_workers=0`` (or ``backend="debug"``) runs every job in
        this process, one after the other (debug mode: breakpoints in the
        runner work). Returns the final status with ``exit_code`` (0 all
        done, 1 errors, 3 failed, 4 jobs left, 5 disk full). Before any
        worker starts, the project is checked (its owner:
        :func:`benchgrid.store.check_trust`, its files:
        :func:`benchgrid.store.check_integrity`) and a user's runner is
        imported by a fresh Python (:meth:`check_runner`), each raising with
        the fix; ``trust_owner=True`` runs another user's project.
        """
        from ..backends import get_backend

        chosen = get_backend(backend)
        if not chosen.waits:
            raise InputError(
                f"run waits for its workers, so backend must be 'local' or 'debug', got {backend!r}; "
                f"submit to a scheduler with submit(n_workers, backend={backend!r})"
            )
        self._check_before_workers(trust_owner)
        n_workers = self._workers_needed(n_workers)
        launch = chosen.launch(self, n_workers, progress=progress, trust_owner=trust_owner, **worker_options)
        status = launch.status
        status.project_dir = str(self.path)
        return status  # type: ignore[no-any-return]

    def _check_before_workers(self, trust_owner: bool) -> None:
        """What ``run`` and ``submit`` check before any worker starts, each raising with the fix.

        The owner (the workers will run the project's code), damage (a
        claims.log that lost records), then the runner imported by a fresh
        Python (:meth:`check_runner`): one error here rather than one per
        worker, on the cluster or on this machine.
        """
        from ..store import check_integrity

        check_trust(self.path, trust_owner=trust_owner)
        check_integrity(self.path)
        self.check_runner()

    def _workers_needed(self, n_workers: int) -> int:
        """``n_workers``, or fewer when fewer jobs are left to run: one process per job at most, said on stderr.

        64 workers for 4 jobs would start 60 processes that import the runner's
        stack only to find nothing to claim. Jobs never claimed are counted
        from the cursor (no pass over the jobs) unless they are too few.
        """
        if not isinstance(n_workers, int) or isinstance(n_workers, bool) or n_workers <= 1:
            return n_workers  # 0 runs in this process; run_local checks the type
        state = self.state_reader().refresh()
        if state.n - state.next >= n_workers:
            return n_workers
        counts = state.counts()
        left = sum(counts[s] for s in ("pending", "queued", "stranded"))
        if left >= n_workers:
            return n_workers
        n = max(left, 1)  # one still looks (stranded jobs of dead workers, jobs added meanwhile)
        print(
            f"benchgrid: starting {n} worker(s), not {n_workers}: {left} job(s) left to run",
            file=sys.stderr, flush=True,
        )
        return n

    def submit(self, n_workers: int, *, backend: str = "slurm", until_done: bool = False, pool: str = "p0",
               max_allocations: int | None = None, max_core_hours: float | None = None, **options: Any) -> Any:
        """Submit ``n_workers`` workers to a scheduler as one job array, return at once.

        ``backend`` is ``"slurm"`` or ``"sge"`` (Grid Engine); options are the
        backend's own (``time``, ``mem_gb``, ... see docs/slurm.md and
        docs/sge.md) and default to its table in ``config.toml``. Returns a
        :class:`benchgrid.backends.Launch` (job ids, scripts). Submitting
        again adds workers: they all pull from the same job table.

        ``until_done=True`` makes the workers a self-sustaining pool named
        ``pool``: each allocation that ends while jobs remain submits its
        successor, keeping about ``n_workers`` live or pending until every job
        has ended, at most ``max_allocations`` in all and at most
        ``max_core_hours`` of CPUs x hours allocated (docs/slurm.md, "Long
        campaigns"); :meth:`cancel` stops it.

        Nothing is submitted when the project's owner, its files or its
        runner (imported by a fresh Python, :meth:`check_runner`) would stop
        every worker: one error here instead of one per worker on the cluster.
        """
        from ..backends import get_backend, scheduler_backends, start_pool

        # the same list, in the same order, as `submit --help`'s: the default first
        names = sorted((b.name for b in scheduler_backends()), key=lambda name: (name != "slurm", name))
        if backend not in names:  # never the full registry's names: local and debug do not submit
            raise InputError(
                f"submit is for schedulers, so backend must be {' or '.join(map(repr, names))}, got {backend!r}; "
                "run on this machine with run(n_workers) (`benchgrid run DIR --workers N`)"
            )
        chosen = get_backend(backend)
        check_pool_resources(options.get("resources"), self.project_settings)  # issue 21: a typo, not a pool
        for key, value in (("max_allocations", max_allocations), ("max_core_hours", max_core_hours)):
            if value is not None and not until_done:
                raise InputError(f"{key} is the budget of a pool: give it with until_done=True (--until-done)")
        self._check_before_workers(bool(options.get("trust_owner")))
        if until_done:
            launch = start_pool(self.path, pool, backend, n_workers, max_allocations=max_allocations,
                                max_core_hours=max_core_hours, **options)
        else:
            launch = chosen.launch(self.path, n_workers, **options)
        if not options.get("dry_run"):  # where a job too long for some workers may go (issue 21)
            note_submitted(self.path, backend, {**launch.settings.values, "warning_s": options.get("warning_s")})
        return launch

    def pools(self, *, ask_scheduler: bool = False) -> list[Any]:
        """The self-sustaining pools of this project, as their ledgers say (:class:`benchgrid.store.PoolState`).

        ``ask_scheduler=True`` adds the scheduler's counts of each pool's
        running and pending allocations, and says when a chain broke (nothing
        live, jobs left, no stop recorded); ``status`` asks.
        """
        from ._pools import pool_states

        return pool_states(self.path, ask_scheduler=ask_scheduler)

    def cancel(self, backend: str | None = None) -> dict[str, list[str]]:
        """Cancel this project's pending and running scheduler workers (only them).

        Running workers hand their jobs back; self-sustaining pools stop (their
        pending successors are cancelled with the rest). ``backend=None`` cancels on
        every scheduler this project was submitted to. Returns
        ``{backend: [array job ids acted on]}``.
        """
        from ..backends import get_backend, scheduler_backends, stop_pools

        stop_pools(self.path, "cancelled (benchgrid cancel)")  # first: no worker ending meanwhile submits a successor
        chosen = [get_backend(backend)] if backend is not None else scheduler_backends()
        return {b.name: b.cancel(self.path) for b in chosen if b.has_submissions(self.path)}

    def scheduler_workers(self) -> dict[str, dict[str, int]]:
        """``{backend: {"pending": n, "running": n, "ended": n}}`` for each scheduler used."""
        from ..backends import scheduler_backends

        return {b.name: b.worker_counts(self.path) for b in scheduler_backends() if b.has_submissions(self.path)}

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

    def live_status(self) -> Status:
        """The status from what the workers appended since the last look: what ``status --watch`` redraws.

        Unlike :meth:`status`, the project's files are not checked again at
        each look and the hints name the project by its plain path.
        """
        return status_of(self.state_reader().refresh(), root_hint=str(self.path))

    def leases(self) -> dict[str, Any]:
        """Every worker's lease as of the last look (:meth:`live_status`, :meth:`state`), by worker id."""
        return dict(self.state_reader().leases)

    def job_params(self, job_id: int) -> dict[str, Any]:
        """The parameters of one job, from the job table (its parts are parsed once, then cached).

        Examples
        --------
        >>> import tempfile
        >>> proj = Project.create(tempfile.mkdtemp() + "/p", [{"x": 1}, {"x": 2}], "os.path:join")
        >>> proj.job_params(1)
        {'x': 2}
        """
        return dict(self._job_table().get(job_id)["params"])

    def _job_table(self) -> JobTable:
        """This project's job table reader: committed parts are parsed once, then cached."""
        if self._table is None:
            self._table = JobTable(Layout(self.path).jobs_dir)
        return self._table

    def state(self) -> ProjectState:
        """The state of every job, read from the logs (incrementally, see :meth:`state_reader`).

        A ProjectError names a missing or damaged queue or job-table file.
        """
        from ..store import check_integrity

        check_integrity(self.path)
        return self.state_reader().refresh()

    def status(self) -> Status:
        """Counts per state, running jobs, recent errors, throughput and ETA.

        Returns a :class:`~benchgrid.store.Status`; ``print(proj.status())``
        (or the REPL, or a notebook) shows the lines ``benchgrid status``
        prints, runner and code path included (the CLI adds the scheduler's
        worker counts when the project was submitted); ``.to_dict()`` is
        what ``benchgrid status --json`` prints.
        """
        return status_of(self.state(), root_hint=_shell_path(self.path), project=self.info)

    def check(self) -> AuditReport:
        """Replay the logs: every (job, attempt) handed out once, one accepted result per job.

        See :func:`benchgrid.store.audit_logs`; ``report.ok`` is False
        when anything was claimed twice, put back twice, claimed without an
        explanation, or has more than one result.
        """
        return audit_logs(self.path)

    def results(self, *, dropped: bool = False) -> "pd.DataFrame":
        """One row per job: its parameters, result values, state, attempt, worker, host and times.

        ``claimed_at``, ``started_at`` and ``ended_at`` are timezone-aware
        datetimes in UTC (NaT for a job not claimed, started or ended);
        ``duration_s`` is in seconds. Dropped jobs (:meth:`drop`) are left
        out; ``dropped=True`` keeps them, with state ``"dropped"`` and the
        values of a run that ended before or despite the drop. A result key
        named like a parameter or one of these columns is kept as
        ``result.<key>`` (a :class:`~benchgrid._errors.ResultNameWarning` says
        which): results never overwrite inputs.
        """
        import pandas as pd

        state = self.state()
        renamed: dict[str, str] = {}
        with gc_paused():  # a million rows of small objects: see store/storage/_bulk.py
            table = pd.DataFrame(results_columns(state, self._job_table(), renamed))
            for col in ("claimed_at", "started_at", "ended_at"):  # epoch seconds -> UTC datetimes
                if col in table.columns:
                    table[col] = pd.to_datetime(table[col].astype(float), unit="s", utc=True)
        if renamed:
            _warn_renamed(renamed, self.runner)
        if not dropped and state.dropped and len(table):
            table = table[table["state"] != "dropped"].reset_index(drop=True)
        return table

    def errors(self) -> "pd.DataFrame":
        """Jobs in state error or failed, with traceback or reason."""
        import pandas as pd

        return pd.DataFrame(
            error_rows(self.state()), columns=["job_id", "attempt", "worker", "error", "traceback"]
        )

    def retry(self, *, errors: bool = True, expired: bool = False,
              where: dict[str, Any] | None = None) -> int:
        """Put errored (and/or expired/failed) jobs back in the queue; return how many.

        A job keeps its count of lost runs (runs that killed or outlived a
        worker, see ``max_attempts``): a failed job retried gets one more run,
        and is failed again if that one is lost too.

        ``where={"learner_id": "rf"}`` retries only the jobs with those
        parameters; a ``where`` that names no column of the job table, or
        matches no job, is an :class:`InputError` (nothing is retried), as
        for :meth:`drop`.
        """
        from ._where import match_jobs

        keep = None
        if where is not None:
            keep = set(match_jobs(self.jobs(), where, "retry"))
        queue = self._queue()
        n = expire_dead_workers(queue, by="retry") if expired else 0
        state = self.state()
        wanted = ({"error"} if errors else set()) | ({"failed", "stranded"} if expired else set())
        settings = self.project_settings
        memory_key = settings.memory_key
        group_key = settings.duration_key  # ML: (task_id, learner_id)
        peaks = _observed_peaks_gb(queue, state, group_key) if memory_key else {}
        # a retried job keeps its count of lost runs (a failed one gets one more run per retry), so a job
        # that kills its workers is not given a fresh max_attempts by an error or a retry in between
        last_chance = settings.max_attempts - 1
        claims = [
            Claim(job, state.latest_attempt(job) + 1, min(state.lost_runs(job), last_chance),
                  _lane(queue, state, job, memory_key, peaks, group_key))
            for job in sorted(set(state.final) | set(state.failed) | set(state.claimed))
            if state.state_of(job) in wanted and (keep is None or job in keep)
        ]
        return n + queue.requeue(claims, "retry", "user")


    def drop(self, where: dict[str, Any]) -> int:
        """Drop the jobs whose parameters match ``where``: no worker runs them from now on.

        For the jobs of a wrong learner or task, found while the grid runs:
        workers running skip them at their next claim. A job already
        claimed by a worker is run to its end by that worker (its result is
        kept, not shown). Dropped jobs count as ``dropped`` in
        :meth:`status` (not pending, not failed), ``run`` ends when every
        other job has ended, and :meth:`results` leaves them out.
        :meth:`undrop` brings them back. Jobs added later are not dropped,
        even when they match. Returns how many jobs were newly dropped
        (those already dropped are not counted).

        Parameters
        ----------
        where : dict
            Job parameters (columns of :meth:`jobs`) and their values; every
            one must hold, e.g. ``{"learner_id": "rf"}`` or ``{"job_id": 7}``.

        Raises
        ------
        InputError
            ``where`` names a column the job table does not have, or
            matches no job; nothing is written.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp()) / "proj"
        >>> proj = Project.create(d, [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}, {"a": 3, "b": "x"}], "builtins:dict")
        >>> proj.drop(where={"b": "x"})
        2
        >>> proj.run(n_workers=0, progress=False).counts["dropped"]
        2
        >>> proj.results()["a"].tolist()
        [2]
        >>> proj.undrop(where={"a": 3})
        1
        >>> proj.run(n_workers=0, progress=False).counts["done"]
        2
        """
        from ..store import drop_jobs
        from ._where import match_jobs

        ids = match_jobs(self.jobs(), where, "drop")
        return drop_jobs(self._queue(), ids, where=where)

    def undrop(self, where: dict[str, Any] | None = None) -> int:
        """Bring dropped jobs back (all of them, or those matching ``where``); return how many.

        Each gets back the state its runs gave it: a job done before the
        drop is done again, one never run goes back in the queue (a running
        ``run`` or any new worker picks it up). To run done jobs again
        instead, use ``retry`` after the undrop.
        """
        from ..store import undrop_jobs
        from ._where import match_jobs

        table = self.jobs()
        ids = [int(j) for j in table["job_id"]] if where is None else match_jobs(table, where, "undrop")
        return undrop_jobs(self._queue(), ids, where=where)


def _group(params: dict[str, Any], group_key: Sequence[str] | None) -> tuple[Any, ...]:
    return tuple(params.get(k) for k in group_key or [])


def _observed_peaks_gb(queue: Queue, state: ProjectState, group_key: Sequence[str] | None) -> dict[tuple[Any, ...], float]:
    """The largest observed ``peak_mem_mb`` (in GB) of finished jobs per group (ML: per task and learner)."""
    out: dict[tuple[Any, ...], float] = {}
    for job, (_a, _w, rec) in state.final.items():
        peak = (rec.get("r") or {}).get("peak_mem_mb")
        if isinstance(peak, (int, float)) and peak == peak and peak > 0:
            g = _group(queue.jobs.get(job)["params"], group_key)
            out[g] = max(out.get(g, 0.0), float(peak) / 1024)
    return out


def _lane(queue: Queue, state: ProjectState, job: int, memory_key: str | None,
          peaks: dict[tuple[Any, ...], float] | None = None, group_key: Sequence[str] | None = None) -> int:
    """The memory lane a retried job goes to: its own class, the larger one it escalated to,
    or the class of the largest peak observed in its group (issue 13), whichever is largest."""
    if not memory_key and not uses_classes(queue.settings):
        return 0
    params = queue.jobs.get(job)["params"]
    seen = (peaks or {}).get(_group(params, group_key))
    observed = lane_of(seen) if seen is not None else 0
    if uses_classes(queue.settings):  # issue 21: its own class, raised to what it escalated to or was seen to need
        own, last = class_of(params, queue.settings), state.requeued_lane.get(job, 0)
        was = JobClass.parse(state.lanes_keys[last]) if last < len(state.lanes_keys) else own
        final = state.final.get(job)  # its last run that ended (an error after hours is a long job)
        ran = time_class_of(float(final[2]["t1"]) - float(final[2]["t0"])) if final else 0
        return queue.lane_of_class(own.with_(mem=max(own.mem, was.mem, observed), time=max(own.time, was.time, ran)))
    own_lane = lane_of(expected_gb(params, memory_key))
    return max(own_lane, state.requeued_lane.get(job, 0), observed)


def _warn_renamed(renamed: dict[str, str], runner: str) -> None:
    import warnings

    from .._errors import ResultNameWarning

    pairs = ", ".join(f"{k!r} as {v!r}" for k, v in sorted(renamed.items()))
    warnings.warn(
        f"the runner {runner!r} returned keys named like job parameters or benchgrid's own columns; they are "
        f"kept as {pairs}, and the columns hold the job's inputs; rename the keys in the runner to silence this",
        ResultNameWarning, stacklevel=3,
    )


def _shell_path(path: Path) -> str:
    import shlex

    return shlex.quote(str(path))
