"""Grow an ML project's grid: the jobs of new tasks and learners, and their inputs.

:meth:`benchgrid.MLProject.add` calls :func:`add_to_grid` as ``create``
calls :func:`~benchgrid.ml.build_ml_project`: the ML layer checks the new
tasks and learners against the project's stored inputs, computes the new
splits, builds, orders and writes what the new jobs need, and returns them;
the API appends the jobs and records the metadata (the ML layer never writes
the job table or ``project.json``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._errors import InputError
from . import _grid, _inputs, _learners
from ._splits import Splits

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["GridAddition", "add_to_grid"]


@dataclass
class GridAddition:
    """What :func:`add_to_grid` added to a project's inputs: the jobs to append and what to record."""

    jobs: list[dict[str, Any]]
    tasks: dict[str, Any] = field(default_factory=dict)
    learners: dict[str, Any] = field(default_factory=dict)
    #: the splitter's column names of the new splits (``project.json``'s ``metadata.ml.columns``)
    columns: dict[str, str] = field(default_factory=dict)
    #: (kind, id, old key) of the definitions replaced (``replace=True``)
    replaced: list[tuple[str, str, str]] = field(default_factory=list)
    #: folders of the new learners' own modules, not yet on the project's code path
    code_folders: list[str] = field(default_factory=list)


def add_to_grid(
    info: dict[str, Any],
    inputs: Path,
    jobs: pd.DataFrame,
    tasks: Any = None,
    learners: Any = None,
    *,
    replace: bool = False,
    described_tasks: dict[str, Any] | None = None,
    default_order: Any = "train_size",
) -> GridAddition:
    """Check new ``tasks`` / ``learners``, write their inputs and return the jobs they add.

    ``info`` is the project's ``project.json`` (code path, random state),
    ``inputs`` its ``inputs/`` folder, ``jobs`` its job table,
    ``described_tasks`` the tasks its metadata describes and
    ``default_order`` the order it recorded. Nothing is written when no job
    is new (an empty ``jobs``).
    """
    from ..worker import check_loadable, user_module_folders

    config, objects = _inputs.read_config(inputs)
    old_tasks = dict(zip(jobs["task_id"], jobs["task_key"]))
    old_learners = dict(zip(jobs["learner_id"], jobs["learner_key"]))
    new_tasks = _grid.check_tasks(tasks) if tasks is not None else {}
    new_learners = _learners.check_learners(learners) if learners is not None else {}
    if not new_tasks and not new_learners:
        raise InputError("add needs tasks= or learners=, got neither")
    pickles = _grid.stored_objects(new_learners, {})
    code_path = list(info.get("code_path") or [])
    new_folders = [f for f in user_module_folders({m for _d, ms in pickles.values() for m in ms}) if f not in code_path]
    check_loadable({**info, "code_path": code_path + new_folders}, pickles)
    replaced = []
    for kind, new, old, key_of in (
        ("task", new_tasks, old_tasks, lambda t: t.key),
        ("learner", new_learners, old_learners, _learners.learner_key),
    ):
        for nid in list(new):
            key = key_of(new[nid])
            if nid not in old:
                continue
            if key == old[nid]:
                del new[nid]  # same definition: nothing new to run
            elif not replace:
                raise InputError(
                    f"{kind} {nid!r} is already in the project with another definition "
                    f"(key {old[nid]} != {key}); give it a new id, or pass replace=True "
                    "to drop its old results"
                )
            else:
                replaced.append((kind, nid, old[nid]))

    # format 1 projects: one cv, jobs without resampling_id (id None)
    resamplings = objects["cv"] if config.get("format", 1) >= 2 else {None: objects["cv"]}
    kept_tasks = {t: k for t, k in old_tasks.items() if t not in new_tasks}
    kept_learners = {i: k for i, k in old_learners.items() if i not in new_learners}
    loaded_learners = {i: _inputs.read_learner(inputs, i, k) for i, k in kept_learners.items()}
    all_learners = {**loaded_learners, **new_learners}
    measures = [m if isinstance(m, str) else objects["measures"][m["pickled"]]
                for m in config["measures"]]  # fmt: skip
    from ._measures import check_measures

    check_measures(measures, {t: v.task_type for t, v in new_tasks.items()}, all_learners)
    _learners.check_learner_task_types({t: v.task_type for t, v in new_tasks.items()}, all_learners)
    described = described_tasks or {}
    _learners.check_learner_task_types(
        {t: str(described.get(t, {}).get("task_type")) for t in kept_tasks}, new_learners)
    splits = _grid.compute_all_splits(resamplings, new_tasks)
    _grid.check_train_classes(new_tasks, splits)
    new_jobs = _grid.make_jobs(new_tasks, all_learners, splits) if new_tasks else []
    old_t: dict[str, Any] = {}
    old_s: dict[str, Any] = {}
    if new_learners and kept_tasks:
        old_t = {t: _inputs.read_task(inputs, t, k) for t, k in kept_tasks.items()}
        old_s = {t: {rid: Splits.load(_inputs.splits_path(inputs, t, k, rid))
                     for rid in resamplings}
                 for t, k in kept_tasks.items()}  # fmt: skip
        new_jobs += _grid.make_jobs(old_t, new_learners, old_s)
    if not new_jobs:
        return GridAddition([])
    # the project's order, as at creation (a callable order is stored with the inputs)
    order = objects.get("order", default_order)
    if not (callable(order) or order in _grid.ORDERS):  # format 1: only the callable's name
        order = "train_size"
    random_state = int(info.get("random_state", 0))
    # the new pairs get their hints as at creation (issues 13, 21): tried, or from the per-learner dicts
    _names, tried = _grid.set_needs(new_jobs, {**old_t, **new_tasks}, all_learners, {**old_s, **splits}, measures,
                                    random_state, memory_gb=objects.get("memory_gb"), time_s=objects.get("time_s"),
                                    resources=objects.get("resources"),
                                    task_ids={t: None for t in [*kept_tasks, *new_tasks]})
    new_jobs = _grid.order_jobs(new_jobs, order, {**old_t, **new_tasks}, all_learners,
                                {**old_s, **splits}, measures, random_state, tried=tried)  # fmt: skip
    _grid.write_grid_inputs(inputs, new_tasks, all_learners, splits)
    return GridAddition(new_jobs, new_tasks, new_learners, _grid.column_names(splits), replaced, new_folders)
