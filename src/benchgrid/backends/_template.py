"""The array script every scheduler runs, less the lines that are the scheduler's own.

Pure functions only: no subprocess, no file system, no clock. A scheduler's
``_script.py`` checks the shared options with :func:`script_spec`, writes its
header (directives, the end-of-allocation lookup) and hands it to
:func:`array_script`, which adds what every worker needs: the setup lines and
``exec <command> work <project> --name <scheduler>-<task> ... --restart-crashed "${benchgrid_until[@]}"``.

Every value that comes from the user is quoted with :func:`shlex.quote`, so a
project path or a name like ``x; rm -rf ~`` reaches the worker as text. The
only verbatim shell code is ``setup``, which is shell code by intent.

The walltime contract (see :mod:`benchgrid.backends._backend`): the header
sets the bash array ``benchgrid_until`` to ``(--until <end of allocation -
warning_s>)``, or leaves it empty when the end is unknown; the worker then
claims no job expected to end after the warning signal.
"""

from __future__ import annotations

import math
import os
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .._errors import InputError
from ._script_checks import check_int, check_path, check_setup, check_words, format_mem, parse_time

__all__ = ["ArrayChunk", "ArrayJob", "ScriptSpec", "array_script", "check_resources", "export_task", "scheduler_resource",
           "script_spec", "split_array",
           "worker_limit_s"]

_DEFAULT_WARNING_S = 60


@dataclass(frozen=True)
class ArrayJob:
    """One array a scheduler is asked to run: ``<submit> *submit_args <script file>``.

    Attributes
    ----------
    script : str
        The job script.
    n_tasks : int
        Array tasks (workers): the size, as data, never parsed back from the script.
    submit_args : tuple of str
        Options for the submit command, one word each (Grid Engine's go on
        qsub's command line; SLURM's are ``#SBATCH`` lines in the script).
    """

    script: str
    n_tasks: int
    submit_args: tuple[str, ...] = ()


@dataclass(frozen=True)
class ScriptSpec:
    """The options every scheduler's script shares, checked (see :func:`script_spec`)."""

    project: str
    logs: str
    n_workers: int
    command: tuple[str, ...]
    worker_args: tuple[str, ...]
    setup: tuple[str, ...]
    limit_s: int | None
    warning_s: int
    mem_gb: float | None
    cpus_per_worker: int
    max_parallel: int | None
    resources: tuple[tuple[str, int], ...] = ()  # issue 21: what each worker is given, e.g. (("gpus", 1),)


def script_spec(
    project_dir: str | os.PathLike[str],
    *,
    scheduler: str,
    n_workers: int,
    command: Sequence[str] = ("benchgrid",),
    log_dir: str | os.PathLike[str] | None = None,
    time: str | None = None,
    mem_gb: float | None = None,
    cpus_per_worker: int = 1,
    setup: str | Sequence[str] = (),
    max_parallel: int | None = None,
    warning_s: int | None = None,
    worker_args: Sequence[str] = (),
    limit_step_s: int = 1,
    hosts: str = "compute nodes",
    resources: Mapping[str, int] | None = None,
) -> ScriptSpec:
    """Check the options every array script shares; the scheduler checks its own.

    Parameters
    ----------
    project_dir : str or path-like
        Absolute path of the project directory (on a shared file system).
    scheduler : str
        The backend's name: the default log folder is ``<project_dir>/<scheduler>/logs``.
    n_workers : int
        Array tasks (workers) in this array, at least 1.
    command : sequence of str, default=("benchgrid",)
        How to start benchgrid on a node, e.g. ``(sys.executable, "-m", "benchgrid")``.
    log_dir : str or path-like, optional
        Folder for the workers' logs; it must exist when a task starts.
    time : str, optional
        Time limit per worker, in the forms of
        :func:`~benchgrid.backends._script_checks.parse_time` (``"90"`` is 90
        minutes, ``"2:00:00"`` two hours); default: the queue's.
    mem_gb : float, optional
        Memory per worker in GB; also the worker's budget (``--mem-gb``).
    cpus_per_worker : int, default=1
        CPUs (slots) per worker.
    setup : str or sequence of str, default=()
        Shell lines run before the worker starts (``module load ...``,
        ``source venv/bin/activate``); the one place where shell code is wanted.
    max_parallel : int, optional
        At most this many of the array's workers run at once.
    warning_s : int, optional
        Seconds before the time limit after which the worker starts no new job
        (and, on SLURM, gets USR1); default ``min(60, limit / 4)``, or 60 without ``time``.
    worker_args : sequence of str, default=()
        More arguments for ``benchgrid work``, e.g. ``("--max-jobs", "100")``.
    limit_step_s : int, default=1
        The scheduler enforces limits in these steps, rounding up (SLURM: 60).
    hosts : str, default="compute nodes"
        What the scheduler's hosts are called, in the message for a relative path.
    resources : mapping of str to int, optional
        Resources each worker is given, such as ``{"gpus": 1}``: the scheduler
        requests them (:func:`scheduler_resource` names them) and the worker
        claims the jobs that need them (``--resource gpus=1``).

    Examples
    --------
    >>> spec = script_spec("/p", scheduler="slurm", n_workers=2, time="10", limit_step_s=60)
    >>> spec.logs, spec.limit_s, spec.warning_s
    ('/p/slurm/logs', 600, 60)
    """
    project = check_path(project_dir, "project_dir", hosts=hosts)
    if log_dir is None:
        logs = project.rstrip("/") + f"/{scheduler}/logs"
    else:
        logs = check_path(log_dir, "log_dir", hosts=hosts)
    check_int(n_workers, "n_workers", minimum=1)
    check_int(cpus_per_worker, "cpus_per_worker", minimum=1)
    if max_parallel is not None:
        check_int(max_parallel, "max_parallel", minimum=1)
    command = check_words(command, "command")
    if not command:
        raise InputError("command must name the program that starts benchgrid, got an empty sequence")
    worker_args = check_words(worker_args, "worker_args")
    limit_s = None if time is None else math.ceil(parse_time(time) / limit_step_s) * limit_step_s
    if warning_s is None:
        warning_s = _DEFAULT_WARNING_S if limit_s is None else min(_DEFAULT_WARNING_S, limit_s // 4)
    else:
        check_int(warning_s, "warning_s", minimum=1)
        if limit_s is not None and warning_s >= limit_s:
            raise InputError(f"warning_s must be shorter than the time limit ({limit_s} s), got {warning_s!r}")
    if mem_gb is not None:
        format_mem(mem_gb)
    return ScriptSpec(project, logs, n_workers, tuple(command), tuple(worker_args), tuple(check_setup(setup)),
                      limit_s, warning_s, mem_gb, cpus_per_worker, max_parallel, check_resources(resources))


def worker_limit_s(time: str | None, warning_s: int | None = None) -> float | None:
    """Seconds a worker of this ``time`` limit computes: the limit less the warning (None: unknown).

    >>> worker_limit_s("0:03:00"), worker_limit_s("2:00:00", 300), worker_limit_s(None)
    (135.0, 6900.0, None)
    """
    if time is None:
        return None
    limit = parse_time(time)
    warning = warning_s if warning_s is not None else min(_DEFAULT_WARNING_S, limit // 4)
    return float(limit - warning)


def check_resources(resources: Mapping[str, int] | None) -> tuple[tuple[str, int], ...]:
    """Resource counts as sorted ``(name, count)`` pairs; a bad one is an :class:`InputError`.

    Examples
    --------
    >>> check_resources({"gpus": 1}), check_resources(None)
    ((('gpus', 1),), ())
    >>> check_resources({"gpus": -1})
    Traceback (most recent call last):
    ...
    benchgrid._errors.InputError: resources must map resource names (letters, digits, _) to counts >= 1, such as {'gpus': 1}, got {'gpus': -1}
    """
    if not resources:
        return ()
    if not isinstance(resources, Mapping) or not all(
        isinstance(k, str) and re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", k)
        and isinstance(v, int) and not isinstance(v, bool) and v >= 1 for k, v in resources.items()
    ):
        raise InputError("resources must map resource names (letters, digits, _) to counts >= 1, such as "
                         f"{{'gpus': 1}}, got {resources!r}")
    return tuple(sorted((str(k), int(v)) for k, v in resources.items()))


def scheduler_resource(name: str) -> str:
    """The scheduler's name of a benchgrid resource: ``gpus`` is ``gpu`` (``--gres=gpu:1``, ``-l gpu=1``), others as named.

    >>> scheduler_resource("gpus"), scheduler_resource("fpga")
    ('gpu', 'fpga')
    """
    return "gpu" if name == "gpus" else name


def export_task(task: str) -> str:
    """The line that tells the worker its scheduler id (recorded in its lease), e.g. ``$JOB_ID.$SGE_TASK_ID``."""
    return f'export BENCHGRID_SCHEDULER_JOB_ID="{task}"'


def array_script(spec: ScriptSpec, head: Sequence[str], *, name: str, exec_comment: str) -> str:
    """``#!/bin/bash``, the scheduler's ``head`` lines, the setup, then ``exec`` the worker named ``name``.

    ``head`` must set ``benchgrid_until`` (see the module docstring);
    ``name`` is shell text inside double quotes (``sge-$JOB_ID.$SGE_TASK_ID``).

    Examples
    --------
    >>> spec = script_spec("/p", scheduler="x", n_workers=1, mem_gb=2)
    >>> print(array_script(spec, ["benchgrid_until=()"], name="x-$TASK", exec_comment="# exec"))
    #!/bin/bash
    benchgrid_until=()
    <BLANKLINE>
    # exec
    exec benchgrid work /p --name "x-$TASK" --mem-gb 2 --restart-crashed "${benchgrid_until[@]}"
    <BLANKLINE>
    """
    lines = ["#!/bin/bash", *head]
    worker = " ".join(shlex.quote(w) for w in (*spec.command, "work", spec.project))
    # the worker's memory budget (claims only jobs expected to fit) is the allocation's
    budget = ("--mem-gb", f"{float(spec.mem_gb):g}") if spec.mem_gb is not None else ()
    given = tuple(w for name, count in spec.resources for w in ("--resource", f"{name}={count}"))
    extra = "".join(" " + shlex.quote(a) for a in (*budget, *given, *spec.worker_args))
    if spec.setup and "--pool" in spec.worker_args:
        lines += ["", "# a pool's allocation whose setup ends this script before the worker starts still decides",
                  "# its successors (two generations of those stop the chain, quoting this log): issue 21",
                  f'benchgrid_setup_ended() {{ exec {worker} --name "{name}"{extra} --setup-failed "$?"; }}',
                  "trap benchgrid_setup_ended EXIT"]
    if spec.setup:
        lines += ["", "# setup", *spec.setup]
    # --restart-crashed: a worker a job killed (or its memory guard stopped) is followed by a new one while the
    # allocation has time; the signals sent to this shell reach the worker that runs (issue 21)
    lines += ["", exec_comment, f'exec {worker} --name "{name}"{extra} --restart-crashed "${{benchgrid_until[@]}}"']
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class ArrayChunk:
    """One job array of a submission: ``n_tasks`` workers, indices ``0..n_tasks-1``.

    ``max_parallel`` is this array's throttle (None: no throttle).
    """

    n_tasks: int
    max_parallel: int | None = None


def split_array(n_workers: int, *, max_array_size: int = 1001, max_parallel: int | None = None) -> list[ArrayChunk]:
    """Split ``n_workers`` into job arrays that fit the cluster's largest array.

    Arrays are filled in order (all but the last hold ``max_array_size`` tasks).
    A throttle ``max_parallel`` is shared among the arrays in proportion to
    their sizes, at least 1 each, so the total running at once stays at
    ``max_parallel`` unless it is smaller than the number of arrays.

    Parameters
    ----------
    n_workers : int
        Workers to submit, at least 1.
    max_array_size : int, default=1001
        The cluster's largest array (SLURM's ``MaxArraySize``: indices below it).
    max_parallel : int or None, default=None
        At most this many workers run at once.

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
    check_int(n_workers, "n_workers", minimum=1)
    check_int(max_array_size, "max_array_size", minimum=1)
    if max_parallel is not None:
        check_int(max_parallel, "max_parallel", minimum=1)
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
