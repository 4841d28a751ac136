"""`try --sample N` against the unsampled `try`: estimated CPU time of the grid.

Prints, per learner, the estimate without sampling and with --sample N, for
the two-size model (benchgrid) and for the former rule (one fit divided by
its rows, times the rows of every job), medians of 3 repeats.

    python benchmarks/bench_try_sample.py
"""

from __future__ import annotations

import statistics
import tempfile

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import Ridge
from sklearn.model_selection import KFold
from sklearn.neighbors import KNeighborsRegressor

import benchgrid as bg


def main() -> None:
    rng = np.random.default_rng(0)
    n = 4000
    df = pd.DataFrame(rng.normal(size=(n, 5)), columns=list("abcde"))
    df["y"] = df["a"] + rng.normal(size=n)
    learners = {"ridge": Ridge(), "knn": KNeighborsRegressor(),
                "forest": RandomForestRegressor(n_estimators=20)}
    proj = bg.Project.create(tempfile.mkdtemp() + "/p", {"t": bg.Task(df, target="y")},
                             learners, KFold(5))
    n_train_total = proj.jobs().groupby("learner_id")["n_train"].sum()
    rows = []
    for sample in (None, 200, 1000):
        est: dict[str, list[float]] = {k: [] for k in learners}
        old: dict[str, list[float]] = {k: [] for k in learners}
        for _ in range(3):
            t = proj.try_jobs(sample=sample).set_index("learner_id")
            for lid in learners:
                est[lid].append(float(t.loc[lid, "est_cpu_s"]))
                old[lid].append(float((t.loc[lid, "fit_s"] + t.loc[lid, "predict_s"])
                                      / t.loc[lid, "n_train"] * n_train_total[lid]))
        for lid in learners:
            rows.append({"learner": lid, "sample": sample or "all",
                         "est_s": statistics.median(est[lid]),
                         "former_rule_s": statistics.median(old[lid])})
    table = pd.DataFrame(rows)
    full = table[table["sample"] == "all"].set_index("learner")["est_s"]
    table["est / unsampled"] = table["est_s"] / table["learner"].map(full)
    table["former / unsampled"] = table["former_rule_s"] / table["learner"].map(full)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3g}"))


if __name__ == "__main__":
    main()
