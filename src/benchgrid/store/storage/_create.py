"""Creating a project directory atomically: built in a temp sibling, renamed into place."""

from __future__ import annotations

import json
import math
import numbers
import os
import shutil
import time
import warnings
from pathlib import Path
from typing import Any, Callable

from ..._errors import DiskFull, InputError, ProjectError, is_disk_full
from ._jobs import JobTable, normalize_jobs
from ._classes import JobClass, assign_lanes, uses_classes
from ._lanes import N_LANES, append_lane_ids
from ._layout import FORMAT_VERSION, Layout, creation_temp_name, environment, interrupted_creations, write_project_json
from ._record_types import CursorRecord
from ._records import append_records
from ._safe_io import PRIVATE_DIR_MODE, PRIVATE_FILE_MODE, SHARED_DIR_MODE, SHARED_FILE_MODE, fix_mode
from ._settings import ProjectSettings

__all__ = ["create_project", "validate_settings", "validate_new_path", "remove_interrupted_creations"]


def remove_interrupted_creations(path: Path) -> tuple[list[Path], list[Path]]:
    """Remove the temp folders of interrupted creations of ``path`` whose creator is gone.

    Returns (removed, kept): kept folders may belong to a creation still
    running, or to another host; the caller names them.
    """
    removed, kept = [], []
    for tmp, gone in interrupted_creations(Path(path).absolute()):
        if gone:
            shutil.rmtree(tmp, ignore_errors=True)
            removed.append(tmp)
        else:
            kept.append(tmp)
    return removed, kept


def validate_settings(settings: dict[str, Any]) -> ProjectSettings:
    """Check the worker settings up front, naming the rule and the value (see :class:`ProjectSettings`)."""
    return ProjectSettings.from_dict(settings)


def _validate_memory_column(params: list[dict[str, Any]], memory_key: str) -> None:
    """Every job's expected memory is a positive number of GB, or missing (unknown)."""
    if not any(memory_key in p for p in params):
        raise InputError(f"memory_key {memory_key!r} names no job column; give the column of expected peak GB per job")
    for i, p in enumerate(params):
        value = p.get(memory_key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            raise InputError(
                f"jobs[{i}][{memory_key!r}] must be the expected peak memory in GB (a number > 0) or missing, "
                f"got {value!r}"
            )


def validate_new_path(path: Path) -> None:
    """A new project goes to a path that does not exist or is an empty directory, free of control characters.

    Examples
    --------
    >>> validate_new_path(Path("/tmp/a\\nb"))
    Traceback (most recent call last):
    ...
    benchgrid._errors.InputError: the project path must not contain control characters (newline, tab, ...), got '/tmp/a\\nb'; choose a name without them
    """
    if any(ord(c) < 32 or ord(c) == 127 for c in str(path)):
        raise InputError(
            "the project path must not contain control characters (newline, tab, ...), "
            f"got {str(path)!r}; choose a name without them"
        )
    if Layout(path).project_json.exists():
        raise ProjectError(
            f"{str(path)!r} is already a benchgrid project; open it (Project.open) and add jobs "
            "with add_jobs / `benchgrid add`, or choose another directory"
        )
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise ProjectError(
            f"{str(path)!r} exists and is not a benchgrid project; choose a new or empty directory"
        )


def create_project(
    path: Path,
    jobs: Any,
    runner: str,
    settings: dict[str, Any],
    *,
    random_state: int = 0,
    write_inputs: Callable[[Path], None] | None = None,
    metadata: dict[str, Any] | None = None,
    code_path: list[str] | None = None,
) -> Path:
    """Write a complete project at ``path`` or nothing at all."""
    path = Path(path).absolute()
    validate_new_path(path)
    typed = validate_settings(settings)  # project.json keeps `settings` as given
    if isinstance(random_state, bool) or not isinstance(random_state, numbers.Integral):
        raise InputError(f"random_state must be an integer (the project seed), got {random_state!r}")
    params_jsons = normalize_jobs(jobs)
    seen: dict[str, int] = {}
    for i, text in enumerate(params_jsons):
        if text in seen:
            raise InputError(f"jobs[{i}] repeats jobs[{seen[text]}] ({text}); each job must be unique")
        seen[text] = i
    if not path.parent.exists():
        raise InputError(f"the parent folder of {str(path)!r} does not exist; create it first")
    remove_interrupted_creations(path)
    tmp = creation_temp_name(path)
    old_umask = os.umask(0o007 if typed.group_shared else 0o077)
    try:
        tmp.mkdir()
        layout = Layout(tmp)
        for d in (layout.jobs_dir, layout.queue_dir, layout.workers_dir, layout.inputs_dir):
            d.mkdir()
        if write_inputs is not None:
            write_inputs(layout.inputs_dir)
        n = JobTable(layout.jobs_dir).append(params_jsons, 0)
        init: CursorRecord = {"op": "init", "next": 0, "rq": 0, "n": n, "t": time.time()}
        if typed.memory_key or uses_classes(typed):
            params = [json.loads(text) for text in params_jsons]
            if typed.memory_key:
                _validate_memory_column(params, typed.memory_key)
            if uses_classes(typed):  # issue 21: lanes of the classes the jobs need, the smallest first
                init["lanes"], init["lk"] = [[0, 0]], [JobClass().key()]
            else:
                init["lanes"] = [[0, 0] for _ in range(N_LANES)]
            append_lane_ids(layout.queue_dir, assign_lanes(0, params, typed, init), 0)  # type: ignore[arg-type]
        append_records(layout.claims, [init])
        for log in (layout.requeue, layout.events):  # exist from the start: no client caches them as absent
            append_records(log, [])
        write_project_json(
            tmp,
            {
                "format": FORMAT_VERSION,
                "runner": runner,
                "code_path": list(code_path or []),
                "random_state": int(random_state),
                "settings": settings,
                "metadata": metadata or {},
                "environment": environment(),
            },
        )
        # the group: that of an empty folder made for the project (chgrp lab proj), else of its parent's
        gid = os.stat(path if path.exists() else tmp).st_gid
        _set_modes(tmp, typed.group_shared, gid)
        if path.exists():
            path.rmdir()  # an empty directory the user made for us
        os.rename(tmp, path)
    except BaseException as err:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(err, OSError) and is_disk_full(err):
            raise DiskFull.from_os_error(err, repr(str(path))) from None
        raise
    finally:
        os.umask(old_umask)
    if typed.group_shared:
        from ._trust import GroupWarning, private_group_warning

        message = private_group_warning(os.stat(path).st_gid)
        if message:
            warnings.warn(message, GroupWarning, stacklevel=3)
    return path


def _set_modes(tmp: Path, group_shared: bool, gid: int) -> None:
    """Every file and folder gets the project's mode explicitly (the umask may be anything).

    Group-shared: group ``gid``, files 0660, folders 02770 (setgid: files
    created later keep the project's group); private: 0600 and 0700.
    """
    file_mode, dir_mode = (SHARED_FILE_MODE, SHARED_DIR_MODE) if group_shared else (PRIVATE_FILE_MODE, PRIVATE_DIR_MODE)
    paths = [(tmp, dir_mode)]
    for dirpath, dirnames, filenames in os.walk(tmp):
        paths += [(Path(dirpath, name), file_mode) for name in filenames]
        paths += [(Path(dirpath, name), dir_mode) for name in dirnames]
    for p, mode in paths:
        if group_shared:
            try:
                os.chown(p, -1, gid, follow_symlinks=False)
            except PermissionError:
                from ._trust import group_name

                raise ProjectError(
                    f"cannot give the project the group {group_name(gid)!r} of its folder: you are not a "
                    "member; use a folder of one of your groups (id -Gn lists them)"
                ) from None
        fix_mode(p, mode)
