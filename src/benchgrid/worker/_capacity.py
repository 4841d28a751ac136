"""What this worker has (memory, time, resources) and where a job goes when it did not fit (issue 21).

The rules themselves are the store's (:mod:`benchgrid.store.storage._classes`):
this module gathers a worker's :class:`~benchgrid.store.Capacity` and
decides the fate of a job handed back at the walltime limit:

- handed back fewer than ``AT_LIMIT_TIMES`` times (and not known to be longer
  than the limit): back in its lane, for the next allocation;
- otherwise, in a project with time classes (a ``time_key``), it moves to
  the first time class this worker may not claim, when some live or submitted
  worker may (:func:`~benchgrid.store.someone_may_claim`), its count of
  hand-backs starting again there;
- else it is failed, saying how much time it needs and how to give it a pool.

:func:`move_too_long` does the same, before it runs, to a job that blocks the
head of a lane because it cannot end in the time this worker has, so the
jobs behind it run.

Examples
--------
>>> detected_gpus({"CUDA_VISIBLE_DEVICES": "0,1"}), detected_gpus({"SLURM_GPUS_ON_NODE": "1"}), detected_gpus({})
(2, 1, 0)
"""

from __future__ import annotations

import os
import shlex
import time
from collections.abc import Mapping, Sequence
from typing import Any

from .._errors import InputError
from ..store import handback_record
from ..store import N_LANES, TIME_CLASSES_S, Claim, JobClass, Queue, lane_above, lane_classes, someone_may_claim
from ..store import TOO_LONG, time_class_above, uses_classes

__all__ = ["detected_gpus", "worker_resources", "at_limit_fate", "AT_LIMIT_TIMES", "COUNTED_SHARE", "lane_class",
           "memory_lane_above", "move_too_long"]

AT_LIMIT_TIMES = 2  # hand-backs at the walltime limit after which a job moves to a longer class (or fails)
COUNTED_SHARE = 0.5  # a run cut at the limit before this share of it says nothing of the job's length


def detected_gpus(environ: Mapping[str, str] | None = None) -> int:
    """GPUs the scheduler gave this process: ``SLURM_GPUS_ON_NODE``, else ``CUDA_VISIBLE_DEVICES``'s entries."""
    env = os.environ if environ is None else environ
    on_node = env.get("SLURM_GPUS_ON_NODE", "").strip()
    if on_node.isdigit():
        return int(on_node)
    visible = env.get("CUDA_VISIBLE_DEVICES", "").strip()
    if not visible or visible in ("NoDevFiles", "-1"):
        return 0
    return len([d for d in visible.split(",") if d.strip()])


def worker_resources(given: Mapping[str, int] | None, declared: Sequence[str] | None,
                     environ: Mapping[str, str] | None = None) -> dict[str, int]:
    """This worker's resource counts: ``given`` (``--resource``, ``--gpus``), else the GPUs it was given.

    A resource the project does not declare (``resource_keys``) is an
    :class:`InputError`: no job could ever ask for it, so it is a typo.

    >>> worker_resources({"gpus": 1}, ["gpus"]), worker_resources(None, ["gpus"], {"CUDA_VISIBLE_DEVICES": "3"})
    ({'gpus': 1}, {'gpus': 1})
    >>> worker_resources({"fpga": 1}, ["gpus"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    benchgrid._errors.InputError: resource 'fpga' is not one of this project's resources (resource_keys: ['gpus']); ...
    """
    known = list(declared or [])
    if given:
        for name, count in given.items():
            if name not in known and count:  # none of it is no claim (--gpus 0 on any project)
                raise InputError(f"resource {name!r} is not one of this project's resources (resource_keys: {known}); "
                                 f"give one of them, or create the project with resource_keys=[{name!r}]")
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                raise InputError(f"the count of resource {name!r} must be an integer >= 0, got {count!r}")
        return {n: int(c) for n, c in given.items() if c}
    gpus = detected_gpus(environ) if "gpus" in known else 0
    return {"gpus": gpus} if gpus else {}


def lane_class(queue: Queue, lane: int) -> JobClass:
    """The class of ``lane``: memory class *lane* in a project of memory lanes only, else the cursor's ``lk``."""
    if not uses_classes(queue.settings):
        return JobClass(mem=lane)
    return lane_classes(queue.cursor())[lane]


def memory_lane_above(queue: Queue, lane: int, budget_gb: float | None) -> tuple[int, int] | None:
    """``(lane, memory class)`` a job that ran out of memory in ``lane`` goes to; None when no class is larger."""
    here = lane_class(queue, lane)
    mem = lane_above(here.mem, budget_gb)
    if mem >= N_LANES:
        return None
    return queue.lane_of_class(here.with_(mem=mem)), mem


def at_limit_fate(queue: Queue, claim: Claim, *, limit_s: float, expected_s: float | None,
                  ran_s: float, root: Any, ran_whole: bool = False) -> tuple[Claim, str | None]:
    """Where a job handed back at the walltime limit goes: ``(claim, None)`` back to a lane, or ``(claim, reason)`` failed.

    ``claim`` is the run handed back; the returned claim has the next
    attempt. Time classes need a project that lists its lanes' classes
    (``time_key`` or ``resource_keys``); without them a job is failed as
    before issue 21's classes. ``ran_whole`` (the run took nearly all of a
    scheduler allocation, :func:`~._allocation.ran_whole_allocation`) counts
    as the last hand-back a job gets at this limit. A run cut before
    ``COUNTED_SHARE`` of the limit does not count: a short job started
    seconds before a deadline is not too long (issue 21: a 4.4 s job failed
    "needs more than 0:01:00" after two such starts); it goes back to its
    lane, its hand-backs as they were.

    Examples
    --------
    >>> from benchgrid.store import Claim
    >>> cut_short = Claim(job_id=7, attempt=2, lost=0, lane=0, at_limit=1)
    >>> at_limit_fate(None, cut_short, limit_s=60.0, expected_s=None, ran_s=3.0, root=".")
    (Claim(job_id=7, attempt=3, lost=0, lane=0, at_limit=1), None)
    """
    from .._format import fmt_seconds

    declared_longer = expected_s is not None and expected_s > limit_s
    counted = ran_whole or declared_longer or ran_s >= COUNTED_SHARE * limit_s
    n = claim.at_limit + 1 if counted else claim.at_limit
    again = Claim(claim.job_id, claim.attempt + 1, claim.lost, claim.lane, n)
    if n < AT_LIMIT_TIMES and not ran_whole and not declared_longer:
        return again, None
    cur = queue.cursor()
    if "lk" in cur and getattr(queue.settings, "time_key", None):
        here = lane_classes(cur)[claim.lane]
        longer = max(here.time + 1, time_class_above(limit_s))
        if longer < len(TIME_CLASSES_S) and someone_may_claim(root, here.with_(time=longer)):
            lane = queue.lane_of_class(here.with_(time=longer))
            return Claim(claim.job_id, claim.attempt + 1, claim.lost, lane, 0), None
    cls = JobClass.parse(cur["lk"][claim.lane]) if "lk" in cur else JobClass(mem=claim.lane)
    need = fmt_seconds(limit_s)
    pool = f"--pool {cls.pool_text(max(limit_s, ran_s, expected_s or 0.0))}"
    seen = (f"handed back {n} time{'s' if n > 1 else ''} at the limit, the last after {fmt_seconds(ran_s)}" if ran_s > 0
            else f"expected {fmt_seconds(expected_s)}")
    where = shlex.quote(str(root))
    return again, (f"{TOO_LONG}{need} ({seen}); no worker has more time: give it a pool "
                   f"(benchgrid submit {where} {pool}) and `benchgrid retry {where} --expired`")


def move_too_long(worker: Any) -> bool:
    """Take the job that blocks a lane of ``worker`` (a :class:`~._worker.Worker`) because it cannot end there.

    Its declared time is longer than the worker's whole limit, or its last
    run, handed back at a limit, is longer than the time left (it counts one
    hand-back more): it moves to a longer time class, or fails
    (:func:`at_limit_fate`), and the jobs behind it run. True when one was
    moved or failed (projects with time classes only); a job put back in the
    same lane still blocks it, so the worker then stops.
    """
    until, key = worker.until, worker.settings.time_key
    if until is None or not key:
        return False
    floor, limit_s = worker.durations.job_floor, max(1.0, until - worker.allocation_started)

    def too_long(row: dict[str, Any]) -> bool:
        declared = row["params"].get(key)
        return time.time() + floor.get(int(row["id"]), 0.0) > until or (
            isinstance(declared, (int, float)) and declared > limit_s)

    with worker._io:
        claims = worker.queue.claim(worker.worker_id, 1, too_long, worker._publish, capacity=worker._capacity())
        if not claims:
            return False
        (c,) = claims
        expected = max(floor.get(c.job_id, 0.0), float(worker.queue.jobs.get(c.job_id)["params"].get(key) or 0.0))
        again, why_failed = at_limit_fate(worker.queue, c, limit_s=limit_s, expected_s=expected,
                                          ran_s=floor.get(c.job_id, 0.0), root=worker.root)
        worker.queue.put_back([] if why_failed else [again], "handback", worker.worker_id,
                              failed=[(again, why_failed)] if why_failed else [])
        worker.events.append(handback_record(c.job_id, c.attempt, None, time.time(), "too long for this worker"))
        worker._finished.add((c.job_id, c.attempt))
    return why_failed is not None or again.lane != c.lane  # back in the same lane: it still blocks; stop
