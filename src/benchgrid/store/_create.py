"""Creating a project directory atomically: built in a temp sibling, renamed into place."""

from __future__ import annotations

import os
import secrets
import shutil
import time
from pathlib import Path
from typing import Any, Callable

from .._errors import InputError, ProjectError
from ._jobs import JobTable, normalize_jobs
from ._layout import FORMAT_VERSION, Layout, environment, write_project_json
from ._lock import LOCK_MODES, MIN_LOCK_LEASE_S
from ._records import append_records

__all__ = ["create_project", "check_settings", "check_new_path"]


def check_settings(settings: dict[str, Any]) -> None:
    """Check the worker settings up front, naming the rule and the value."""
    if not (isinstance(settings["lease_s"], (int, float)) and settings["lease_s"] > 0):
        raise InputError(f"lease_s must be a number > 0 (seconds), got {settings['lease_s']!r}")
    if not (isinstance(settings["max_attempts"], int) and settings["max_attempts"] >= 1):
        raise InputError(f"max_attempts must be an integer >= 1, got {settings['max_attempts']!r}")
    if settings["lock"] not in LOCK_MODES:
        raise InputError(f"lock must be one of {LOCK_MODES}, got {settings['lock']!r}")
    if not (isinstance(settings["lock_lease_s"], (int, float)) and settings["lock_lease_s"] >= MIN_LOCK_LEASE_S):
        raise InputError(
            f"lock_lease_s must be a number >= {MIN_LOCK_LEASE_S} (seconds), got {settings['lock_lease_s']!r}"
        )


def check_new_path(path: Path) -> None:
    """A new project goes to a path that does not exist or is an empty directory."""
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
    check_new_path(path)
    check_settings(settings)
    params_jsons = normalize_jobs(jobs)
    seen: dict[str, int] = {}
    for i, text in enumerate(params_jsons):
        if text in seen:
            raise InputError(f"jobs[{i}] repeats jobs[{seen[text]}] ({text}); each job must be unique")
        seen[text] = i
    if not path.parent.exists():
        raise InputError(f"the parent folder of {str(path)!r} does not exist; create it first")
    tmp = path.parent / f".{path.name}.creating-{os.getpid()}-{secrets.token_hex(3)}"
    old_umask = os.umask(0o007 if settings.get("group_shared") else 0o077)
    try:
        tmp.mkdir()
        layout = Layout(tmp)
        for d in (layout.jobs_dir, layout.queue_dir, layout.workers_dir, layout.inputs_dir):
            d.mkdir()
        if write_inputs is not None:
            write_inputs(layout.inputs_dir)
        n = JobTable(layout.jobs_dir).append(params_jsons, 0)
        append_records(layout.claims, [{"op": "init", "next": 0, "rq": 0, "n": n, "t": time.time()}])
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
        if path.exists():
            path.rmdir()  # an empty directory the user made for us
        os.rename(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        os.umask(old_umask)
    return path
