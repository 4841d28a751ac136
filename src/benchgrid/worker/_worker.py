"""One worker: claim jobs, run them, record results, until none is left.

The loop, the heartbeat and the signals live here; the claim protocol lives
in :mod:`benchgrid.store._queue`. A worker started as its own process
(``benchgrid work``) blocks SIGTERM, SIGINT, SIGUSR1 and SIGUSR2 in every thread and
waits for them in a dedicated thread, so a job stuck in C code (a long
``fit``) is still handed back at once: that thread waits for the main
thread to leave its short critical section, puts the unfinished claims back
with attempt + 1 and exits the process.
"""

from __future__ import annotations

import logging
import math
import os
import random
import re
import secrets
import signal
import socket
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence, cast

from .._errors import DiskFull, InputError, is_disk_full
from .._exitcodes import EXIT_DISK_FULL, EXIT_WORKER_RESTART
from ..store import check_project_files
from ..store import Layout, read_project_json
from ..store import fault_point
from ..store import MEM_CLASSES_GB, N_LANES, lane_above
from ..store import SUPERVISOR_ENV, expire_dead_workers, process_identity, write_lease
from ..store import MAX_CLOCK_OFFSET_S, clock_offset_s, live_workers_seen, timed, unconfirmed_workers
from ..store import OUT_OF_MEMORY, lose_runs
from ..store import NO_FIT, Claim, Queue
from ..store import done_record, error_record, handback_record
from ..store import encode
from ..store import ProjectSettings
from ._memory import budget_gb, oom_evidence, oom_watch, rss_gb
from ..store import check_project
from ._code_path import import_runner, use_code_path
from ._context import _SeedOnDemand, reset_current_job, set_current_job
from ._durations import DurationModel
from ._event_log import EventLog
from ._procs import become_group_leader, kill_job_processes

__all__ = ["Worker", "WorkerSummary", "load_runner", "HANDBACK_SIGNALS"]

# SIGUSR1: SLURM's warning (--signal); SIGUSR2: Grid Engine's (-notify, at h_rt and before qdel's kill)
HANDBACK_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1, signal.SIGUSR2)
EXIT_OUT_OF_MEMORY = EXIT_WORKER_RESTART  # the memory guard stopped this worker; its job went to a larger class


def _fmt_gb(gb: float | None) -> str:
    return "unknown" if gb is None else f"{gb:.2f} GB"


def load_runner(spec: str, code_path: Sequence[str] = (), skipped: Sequence[str] = ()) -> Callable[..., Any]:
    """Import ``"package.module:function"`` (:func:`~._code_path.import_runner`: one message for every failure).

    ``code_path`` (the folders searched besides the installed packages) and
    ``skipped`` (folders refused, with the reason) only make the error
    message say where the module was looked for.

    Examples
    --------
    >>> load_runner("os.path:join")("a", "b")
    'a/b'
    >>> load_runner("os.path")
    Traceback (most recent call last):
    ...
    benchgrid._errors.InputError: runner must look like 'package.module:function', got 'os.path'
    """
    return import_runner(spec, code_path, skipped)  # type: ignore[no-any-return]


@dataclass
class WorkerSummary:
    """What one worker did."""

    worker_id: str
    done: int = 0
    errors: int = 0
    handed_back: int = 0
    claims: int = 0
    reason: str = ""
    seconds: float = 0.0
    busy_s: float = 0.0  # seconds spent in jobs that ended here (a pool's efficiency: busy / allocated)


def _supervisor_of_env() -> dict[str, Any] | None:
    """The supervising process named by ``BENCHGRID_SUPERVISOR`` ("pid:start time"), if any."""
    text = os.environ.get(SUPERVISOR_ENV, "")
    pid, _, start = text.partition(":")
    return {"pid": int(pid), "pid_start": start} if pid.isdigit() and start else None


class _Revoked(Exception):
    pass


AT_LIMIT_TIMES = 2  # hand-backs at the walltime limit after which a job is failed as too long for these allocations
UNCONFIRMED_LOOK_S = 1.0  # how often a worker with nothing to claim looks at peers it has not yet seen alive
# a result record above this goes in all the same, with a warning naming the job: events.log is read
# whole by status, results and check, so a runner should save big outputs to files and return their paths
BIG_RESULT_BYTES = 1_000_000


class _Running:
    """The job this worker runs now (the watchdog reads it to time it out)."""

    __slots__ = ("claim", "params", "t0")

    def __init__(self, claim: Claim, params: dict[str, Any]) -> None:
        self.claim, self.params, self.t0 = claim, params, time.time()


class Worker:
    """A worker on one project directory.

    Parameters
    ----------
    root : path
        The project directory.
    name : str, optional
        A readable prefix of the worker id (default: the host name).
    max_jobs : int, optional
        Stop after this many jobs.
    until : float, optional
        Unix time after which no job is started; jobs not expected to finish
        by then are not claimed, and a job running at that time is handed back.
    default_job_s : float, optional
        Expected seconds of a job whose kind has not been seen yet (walltime rule).
    job_timeout_s : float, optional
        Stop a job running longer than this (default: the project's
        ``job_timeout_s`` setting, None for no limit). The job counts a lost
        run "timed out after N s" (failed after ``max_attempts``), its child
        processes are killed, and the worker process starts afresh: it
        re-executes ``restart_argv`` when given, else it exits with
        :data:`~benchgrid._exitcodes.EXIT_WORKER_RESTART` for its supervisor
        to start another. Enforced only when the worker owns its process
        (``owns_process=True``).
    restart_argv : list of str, optional
        The command line that starts this worker again (``benchgrid work``).
    owns_process : bool
        This process exists only to be this worker (``benchgrid work``): it
        may lead its own process group, kill the job's child processes and
        end itself when a job passes its time limit. False when called
        in-process (tests, notebooks).
    trust_owner : bool, default=False
        Work on a project owned by another user (see :mod:`benchgrid.store._trust`).
    on_end : callable, optional
        ``on_end(summary)`` is called once when the worker ends, however it
        ends (no job left, its deadline, a hand-back signal, its memory
        guard), before the process goes: a self-sustaining pool decides the
        allocation's successors there (issue 21).

    Examples
    --------
    >>> # Worker("proj", name="laptop").run()   # what `benchgrid work proj` does
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        name: str | None = None,
        max_jobs: int | None = None,
        until: float | None = None,
        default_job_s: float | None = None,
        max_batch: int = 1024,
        claim_target_s: float = 0.5,
        mem_gb: float | None = None,
        job_timeout_s: float | None = None,
        restart_argv: list[str] | None = None,
        on_end: Callable[["WorkerSummary"], None] | None = None,
        owns_process: bool = False,
        trust_owner: bool = False,
    ):
        self.root = Path(root).absolute()
        check_project(self.root, trust_owner=trust_owner)  # before any of its code is loaded
        self.info = read_project_json(self.root)
        self.settings = ProjectSettings.of(self.info["settings"])
        self._random_state = int(self.info["random_state"])
        if max_jobs is not None and max_jobs < 1:
            raise InputError(f"max_jobs must be >= 1, got {max_jobs!r}")
        if max_batch < 1:
            raise InputError(f"max_batch must be >= 1, got {max_batch!r}")
        self.max_jobs = max_jobs
        self.until = until
        if job_timeout_s is None:
            job_timeout_s = self.settings.job_timeout_s
        if job_timeout_s is not None and not (
            isinstance(job_timeout_s, (int, float)) and 0 < job_timeout_s < float("inf")
        ):
            raise InputError(f"job_timeout_s must be a number of seconds > 0, got {job_timeout_s!r}")
        self.job_timeout_s = None if job_timeout_s is None else float(job_timeout_s)
        self.restart_argv = restart_argv
        self._on_end = on_end
        self.owns_process = owns_process
        self.disk_full: DiskFull | None = None
        self._own_process = False
        self.max_batch = max_batch
        self.claim_target_s = claim_target_s
        if mem_gb is not None and not (isinstance(mem_gb, (int, float)) and math.isfinite(mem_gb) and mem_gb > 0):
            raise InputError(f"mem_gb must be a number of GB > 0, got {mem_gb!r}")
        self.mem_gb, self.mem_source = budget_gb(mem_gb)
        self._oom_watch = oom_watch()
        self._lanes = bool(self.settings.memory_key)
        self.layout = Layout(self.root)
        check_project_files(self.root)  # a damaged queue or table is reported, not read as 'no job'
        self.queue = Queue(self.root, self.settings)
        self.queue.jobs.max_parts = 4  # the parts it claims from and a put-back job's: memory flat in N
        skipped = use_code_path(self.info)  # the user's folders, as recorded at creation
        self.runner = load_runner(self.info["runner"], self.info.get("code_path") or (), skipped)
        self.lease_s = float(self.settings.lease_s)
        self.host = socket.gethostname()
        self._identity = process_identity()
        # issue 10: a supervised worker's death is its supervisor's to record (it knows the signal)
        self._supervisor = _supervisor_of_env()
        prefix = re.sub(r"[^A-Za-z0-9_.-]", "_", name or self.host.split(".")[0])[:40]
        self.worker_id = f"{prefix}-{os.getpid()}-{secrets.token_hex(2)}"
        self.dir = self.layout.worker_dir(self.worker_id)
        self.durations = DurationModel(
            self.root,
            self.settings.duration_key,
            default_job_s if default_job_s is not None else self.settings.default_job_s,
        )
        self.summary = WorkerSummary(self.worker_id)
        self._io = threading.Lock()  # held by the main thread while it claims or records
        self._lease_lock = threading.Lock()
        self._held: list[Claim] = []
        self._claim_offset = -1
        self._finished: set[tuple[int, int]] = set()
        self._running: _Running | None = None
        self._stop = threading.Event()
        self._mean_s: float | None = None
        self._claim_cost_s: float | None = None  # seconds per claim, lock wait included (moving average)
        self._revoked_path = str(self.dir / "revoked")
        self._revoked_checked = 0.0
        self._signals_done = False
        self._clock_offset_s: float | None = None
        self._beats = 0  # numbers every write of the lease: a reader that sees it change knows we live
        self.log = logging.getLogger(f"benchgrid.worker.{self.worker_id}")
        self.events = EventLog(self.dir, self.log)

    # -- files of this worker --------------------------------------------------
    def _write_lease(self, state: str = "running") -> None:
        running = self._running
        with self._lease_lock, timed():  # a write that stalls (a paused file server) is noted: see store._observe
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
                    "oom": self._oom_watch,  # issue 13: the cgroup's OOM counter as of the last claim
                    "supervisor": self._supervisor,
                    # set by the backend's job script (SLURM: 123_4, Grid Engine: 123.4)
                    "scheduler_job_id": os.environ.get("BENCHGRID_SCHEDULER_JOB_ID"),
                    # the job's log, where the scheduler says it killed the job for memory (issue 13)
                    "scheduler_log": os.environ.get("BENCHGRID_SCHEDULER_LOG"),
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

    # -- heartbeat -------------------------------------------------------------
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

    # -- per-job time limit ----------------------------------------------------
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
            if self._running is not running or self._signals_done:
                return  # it finished meanwhile
            claim = running.claim
            why = f"timed out after {self.job_timeout_s:g} s"
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
            self._signals_done = True
            kill_job_processes()
            logging.shutdown()
            if code == EXIT_WORKER_RESTART and self.restart_argv:
                os.execv(sys.executable, [sys.executable, *self.restart_argv])
            os._exit(code)

    # -- signals ---------------------------------------------------------------
    def _signal_thread(self) -> None:
        signum = signal.sigwait(set(HANDBACK_SIGNALS))
        name = signal.Signals(signum).name
        with self._io:  # let the main thread finish recording or claiming
            if self._signals_done:  # run() has ended and woke this thread up to let it go
                return
            # the scheduler's warning signal (SLURM's B:USR1, Grid Engine's USR2), or a signal once the deadline passed
            at_limit = signum in (signal.SIGUSR1, signal.SIGUSR2) or (self.until is not None and time.time() >= self.until - 5)
            n = self._hand_back(f"signal {name}", at_limit=at_limit)
            self.log.info("received %s: handed back %d job(s); exiting", name, n)
            self._close("exited")
            self.summary.reason = f"signal {name}: handed back {n} job(s)"
            self._end_hook()  # holding _io: the main thread claims nothing more meanwhile
        if self.owns_process:
            kill_job_processes()
        logging.shutdown()
        os._exit(130 if signum == signal.SIGINT else 0)

    def _end_hook(self) -> None:
        """Call ``on_end`` once; its failure is logged, never raised (the worker is ending anyway)."""
        hook, self._on_end = self._on_end, None
        if hook is None:
            return
        try:
            hook(self.summary)
        except Exception as err:  # noqa: BLE001 - a pool that cannot decide must not turn an end into a crash
            self.log.error("on_end failed: %s: %s", type(err).__name__, err)

    # -- claims ------------------------------------------------------------------
    def _publish(self, claims: list[Claim], offset: int) -> None:
        if self._oom_watch is not None:
            self._oom_watch = oom_watch()  # an OOM kill counted after this is one of these jobs'
        self._held = list(claims)
        self._claim_offset = offset
        self._finished = set()
        self._write_lease()

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
                limit_s = max(1.0, self.until - self.summary_started)
                n = c.at_limit + 1
                again = Claim(c.job_id, c.attempt + 1, c.lost, c.lane, n)
                expected = self.durations.estimate(self.queue.jobs.get(c.job_id)["params"])
                if n >= AT_LIMIT_TIMES or (expected is not None and expected > limit_s):
                    from .._format import fmt_seconds

                    failed.append((again, f"needs more than {fmt_seconds(limit_s)} (handed back {n} time(s) at the limit, "
                                          f"the last after {fmt_seconds(now - running.t0)}); give it a longer allocation "
                                          f"(submit --time) and `benchgrid retry {self.root} --expired`"))
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

    # -- memory --------------------------------------------------------------------
    def _out_of_memory_record(self, claim: Claim, t0: float, err: MemoryError) -> dict[str, Any]:
        """A MemoryError escalates the job to a larger memory lane, or is a job error when none is left."""
        why = f"out of memory (MemoryError) with a budget of {_fmt_gb(self.mem_gb)} ({self.mem_source})"
        if self._lanes and self._next_lane(claim.lane) < N_LANES:
            return {"op": "escalate", "job": claim.job_id, "a": claim.attempt, "t0": t0, "why": why}
        return dict(error_record(claim.job_id, claim.attempt, t0, f"MemoryError: {err} ({why})", traceback.format_exc()))

    def _next_lane(self, lane: int) -> int:
        """The lane a job goes to when it did not fit: above its own and above this worker's budget."""
        return lane_above(lane, self.mem_gb)

    def _escalate(self, claims: list[Claim], why: str, t0: float | None) -> int:
        """Put jobs that ran out of memory back in a larger lane (not a lost run); call holding ``_io``."""
        bigger = [Claim(c.job_id, c.attempt + 1, c.lost, min(self._next_lane(c.lane), N_LANES - 1)) for c in claims]
        new: list[Claim] = []
        for b in bigger:  # the reason names its new class; status shows it
            reason = f"{why}; moved to the {MEM_CLASSES_GB[b.lane]:g} GB class"
            new += self.queue.put_back([b], OUT_OF_MEMORY, self.worker_id, reason=reason)
        now = time.time()
        for c, b in zip(claims, bigger):
            gb = MEM_CLASSES_GB[b.lane]
            self.events.append(handback_record(c.job_id, c.attempt, t0, now, f"{why}: moved to the {gb:g} GB class"))
            self._finished.add((c.job_id, c.attempt))
            self.log.warning("job %d attempt %d: %s; moved to the %g GB class", c.job_id, c.attempt, why, gb)
        self.summary.handed_back += len(new)
        return len(new)

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
                if self._signals_done or self._running is not running:
                    continue
                why = f"out of memory: {rss_gb():.2f} GB used with a budget of {_fmt_gb(self.mem_gb)} ({self.mem_source})"
                self._escalate([running.claim], why, running.t0)
                self._hand_back("worker stopped by the memory guard")
                self._close("exited")
                self._signals_done = True
            if self.owns_process:
                kill_job_processes()
            logging.shutdown()
            if self.restart_argv and self._supervisor is None and os.environ.get("BENCHGRID_SCHEDULER_JOB_ID"):
                # issue 21: the allocation's time is not wasted: a fresh worker (same process, same
                # scheduler task, so its signals still reach it) goes on with the jobs that fit
                os.execv(sys.executable, [sys.executable, *self.restart_argv])
            os._exit(EXIT_OUT_OF_MEMORY)

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

    def _warn_big_result(self, claim: Claim, n_bytes: int) -> None:
        text = (
            f"job {claim.job_id} attempt {claim.attempt}: its result is {n_bytes / 1e6:.1f} MB, stored in "
            f"{self.dir / 'events.log'}, which status, results and check read whole; "
            "save big outputs to files and return their paths (or a summary)"
        )
        self.log.warning("%s", text)
        print(f"benchgrid: warning: {text}", file=sys.stderr, flush=True)

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

    # -- running one job -----------------------------------------------------------
    def _run_one(self, claim: Claim, row: dict[str, Any]) -> None:
        ctx = _SeedOnDemand(self.root, claim.job_id, claim.attempt, self.worker_id, self._random_state, row["key"])
        self._running = _Running(claim, row["params"])
        t0 = self._running.t0
        token = set_current_job(ctx)
        try:
            result = self.runner(**row["params"])
            if result is None:
                result = {}
            if not isinstance(result, dict):
                raise TypeError(f"the runner must return a dict or None, got {type(result).__name__}")
            # the record itself, not a copy (this is once per job): the loop adds t1, or swaps it for an error
            record: dict[str, Any] = cast("dict[str, Any]", done_record(claim.job_id, claim.attempt, t0, result))
        except MemoryError as err:
            record = self._out_of_memory_record(claim, t0, err)
        except (Exception, SystemExit, KeyboardInterrupt) as err:  # noqa: BLE001 - recorded; the worker goes on
            if isinstance(err, KeyboardInterrupt) and not self._own_process:
                raise  # in-process (debug mode) Ctrl-C is the user's, not the runner's
            record = dict(error_record(claim.job_id, claim.attempt, t0, f"{err.__class__.__name__}: {err}",
                                       traceback.format_exc()))
        finally:
            reset_current_job(token)
        record["t1"] = time.time()
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

    # -- the loop ------------------------------------------------------------------
    def run(self, *, handle_signals: bool = True) -> WorkerSummary:
        """Run until no job is left (or the budget or deadline is reached)."""
        self.summary_started = time.time()
        old_umask = os.umask(0o007 if self.settings.group_shared else 0o077)
        signal_thread = None
        old_mask: set[int | signal.Signals] | None = None
        self._signals_done = False
        try:
            self._own_process = handle_signals
            if handle_signals:
                old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, HANDBACK_SIGNALS)
                signal_thread = threading.Thread(target=self._signal_thread, daemon=True, name="signals")
                signal_thread.start()
            if self.owns_process:
                become_group_leader()  # the job's child processes can then be ended with it
            try:
                self._check_clock()
                self.events.open()
                self._write_lease()
            except OSError as err:
                if is_disk_full(err):  # this worker's folder, named for every failure before the first claim
                    raise DiskFull.from_os_error(err, repr(str(self.dir))) from None
                raise
            heart = threading.Thread(target=self._heartbeat, daemon=True, name="heartbeat")
            heart.start()
            if self.job_timeout_s is not None and handle_signals and self.owns_process:
                threading.Thread(target=self._watchdog, daemon=True, name="watchdog").start()
            if self._lanes and self.mem_gb is not None:
                threading.Thread(target=self._memory_guard, daemon=True, name="memory").start()
            self.log.info("worker %s started on %s pid %d", self.worker_id, self.host, os.getpid())
            try:
                self.summary.reason = self._loop()
            except _Revoked:
                self.summary.reason = "lease revoked (this worker froze or lost contact); its jobs were re-run elsewhere"
                self.log.warning(self.summary.reason)
                self._held = []
            except OSError as err:
                if not is_disk_full(err):
                    raise
                self.disk_full = DiskFull.from_os_error(err, self._where())
                self.summary.reason = str(self.disk_full)
                self.log.error(self.summary.reason)
            finally:
                self._stop.set()
                with self._io:
                    self._finish()
                    self._signals_done = True
                if self.owns_process:
                    kill_job_processes()  # what a job started and left behind ends with the worker
            self.log.info(
                "worker %s ends: %s; done %d, errors %d, handed back %d",
                self.worker_id, self.summary.reason, self.summary.done, self.summary.errors, self.summary.handed_back,
            )
        finally:
            os.umask(old_umask)
            if signal_thread is not None:  # let the waiting thread go, then unblock (callers in-process)
                self._signals_done = True
                signal.pthread_kill(signal_thread.ident, signal.SIGUSR1)  # type: ignore[arg-type]
                signal_thread.join(timeout=5)
            if old_mask is not None:
                signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
            self.events.detach_log()
        self.summary.seconds = time.time() - self.summary_started
        self._end_hook()
        if self.disk_full is not None:
            raise self.disk_full
        return self.summary

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
                claims = self.queue.claim(self.worker_id, budget, fits, self._publish, mem_gb=self.mem_gb,
                                          n_workers=live_workers_seen(self.root))
                cost = time.perf_counter() - t_claim
                self._claim_cost_s = cost if self._claim_cost_s is None else 0.8 * self._claim_cost_s + 0.2 * cost
            if claims is NO_FIT:
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
