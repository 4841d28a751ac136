"""benchgrid.worker: the claim loop, in parts: event log, lease and heartbeat, hand-back on signals, guards (time, memory)."""

from ._context import JobContext, current_job
from ._worker import Worker, WorkerSummary, load_runner, worker_prefix

# used by the other packages (they import public names only: tests/test_layers.py)
from ._code_path import check_loadable, check_runner_findable, code_path_at_creation, import_runner, use_code_path
from ._code_path import user_module_folders
from ._memory import oom_evidence
from ._procs import become_subreaper, kill_orphans
from ._signals import HANDBACK_SIGNALS, HandbackSignals
from ._allocation import process_started_s
from ._in_allocation import Tally, allocation_started_s, allocation_tally, run_restarting
from ._process_end import describe_exit, expire_ended_process

__all__ = ["JobContext", "Worker", "WorkerSummary", "worker_prefix", "current_job", "load_runner",
    "HANDBACK_SIGNALS", "HandbackSignals", "process_started_s", "allocation_started_s", "allocation_tally", "Tally", "run_restarting",
    "describe_exit",
    "expire_ended_process", "check_loadable", "check_runner_findable", "code_path_at_creation",
    "import_runner", "become_subreaper", "kill_orphans", "oom_evidence", "use_code_path", "user_module_folders",
]
