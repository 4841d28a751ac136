"""Lost runs: a run of a job that ended without a result (its worker died, or it ran past its time limit).

A lost run puts the job back with attempt + 1 and one more lost run, or,
once it has lost ``max_attempts`` runs, marks it failed. Each lost run
carries its reason (``"killed by SIGSEGV"``, ``"exit status 3"``,
``"timed out after 600 s"``) in its requeue record, so the final reason
of a failed job sums up its history: ``"killed by SIGSEGV 3 times"``.

Call :func:`lose_runs` while holding the project lock; it writes through
:meth:`~benchgrid.store.storage._queue.Queue.put_back`, so each (job, attempt) is
put back (or failed) once, whoever else recovers the same worker.
"""

from __future__ import annotations

from collections import Counter

from ._lanes import MEM_CLASSES_GB, N_LANES, lane_above
from ._queue import Claim, Queue
from ._records import read_records
from ._settings import ProjectSettings

__all__ = ["lose_runs", "failed_reason", "escalate_runs", "OUT_OF_MEMORY"]

OUT_OF_MEMORY = "out of memory"  # the ``why`` of a requeue line that moved a job to a larger memory class


def failed_reason(reasons: list[str], max_attempts: int) -> str:
    """The reason a job failed, from the reasons of its lost runs (oldest first).

    Examples
    --------
    >>> failed_reason(["killed by SIGSEGV"] * 3, 3)
    'killed by SIGSEGV 3 times (max_attempts=3)'
    >>> failed_reason(["exit status 3", "timed out after 5 s"], 2)
    'lost 2 runs (max_attempts=2): exit status 3; timed out after 5 s'
    """
    counts = Counter(reasons)
    if len(counts) == 1:
        ((reason, n),) = counts.items()
        return f"{reason} {n} time{'s' if n > 1 else ''} (max_attempts={max_attempts})"
    return f"lost {len(reasons)} runs (max_attempts={max_attempts}): " + "; ".join(reasons)


def _earlier_reasons(queue: Queue, job_id: int, lost: int) -> list[str]:
    """Reasons of the job's earlier lost runs since its lost count last started from 0."""
    records, _ = read_records(queue.layout.requeue)  # read only when a job fails: rare
    out: list[str] = []
    for r in records:
        if r.get("job") != job_id:
            continue
        if int(r.get("l", 0)) == 0:
            out = []  # the count was 0 here (before issue 23, a retry also started it again)
        elif r.get("why") == OUT_OF_MEMORY:
            continue  # an escalation is not a lost run
        elif "reason" in r:
            out.append(str(r["reason"]))
        elif r.get("why") == "expired":
            out.append("lease expired (worker killed, frozen or node lost)")
    out = out[-lost:] if lost else []
    return ["lost (reason not recorded)"] * (lost - len(out)) + out


def lose_runs(
    queue: Queue,
    lost: list[Claim],
    *,
    reason: str,
    source: str,
    spared: list[Claim] | None = None,
    detail: str = "",
) -> list[Claim]:
    """Count one lost run for each claim of ``lost``; hand ``spared`` back without counting.

    ``spared`` are claims the dead worker held but had not started (another
    job killed it). Each (job, attempt) is written once (:meth:`Queue.put_back`).
    Returns the claims put back or failed that were new. Call holding the
    project lock.
    """
    max_attempts = ProjectSettings.of(queue.settings).max_attempts
    again = [Claim(c.job_id, c.attempt + 1, c.lost + 1, c.lane) for c in lost if c.lost + 1 < max_attempts]
    failed = [
        (
            Claim(c.job_id, c.attempt + 1, c.lost + 1, c.lane),
            failed_reason(_earlier_reasons(queue, c.job_id, c.lost) + [reason], max_attempts)
            + (f"; {detail}" if detail else ""),
        )
        for c in lost
        if c.lost + 1 >= max_attempts
    ]
    new = queue.put_back(again, "lost", source, failed=failed, locked=True, reason=reason)
    if spared:
        back = [Claim(c.job_id, c.attempt + 1, c.lost, c.lane) for c in spared]
        new += queue.put_back(back, "handback", source, locked=True)
    return new


def escalate_runs(
    queue: Queue,
    claims: list[Claim],
    *,
    budget_gb: float | None,
    reason: str,
    source: str,
) -> list[Claim]:
    """Put jobs killed for memory back in a larger memory class, without counting a lost run.

    Each job goes to the class above both its own and ``budget_gb`` (the
    budget of the worker it did not fit in); the requeue line says
    ``why="out of memory"`` and ``reason`` (what showed it, and the new
    class), which ``status`` shows. A job already in the largest class
    counts a lost run instead (it cannot grow further). Call holding the
    project lock. Returns the claims that were new (each (job, attempt) once).
    """
    up: list[tuple[Claim, int]] = []
    stuck: list[tuple[Claim, int]] = []
    for c in claims:
        lane = lane_above(c.lane, budget_gb)
        (up if lane < N_LANES else stuck).append((c, lane))
    new: list[Claim] = []
    for c, lane in up:
        moved = f"{reason}; moved to the {MEM_CLASSES_GB[lane]:g} GB class"
        new += queue.put_back([Claim(c.job_id, c.attempt + 1, c.lost, lane)], OUT_OF_MEMORY, source,
                              locked=True, reason=moved)
    if stuck:
        new += lose_runs(queue, [c for c, _ in stuck], reason=f"{reason} (no larger memory class)", source=source)
    return new
