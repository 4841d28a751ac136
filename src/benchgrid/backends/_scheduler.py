"""The flow every scheduler backend shares; a scheduler fills a few hooks.

joblib's ``ParallelBackendBase`` and dask-jobqueue's ``Job`` are the models:
:class:`SchedulerBackend` owns ``launch`` (check the project and the options,
build the scripts, ``bash -n`` them, write them, submit them, record the ids),
the listing and the cancelling of what it recorded, and the one
:mod:`subprocess` wrapper. A scheduler says:

- its words: :attr:`~SchedulerBackend.submit_program` and its flags, the
  separator after the id in its answer, :attr:`~SchedulerBackend.cancel_program`,
  where to run it (``submit_host``, ``local_hint``, ``daemon``);
- :meth:`~SchedulerBackend.arrays`: the scripts (pure, in its ``_script.py``,
  built on :mod:`._template`), which hold its header lines and its
  end-of-allocation lookup;
- :meth:`~SchedulerBackend.status_command` and
  :meth:`~SchedulerBackend.parse_status`: which of its ids are pending, running
  or ended;
- :attr:`~SchedulerBackend.memory_states` and :attr:`~SchedulerBackend.time_states`:
  the states in which it says it killed a worker for memory or for time.

The seam for pools of workers that renew themselves: :meth:`~SchedulerBackend.launch`
submits one more allocation (``n_workers`` of one kind, recorded);
:meth:`~SchedulerBackend.status_of` says which of given arrays' tasks are
pending, running or ended (and :meth:`~SchedulerBackend.verdict` why one
ended); :meth:`~SchedulerBackend.cancel_ids` cancels given ids.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from abc import abstractmethod
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from .._errors import InputError
from ._backend import Backend, Launch, WorkerRow, project_dir, time_stamp
from ._config import _positive_int, _positive_number, _string_or_list, backend_settings, _resource_counts
from ._script_checks import parse_time
from ._template import ArrayJob

__all__ = ["SCHEDULER_DEFAULTS", "SCHEDULER_SCHEMA", "SchedulerBackend"]

#: The ``config.toml`` keys every scheduler takes (each adds ``time`` and its own).
SCHEDULER_SCHEMA: Mapping[str, Any] = {
    "mem_gb": (_positive_number, "a number > 0"),
    "cpus_per_worker": (_positive_int, "an integer >= 1"),
    "max_parallel": (_positive_int, "an integer >= 1"),
    "setup": (_string_or_list, "a string or a list of strings (shell lines)"),
    # issue 21: what each worker is given and claims jobs by, e.g. {"gpus": 1} (SLURM --gres=gpu:1, SGE -l gpu=1)
    "resources": (_resource_counts, "a table of resource counts such as {gpus = 1}"),
}
#: Their built-in values (the lowest layer of precedence).
SCHEDULER_DEFAULTS: Mapping[str, Any] = {"cpus_per_worker": 1, "setup": []}


class SchedulerBackend(Backend):
    """Base of the backends that submit workers to a batch scheduler as job arrays.

    Options of :meth:`launch`: those of the backend's ``[name]`` table
    (``time``, ``mem_gb``, ``cpus_per_worker``, ``max_parallel``, ``setup``
    and the scheduler's own), whose defaults come from ``config.toml``; and
    ``dry_run`` (build and check, write and submit nothing), ``warning_s``
    (seconds before the limit after which a worker starts no job),
    ``job_name`` (default ``bg-<project folder>``), ``command`` (how to start
    benchgrid on a node; default this Python), ``worker_args`` (more
    arguments for ``benchgrid work``), ``trust_owner`` (submit workers on a
    project owned by another user: they run its code as you).

    Examples
    --------
    >>> from benchgrid.backends import get_backend
    >>> isinstance(get_backend("slurm"), SchedulerBackend), get_backend("sge").cancel_program
    (True, 'qdel')
    """

    waits: ClassVar[bool] = False
    error: ClassVar[type[InputError]] = InputError
    submit_program: ClassVar[str] = ""
    submit_flags: ClassVar[tuple[str, ...]] = ()
    id_separator: ClassVar[str] = ";"  # the submit command prints the id, then this, then more
    cancel_program: ClassVar[str] = ""
    submit_host: ClassVar[str] = ""  # "a SLURM login node": where its commands work
    local_hint: ClassVar[str] = ""  # "a local SLURM with scripts/slurm-local start"
    daemon: ClassVar[str] = ""  # the server that answers its commands
    memory_states: ClassVar[frozenset[str]] = frozenset()
    time_states: ClassVar[frozenset[str]] = frozenset()

    # -- hooks -------------------------------------------------------------------
    @abstractmethod
    def arrays(self, n_workers: int, **options: Any) -> list[ArrayJob]:
        """The arrays that run ``n_workers`` workers (pure but for asking the cluster its limits)."""

    @abstractmethod
    def status_command(self, ids: Sequence[str]) -> list[str]:
        """The command that lists the tasks of the arrays ``ids``."""

    @abstractmethod
    def parse_status(self, text: str, arrays: Mapping[str, int]) -> list[WorkerRow]:
        """Rows of the status command's output; ``arrays`` maps array id to its number of tasks."""

    @abstractmethod
    def named_command(self, job_name: str) -> list[str]:
        """The command that lists the pending and running tasks of the jobs named ``job_name`` (pools count by it)."""

    @abstractmethod
    def parse_named(self, text: str, job_name: str) -> list[WorkerRow]:
        """Rows of :meth:`named_command`'s output."""

    def job_name(self, root: Path) -> str:
        """The default job name for the project in ``root``."""
        return f"bg-{root.name}"

    @classmethod
    def validate_settings(cls, values: Mapping[str, Any], where: str) -> None:
        if isinstance(values.get("time"), str):
            parse_time(values["time"], name=f"'{cls.name}.time' {where}" if where else "time")

    # -- the flow ----------------------------------------------------------------
    def launch(
        self,
        project: Any,
        n_workers: int,
        *,
        dry_run: bool = False,
        warning_s: int | None = None,
        job_name: str | None = None,
        command: Sequence[str] | None = None,
        worker_args: Sequence[str] = (),
        trust_owner: bool = False,
        **options: Any,
    ) -> Launch:
        """Submit ``n_workers`` workers of ``project``; see the class docstring for the options.

        Submitting again adds workers: they all pull from the same job table.

        Raises
        ------
        InputError
            Bad options or config files, the submit command not on PATH or
            refusing the job (its own words included). Nothing is submitted then.
        """
        from ..store import check_trust, make_dir, read_project_json, write_atomic

        root = project_dir(project)
        read_project_json(root)
        check_trust(root, trust_owner=trust_owner)  # before the workers run its code
        if trust_owner:
            worker_args = (*worker_args, "--trust-owner")
        options = {k: list(v) if isinstance(v, tuple) else v for k, v in options.items()}
        settings = backend_settings(self.name, root, options)
        if not dry_run and shutil.which(self.submit_program) is None:
            raise self.error(f"{self.submit_program} is not on PATH: run submit on {self.submit_host} "
                             f"(or start {self.local_hint}); nothing was submitted")
        state = self.state_dir(root)
        jobs = self.arrays(
            n_workers,
            project_dir=str(root),
            command=tuple(command) if command is not None else (sys.executable, "-m", "benchgrid"),
            log_dir=str(state / "logs"),
            job_name=job_name or self.job_name(root),
            warning_s=warning_s,
            worker_args=tuple(worker_args),
            **settings.values,
        )
        setup = settings.values.get("setup") or []
        if setup:
            check_bash("\n".join([setup] if isinstance(setup, str) else setup) + "\n", setup=True)
        for job in jobs:
            check_bash(job.script)
        launch = Launch(backend=self.name, n_workers=n_workers, scripts=[j.script for j in jobs], settings=settings)
        if dry_run:
            return launch
        make_dir(state / "logs", parents=True)
        stamp = time_stamp()
        for k, job in enumerate(jobs):
            path = state / f"workers-{stamp}-{k}.sh"
            write_atomic(path, job.script)
            out = self.run([self.submit_program, *self.submit_flags, *job.submit_args, str(path)])
            if out.returncode != 0:
                path.unlink()  # nothing half-written: a refused script is not kept
                done = f" (arrays already submitted: {', '.join(launch.job_ids)})" if launch.job_ids else ""
                raise self.error(f"{self.submit_program} refused the job{done}: "
                                 f"{out.stderr.strip() or out.stdout.strip()}")
            job_id = out.stdout.strip().split(self.id_separator)[0]
            launch.job_ids.append(job_id)
            launch.script_paths.append(path)
            self.record_submission(root, job_id, job.n_tasks, path.name)
        return launch

    def workers(self, project: Any) -> list[WorkerRow]:
        """One row per task of the arrays this project recorded that the scheduler reports."""
        arrays = {sub["job_id"]: int(sub.get("n_workers", 0)) for sub in self.submissions(project)}
        return self.status_of(arrays) if arrays else []

    def cancel(self, project: Any) -> list[str]:
        """Cancel the project's arrays that still have pending or running tasks; return their ids.

        Only ids recorded in ``<project>/<name>/jobs.jsonl`` are cancelled. A
        cancelled worker gets SIGTERM (or the warning signal) and hands its running job back.
        """
        live = sorted({row.array_job_id for row in self.workers(project) if row.phase != "ended"}, key=int)
        if live:
            self.cancel_ids(live)
        return live

    # -- for pools ---------------------------------------------------------------
    def status_of(self, arrays: Mapping[str, int]) -> list[WorkerRow]:
        """The tasks of ``arrays`` (array id -> number of tasks) as the scheduler sees them."""
        return self.parse_status(self._ask(self.status_command(list(arrays))), arrays)

    def named_tasks(self, job_name: str) -> list[WorkerRow]:
        """The pending and running tasks of every job named ``job_name`` (a pool's allocations, recorded or not)."""
        text = self._ask(self.named_command(job_name))
        return [row for row in self.parse_named(text, job_name) if row.phase != "ended"]

    def _ask(self, cmd: list[str]) -> str:
        """The output of a scheduler command that must succeed."""
        out = self.run(cmd)
        if out.returncode != 0:
            raise self.error(f"{cmd[0]} failed: {out.stderr.strip() or out.stdout.strip()}")
        return out.stdout

    def cancel_ids(self, ids: Sequence[str]) -> None:
        """Cancel the scheduler's jobs (arrays or tasks) ``ids``."""
        out = self.run([self.cancel_program, *ids])
        if out.returncode != 0:
            raise self.error(f"{self.cancel_program} failed: {out.stderr.strip() or out.stdout.strip()}")

    def verdict(self, row: WorkerRow) -> str | None:
        """``"memory"`` or ``"time"`` when the scheduler says it killed this worker for it, else None."""
        state = row.state.split()[0] if row.state.strip() else ""
        return "memory" if state in self.memory_states else "time" if state in self.time_states else None

    def run(self, cmd: Sequence[str], *, timeout_s: float = 60.0) -> subprocess.CompletedProcess[str]:
        """The one place that runs a scheduler command (never through a shell)."""
        try:
            return subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout_s, check=False)
        except FileNotFoundError:
            raise self.error(f"{cmd[0]} is not on PATH: run this on {self.submit_host} "
                             f"(or start {self.local_hint})") from None
        except subprocess.TimeoutExpired:
            raise self.error(f"{cmd[0]} did not answer within {timeout_s:.0f} s: is {self.daemon} up?") from None


def check_bash(text: str, *, setup: bool = False) -> None:
    """A setup line with a stray quote would break the whole script: refuse it before submitting.

    The setup lines are checked on their own first (``setup=True``): in the
    whole script, a quote they leave open could be closed by a later line.
    """
    bash = shutil.which("bash")
    if bash is None:
        return
    out = subprocess.run([bash, "-n"], input=text, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        what = "the batch script would not run" + (f": the setup lines {text!r} are not complete shell code" if setup else "")
        raise InputError(
            f"{what}: bash -n says {out.stderr.strip()!r}; check the setup lines "
            "(they are inserted as shell code: close every quote, if and loop)"
        )
