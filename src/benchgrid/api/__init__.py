"""benchgrid.api: the Project class (create, open, run, submit, cancel, status, results)."""

from ._ml_project import MLProject
from ._project import NotAnMLProjectError, Project

# used by the other packages (they import public names only: tests/test_layers.py)
from ._demo import DemoResult, run_demo
from ._grid_files import read_grid_file
from ._ml_methods import select_rows
from ._pools import end_of_pooled_worker
from ._in_allocation import work_in_allocation
from ._capacity import check_pool_resources, check_walltime

__all__ = ["MLProject", "NotAnMLProjectError", "Project",
    "DemoResult", "run_demo", "select_rows", "end_of_pooled_worker", "work_in_allocation", "check_walltime", "check_pool_resources",
    "read_grid_file",
]
