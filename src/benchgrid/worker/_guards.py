"""The guards of a running job: its time limit (the watchdog) and the worker's memory budget.

The watchdog thread stops a job running longer than ``job_timeout_s``: the
job counts a lost run "timed out after N s", its child processes are
killed, and the process starts afresh (a job stuck in C code cannot be
stopped from another thread). In the caller's process (``run(n_workers=0)``)
an alarm raises in the job instead (:mod:`._alarm`).

The memory guard thread stops a job before the kernel or the scheduler kills
the worker for memory: above 95% of the budget the job goes to a larger
memory lane (not a lost run), the other held jobs are handed back, and the
worker exits with :data:`EXIT_OUT_OF_MEMORY` (inside a scheduler allocation
its parent starts a new one: :mod:`._in_allocation`). A ``MemoryError`` raised by the job escalates it the
same way, from the main thread. (Moving a job to a larger class is the
hand-back's :meth:`~._hand_back.HandBack._escalate`: Grid Engine's notice of
an ``h_vmem`` kill does it too.)
"""

from __future__ import annotations

import logging
import os
import sys
import time
import traceback
from typing import Any

from .._errors import is_disk_full
from .._exitcodes import EXIT_DISK_FULL, EXIT_WORKER_RESTART
from ..store import N_LANES, lane_above
from ..store import lose_runs
from ..store import Claim
from ..store import error_record, handback_record
from ._alarm import timeout_reason
from ._capacity import lane_class
from ._memory import rss_gb
from ._procs import kill_job_processes
from ._worker_state import _Running
from ._hand_back import HandBack

__all__ = ["Guards", "EXIT_OUT_OF_MEMORY"]

EXIT_OUT_OF_MEMORY = EXIT_WORKER_RESTART  # the memory guard stopped this worker; its job went to a larger class


def _fmt_gb(gb: float | None) -> str:
    return "unknown" if gb is None else f"{gb:.2f} GB"


class Guards(HandBack):
    """The guarding part of a worker: time a job out, escalate a job that ran out of memory."""

    def _watchdog(self) -> None:
        """Stop the running job once it passes ``job_timeout_s`` (see :meth:`_time_out`)."""
        assert self.job_timeout_s is not None
        tick = min(1.0, max(0.01, self.job_timeout_s / 20))
        while not self._stop.wait(tick):
            running = self._running
            if running is not None and time.time() - running.t0 > self.job_timeout_s:
                self._time_out(running)

    def _time_out(self, running: _Running) -> None:
        """Count the lost run, kill the job's processes and start this process afresh.

        A job stuck in C code cannot be interrupted from another thread, so
        the process ends; the lost run is written before the worker's own
        event (a crash between the two wastes one attempt, never loses the job).
        """
        with self._io:
            if self._running is not running or self._ended:
                return  # it finished meanwhile
            claim = running.claim
            why = timeout_reason(self.job_timeout_s)  # type: ignore[arg-type]  # the watchdog runs with a limit
            code = EXIT_WORKER_RESTART
            try:
                with self.queue.lock:
                    lose_runs(self.queue, [claim], reason=why, source=self.worker_id)
                self.events.append(handback_record(claim.job_id, claim.attempt, running.t0, time.time(), why, lost=True))
                self._finished.add((claim.job_id, claim.attempt))
                self.summary.errors += 1
                self.log.error("job %d attempt %d %s: stopped; restarting the worker", claim.job_id, claim.attempt, why)
                self._hand_back("worker restarts after a job timeout")
                self._close("exited")
            except OSError as err:
                if not is_disk_full(err):
                    raise
                self.log.error("disk full while stopping job %d: %s", claim.job_id, err)
                code = EXIT_DISK_FULL
            self._ended = True
            kill_job_processes()
            logging.shutdown()
            if code == EXIT_WORKER_RESTART and self.restart_argv:
                os.execv(sys.executable, [sys.executable, *self.restart_argv])
            os._exit(code)

    def _out_of_memory_record(self, claim: Claim, t0: float, err: MemoryError) -> dict[str, Any]:
        """A MemoryError escalates the job to a larger memory lane, or is a job error when none is left."""
        why = f"out of memory (MemoryError) with a budget of {_fmt_gb(self.mem_gb)} ({self.mem_source})"
        if self._lanes and lane_above(lane_class(self.queue, claim.lane).mem, self.mem_gb) < N_LANES:
            return {"op": "escalate", "job": claim.job_id, "a": claim.attempt, "t0": t0, "why": why}
        return dict(error_record(claim.job_id, claim.attempt, t0, f"MemoryError: {err} ({why})", traceback.format_exc()))

    def _memory_guard(self) -> None:
        """Stop a job before the kernel or the scheduler kills the worker for memory.

        Above 95% of the budget while a job runs, the job is put back in a
        larger lane, the other held jobs are handed back, and the worker
        exits (the job's memory cannot be taken back from the thread that
        runs it); a supervisor or the next worker goes on.
        """
        assert self.mem_gb is not None
        limit = 0.95 * self.mem_gb
        while not self._stop.wait(0.1):
            running = self._running
            if running is None or rss_gb() <= limit:
                continue
            with self._io:
                if self._ended or self._running is not running:
                    continue
                why = f"out of memory: {rss_gb():.2f} GB used with a budget of {_fmt_gb(self.mem_gb)} ({self.mem_source})"
                self._escalate([running.claim], why, running.t0)
                self._hand_back("worker stopped by the memory guard")
                self._close("exited")
                self._ended = True
                # still holding _io: the main thread, whose job's processes die now, claims nothing more
                if self.owns_process:
                    kill_job_processes()
                logging.shutdown()
                os._exit(EXIT_OUT_OF_MEMORY)  # under a scheduler, --restart-crashed's parent starts a new worker
