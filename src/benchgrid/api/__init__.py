"""benchgrid.api: the Project class (create, open, run, submit, cancel, status, results)."""

from ._ml_project import MLProject
from ._project import NotAnMLProjectError, Project

__all__ = ["MLProject", "NotAnMLProjectError", "Project"]
