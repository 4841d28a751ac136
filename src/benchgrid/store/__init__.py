"""benchgrid.store: the project directory (job table, logs, leases, locks). Knows nothing of ML."""

from ._atomic import atomic_path, write_atomic
from ._bulk import gc_paused
from ._record_types import (
    CursorRecord, DropRecord, EventRecord, HandbackRecord, Lease, PutBackRecord, QueueEventRecord, ResultRecord,
    done_record, error_record, handback_record, handbacks_of,
)
from ._check import CheckReport, check_logs, last_check
from ._layout import FORMAT_VERSION, Layout, read_project_json
from ._queue import Claim, Queue
from ._safe_io import adopt_new_file, make_dir, modes_for, open_file
from ._settings import MAX_JOB_TIMEOUT_S, ProjectSettings, check_job_timeout_s, setting
from ._state import FINISHED_STATES, STATES, ProjectState, n_finished
from ._trust import check_project, ensure_checked

# used by the other packages (they import public names only: tests/test_layers.py)
from ._code_path import unsafe_reason
from ._create import create_project, remove_interrupted_creations
from ._damage import check_project_files
from ._drops import drop_jobs, undrop_jobs
from ._faults import fault_point
from ._jobs import JobTable, canonical_json, content_key, job_seed, normalize_jobs
from ._lanes import MEM_CLASSES_GB, N_LANES, expected_gb, lane_above, lane_of
from ._capacities import TOO_LONG, waiting_for, capacity_of_lease, known_capacities, record_capacity, someone_may_claim
from ._classes import (
    TIME_CLASSES_S, Capacity, JobClass, class_of, claim_order, lane_classes, may_claim, time_class_above, uses_classes,
    time_class_of,
)
from ._layout import write_project_json
from ._leases import (
    SUPERVISOR_ENV, expire_dead_workers, expire_worker, is_dead, list_leases, on_this_machine,
    process_gone, process_identity, unconfirmed_workers, watch_leases, write_lease, live_workers_seen,
)
from ._pool_ledger import PoolLedger, PoolState, check_pool_name, pool_names
from ._lock import retry_lock_lost
from ._observe import MAX_CLOCK_OFFSET_S, LeaseWatch, clock_offset_s, note_stall, timed
from ._lost import OUT_OF_MEMORY, lose_runs
from ._memory_view import starved_hint, waiting_per_lane, waiting_per_mem_class
from ._queue import NO_FIT
from ._records import encode, read_records
from ._safe_io import open_nofollow
from ._status_text import status_html, status_lines
from ._trust import GroupWarning, group_name
from ._views import Status, error_rows, results_columns, status_of
from ._wasted import WastedRuns, wasted_runs

__all__ = [
    "TIME_CLASSES_S", "Capacity", "JobClass", "class_of", "claim_order", "lane_classes", "may_claim",
    "time_class_above", "time_class_of", "uses_classes", "capacity_of_lease", "known_capacities", "record_capacity",
    "someone_may_claim", "TOO_LONG", "waiting_for",
    "CheckReport", "check_logs", "last_check", "FORMAT_VERSION", "Claim", "Layout", "ProjectSettings",
    "setting", "check_job_timeout_s", "MAX_JOB_TIMEOUT_S", "ProjectState", "Queue", "STATES", "FINISHED_STATES", "n_finished", "check_project",
    "CursorRecord", "DropRecord",
    "EventRecord", "HandbackRecord", "Lease", "PutBackRecord", "QueueEventRecord", "ResultRecord",
    "done_record", "error_record", "handback_record", "handbacks_of", "atomic_path", "write_atomic",
    "ensure_checked", "gc_paused", "adopt_new_file", "make_dir", "modes_for", "open_file",
    "read_project_json", "GroupWarning", "JobTable", "canonical_json", "MEM_CLASSES_GB", "NO_FIT", "N_LANES",
    "OUT_OF_MEMORY", "SUPERVISOR_ENV", "Status", "check_project_files", "content_key", "create_project",
    "drop_jobs", "encode", "error_rows", "expected_gb", "expire_dead_workers", "expire_worker", "fault_point",
    "group_name", "is_dead", "job_seed", "lane_above", "lane_of", "list_leases", "lose_runs",
    "normalize_jobs", "on_this_machine", "open_nofollow", "process_gone", "process_identity", "read_records",
    "remove_interrupted_creations", "results_columns", "starved_hint", "status_html", "status_lines",
    "status_of", "undrop_jobs", "unsafe_reason", "waiting_per_lane", "waiting_per_mem_class", "write_lease", "write_project_json",
    "PoolLedger", "PoolState", "check_pool_name", "pool_names", "retry_lock_lost",
    "LeaseWatch", "MAX_CLOCK_OFFSET_S", "clock_offset_s", "note_stall", "timed", "unconfirmed_workers", "watch_leases", "live_workers_seen",
    "WastedRuns", "wasted_runs",
]  # fmt: skip
