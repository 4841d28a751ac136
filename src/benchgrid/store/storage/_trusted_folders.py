"""Trust check of the folders a project imports user code from (``code_path`` in project.json).

A folder that other users (or the group, unless the project is group-shared)
can write is never put on a worker's ``sys.path``: anyone could drop a module
there that the worker would run (DESIGN.md, invariant 9).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

__all__ = ["untrusted_reason"]


def untrusted_reason(folder: str | os.PathLike[str], group_shared: bool = False) -> str | None:
    """Why ``folder`` may not be put on ``sys.path`` (None when it may).

    Examples
    --------
    >>> untrusted_reason("/nonexistent/folder")
    'it does not exist'
    """
    try:
        mode = Path(folder).stat().st_mode
    except OSError:
        return "it does not exist"
    forbidden = stat.S_IWOTH | (0 if group_shared else stat.S_IWGRP)
    if mode & forbidden:
        who = "other users" if mode & stat.S_IWOTH else "the group"
        return f"it is writable by {who} (mode {stat.filemode(mode)})"
    return None
