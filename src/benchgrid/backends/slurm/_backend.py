"""SLURM's hooks: its commands and their answers, ``MaxArraySize``, its verdicts; the flow is the base's."""

from __future__ import annotations

import re
import shutil
import signal
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from ..._errors import InputError
from .._backend import Launch, WorkerRow
from .._config import _string, _string_list
from .._scheduler import SCHEDULER_DEFAULTS, SCHEDULER_SCHEMA, SchedulerBackend
from .._template import ArrayJob, split_array
from ._script import DEFAULT_MAX_ARRAY_SIZE, slurm_array_script

__all__ = ["SlurmBackend", "SlurmError", "Submission", "max_array_size"]

_ENDED = {"COMPLETED", "CANCELLED", "FAILED", "TIMEOUT", "NODE_FAIL", "PREEMPTED", "OUT_OF_MEMORY",
          "BOOT_FAIL", "DEADLINE", "REVOKED", "SPECIAL_EXIT"}

Submission = Launch  # what submit returns: the generic Launch


class SlurmError(InputError):
    """A SLURM command failed; the message holds the command's own words."""


class SlurmBackend(SchedulerBackend):
    """Workers as SLURM job arrays: ``submit(..., backend="slurm")``.

    Options are the base's and those of :func:`.slurm_array_script`; ``[slurm]`` in ``config.toml`` sets defaults.

    Examples
    --------
    >>> SlurmBackend().warning_signal.name, sorted(SlurmBackend.config_schema)[:3]
    ('SIGUSR1', ['account', 'cpus_per_worker', 'gres'])
    """

    name: ClassVar[str] = "slurm"
    title: ClassVar[str] = "SLURM"
    warning_signal: ClassVar[signal.Signals | None] = signal.SIGUSR1
    config_schema: ClassVar[Mapping[str, Any]] = {
        **SCHEDULER_SCHEMA,
        "time": (_string, "a SLURM time string such as \"2:00:00\""),
        "account": (_string, "a non-empty string"),
        "partition": (_string, "a non-empty string"),
        "qos": (_string, "a non-empty string"),
        "gres": (_string, "a non-empty string"),
        "sbatch_args": (_string_list, "a list of strings, one sbatch option each"),
    }
    config_defaults: ClassVar[Mapping[str, Any]] = {**SCHEDULER_DEFAULTS, "sbatch_args": []}
    error = SlurmError
    submit_program, submit_flags, id_separator, cancel_program = "sbatch", ("--parsable",), ";", "scancel"
    submit_host, local_hint, daemon = "a SLURM login node", "a local SLURM with scripts/slurm-local start", "slurmctld"
    memory_states, time_states = frozenset({"OUT_OF_MEMORY"}), frozenset({"TIMEOUT", "DEADLINE"})

    def arrays(self, n_workers: int, *, max_parallel: int | None = None, **options: Any) -> list[ArrayJob]:
        chunks = split_array(n_workers, max_array_size=max_array_size(), max_parallel=max_parallel)
        return [ArrayJob(slurm_array_script(n_workers=c.n_tasks, max_parallel=c.max_parallel, **options), c.n_tasks)
                for c in chunks]

    def status_command(self, ids: Sequence[str]) -> list[str]:
        return ["squeue", "-h", "-t", "all", "-r", "-j", ",".join(ids), "-o", "%i|%F|%T|%M|%R"]

    def named_command(self, job_name: str) -> list[str]:
        return ["squeue", "-h", "-r", f"--name={job_name}", "-o", "%i|%F|%T|%M|%R"]

    def parse_named(self, text: str, job_name: str) -> list[WorkerRow]:
        return self.parse_status(text, {})

    def parse_status(self, text: str, arrays: Mapping[str, int]) -> list[WorkerRow]:
        """Rows of squeue (``%i|%F|%T|%M|%R``); squeue forgets ended jobs after ``MinJobAge`` (300 s by default)."""
        rows = []
        for line in text.splitlines():
            parts = line.split("|", 4)
            if len(parts) == 5:
                job_id, array_id, state, elapsed, where = parts
                phase = "pending" if state == "PENDING" else "ended" if state.split()[0] in _ENDED else "running"
                rows.append(WorkerRow(job_id, array_id, phase, state, where, elapsed))
        return rows


def max_array_size() -> int:
    """The cluster's ``MaxArraySize`` (``scontrol show config``), or SLURM's default 1001."""
    if shutil.which("scontrol") is None:
        return DEFAULT_MAX_ARRAY_SIZE
    try:
        out = SlurmBackend().run(["scontrol", "show", "config"], timeout_s=30)
    except SlurmError:
        return DEFAULT_MAX_ARRAY_SIZE
    match = re.search(r"^MaxArraySize\s*=\s*(\d+)", out.stdout, re.MULTILINE)
    return int(match.group(1)) if match else DEFAULT_MAX_ARRAY_SIZE

