"""Grid Engine backend: submit W workers as one array job (``qsub -t``), list them, ``qdel`` them.

The qsub options and the script come from the pure :mod:`._script`; this
module reads the ``[sge]`` configuration, writes the script into
``<project>/sge/``, runs qsub, qstat and qdel through one thin wrapper
(:func:`_run`) and records job ids in ``<project>/sge/jobs.jsonl``.
Listing and cancelling look only at the ids recorded there.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from ..._errors import InputError
from .._backend import Backend, Launch, WorkerRow, project_dir, time_stamp
from .._config import _positive_int, _positive_number, _string, _string_list, _string_or_list, backend_settings
from ..slurm import parse_slurm_time
from ._script import sge_array

__all__ = ["SgeBackend", "SgeError"]


class SgeError(InputError):
    """A Grid Engine command failed; the message holds the command's own words."""


def _run(cmd: Sequence[str], *, timeout_s: float = 60.0) -> subprocess.CompletedProcess[str]:
    """The one place that runs a Grid Engine command (never through a shell)."""
    try:
        return subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout_s, check=False)
    except FileNotFoundError:
        raise SgeError(
            f"{cmd[0]} is not on PATH: run this on a Grid Engine submit host "
            "(or start a local one with scripts/sge-local start)"
        ) from None
    except subprocess.TimeoutExpired:
        raise SgeError(f"{cmd[0]} did not answer within {timeout_s:.0f} s: is sge_qmaster up?") from None


def _check_bash_syntax(text: str) -> None:
    bash = shutil.which("bash")
    if bash is None:
        return
    out = subprocess.run([bash, "-n"], input=text, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise InputError(
            f"the job script would not run: bash says {out.stderr.strip()!r}; "
            "check the setup lines (they are inserted as shell code)"
        )


class SgeBackend(Backend):
    """Workers as one Grid Engine array job: ``submit(..., backend="sge")``.

    Options of :meth:`launch`: ``time``, ``mem_gb``, ``cpus_per_worker``,
    ``queue``, ``project``, ``pe``, ``mem_resource``, ``setup``,
    ``max_parallel``, ``qsub_args`` (defaults from the ``[sge]`` table),
    and ``dry_run``, ``warning_s``, ``job_name``, ``command``, ``worker_args``,
    ``trust_owner`` (submit workers on a project owned by another user).

    Examples
    --------
    >>> SgeBackend().warning_signal.name, SgeBackend.title
    ('SIGUSR2', 'Grid Engine')
    """

    name: ClassVar[str] = "sge"
    title: ClassVar[str] = "Grid Engine"
    waits: ClassVar[bool] = False
    warning_signal: ClassVar[signal.Signals | None] = signal.SIGUSR2
    config_schema: ClassVar[Mapping[str, Any]] = {
        "queue": (_string, "a non-empty string"),
        "project": (_string, "a non-empty string"),
        "pe": (_string, "a non-empty string (a parallel environment, see qconf -spl)"),
        "mem_resource": (_string, "a non-empty string (h_vmem, mem_free, m_mem_free...)"),
        "time": (_string, "a time string such as \"2:00:00\""),
        "mem_gb": (_positive_number, "a number > 0"),
        "cpus_per_worker": (_positive_int, "an integer >= 1"),
        "max_parallel": (_positive_int, "an integer >= 1"),
        "setup": (_string_or_list, "a string or a list of strings (shell lines)"),
        "qsub_args": (_string_list, "a list of strings, one qsub word each"),
    }
    config_defaults: ClassVar[Mapping[str, Any]] = {
        "cpus_per_worker": 1, "setup": [], "qsub_args": [], "mem_resource": "mem_free",
    }

    @classmethod
    def check_settings(cls, values: Mapping[str, Any], where: str) -> None:
        if isinstance(values.get("time"), str):
            parse_slurm_time(values["time"], name=f"'sge.time' {where}" if where else "time")

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
        """Submit ``n_workers`` workers as one array job; see the class docstring for options.

        Raises
        ------
        InputError
            Bad options or config files, qsub missing or refusing the job
            (its words included). Nothing is submitted then.
        """
        from ...store import check_project, read_project_json

        root = project_dir(project)
        read_project_json(root)
        check_project(root, trust_owner=trust_owner)  # before the workers run its code
        if trust_owner:
            worker_args = (*worker_args, "--trust-owner")
        if "qsub_args" in options and options["qsub_args"] is not None:
            options["qsub_args"] = list(options["qsub_args"])
        settings = backend_settings("sge", root, options)
        if not dry_run and shutil.which("qsub") is None:
            raise SgeError(
                "qsub is not on PATH: run submit on a Grid Engine submit host "
                "(or start a local one with scripts/sge-local start); nothing was submitted"
            )
        state = self.state_dir(root)
        job = sge_array(
            str(root),
            n_workers=n_workers,
            work_dir=os.getcwd(),
            command=tuple(command) if command is not None else (sys.executable, "-m", "benchgrid"),
            log_dir=str(state / "logs"),
            job_name=job_name or f"bg-{_safe_name(root.name)}",
            warning_s=warning_s,
            worker_args=tuple(worker_args),
            **settings.values,
        )
        _check_bash_syntax(job.script)
        launch = Launch(backend=self.name, n_workers=n_workers, scripts=[job.script], settings=settings)
        if dry_run:
            return launch
        from ...store import make_dir, write_atomic

        make_dir(state / "logs", parents=True)
        path = state / f"workers-{time_stamp()}.sh"
        write_atomic(path, job.script)
        out = _run(["qsub", "-terse", *job.qsub_args, str(path)])
        if out.returncode != 0:
            path.unlink()  # nothing half-written: a refused script is not kept
            raise SgeError(f"qsub refused the job: {out.stderr.strip() or out.stdout.strip()}")
        # -terse prints "<id>.1-4:1" for an array job
        job_id = out.stdout.strip().split(".")[0]
        launch.job_ids.append(job_id)
        launch.script_paths.append(path)
        self.record_submission(root, job_id, job.n_tasks, path.name)
        return launch

    def workers(self, project: Any) -> list[WorkerRow]:
        """One row per array task; tasks qstat no longer lists have ended."""
        submissions = self.submissions(project)
        if not submissions:
            return []
        out = _run(["qstat", "-u", "*", "-g", "d", "-xml"])
        if out.returncode != 0:
            raise SgeError(f"qstat failed: {out.stderr.strip()}")
        listed = {row.job_id: row for row in parse_qstat_xml(out.stdout)}
        rows = []
        for sub in submissions:
            for task in range(1, int(sub.get("n_workers", 0)) + 1):
                job_id = f"{sub['job_id']}.{task}"
                rows.append(listed.get(job_id) or WorkerRow(job_id, sub["job_id"], "ended", "gone"))
        return rows

    def cancel(self, project: Any) -> list[str]:
        """``qdel`` the project's array jobs that still have pending or running tasks.

        With ``-notify``, a running worker gets SIGUSR2 and hands its job back
        before the SIGKILL that follows the queue's ``notify`` time.
        """
        live = sorted({row.array_job_id for row in self.workers(project) if row.phase != "ended"}, key=int)
        if live:
            out = _run(["qdel", *live])
            if out.returncode != 0:
                raise SgeError(f"qdel failed: {out.stderr.strip() or out.stdout.strip()}")
        return live


def parse_qstat_xml(text: str) -> list[WorkerRow]:
    """Rows of ``qstat -u '*' -g d -xml`` (one per array task).

    Examples
    --------
    >>> xml = ('<job_info><queue_info><job_list state="running"><JB_job_number>7</JB_job_number>'
    ...        '<state>r</state><queue_name>all.q@vm</queue_name><tasks>2</tasks>'
    ...        '<JAT_start_time>2026-12-01T03:06:08</JAT_start_time></job_list></queue_info></job_info>')
    >>> parse_qstat_xml(xml)[0].job_id, parse_qstat_xml(xml)[0].phase
    ('7.2', 'running')
    """
    try:
        root = ET.fromstring(text)
    except ET.ParseError as err:
        raise SgeError(f"qstat -xml gave text that is not XML ({err}): {text[:200]!r}") from None
    rows = []
    for job in root.iter("job_list"):
        number = (job.findtext("JB_job_number") or "").strip()
        task = (job.findtext("tasks") or "1").strip()
        state = (job.findtext("state") or "").strip()
        phase = "pending" if "q" in state or "h" in state else "running"
        where = (job.findtext("queue_name") or "").strip()
        started = (job.findtext("JAT_start_time") or "").strip()
        rows.append(WorkerRow(f"{number}.{task}", number, phase, state, where, _elapsed(started)))
    return rows


def _elapsed(started: str) -> str:
    """``H:MM:SS`` since qstat's local ISO start time ("" when absent or unreadable)."""
    import datetime as dt

    try:
        seconds = max(0, int(time.time() - dt.datetime.fromisoformat(started).timestamp()))
    except ValueError:
        return ""
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def _safe_name(text: str) -> str:
    """A folder name as a job name: Grid Engine refuses blanks and / : @ \\ * ?"""
    cleaned = "".join("_" if (c.isspace() or c in "/:@\\*?") else c for c in text)
    return cleaned[:60] or "benchgrid"

