"""benchgrid.store: the project directory (job table, logs, leases, locks). Knows nothing of ML.

Two rooms: :mod:`.storage` (what is on disk and the rules for changing it, with
the two guards of what is read: **trust**, who may write the project, and
**integrity**, damaged files reported) and :mod:`.views` (status, its text, the
memory view, and the **audit** of the logs that ``benchgrid check`` prints);
settings and input are **validated** (``validate_*``) where they are typed.
The rest of benchgrid imports the names below, never a module of either room.
"""

from .storage._atomic import atomic_path, write_atomic
from .storage._bulk import gc_paused
from .storage._record_types import (
    CursorRecord, DropRecord, EventRecord, HandbackRecord, Lease, PutBackRecord, QueueEventRecord, ResultRecord,
    done_record, error_record, handback_record, handbacks_of,
)
from .views._audit import AuditReport, audit_logs, last_audit
from .storage._layout import FORMAT_VERSION, Layout, read_project_json
from .storage._queue import Claim, Queue
from .storage._safe_io import adopt_new_file, make_dir, modes_for, open_file
from .storage._settings import MAX_JOB_TIMEOUT_S, ProjectSettings, validate_job_timeout_s, setting
from .storage._state import FINISHED_STATES, STATES, ProjectState, n_finished
from .storage._trust import check_trust, check_trust_once

# used by the other packages (they import public names only: tests/test_layers.py)
from .storage._trusted_folders import untrusted_reason
from .storage._create import create_project, remove_interrupted_creations
from .storage._integrity import check_integrity
from .storage._drops import drop_jobs, undrop_jobs
from .storage._faults import fault_point
from .storage._jobs import JobTable, canonical_json, content_key, job_seed, normalize_jobs
from .storage._lanes import MEM_CLASSES_GB, N_LANES, expected_gb, lane_above, lane_of
from .storage._capacities import TOO_LONG, capacity_of_lease, known_capacities, record_capacity, someone_may_claim
from .storage._classes import (
    TIME_CLASSES_S, Capacity, JobClass, class_of, claim_order, lane_classes, may_claim, time_class_above, uses_classes,
    time_class_of,
)
from .storage._layout import write_project_json
from .storage._leases import (
    SUPERVISOR_ENV, expire_dead_workers, expire_worker, is_dead, list_leases, on_this_machine,
    process_gone, process_identity, unconfirmed_workers, watch_leases, write_lease, live_workers_seen, read_lease,
)
from .storage._pool_ledger import PoolLedger, PoolState, validate_pool_name, pool_names
from .storage._lock import retry_lock_lost
from .storage._observe import MAX_CLOCK_OFFSET_S, LeaseWatch, clock_offset_s, note_stall, timed
from .storage._lost import OUT_OF_MEMORY, lose_runs
from .views._memory import starved_hint, waiting_per_lane, waiting_per_mem_class
from .views._class_hints import starved_classes_hint, too_long_hint, waiting_for
from .storage._queue import NO_FIT
from .storage._records import encode, read_records
from .storage._safe_io import open_nofollow
from .views._status_text import status_html, status_lines
from .storage._trust import GroupWarning, group_name
from .views._status import Status, error_rows, results_columns, status_of
from .views._wasted import WastedRuns, wasted_runs

__all__ = [
    "TIME_CLASSES_S", "Capacity", "JobClass", "class_of", "claim_order", "lane_classes", "may_claim",
    "time_class_above", "time_class_of", "uses_classes", "capacity_of_lease", "known_capacities", "record_capacity",
    "someone_may_claim", "TOO_LONG", "waiting_for", "starved_classes_hint", "too_long_hint",
    "AuditReport", "audit_logs", "last_audit", "FORMAT_VERSION", "Claim", "Layout", "ProjectSettings",
    "setting", "validate_job_timeout_s", "MAX_JOB_TIMEOUT_S", "ProjectState", "Queue", "STATES", "FINISHED_STATES", "n_finished", "check_trust",
    "CursorRecord", "DropRecord",
    "EventRecord", "HandbackRecord", "Lease", "PutBackRecord", "QueueEventRecord", "ResultRecord",
    "done_record", "error_record", "handback_record", "handbacks_of", "atomic_path", "write_atomic",
    "check_trust_once", "gc_paused", "adopt_new_file", "make_dir", "modes_for", "open_file",
    "read_project_json", "GroupWarning", "JobTable", "canonical_json", "MEM_CLASSES_GB", "NO_FIT", "N_LANES",
    "OUT_OF_MEMORY", "SUPERVISOR_ENV", "Status", "check_integrity", "content_key", "create_project",
    "drop_jobs", "encode", "error_rows", "expected_gb", "expire_dead_workers", "expire_worker", "fault_point",
    "group_name", "is_dead", "job_seed", "lane_above", "lane_of", "list_leases", "lose_runs",
    "normalize_jobs", "on_this_machine", "read_lease", "open_nofollow", "process_gone", "process_identity", "read_records",
    "remove_interrupted_creations", "results_columns", "starved_hint", "status_html", "status_lines",
    "status_of", "undrop_jobs", "untrusted_reason", "waiting_per_lane", "waiting_per_mem_class", "write_lease",
    "write_project_json", "PoolLedger", "PoolState", "validate_pool_name", "pool_names", "retry_lock_lost",
    "LeaseWatch", "MAX_CLOCK_OFFSET_S", "clock_offset_s", "note_stall", "timed", "unconfirmed_workers", "watch_leases", "live_workers_seen",
    "WastedRuns", "wasted_runs",
]  # fmt: skip
