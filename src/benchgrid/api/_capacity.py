"""What a submitted pool's workers will have, checked against the project and noted in it (issue 21).

``submit`` refuses a resource the project does not declare (no job could
ever ask for it: a typo), and notes each pool's capacity (memory, time,
resources) in the project, so that a job handed back at a walltime limit
moves to a longer class only when some pool may claim it there
(:mod:`benchgrid.store.storage._capacities`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from .._errors import InputError
from ..store import Capacity, ProjectSettings, Queue, read_project_json, record_capacity

__all__ = ["check_pool_resources", "check_walltime", "note_submitted"]


def check_walltime(time: str, name: str = "time") -> float:
    """Seconds of a scheduler time limit (``"3:00:00"``, ``"90"`` minutes); an :class:`InputError` otherwise.

    >>> check_walltime("0:03:00")
    180.0
    """
    from ..backends import worker_limit_s

    return float(worker_limit_s(time, warning_s=0) or 0.0)


def check_pool_resources(resources: Mapping[str, int] | None, settings: ProjectSettings) -> None:
    """Every resource of a pool must be one of the project's ``resource_keys``.

    Examples
    --------
    >>> check_pool_resources({"gpus": 1}, ProjectSettings(resource_keys=["gpus"]))
    >>> check_pool_resources({"gpus": 1}, ProjectSettings())
    Traceback (most recent call last):
    ...
    benchgrid._errors.InputError: resource 'gpus' is not one of this project's resources (resource_keys: []); \
create the project with resource_keys=['gpus'] (a job column of counts), or submit the pool without it
    """
    known = list(settings.resource_keys or [])
    for name in resources or {}:
        if name not in known:
            raise InputError(f"resource {name!r} is not one of this project's resources (resource_keys: {known}); "
                             f"create the project with resource_keys=[{name!r}] (a job column of counts), "
                             "or submit the pool without it")


def note_submitted(root: Path, backend: str, values: Mapping[str, Any]) -> None:
    """Note the capacity of the workers just submitted with the resolved options ``values``."""
    from ..backends import worker_limit_s

    cap = Capacity(values.get("mem_gb"), worker_limit_s(values.get("time"), values.get("warning_s")),
                   dict(values.get("resources") or {}))
    queue = Queue(root, read_project_json(root)["settings"])
    with queue.lock:
        record_capacity(root, cap, f"submit {backend}")
