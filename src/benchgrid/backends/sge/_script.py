"""The qsub words and job script of one Grid Engine array job (pure; the template adds setup and ``exec``).

qsub's options are words on its command line (no shell, no ``#$`` lines), so a path with spaces, quotes
or ``;`` reaches qsub intact; the script opens its own log (``exec >>"$log"``), as ``-o``'s
``host:path,path`` cannot carry a colon or a comma. ``h_rt`` with ``-notify``: SIGUSR2 at ``h_rt``,
SIGKILL the queue's ``notify`` time later. A task's start is read from ``qstat -j $JOB_ID -xml``.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Sequence
from typing import Any

from ..._errors import InputError
from .._script_checks import check_path, check_text, check_words, format_mem
from .._template import ArrayJob, array_script, export_task, scheduler_resource, script_spec

__all__ = ["SgeArray", "sge_array"]

#: What :func:`sge_array` returns: run ``qsub *submit_args <script file>``.
SgeArray = ArrayJob
# Options the backend sets itself; passing them again would break the array, the logs or the walltime logic.
_RESERVED_QSUB = ("-t", "-tc", "-o", "-e", "-j", "-notify", "-S", "-b", "-terse", "-sync", "-cwd", "-wd")
_TASK = "$JOB_ID.$SGE_TASK_ID"


def sge_array(
    project_dir: str | os.PathLike[str],
    *,
    n_workers: int,
    work_dir: str | os.PathLike[str],
    job_name: str = "benchgrid",
    mem_resource: str = "mem_free",
    pe: str | None = None, queue: str | None = None, project: str | None = None,
    qsub_args: Sequence[str] = (),
    **options: Any,
) -> ArrayJob:
    """qsub options and script for one array job of ``n_workers`` workers, named ``sge-<job id>.<task id>``.

    Parameters
    ----------
    project_dir, n_workers, **options
        As in :func:`benchgrid.backends._template.script_spec` (``cpus_per_worker`` > 1 needs ``pe``).
    work_dir : str or path-like
        Absolute folder the tasks start in (``-wd``), e.g. where qsub ran.
    job_name : str, default="benchgrid"
    mem_resource : str, default="mem_free"
        The resource that carries ``mem_gb`` at your site (``h_vmem``, ``m_mem_free``...);
        ``mem_free`` is known to every Grid Engine and only steers scheduling.
    pe, queue, project : str, optional
        ``-pe <pe> <cpus_per_worker>``, ``-q``, ``-P``.
    qsub_args : sequence of str, default=()
        More qsub options, one word each, e.g. ``("-l", "arch=lx-amd64")``.

    Examples
    --------
    >>> job = sge_array("/scratch/x; rm -rf ~", n_workers=4, work_dir="/tmp", time="1:00:00")
    >>> job.submit_args[:6]
    ('-N', 'benchgrid', '-t', '1-4', '-o', '/dev/null')
    >>> print(job.script.splitlines()[-1])
    exec benchgrid work '/scratch/x; rm -rf ~' --name "sge-$JOB_ID.$SGE_TASK_ID" --restart-crashed "${benchgrid_until[@]}"
    """
    spec = script_spec(project_dir, scheduler="sge", n_workers=n_workers, hosts="execution hosts", **options)
    cwd = check_path(work_dir, "work_dir", hosts="execution hosts")
    args: list[str] = ["-N", _check_name(job_name), "-t", f"1-{n_workers}"]
    if spec.max_parallel is not None:
        args += ["-tc", str(spec.max_parallel)]
    # the script opens its own log (see the module docstring); SGE writes nothing
    args += ["-o", "/dev/null", "-j", "y", "-S", "/bin/bash", "-notify", "-wd", cwd, "-V"]
    if spec.limit_s is not None:
        args += ["-l", f"h_rt={spec.limit_s}"]
    if spec.mem_gb is not None:
        args += ["-l", f"{_check_name(mem_resource, 'mem_resource')}={format_mem(spec.mem_gb)}"]
    for name, count in spec.resources:  # issue 21: the worker's resources (a GPU pool), as requestable complexes
        args += ["-l", f"{_check_name(scheduler_resource(name), 'resources')}={count}"]
    if spec.cpus_per_worker > 1:
        if pe is None:
            raise InputError(
                f"cpus_per_worker > 1 needs a parallel environment: set pe (e.g. pe = \"smp\"; "
                f"qconf -spl lists them), got cpus_per_worker={spec.cpus_per_worker!r} and no pe"
            )
        args += ["-pe", _check_name(pe, "pe"), str(spec.cpus_per_worker)]
    for flag, value, key in (("-q", queue, "queue"), ("-P", project, "project")):
        if value is not None:
            args += [flag, _check_name(value, key)]
    args += _check_qsub_args(qsub_args)
    head = [
        "# benchgrid workers as one Grid Engine array job: each task is one worker.",
        "# Written by benchgrid; submit it again by hand with:",
        "#   qsub " + " ".join(shlex.quote(a) for a in args) + " <this file>",
        "",
        "# The log, opened here: qsub -o cannot carry every path.",
        f"benchgrid_log_dir={shlex.quote(spec.logs)}",
        f'exec >>"$benchgrid_log_dir/worker-{_TASK}.out" 2>&1',
        export_task(_TASK),
        # this task's log: a pool that stops for a storm quotes its last lines
        f'export BENCHGRID_SCHEDULER_LOG="$benchgrid_log_dir/worker-{_TASK}.out"',
        "",
        "benchgrid_until=()",
    ]
    if spec.limit_s is not None:
        head += [
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
            f'benchgrid_until=(--until "$((benchgrid_start_s + {spec.limit_s} - {spec.warning_s}))")',
        ]
    script = array_script(spec, head, name=f"sge-{_TASK}", exec_comment=(
        "# exec: the worker becomes the job's process, so SIGUSR2 (-notify) and qdel reach it."))
    return ArrayJob(script, n_workers, tuple(args))


def _check_name(value: object, name: str = "job_name") -> str:
    """Grid Engine names (jobs, queues, resources) must not hold blanks or / : @ \\ * ?"""
    text = check_text(value, name)
    bad = sorted({c for c in text if c.isspace() or c in "/:@\\*?"})
    if bad:
        raise InputError(f"{name} must not contain {''.join(bad)!r} (Grid Engine refuses them), got {value!r}")
    return text


def _check_qsub_args(value: object) -> list[str]:
    args = list(check_words(value, "qsub_args"))
    for arg in args:
        if arg in _RESERVED_QSUB:
            raise InputError(
                f"qsub_args must not set {arg} (benchgrid sets the array, logs, shell and warning signal "
                f"itself; use n_workers, max_parallel, warning_s), got {args!r}"
            )
    return args
