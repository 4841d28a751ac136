"""What the CLI's ``work`` calls when a worker of a self-sustaining pool ends (issue 21)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def end_of_pooled_worker(project_dir: str | os.PathLike[str], pool: str, *, started: float, done: int, why: str,
                         ran: int | None = None, busy_s: float = 0.0, worker: str | None = None) -> str:
    """Decide the successors of this allocation of ``pool`` (see :mod:`benchgrid.backends._pools`); return what happened.

    The allocation's scheduler id and log come from the environment its job
    script set (``BENCHGRID_SCHEDULER_JOB_ID``, ``BENCHGRID_SCHEDULER_LOG``).
    Its time is counted from the start of this process, which the batch
    shell became (``exec``), or of the parent that restarts its workers
    (``--restart-crashed``): setup lines and imports are allocated time too.
    The jobs of the workers before this one in the allocation (that parent's
    ``BENCHGRID_ALLOCATION_TALLY``) are added to its own.
    """
    from ..backends import continue_pool
    from ..worker import allocation_started_s, allocation_tally, process_started_s

    before = allocation_tally()
    return continue_pool(Path(project_dir).absolute(), pool, task=os.environ.get("BENCHGRID_SCHEDULER_JOB_ID"),
                         started=allocation_started_s(min(started, process_started_s())), done=before.done + done,
                         why=why, log=os.environ.get("BENCHGRID_SCHEDULER_LOG"),
                         ran=None if ran is None else before.ran + ran, busy_s=before.busy_s + busy_s, worker=worker)


def pool_states(project_dir: str | os.PathLike[str], *, ask_scheduler: bool = True) -> list[Any]:
    """Every pool of the project as its ledger says, with the scheduler's live counts when it answers.

    A pool that did not stop, with no allocation running or pending while
    jobs its workers could run remain, is *broken*: its last allocations
    ended without deciding (a setup line that exited, a node lost with the
    last worker). Its ``broken`` text says so, with the last lines of the
    newest scheduler log and the command that starts it again. One whose
    workers can run none of the jobs left is *idle* (its last allocations
    left the running jobs to the workers running them, in other pools).
    """
    from .._errors import BenchgridError
    from ..backends import get_backend, jobs_left_for
    from ..store import PoolLedger, ProjectState, pool_names

    root = Path(project_dir).absolute()
    states = [PoolLedger(root, name).read() for name in pool_names(root)]
    if not ask_scheduler:
        return states
    project: ProjectState | None = None
    for state in states:
        try:
            rows = get_backend(str(state.definition.get("backend", "slurm"))).named_tasks(  # type: ignore[attr-defined]
                str(state.definition.get("job_name", "")))
        except BenchgridError:  # status must work off the cluster too
            continue
        live = [r for r in rows if r.job_id not in state.ending_tasks]
        state.running = sum(r.phase == "running" for r in live)
        state.pending = sum(r.phase == "pending" for r in live)
        if state.stopped or live:
            continue
        if project is None:  # one read of the logs for every pool judged
            project = ProjectState(root).refresh()
        left, running, elsewhere = jobs_left_for(root, state.definition.get("options") or {}, project)
        if not left:
            others = [f"{running} running on other workers"] if running else []
            others += [f"{elsewhere} waiting in classes its workers cannot claim"] if elsewhere else []
            state.idle = "no allocation live and no job left that its workers can run" + (
                f" ({'; '.join(others)})" if others else "")
            continue
        tail = _newest_log_tail(root, str(state.definition.get("backend", "slurm")))
        free = next(f"p{k}" for k in range(len(states) + 1) if f"p{k}" not in {s.name for s in states})
        state.broken = (f"no allocation running or pending and {left} job(s) left that its workers can run: the last "
                        "allocations ended without deciding a successor, or the scheduler lost the successors they "
                        "submitted" + (f"; the newest log ends: {tail}" if tail else "")
                        + f"; start a new pool with benchgrid submit {root} --until-done --pool-name {free} "
                        "(and the options of this one)")
    return states


def _newest_log_tail(root: Path, backend: str, n_lines: int = 3) -> str:
    folder = root / backend / "logs"
    try:
        newest = max(folder.iterdir(), key=lambda p: p.stat().st_mtime)
        lines = [line.strip() for line in newest.read_text(errors="replace").splitlines() if line.strip()]
    except (OSError, ValueError):
        return ""
    return " | ".join(lines[-n_lines:])
