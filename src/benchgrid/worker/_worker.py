"""One worker: claim jobs, run them, record results, until none is left.

The loop, the heartbeat and the signals live here; the claim protocol lives
in :mod:`benchgrid.store._queue`. A worker started as its own process
(``benchgrid work``) blocks SIGTERM, SIGINT and SIGUSR1 in every thread and
waits for them in a dedicated thread, so a job stuck in C code (a long
``fit``) is still handed back at once: that thread waits for the main
thread to leave its short critical section, puts the unfinished claims back
with attempt + 1 and exits the process.
"""

from __future__ import annotations

import importlib
import logging
import os
import random
import re
import secrets
import signal
import socket
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .._errors import InputError
from ..store._jobs import job_seed
from ..store._layout import Layout, read_project_json
from ..store._leases import expire_dead_workers, write_lease
from ..store._queue import NO_FIT, Claim, Queue
from ..store._records import encode
from ._context import JobContext, reset_current_job, set_current_job
from ._durations import DurationModel

__all__ = ["Worker", "WorkerSummary", "load_runner", "HANDBACK_SIGNALS"]

HANDBACK_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1)


def load_runner(spec: str) -> Callable[..., Any]:
    """Import ``"package.module:function"``.

    Examples
    --------
    >>> load_runner("os.path:join")("a", "b")
    'a/b'
    >>> load_runner("os.path")
    Traceback (most recent call last):
    ...
    benchgrid._errors.InputError: runner must look like 'package.module:function', got 'os.path'
    """
    if not isinstance(spec, str) or spec.count(":") != 1:
        raise InputError(f"runner must look like 'package.module:function', got {spec!r}")
    module_name, func_name = spec.split(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as err:  # noqa: BLE001 - any import failure is the user's to fix
        raise InputError(
            f"runner {spec!r} cannot be imported: {err.__class__.__name__}: {err}; "
            "make the module importable on every worker (install it, or set PYTHONPATH)"
        ) from None
    func = getattr(module, func_name, None)
    if not callable(func):
        raise InputError(f"runner {spec!r}: module {module_name!r} has no function {func_name!r}")
    return func  # type: ignore[no-any-return]


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


class _Revoked(Exception):
    pass


@dataclass
class _Running:
    claim: Claim
    params: dict[str, Any]
    t0: float = field(default_factory=time.time)


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
        claim_target_s: float = 0.1,
    ):
        self.root = Path(root).absolute()
        self.info = read_project_json(self.root)
        self.settings: dict[str, Any] = self.info["settings"]
        if max_jobs is not None and max_jobs < 1:
            raise InputError(f"max_jobs must be >= 1, got {max_jobs!r}")
        if max_batch < 1:
            raise InputError(f"max_batch must be >= 1, got {max_batch!r}")
        self.max_jobs = max_jobs
        self.until = until
        self.max_batch = max_batch
        self.claim_target_s = claim_target_s
        self.layout = Layout(self.root)
        self.queue = Queue(self.root, self.settings)
        self.runner = load_runner(self.info["runner"])
        self.lease_s = float(self.settings.get("lease_s", 60))
        self.host = socket.gethostname()
        prefix = re.sub(r"[^A-Za-z0-9_.-]", "_", name or self.host.split(".")[0])[:40]
        self.worker_id = f"{prefix}-{os.getpid()}-{secrets.token_hex(2)}"
        self.dir = self.layout.worker_dir(self.worker_id)
        self.durations = DurationModel(
            self.root,
            self.settings.get("duration_key"),
            default_job_s if default_job_s is not None else self.settings.get("default_job_s"),
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
        self._events_file: Any = None
        self._revoked_path = str(self.dir / "revoked")
        self._revoked_checked = 0.0
        self._signals_done = False
        self.log = logging.getLogger(f"benchgrid.worker.{self.worker_id}")

    # -- files of this worker --------------------------------------------------
    def _write_lease(self, state: str = "running") -> None:
        running = self._running
        with self._lease_lock:
            write_lease(
                self.dir,
                {
                    "worker": self.worker_id,
                    "host": self.host,
                    "pid": os.getpid(),
                    "state": state,
                    "heartbeat": time.time(),
                    "lease_s": self.lease_s,
                    "started": self.summary_started,
                    "held": [c.to_list() for c in self._held],
                    "claim_offset": self._claim_offset,
                    "current": None if running is None else [running.claim.job_id, running.claim.attempt, running.t0],
                    "until": self.until,
                    "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
                    "slurm_array_job_id": os.environ.get("SLURM_ARRAY_JOB_ID"),
                },
            )

    def _event(self, record: dict[str, Any]) -> None:
        self._events_file.write(encode(record))
        self._events_file.flush()

    def _setup_files(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=False)
        handler = logging.FileHandler(self.dir / "worker.log")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        self.log.addHandler(handler)
        self.log.setLevel(logging.INFO)
        self.log.propagate = False
        self._events_file = open(self.dir / "events.log", "ab")

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

    # -- signals ---------------------------------------------------------------
    def _signal_thread(self) -> None:
        signum = signal.sigwait(set(HANDBACK_SIGNALS))
        name = signal.Signals(signum).name
        with self._io:  # let the main thread finish recording or claiming
            if self._signals_done:  # run() has ended and woke this thread up to let it go
                return
            n = self._hand_back(f"signal {name}")
            self.log.info("received %s: handed back %d job(s); exiting", name, n)
            self._close("exited")
        logging.shutdown()
        os._exit(130 if signum == signal.SIGINT else 0)

    # -- claims ------------------------------------------------------------------
    def _publish(self, claims: list[Claim], offset: int) -> None:
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

        Every worker looks every ``lease_s / 2`` while there are few; with many
        (a 1,000-task array) the interval grows with their number, so the
        shared filesystem sees about 16 scans per ``lease_s / 2`` in all, jittered
        so that workers started together do not scan together.
        """
        try:
            n_workers = len(os.listdir(self.layout.workers_dir))
        except OSError:
            n_workers = 1
        return self.lease_s / 2 * max(1.0, n_workers / 16) * random.uniform(0.75, 1.25)

    def _batch_size(self) -> int:
        if self._mean_s is None:
            return 1
        return max(1, min(self.max_batch, int(self.claim_target_s / max(self._mean_s, 1e-6))))

    def _hand_back(self, why: str) -> int:
        """Put back held claims not finished (attempt + 1 fences this worker out)."""
        unfinished = [c for c in self._held if (c.job_id, c.attempt) not in self._finished]
        if not unfinished or (self.dir / "revoked").exists():
            return 0
        self.queue.requeue([Claim(c.job_id, c.attempt + 1, c.lost) for c in unfinished], "handback", self.worker_id)
        now = time.time()
        running = self._running
        for c in unfinished:
            t0 = running.t0 if running is not None and running.claim == c else None
            self._event({"op": "handback", "job": c.job_id, "a": c.attempt, "t0": t0, "t1": now, "why": why})
            self._finished.add((c.job_id, c.attempt))
        self.summary.handed_back += len(unfinished)
        return len(unfinished)

    def _close(self, state: str) -> None:
        self._held = [c for c in self._held if (c.job_id, c.attempt) not in self._finished]
        self._running = None
        self._write_lease(state)
        if self._events_file is not None:
            self._events_file.close()

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
        ctx = JobContext(self.root, claim.job_id, claim.attempt, job_seed(self.info["random_state"], row["key"]), self.worker_id)
        self._running = _Running(claim, row["params"])
        t0 = self._running.t0
        token = set_current_job(ctx)
        try:
            result = self.runner(**row["params"])
            if result is None:
                result = {}
            if not isinstance(result, dict):
                raise TypeError(f"the runner must return a dict or None, got {type(result).__name__}")
            record: dict[str, Any] = {"op": "done", "job": claim.job_id, "a": claim.attempt, "t0": t0, "r": result}
        except Exception as err:  # noqa: BLE001 - a runner error is recorded; the worker goes on
            record = {
                "op": "error",
                "job": claim.job_id,
                "a": claim.attempt,
                "t0": t0,
                "err": f"{err.__class__.__name__}: {err}",
                "tb": traceback.format_exc(),
            }
        finally:
            reset_current_job(token)
        record["t1"] = time.time()
        with self._io:
            self._check_revoked(record["t1"])
            try:
                self._event(record)
            except TypeError as err:  # result values that JSON cannot hold
                record = {**record, "op": "error", "r": None, "err": str(err), "tb": str(err)}
                record.pop("r")
                self._event(record)
            self._finished.add((claim.job_id, claim.attempt))
            self._running = None
        elapsed = record["t1"] - t0
        self._mean_s = elapsed if self._mean_s is None else 0.8 * self._mean_s + 0.2 * elapsed
        if record["op"] == "done":
            self.summary.done += 1
            self.durations.observe(row["params"], elapsed)
        else:
            self.summary.errors += 1
            self.log.error("job %d attempt %d failed:\n%s", claim.job_id, claim.attempt, record["tb"])

    # -- the loop ------------------------------------------------------------------
    def run(self, *, handle_signals: bool = True) -> WorkerSummary:
        """Run until no job is left (or the budget or deadline is reached)."""
        self.summary_started = time.time()
        old_umask = os.umask(0o007 if self.settings.get("group_shared") else 0o077)
        signal_thread = None
        old_mask: set[int | signal.Signals] | None = None
        self._signals_done = False
        try:
            if handle_signals:
                old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, HANDBACK_SIGNALS)
                signal_thread = threading.Thread(target=self._signal_thread, daemon=True, name="signals")
                signal_thread.start()
            self._setup_files()
            self._write_lease()
            heart = threading.Thread(target=self._heartbeat, daemon=True, name="heartbeat")
            heart.start()
            self.log.info("worker %s started on %s pid %d", self.worker_id, self.host, os.getpid())
            try:
                self.summary.reason = self._loop()
            except _Revoked:
                self.summary.reason = "lease revoked (this worker froze or lost contact); its jobs were re-run elsewhere"
                self.log.warning(self.summary.reason)
                self._held = []
            finally:
                self._stop.set()
                with self._io:
                    if self._hand_back("worker stopped"):
                        self.log.info("handed back unfinished jobs")
                    self._close("exited")
                    self._signals_done = True
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
            for h in list(self.log.handlers):
                h.close()
                self.log.removeHandler(h)
        self.summary.seconds = time.time() - self.summary_started
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
                expire_dead_workers(self.queue, by=self.worker_id)
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
                claims = self.queue.claim(self.worker_id, budget, fits, self._publish)
            if claims is NO_FIT:
                return "no remaining job is expected to finish before the deadline"
            if not claims:
                if expire_dead_workers(self.queue, by=self.worker_id):
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
