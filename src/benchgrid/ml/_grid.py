"""Expand tasks × learners × splits into a job table the generic core can run.

Everything is checked and every split computed here, before the core
creates anything, so bad input leaves nothing on disk.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .._errors import InputError
from ._ids import EXPECTED_MEM_KEY, EXPECTED_S_KEY, check_id, check_unique, digest
from ._inputs import dumps_with_modules, splits_path, write_config, write_learner, write_task
from ._learners import check_learner_task_types, check_learners, describe_learner, learner_key
from ._measures import Measure, check_measures, greater_is_better
from ._splits import Splits, check_cv, compute_splits, describe_cv
from ._task import Task

__all__ = ["MLSpec", "build_ml_project", "check_tasks", "check_train_classes", "make_jobs",
           "ORDERS"]

ORDERS = ("train_size", "grid", "estimated")
FORMAT = 2  # 2: cv is a dict resampling_id -> splitter; jobs have resampling_id
# Job parameters set by the ML layer; a splitter's metadata may not reuse them.
RESERVED = ("task_id", "learner_id", "algorithm", "resampling_id", "n_train", "n_test",
            "task_key", "learner_key", "content_key")  # fmt: skip
#: Task id -> resampling id -> its splits. The id is None only in projects made
#: before several resamplings were possible (format 1: no resampling_id column).
SplitsOf = dict[str, dict[Any, Splits]]


@dataclass
class MLSpec:
    """What :meth:`benchgrid.Project.create` needs for an ML grid."""

    jobs: list[dict[str, Any]]
    runner: str
    write_inputs: Callable[[Path], None]
    metadata: dict[str, Any]
    memory_key: str | None = None
    time_key: str | None = None  # issue 21: time_s= gave each job its expected_s
    resource_keys: list[str] | None = None  # issue 21: resources= gave jobs their resource counts
    #: label ("learner 'rf'") -> (its pickle, the modules it refers to): checked loadable at creation
    pickles: dict[str, tuple[bytes, set[str]]] = field(default_factory=dict)


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
    strict: bool = False,
    memory_gb: Any = None,
    time_s: Any = None,
    resources: Any = None,
) -> MLSpec:
    """Check the grid, compute every split and return the jobs and their inputs.

    Parameters
    ----------
    tasks : dict of str to Task
    learners : dict of str to estimator
    cv : cross-validator, int, iterable of (train, test), SOAK, None, or a dict
        None uses each task's ``fold`` column; an int k is k-fold (stratified
        for classification, group-aware when the task has a group column). A
        dict ``{resampling_id: cv}`` runs every one of them (as mlr3's
        benchmark_grid); a single cv gets the id :func:`resampling_id_of`.
        Jobs, results and scores have a ``resampling_id`` column.
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
    strict : bool, default=False
        A classification train set that lacks a class of its task is a
        warning (its probability measures may fail and be NaN); with
        ``strict=True`` it is an :class:`InputError`.
    memory_gb : "estimated" or dict, optional
        Expected peak memory per job, written as the ``expected_mem_gb``
        column and made the project's ``memory_key`` (workers with a budget
        claim what fits; see docs/memory.md). "estimated": try one job per
        (task, learner) now, peak memory at two training sizes (see
        :mod:`benchgrid.ml._try`); a dict: GB per ``learner_id`` or per
        ``(task_id, learner_id)``. The column does not change a job's seed.
    time_s : "estimated" or dict, optional
        Expected seconds per ``learner_id`` or ``(task_id, learner_id)``
        ("estimated": try one job per (task, learner) now, as ``benchgrid
        try`` does, and scale by training size), written as the ``expected_s`` column and made the project's
        ``time_key``: long jobs go to workers with long allocations
        (docs/slurm.md). It does not change a job's seed.
    resources : dict, optional
        Resource counts per ``learner_id`` or ``(task_id, learner_id)``, such
        as ``{"mlp_torch": {"gpus": 1}}``: each resource becomes a job column
        and one of the project's ``resource_keys``, so those jobs go only to
        workers that have them (``submit --pool 2x16G+1gpu``). They do not
        change a job's seed.

    Returns
    -------
    MLSpec

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn.dummy import DummyRegressor
    >>> from sklearn.model_selection import KFold
    >>> df = pd.DataFrame({"x": range(6), "y": [0.5, 1, 4, 9, 16, 25]})
    >>> spec = build_ml_project({"sq": Task(df, target="y")},
    ...                         {"featureless": DummyRegressor()}, KFold(3))
    >>> len(spec.jobs), spec.jobs[0]["task_id"], spec.jobs[0]["n_train"]
    (3, 'sq', 4)
    """
    tasks = check_tasks(tasks)
    learners = check_learners(learners)
    resamplings = check_resamplings(cv)
    check_learner_task_types({t: v.task_type for t, v in tasks.items()}, learners)
    checked = check_measures(measures, {t: v.task_type for t, v in tasks.items()}, learners)
    for name, flag in (("save_predictions", save_predictions), ("save_models", save_models)):
        if not isinstance(flag, bool):
            raise InputError(f"{name} must be True or False, got {flag!r}")
    if not (callable(order) or order in ORDERS):
        raise InputError(
            f"order must be one of {ORDERS} or a function (jobs DataFrame -> DataFrame), "
            f"got {order!r}"
        )
    if not isinstance(strict, bool):
        raise InputError(f"strict must be True or False, got {strict!r}")
    splits = compute_all_splits(resamplings, tasks)
    check_train_classes(tasks, splits, strict=strict)
    check_memory_gb(memory_gb, tasks, learners)
    jobs = make_jobs(tasks, learners, splits)
    resource_keys, tried = set_needs(jobs, tasks, learners, splits, checked, random_state,
                                     memory_gb=memory_gb, time_s=time_s, resources=resources)
    jobs = order_jobs(jobs, order, tasks, learners, splits, checked, random_state, tried=tried)

    stored = [m if isinstance(m, str) else {"pickled": i, "name": m.name}
              for i, m in enumerate(checked)]  # fmt: skip
    objects = {"measures": {i: m for i, m in enumerate(checked) if isinstance(m, Measure)},
               "cv": resamplings, "order": order, "memory_gb": memory_gb,
               "time_s": time_s, "resources": resources}  # fmt: skip
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
            # one source for what plots and p-values need to know of each measure
            "greater_is_better": {
                (m if isinstance(m, str) else m.name): (greater_is_better(m) if isinstance(m, str) else m.greater_is_better)
                for m in checked
            },
            "cv": {rid: describe_cv(c) for rid, c in resamplings.items()},
            "columns": column_names(splits),
            "order": order if isinstance(order, str) else getattr(order, "__name__", "custom"),
            "memory_gb": memory_gb if memory_gb in (None, "estimated") else "given",
            "tasks": {tid: t.describe() for tid, t in tasks.items()},
            "learners": {lid: describe_learner(e) for lid, e in learners.items()},
        }
    }
    from ._runner import RUNNER

    return MLSpec(jobs=jobs, runner=RUNNER, write_inputs=write_inputs, metadata=metadata,
                  memory_key=None if memory_gb is None else EXPECTED_MEM_KEY,
                  time_key=None if time_s is None else EXPECTED_S_KEY, resource_keys=resource_keys or None,
                  pickles=stored_objects(learners, objects))


def stored_objects(learners: dict[str, Any], objects: dict[str, Any]) -> dict[str, tuple[bytes, set[str]]]:
    """Each pickled input a worker loads, by what the user calls it, with the modules it refers to."""
    out = {f"learner {lid!r}": dumps_with_modules(est) for lid, est in learners.items()}
    out.update({f"measure {m.name!r}": dumps_with_modules(m) for m in objects.get("measures", {}).values()})
    out.update({f"cv {rid!r}": dumps_with_modules(c) for rid, c in objects.get("cv", {}).items()})
    if callable(objects.get("order")):
        out["order"] = dumps_with_modules(objects["order"])
    return out


def check_memory_gb(memory_gb: Any, tasks: dict[str, Any], learners: dict[str, Any]) -> None:
    """``memory_gb`` must be None, "estimated", or a dict of GB per learner id or (task id, learner id)."""
    if memory_gb is None or memory_gb == "estimated":
        return
    if not isinstance(memory_gb, dict) or not memory_gb:
        raise InputError(
            "memory_gb must be 'estimated' or a dict of GB per learner_id or (task_id, learner_id), "
            f"got {memory_gb!r}"
        )
    for key, gb in memory_gb.items():
        known = key in learners if not isinstance(key, tuple) else (
            len(key) == 2 and key[0] in tasks and key[1] in learners)
        if not known:
            raise InputError(f"memory_gb key {key!r} names no learner_id nor (task_id, learner_id) of the grid")
        if isinstance(gb, bool) or not isinstance(gb, (int, float)) or not 0 < gb < float("inf"):
            raise InputError(f"memory_gb[{key!r}] must be a number of GB > 0, got {gb!r}")


def set_expected_memory(jobs: list[dict[str, Any]], memory_gb: Any, tried: Any = None) -> None:
    """Write each job's ``expected_mem_gb`` (from the try table, or the dict); nothing when None.

    A pair whose tried job failed, or a job the dict does not name, gets no
    value (the smallest memory class; it escalates if it runs out).
    """
    if memory_gb is None:
        return
    if memory_gb == "estimated":
        from ._try import estimate_jobs_mem_gb

        values = estimate_jobs_mem_gb(jobs, tried)
    else:
        values = [memory_gb.get((j["task_id"], j["learner_id"]), memory_gb.get(j["learner_id"])) for j in jobs]
    for job, gb in zip(jobs, values):
        if gb is not None:
            job[EXPECTED_MEM_KEY] = float(gb)


def set_needs(jobs: list[dict[str, Any]], tasks: dict[str, Any], learners: dict[str, Any], splits: Any,
              measures: list[Any], seed: int, *, memory_gb: Any = None, time_s: Any = None,
              resources: Any = None, task_ids: Any = None) -> tuple[list[str], Any]:
    """Write each job's scheduling hints (memory, time, resources); return the resource names and the try table.

    ``"estimated"`` memory or time tries one job per (task, learner) now, as
    ``benchgrid try`` does (once for both). ``task_ids`` (default: ``tasks``)
    are the ids a ``(task_id, learner_id)`` key may name (``add``: the kept tasks too).
    """
    tried = None
    estimated_time = isinstance(time_s, str) and time_s == "estimated"
    if memory_gb == "estimated" or estimated_time:
        from ._try import try_inputs

        tried = try_inputs(jobs, tasks, learners, splits, measures, seed)
    set_expected_memory(jobs, memory_gb, tried)
    if estimated_time:  # issue 21: as `try` times them, per job
        from ._try import estimate_jobs

        seconds = estimate_jobs(jobs, tasks, learners, splits, measures, seed, table=tried)
        for job, s in zip(jobs, seconds):
            if s > 0:  # a pair that failed when tried: not known
                job[EXPECTED_S_KEY] = float(f"{s:.3g}")
    names = set_declared_needs(jobs, task_ids if task_ids is not None else tasks, learners,
                               None if estimated_time else time_s, resources)
    return names, tried


def _per_learner(name: str, given: dict[Any, Any], tasks: dict[str, Any], learners: dict[str, Any]) -> None:
    if not isinstance(given, dict) or not given:
        raise InputError(f"{name} must be a dict per learner_id or (task_id, learner_id), got {given!r}")
    for key in given:
        known = key in learners if not isinstance(key, tuple) else (
            len(key) == 2 and key[0] in tasks and key[1] in learners)
        if not known:
            raise InputError(f"{name} key {key!r} names no learner_id nor (task_id, learner_id) of the grid")


def set_declared_needs(jobs: list[dict[str, Any]], tasks: dict[str, Any], learners: dict[str, Any],
                       time_s: Any = None, resources: Any = None) -> list[str]:
    """Write each job's ``expected_s`` and resource columns from per-learner dicts; return the resource names.

    Examples
    --------
    >>> jobs = [{"task_id": "t", "learner_id": "mlp"}, {"task_id": "t", "learner_id": "rf"}]
    >>> set_declared_needs(jobs, {"t": None}, {"mlp": None, "rf": None}, {"mlp": 600}, {"mlp": {"gpus": 1}})
    ['gpus']
    >>> jobs[0]["expected_s"], jobs[0]["gpus"], "gpus" in jobs[1]
    (600.0, 1, False)
    """
    names: list[str] = []
    if time_s is not None:
        if isinstance(time_s, str):
            raise InputError(f"time_s must be 'estimated' or a dict of seconds per learner_id or "
                             f"(task_id, learner_id), got {time_s!r}")
        _per_learner("time_s", time_s, tasks, learners)
        for key, s in time_s.items():
            if isinstance(s, bool) or not isinstance(s, (int, float)) or not 0 < s < float("inf"):
                raise InputError(f"time_s[{key!r}] must be a number of seconds > 0, got {s!r}")
    if resources is not None:
        _per_learner("resources", resources, tasks, learners)
        for key, counts in resources.items():
            if not isinstance(counts, dict) or not all(
                isinstance(n, str) and n.isidentifier() and isinstance(c, int) and not isinstance(c, bool) and c >= 0
                for n, c in counts.items()
            ):
                raise InputError(f"resources[{key!r}] must map resource names to counts >= 0, such as "
                                 f"{{'gpus': 1}}, got {counts!r}")
            names += [n for n in counts if n not in names]
        clash = sorted(set(names) & {k for job in jobs for k in job})
        if clash:
            raise InputError(f"resources names {clash} are job columns already; name the resources otherwise")
    for job in jobs:
        pair = (job["task_id"], job["learner_id"])
        if time_s is not None and (s := time_s.get(pair, time_s.get(job["learner_id"]))) is not None:
            job[EXPECTED_S_KEY] = float(s)
        if resources is not None:
            for n, c in (resources.get(pair, resources.get(job["learner_id"])) or {}).items():
                if c:
                    job[n] = int(c)
    return sorted(names)


def write_grid_inputs(
    inputs_dir: Path, tasks: dict[str, Task], learners: dict[str, Any], splits: SplitsOf
) -> None:
    """Write task data, splits and learners (content-addressed file names)."""
    for tid, task in tasks.items():
        write_task(inputs_dir, tid, task)
        for rid, s in splits[tid].items():
            s.save(splits_path(inputs_dir, tid, task.key, rid))
    for lid, est in learners.items():
        write_learner(inputs_dir, lid, learner_key(est), est)


def resampling_id_of(cv: Any) -> str:
    """The id of a single cv: its class name in lower case.

    Examples
    --------
    >>> from sklearn.model_selection import KFold
    >>> resampling_id_of(KFold(5)), resampling_id_of(3), resampling_id_of(None)
    ('kfold', 'cv3', 'fold_column')
    """
    if cv is None:
        return "fold_column"
    if isinstance(cv, int):
        return f"cv{cv}"
    if isinstance(cv, list):
        return "custom"
    return type(cv).__name__.lower()


def check_resamplings(cv: Any) -> dict[str, Any]:
    """Validate ``cv`` (one splitter or a dict id -> splitter); return the dict.

    Examples
    --------
    >>> from sklearn.model_selection import KFold
    >>> check_resamplings({"kfold5": KFold(5)})
    {'kfold5': KFold(n_splits=5, random_state=None, shuffle=False)}
    >>> check_resamplings({})
    Traceback (most recent call last):
    ...
    benchgrid._errors.InputError: cv as a dict must map resampling ids to splitters, got an empty dict; ...
    """
    if not isinstance(cv, dict):
        return {resampling_id_of(cv): check_cv(cv)}
    if not cv:
        raise InputError("cv as a dict must map resampling ids to splitters, got an empty "
                         "dict; e.g. {'soak': bg.SOAK(), 'kfold5': KFold(5, shuffle=True)}")
    return {check_id("resampling id", rid): check_cv(c) for rid, c in cv.items()}


def compute_all_splits(resamplings: dict[Any, Any], tasks: dict[str, Task]) -> SplitsOf:
    """Every resampling's splits of every task."""
    return {tid: {rid: compute_splits(c, task, tid) for rid, c in resamplings.items()}
            for tid, task in tasks.items()}  # fmt: skip


def check_train_classes(
    tasks: dict[str, Task], splits: SplitsOf, *, strict: bool = False
) -> int:
    """Warn (or raise if ``strict``) when a classification train set lacks a class.

    As mlr3resampling's ``proj_grid`` does: such a learner cannot predict
    that class, and measures that need every class (auc, logloss) fail on
    test sets that have it. Returns the number of such iterations.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from benchgrid.ml._splits import Splits
    >>> task = Task(pd.DataFrame({"x": range(4), "c": ["a", "a", "b", "b"]}), target="c")
    >>> s = Splits.from_list([(np.array([0, 1]), np.array([2, 3]), {"iteration": 1})])
    >>> check_train_classes({"t": task}, {"t": {"cv": s}}, strict=True)
    Traceback (most recent call last):
    ...
    benchgrid._errors.InputError: 1 train set(s) lack a class of their task ...
    """
    import warnings

    import numpy as np

    bad: list[str] = []
    for tid, task in tasks.items():
        if task.task_type != "classification":
            continue
        codes = np.unique(np.asarray(task.y), return_inverse=True)[1].ravel()
        n_classes = int(codes.max()) + 1 if len(codes) else 0
        for rid, s in splits[tid].items():
            for i in range(len(s)):
                train, _ = s.get(i)
                present = np.bincount(codes[train], minlength=n_classes) > 0
                if not present.all():
                    where = "" if rid is None or len(splits[tid]) == 1 else f"{rid} "
                    bad.append(f"task {tid!r} {where}iteration "
                               f"{s.meta[i].get('iteration', i + 1)} "
                               f"({int((~present).sum())} of {n_classes} classes missing)")
    if bad:
        msg = (f"{len(bad)} train set(s) lack a class of their task (first: {bad[0]}); "
               "shuffle or stratify the folds (StratifiedKFold, SOAK(stratum=...)), "
               "or expect NaN for measures that need every class (auc, logloss)")
        if strict:
            raise InputError(msg)
        warnings.warn(msg, UserWarning, stacklevel=4)
    return len(bad)


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
    tasks: dict[str, Task], learners: dict[str, Any], splits: SplitsOf
) -> list[dict[str, Any]]:
    """One job per (task, resampling, learner, split), in grid order; parameters are JSON-able."""
    lkeys = {lid: learner_key(est) for lid, est in learners.items()}
    jobs = []
    for tid, task in tasks.items():
        task_key = task.key  # a hash of the data: once per task, not once per job
        for rid, s in splits[tid].items():
            split_keys = [digest(*(a.tobytes() for a in s.get(i))) for i in range(len(s))]
            n_train = np.diff(s.train_ptr).tolist()
            n_test = np.diff(s.test_ptr).tolist()
            metas = [{param_name(k): v for k, v in meta.items()} for meta in s.meta]
            rid_col = {} if rid is None else {"resampling_id": rid}
            rid_key = [] if rid is None else [rid]
            for meta in metas[:1]:
                _check_meta(meta)
            for lid in learners:
                for i, meta in enumerate(metas):
                    if len(meta) != len(metas[0]) or not meta.keys() <= metas[0].keys():
                        _check_meta(meta)
                    jobs.append({
                        "task_id": tid,
                        "learner_id": lid,
                        "algorithm": lid,  # the learner id, as in mlr3resampling
                        **rid_col,
                        **meta,
                        "n_train": n_train[i],
                        "n_test": n_test[i],
                        "task_key": task_key,
                        "learner_key": lkeys[lid],
                        "content_key": digest(tid, task_key, lid, lkeys[lid], split_keys[i],
                                              *rid_key),
                    })  # fmt: skip
    return jobs


def _check_meta(meta: dict[str, Any]) -> None:
    clash = sorted(set(meta) & set(RESERVED))
    if clash:
        raise InputError(
            f"cv metadata must not use the column names {clash!r}, which "
            "benchgrid sets; rename them in the splitter"
        )


@functools.lru_cache(maxsize=1024)
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


def column_names(splits: SplitsOf) -> dict[str, str]:
    """Job parameter -> splitter metadata name, where they differ."""
    out = {}
    for per_rid in splits.values():
        for meta in (m for s in per_rid.values() for m in s.meta[:1]):
            for k in meta:
                if param_name(k) != k:
                    out[param_name(k)] = k
    return out


def order_jobs(jobs, order, tasks, learners, splits, measures, random_state, tried=None):
    """Reorder (or, for a callable, filter) jobs; see ``build_ml_project`` (``tried``: a try table made already)."""
    if order == "grid":
        return jobs
    if order == "train_size":  # stable: ties keep grid order
        return sorted(jobs, key=lambda j: -j["n_train"])
    if order == "estimated":
        from ._try import estimate_jobs

        # not stored as a job parameter: it would change the job's key (and seed) per run
        est = estimate_jobs(jobs, tasks, learners, splits, measures, random_state, table=tried)
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
