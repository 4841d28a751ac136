"""The text of a SLURM batch script that runs benchgrid workers as a job array.

Pure functions only: no subprocess, no file system, no clock. The backend
(:mod:`benchgrid.backends.slurm._backend`) writes the text to the project and runs
``sbatch``; tests compare the text with a saved golden file. Grid Engine's
is :mod:`benchgrid.backends.sge._script`, of the same shape.

Every value that comes from the user is quoted with :func:`shlex.quote`, in
``#SBATCH`` lines too (sbatch reads those with shell-like quoting), so a project
path or a name like ``x; rm -rf ~`` reaches the worker as text. The only
verbatim shell code is ``setup``, which is shell code by intent.

Walltime: the script asks SLURM for ``USR1`` ``warning_s`` seconds before the
time limit (``--signal=B:USR1@warning_s``; ``B:`` sends it to the batch shell,
which ``exec`` has turned into the worker) and passes the worker
``--until <end of allocation - warning_s>`` (Unix epoch seconds), so the worker
does not claim a job expected to end after the warning. The end of the
allocation comes from ``squeue -o %e`` inside the job (it reflects a limit
changed with ``scontrol``), falling back to the script's start plus ``time``.
"""

from __future__ import annotations

import math
import os
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from ..._errors import InputError

__all__ = [
    "DEFAULT_MAX_ARRAY_SIZE",
    "ArrayChunk",
    "parse_slurm_time",
    "slurm_array_script",
    "slurm_array_scripts",
    "split_array",
]

#: SLURM's default ``MaxArraySize``: array indices run from 0 to 1000.
DEFAULT_MAX_ARRAY_SIZE = 1001

_TIME_FORMS = "minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS"
_TIME_RE = re.compile(
    r"""^(?:
        (?P<d>\d+)-(?P<dh>\d+)(?::(?P<dm>\d+)(?::(?P<ds>\d+))?)?   # D-HH[:MM[:SS]]
      | (?P<h>\d+):(?P<hm>\d+):(?P<hs>\d+)                          # HH:MM:SS
      | (?P<m>\d+)(?::(?P<ms>\d+))?                                 # minutes[:SS]
    )$""",
    re.VERBOSE,
)
# Options the script sets itself; passing them again would break the array or the walltime logic.
_RESERVED_SBATCH = ("-a", "--array", "--wrap", "--signal", "-o", "--output", "-e", "--error")
_DEFAULT_WARNING_S = 60


def parse_slurm_time(value: str, *, name: str = "time") -> int:
    """Seconds in a SLURM time limit string.

    Accepts the forms sbatch documents: ``minutes``, ``MM:SS``, ``HH:MM:SS``,
    ``D-HH``, ``D-HH:MM`` and ``D-HH:MM:SS``. Like SLURM, fields after the first
    may overflow (``90:00`` is 90 minutes, ``1:75:00`` is 2 h 15 min). A limit
    of zero (SLURM's "no limit") is refused: leave the time out to get the
    partition's default instead.

    Parameters
    ----------
    value : str
        The time limit, as given to ``sbatch --time``.
    name : str, default="time"
        The parameter's name, used in the error message.

    Returns
    -------
    int
        The limit in seconds. SLURM enforces whole minutes, rounding up.

    Raises
    ------
    InputError
        If ``value`` is not one of the accepted forms or is zero.

    Examples
    --------
    >>> parse_slurm_time("2:00:00")
    7200
    >>> parse_slurm_time("1-12")
    129600
    >>> parse_slurm_time("90")
    5400
    >>> parse_slurm_time("1 hour")
    Traceback (most recent call last):
    ...
    benchgrid._errors.InputError: time must be a SLURM time limit (minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS), got '1 hour'
    """
    match = _TIME_RE.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise InputError(f"{name} must be a SLURM time limit ({_TIME_FORMS}), got {value!r}")
    g = {k: int(v) for k, v in match.groupdict().items() if v is not None}
    if "d" in g:
        seconds = g["d"] * 86400 + g["dh"] * 3600 + g.get("dm", 0) * 60 + g.get("ds", 0)
    elif "h" in g:
        seconds = g["h"] * 3600 + g["hm"] * 60 + g["hs"]
    else:
        seconds = g["m"] * 60 + g.get("ms", 0)
    if seconds == 0:
        raise InputError(
            f"{name} must be more than zero ({_TIME_FORMS}; SLURM reads 0 as 'no limit', "
            f"leave {name} out to get the partition's default), got {value!r}"
        )
    return seconds


@dataclass(frozen=True)
class ArrayChunk:
    """One job array of a submission: ``n_tasks`` workers, indices ``0..n_tasks-1``.

    ``max_parallel`` is this array's ``%`` throttle (None: no throttle).
    """

    n_tasks: int
    max_parallel: int | None = None


def split_array(
    n_workers: int,
    *,
    max_array_size: int = DEFAULT_MAX_ARRAY_SIZE,
    max_parallel: int | None = None,
) -> list[ArrayChunk]:
    """Split ``n_workers`` into job arrays that fit the cluster's ``MaxArraySize``.

    Arrays are filled in order (all but the last hold ``max_array_size`` tasks).
    A throttle ``max_parallel`` is shared among the arrays in proportion to
    their sizes, at least 1 each, so the total running at once stays at
    ``max_parallel`` unless it is smaller than the number of arrays.

    Parameters
    ----------
    n_workers : int
        Workers to submit, at least 1.
    max_array_size : int, default=1001
        The cluster's ``MaxArraySize`` (``scontrol show config``); an array's
        indices must be below it.
    max_parallel : int or None, default=None
        At most this many workers run at once (sbatch ``--array=...%P``).

    Returns
    -------
    list of ArrayChunk

    Examples
    --------
    >>> split_array(2500, max_array_size=1001)
    [ArrayChunk(n_tasks=1001, max_parallel=None), ArrayChunk(n_tasks=1001, max_parallel=None), ArrayChunk(n_tasks=498, max_parallel=None)]
    >>> split_array(3, max_parallel=2)
    [ArrayChunk(n_tasks=3, max_parallel=2)]
    """
    _check_int(n_workers, "n_workers", minimum=1)
    _check_int(max_array_size, "max_array_size", minimum=1)
    if max_parallel is not None:
        _check_int(max_parallel, "max_parallel", minimum=1)
    sizes = [max_array_size] * (n_workers // max_array_size)
    if n_workers % max_array_size:
        sizes.append(n_workers % max_array_size)
    if max_parallel is None:
        return [ArrayChunk(n) for n in sizes]
    # Largest-remainder apportionment of the throttle, so the shares sum to max_parallel.
    exact = [max_parallel * n / n_workers for n in sizes]
    shares = [math.floor(x) for x in exact]
    by_remainder = sorted(range(len(sizes)), key=lambda i: exact[i] - shares[i], reverse=True)
    for i in by_remainder[: max_parallel - sum(shares)]:
        shares[i] += 1
    return [ArrayChunk(n, max(1, min(p, n))) for n, p in zip(sizes, shares)]


def slurm_array_script(
    project_dir: str | os.PathLike[str],
    *,
    n_workers: int,
    command: Sequence[str] = ("benchgrid",),
    log_dir: str | os.PathLike[str] | None = None,
    job_name: str = "benchgrid",
    time: str | None = None,
    mem_gb: float | None = None,
    cpus_per_worker: int = 1,
    partition: str | None = None,
    account: str | None = None,
    qos: str | None = None,
    gres: str | None = None,
    setup: str | Sequence[str] = (),
    max_parallel: int | None = None,
    sbatch_args: Sequence[str] = (),
    warning_s: int | None = None,
    worker_args: Sequence[str] = (),
) -> str:
    """Batch script for one job array of ``n_workers`` benchgrid workers.

    Each array task runs ``exec <command> work <project_dir> --name
    slurm-<array job id>_<task id> [--until <epoch s>] <worker_args>``.

    Parameters
    ----------
    project_dir : str or path-like
        Absolute path of the project directory (on a shared file system).
    n_workers : int
        Array tasks (workers) in this array, 1 to the cluster's MaxArraySize;
        use :func:`slurm_array_scripts` to split larger submissions.
    command : sequence of str, default=("benchgrid",)
        How to start benchgrid on a compute node, e.g.
        ``(sys.executable, "-m", "benchgrid.cli.main")``.
    log_dir : str or path-like, optional
        Folder for the workers' logs (``worker-<array id>_<task id>.out``);
        default ``<project_dir>/slurm/logs``. It must exist before the job
        starts: SLURM does not create it.
    job_name : str, default="benchgrid"
        The SLURM job name shown by squeue.
    time : str, optional
        Time limit per worker, a SLURM time string (see
        :func:`parse_slurm_time`); default: the partition's.
    mem_gb : float, optional
        Memory per worker in GB (``--mem``); default: the partition's.
    cpus_per_worker : int, default=1
        CPUs per worker (``--cpus-per-task``).
    partition, account, qos, gres : str, optional
        Passed to sbatch as ``--partition``, ``--account``, ``--qos``, ``--gres``.
    setup : str or sequence of str, default=()
        Shell lines run before the worker starts (``module load ...``,
        ``source venv/bin/activate``); the one place where shell code is wanted.
    max_parallel : int, optional
        At most this many of the array's workers run at once (``%P``).
    sbatch_args : sequence of str, default=()
        More sbatch options, one per item, e.g. ``"--constraint=cascade"``.
    warning_s : int, optional
        Seconds before the time limit at which SLURM sends the worker USR1;
        default ``min(60, limit / 4)``, or 60 without ``time``.
    worker_args : sequence of str, default=()
        More arguments for ``benchgrid work``, e.g. ``("--max-jobs", "100")``.

    Returns
    -------
    str
        The script, ending in a newline.

    Raises
    ------
    InputError
        If a value breaks a rule; the message names the parameter and the value.

    Examples
    --------
    >>> text = slurm_array_script("/scratch/x; rm -rf ~", n_workers=4, time="1:00:00")
    >>> print(text.splitlines()[-1])
    exec benchgrid work '/scratch/x; rm -rf ~' --name "slurm-${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}" "${benchgrid_until[@]}"
    >>> "#SBATCH --signal=B:USR1@60" in text
    True
    """
    project = _check_path(project_dir, "project_dir")
    logs = _check_path(log_dir, "log_dir") if log_dir is not None else project.rstrip("/") + "/slurm/logs"
    if "\\" in logs:
        raise InputError(
            f"log_dir must not contain a backslash (SLURM then ignores %A/%a in log file names), got {logs!r}"
        )
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
        # SLURM enforces whole minutes, rounding up.
        limit_s = math.ceil(parse_slurm_time(time) / 60) * 60
    if warning_s is None:
        warning_s = _DEFAULT_WARNING_S if limit_s is None else min(_DEFAULT_WARNING_S, limit_s // 4)
    else:
        _check_int(warning_s, "warning_s", minimum=1)
        if limit_s is not None and warning_s >= limit_s:
            raise InputError(
                f"warning_s must be shorter than the time limit ({limit_s} s), got {warning_s!r}"
            )

    directives = [
        ("--job-name", _check_text(job_name, "job_name")),
        ("--array", f"0-{n_workers - 1}" + (f"%{max_parallel}" if max_parallel else "")),
        ("--output", logs.rstrip("/").replace("%", "%%") + "/worker-%A_%a.out"),
        ("--open-mode", "append"),  # a requeued worker keeps its earlier log
        ("--nodes", "1"),
        ("--ntasks", "1"),
        ("--cpus-per-task", str(cpus_per_worker)),
    ]
    if time is not None:
        directives.append(("--time", time.strip()))
    directives.append(("--signal", f"B:USR1@{warning_s}"))
    if mem_gb is not None:
        directives.append(("--mem", _format_mem(mem_gb)))
    for key, value in (("partition", partition), ("account", account), ("qos", qos), ("gres", gres)):
        if value is not None:
            directives.append((f"--{key}", _check_text(value, key)))

    lines = [
        "#!/bin/bash",
        "# benchgrid workers as one SLURM job array: each array task is one worker.",
        "# Written by benchgrid; submit it again by hand with: sbatch <this file>",
    ]
    lines += [f"#SBATCH {opt}={shlex.quote(value)}" for opt, value in directives]
    lines += [f"#SBATCH {shlex.quote(arg)}" for arg in _check_sbatch_args(sbatch_args)]
    lines += [
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
        + ("" if limit_s is None else f"$((benchgrid_start_s + {limit_s}))")
        + " ;;",
        "esac",
        "# Claim only jobs expected to end before SLURM's warning signal.",
        "benchgrid_until=()",
        'if [ -n "$benchgrid_end_s" ]; then',
        f'    benchgrid_until=(--until "$((benchgrid_end_s - {warning_s}))")',
        "fi",
    ]
    lines += [
        'export BENCHGRID_SCHEDULER_JOB_ID="${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}"',
        # this task's log (the --output above): where SLURM says it killed the job for memory
        "export BENCHGRID_SCHEDULER_LOG="
        + shlex.quote(logs.rstrip("/") + "/worker-")
        + '"${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}.out"',
    ]
    setup_lines = _check_setup(setup)
    if setup_lines:
        lines += ["", "# setup", *setup_lines]
    worker = " ".join(shlex.quote(w) for w in (*command, "work", project))
    # the worker's memory budget (claims only jobs expected to fit) is the allocation's
    budget = ("--mem-gb", f"{float(mem_gb):g}") if mem_gb is not None else ()
    extra = "".join(" " + shlex.quote(a) for a in (*budget, *worker_args))
    lines += [
        "",
        "# exec: the worker becomes the batch shell, so SLURM's B:USR1 warning and SIGTERM reach it.",
        f'exec {worker} --name "slurm-${{SLURM_ARRAY_JOB_ID}}_${{SLURM_ARRAY_TASK_ID}}"'
        f'{extra} "${{benchgrid_until[@]}}"',
    ]
    return "\n".join(lines) + "\n"


def slurm_array_scripts(
    project_dir: str | os.PathLike[str],
    *,
    n_workers: int,
    max_array_size: int = DEFAULT_MAX_ARRAY_SIZE,
    max_parallel: int | None = None,
    **options: object,
) -> list[str]:
    """Scripts for ``n_workers`` workers, one per job array of :func:`split_array`.

    Parameters
    ----------
    project_dir : str or path-like
        Absolute path of the project directory.
    n_workers : int
        Workers in total.
    max_array_size : int, default=1001
        The cluster's MaxArraySize.
    max_parallel : int, optional
        At most this many workers at once, shared among the arrays.
    **options
        Any other keyword of :func:`slurm_array_script`.

    Returns
    -------
    list of str

    Examples
    --------
    >>> scripts = slurm_array_scripts("/p", n_workers=1500, max_parallel=300)
    >>> [s.split("--array=")[1].split()[0] for s in scripts]
    ['0-1000%200', '0-498%100']
    """
    return [
        slurm_array_script(project_dir, n_workers=c.n_tasks, max_parallel=c.max_parallel, **options)  # type: ignore[arg-type]
        for c in split_array(n_workers, max_array_size=max_array_size, max_parallel=max_parallel)
    ]


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


def _check_path(value: object, name: str) -> str:
    if not isinstance(value, (str, os.PathLike)):
        raise InputError(f"{name} must be a path, got {value!r}")
    text = os.fspath(value)
    if not isinstance(text, str) or not os.path.isabs(text):
        raise InputError(f"{name} must be an absolute path (compute nodes start elsewhere), got {text!r}")
    return _check_text(text, name)


def _check_words(value: object, name: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise InputError(f"{name} must be a sequence of strings, got {value!r}")
    for item in value:
        if not isinstance(item, str) or "\0" in item:
            raise InputError(f"{name} must be a sequence of strings, got the item {item!r}")
    return tuple(value)


def _check_sbatch_args(value: object) -> tuple[str, ...]:
    args = _check_words(value, "sbatch_args")
    for arg in args:
        _check_text(arg, "sbatch_args")
        if not arg.startswith("-"):
            raise InputError(f"sbatch_args items must be sbatch options starting with '-', got {arg!r}")
        option = arg.split("=", 1)[0]
        if option in _RESERVED_SBATCH or (option[:2] in ("-a", "-o", "-e") and len(option) > 2 and option[1] != "-"):
            raise InputError(
                f"sbatch_args must not set {option} (benchgrid sets the array, logs and warning signal "
                f"itself; use n_workers, max_parallel, log_dir, warning_s), got {arg!r}"
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
