"""Expand tasks × learners × splits into a job table the generic core can run.

Everything is checked and every split computed here, before the core
creates anything, so bad input leaves nothing on disk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .._errors import InputError
from ._ids import check_id, check_unique, digest
from ._inputs import write_config, write_learner, write_task
from ._learners import algorithm_name, check_learners, describe_learner, learner_key
from ._measures import Measure, check_measures
from ._splits import Splits, check_cv, compute_splits, describe_cv
from ._task import Task

__all__ = ["MLSpec", "build_ml_project", "check_tasks", "make_jobs", "ORDERS"]

ORDERS = ("train_size", "grid", "estimated")
FORMAT = 1
# Job parameters set by the ML layer; a splitter's metadata may not reuse them.
RESERVED = ("task_id", "learner_id", "algorithm", "n_train", "n_test",
            "task_key", "learner_key", "content_key")  # fmt: skip


@dataclass
class MLSpec:
    """What :meth:`benchgrid.Project.create` needs for an ML grid."""

    jobs: list[dict[str, Any]]
    runner: str
    write_inputs: Callable[[Path], None]
    metadata: dict[str, Any]


def build_ml_project(
    tasks: Any,
    learners: Any,
    cv: Any,
    *,
    measures: Any = None,
    order: str | Callable[[Any], Any] = "train_size",
    save_predictions: bool = False,
    save_models: bool = False,
    random_state: int = 0,
) -> MLSpec:
    """Check the grid, compute every split and return the jobs and their inputs.

    Parameters
    ----------
    tasks : dict of str to Task
    learners : dict of str to estimator
    cv : cross-validator, int, iterable of (train, test), SOAK or None
        None uses each task's ``fold`` column.
    measures : list of str or callable, optional
        Default: rmse and mae for regression, ce and accuracy for classification.
    order : {"train_size", "grid", "estimated"} or callable, default="train_size"
        Order in which workers claim jobs. "train_size": largest training
        set first (long jobs early, so the last ones are short); "grid":
        task, learner, iteration; "estimated": time one job per (task,
        learner) now and put the longest estimated jobs first; a callable
        gets the jobs as a DataFrame and returns the rows to keep, in order.
    save_predictions, save_models : bool, default=False
        Also write each job's test predictions (Parquet) or fitted model (pickle).
    random_state : int, default=0
        The project seed (used here only to time jobs for ``order="estimated"``).

    Returns
    -------
    MLSpec

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn.dummy import DummyRegressor
    >>> from sklearn.model_selection import KFold
    >>> df = pd.DataFrame({"x": range(6), "y": [0.0, 1, 4, 9, 16, 25]})
    >>> spec = build_ml_project({"sq": Task(df, target="y")},
    ...                         {"featureless": DummyRegressor()}, KFold(3))
    >>> len(spec.jobs), spec.jobs[0]["task_id"], spec.jobs[0]["n_train"]
    (3, 'sq', 4)
    """
    tasks = check_tasks(tasks)
    learners = check_learners(learners)
    cv = check_cv(cv)
    checked = check_measures(measures, {t: v.task_type for t, v in tasks.items()}, learners)
    for name, flag in (("save_predictions", save_predictions), ("save_models", save_models)):
        if not isinstance(flag, bool):
            raise InputError(f"{name} must be True or False, got {flag!r}")
    if not (callable(order) or order in ORDERS):
        raise InputError(
            f"order must be one of {ORDERS} or a function (jobs DataFrame -> DataFrame), "
            f"got {order!r}"
        )
    splits = {tid: compute_splits(cv, task, tid) for tid, task in tasks.items()}
    jobs = make_jobs(tasks, learners, splits)
    jobs = order_jobs(jobs, order, tasks, learners, splits, checked, random_state)

    stored = [m if isinstance(m, str) else {"pickled": i, "name": m.name}
              for i, m in enumerate(checked)]  # fmt: skip
    objects = {"measures": {i: m for i, m in enumerate(checked) if isinstance(m, Measure)},
               "cv": cv}  # fmt: skip
    config = {
        "format": FORMAT,
        "measures": stored,
        "save_predictions": save_predictions,
        "save_models": save_models,
    }

    def write_inputs(inputs_dir: Path) -> None:
        inputs_dir = Path(inputs_dir)
        write_config(inputs_dir, config, objects)
        write_grid_inputs(inputs_dir, tasks, learners, splits)

    metadata = {
        "ml": {
            **{k: v for k, v in config.items() if k != "measures"},
            "measures": [m if isinstance(m, str) else m.name for m in checked],
            "cv": describe_cv(cv),
            "columns": column_names(splits),
            "order": order if isinstance(order, str) else getattr(order, "__name__", "custom"),
            "tasks": {tid: t.describe() for tid, t in tasks.items()},
            "learners": {lid: describe_learner(e) for lid, e in learners.items()},
        }
    }
    from ._runner import RUNNER

    return MLSpec(jobs=jobs, runner=RUNNER, write_inputs=write_inputs, metadata=metadata)


def write_grid_inputs(
    inputs_dir: Path, tasks: dict[str, Task], learners: dict[str, Any], splits: dict[str, Splits]
) -> None:
    """Write task data, splits and learners (content-addressed file names)."""
    for tid, task in tasks.items():
        write_task(inputs_dir, tid, task, splits[tid])
    for lid, est in learners.items():
        write_learner(inputs_dir, lid, learner_key(est), est)


def check_tasks(tasks: Any) -> dict[str, Task]:
    """Validate ``tasks`` (dict id -> Task, or a list of Tasks with ids).

    Examples
    --------
    >>> check_tasks({"a": "not a task"})
    Traceback (most recent call last):
    ...
    benchgrid._errors.InputError: task 'a' must be a benchgrid.Task, got str; ...
    """
    if isinstance(tasks, Task):
        tasks = [tasks]
    if isinstance(tasks, (list, tuple)):
        for t in tasks:
            if not isinstance(t, Task) or t.id is None:
                raise InputError(
                    f"tasks given as a list must be Tasks with an id, got {t!r}; "
                    "pass Task(..., id='name') or a dict {'name': Task(...)}"
                )
        check_unique("task", [t.id for t in tasks])  # type: ignore[misc]
        tasks = {t.id: t for t in tasks}
    if not isinstance(tasks, dict) or not tasks:
        raise InputError(
            f"tasks must be a non-empty dict id -> Task, got {type(tasks).__name__}; "
            "e.g. {'easy': bg.Task(df, target='y')}"
        )
    for tid, task in tasks.items():
        check_id("task id", tid)
        if not isinstance(task, Task):
            raise InputError(
                f"task {tid!r} must be a benchgrid.Task, got {type(task).__name__}; "
                "wrap the data: bg.Task(df, target='y')"
            )
        if task.id is not None and task.id != tid:
            raise InputError(
                f"task {tid!r} has id={task.id!r}; the dict key and Task(id=...) must agree"
            )
    return dict(tasks)


def make_jobs(
    tasks: dict[str, Task], learners: dict[str, Any], splits: dict[str, Splits]
) -> list[dict[str, Any]]:
    """One job per (task, learner, split), in grid order; parameters are JSON-able."""
    lkeys = {lid: learner_key(est) for lid, est in learners.items()}
    jobs = []
    algorithms = {lid: algorithm_name(est) for lid, est in learners.items()}
    reserved = set(RESERVED)
    for tid, task in tasks.items():
        s = splits[tid]
        task_key = task.key  # a hash of the task's data: once per task, not once per job
        split_keys = [digest(*(a.tobytes() for a in s.get(i))) for i in range(len(s))]
        n_train = np.diff(s.train_ptr).tolist()
        n_test = np.diff(s.test_ptr).tolist()
        metas = [{param_name(k): v for k, v in meta.items()} for meta in s.meta]
        for meta in metas:
            if not reserved.isdisjoint(meta):
                raise InputError(
                    f"cv metadata must not use the column names {sorted(reserved & set(meta))!r}, which "
                    "benchgrid sets; rename them in the splitter"
                )
        for lid in learners:
            for i, meta in enumerate(metas):
                jobs.append({
                    "task_id": tid,
                    "learner_id": lid,
                    "algorithm": algorithms[lid],
                    **meta,
                    "n_train": n_train[i],
                    "n_test": n_test[i],
                    "task_key": task_key,
                    "learner_key": lkeys[lid],
                    "content_key": digest(tid, task_key, lid, lkeys[lid], split_keys[i]),
                })  # fmt: skip
    return jobs


def param_name(column: str) -> str:
    """Job parameters are keyword arguments: 'test.subset' is stored as 'test_subset'.

    :meth:`benchgrid.Project.scores` gives the splitter's own names back.

    Examples
    --------
    >>> param_name("n.train.groups")
    'n_train_groups'
    """
    name = re.sub(r"\W", "_", str(column))
    return f"_{name}" if name[:1].isdigit() else name


def column_names(splits: dict[str, Splits]) -> dict[str, str]:
    """Job parameter -> splitter metadata name, where they differ."""
    out = {}
    for s in splits.values():
        for meta in s.meta[:1]:
            for k in meta:
                if param_name(k) != k:
                    out[param_name(k)] = k
    return out


def order_jobs(jobs, order, tasks, learners, splits, measures, random_state):
    """Reorder (or, for a callable, filter) jobs; see ``build_ml_project``."""
    if order == "grid":
        return jobs
    if order == "train_size":  # stable: ties keep grid order
        return sorted(jobs, key=lambda j: -j["n_train"])
    if order == "estimated":
        from ._try import estimate_jobs

        # not stored as a job parameter: it would change the job's key (and seed) per run
        est = estimate_jobs(jobs, tasks, learners, splits, measures, random_state)
        pos = sorted(range(len(jobs)), key=lambda i: -est[i])
        return [jobs[i] for i in pos]
    import pandas as pd

    frame = pd.DataFrame(jobs)
    out = order(frame)
    if not isinstance(out, pd.DataFrame) or not set(out.index) <= set(frame.index):
        raise InputError(
            "order must return a subset of the rows of the jobs DataFrame it gets "
            f"(e.g. jobs.sort_values('n_train')), got {type(out).__name__}"
        )
    if out.empty:
        raise InputError("order dropped every job; keep at least one")
    return [jobs[i] for i in out.index]
