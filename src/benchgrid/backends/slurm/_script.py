"""The SLURM batch script of one job array: its ``#SBATCH`` header and its end of allocation.

Pure, like :mod:`benchgrid.backends._template`, which it fills. Values are quoted in the ``#SBATCH``
lines too (sbatch reads them with shell-like quoting). SLURM sends ``USR1`` ``warning_s`` before the
limit (``B:`` to the batch shell, which ``exec`` made the worker). The allocation's end comes from
``squeue -o %e`` in the job (a limit changed with ``scontrol`` shows there), else the start + ``time``.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Sequence
from typing import Any

from ..._errors import InputError
from .._script_checks import check_text, check_words, format_mem
from .._template import array_script, export_task, scheduler_resource, script_spec, split_array

__all__ = ["DEFAULT_MAX_ARRAY_SIZE", "slurm_array_script", "slurm_array_scripts"]

#: SLURM's default ``MaxArraySize``: array indices run from 0 to 1000.
DEFAULT_MAX_ARRAY_SIZE = 1001
# Options the script sets itself; passing them again would break the array or the walltime logic.
_RESERVED = ("-a", "--array", "--wrap", "--signal", "-o", "--output", "-e", "--error")
_TASK = "${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}"


def slurm_array_script(
    project_dir: str | os.PathLike[str],
    *,
    n_workers: int,
    job_name: str = "benchgrid",
    partition: str | None = None, account: str | None = None, qos: str | None = None, gres: str | None = None,
    sbatch_args: Sequence[str] = (),
    **options: Any,
) -> str:
    """Batch script for one job array of ``n_workers`` workers, named ``slurm-<array id>_<task id>``.

    Parameters
    ----------
    project_dir, n_workers, **options
        As in :func:`benchgrid.backends._template.script_spec`; ``time`` is rounded up to whole minutes.
    job_name, partition, account, qos, gres : str, optional
        Passed to sbatch as ``--job-name`` (default "benchgrid"), ``--partition``, ``--account``, ``--qos``, ``--gres``.
    sbatch_args : sequence of str, default=()
        More sbatch options, one per item, e.g. ``"--constraint=cascade"``.

    Examples
    --------
    >>> text = slurm_array_script("/scratch/x; rm -rf ~", n_workers=4, time="1:00:00")
    >>> print(text.splitlines()[-1])
    exec benchgrid work '/scratch/x; rm -rf ~' --name "slurm-${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}" --restart-crashed "${benchgrid_until[@]}"
    >>> "#SBATCH --signal=B:USR1@60" in text
    True
    """
    spec = script_spec(project_dir, scheduler="slurm", n_workers=n_workers, limit_step_s=60, **options)
    if "\\" in spec.logs:
        raise InputError(f"log_dir must not contain a backslash (SLURM then ignores %A/%a in log file names), got {spec.logs!r}")
    logs = spec.logs.rstrip("/")
    directives = [
        ("--job-name", check_text(job_name, "job_name")),
        ("--array", f"0-{n_workers - 1}" + (f"%{spec.max_parallel}" if spec.max_parallel else "")),
        ("--output", logs.replace("%", "%%") + "/worker-%A_%a.out"),
        ("--open-mode", "append"),  # a requeued worker keeps its earlier log
        ("--nodes", "1"),
        ("--ntasks", "1"),
        ("--cpus-per-task", str(spec.cpus_per_worker)),
    ]
    if options.get("time") is not None:
        directives.append(("--time", options["time"].strip()))
    directives.append(("--signal", f"B:USR1@{spec.warning_s}"))
    if spec.mem_gb is not None:
        directives.append(("--mem", format_mem(spec.mem_gb)))
    if spec.resources:  # issue 21: the worker's resources (a GPU pool), beside any --gres given
        wanted = ",".join(f"{scheduler_resource(n)}:{c}" for n, c in spec.resources)
        gres = wanted if gres is None else f"{check_text(gres, 'gres')},{wanted}"
    for key, value in (("partition", partition), ("account", account), ("qos", qos), ("gres", gres)):
        if value is not None:
            directives.append((f"--{key}", check_text(value, key)))
    head = [
        "# benchgrid workers as one SLURM job array: each array task is one worker.",
        "# Written by benchgrid; submit it again by hand with: sbatch <this file>",
        *(f"#SBATCH {opt}={shlex.quote(value)}" for opt, value in directives),
        *(f"#SBATCH {shlex.quote(arg)}" for arg in _check_sbatch_args(sbatch_args)),
        "",
        "# The end of this allocation (epoch s), read before setup so slow setup is counted.",
        "benchgrid_start_s=$(date +%s)",
        "benchgrid_end_s=",
        'benchgrid_end=$(squeue -h -j "$SLURM_JOB_ID" -o %e 2>/dev/null)',
        "case $benchgrid_end in",
        '    [0-9][0-9][0-9][0-9]-*) benchgrid_end_s=$(date -d "$benchgrid_end" +%s 2>/dev/null) ;;',
        "esac",
        "case $benchgrid_end_s in",
        "    '' | *[!0-9]*) benchgrid_end_s="
        + ("" if spec.limit_s is None else f"$((benchgrid_start_s + {spec.limit_s}))") + " ;;",
        "esac",
        "# Claim only jobs expected to end before SLURM's warning signal.",
        "benchgrid_until=()",
        'if [ -n "$benchgrid_end_s" ]; then',
        f'    benchgrid_until=(--until "$((benchgrid_end_s - {spec.warning_s}))")',
        "fi",
        export_task(_TASK),
        # this task's log (the --output above): where SLURM says it killed the job for memory
        f'export BENCHGRID_SCHEDULER_LOG={shlex.quote(logs + "/worker-")}"{_TASK}.out"',
    ]
    return array_script(spec, head, name=f"slurm-{_TASK}", exec_comment=(
        "# exec: the worker becomes the batch shell, so SLURM's B:USR1 warning and SIGTERM reach it."))


def slurm_array_scripts(
    project_dir: str | os.PathLike[str],
    *,
    n_workers: int,
    max_array_size: int = DEFAULT_MAX_ARRAY_SIZE,
    max_parallel: int | None = None,
    **options: Any,
) -> list[str]:
    """Scripts for ``n_workers`` workers, one per array of :func:`~benchgrid.backends._template.split_array`.

    >>> scripts = slurm_array_scripts("/p", n_workers=1500, max_parallel=300)
    >>> [s.split("--array=")[1].split()[0] for s in scripts]
    ['0-1000%200', '0-498%100']
    """
    return [
        slurm_array_script(project_dir, n_workers=c.n_tasks, max_parallel=c.max_parallel, **options)
        for c in split_array(n_workers, max_array_size=max_array_size, max_parallel=max_parallel)
    ]


def _check_sbatch_args(value: object) -> tuple[str, ...]:
    args = check_words(value, "sbatch_args")
    for arg in args:
        check_text(arg, "sbatch_args")
        if not arg.startswith("-"):
            raise InputError(f"sbatch_args items must be sbatch options starting with '-', got {arg!r}")
        option = arg.split("=", 1)[0]
        if option in _RESERVED or (option[:2] in ("-a", "-o", "-e") and len(option) > 2 and option[1] != "-"):
            raise InputError(
                f"sbatch_args must not set {option} (benchgrid sets the array, logs and warning signal "
                f"itself; use n_workers, max_parallel, log_dir, warning_s), got {arg!r}"
            )
    return args
