"""benchgrid.store: the project directory (job table, logs, leases, locks). Knows nothing of ML."""

from ._check import CheckReport, check_project, last_check
from ._layout import FORMAT_VERSION, Layout, check_private, read_project_json
from ._queue import Claim, Queue
from ._state import STATES, ProjectState

__all__ = [
    "CheckReport",
    "check_project",
    "last_check",
    "FORMAT_VERSION", "Claim", "Layout", "ProjectState", "Queue", "STATES", "check_private", "read_project_json"]
