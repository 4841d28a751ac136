"""Try before you submit: time one job per (task, learner), extrapolate the grid.

The R counterpart is mlr3resampling's ``proj_test``. The tried job is the
one with the largest training set of each (task, learner) pair (or a row
sample of it); other jobs of the pair are assumed to cost time in
proportion to their training set size. That is rough (many learners are
super-linear) but orders jobs well, which is what ``order="estimated"``
needs.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ._measures import Measure, resolve
from ._runner import fit_and_score
from ._splits import Splits
from ._task import Task

__all__ = ["try_grid", "estimate_jobs"]


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
    n_test, fit_s, predict_s, peak_mem_mb (this process's peak so far), error,
    n_jobs (of the pair), est_cpu_s (the pair's extrapolated total).
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
            res, _, _ = fit_and_score(load_learner(job), task, train, test, measures, seed)
            row.update(
                n_train=res["n_train"], n_test=res["n_test"], fit_s=res["fit_s"],
                predict_s=res["predict_s"], peak_mem_mb=res["peak_mem_mb"], error=None,
            )  # fmt: skip
            per_row_s = (res["fit_s"] + res["predict_s"]) / max(res["n_train"], 1)
            row["est_cpu_s"] = per_row_s * sum(j["n_train"] for j in pair_jobs)
        except Exception as err:  # report it: finding such errors is what try is for
            row.update(
                n_train=job["n_train"], n_test=job["n_test"], fit_s=np.nan, predict_s=np.nan,
                peak_mem_mb=np.nan, error=f"{type(err).__name__}: {err}", est_cpu_s=np.nan,
            )  # fmt: skip
        row["n_jobs"] = len(pair_jobs)
        rows.append(row)
    return pd.DataFrame(rows)


def estimate_jobs(
    jobs: list[dict[str, Any]],
    tasks: dict[str, Task],
    learners: dict[str, Any],
    splits: dict[str, dict[Any, Splits]],
    measures: list[Any],
    seed: int,
) -> list[float]:
    """Estimated seconds of every job (for ``order="estimated"``), from in-memory inputs."""
    table = try_grid(
        jobs,
        lambda j: tasks[j["task_id"]],
        lambda j: splits[j["task_id"]][j.get("resampling_id")],
        lambda j: learners[j["learner_id"]],
        resolve(measures),
        seed,
    )
    per_row = {
        (r.task_id, r.learner_id): (r.fit_s + r.predict_s) / max(r.n_train, 1)
        for r in table.itertuples()
    }
    out = []
    for j in jobs:
        s = per_row[(j["task_id"], j["learner_id"])] * j["n_train"]
        out.append(0.0 if np.isnan(s) else float(s))  # errored pairs last
    return out
