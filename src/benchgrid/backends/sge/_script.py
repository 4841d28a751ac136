"""The qsub command line and job script that run benchgrid workers as one Grid Engine array job.

Pure functions only: no subprocess, no file system, no clock. The backend
(:mod:`._backend`) writes the script to the project and runs qsub; tests
compare the text with a saved golden file and check it with ``bash -n``.

Every qsub option goes on qsub's command line as a list of words (no shell
and no ``#$`` lines in between), so a project path with spaces, quotes or
``;`` reaches qsub intact. The log file is opened by the script itself
(``exec >>"$log" 2>&1``, the path shell-quoted) rather than with ``-o``,
whose ``host:path,path`` syntax cannot carry a colon or a comma.

Walltime (see :mod:`benchgrid.backends._backend`): the job asks for
``h_rt`` and ``-notify``; at ``h_rt`` Grid Engine sends SIGUSR2 to the
worker, which hands its jobs back, then SIGKILL after the queue's ``notify``
time. The worker gets ``--until <task start + h_rt - warning_s>`` (epoch s)
and claims no job expected to end later. No variable carries a task's start:
the script reads it from ``qstat -j $JOB_ID -xml`` (``JAT_start_time`` of
its task), falling back to its own start.
"""

from __future__ import annotations

import math
import os
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from ..._errors import InputError
from ..slurm import parse_slurm_time

__all__ = ["SgeArray", "sge_array"]

# Options the backend sets itself; passing them again would break the array, the logs or the walltime logic.
_RESERVED_QSUB = ("-t", "-tc", "-o", "-e", "-j", "-notify", "-S", "-b", "-terse", "-sync", "-cwd", "-wd")
_DEFAULT_WARNING_S = 60


@dataclass(frozen=True)
class SgeArray:
    """One Grid Engine array job: run ``qsub *qsub_args <script file>``.

    Attributes
    ----------
    qsub_args : tuple of str
        qsub's options, one word each (the script's path comes last, added by the caller).
    script : str
        The job script.
    n_tasks : int
        Array tasks (workers): the size, as data.
    """

    qsub_args: tuple[str, ...]
    script: str
    n_tasks: int


def sge_array(
    project_dir: str | os.PathLike[str],
    *,
    n_workers: int,
    work_dir: str | os.PathLike[str],
    command: Sequence[str] = ("benchgrid",),
    log_dir: str | os.PathLike[str] | None = None,
    job_name: str = "benchgrid",
    time: str | None = None,
    mem_gb: float | None = None,
    mem_resource: str = "mem_free",
    cpus_per_worker: int = 1,
    pe: str | None = None,
    queue: str | None = None,
    project: str | None = None,
    setup: str | Sequence[str] = (),
    max_parallel: int | None = None,
    qsub_args: Sequence[str] = (),
    warning_s: int | None = None,
    worker_args: Sequence[str] = (),
) -> SgeArray:
    """qsub options and script for one array job of ``n_workers`` benchgrid workers.

    Each task runs ``exec <command> work <project_dir> --name sge-<job id>.<task id>
    [--until <epoch s>] <worker_args>``.

    Parameters
    ----------
    project_dir : str or path-like
        Absolute path of the project directory (on a shared file system).
    n_workers : int
        Array tasks (workers), at least 1.
    work_dir : str or path-like
        Absolute folder the tasks start in (``-wd``), e.g. where qsub ran.
    command : sequence of str, default=("benchgrid",)
        How to start benchgrid on an execution host.
    log_dir : str or path-like, optional
        Folder for the workers' logs (``worker-<job id>.<task id>.out``);
        default ``<project_dir>/sge/logs``. It must exist when a task starts.
    job_name : str, default="benchgrid"
        The job name shown by qstat (``-N``).
    time : str, optional
        Time limit per worker (``-l h_rt``), in the forms of
        :func:`~benchgrid.backends.slurm.parse_slurm_time` (``"90"`` is 90
        minutes, ``"2:00:00"`` two hours); default: the queue's.
    mem_gb : float, optional
        Memory per worker in GB, requested as ``-l <mem_resource>=<n>G``.
    mem_resource : str, default="mem_free"
        The resource that carries memory at your site (``h_vmem``, ``m_mem_free``...).
        ``mem_free`` is known to every Grid Engine and only steers scheduling.
    cpus_per_worker : int, default=1
        Slots per worker; more than 1 needs a parallel environment ``pe``.
    pe : str, optional
        Parallel environment for ``cpus_per_worker`` > 1 (``-pe <pe> <n>``).
    queue, project : str, optional
        ``-q`` and ``-P``.
    setup : str or sequence of str, default=()
        Shell lines run before the worker starts (shell code by intent).
    max_parallel : int, optional
        At most this many tasks at once (``-tc``).
    qsub_args : sequence of str, default=()
        More qsub options, one word each, e.g. ``("-l", "arch=lx-amd64")``.
    warning_s : int, optional
        Seconds before ``h_rt`` after which the worker starts no new job;
        default ``min(60, limit / 4)``.
    worker_args : sequence of str, default=()
        More arguments for ``benchgrid work``.

    Returns
    -------
    SgeArray

    Raises
    ------
    InputError
        If a value breaks a rule; the message names the parameter and the value.

    Examples
    --------
    >>> job = sge_array("/scratch/x; rm -rf ~", n_workers=4, work_dir="/tmp", time="1:00:00")
    >>> job.qsub_args[:6]
    ('-N', 'benchgrid', '-t', '1-4', '-o', '/dev/null')
    >>> print(job.script.splitlines()[-1])
    exec benchgrid work '/scratch/x; rm -rf ~' --name "sge-$JOB_ID.$SGE_TASK_ID" "${benchgrid_until[@]}"
    """
    project_path = _check_path(project_dir, "project_dir")
    logs = _check_path(log_dir, "log_dir") if log_dir is not None else project_path.rstrip("/") + "/sge/logs"
    cwd = _check_path(work_dir, "work_dir")
    _check_int(n_workers, "n_workers", minimum=1)
    _check_int(cpus_per_worker, "cpus_per_worker", minimum=1)
    if max_parallel is not None:
        _check_int(max_parallel, "max_parallel", minimum=1)
    command = _check_words(command, "command")
    if not command:
        raise InputError("command must name the program that starts benchgrid, got an empty sequence")
    worker_args = _check_words(worker_args, "worker_args")
    limit_s = None
    if time is not None:
        limit_s = parse_slurm_time(time)
    if warning_s is None:
        warning_s = _DEFAULT_WARNING_S if limit_s is None else min(_DEFAULT_WARNING_S, limit_s // 4)
    else:
        _check_int(warning_s, "warning_s", minimum=1)
        if limit_s is not None and warning_s >= limit_s:
            raise InputError(f"warning_s must be shorter than the time limit ({limit_s} s), got {warning_s!r}")

    args: list[str] = ["-N", _check_name(job_name), "-t", f"1-{n_workers}"]
    if max_parallel is not None:
        args += ["-tc", str(max_parallel)]
    # the script opens its own log (see the module docstring); SGE writes nothing
    args += ["-o", "/dev/null", "-j", "y", "-S", "/bin/bash", "-notify", "-wd", cwd, "-V"]
    if limit_s is not None:
        args += ["-l", f"h_rt={limit_s}"]
    if mem_gb is not None:
        args += ["-l", f"{_check_name(mem_resource, 'mem_resource')}={_format_mem(mem_gb)}"]
    if cpus_per_worker > 1:
        if pe is None:
            raise InputError(
                f"cpus_per_worker > 1 needs a parallel environment: set pe (e.g. pe = \"smp\"; "
                f"qconf -spl lists them), got cpus_per_worker={cpus_per_worker!r} and no pe"
            )
        args += ["-pe", _check_name(pe, "pe"), str(cpus_per_worker)]
    if queue is not None:
        args += ["-q", _check_name(queue, "queue")]
    if project is not None:
        args += ["-P", _check_name(project, "project")]
    args += _check_qsub_args(qsub_args)

    lines = [
        "#!/bin/bash",
        "# benchgrid workers as one Grid Engine array job: each task is one worker.",
        "# Written by benchgrid; submit it again by hand with:",
        "#   qsub " + " ".join(shlex.quote(a) for a in args) + " <this file>",
        "",
        "# The log, opened here: qsub -o cannot carry every path.",
        f"benchgrid_log_dir={shlex.quote(logs)}",
        'exec >>"$benchgrid_log_dir/worker-$JOB_ID.$SGE_TASK_ID.out" 2>&1',
        'export BENCHGRID_SCHEDULER_JOB_ID="$JOB_ID.$SGE_TASK_ID"',
        "",
        "benchgrid_until=()",
    ]
    if limit_s is not None:
        lines += [
            "# The end of this allocation: the task's start (qstat; no variable has it) + h_rt.",
            "# (awk: one record per tag, whatever the XML's line breaks)",
            'benchgrid_start_s=$(qstat -j "$JOB_ID" -xml 2>/dev/null | awk -v RS="<" -F ">" -v task="$SGE_TASK_ID" \\',
            "    '$1 == \"JAT_task_number\" { n = $2 } $1 == \"JAT_start_time\" && n == task { print $2; exit }')",
            "case $benchgrid_start_s in",
            "    '' | *[!0-9]*) benchgrid_start_s=$(date +%s) ;;",
            "esac",
            "# some versions give milliseconds",
            "if [ ${#benchgrid_start_s} -gt 11 ]; then benchgrid_start_s=$((benchgrid_start_s / 1000)); fi",
            "# Claim only jobs expected to end before h_rt, when SIGUSR2 (-notify) comes.",
            f'benchgrid_until=(--until "$((benchgrid_start_s + {limit_s} - {warning_s}))")',
        ]
    setup_lines = _check_setup(setup)
    if setup_lines:
        lines += ["", "# setup", *setup_lines]
    worker = " ".join(shlex.quote(w) for w in (*command, "work", project_path))
    # the worker's memory budget (claims only jobs expected to fit) is the allocation's
    budget = ("--mem-gb", f"{float(mem_gb):g}") if mem_gb is not None else ()
    extra = "".join(" " + shlex.quote(a) for a in (*budget, *worker_args))
    lines += [
        "",
        "# exec: the worker becomes the job's process, so SIGUSR2 (-notify) and qdel reach it.",
        f'exec {worker} --name "sge-$JOB_ID.$SGE_TASK_ID"{extra} "${{benchgrid_until[@]}}"',
    ]
    return SgeArray(qsub_args=tuple(args), script="\n".join(lines) + "\n", n_tasks=n_workers)


# -- checks -------------------------------------------------------------------


def _check_int(value: object, name: str, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InputError(f"{name} must be an integer >= {minimum}, got {value!r}")


def _check_text(value: object, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{name} must be a non-empty string, got {value!r}")
    if any(c in value for c in "\n\r\0"):
        raise InputError(f"{name} must be one line (no newline or NUL), got {value!r}")
    return value.strip()


def _check_name(value: object, name: str = "job_name") -> str:
    """Grid Engine names (jobs, queues, resources) must not hold blanks or / : @ \\ * ?"""
    text = _check_text(value, name)
    bad = sorted({c for c in text if c.isspace() or c in "/:@\\*?"})
    if bad:
        raise InputError(f"{name} must not contain {''.join(bad)!r} (Grid Engine refuses them), got {value!r}")
    return text


def _check_path(value: object, name: str) -> str:
    if not isinstance(value, (str, os.PathLike)):
        raise InputError(f"{name} must be a path, got {value!r}")
    text = os.fspath(value)
    if not isinstance(text, str) or not os.path.isabs(text):
        raise InputError(f"{name} must be an absolute path (execution hosts start elsewhere), got {text!r}")
    return _check_text(text, name)


def _check_words(value: object, name: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise InputError(f"{name} must be a sequence of strings, got {value!r}")
    for item in value:
        if not isinstance(item, str) or "\0" in item:
            raise InputError(f"{name} must be a sequence of strings, got the item {item!r}")
    return tuple(value)


def _check_qsub_args(value: object) -> list[str]:
    args = list(_check_words(value, "qsub_args"))
    for arg in args:
        if arg in _RESERVED_QSUB:
            raise InputError(
                f"qsub_args must not set {arg} (benchgrid sets the array, logs, shell and warning signal "
                f"itself; use n_workers, max_parallel, warning_s), got {args!r}"
            )
    return args


def _check_setup(value: object) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, Sequence) or not all(isinstance(s, str) for s in items):
        raise InputError(f"setup must be a string or a list of strings (shell lines), got {value!r}")
    lines: list[str] = []
    for item in items:
        if "\0" in item:
            raise InputError(f"setup lines must not contain NUL, got {item!r}")
        lines += item.splitlines()
    return lines


def _format_mem(mem_gb: object) -> str:
    if isinstance(mem_gb, bool) or not isinstance(mem_gb, (int, float)) or not math.isfinite(mem_gb) or mem_gb <= 0:
        raise InputError(f"mem_gb must be a number > 0, got {mem_gb!r}")
    if float(mem_gb).is_integer():
        return f"{int(mem_gb)}G"
    return f"{math.ceil(mem_gb * 1024)}M"
