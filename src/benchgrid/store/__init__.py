"""benchgrid.store: the project directory (job table, logs, leases, locks). Knows nothing of ML."""

from ._atomic import atomic_path, write_atomic
from ._bulk import gc_paused
from ._record_types import (
    EventRecord, HandbackRecord, ResultRecord, done_record, error_record, handback_record, handbacks_of,
)
from ._check import CheckReport, check_logs, last_check
from ._layout import FORMAT_VERSION, Layout, read_project_json
from ._queue import Claim, Queue
from ._safe_io import adopt_new_file, make_dir, modes_for, open_file
from ._settings import ProjectSettings
from ._state import STATES, ProjectState
from ._trust import check_project, ensure_checked

__all__ = [
    "CheckReport", "check_logs", "last_check",
    "FORMAT_VERSION", "Claim", "Layout", "ProjectSettings", "ProjectState", "Queue", "STATES", "check_project",
    "EventRecord", "HandbackRecord", "ResultRecord", "done_record", "error_record", "handback_record",
    "handbacks_of", "atomic_path", "write_atomic", "ensure_checked", "gc_paused",
    "adopt_new_file", "make_dir", "modes_for", "open_file", "read_project_json",
]  # fmt: skip
