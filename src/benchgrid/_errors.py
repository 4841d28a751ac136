"""Errors raised by benchgrid.

Every error a user can cause derives from :class:`BenchgridError`; the CLI
turns it into a message on stderr and exit code 2. Errors are plain
``Exception`` subclasses with a single message argument, so they pickle and
can cross process boundaries.
"""

from __future__ import annotations

__all__ = ["BenchgridError", "ProjectError", "InputError", "LockTimeout", "DiskFull", "is_disk_full", "ResultNameWarning"]


class BenchgridError(Exception):
    """Base class of every error benchgrid raises on bad input or state.

    Examples
    --------
    >>> try:
    ...     raise InputError("n_workers must be >= 0, got -1")
    ... except BenchgridError as err:
    ...     print(err)
    n_workers must be >= 0, got -1
    """


class InputError(BenchgridError, ValueError):
    """A parameter or input file breaks a rule; the message names the fix."""


class ResultNameWarning(UserWarning):
    """A runner returned a key named like a job parameter or a benchgrid column: kept as ``result.<key>``."""


class ProjectError(BenchgridError):
    """The project directory is missing, corrupted or of a newer format."""


class LockTimeout(BenchgridError, TimeoutError):
    """The project lock could not be taken in time."""


class DiskFull(BenchgridError, OSError):
    """A write failed because the disk (or quota) is full; nothing was lost, free space and run again.

    Examples
    --------
    >>> import errno
    >>> str(DiskFull.from_os_error(OSError(errno.ENOSPC, "No space left", "/p/x.log")))
    "disk full writing '/p/x.log'; free space and run again"
    """

    @classmethod
    def from_os_error(cls, err: OSError, where: str | None = None) -> "DiskFull":
        """``where``: what was being written, when the error does not name a file (a write on an open file)."""
        name = repr(str(err.filename)) if err.filename else (where or "the project")
        return cls(f"disk full writing {name}; free space and run again")


def is_disk_full(err: BaseException) -> bool:
    """True for ENOSPC and EDQUOT (quota exceeded), the errors that freeing space cures."""
    import errno

    return isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT)
