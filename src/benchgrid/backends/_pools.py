"""Self-sustaining pools: allocations that submit their successors (issue 21).

``submit --until-done`` starts a *pool*: W workers submitted under one job
name, ``bg-<project>-<pool>``, and a ledger (:mod:`benchgrid.store.storage._pool_ledger`).
There is no process on the login node. Each worker of the pool, when it ends
(its walltime is near, it was told to stop, nothing it can still finish fits,
its memory guard stopped it), calls :func:`continue_pool`, which decides under
the project lock:

1. the chain stopped (``cancel``, budget, storm, no job left): nothing;
2. no job is left that a successor could run: record ``stopped``, unless
   jobs are running on other workers (one may be handed back at its
   worker's limit: that worker decides then); nothing;
3. this allocation and the one before it in the chain both ended within a
   minute having started no job (a broken environment): ``stopped`` with the
   scheduler log's last lines, so that ``status`` says why;
4. the budget (``max_allocations``, or ``max_core_hours``: see
   :mod:`benchgrid.backends._pool_budget`) is spent: ``stopped``;
5. otherwise it records itself as ``ending`` and submits
   ``W - live`` allocations, where *live* is what the scheduler itself lists as
   pending or running under the pool's job name, less the tasks recorded as
   ``ending``.

Why this cannot exceed W: *live* comes from the scheduler, not the ledger, so a
successor whose record was lost (a crash after ``sbatch``) is counted all the
same; deciders take the lock in turn and ``sbatch``/``qsub`` register a job
before they return, so the second of two workers ending at once sees the
first one's successor. Why it never drops to zero while work remains: a worker
that dies without deciding (node loss) is simply not live any more, and the
next worker of the pool that ends makes it up. A scheduler command that fails
or times out submits nothing (the next decider looks again).

Examples
--------
>>> missing_workers(4, live=["7_1", "7_2", "7_3"], ending={"7_3"})
2
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .._errors import InputError
from ._capacity import jobs_left_for
from ._pool_budget import affordable
from ._scheduler import SchedulerBackend

__all__ = ["start_pool", "continue_pool", "stop_pools", "missing_workers", "pool_job_name", "STORM_S"]

STORM_S = 60.0  # an allocation that ends this soon having done no job is a failure of its environment
LOG_LINES = 5


def missing_workers(n_workers: int, live: Iterable[str], ending: set[str]) -> int:
    """How many allocations to submit so that live + pending reach ``n_workers`` (never negative)."""
    return max(0, n_workers - len(set(live) - ending))


def pool_job_name(backend: SchedulerBackend, root: Path, pool: str) -> str:
    """The scheduler job name of every allocation of ``pool`` (the scheduler lists the pool by it).

    It names the project's folder and carries a digest of its full path: two
    projects in folders of the same name (``proj``) must not count each
    other's allocations.
    """
    import hashlib

    digest = hashlib.sha1(str(Path(root).absolute()).encode()).hexdigest()[:6]
    return f"{backend.job_name(root)}-{pool}-{digest}"


def _backend(name: str) -> SchedulerBackend:
    from ._registry import get_backend

    chosen = get_backend(name)
    if not isinstance(chosen, SchedulerBackend):
        raise InputError(f"--until-done needs a scheduler, so backend must be 'slurm' or 'sge', got {name!r}")
    return chosen


def start_pool(root: Path, pool: str, backend: str, n_workers: int, *, max_allocations: int | None = None,
               max_core_hours: float | None = None, **options: Any) -> Any:
    """Write the pool's definition and submit its first ``n_workers`` allocations; return the Launch.

    ``max_allocations`` (allocations in all, the first ``n_workers``
    included) and ``max_core_hours`` (CPUs x hours the allocations ran;
    needs a ``time`` limit) are budgets: the chain stops at the first spent.
    """
    from ..store import PoolLedger, Queue, read_project_json
    from ._config import backend_settings
    from ._pool_budget import check_max_core_hours
    from ._script_checks import parse_time

    if max_allocations is not None and (isinstance(max_allocations, bool) or not isinstance(max_allocations, int)
                                        or max_allocations < n_workers):
        raise InputError(f"max_allocations must be an integer >= the number of workers ({n_workers}), "
                         f"got {max_allocations!r}")
    chosen = _backend(backend)
    launch_own = ("dry_run", "warning_s", "job_name", "command", "worker_args", "trust_owner")  # not settings
    values = backend_settings(backend, root, {k: v for k, v in options.items() if k not in launch_own}).values
    limit_s = parse_time(values["time"]) if isinstance(values.get("time"), str) else None
    cpus = int(values.get("cpus_per_worker") or 1)
    if max_core_hours is not None:
        max_core_hours = check_max_core_hours(max_core_hours, limit_s=limit_s, cpus=cpus, n_workers=n_workers)
    ledger = PoolLedger(root, pool)
    if ledger.exists():
        from ..store import pool_names

        taken = set(pool_names(root))
        free = next(f"p{k}" for k in range(len(taken) + 1) if f"p{k}" not in taken)
        raise InputError(f"this project already has a pool named {pool!r} ({str(ledger.path)!r}; its ledger stays "
                         f"for its accounts); give the new pool another name, e.g. --pool-name {free}")
    name = pool_job_name(chosen, root, pool)
    args = ("--pool", pool)
    if options.get("dry_run"):
        return chosen.launch(root, n_workers, job_name=name, worker_args=args, **options)
    queue = Queue(root, read_project_json(root)["settings"])
    with queue.lock:
        ledger.append({"op": "pool", "backend": backend, "n_workers": n_workers, "options": options,
                       "max_allocations": max_allocations, "max_core_hours": max_core_hours, "limit_s": limit_s,
                       "cpus_per_worker": cpus, "job_name": name, "t": time.time()})
        launch = chosen.launch(root, n_workers, job_name=name, worker_args=args, **options)
        queue.lock.check_held()
        ledger.append({"op": "submitted", "ids": launch.job_ids, "n": n_workers, "gen": 1, "by": "user",
                       "t": time.time()})
    return launch


def _log_tail(log: str | None) -> str:
    if not log:
        return ""
    try:
        lines = Path(log).read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return " | ".join(line.strip() for line in lines[-LOG_LINES:] if line.strip())


def continue_pool(root: Path, pool: str, *, task: str | None, started: float, done: int, why: str,
                  log: str | None = None, ran: int | None = None, busy_s: float = 0.0, worker: str | None = None) -> str:
    """Decide, under the project lock, what the ending allocation ``task`` of ``pool`` leaves behind.

    ``started`` (this host's time.time() when the worker started: only this
    host's clock is compared with it), ``done`` (jobs it ended), ``ran``
    (jobs it started, handed back ones included; default ``done``), ``why``
    (its reason to stop), ``log`` (its scheduler log), ``busy_s`` (seconds
    it spent in jobs that ended), ``worker`` (its worker id: the timeline
    draws the allocation behind its row). Returns what happened,
    in words, for the worker's last line.
    """
    from ..store import PoolLedger, Queue, fault_point, read_project_json, retry_lock_lost

    ledger = PoolLedger(root, pool)
    state = ledger.read()
    run_s = max(0.0, time.time() - started)
    left, running, elsewhere = jobs_left_for(root, state.definition.get("options") or {})  # issue 21: for its workers
    chosen = _backend(str(state.definition.get("backend", "slurm")))
    queue = Queue(root, read_project_json(root)["settings"])
    gen = state.generation
    for r in state.submitted:  # the generation this task belongs to
        if task and any(str(task).startswith(f"{i}_") or str(task).startswith(f"{i}.") or str(task) == str(i)
                        for i in r.get("ids", [])):
            gen = int(r.get("gen", gen))

    def decide() -> str:
        with queue.lock:
            fresh = ledger.read()
            ending = {"op": "ending", "task": task, "gen": gen, "done": done, "ran": done if ran is None else ran,
                      "run_s": round(run_s, 1), "busy_s": round(busy_s, 1), "cpus": fresh.cpus, "why": why,
                      "worker": worker, "t": time.time()}
            if fresh.stopped:
                ledger.append(ending)  # for the pool's accounts (jobs done, worker time)
                return f"pool {pool} stopped ({fresh.stopped}): no successor"
            if left == 0 and running:
                # a running job may come back (handed back at its worker's limit): that worker decides then
                ledger.append(ending)
                return f"no job left for a successor; {running} running on other workers, whose ends decide"
            if left == 0:
                ledger.append(ending)
                stop = "no job left (jobs added later need a new submit)" if not elsewhere else (
                    f"no job left that its workers can run; {elsewhere} job(s) wait in classes they cannot claim "
                    f"(more time, memory or resources): `benchgrid status {shlex.quote(str(root))}` names them "
                    "and the --pool to submit")
                ledger.append({"op": "stopped", "why": stop, "t": time.time()})
                return f"no job left for a successor: the pool stops ({stop})"
            # idle: started no job at all (a job handed back at the limit is work: a long job is not a storm)
            idle = (done if ran is None else ran) == 0 and run_s < STORM_S
            before = [e for e in fresh.ending if int(e.get("gen", 0)) == gen - 1]
            if idle and gen > 1 and before and all(int(e.get("ran", e.get("done", 0))) == 0
                                                   and float(e.get("run_s", 0)) < STORM_S for e in before):
                tail = _log_tail(log)
                stop = (f"two generations of allocations ended within {STORM_S:g} s having done no job "
                        f"(last: {why})" + (f"; its log ends: {tail}" if tail else ""))
                ledger.append(ending)
                ledger.append({"op": "stopped", "why": stop, "t": time.time()})
                return f"stopped the chain: {stop}"
            budget = fresh.definition.get("max_allocations")
            if budget is not None and fresh.n_submitted >= int(budget):
                ledger.append(ending)
                stop = f"the budget of {budget} allocations is spent"
                ledger.append({"op": "stopped", "why": stop, "t": time.time()})
                return f"stopped the chain: {stop}"
            name = str(fresh.definition.get("job_name") or pool_job_name(chosen, root, pool))
            live = [row.job_id for row in chosen.named_tasks(name) if row.phase != "ended"]
            fault_point("pool.looked")
            ledger.append(ending)
            fault_point("pool.ending")
            gone = fresh.ending_tasks | ({str(task)} if task else set())
            n = missing_workers(fresh.n_workers, live, gone)
            if budget is not None:
                n = min(n, int(budget) - fresh.n_submitted)
            hours = fresh.definition.get("max_core_hours")
            if hours is not None and n > 0:
                used = fresh.core_s + run_s * fresh.cpus
                n_live = len(set(live) - gone)
                n = affordable(n, used_core_s=used, live=n_live, limit_s=float(fresh.definition["limit_s"]),
                               cpus=fresh.cpus, max_core_hours=float(hours))
                if n == 0 and n_live == 0:
                    stop = (f"the budget of {float(hours):.3g} core-hours is spent ({used / 3600:.3g} used; "
                            "one more allocation could pass it)")
                    ledger.append({"op": "stopped", "why": stop, "t": time.time()})
                    return f"stopped the chain: {stop}"
                if n == 0:
                    return (f"the budget of {float(hours):.3g} core-hours pays no successor while {n_live} "
                            "allocation(s) may still use theirs")
            if n == 0:
                return f"{len(live)} allocation(s) of pool {pool} live or pending: no successor needed"
            options = dict(fresh.definition.get("options") or {})
            launch = chosen.launch(root, n, job_name=name, worker_args=("--pool", pool), **options)
            fault_point("pool.submitted")
            queue.lock.check_held()
            ledger.append({"op": "submitted", "ids": launch.job_ids, "n": n, "gen": gen + 1, "by": task or "?",
                           "t": time.time()})
            return f"submitted {n} successor(s) to pool {pool}: {', '.join(launch.job_ids)}"

    return retry_lock_lost(decide)


def stop_pools(root: Path, why: str) -> list[str]:
    """Record every pool of the project as stopped (``cancel``); return their names."""
    from ..store import PoolLedger, Queue, pool_names, read_project_json

    names = pool_names(root)
    if not names:
        return []
    queue = Queue(root, read_project_json(root)["settings"])
    with queue.lock:
        for name in names:
            ledger = PoolLedger(root, name)
            if ledger.read().stopped is None:
                ledger.append({"op": "stopped", "why": why, "t": time.time()})
    return names
