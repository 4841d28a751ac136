"""Supervising local worker processes: a worker that dies has its job put back at once, and is replaced.

:class:`Supervisor` knows the processes it started. Each time it is polled
(:meth:`Supervisor.step`) it reaps the workers that ended:

- a clean end (exit 0) needs nothing;
- a worker SIGKILLed while its cgroup's OOM counter went up (the kernel's
  OOM killer, judged from the count its lease recorded and the kernel's
  count now) has its running job moved to a larger memory class, not
  counted as a lost run (issue 13);
- any other abnormal end (killed by a signal, or a non-zero exit status) has the
  worker's unfinished jobs put back at once, without waiting for its lease
  to expire: the job it was running counts a lost run whose reason names
  the signal or status (``"killed by SIGSEGV"``, ``"exit status 3"``), so a
  job that kills every worker that runs it ends up failed with that reason
  after ``max_attempts``; the jobs it held but had not started go back
  without a lost run;
- a worker that stopped itself after a job passed ``job_timeout_s`` or its
  memory budget (:data:`~benchgrid._exitcodes.EXIT_WORKER_RESTART`) has
  already put that job back;
- a worker that found the disk full stops the run: the others are asked to
  hand their jobs back (SIGTERM) and none is started again.

The processes a dead worker's job left behind are killed with it (each
worker leads its own process group). While jobs wait to be claimed and
fewer than ``n_workers`` workers live, a replacement is started. Deaths
that held no job (a worker that cannot start) make no progress, so at most
``max_idle_deaths`` of them are tolerated; every other death brings a job
closer to done or failed, so the total is bounded by the jobs times
``max_attempts``. :meth:`step` returns False once every job is done, error
or failed (or the run cannot go on), and :meth:`exit_code` says which.

The supervisor does not know how a worker is started: ``spawn(name)``
returns a :class:`subprocess.Popen`-like object (``pid``, ``poll()``,
``send_signal()``, ``wait()``), so a forkserver or another launcher plugs in.
"""

from __future__ import annotations

import os
import shlex
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol

from ..._errors import DiskFull, is_disk_full
from ..._exitcodes import (
    EXIT_DISK_FULL,
    EXIT_ERRORS,
    EXIT_FAILED,
    EXIT_INCOMPLETE,
    EXIT_OK,
    EXIT_WORKER_RESTART,
)
from ...store import Layout
from ...store import expire_dead_workers
from ...store import starved_hint, waiting_per_mem_class
from ...store import Queue
from ...store import ProjectState
from ...store import ProjectSettings
from ...worker import describe_exit, expire_ended_process, oom_evidence

__all__ = ["Supervisor", "WorkerEnd", "describe_exit"]


class _Proc(Protocol):
    pid: int

    def poll(self) -> int | None: ...

    def send_signal(self, sig: int) -> None: ...

    def wait(self, timeout: float | None = None) -> int: ...


@dataclass
class WorkerEnd:
    """How one supervised worker process ended, and what became of its jobs."""

    name: str
    pid: int
    returncode: int
    reason: str
    jobs: list[int] = field(default_factory=list)

    def message(self) -> str:
        where = f"while running job {self.jobs[0]}" if self.jobs else "holding no job"
        return f"worker {self.name} (pid {self.pid}) {self.reason} {where}"


class Supervisor:
    """Start, watch and replace the local worker processes of one project.

    Parameters
    ----------
    root : path
        The project directory.
    settings : dict
        The project's settings (``max_attempts``, ``lease_s``, the lock).
    n_workers : int
        Workers kept alive while jobs wait.
    spawn : callable
        ``spawn(name)`` starts the worker named ``name`` (``benchgrid work
        ROOT --name NAME``) in its own process group and returns its process.
    max_idle_deaths : int
        Abnormal ends of workers holding no job tolerated before giving up.
    notify : callable
        Receives one line per worker that ended abnormally (default: stderr).
    replace_clean_exits : bool
        Start a worker in place of one that ended cleanly while jobs wait.
        False when workers end by design before the queue is empty (a job
        budget, a deadline): then only abnormal ends are replaced.
    state : ProjectState, optional
        An incremental reader to share with a progress display (read once per look).

    Examples
    --------
    >>> # sup = Supervisor(root, settings, 4, spawn); sup.start()
    >>> # while sup.step(): time.sleep(0.5)
    >>> # sys.exit(sup.exit_code())
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        settings: dict[str, Any],
        n_workers: int,
        spawn: Callable[[str], _Proc],
        *,
        max_idle_deaths: int = 3,
        notify: Callable[[str], None] | None = None,
        replace_clean_exits: bool = True,
        state: ProjectState | None = None,
    ):
        self.root = Path(root)
        self.layout = Layout(self.root)
        self.queue = Queue(self.root, settings)
        self.n_workers = n_workers
        self.spawn = spawn
        self.max_idle_deaths = max_idle_deaths
        self.replace_clean_exits = replace_clean_exits
        self._n_clean_exits = 0
        self.notify = notify or (lambda line: print(f"benchgrid: {line}", file=sys.stderr, flush=True))
        self.state = state if state is not None else ProjectState(self.root, self.queue)
        self.procs: dict[str, _Proc] = {}
        self.ends: list[WorkerEnd] = []
        self.idle_deaths = 0
        self.disk_full: str | None = None
        self.gave_up: str | None = None
        self._n_started = 0
        self._spawned: set[str] = set()  # "name-pid" of every worker started (the prefix of its worker ids)
        self._next_expiry = 0.0
        self.counts: dict[str, int] = {}
        self._counts_at_start: dict[str, int] | None = None
        self._job_lost_since_start = False
        self._stranded_since: float | None = None

    # -- processes ---------------------------------------------------------------
    def _start_one(self) -> None:
        i = self._n_started
        name = f"local{i}"
        self._n_started += 1
        self.procs[name] = proc = self.spawn(name)
        self._spawned.add(f"{name}-{proc.pid}")

    def start(self) -> None:
        """Start ``n_workers`` workers."""
        for _ in range(self.n_workers):
            self._start_one()

    def alive(self) -> list[str]:
        return [name for name, p in self.procs.items() if p.poll() is None]

    def _reap(self, name: str, proc: _Proc, returncode: int) -> None:
        del self.procs[name]
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # what its job left behind (the worker led this group)
        except OSError:
            pass
        if returncode == 0:
            self._n_clean_exits += 1
            return
        if returncode == EXIT_DISK_FULL:
            # the worker said where, on its stderr; its jobs go back now, or when space is freed and a run expires it
            self.disk_full = self.disk_full or f"worker {name} found the disk full"
        reason = describe_exit(returncode)
        if returncode == EXIT_WORKER_RESTART:
            reason = "stopped itself after putting its job back (job_timeout_s or the memory guard)"
        try:
            lost, oom = expire_ended_process(self.queue, name, proc.pid, returncode, by="supervisor", reason=reason,
                                             count_lost=returncode != EXIT_DISK_FULL)
        except OSError as err:
            if not is_disk_full(err):
                raise
            self.disk_full = str(DiskFull.from_os_error(err))
            lost, oom = [], None
        jobs = [c.job_id for c in lost]
        self._job_lost_since_start = self._job_lost_since_start or bool(jobs) or returncode == EXIT_WORKER_RESTART
        end = WorkerEnd(name, proc.pid, returncode, oom or reason, jobs)
        self.ends.append(end)
        if returncode in (EXIT_WORKER_RESTART, EXIT_DISK_FULL):
            return  # said already: the worker recorded the timeout, or printed where the disk was full
        put_back = "; its job moved to a larger memory class" if oom else "; its jobs were put back"
        self.notify(end.message() + (put_back if jobs else ""))
        if not jobs:
            self.idle_deaths += 1
            if self.idle_deaths >= self.max_idle_deaths and self.gave_up is None:
                self.gave_up = (
                    f"{self.idle_deaths} workers ended abnormally before taking a job (last: {reason}); "
                    "not starting more: see their messages above"
                )

    # -- the loop ----------------------------------------------------------------
    def step(self) -> bool:
        """Reap, put back, replace; return False when the run is over."""
        alive: list[str] = []
        for name, proc in list(self.procs.items()):
            rc = proc.poll()
            if rc is not None:
                self._reap(name, proc, rc)
            else:
                alive.append(name)
        if self.disk_full:
            self.stop(signal.SIGTERM)
            return bool(self.alive())
        now = time.time()
        if now >= self._next_expiry:  # jobs of workers that are not ours (another `run`, a killed `work`)
            self._next_expiry = now + ProjectSettings.of(self.queue.settings).lease_s / 2
            try:
                expire_dead_workers(self.queue, by="supervisor", out_of_memory=oom_evidence)
            except OSError as err:
                if not is_disk_full(err):
                    raise
                self.disk_full = str(DiskFull.from_os_error(err))
                return bool(self.alive())
        target = self.n_workers if self.replace_clean_exits else self.n_workers - self._n_clean_exits
        if alive and len(alive) >= target:
            # every worker wanted is running: nothing to decide. The logs are read on (only what is
            # new, so the final read after the run is short), but not counted: a count is a pass
            # over every job, every poll, on a big project. A worker's end decides.
            self.state.refresh()
            self._stranded_since = None
            return True
        # which workers live was taken above, BEFORE reading the logs: a worker that ends during
        # the read (a long one on a big project) may have written records this read missed, and
        # would otherwise look like a worker that ended leaving jobs waiting, and be "replaced"
        self.state.refresh()
        if alive and self._nothing_waits():
            # a worker ended and the queue's cursor is at its end: nobody to start, and the workers
            # still alive are ours. Counting would be a pass over every job at each worker's end.
            self._stranded_since = None
            return True
        counts = self.counts = self.state.counts()
        waiting = counts["pending"] + counts["queued"]
        unfinished = waiting + counts["running"] + counts["stranded"]
        if unfinished == 0:
            return bool(alive)  # let the last workers end their loop and write their summaries
        n_new = min(target - len(alive), waiting) if self.gave_up is None else 0
        if n_new > 0:
            if counts == self._counts_at_start and not self._job_lost_since_start:
                # the workers started last time ended cleanly and changed nothing: no worker can claim these jobs
                self.gave_up = self._too_big_for_us() or (
                    f"{waiting} job(s) wait but no worker can claim them (a damaged queue?); "
                    f"run `benchgrid check {shlex.quote(str(self.root))}`"
                )
            else:
                for _ in range(n_new):
                    self._start_one()
                self._counts_at_start, self._job_lost_since_start = dict(counts), False
            alive = self.alive()
        if alive:
            self._stranded_since = None
            return True
        if self.gave_up is not None:
            return False
        # none of ours is left: wait while others (another run, a killed `work` whose lease will expire) hold jobs
        if counts["running"] or not counts["stranded"]:
            self._stranded_since = None
            return counts["running"] > 0
        self._stranded_since = self._stranded_since or now
        lease_s = ProjectSettings.of(self.queue.settings).lease_s
        if now - self._stranded_since > lease_s + 30:  # expiry had its chance: these jobs have no live lease
            self.gave_up = (
                f"{counts['stranded']} job(s) are held by workers that are gone and cannot be expired "
                f"(a lost or damaged lease): `benchgrid retry {shlex.quote(str(self.root))} --expired` puts them back"
            )
            return False
        return True

    def _nothing_waits(self) -> bool:
        """Whether no job can be claimed, read off the queue's cursor (no pass over the jobs).

        True when every row of the job table was handed out (``next >= n``) and
        every put-back line was taken again (each ends at or before ``rq``).
        Dropped jobs only make it say False (then the jobs are counted); so do
        memory lanes, whose cursors are per lane.
        """
        st = self.state
        if st.lanes is not None:
            return False
        return st.next >= st.n and all(end <= st.rq for _attempt, end, _why in st.requeued.values())

    def _too_big_for_us(self) -> str:
        """Why the jobs left wait, when it is memory: they need more than any worker of this run has."""
        if self.state.lanes is None:
            return ""
        ours = [lease.get("mem_gb") for wid, lease in self.state.leases.items()
                if any(wid.startswith(f"{n}-") for n in self._spawned)]
        if not ours or None in ours:
            return ""  # a worker of unknown budget takes every class
        return starved_hint(waiting_per_mem_class(self.state), max(float(b) for b in ours if b is not None),
                            who="no worker of this run has that much")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Ask every live worker to hand its jobs back and exit."""
        for p in self.procs.values():
            if p.poll() is None:
                try:
                    p.send_signal(sig)
                except OSError:
                    pass

    def wait(self) -> None:
        """Wait for every worker process to end."""
        for p in list(self.procs.values()):
            p.wait()

    def exit_code(self, counts: dict[str, int] | None = None) -> int:
        """The exit code of the run (see :mod:`benchgrid._exitcodes`)."""
        counts = counts if counts is not None else self.state.refresh().counts()
        if self.disk_full:
            return EXIT_DISK_FULL
        unfinished = sum(counts.get(s, 0) for s in ("pending", "queued", "running", "stranded"))
        if unfinished:
            return EXIT_INCOMPLETE
        if counts.get("failed"):
            return EXIT_FAILED
        if counts.get("error"):
            return EXIT_ERRORS
        return EXIT_OK


def exit_code_of(counts: dict[str, int]) -> int:
    """The exit code for final counts alone (no supervisor: in-process runs, ``status``)."""
    if sum(counts.get(s, 0) for s in ("pending", "queued", "running", "stranded")):
        return EXIT_INCOMPLETE
    if counts.get("failed"):
        return EXIT_FAILED
    return EXIT_ERRORS if counts.get("error") else EXIT_OK

