"""Try before you submit: time one job per (task, learner), extrapolate the grid.

The R counterpart is mlr3resampling's ``proj_test``. The tried job is the
one with the largest training set of each (task, learner) pair (or a row
sample of it). Its fit is timed at two sizes (n and n/2 rows) to separate
a fixed cost from a cost per training row: a job of the pair is estimated
at ``fixed + per_row * n_train`` plus its predict time (in proportion to
its test rows). Dividing one small fit's time by its rows, as before,
charged the fixed cost (Python overhead, validation) to every row: with
``--sample`` the estimate was several times too high. Time that grows
faster than linearly (many learners) is still underestimated, but jobs
are ordered well, which is what ``order="estimated"`` needs.

Peak memory is modelled the same way (issue 13): the process's peak
resident size is read after the fit at n/2 rows and after the job at n
rows, and a job is expected at ``(mem_fixed_mb + mem_per_row_mb * n_train)
* MEM_SAFETY``. The fixed part includes this process's own size (Python, the
libraries, the task's data), as a worker's does, so it errs on the high side
when tried from a large notebook session. ``memory_gb="estimated"`` writes
it as each job's ``expected_mem_gb`` column, the project's ``memory_key``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from . import _runner
from ._measures import Measure, resolve
from ._runner import fit_and_score, peak_mem_mb, reset_peak_mem
from ._splits import Splits
from ._task import Task

__all__ = ["try_grid", "try_inputs", "try_project", "estimate_jobs", "estimate_jobs_mem_gb", "job_mem_gb", "MEM_SAFETY"]

MEM_SAFETY = 1.25  # expected memory = the two-size model times this (the model is a line through two points)


def try_grid(
    jobs: list[dict[str, Any]],
    load_task: Callable[[dict[str, Any]], Task],
    load_splits: Callable[[dict[str, Any]], Splits],
    load_learner: Callable[[dict[str, Any]], Any],
    measures: list[Measure],
    seed: int,
    sample: int | None = None,
):
    """Run one job per (task, learner) in this process; one row per pair.

    Columns: task_id, learner_id, iteration, n_train (rows actually used),
    n_test, fit_s, predict_s, peak_mem_mb (during the tried job), error,
    fit_fixed_s and fit_per_row_s (the fit time model), predict_per_row_s
    (per test row), mem_fixed_mb and mem_per_row_mb (the peak memory model),
    n_jobs (of the pair), est_cpu_s (the pair's extrapolated total),
    est_mem_gb (expected memory of the pair's largest job, with
    :data:`MEM_SAFETY`).
    """
    import pandas as pd

    pairs: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for job in jobs:
        pairs.setdefault((job["task_id"], job["learner_id"]), []).append(job)
    rows = []
    rng = np.random.default_rng(seed)
    for (tid, lid), pair_jobs in pairs.items():
        job = max(pair_jobs, key=lambda j: j["n_train"])  # first of the largest
        row: dict[str, Any] = {"task_id": tid, "learner_id": lid, "iteration": job["iteration"]}
        try:
            task, splits = load_task(job), load_splits(job)
            train, test = splits.get(int(job["iteration"]) - 1)
            if sample is not None and sample < len(train):
                train = np.sort(rng.choice(train, size=sample, replace=False))
            learner = load_learner(job)
            half = train[rng.permutation(len(train))[: max(len(train) // 2, 1)]]
            reset_peak_mem()
            t_half = _fit_s(learner, task, np.sort(half), seed)  # also warms the learner up
            mem_half = peak_mem_mb()
            res, _, _ = fit_and_score(learner, task, train, test, measures, seed)  # resets the peak itself
            t_full = res["fit_s"]
            if t_full < _REPEAT_BELOW_S:  # short timings are noisy: keep the fastest
                t_full = min(t_full, _fit_s(learner, task, train, seed))
                t_half = min(t_half, _fit_s(learner, task, np.sort(half), seed))
            fixed_s, per_row_s = _affine(len(half), t_half, len(train), t_full)
            mem_fixed, mem_per_row = _affine(len(half), mem_half, len(train), res["peak_mem_mb"])
            predict_per_row_s = res["predict_s"] / max(res["n_test"], 1)
            row.update(
                n_train=res["n_train"], n_test=res["n_test"], fit_s=res["fit_s"],
                predict_s=res["predict_s"], peak_mem_mb=res["peak_mem_mb"], error=None,
                fit_fixed_s=fixed_s, fit_per_row_s=per_row_s,
                predict_per_row_s=predict_per_row_s, mem_fixed_mb=mem_fixed, mem_per_row_mb=mem_per_row,
            )  # fmt: skip
            row["est_cpu_s"] = sum(
                job_seconds(row, j["n_train"], j["n_test"]) for j in pair_jobs
            )
            row["est_mem_gb"] = job_mem_gb(row, job["n_train"])
        except Exception as err:  # report it: finding such errors is what try is for
            row.update(
                n_train=job["n_train"], n_test=job["n_test"], fit_s=np.nan, predict_s=np.nan,
                peak_mem_mb=np.nan, error=f"{type(err).__name__}: {err}", fit_fixed_s=np.nan,
                fit_per_row_s=np.nan, predict_per_row_s=np.nan, est_cpu_s=np.nan,
                mem_fixed_mb=np.nan, mem_per_row_mb=np.nan, est_mem_gb=np.nan,
            )  # fmt: skip
        row["n_jobs"] = len(pair_jobs)
        rows.append(row)
    return pd.DataFrame(rows)


# fits shorter than this are timed up to 3 times, keeping the fastest: other
# processes only ever add time, and two noisy points would make a wrong slope
_REPEAT_BELOW_S = 1.0


def _fit_s(learner: Any, task: Task, train: np.ndarray, seed: int) -> float:
    """Seconds to fit on ``train``: the fastest of up to 3 when fits are quick."""
    from sklearn.base import clone

    from ._learners import set_random_state

    X, y = task.X, task.y
    X_train = X.iloc[train] if hasattr(X, "iloc") else X[train]
    best = float("inf")
    for _ in range(3):
        est = clone(learner)
        set_random_state(est, seed)
        t0 = time.perf_counter()
        est.fit(X_train, y[train])
        best = min(best, time.perf_counter() - t0)
        if best >= _REPEAT_BELOW_S:
            break
    return best


def _affine(n1: int, t1: float, n2: int, t2: float) -> tuple[float, float]:
    """(fixed_s, per_row_s) of a line through (n1, t1) and (n2, t2), both >= 0.

    Examples
    --------
    >>> _affine(50, 0.06, 100, 0.07)   # 0.05 s fixed + 0.0002 s per row
    (0.05, 0.0002)
    >>> _affine(50, 0.07, 100, 0.06)   # noise: no negative slope
    (0.06, 0.0)
    """
    per_row = max((t2 - t1) / (n2 - n1), 0.0) if n2 > n1 else t2 / max(n2, 1)
    fixed = max(t2 - per_row * n2, 0.0)
    return round(fixed, 12), round(per_row, 12)


def job_seconds(pair: Any, n_train: int, n_test: int) -> float:
    """Estimated seconds of one job of a tried pair (a row of :func:`try_grid`)."""
    p = pair if isinstance(pair, dict) else pair._asdict()  # a dict or an itertuples row
    return float(p["fit_fixed_s"] + p["fit_per_row_s"] * n_train
                 + p["predict_per_row_s"] * n_test)


def job_mem_gb(pair: Any, n_train: int) -> float:
    """Expected peak GB of one job of a tried pair (a row of :func:`try_grid`), safety included.

    Examples
    --------
    >>> round(job_mem_gb({"mem_fixed_mb": 200.0, "mem_per_row_mb": 0.01}, 100_000), 3)
    1.465
    """
    p = pair if isinstance(pair, dict) else pair._asdict()
    return float((p["mem_fixed_mb"] + p["mem_per_row_mb"] * n_train) * MEM_SAFETY / 1024)


def try_inputs(
    jobs: list[dict[str, Any]],
    tasks: dict[str, Task],
    learners: dict[str, Any],
    splits: dict[str, dict[Any, Splits]],
    measures: list[Any],
    seed: int,
) -> Any:
    """:func:`try_grid` on in-memory inputs (at project creation, or when tasks or learners are added)."""
    return try_grid(
        jobs,
        lambda j: tasks[j["task_id"]],
        lambda j: splits[j["task_id"]][j.get("resampling_id")],
        lambda j: learners[j["learner_id"]],
        resolve(measures),
        seed,
    )


def try_project(root: Path, jobs: list[dict[str, Any]], seed: int = 0, sample: int | None = None) -> Any:
    """:func:`try_grid` on a project's stored inputs (``jobs``: its job table as records).

    What :meth:`benchgrid.MLProject.try_jobs` runs once the project is checked.
    """
    _, measures = _runner._config(root)
    return try_grid(
        jobs,
        lambda j: _runner._task(root, j["task_id"], j["task_key"]),
        lambda j: _runner._splits(root, j["task_id"], j["task_key"], _resampling_id(j.get("resampling_id"))),
        lambda j: _runner._learner(root, j["learner_id"], j["learner_key"]).est,
        measures,
        seed,
        sample,
    )


def _resampling_id(value: Any) -> Any:
    """A job's resampling id; None (or NaN in a table) for projects of format 1."""
    return value if isinstance(value, str) else None


def estimate_jobs_mem_gb(jobs: list[dict[str, Any]], table: Any) -> list[float | None]:
    """Expected peak GB of every job from a :func:`try_grid` table (None for a pair that failed)."""
    pairs = {(r.task_id, r.learner_id): r for r in table.itertuples()}
    out: list[float | None] = []
    for j in jobs:
        gb = job_mem_gb(pairs[(j["task_id"], j["learner_id"])], j["n_train"])
        out.append(None if np.isnan(gb) else round(gb, 4))
    return out


def estimate_jobs(
    jobs: list[dict[str, Any]],
    tasks: dict[str, Task],
    learners: dict[str, Any],
    splits: dict[str, dict[Any, Splits]],
    measures: list[Any],
    seed: int,
    table: Any = None,
) -> list[float]:
    """Estimated seconds of every job (for ``order="estimated"``), from in-memory inputs.

    ``table``: a :func:`try_grid` table of these jobs already made (else they are tried now).
    """
    if table is None:
        table = try_inputs(jobs, tasks, learners, splits, measures, seed)
    pairs = {(r.task_id, r.learner_id): r for r in table.itertuples()}
    out = []
    for j in jobs:
        s = job_seconds(pairs[(j["task_id"], j["learner_id"])], j["n_train"], j["n_test"])
        out.append(0.0 if np.isnan(s) else float(s))  # errored pairs last
    return out
