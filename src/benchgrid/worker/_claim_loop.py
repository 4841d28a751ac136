"""The claim loop: claim a batch of jobs, run each, record its result; until none is left.

The claim protocol itself lives in :mod:`benchgrid.store.storage._queue`; this is
its client. Each turn of the loop looks for dead workers now and then
(:meth:`ClaimLoop._expiry_interval`), claims a batch sized so that a claim
is a small share of the work it hands out (:meth:`ClaimLoop._batch_size`),
publishes the batch in its lease before it runs a job, and runs the jobs one
by one. A runner's error is recorded with its traceback and the loop goes on
(invariant 5); a result is written under ``_io`` and only while this worker
still holds the job. With a deadline (``until``) only jobs expected to end
before it are claimed, and a job too long for this worker's whole limit is
moved to a longer time class rather than left blocking its lane
(:func:`._capacity.move_too_long`, issue 21). A job in the caller's
process (``run(n_workers=0)``) is timed by an alarm (:mod:`._alarm`).
"""

from __future__ import annotations

import os
import random
import sys
import time
import traceback
from typing import Any, cast

from ..store import expire_dead_workers
from ..store import live_workers_seen, unconfirmed_workers
from ..store import NO_FIT, Capacity, Claim
from ..store import done_record, error_record
from ..store import encode
from ._alarm import JobTimedOut, job_time_limit
from ._capacity import move_too_long
from ._memory import oom_evidence, oom_watch
from ._context import _SeedOnDemand, reset_current_job, set_current_job
from ._worker_state import _Running
from ._guards import Guards

__all__ = ["ClaimLoop", "BIG_RESULT_BYTES", "UNCONFIRMED_LOOK_S"]

UNCONFIRMED_LOOK_S = 1.0  # how often a worker with nothing to claim looks at peers it has not yet seen alive
# a result record above this goes in all the same, with a warning naming the job: events.log is read
# whole by status, results and check, so a runner should save big outputs to files and return their paths
BIG_RESULT_BYTES = 1_000_000


class ClaimLoop(Guards):
    """The working part of a worker: claim, run, record, loop."""

    def _publish(self, claims: list[Claim], offset: int) -> None:
        if self._oom_watch is not None:
            self._oom_watch = oom_watch()  # an OOM kill counted after this is one of these jobs'
        self._held = list(claims)
        self._claim_offset = offset
        self._finished = set()
        self._write_lease()

    def _capacity(self) -> Capacity:
        """What this worker has: the jobs it may claim (:func:`benchgrid.store.may_claim`)."""
        limit_s = None if self.until is None else self.until - self.allocation_started
        return Capacity(self.mem_gb, limit_s, self.resources)

    def _fits(self, row: dict[str, Any]) -> bool:
        if self.until is None:
            return True
        expected = self.durations.estimate(row["params"])
        return expected is None or time.time() + expected <= self.until

    def _expiry_interval(self) -> float:
        """Seconds until this worker next looks for dead workers.

        A scan reads every worker's lease, so W workers scanning each second
        cost the file server O(W²) requests per second (1.6 per 20 ms job at
        W = 16, issue 25). With up to 16 workers the scans together come
        about twice a second: every ``W / 2`` seconds each, at least every
        second and at most every ``lease_s / 4`` (a dead worker on this host
        is back within a second with one or two workers, within ``W / 2``
        seconds with more; ``run``'s supervisor sees its own at once); with
        many (a 1,000-task array) about 16 scans per ``lease_s / 2`` in all.
        Jittered, so that workers started together do not scan together.
        """
        n_workers = live_workers_seen(self.root)  # running ones at the last look; before it, every folder
        if not n_workers:
            try:
                n_workers = len(os.listdir(self.layout.workers_dir))
            except OSError:
                n_workers = 1
        if n_workers <= 16:
            base = max(min(self.lease_s / 2, 1.0), min(n_workers / 2, self.lease_s / 4))
        else:
            base = self.lease_s / 2 * n_workers / 16
        return base * random.uniform(0.75, 1.25)

    def _batch_size(self) -> int:
        """Jobs per claim: at least ``claim_target_s`` of work, and a claim at most ~5% of what it hands out.

        A claim costs the file server some 40 requests (lock, cursor, lease,
        claim record), so short jobs go out by the half-second: about 2
        requests per 20 ms job instead of 10 (issue 25, docs/performance.md);
        the last claims are capped at a share of what is left (:meth:`Queue.claim`).

        A claim's cost is measured (lock wait included), so when many workers
        contend for the lock on a slow shared filesystem, each claims more jobs
        at once and the lock is taken less often: throughput keeps up with the
        number of workers instead of collapsing into lock waits.
        """
        if self._mean_s is None:
            return 1
        target_s = max(self.claim_target_s, 20 * (self._claim_cost_s or 0.0))
        return max(1, min(self.max_batch, int(target_s / max(self._mean_s, 1e-6))))

    def _warn_big_result(self, claim: Claim, n_bytes: int) -> None:
        text = (
            f"job {claim.job_id} attempt {claim.attempt}: its result is {n_bytes / 1e6:.1f} MB, stored in "
            f"{self.dir / 'events.log'}, which status, results and check read whole; "
            "save big outputs to files and return their paths (or a summary)"
        )
        self.log.warning("%s", text)
        print(f"benchgrid: warning: {text}", file=sys.stderr, flush=True)

    def _run_one(self, claim: Claim, row: dict[str, Any]) -> None:
        ctx = _SeedOnDemand(self.root, claim.job_id, claim.attempt, self.worker_id, self._random_state, row["key"])
        self._running = _Running(claim, row["params"])
        t0 = self._running.t0
        token = set_current_job(ctx)
        try:
            # a worker process is timed by its watchdog; a job in the caller's process (n_workers=0) by an alarm
            with job_time_limit(None if self._handles_signals and self.owns_process else self.job_timeout_s):
                result = self.runner(**row["params"])
            if result is None:
                result = {}
            if not isinstance(result, dict):
                raise TypeError(f"the runner must return a dict or None, got {type(result).__name__}")
            # the record itself, not a copy (this is once per job): the loop adds t1, or swaps it for an error
            record: dict[str, Any] = cast("dict[str, Any]", done_record(claim.job_id, claim.attempt, t0, result))
        except MemoryError as err:
            record = self._out_of_memory_record(claim, t0, err)
        except JobTimedOut as err:
            record = {"op": "timeout", "why": str(err)}
        except (Exception, SystemExit, KeyboardInterrupt) as err:  # noqa: BLE001 - recorded; the worker goes on
            if isinstance(err, KeyboardInterrupt) and not self._handles_signals:
                raise  # without the signal thread (in-process, debug mode) Ctrl-C is the user's, not the runner's
            record = dict(error_record(claim.job_id, claim.attempt, t0, f"{err.__class__.__name__}: {err}",
                                       traceback.format_exc()))
        finally:
            reset_current_job(token)
            if self._signals is not None:
                self._signals.reassert()  # a job's asyncio loop or library may have taken them
        if record["op"] == "error":
            self._give_way_to_a_hand_back()  # the job's processes may have died by the signal that ends this worker
        record["t1"] = time.time()
        if record["op"] == "timeout":  # a lost run, as the watchdog counts it in a worker process
            with self._io:
                self._lose_run(claim, t0, record["why"])
                self._running = None
            return
        if record["op"] == "escalate":
            with self._io:
                if self._running is None or self._running.claim != claim:
                    return  # the watchdog stopped this job (timeout) and is ending the process
                self._escalate([claim], record["why"], t0)
                self._running = None
            return
        try:
            data = encode(record)
        except (TypeError, ValueError, RecursionError) as err:  # a result JSON cannot hold (or one that holds itself)
            msg = f"the runner's result cannot be stored: {err.__class__.__name__}: {err}"
            record = {k: v for k, v in record.items() if k != "r"} | {"op": "error", "err": msg, "tb": msg}
            data = encode(record)
        if len(data) > BIG_RESULT_BYTES:
            self._warn_big_result(claim, len(data))
        with self._io:
            self._check_revoked(record["t1"])
            if self._running is None or self._running.claim != claim:
                return  # the watchdog stopped this job (timeout) and is ending the process
            self.events.write(data)
            self._finished.add((claim.job_id, claim.attempt))
            self._running = None
        elapsed = record["t1"] - t0
        self.summary.busy_s += elapsed
        self._mean_s = elapsed if self._mean_s is None else 0.8 * self._mean_s + 0.2 * elapsed
        if record["op"] == "done":
            self.summary.done += 1
            if self.until is not None:  # the duration model serves the walltime rule only
                self.durations.observe(row["params"], elapsed)
        else:
            self.summary.errors += 1
            self.log.error("job %d attempt %d failed:\n%s", claim.job_id, claim.attempt, record["tb"])

    def _loop(self) -> str:
        next_expiry = 0.0
        next_duration_refresh = 0.0
        n_run = 0
        while True:
            now = time.time()
            if self.max_jobs is not None and n_run >= self.max_jobs:
                return f"job budget of {self.max_jobs} reached"
            if self.until is not None and now >= self.until:
                return "deadline reached"
            if now >= next_expiry:
                expire_dead_workers(self.queue, by=self.worker_id, out_of_memory=oom_evidence)
                next_expiry = now + self._expiry_interval()
            if self.until is not None and now >= next_duration_refresh:
                self.durations.refresh(lambda j: self.queue.jobs.get(j)["params"], skip=self.worker_id)
                next_duration_refresh = now + 30
            budget = self._batch_size()
            if self.max_jobs is not None:
                budget = min(budget, self.max_jobs - n_run)
            with self._io:
                self._check_revoked(now)
                fits = self._fits if self.until is not None else None
                t_claim = time.perf_counter()
                claims = self.queue.claim(self.worker_id, budget, fits, self._publish, capacity=self._capacity(),
                                          n_workers=live_workers_seen(self.root))
                cost = time.perf_counter() - t_claim
                self._claim_cost_s = cost if self._claim_cost_s is None else 0.8 * self._claim_cost_s + 0.2 * cost
            if claims is NO_FIT:
                if move_too_long(self):  # issue 21: a job too long for this worker no longer blocks its lane
                    continue
                return "no remaining job is expected to finish before the deadline"
            if not claims:
                if expire_dead_workers(self.queue, by=self.worker_id, out_of_memory=oom_evidence):
                    continue
                if self._supervisor is None and unconfirmed_workers(self.root, exclude=self.worker_id):
                    # a worker on another machine that we have not yet seen alive may be dead holding
                    # jobs, which only a watcher puts back: watch it change (it lives) or expire
                    self._stop.wait(UNCONFIRMED_LOOK_S)
                    continue
                return "no job left"
            self.summary.claims += 1
            for claim in claims:
                if self.until is not None and time.time() >= self.until:
                    break  # the rest is handed back on exit
                self._run_one(claim, self.queue.jobs.get(claim.job_id))
                n_run += 1
            if self.until is not None and time.time() >= self.until:
                return "deadline reached"
