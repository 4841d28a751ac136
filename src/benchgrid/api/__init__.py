"""benchgrid.api: the Project class (create, open, run, submit, cancel, status, results)."""

from ._project import Project

__all__ = ["Project"]
