"""The state the parts of one worker share, and what a worker reports when it ends."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from .._errors import DiskFull
from ..store import Claim, Queue
from ..store import Layout, ProjectSettings
from ._durations import DurationModel
from ._event_log import EventLog

__all__ = ["WorkerState", "WorkerSummary"]


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


class _Running:
    """The job this worker runs now (the watchdog reads it to time it out)."""

    __slots__ = ("claim", "params", "t0")

    def __init__(self, claim: Claim, params: dict[str, Any]) -> None:
        self.claim, self.params, self.t0 = claim, params, time.time()


class WorkerState:
    """What the parts of a worker share: set by :class:`~._worker.Worker`, read and changed by its parts.

    Each part (:class:`~._lease_keeper.LeaseKeeper`, :class:`~._hand_back.HandBack`,
    :class:`~._guards.Guards`, :class:`~._claim_loop.ClaimLoop`) builds on the one
    before it, in this order, and reads only these attributes and the methods of the
    parts before it. Two threads meet here: the main thread (the claim loop) and one
    of the heartbeat, watchdog, memory guard or signal thread; whatever they both
    change is changed holding ``_io``.
    """

    # the project
    root: Path
    info: dict[str, Any]
    settings: ProjectSettings
    layout: Layout
    queue: Queue
    runner: Callable[..., Any]
    lease_s: float
    _random_state: int
    _lanes: bool  # the project sorts jobs into memory lanes (its memory_key)
    # this worker
    worker_id: str
    dir: Path
    host: str
    log: logging.Logger
    events: EventLog
    summary: WorkerSummary
    summary_started: float
    allocation_started: float
    durations: DurationModel
    _identity: dict[str, Any]
    _supervisor: dict[str, Any] | None
    _clock_offset_s: float | None
    _beats: int
    # its limits
    max_jobs: int | None
    until: float | None
    max_batch: int
    claim_target_s: float
    mem_gb: float | None
    mem_source: str
    resources: dict[str, int]  # GPUs and such (issue 21): it claims jobs that need no more
    job_timeout_s: float | None
    restart_argv: list[str] | None
    owns_process: bool
    # run(handle_signals=True): the signal thread waits for SIGTERM/SIGINT/SIGUSR1/SIGUSR2, so a
    # KeyboardInterrupt inside a job is the runner's own (recorded), not the user's Ctrl-C (raised)
    _handles_signals: bool
    _signals: Any  # the HandbackSignals in force while run() handles signals, else None
    _handing_back: threading.Event  # the signal thread took a signal that ends the worker
    _on_end: Callable[[WorkerSummary], None] | None
    _oom_watch: Any
    disk_full: DiskFull | None
    # its jobs, shared between threads under _io
    _io: threading.Lock
    _lease_lock: threading.Lock
    _stop: threading.Event
    _held: list[Claim]
    _claim_offset: int
    _finished: set[tuple[int, int]]
    _running: _Running | None
    _ended: bool  # the worker's end is recorded (lease 'exited'): no thread may claim, record or hand back
    _mean_s: float | None
    _claim_cost_s: float | None
    _revoked_path: str
    _revoked_checked: float
