"""SLURM backend: submit W workers as job arrays, cancel them, list their states.

The script text comes from the pure :mod:`._script`; this module adds
the side effects: it reads the ``[slurm]`` configuration, asks the cluster for its
``MaxArraySize``, writes the script into ``<project>/slurm/``, runs ``sbatch``
through one thin wrapper (:func:`_run`) and records job ids in
``<project>/slurm/jobs.jsonl``. ``cancel`` and ``slurm_workers`` look only at
the ids recorded there, so they never touch another project's jobs.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Sequence

from ..._errors import InputError
from .._backend import Backend, Launch, WorkerRow, project_dir, time_stamp
from .._config import (
    _positive_int,
    _positive_number,
    _string,
    _string_list,
    _string_or_list,
    backend_settings,
)
from ._script import DEFAULT_MAX_ARRAY_SIZE, parse_slurm_time, slurm_array_script, split_array

__all__ = ["SlurmBackend", "Submission", "SlurmError", "cancel", "slurm_workers", "submit", "recorded_job_ids"]

SLURM_DIR = "slurm"
_ENDED = {"COMPLETED", "CANCELLED", "FAILED", "TIMEOUT", "NODE_FAIL", "PREEMPTED", "OUT_OF_MEMORY",
          "BOOT_FAIL", "DEADLINE", "REVOKED", "SPECIAL_EXIT"}


class SlurmError(InputError):
    """A SLURM command failed; the message holds the command's own words."""


#: What :func:`submit` returns (the generic :class:`~benchgrid.backends.Launch`).
Submission = Launch


def _run(cmd: Sequence[str], *, timeout_s: float = 60.0) -> subprocess.CompletedProcess[str]:
    """The one place that runs a SLURM command (never through a shell)."""
    try:
        return subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout_s, check=False)
    except FileNotFoundError:
        raise SlurmError(
            f"{cmd[0]} is not on PATH: run this on a SLURM login node "
            "(or start a local SLURM with scripts/slurm-local start)"
        ) from None
    except subprocess.TimeoutExpired:
        raise SlurmError(f"{cmd[0]} did not answer within {timeout_s:.0f} s: is slurmctld up?") from None


def max_array_size() -> int:
    """The cluster's ``MaxArraySize`` (``scontrol show config``), or SLURM's default 1001."""
    if shutil.which("scontrol") is None:
        return DEFAULT_MAX_ARRAY_SIZE
    try:
        out = _run(["scontrol", "show", "config"], timeout_s=30)
    except SlurmError:
        return DEFAULT_MAX_ARRAY_SIZE
    match = re.search(r"^MaxArraySize\s*=\s*(\d+)", out.stdout, re.MULTILINE)
    return int(match.group(1)) if match else DEFAULT_MAX_ARRAY_SIZE


def _check_bash_syntax(text: str, *, setup: bool = False) -> None:
    """A setup line with a stray quote would break the whole script: refuse it before sbatch.

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


def submit(
    project: Any,
    n_workers: int,
    *,
    dry_run: bool = False,
    time: str | None = None,
    mem_gb: float | None = None,
    cpus_per_worker: int | None = None,
    partition: str | None = None,
    account: str | None = None,
    qos: str | None = None,
    gres: str | None = None,
    setup: str | Sequence[str] | None = None,
    max_parallel: int | None = None,
    sbatch_args: Sequence[str] | None = None,
    warning_s: int | None = None,
    job_name: str | None = None,
    command: Sequence[str] | None = None,
    worker_args: Sequence[str] = (),
    trust_owner: bool = False,
) -> Submission:
    """Submit ``n_workers`` workers of ``project`` as SLURM job arrays.

    Options not given come from ``<project>/config.toml``, then the user's
    config file (see :mod:`benchgrid.backends._config`). Submitting again adds workers:
    they all pull from the same job table.

    Parameters
    ----------
    project : Project or path
    n_workers : int
        Workers to submit, at least 1.
    dry_run : bool, default=False
        Build and check the scripts, write and submit nothing.
    time, mem_gb, cpus_per_worker, partition, account, qos, gres, setup, max_parallel, sbatch_args
        As in :func:`benchgrid.backends.slurm._script.slurm_array_script`.
    warning_s : int, optional
        Seconds before the limit at which SLURM sends USR1.
    job_name : str, optional
        SLURM job name; default ``bg-<project folder name>``.
    command : sequence of str, optional
        How to start benchgrid on a node; default ``(sys.executable, "-m", "benchgrid")``.
    worker_args : sequence of str
        More arguments for ``benchgrid work``.
    trust_owner : bool, default=False
        Submit workers on a project owned by another user (they run its code as you).

    Returns
    -------
    Submission

    Raises
    ------
    InputError
        Bad options or config files, sbatch not on PATH, or sbatch refusing
        the job (its own message is included). Nothing is submitted then.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from benchgrid import Project
    >>> proj = Project.create(pathlib.Path(tempfile.mkdtemp()) / "p", [{"a": 1}], "math:factorial")
    >>> sub = submit(proj, 2, time="10", dry_run=True)
    >>> "#SBATCH --array=0-1" in sub.scripts[0], sub.job_ids
    (True, [])
    """
    root = _checked_project(project)
    from ...store import check_project

    check_project(root, trust_owner=trust_owner)  # before the workers run its code
    if trust_owner:
        worker_args = (*worker_args, "--trust-owner")
    overrides = dict(time=time, mem_gb=mem_gb, cpus_per_worker=cpus_per_worker, partition=partition,
                     account=account, qos=qos, gres=gres, setup=setup, max_parallel=max_parallel,
                     sbatch_args=None if sbatch_args is None else list(sbatch_args))
    settings = backend_settings("slurm", root, overrides)
    if not dry_run and shutil.which("sbatch") is None:
        raise SlurmError(
            "sbatch is not on PATH: run submit on a SLURM login node "
            "(or start a local SLURM with scripts/slurm-local start); nothing was submitted"
        )
    slurm_dir = root / SLURM_DIR
    options = dict(settings.values)
    chunks = split_array(n_workers, max_array_size=max_array_size(), max_parallel=options.pop("max_parallel", None))
    scripts = [
        slurm_array_script(
            str(root),
            n_workers=chunk.n_tasks,
            max_parallel=chunk.max_parallel,
            command=tuple(command) if command is not None else (sys.executable, "-m", "benchgrid"),
            log_dir=str(slurm_dir / "logs"),
            job_name=job_name or f"bg-{root.name}",
            warning_s=warning_s,
            worker_args=tuple(worker_args),
            **options,
        )
        for chunk in chunks
    ]
    setup_lines = settings.values.get("setup") or []
    if setup_lines:
        _check_bash_syntax("\n".join([setup_lines] if isinstance(setup_lines, str) else setup_lines) + "\n",
                           setup=True)
    for text in scripts:
        _check_bash_syntax(text)
    sub = Submission(backend="slurm", scripts=scripts, n_workers=n_workers, settings=settings)
    if dry_run:
        return sub
    from ...store import make_dir, write_atomic

    make_dir(slurm_dir / "logs", parents=True)
    stamp = time_stamp()
    for k, (chunk, text) in enumerate(zip(chunks, scripts)):
        path = slurm_dir / f"workers-{stamp}-{k}.sh"
        write_atomic(path, text)
        sub.script_paths.append(path)
        out = _run(["sbatch", "--parsable", str(path)])
        if out.returncode != 0:
            path.unlink()  # nothing half-written: a refused script is not kept
            done = f" (arrays already submitted: {', '.join(sub.job_ids)})" if sub.job_ids else ""
            raise SlurmError(f"sbatch refused the job{done}: {out.stderr.strip() or out.stdout.strip()}")
        job_id = out.stdout.strip().split(";")[0]
        sub.job_ids.append(job_id)
        SlurmBackend().record_submission(root, job_id, chunk.n_tasks, path.name)
    return sub


def _checked_project(project: Any) -> Path:
    """The project's directory, after checking it is one (a ProjectError says what is wrong)."""
    from ...store import read_project_json

    root = project_dir(project)
    read_project_json(root)
    return root


def recorded_job_ids(project: Any) -> list[str]:
    """Array job ids this project submitted, oldest first (a torn last line is ignored)."""
    return SlurmBackend().recorded_job_ids(project)


def slurm_workers(project: Any) -> list[dict[str, str]]:
    """The project's SLURM workers that squeue still knows, one dict per array task.

    Keys: ``job_id`` (``<array id>_<task>``), ``array_job_id``, ``state``
    (SLURM's, e.g. PENDING, RUNNING, COMPLETED), ``phase`` (pending, running
    or ended), ``elapsed``, ``where`` (node, or the reason it waits).
    squeue forgets ended jobs after ``MinJobAge`` (300 s by default).
    """
    ids = recorded_job_ids(project)
    if not ids:
        return []
    out = _run(["squeue", "-h", "-t", "all", "-r", "-j", ",".join(ids), "-o", "%i|%F|%T|%M|%R"])
    if out.returncode != 0:
        raise SlurmError(f"squeue failed: {out.stderr.strip()}")
    rows = []
    for line in out.stdout.splitlines():
        parts = line.split("|", 4)
        if len(parts) != 5:
            continue
        job_id, array_id, state, elapsed, where = parts
        phase = "pending" if state == "PENDING" else "ended" if state.split()[0] in _ENDED else "running"
        rows.append({"job_id": job_id, "array_job_id": array_id, "state": state, "phase": phase,
                     "elapsed": elapsed, "where": where})
    return rows


def worker_counts(project: Any) -> dict[str, int]:
    """``{"pending": n, "running": n, "ended": n}`` over :func:`slurm_workers`."""
    return SlurmBackend().worker_counts(project)


def cancel(project: Any) -> list[str]:
    """``scancel`` the project's workers still pending or running; return their array ids.

    Only ids recorded in ``<project>/slurm/jobs.jsonl`` are cancelled. A
    cancelled worker gets SIGTERM and hands its running job back.
    """
    live = sorted({row["array_job_id"] for row in slurm_workers(project) if row["phase"] != "ended"}, key=int)
    if live:
        out = _run(["scancel", *live])
        if out.returncode != 0:
            raise SlurmError(f"scancel failed: {out.stderr.strip()}")
    return live


class SlurmBackend(Backend):
    """Workers as SLURM job arrays: ``submit(..., backend="slurm")``.

    Options of :meth:`launch` are those of :func:`submit`; the ``[slurm]``
    table of ``config.toml`` sets their defaults.

    Examples
    --------
    >>> SlurmBackend().warning_signal.name, sorted(SlurmBackend.config_schema)[:3]
    ('SIGUSR1', ['account', 'cpus_per_worker', 'gres'])
    """

    name: ClassVar[str] = "slurm"
    title: ClassVar[str] = "SLURM"
    waits: ClassVar[bool] = False
    warning_signal: ClassVar[signal.Signals | None] = signal.SIGUSR1
    config_schema: ClassVar[Mapping[str, Any]] = {
        "account": (_string, "a non-empty string"),
        "partition": (_string, "a non-empty string"),
        "qos": (_string, "a non-empty string"),
        "gres": (_string, "a non-empty string"),
        "time": (_string, "a SLURM time string such as \"2:00:00\""),
        "mem_gb": (_positive_number, "a number > 0"),
        "cpus_per_worker": (_positive_int, "an integer >= 1"),
        "max_parallel": (_positive_int, "an integer >= 1"),
        "setup": (_string_or_list, "a string or a list of strings (shell lines)"),
        "sbatch_args": (_string_list, "a list of strings, one sbatch option each"),
    }
    config_defaults: ClassVar[Mapping[str, Any]] = {"cpus_per_worker": 1, "setup": [], "sbatch_args": []}

    @classmethod
    def check_settings(cls, values: Mapping[str, Any], where: str) -> None:
        if isinstance(values.get("time"), str):
            parse_slurm_time(values["time"], name=f"'slurm.time' {where}" if where else "time")

    def launch(self, project: Any, n_workers: int, **options: Any) -> Launch:
        import inspect

        known = set(inspect.signature(submit).parameters) - {"project", "n_workers"}
        unknown = sorted(set(options) - known)
        if unknown:
            raise InputError(
                f"unknown SLURM option(s) {', '.join(map(repr, unknown))}; known: {', '.join(sorted(known))}"
            )
        return submit(project, n_workers, **options)

    def workers(self, project: Any) -> list[WorkerRow]:
        return [WorkerRow(**row) for row in slurm_workers(project)]

    def cancel(self, project: Any) -> list[str]:
        return cancel(project)
