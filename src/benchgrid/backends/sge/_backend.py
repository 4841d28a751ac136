"""Grid Engine's hooks: ``qsub -terse``, ``qstat -xml`` read, ``qdel``; the flow is the base's."""

from __future__ import annotations

import os
import signal
import time
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from ..._errors import InputError
from .._backend import WorkerRow
from .._config import _string, _string_list
from .._scheduler import SCHEDULER_DEFAULTS, SCHEDULER_SCHEMA, SchedulerBackend
from .._template import ArrayJob
from ._script import sge_array

__all__ = ["SgeBackend", "SgeError", "parse_qstat_xml"]


class SgeError(InputError):
    """A Grid Engine command failed; the message holds the command's own words."""


class SgeBackend(SchedulerBackend):
    """Workers as one Grid Engine array job: ``submit(..., backend="sge")``.

    Options are the base's and those of :func:`.sge_array`; ``[sge]`` in ``config.toml`` sets defaults.

    Examples
    --------
    >>> SgeBackend().warning_signal.name, SgeBackend.title
    ('SIGUSR2', 'Grid Engine')
    """

    name: ClassVar[str] = "sge"
    title: ClassVar[str] = "Grid Engine"
    warning_signal: ClassVar[signal.Signals | None] = signal.SIGUSR2
    config_schema: ClassVar[Mapping[str, Any]] = {
        **SCHEDULER_SCHEMA,
        "time": (_string, "a time string such as \"2:00:00\""),
        "queue": (_string, "a non-empty string"),
        "project": (_string, "a non-empty string"),
        "pe": (_string, "a non-empty string (a parallel environment, see qconf -spl)"),
        "mem_resource": (_string, "a non-empty string (h_vmem, mem_free, m_mem_free...)"),
        "qsub_args": (_string_list, "a list of strings, one qsub word each"),
    }
    config_defaults: ClassVar[Mapping[str, Any]] = {**SCHEDULER_DEFAULTS, "qsub_args": [], "mem_resource": "mem_free"}
    error = SgeError
    # no memory_states: qstat forgets a task it killed and qacct says only "failed 37: qmaster enforced
    # h_rt, h_cpu, or h_vmem limit"; the execd's messages file says which, read by the worker on the
    # notify signal and by a recoverer (benchgrid.worker._memory.grid_engine_oom; docs/sge.md)
    submit_program, submit_flags, id_separator, cancel_program = "qsub", ("-terse",), ".", "qdel"
    submit_host, local_hint, daemon = "a Grid Engine submit host", "a local one with scripts/sge-local start", "sge_qmaster"

    def arrays(self, n_workers: int, **options: Any) -> list[ArrayJob]:
        return [sge_array(n_workers=n_workers, work_dir=os.getcwd(), **options)]

    def job_name(self, root: Path) -> str:
        """The folder's name, without what Grid Engine refuses in a name (blanks and / : @ \\ * ?)."""
        return "bg-" + ("".join("_" if (c.isspace() or c in "/:@\\*?") else c for c in root.name)[:60] or "benchgrid")

    def status_command(self, ids: Sequence[str]) -> list[str]:
        return ["qstat", "-u", "*", "-g", "d", "-xml"]

    def named_command(self, job_name: str) -> list[str]:
        return ["qstat", "-u", "*", "-g", "d", "-xml"]

    def parse_named(self, text: str, job_name: str) -> list[WorkerRow]:
        return parse_qstat_xml(text, name=job_name)

    def parse_status(self, text: str, arrays: Mapping[str, int]) -> list[WorkerRow]:
        """One row per task of ``arrays``; a task qstat no longer lists has ended."""
        listed = {row.job_id: row for row in parse_qstat_xml(text)}
        return [listed.get(f"{job}.{task}") or WorkerRow(f"{job}.{task}", job, "ended", "gone")
                for job, n_tasks in arrays.items() for task in range(1, n_tasks + 1)]


def parse_qstat_xml(text: str, name: str | None = None) -> list[WorkerRow]:
    """Rows of ``qstat -u '*' -g d -xml`` (one per array task; only jobs named ``name`` if given).

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
        if name is not None and (job.findtext("JB_name") or "").strip() != name:
            continue
        number = (job.findtext("JB_job_number") or "").strip()
        task = (job.findtext("tasks") or "1").strip()
        state = (job.findtext("state") or "").strip()
        phase = "pending" if "q" in state or "h" in state else "running"
        where = (job.findtext("queue_name") or "").strip()
        rows.append(WorkerRow(f"{number}.{task}", number, phase, state, where, _elapsed(job.findtext("JAT_start_time"))))
    return rows


def _elapsed(started: str | None) -> str:
    """``H:MM:SS`` since qstat's local ISO start time ("" when absent or unreadable)."""
    import datetime as dt

    try:
        seconds = max(0, int(time.time() - dt.datetime.fromisoformat((started or "").strip()).timestamp()))
    except ValueError:
        return ""
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
