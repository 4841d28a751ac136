"""The job runner: one (task, learner, split) -> fit, predict, score.

The core calls ``run_ml_job(**params)`` in a worker (the project's runner is
``"benchgrid.ml._runner:run_ml_job"``). Inputs are loaded on first use and
cached per process, so a worker that runs 1,000 jobs of one task reads the
task once.
"""

from __future__ import annotations

import functools
import os
import resource
import sys
import time
import warnings
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable

import numpy as np

# Imported when a worker loads its runner (before its first claim), not inside
# the first job: otherwise seconds of imports count as that job's run time
# and show up in the timeline and in duration-based estimates.
import pandas  # noqa: F401
import pyarrow.parquet  # noqa: F401
import sklearn.base  # noqa: F401
import sklearn.metrics  # noqa: F401

from ._inputs import read_config, read_learner, read_task, splits_path, write_bytes_atomic
from ._learners import JobLearner
from ._measures import Measure, resolve, score
from ._native import native_rows
from ._splits import Splits
from ._task import Task

from ._ids import EXPECTED_MEM_KEY, EXPECTED_S_KEY

__all__ = ["run_ml_job", "run_in_project", "fit_and_score", "peak_mem_mb", "reset_peak_mem"]

RUNNER = "benchgrid.ml._runner:run_ml_job"
_checked: set[Path] = set()


def run_ml_job(**params: Any) -> dict[str, Any]:
    """Run one ML job of the current project; called by a benchgrid worker.

    Parameters
    ----------
    **params
        The job's row of the job table (``task_id``, ``task_key``,
        ``learner_id``, ``learner_key``, ``iteration``, ...).

    Returns
    -------
    dict
        One float per measure (NaN when that measure failed), then ``fit_s``,
        ``predict_s``, ``peak_mem_mb`` (peak resident
        memory of the worker process during this job), ``measure_errors``
        (why measures failed, or None), ``n_warnings`` and ``warnings`` (the
        distinct warnings the job raised, or None). The keys are the same
        whatever fails.
    """
    from benchgrid.worker import current_job

    ctx = current_job()
    seed = ctx.seed
    if EXPECTED_MEM_KEY in params or EXPECTED_S_KEY in params or _hints(Path(ctx.project_dir)) & params.keys():
        # scheduling hints (memory, time, resources: issues 13, 21): the seed is the job's without them
        seed = _seed_without_memory(Path(ctx.project_dir), params)
    return run_in_project(Path(ctx.project_dir), params, seed=seed, job_id=ctx.job_id)


def _seed_without_memory(project_dir: Path, params: dict[str, Any]) -> int:
    """The seed the job would have without its expected memory (issue 13).

    The expected memory is estimated by timing jobs, so it may differ between
    two creations of one grid; the seed (and so the results) must not.

    Examples
    --------
    >>> import tempfile, benchgrid as bg
    >>> from benchgrid.store.storage._jobs import canonical_json, content_key, job_seed
    >>> d = Path(tempfile.mkdtemp()) / "p"
    >>> _ = bg.Project.create(d, [{"a": 1}], "builtins:dict", random_state=7)
    >>> _seed_without_memory(d, {"a": 1, "expected_mem_gb": 0.7}) == job_seed(7, content_key(canonical_json({"a": 1})))
    True
    """
    from benchgrid.store import read_project_json
    from benchgrid.store import canonical_json, content_key, job_seed

    state = _random_states.get(project_dir)
    if state is None:
        state = _random_states[project_dir] = int(read_project_json(project_dir).get("random_state", 0))
    hints = {EXPECTED_MEM_KEY, EXPECTED_S_KEY} | _hints(project_dir)
    rest = {k: v for k, v in params.items() if k not in hints}
    return job_seed(state, content_key(canonical_json(rest)))


def _hints(project_dir: Path) -> set[str]:
    """The project's resource columns (``resource_keys``): scheduling hints, not the job's identity."""
    keys = _resource_keys.get(project_dir)
    if keys is None:
        from benchgrid.store import ProjectSettings, read_project_json

        if not (project_dir / "project.json").exists():  # a bare inputs/ folder run by hand: no hints declared
            return set()
        declared = ProjectSettings.of(read_project_json(project_dir)["settings"]).resource_keys
        keys = _resource_keys[project_dir] = set(declared or ())
    return keys


_random_states: dict[Path, int] = {}
_resource_keys: dict[Path, set[str]] = {}


def run_in_project(
    project_dir: Path, params: dict[str, Any], *, seed: int, job_id: int | None = None
) -> dict[str, Any]:
    """Run one job given its project directory and seed (no worker needed)."""
    project_dir = Path(project_dir)
    _check_private_once(project_dir)
    config, measures = _config(project_dir)
    task = _task(project_dir, params["task_id"], params["task_key"])
    splits = _splits(project_dir, params["task_id"], params["task_key"],
                     params.get("resampling_id"))
    train, test = splits.get(int(params["iteration"]) - 1)
    make = _learner(project_dir, params["learner_id"], params["learner_key"])
    want_pred = bool(config.get("save_predictions")) and job_id is not None
    result, pred, fitted = fit_and_score(
        make, task, train, test, measures, seed, want_predictions=want_pred,
        native=not config.get("save_models"),  # a kept model knows its feature names
    )
    for k in ("n_train", "n_test"):  # job parameters already: a result never repeats an input (invariant 12)
        if k in params:
            del result[k]
    if want_pred and pred is not None:
        import io

        pred.insert(0, "job_id", job_id)
        buf = io.BytesIO()
        pred.to_parquet(buf, index=False)
        write_bytes_atomic(project_dir / "predictions" / f"{job_id}.parquet", buf.getvalue())
    if config.get("save_models") and job_id is not None:
        from ._inputs import dumps

        write_bytes_atomic(project_dir / "models" / f"{job_id}.pkl", dumps(fitted))
    return result


def fit_and_score(
    learner: Any | JobLearner,
    task: Task,
    train: np.ndarray,
    test: np.ndarray,
    measures: list[Measure],
    seed: int,
    *,
    want_predictions: bool = False,
    native: bool = True,
) -> tuple[dict[str, Any], Any, Any]:
    """Clone, seed, fit on ``train``, predict ``test``, score; time each step.

    Returns ``(result, predictions or None, fitted estimator)``.
    ``learner`` is an estimator or, in a worker, its :class:`JobLearner`
    (made once per learner: it clones and checks parameters for less).
    With ``native``, a learner of :data:`~benchgrid.ml._native.NATIVE_CLASSES`
    gets the task's float64 array instead of its DataFrame when that gives
    the same results (see :mod:`benchgrid.ml._native`); ``native=False``
    always passes the DataFrame (for a model that is kept, so it knows its
    feature names).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sklearn.dummy import DummyRegressor
    >>> from benchgrid.ml._measures import resolve
    >>> task = Task(pd.DataFrame({"x": [0.0, 1, 2, 3], "y": [1.0, 1, 3, 3]}), target="y")
    >>> res, _, _ = fit_and_score(DummyRegressor(), task, np.array([0, 3]),
    ...                           np.array([1, 2]), resolve(["mae"]), seed=0)
    >>> res["mae"], res["n_train"], res["n_test"]
    (1.0, 2, 2)
    """
    reset_peak_mem()
    make = learner if isinstance(learner, JobLearner) else JobLearner(learner)
    est = make(seed)
    X, y = task.X, task.y
    A = task.native_X if native and make.known else None
    if A is not None:
        X_train, X_test = native_rows(A, train), native_rows(A, test)
    else:
        X_train, X_test = _rows(X, train), _rows(X, test)
    y_train, y_test = y[train], y[test]

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # count every warning the job raises, not the first
        t0 = time.perf_counter()
        if make.checked:  # its parameters passed scikit-learn's check once: skip it per job
            with _skip_parameter_validation():
                est.fit(X_train, y_train)
        else:
            est.fit(X_train, y_train)
        t1 = time.perf_counter()
        y_pred = est.predict(X_test)
        proba, proba_error = None, None
        if any(m.needs == "proba" for m in measures) or (
            want_predictions and task.task_type == "classification"
            and hasattr(est, "predict_proba")
        ):
            try:
                proba = est.predict_proba(X_test)
            except Exception as err:  # only the proba measures are lost
                proba_error = f"predict_proba: {type(err).__name__}: {err}"
        t2 = time.perf_counter()

        labels = getattr(est, "classes_", None)
        if labels is None and task.task_type == "classification":
            labels = np.unique(y_train)
        result: dict[str, Any] = {}
        failed: list[str] = []
        for m in measures:
            # a measure that fails (a class missing from the train set, ...) is NaN
            # with its reason; the fit, the predictions and the other scores stay
            if m.needs == "proba" and proba is None:
                result[m.name] = float("nan")
                failed.append(f"{m.name}: {proba_error or 'learner has no predict_proba'}")
                continue
            try:
                result[m.name] = score(m, y_test, y_pred=y_pred, proba=proba, labels=labels)
            except Exception as err:
                result[m.name] = float("nan")
                failed.append(f"{m.name}: {type(err).__name__}: {err}")
    result.update(
        fit_s=t1 - t0,
        predict_s=t2 - t1,
        n_train=int(len(train)),
        n_test=int(len(test)),
        peak_mem_mb=peak_mem_mb(),
        measure_errors="; ".join(failed) if failed else None,
        n_warnings=len(caught),
        warnings=_warning_text(caught),
    )
    pred = None
    if want_predictions:
        import pandas as pd

        pred = pd.DataFrame({"row": test, "truth": y_test, "response": y_pred})
        if proba is not None and labels is not None:
            for j, c in enumerate(labels):
                pred[f"prob.{c}"] = proba[:, j]
    return result, pred, est


def _warning_text(caught: list[warnings.WarningMessage], n_max: int = 5) -> str | None:
    """Distinct warnings of one job, ``Category: message`` a line, the first n_max."""
    seen = dict.fromkeys(f"{w.category.__name__}: {str(w.message)[:300]}" for w in caught)
    lines = list(seen)
    if not lines:
        return None
    more = len(lines) - n_max
    return "\n".join(lines[:n_max] + ([f"... and {more} more"] if more > 0 else []))


def _skip_parameter_validation() -> Any:
    import sklearn

    return sklearn.config_context(skip_parameter_validation=True)


def _rows(X: Any, idx: np.ndarray) -> Any:
    # same indexing as sklearn.utils._safe_indexing, so results match cross_validate
    return X.iloc[idx] if hasattr(X, "iloc") else X[idx]


_CLEAR_REFS = Path("/proc/self/clear_refs")
_peak_is_per_job = False


def reset_peak_mem() -> bool:
    """Reset this process's peak resident memory (Linux >= 4.0), so it is per job.

    Writes "5" to ``/proc/self/clear_refs``, which resets ``VmHWM``. Where that
    is not possible (macOS, a locked-down /proc), returns False and
    :func:`peak_mem_mb` falls back to the process's lifetime peak.
    """
    global _peak_is_per_job
    try:
        _CLEAR_REFS.write_text("5")
        _peak_is_per_job = True
    except OSError:
        _peak_is_per_job = False
    return _peak_is_per_job


def peak_mem_mb() -> float:
    """Peak resident memory in MB since :func:`reset_peak_mem` (else of the process).

    Examples
    --------
    >>> reset_peak_mem() in (True, False) and peak_mem_mb() > 0
    True
    """
    if _peak_is_per_job:
        try:
            with open("/proc/self/status") as fh:
                for line in fh:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) / 1024  # kB
        except OSError:
            pass
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 1024  # bytes on macOS, KB on Linux


# -- per-process caches ------------------------------------------------------
def _check_private_once(project_dir: Path) -> None:
    if project_dir not in _checked:
        from benchgrid.store import check_trust_once

        check_trust_once(project_dir)  # before unpickling anything; a worker checked it when it started
        _checked.add(project_dir)


@functools.lru_cache(maxsize=8)
def _config(project_dir: Path) -> tuple[dict[str, Any], list[Measure]]:
    config, objects = read_config(project_dir / "inputs")
    stored = [m if isinstance(m, str) else objects["measures"][m["pickled"]]
              for m in config["measures"]]
    return config, resolve(stored)


class _Cache:
    """Least-recently-used cache bounded by bytes, not entries.

    Jobs are ordered by training size, so a worker alternates between all
    tasks of the grid: an LRU of a few entries would reload a task for
    nearly every job. Holding every task that fits in the budget avoids that.
    """

    def __init__(self, budget_mb: float) -> None:
        self.budget = budget_mb * 2**20
        self.items: OrderedDict[Any, tuple[Any, int]] = OrderedDict()
        self.used = 0

    def get(self, key: Any, load: Callable[[], Any], size: Callable[[Any], int]) -> Any:
        hit = self.items.get(key)
        if hit is not None:
            self.items.move_to_end(key)
            return hit[0]
        value = load()
        n = size(value)
        self.items[key] = (value, n)
        self.used += n
        while self.used > self.budget and len(self.items) > 1:
            _, (_, old) = self.items.popitem(last=False)
            self.used -= old
        return value

    def clear(self) -> None:
        self.items.clear()
        self.used = 0


_inputs_cache = _Cache(float(os.environ.get("BENCHGRID_CACHE_MB", 1024)))


def _task(project_dir: Path, task_id: str, task_key: str) -> Task:
    return _inputs_cache.get(
        ("task", project_dir, task_id, task_key),
        lambda: read_task(project_dir / "inputs", task_id, task_key),
        lambda t: int(t.data.memory_usage(index=False, deep=False).sum()) + 2**10,
    )


def _splits(project_dir: Path, task_id: str, task_key: str, resampling_id: Any = None) -> Splits:
    return _inputs_cache.get(
        ("splits", project_dir, task_id, task_key, resampling_id),
        lambda: Splits.load(splits_path(project_dir / "inputs", task_id, task_key, resampling_id)),
        lambda s: s.train.nbytes + s.test.nbytes + 2**10,
    )


@functools.lru_cache(maxsize=64)
def _learner(project_dir: Path, learner_id: str, learner_key: str) -> JobLearner:
    """What makes each job's learner from the stored one."""
    return JobLearner(read_learner(project_dir / "inputs", learner_id, learner_key))


def clear_caches() -> None:
    """Forget cached inputs (tests; a project replaced in place)."""
    for f in (_config, _learner):
        f.cache_clear()
    _inputs_cache.clear()
    _checked.clear()
