"""One worker: claim jobs, run them, record results, until none is left.

:class:`Worker` is assembled from small parts, each a module (docs/design-notes.md):

- :mod:`._event_log`: its own files (``events.log`` with the torn-line rule, ``worker.log``);
- :mod:`._lease_keeper`: its lease, heartbeat and clock, and the sign that it was revoked;
- :mod:`._hand_back`: the signal thread and the hand-back of unfinished jobs (invariant 4);
- :mod:`._guards`: the per-job time limit (watchdog) and the memory guard;
- :mod:`._claim_loop`: claim, run, record, loop (the protocol is :mod:`benchgrid.store.storage._queue`'s).

This module checks the options, builds the shared state
(:class:`~._worker_state.WorkerState`) and runs the threads in order: files and
lease first, then the heartbeat and the guards, then the loop; on the way out
it hands back what is unfinished, whatever ended it.
"""

from __future__ import annotations

import logging
import math
import os
import re
import secrets
import socket
import threading
import time
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from .._errors import DiskFull, InputError, is_disk_full
from ..store import check_integrity
from ..store import Layout, read_project_json
from ..store import SUPERVISOR_ENV, process_identity
from ..store import Claim, Queue
from ..store import ProjectSettings
from ._memory import budget_gb, oom_watch
from ._capacity import worker_resources
from ..store import check_trust
from ._code_path import import_runner, use_code_path
from ._durations import DurationModel
from ._event_log import EventLog
from ._claim_loop import ClaimLoop
from ._signals import HANDBACK_SIGNALS, HandbackSignals
from ._lease_keeper import _Revoked
from ._worker_state import WorkerSummary, _Running
from ._procs import become_group_leader, become_subreaper, kill_job_processes
from ._in_allocation import allocation_started_s

__all__ = ["Worker", "WorkerSummary", "load_runner", "HANDBACK_SIGNALS"]


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


def worker_prefix(name: str | None, host: str) -> str:
    """The readable start of a worker's id: its ``--name``, else the host's short name, as safe characters.

    >>> worker_prefix("slurm-7_0", "n1"), worker_prefix(None, "node12.cluster.org"), worker_prefix("a b", "n1")
    ('slurm-7_0', 'node12', 'a_b')
    """
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name or host.split(".")[0])[:40]


def _supervisor_of_env() -> dict[str, Any] | None:
    """The supervising process named by ``BENCHGRID_SUPERVISOR`` ("pid:start time"), if any."""
    text = os.environ.get(SUPERVISOR_ENV, "")
    pid, _, start = text.partition(":")
    return {"pid": int(pid), "pid_start": start} if pid.isdigit() and start else None


class Worker(ClaimLoop):
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
        to start another. In the caller's process (``owns_process=False``,
        ``run(n_workers=0)``) an alarm raises in the job instead, which
        unwinds and counts the same lost run (:mod:`._alarm`).
    restart_argv : list of str, optional
        The command line that starts this worker again (``benchgrid work``).
    owns_process : bool
        This process exists only to be this worker (``benchgrid work``): it
        may lead its own process group, kill the job's child processes and
        end itself when a job passes its time limit. False when called
        in-process (tests, notebooks).
    trust_owner : bool, default=False
        Work on a project owned by another user (see :mod:`benchgrid.store.storage._trust`).
    resources : mapping of str to int, optional
        Resources this worker has (``{"gpus": 1}``), for projects with
        ``resource_keys``: it claims only jobs that need no more, those that
        need them first. Default: the GPUs SLURM or ``CUDA_VISIBLE_DEVICES``
        gave it. ``gpus`` is a shorthand for ``resources={"gpus": gpus}``.
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
        resources: Mapping[str, int] | None = None,
        gpus: int | None = None,
    ):
        self.root = Path(root).absolute()
        check_trust(self.root, trust_owner=trust_owner)  # before any of its code is loaded
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
        self._handles_signals = False
        self._signals = None
        self._handing_back = threading.Event()
        self.max_batch = max_batch
        self.claim_target_s = claim_target_s
        if mem_gb is not None and not (isinstance(mem_gb, (int, float)) and math.isfinite(mem_gb) and mem_gb > 0):
            raise InputError(f"mem_gb must be a number of GB > 0, got {mem_gb!r}")
        self.mem_gb, self.mem_source = budget_gb(mem_gb)
        self._oom_watch = oom_watch()
        self._lanes = bool(self.settings.memory_key)
        if gpus is not None:  # the shorthand of resources={"gpus": n}
            resources = {**(resources or {}), "gpus": gpus}
        self.resources = worker_resources(resources, self.settings.resource_keys)  # issue 21: GPUs and such
        self.layout = Layout(self.root)
        check_integrity(self.root)  # a damaged queue or table is reported, not read as 'no job'
        self.queue = Queue(self.root, self.settings)
        self.queue.jobs.max_parts = 4  # the parts it claims from and a put-back job's: memory flat in N
        skipped = use_code_path(self.info)  # the user's folders, as recorded at creation
        self.runner = load_runner(self.info["runner"], self.info.get("code_path") or (), skipped)
        self.lease_s = float(self.settings.lease_s)
        self.host = socket.gethostname()
        self._identity = process_identity()
        # issue 10: a supervised worker's death is its supervisor's to record (it knows the signal)
        self._supervisor = _supervisor_of_env()
        self.worker_id = f"{worker_prefix(name, self.host)}-{os.getpid()}-{secrets.token_hex(2)}"
        self.dir = self.layout.worker_dir(self.worker_id)
        self.durations = DurationModel(
            self.root,
            self.settings.duration_key,
            default_job_s if default_job_s is not None else self.settings.default_job_s,
            declared_key=self.settings.time_key,
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
        self._ended = False
        self._clock_offset_s: float | None = None
        self._beats = 0  # numbers every write of the lease: a reader that sees it change knows we live
        self.log = logging.getLogger(f"benchgrid.worker.{self.worker_id}")
        self.events = EventLog(self.dir, self.log)

    def run(self, *, handle_signals: bool = True) -> WorkerSummary:
        """Run until no job is left (or the budget or deadline is reached)."""
        self.summary_started = time.time()
        # a worker restarted inside its allocation judges jobs by the whole allocation (_in_allocation)
        self.allocation_started = allocation_started_s(self.summary_started)
        old_umask = os.umask(0o007 if self.settings.group_shared else 0o077)
        signal_thread = None
        self._ended = False
        try:
            self._handles_signals = handle_signals
            if handle_signals:
                self._signals = HandbackSignals().__enter__()  # the CLI entered it before the runner's imports: shared
                signal_thread = threading.Thread(target=self._signal_thread, args=(self._signals,), daemon=True,
                                                 name="signals")
                signal_thread.start()
            if self.owns_process:
                become_group_leader()  # the job's child processes can then be ended with it
                become_subreaper()  # and those that leave the group (setsid) stay ours to find
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
                    self._ended = True
                if self.owns_process:
                    kill_job_processes()  # what a job started and left behind ends with the worker
            self.log.info(
                "worker %s ends: %s; done %d, errors %d, handed back %d",
                self.worker_id, self.summary.reason, self.summary.done, self.summary.errors, self.summary.handed_back,
            )
        finally:
            os.umask(old_umask)
            signals, self._signals = self._signals, None
            if signals is not None:  # let the waiting thread go, then put the signals back (callers in-process)
                self._ended = True
                signals.release()
                if signal_thread is not None:
                    signal_thread.join(timeout=5)
                signals.__exit__(None, None, None)
            self.events.detach_log()
        self.summary.seconds = time.time() - self.summary_started
        self._end_hook()
        if self.disk_full is not None:
            raise self.disk_full
        return self.summary

