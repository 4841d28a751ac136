"""benchgrid.worker: the claim loop, in parts: event log, lease and heartbeat, hand-back on signals, guards (time, memory)."""

from ._context import JobContext, current_job
from ._worker import Worker, WorkerSummary, load_runner

# used by the other packages (they import public names only: tests/test_layers.py)
from ._code_path import check_loadable, check_runner_findable, code_path_at_creation, import_runner, use_code_path
from ._code_path import user_module_folders
from ._memory import oom_evidence
from ._worker import HANDBACK_SIGNALS

__all__ = ["JobContext", "Worker", "WorkerSummary", "current_job", "load_runner",
    "HANDBACK_SIGNALS", "check_loadable", "check_runner_findable", "code_path_at_creation", "import_runner",
    "oom_evidence", "use_code_path", "user_module_folders",
]
