"""benchgrid.worker: the claim loop (heartbeat, signals, walltime, hand-back)."""

from ._context import JobContext, current_job
from ._worker import Worker, WorkerSummary, load_runner

__all__ = ["JobContext", "Worker", "WorkerSummary", "current_job", "load_runner"]
