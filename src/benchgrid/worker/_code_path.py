"""Finding the user's code the way Python does, on every worker.

``python script.py`` imports modules from the script's folder and
``python -m`` from the current folder. A project records the folders its
runner (and, for ML projects, its pickled learners) came from at creation
(``code_path`` in ``project.json``); every worker, ``benchgrid try`` and
``benchgrid work`` put them on ``sys.path`` before importing the runner, so
``benchgrid init DIR --runner experiments:simulate`` works from the folder
that holds ``experiments.py``, without PYTHONPATH.

The folders are part of the project's trust boundary: a folder that other
users (or the group, unless the project is group-shared) can write is not
put on ``sys.path``, since anyone could drop a module there that a worker
would then run.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import Any, Iterable

from ..store import unsafe_reason

__all__ = ["code_path_at_creation", "unsafe_reason", "use_code_path"]


def _installed_roots() -> list[Path]:
    roots = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    return sorted(roots)


def _module_root(module_name: str) -> Path | None:
    """The ``sys.path`` folder a module was imported from (None: built in, or installed)."""
    try:
        module = importlib.import_module(module_name)
    except Exception:  # noqa: BLE001 - load_runner reports import errors
        return None
    file = getattr(module, "__file__", None)
    if not file:
        return None
    root = Path(file).resolve().parent
    depth = module_name.count(".") + (1 if Path(file).name == "__init__.py" else 0)
    for _ in range(depth):
        root = root.parent
    if _is_installed(root):
        return None  # the standard library or an installed package: every worker has it
    return root


def _is_installed(folder: Path) -> bool:
    """Inside the Python installation or the virtual environment (stdlib, site-packages, bin)."""
    return any(folder == r or r in folder.parents for r in _installed_roots())


def code_path_at_creation(runner: str | None = None, extra: Iterable[str | os.PathLike[str]] = ()) -> list[str]:
    """The folders to record in a new project: as Python would search them here.

    The current folder (``python -m``), the folder of the script being run
    (``python script.py``), the folder the runner's module was imported from
    (when it is not an installed package) and ``extra`` (a grid file's
    folder), absolute and without repeats.

    Examples
    --------
    >>> code_path_at_creation()[0] == os.getcwd()
    True
    """
    folders: list[Path] = [Path.cwd()]
    main = sys.argv[0] if sys.argv else ""
    run_as_module = getattr(sys.modules.get("__main__"), "__spec__", None) is not None  # python -m: cwd only
    if main.endswith(".py") and Path(main).is_file() and not run_as_module:
        script_dir = Path(main).resolve().parent
        if not _is_installed(script_dir):
            folders.append(script_dir)
    folders.extend(Path(e).resolve() for e in extra)
    if runner and ":" in runner:
        top = runner.split(":")[0]
        if top.split(".")[0] != "benchgrid":
            root = _module_root(top)
            if root is not None:
                folders.append(root)
    out: list[str] = []
    for folder in folders:
        text = str(folder.absolute())
        if text not in out and folder.is_dir():
            out.append(text)
    return out


def use_code_path(info: dict[str, Any]) -> list[str]:
    """Put a project's recorded code folders first on ``sys.path``; return what was skipped.

    ``info`` is the content of ``project.json``. Each skipped folder comes
    back as ``"FOLDER: reason"``, for the error message when an import then
    fails. Folders already on ``sys.path`` are left where they are.
    """
    group_shared = bool(info.get("settings", {}).get("group_shared"))
    skipped: list[str] = []
    folders = [str(f) for f in info.get("code_path") or []]
    for folder in reversed(folders):  # inserting at 0: keep the recorded order
        reason = unsafe_reason(folder, group_shared)
        if reason is not None:
            skipped.append(f"{folder}: {reason}")
        elif folder not in sys.path:
            sys.path.insert(0, folder)
    importlib.invalidate_caches()
    return skipped[::-1]


def check_runner_findable(info: dict[str, Any]) -> None:
    """Raise InputError when the project's runner module cannot be found (without importing it).

    Called before starting workers (``benchgrid run``, ``submit``), so a
    missing module is one clear error, not one per worker.

    Examples
    --------
    >>> check_runner_findable({"runner": "os.path:join", "code_path": []})
    >>> check_runner_findable({"runner": "no_such_module_xyz:f", "code_path": []})
    Traceback (most recent call last):
    ...
    benchgrid._errors.InputError: runner 'no_such_module_xyz:f' cannot be imported: ...
    """
    import importlib.util

    from .._errors import InputError

    runner = str(info.get("runner", ""))
    module = runner.split(":")[0]
    skipped = use_code_path(info)
    try:
        found = importlib.util.find_spec(module) is not None
        error = f"ModuleNotFoundError: No module named {module!r}"
    except (ImportError, ValueError) as err:  # a parent package is missing or broken
        found, error = False, f"{err.__class__.__name__}: {err}"
    if not found:
        code_path = info.get("code_path") or []
        where = f"looked in {list(code_path)!r} and the installed packages" if code_path else "looked in the installed packages"
        refused = f"; not searched: {'; '.join(skipped)} (run `chmod go-w` on it)" if skipped else ""
        raise InputError(
            f"runner {runner!r} cannot be imported: {error} ({where}{refused}); create the project from the "
            "folder that holds the module, install it (pip install -e .) or add its folder to PYTHONPATH"
        )
