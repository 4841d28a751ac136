"""Signals and hand-back: a worker told to stop puts its unfinished jobs back (invariant 4).

A worker started as its own process (``benchgrid work``) routes SIGTERM,
SIGINT, SIGUSR1 and SIGUSR2 to a dedicated thread (:mod:`._signals`: a pipe
the interpreter writes each signal into, nothing blocked for the job's
processes), so a job stuck in C code (a long ``fit``) is still handed
back at once: that thread waits for the main thread to leave its short
critical section (``_io``), puts the unfinished claims back with attempt + 1
(fencing this worker out) and exits the process.

SIGUSR1 (SLURM's ``--signal``) and SIGUSR2 (Grid Engine's ``-notify``) say the
allocation is ending: the running job counts a hand-back at the limit, never
a lost run; a job handed back there twice (or once when it is expected to
take longer than the allocation, or ran nearly all of it; a run cut before
half the limit does not count) moves to a longer
time class, or is failed with the time it needs when no worker has more
(:func:`._capacity.at_limit_fate`, issue 21). SLURM sends its warning up to a
minute early: a worker that knows its deadline works on until then
(:mod:`._allocation`). Grid Engine's SIGUSR2 also comes before its kill for
``h_vmem``: its execd's messages say which, and the job moves to a larger
memory class (issue 23). However the worker ends, ``on_end`` is called once.
"""

from __future__ import annotations

import logging
import os
import signal
import time

from .._errors import DiskFull, is_disk_full
from ..store import fault_point
from ..store import MEM_CLASSES_GB, N_LANES, OUT_OF_MEMORY, Claim, lane_above, lose_runs
from ..store import handback_record
from ._allocation import ran_whole_allocation, warning_is_early
from ._capacity import at_limit_fate, lane_class, memory_lane_above
from ._memory import memory_kill_notice
from ._procs import kill_job_processes
from ._lease_keeper import LeaseKeeper
from ._signals import HANDBACK_SIGNALS, RELEASED, HandbackSignals

__all__ = ["HandBack", "HANDBACK_SIGNALS"]


class HandBack(LeaseKeeper):
    """The ending part of a worker: wait for a signal, hand back what is unfinished, close, call ``on_end``."""

    def _signal_thread(self, signals: HandbackSignals) -> None:
        signum = signals.wait()
        while signum == signal.SIGUSR1 and not self._ended and warning_is_early(self.until, time.time()):
            # SLURM sends its warning up to a minute early; this worker knows its deadline (see _allocation)
            self.log.info("SIGUSR1 came %.0f s before this worker's deadline: working on until then",
                          (self.until or 0.0) - time.time())
            signum = signals.wait()
        if signum == RELEASED:  # run() has ended and woke this thread up to let it go
            return
        self._handing_back.set()  # a job failing now failed by this signal: see _give_way_to_a_hand_back
        name = signal.Signals(signum).name
        with self._io:  # let the main thread finish recording or claiming
            if self._ended:  # run() has ended meanwhile
                return
            # Grid Engine notifies (USR2) before a kill for memory (h_vmem) too: its execd says which (issue 23)
            running, oom = self._running, memory_kill_notice(self.summary_started) if signum == signal.SIGUSR2 else None
            if oom is not None and running is not None:
                if self._lanes and lane_above(lane_class(self.queue, running.claim.lane).mem, self.mem_gb) < N_LANES:
                    self._escalate([running.claim], oom, running.t0)  # as SLURM's kill for memory: a larger class
                else:
                    self._lose_run(running.claim, running.t0, oom)
            # the scheduler's warning signal (SLURM's B:USR1, Grid Engine's USR2), or a signal once the deadline passed
            at_limit = oom is None and (
                signum in (signal.SIGUSR1, signal.SIGUSR2) or (self.until is not None and time.time() >= self.until - 5))
            n = self._hand_back(f"signal {name}", at_limit=at_limit)
            self.log.info("received %s: handed back %d job(s); exiting", name, n)
            self._close("exited")
            self.summary.reason = f"signal {name}: handed back {n} job(s)" + (f" ({oom})" if oom else "")
            self._end_hook()
            # still holding _io until the process ends: the main thread claims nothing more (a claim
            # made now would be lost with the process, its job stranded until the lease expires)
            if self.owns_process:
                kill_job_processes()
            logging.shutdown()
            os._exit(130 if signum == signal.SIGINT else 0)

    def _give_way_to_a_hand_back(self) -> None:
        """Called by the main thread before it records a job's error: a hand-back signal under way goes first.

        The scheduler signals every process of the allocation at once
        (SLURM's time limit and ``scancel``, Grid Engine's notify): a job's
        child processes, which no longer block the signals (:mod:`._signals`),
        die by it and the job fails (``BrokenProcessPool``, a
        ``CalledProcessError``), racing the hand-back. That failure is the
        signal's, not the job's: while a signal waits in the pipe or the
        signal thread is handing back, this waits, and the signal thread
        hands the job back and ends the process. An early SLURM warning, read
        and ignored, lets the error be recorded.
        """
        signals = self._signals
        if signals is None:
            return
        unread_until = time.monotonic() + 10.0  # a signal the signal thread does not read (it died): go on
        while self._handing_back.is_set() or (signals.pending() and time.monotonic() < unread_until):
            time.sleep(0.005)  # the signal thread hands back and ends the process

    def _end_hook(self) -> None:
        """Call ``on_end`` once; its failure is logged, never raised (the worker is ending anyway)."""
        hook, self._on_end = self._on_end, None
        if hook is None:
            return
        try:
            hook(self.summary)
        except Exception as err:  # noqa: BLE001 - a pool that cannot decide must not turn an end into a crash
            self.log.error("on_end failed: %s: %s", type(err).__name__, err)

    def _hand_back(self, why: str, at_limit: bool = False) -> int:
        """Put back held claims not finished (attempt + 1 fences this worker out).

        Under the lock, and skipping what a recoverer already put back (it
        may have taken this worker for dead: a freeze, a stale heartbeat).
        ``at_limit``: the allocation is ending (its warning signal, its
        deadline): the running job counts a hand-back at the limit, never a
        lost run (issue 21); a job handed back there twice, or once when its
        expected duration is longer than the allocation, cannot fit in allocations this long
        and is failed with the time it needs, instead of being started again
        by every allocation and starving the jobs behind it.
        """
        unfinished = [c for c in self._held if (c.job_id, c.attempt) not in self._finished]
        if not unfinished:
            return 0
        now = time.time()
        running = self._running
        back: list[Claim] = []
        failed: list[tuple[Claim, str]] = []
        for c in unfinished:
            again = Claim(c.job_id, c.attempt + 1, c.lost, c.lane, c.at_limit)
            if at_limit and running is not None and running.claim == c and self.until is not None:
                # issue 21: back in its lane, on to a longer time class, or failed with the time it needs
                expected = self.durations.estimate(self.queue.jobs.get(c.job_id)["params"])
                limit_s = max(1.0, self.until - self.allocation_started)
                again, why_failed = at_limit_fate(self.queue, c, limit_s=limit_s, expected_s=expected,
                                                  ran_s=now - running.t0, root=self.root,
                                                  ran_whole=ran_whole_allocation(now - running.t0, limit_s=limit_s))
                if why_failed is not None:
                    failed.append((again, why_failed))
                    continue
            back.append(again)
        new = {(c.job_id, c.attempt - 1) for c in self.queue.put_back(back, "handback", self.worker_id, failed=failed)}
        for c in unfinished:
            t0 = running.t0 if running is not None and running.claim == c else None
            self.events.append(handback_record(c.job_id, c.attempt, t0, now, why))
            self._finished.add((c.job_id, c.attempt))
        fault_point("handback.recorded")
        self.summary.handed_back += len(new)
        return len(new)

    def _escalate(self, claims: list[Claim], why: str, t0: float | None) -> int:
        """Put jobs that ran out of memory back in a larger lane (not a lost run); call holding ``_io``."""
        above = [memory_lane_above(self.queue, c.lane, self.mem_gb) or (c.lane, N_LANES - 1) for c in claims]
        bigger = [Claim(c.job_id, c.attempt + 1, c.lost, lane) for c, (lane, _mem) in zip(claims, above)]
        new: list[Claim] = []
        for b, (_lane, mem) in zip(bigger, above):  # the reason names its new class; status shows it
            reason = f"{why}; moved to the {MEM_CLASSES_GB[mem]:g} GB class"
            new += self.queue.put_back([b], OUT_OF_MEMORY, self.worker_id, reason=reason)
        now = time.time()
        for c, (_lane, mem) in zip(claims, above):
            gb = MEM_CLASSES_GB[mem]
            self.events.append(handback_record(c.job_id, c.attempt, t0, now, f"{why}: moved to the {gb:g} GB class"))
            self._finished.add((c.job_id, c.attempt))
            self.log.warning("job %d attempt %d: %s; moved to the %g GB class", c.job_id, c.attempt, why, gb)
        self.summary.handed_back += len(new)
        return len(new)

    def _lose_run(self, claim: Claim, t0: float, why: str) -> None:
        """Count a lost run of the running job (failed after ``max_attempts``); call holding ``_io``."""
        with self.queue.lock:
            lose_runs(self.queue, [claim], reason=why, source=self.worker_id)
        self.events.append(handback_record(claim.job_id, claim.attempt, t0, time.time(), why, lost=True))
        self._finished.add((claim.job_id, claim.attempt))
        self.summary.errors += 1

    def _where(self) -> str:
        """What a failed write without a file name was writing: this worker's folder or the project's queue."""
        return repr(str(self.dir)) if self.events.torn else repr(str(self.layout.queue_dir))

    def _finish(self) -> None:
        """Hand back what is unfinished and mark the lease exited; on a full disk leave it running.

        A lease left "running" with jobs in it is expired later (by the
        supervisor at once, or by any worker after ``lease_s``), so nothing is
        lost when the hand-back itself cannot be written.
        """
        try:
            if self._hand_back("worker stopped"):
                self.log.info("handed back unfinished jobs")
            self._close("exited")
        except OSError as err:
            if not is_disk_full(err):
                raise
            self.disk_full = self.disk_full or DiskFull.from_os_error(err, self._where())
            self.summary.reason = str(self.disk_full)
            self.events.close(quiet=True)

    def _close(self, state: str) -> None:
        self._held = [c for c in self._held if (c.job_id, c.attempt) not in self._finished]
        self._running = None
        self._write_lease(state)
        self.events.close()
