"""Grid files (``grid.py``) read as ``python grid.py`` would import: for a new project, or more for an existing one.

A grid file defines tasks, learners and cv (:func:`benchgrid.ml.load_grid_file`);
its own imports find the modules next to it and in the current folder. For a
new project those folders are the code path the project records
(:func:`benchgrid.worker.code_path_at_creation`), so that every worker later
imports the same modules; for ``add`` they are the project's recorded folders
and the new grid file's. Folders others may write are skipped, as a worker
skips them (invariant 9).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..ml import load_grid_file
from ..worker import code_path_at_creation, use_code_path

if TYPE_CHECKING:
    from ._project import Project

__all__ = ["read_grid_file"]


def read_grid_file(
    path: str | os.PathLike[str], *, project: Project | None = None, group_shared: bool = False
) -> tuple[dict[str, Any], list[str]]:
    """Run a grid file with its code folders first on ``sys.path``; return its names and those folders.

    Parameters
    ----------
    path : path-like
        The ``.py`` grid file.
    project : Project, optional
        The project the grid adds to (``benchgrid add --grid``): its recorded
        folders come first and tasks, learners and cv are each optional.
        Without it the grid makes a new project (``benchgrid init --grid``):
        tasks, learners and cv are required.
    group_shared : bool, default=False
        The new project is shared with its group (a folder its group may
        write is then searched).

    Returns
    -------
    grid : dict
        The names the file defines (``tasks``, ``learners``, ``cv``, ...).
    code_path : list of str
        The folders searched: for a new project, the ones it records.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "grid.py"
    >>> _ = f.write_text("tasks, learners, cv = {'t': 1}, {'l': 2}, None\\n")
    >>> grid, code_path = read_grid_file(f)
    >>> sorted(grid), str(f.parent) in code_path
    (['cv', 'learners', 'tasks'], True)
    """
    folder = str(Path(path).absolute().parent)
    if project is None:
        code_path = code_path_at_creation(extra=[folder])
        use_code_path({"code_path": code_path, "settings": {"group_shared": group_shared}})
        return load_grid_file(path), code_path
    code_path = [*(project.info.get("code_path") or []), folder]
    use_code_path({**project.info, "code_path": code_path})
    return load_grid_file(path, require=()), code_path
