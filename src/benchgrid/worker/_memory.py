"""How much memory a worker may use, and how much it uses now.

A worker's budget comes from, in order: ``--mem-gb``; SLURM's allocation
(``SLURM_MEM_PER_NODE``, or ``SLURM_MEM_PER_CPU`` × CPUs, in MB); Grid
Engine's ``h_vmem`` is passed as ``--mem-gb`` by its script; the limit of
the worker's own memory cgroup (v2 ``memory.max``, v1
``memory.limit_in_bytes``); ``RLIMIT_AS`` (``ulimit -v``). None means
unknown: the worker then claims from every memory lane.

The kernel's OOM killer leaves a count in the same cgroup (v2
``memory.events``, v1 ``memory.oom_control``: field ``oom_kill``). A worker
records that file and its count in its lease when it claims; whoever sees
the worker end by SIGKILL (its supervisor, or a recoverer on the same
machine once its process is gone) reads the count again from the kernel
(:func:`oom_evidence`): if it went up, the job it was running was killed for
memory and goes to a larger memory class instead of counting a lost run.

Examples
--------
>>> budget_gb(2.5)
(2.5, '--mem-gb')
>>> rss_gb() > 0
True
"""

from __future__ import annotations

import os
import re
import resource
import time
from pathlib import Path
from typing import Any

from ..store import on_this_machine, process_gone

__all__ = ["budget_gb", "rss_gb", "memory_cgroup", "oom_kill_count", "oom_evidence", "grid_engine_messages",
           "grid_engine_oom", "memory_kill_notice"]

_GB = 1024**3
_CGROUP_ROOT = Path("/sys/fs/cgroup")
_UNLIMITED_V1 = 1 << 60  # cgroup v1 writes "no limit" as a page-rounded 2**63 - 1


def _slurm_gb(env: dict[str, str]) -> float | None:
    try:
        if env.get("SLURM_MEM_PER_NODE"):
            return int(env["SLURM_MEM_PER_NODE"]) / 1024
        if env.get("SLURM_MEM_PER_CPU"):
            cpus = int(env.get("SLURM_CPUS_ON_NODE") or env.get("SLURM_CPUS_PER_TASK") or 1)
            return int(env["SLURM_MEM_PER_CPU"]) * cpus / 1024
    except ValueError:
        return None
    return None


def memory_cgroup(pid: int | str = "self") -> tuple[str, Path] | None:
    """The memory cgroup folder of a process and its version ("v1" or "v2"), or None.

    The v1 memory hierarchy wins when both are mounted (it is the one that
    limits memory then); a v2 folder counts only if it has memory files.

    Examples
    --------
    >>> memory_cgroup() is None or memory_cgroup()[0] in ("v1", "v2")
    True
    """
    try:
        lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    except OSError:
        return None
    v2 = None
    for line in lines:
        _id, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):
            folder = _CGROUP_ROOT / "memory" / path.lstrip("/")
            if (folder / "memory.limit_in_bytes").exists():
                return "v1", folder
        elif _id == "0" and controllers == "":
            v2 = _CGROUP_ROOT / path.lstrip("/")
    if v2 is not None and (v2 / "memory.max").exists():
        return "v2", v2
    return None


def _cgroup_gb() -> float | None:
    found = memory_cgroup()
    if found is None:
        return None
    kind, folder = found
    try:
        limit = (folder / ("memory.limit_in_bytes" if kind == "v1" else "memory.max")).read_text().strip()
        if limit == "max" or int(limit) >= _UNLIMITED_V1:
            return None
        return int(limit) / _GB
    except (OSError, ValueError):
        return None


def oom_kill_count(events_file: str | os.PathLike[str]) -> int | None:
    """The ``oom_kill`` counter of a cgroup's ``memory.oom_control`` (v1) or ``memory.events`` (v2).

    None when the file or the field is missing (an old kernel, a cgroup removed).

    Examples
    --------
    >>> oom_kill_count("/nonexistent/memory.events") is None
    True
    """
    try:
        text = Path(events_file).read_text()
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if key == "oom_kill" and value.strip().isdigit():
            return int(value)
    return None


def oom_watch() -> dict[str, Any] | None:
    """What a lease records so that an OOM kill of this process can be recognised later.

    ``{"file": ".../memory.oom_control", "count": 0, "limit_gb": 0.25}``, or
    None when this process is in no memory cgroup with an ``oom_kill`` counter.
    """
    found = memory_cgroup()
    if found is None:
        return None
    kind, folder = found
    events = folder / ("memory.oom_control" if kind == "v1" else "memory.events")
    count = oom_kill_count(events)
    if count is None:
        return None
    return {"file": str(events), "count": count, "limit_gb": _cgroup_gb()}


def oom_evidence(lease: dict[str, Any]) -> str | None:
    """Why a worker that died was killed for memory, from its lease and the kernel; None if it was not.

    Two kinds of evidence, each a fact, not a guess:

    - the scheduler's log of the worker's job (``lease["scheduler_log"]``,
      set by the SLURM job script) says the job was killed for memory:
      SLURM's ``Exceeded job memory limit`` (memory enforced by
      ``JobAcctGatherParams=OverMemoryKill``) or ``oom-kill event`` (by
      cgroups). Readable from any node of a shared filesystem;
    - Grid Engine's execd says, in its messages file (``lease["scheduler_messages"]``),
      that it killed the worker's task for a memory limit (``h_vmem``: see
      :func:`grid_engine_oom`);
    - the cgroup file and ``oom_kill`` count the worker recorded in its lease
      when it last claimed (``lease["oom"]``), against the count the kernel
      shows now, once the worker's process is gone. Only a lease of this
      machine (same boot) is judged this way: another node's cgroup cannot be
      read from here.

    Call it for a worker known to be dead (SIGKILL seen by its supervisor,
    or its lease expired).

    Examples
    --------
    >>> oom_evidence({"host": "elsewhere", "oom": {"file": "/x", "count": 0}}) is None
    True
    """
    said = scheduler_oom(lease.get("scheduler_log")) or grid_engine_oom(
        lease.get("scheduler_messages"), lease.get("scheduler_job_id"), lease.get("started"))
    if said is not None:
        return said
    watch = lease.get("oom")
    if not isinstance(watch, dict) or not on_this_machine(lease) or not process_gone(lease):
        return None
    now = oom_kill_count(watch.get("file", ""))
    before = watch.get("count")
    if now is None or not isinstance(before, int) or now <= before:
        return None
    limit = watch.get("limit_gb")
    where = f"its cgroup's limit of {limit:.2f} GB" if isinstance(limit, (int, float)) else "its cgroup's limit"
    return f"killed by the kernel's OOM killer at {where} (oom_kill {before} -> {now} in {watch['file']})"


# what schedulers write in a job's log when they kill it for memory (SLURM's slurmstepd: with
# OverMemoryKill, "Exceeded job memory limit"; with cgroups, "Detected 1 oom-kill event(s)")
_SCHEDULER_OOM = re.compile(rb"Exceeded job memory limit|exceeded memory limit|oom-kill event|OUT_OF_MEMORY|oom_kill")
_LOG_TAIL = 65536


def scheduler_oom(log_path: object) -> str | None:
    r"""The line of a scheduler's job log that says it killed the job for memory, or None.

    Reads only the log's tail (the kill is the last thing a killed job's log
    says), never through a link.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> log = pathlib.Path(tempfile.mkdtemp()) / "worker-7_1.out"
    >>> _ = log.write_bytes(b"slurmstepd: error: Exceeded job memory limit\n")
    >>> scheduler_oom(str(log))
    "killed by the scheduler for memory: its log says 'slurmstepd: error: Exceeded job memory limit'"
    >>> scheduler_oom(None) is None
    True
    """
    if not isinstance(log_path, str) or not log_path:
        return None
    from ..store import open_file

    try:
        with open_file(log_path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            f.seek(max(0, size - _LOG_TAIL))
            tail = f.read()
    except (OSError, ValueError):  # no log (yet), a link, or gone: no evidence
        return None
    found = None
    for line in tail.splitlines():
        if _SCHEDULER_OOM.search(line):
            found = line
    if found is None:
        return None
    text = found.decode("utf-8", "replace").strip()[:200]
    return f"killed by the scheduler for memory: its log says {text!r}"


# Grid Engine's execd, when a task's summed usage passes a hard memory limit of its queue or request
# (h_vmem; also h_rss, h_data, h_stack), writes this to its messages file, then sends the notify signal
# (SIGUSR2 with qsub -notify) and SIGKILL; qacct later says only "failed 37: qmaster enforced h_rt, h_cpu,
# or h_vmem limit". A single process past h_vmem never gets this far: h_vmem is also its `ulimit -v`, so
# its allocation fails (MemoryError), which the worker sees itself.
_SGE_KILL = re.compile(rb'^(\d\d/\d\d/\d{4} \d\d:\d\d:\d\d)\|.*\|job (\S+) exceeds job hard limit "(h_vmem|h_rss|h_data|h_stack)"')


def grid_engine_messages(env: dict[str, str] | None = None) -> str | None:
    """The messages file of the execd that runs this Grid Engine task, or None outside Grid Engine.

    Found from ``SGE_JOB_SPOOL_DIR`` (``<execd spool>/<host>/active_jobs/<job>.<task>``), which Grid
    Engine sets for every job: the messages file is ``<execd spool>/<host>/messages``.

    Examples
    --------
    >>> grid_engine_messages({"SGE_JOB_SPOOL_DIR": "/var/spool/sge/node1/active_jobs/7.1"})
    '/var/spool/sge/node1/messages'
    >>> grid_engine_messages({}) is None
    True
    """
    spool = (os.environ if env is None else env).get("SGE_JOB_SPOOL_DIR")
    return str(Path(spool).parent.parent / "messages") if spool else None


def grid_engine_oom(messages: object, job_task: object, since: object) -> str | None:
    r"""Grid Engine's line saying it killed task ``job_task`` for a memory limit at or after ``since``, or None.

    ``since`` (Unix time, the worker's start, on the execd's host) keeps out a line about an
    earlier job that had the same id (Grid Engine's job numbers restart). Reads the file's tail,
    never through a link.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> log = pathlib.Path(tempfile.mkdtemp()) / "messages"
    >>> _ = log.write_bytes(b'12/07/2026 10:42:11|  main|vm|W|job 176.1 exceeds job hard limit "h_vmem" '
    ...                     b'of queue "all.q@vm" (671739904.00000 > limit:536870912.00000) - sending SIGKILL\n')
    >>> grid_engine_oom(str(log), "176.1", 0.0)[:58]
    'killed by Grid Engine for memory (h_vmem): its execd says '
    >>> grid_engine_oom(str(log), "17.1", 0.0) is None, grid_engine_oom(str(log), "176.1", 4e9) is None
    (True, True)
    """
    if not (isinstance(messages, str) and messages and isinstance(job_task, str) and job_task):
        return None
    start = float(since) if isinstance(since, (int, float)) else 0.0
    found = None
    for line in _tail(messages).splitlines():
        m = _SGE_KILL.match(line)
        if m is None or m.group(2).decode() != job_task:
            continue
        try:
            when = time.mktime(time.strptime(m.group(1).decode(), "%m/%d/%Y %H:%M:%S"))  # the execd's local time
        except ValueError:
            continue
        if when >= start - 2:  # the file's times are whole seconds
            found = m
    if found is None:
        return None
    text = found.string.decode("utf-8", "replace")
    said = text[text.find("job "):].strip()[:200]
    return f"killed by Grid Engine for memory ({found.group(3).decode()}): its execd says {said!r}"


def memory_kill_notice(since: float, wait_s: float = 0.5) -> str | None:
    """Why this Grid Engine task got its notify signal (SIGUSR2), when it is a kill for memory; else None.

    Grid Engine notifies a task before it kills it for ``h_rt``, ``qdel`` and a memory
    limit alike; only its execd's messages file says which. Looked at for ``wait_s``
    (the line is written as the signal is sent). None at once outside Grid Engine.
    """
    messages, job_task = grid_engine_messages(), os.environ.get("BENCHGRID_SCHEDULER_JOB_ID")
    if messages is None or not job_task:
        return None
    deadline = time.monotonic() + wait_s
    while True:
        said = grid_engine_oom(messages, job_task, since)
        if said is not None or time.monotonic() >= deadline:
            return said
        time.sleep(0.05)


def _tail(path: str) -> bytes:
    """The last :data:`_LOG_TAIL` bytes of a file (b"" when it cannot be read), never through a link."""
    from ..store import open_file

    try:
        with open_file(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            f.seek(max(0, size - _LOG_TAIL))
            return bytes(f.read())
    except (OSError, ValueError):
        return b""


def _rlimit_gb() -> float | None:
    soft, _hard = resource.getrlimit(resource.RLIMIT_AS)
    return None if soft == resource.RLIM_INFINITY else soft / _GB


def budget_gb(mem_gb: float | None = None, env: dict[str, str] | None = None) -> tuple[float | None, str]:
    """The worker's memory budget in GB and where it came from."""
    if mem_gb is not None:
        return float(mem_gb), "--mem-gb"
    env = dict(os.environ) if env is None else env
    for value, source in ((_slurm_gb(env), "SLURM allocation"), (_cgroup_gb(), "cgroup memory limit"), (_rlimit_gb(), "ulimit -v")):
        if value is not None:
            return value, source
    return None, "unknown"


def rss_gb(pid: int | None = None) -> float:
    """Resident memory of a process now (this one by default), in GB."""
    with open(f"/proc/{pid or os.getpid()}/statm", "rb") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / _GB
