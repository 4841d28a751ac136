"""Errors raised by benchgrid.

Every error a user can cause derives from :class:`BenchgridError`; the CLI
turns it into a message on stderr and exit code 2. Errors are plain
``Exception`` subclasses with a single message argument, so they pickle and
can cross process boundaries.
"""

from __future__ import annotations

__all__ = ["BenchgridError", "ProjectError", "InputError", "LockTimeout"]


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


class ProjectError(BenchgridError):
    """The project directory is missing, corrupted or of a newer format."""


class LockTimeout(BenchgridError, TimeoutError):
    """The project lock could not be taken in time."""
