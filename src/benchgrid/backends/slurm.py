"""SLURM backend: submit W workers as job arrays, cancel them, list their states.

The script text comes from the pure :mod:`._slurm_script`; this module adds
the side effects: it reads the configuration files, asks the cluster for its
``MaxArraySize``, writes the script into ``<project>/slurm/``, runs ``sbatch``
through one thin wrapper (:func:`_run`) and records job ids in
``<project>/slurm/jobs.jsonl``. ``cancel`` and ``slurm_workers`` look only at
the ids recorded there, so they never touch another project's jobs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from .._config import Settings, slurm_settings
from .._errors import InputError
from ._slurm_script import DEFAULT_MAX_ARRAY_SIZE, slurm_array_scripts

if TYPE_CHECKING:
    from ..api._project import Project

__all__ = ["Submission", "SlurmError", "cancel", "slurm_workers", "submit", "recorded_job_ids"]

SLURM_DIR = "slurm"
JOBS_FILE = "jobs.jsonl"
_ENDED = {"COMPLETED", "CANCELLED", "FAILED", "TIMEOUT", "NODE_FAIL", "PREEMPTED", "OUT_OF_MEMORY",
          "BOOT_FAIL", "DEADLINE", "REVOKED", "SPECIAL_EXIT"}


class SlurmError(InputError):
    """A SLURM command failed; the message holds the command's own words."""


@dataclass
class Submission:
    """What :func:`submit` did (or, with ``dry_run``, would do).

    Attributes
    ----------
    job_ids : list of str
        One SLURM array job id per array (empty for a dry run).
    scripts : list of str
        The batch script texts, one per array.
    script_paths : list of Path
        Where the scripts were saved (empty for a dry run).
    n_workers : int
    settings : Settings
        The resolved options and where each came from.
    """

    job_ids: list[str] = field(default_factory=list)
    scripts: list[str] = field(default_factory=list)
    script_paths: list[Path] = field(default_factory=list)
    n_workers: int = 0
    settings: Settings = field(default_factory=Settings)


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


def _project(project: "Project | str | os.PathLike[str]") -> "Project":
    from ..api._project import Project

    return project if isinstance(project, Project) else Project.open(project)


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
    project: "Project | str | os.PathLike[str]",
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
    config file (see :mod:`benchgrid._config`). Submitting again adds workers:
    they all pull from the same job table.

    Parameters
    ----------
    project : Project or path
    n_workers : int
        Workers to submit, at least 1.
    dry_run : bool, default=False
        Build and check the scripts, write and submit nothing.
    time, mem_gb, cpus_per_worker, partition, account, qos, gres, setup, max_parallel, sbatch_args
        As in :func:`benchgrid.backends._slurm_script.slurm_array_script`.
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
    proj = _project(project)
    from ..store import check_project

    check_project(proj.path, trust_owner=trust_owner)  # before the workers run its code
    if trust_owner:
        worker_args = (*worker_args, "--trust-owner")
    overrides = dict(time=time, mem_gb=mem_gb, cpus_per_worker=cpus_per_worker, partition=partition,
                     account=account, qos=qos, gres=gres, setup=setup, max_parallel=max_parallel,
                     sbatch_args=None if sbatch_args is None else list(sbatch_args))
    settings = slurm_settings(proj.path, overrides)
    if not dry_run and shutil.which("sbatch") is None:
        raise SlurmError(
            "sbatch is not on PATH: run submit on a SLURM login node "
            "(or start a local SLURM with scripts/slurm-local start); nothing was submitted"
        )
    slurm_dir = proj.path / SLURM_DIR
    scripts = slurm_array_scripts(
        str(proj.path),
        n_workers=n_workers,
        max_array_size=max_array_size(),
        command=tuple(command) if command is not None else (sys.executable, "-m", "benchgrid"),
        log_dir=str(slurm_dir / "logs"),
        job_name=job_name or f"bg-{proj.path.name}",
        warning_s=warning_s,
        worker_args=tuple(worker_args),
        **settings.values,
    )
    setup_lines = settings.values.get("setup") or []
    if setup_lines:
        _check_bash_syntax("\n".join([setup_lines] if isinstance(setup_lines, str) else setup_lines) + "\n",
                           setup=True)
    for text in scripts:
        _check_bash_syntax(text)
    sub = Submission(scripts=scripts, n_workers=n_workers, settings=settings)
    if dry_run:
        return sub
    from ..store._safe_io import make_dir, open_file

    make_dir(slurm_dir / "logs", parents=True)
    stamp = time_stamp()
    for k, text in enumerate(scripts):
        path = slurm_dir / f"workers-{stamp}-{k}.sh"
        tmp = path.with_suffix(f".sh.tmp{os.getpid()}")
        with open_file(tmp, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
        sub.script_paths.append(path)
        out = _run(["sbatch", "--parsable", str(path)])
        if out.returncode != 0:
            path.unlink()  # nothing half-written: a refused script is not kept
            done = f" (arrays already submitted: {', '.join(sub.job_ids)})" if sub.job_ids else ""
            raise SlurmError(f"sbatch refused the job{done}: {out.stderr.strip() or out.stdout.strip()}")
        job_id = out.stdout.strip().split(";")[0]
        sub.job_ids.append(job_id)
        _append_record(slurm_dir / JOBS_FILE, {
            "job_id": job_id, "n_workers": _array_size(text),
            "script": path.name, "submitted_at": _now(), "host": os.uname().nodename,
        })
    return sub


def _array_size(text: str) -> int:
    match = re.search(r"^#SBATCH --array=0-(\d+)", text, re.MULTILINE)
    return int(match.group(1)) + 1 if match else 0


def _now() -> float:
    return time.time()


def time_stamp() -> str:
    """A sortable, file-name-safe time, e.g. ``20260131-180000-123``."""
    t = time.time()
    return time.strftime("%Y%m%d-%H%M%S", time.localtime(t)) + f"-{int(t * 1000) % 1000:03d}"


def _append_record(path: Path, record: dict[str, Any]) -> None:
    # One short line per submission, appended with O_APPEND: concurrent submits do not clobber.
    line = (json.dumps(record, sort_keys=True) + "\n").encode()
    from ..store._safe_io import open_nofollow

    fd = open_nofollow(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def recorded_job_ids(project: "Project | str | os.PathLike[str]") -> list[str]:
    """Array job ids this project submitted, oldest first (a torn last line is ignored)."""
    root = project.path if hasattr(project, "path") else Path(project)  # type: ignore[arg-type]
    path = Path(root) / SLURM_DIR / JOBS_FILE
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        return []
    ids = []
    for line in lines:
        try:
            ids.append(str(json.loads(line)["job_id"]))
        except (ValueError, KeyError, TypeError):
            continue
    return ids


def slurm_workers(project: "Project | str | os.PathLike[str]") -> list[dict[str, str]]:
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


def worker_counts(project: "Project | str | os.PathLike[str]") -> dict[str, int]:
    """``{"pending": n, "running": n, "ended": n}`` over :func:`slurm_workers`."""
    counts = {"pending": 0, "running": 0, "ended": 0}
    for row in slurm_workers(project):
        counts[row["phase"]] += 1
    return counts


def cancel(project: "Project | str | os.PathLike[str]") -> list[str]:
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
