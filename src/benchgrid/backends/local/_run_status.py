"""The final status of a local run: the project's :class:`Status` plus how the run ended."""

from __future__ import annotations

from dataclasses import dataclass, field

from ...store import Status

__all__ = ["RunStatus"]


@dataclass(repr=False)  # keep Status's repr: the summary `benchgrid status` prints
class RunStatus(Status):
    """The final :class:`Status` of a run, with its exit code and the workers that ended abnormally.

    ``exit_code`` follows :mod:`benchgrid._exitcodes`: 0 all done, 1 runner
    errors, 3 failed jobs, 4 jobs left (workers kept dying), 5 disk full.
    """

    exit_code: int = 0
    worker_ends: list[str] = field(default_factory=list)
    problem: str = ""
