"""A worker's lease: its heartbeat, its clock, and the sign that it was revoked.

The lease (``workers/<id>/lease.json``, written by :func:`benchgrid.store.write_lease`)
says what this worker holds and runs. A heartbeat thread rewrites it every
``lease_s / 4`` with a ``beat`` counter one higher: readers judge a worker
alive by seeing the lease change, by their own clock (invariant 10, the rule
is :func:`benchgrid.store.is_dead`), never by comparing its ``heartbeat``
time with theirs. A worker that froze past its lease finds a ``revoked``
file in its folder (another worker put its jobs back): it stops, and the
attempt fencing already keeps its late results out.

At start the worker measures its clock against the file server's
(:func:`benchgrid.store.clock_offset_s`) and refuses to start when it is off
by more than :data:`benchgrid.store.MAX_CLOCK_OFFSET_S`.
"""

from __future__ import annotations

import os
import signal
import socket
import time

from .._errors import InputError
from ..store import write_lease
from ..store import MAX_CLOCK_OFFSET_S, clock_offset_s, timed
from ._memory import grid_engine_messages
from ._worker_state import WorkerState

__all__ = ["LeaseKeeper"]

class _Revoked(Exception):
    pass




class LeaseKeeper(WorkerState):
    """The lease part of a worker: write it, keep it beating, measure the clock, notice a revocation."""

    def _write_lease(self, state: str = "running") -> None:
        running = self._running
        with self._lease_lock, timed():  # a write that stalls (a paused file server) is noted: see store.storage._observe
            self._beats += 1
            write_lease(
                self.dir,
                {
                    "worker": self.worker_id,
                    **self._identity,  # type: ignore[typeddict-item]  # host, boot, pid, pid_start: Lease keys
                    "state": state,
                    "heartbeat": time.time(),  # for people: readers judge by the beat changing (invariant 10)
                    "beat": self._beats,
                    "clock_offset_s": self._clock_offset_s,  # this host's clock minus the file server's, at start
                    "lease_s": self.lease_s,
                    "started": self.summary_started,
                    "held": [c.to_list() for c in self._held],
                    "claim_offset": self._claim_offset,
                    "current": None if running is None else [running.claim.job_id, running.claim.attempt, running.t0],
                    "until": self.until,
                    "mem_gb": self.mem_gb,
                    "resources": self.resources,
                    "oom": self._oom_watch,  # issue 13: the cgroup's OOM counter as of the last claim
                    "supervisor": self._supervisor,
                    # set by the backend's job script (SLURM: 123_4, Grid Engine: 123.4)
                    "scheduler_job_id": os.environ.get("BENCHGRID_SCHEDULER_JOB_ID"),
                    # the job's log, where the scheduler says it killed the job for memory (issue 13)
                    "scheduler_log": os.environ.get("BENCHGRID_SCHEDULER_LOG"),
                    "scheduler_messages": grid_engine_messages(),  # where Grid Engine says it killed for memory
                },
            )

    def _check_clock(self) -> None:
        """Measure this host's clock against the file server's; refuse to start when it is broken.

        No decision depends on clocks (invariant 10), but every timestamp this
        worker records does: a clock a day off makes timelines and durations
        across workers meaningless, so such a worker does not start.
        """
        offset = clock_offset_s(self.layout.queue_dir)  # not workers/: readers take each entry there for a worker
        self._clock_offset_s = round(offset, 3)
        if abs(offset) > MAX_CLOCK_OFFSET_S:
            from .._format import fmt_seconds

            raise InputError(
                f"this host's clock ({socket.gethostname()}) is {fmt_seconds(abs(offset))} "
                f"{'ahead of' if offset > 0 else 'behind'} the file server's (measured from a file written in "
                f"{str(self.layout.queue_dir)!r}); it must be within {fmt_seconds(MAX_CLOCK_OFFSET_S)}: "
                "fix the host's time (`chronyc tracking`, `timedatectl`) or run the worker on another node"
            )

    def _heartbeat(self) -> None:
        interval = max(0.05, self.lease_s / 4)
        while not self._stop.wait(interval):
            try:
                self._write_lease()
            except OSError as err:  # a full or flaky disk must not kill the worker; expiry covers it
                self.log.warning("heartbeat failed: %s", err)
            if self.until is not None and time.time() >= self.until and self._running is not None:
                self.log.info("deadline reached while running job %s: handing it back", self._running.claim.job_id)
                os.kill(os.getpid(), signal.SIGUSR1)
                return

    def _check_revoked(self, now: float) -> None:
        """Stop if another worker took this worker's jobs (it froze past its lease).

        Checked at most every 0.2 s: fencing by attempt already keeps a late
        result out, so this only saves work, and a stat per job would not.
        """
        if now - self._revoked_checked < 0.2:
            return
        self._revoked_checked = now
        if os.path.exists(self._revoked_path):
            raise _Revoked
