"""ML grids through the real core: Project.create, workers, results."""

import numpy as np
import pandas as pd
import pytest
from sklearn.dummy import DummyRegressor
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import Ridge
from sklearn.model_selection import GroupKFold, KFold, cross_validate

import benchgrid as bg
from benchgrid import InputError
from benchgrid.ml._demo import demo_grid
from benchgrid.ml._learners import learner_key
from benchgrid.ml._splits import Splits

RUN_COLUMNS = ["fit_s", "predict_s", "peak_mem_mb", "worker", "host", "pid", "claimed_at",
               "started_at", "ended_at", "duration_s", "job_id"]


def _scores(proj):
    s = proj.scores().drop(columns=RUN_COLUMNS)
    return s.sort_values("content_key").reset_index(drop=True)


@pytest.mark.slow
def test_same_scores_with_1_and_4_workers(tmp_path):
    tables = []
    for n_workers in (1, 4):
        g = demo_grid()
        # random learners show that seeds come from the job, not the worker or the order
        g["learners"]["forest"] = RandomForestRegressor(n_estimators=3, max_features=0.5)
        proj = bg.Project.create(tmp_path / f"w{n_workers}", g["tasks"], g["learners"], g["cv"],
                                 measures=g["measures"], random_state=3)
        proj.run(n_workers=n_workers, progress=False)
        tables.append(_scores(proj))
    assert (tables[0]["state"] == "done").all() and len(tables[0]) == 108
    pd.testing.assert_frame_equal(tables[0], tables[1], check_exact=True)


def test_matches_cross_validate(project_dir, reg_df):
    task = bg.Task(reg_df, target="y", features=["x", "z"])
    learners = {"featureless": DummyRegressor(), "ridge": Ridge(alpha=0.3)}
    cv = KFold(5, shuffle=True, random_state=0)
    proj = bg.Project.create(project_dir / "p", {"t": task}, learners, cv,
                             measures=["rmse", "mae", "r2"])
    proj.run(n_workers=0, progress=False)
    scores = proj.scores()
    for lid, est in learners.items():
        ref = cross_validate(est, task.X, task.y, cv=cv,
                             scoring=("neg_root_mean_squared_error", "neg_mean_absolute_error", "r2"))
        got = scores[scores.learner_id == lid].sort_values("iteration")
        np.testing.assert_array_equal(got["rmse"], -ref["test_neg_root_mean_squared_error"])
        np.testing.assert_array_equal(got["mae"], -ref["test_neg_mean_absolute_error"])
        np.testing.assert_array_equal(got["r2"], ref["test_r2"])


def test_group_kfold_groups_never_cross(project_dir, reg_df):
    task = bg.Task(reg_df, target="y", features=["x"], group="grp")
    proj = bg.Project.create(project_dir / "p", {"t": task}, {"ridge": Ridge()}, GroupKFold(3),
                             save_predictions=True)
    proj.run(n_workers=0, progress=False)
    splits = Splits.load(next((proj.path / "inputs" / "splits").glob("t.*.npz")))
    pred = proj.predictions()
    grp = reg_df["grp"].to_numpy()
    for it, rows in pred.groupby("iteration"):
        train, test = splits.get(it - 1)
        assert sorted(rows["row"]) == sorted(test)  # the worker used the stored split
        assert not set(grp[train]) & set(grp[test])
    assert len(pred) == len(reg_df)  # each row tested once


def test_fold_role(project_dir, reg_df):
    task = bg.Task(reg_df, target="y", features=["x"], fold="fold")
    proj = bg.Project.create(project_dir / "p", {"t": task}, {"ridge": Ridge()}, None)
    proj.run(n_workers=0, progress=False)
    s = proj.scores().sort_values("test.fold")
    assert s["test.fold"].tolist() == [1, 2, 3] and s["n_test"].tolist() == [10, 10, 10]


def test_add_learner_task_and_replace(project_dir, reg_df):
    tasks = {"a": bg.Task(reg_df, target="y", features=["x"])}
    proj = bg.Project.create(project_dir / "p", tasks, {"featureless": DummyRegressor()}, KFold(3))
    proj.run(n_workers=0, progress=False)
    done = proj.scores()
    assert proj.add(learners={"ridge": Ridge()}) == 3
    assert proj.add(tasks={"b": bg.Task(reg_df.iloc[:15], target="y", features=["x"])}) == 6
    assert proj.add(learners={"ridge": Ridge()}) == 0  # same definition: nothing new
    with pytest.raises(InputError, match=r"learner 'ridge' is already in the project with another"):
        proj.add(learners={"ridge": Ridge(alpha=5.0)})
    with pytest.raises(InputError, match=r"measure 'rmse' is for regression tasks"):
        proj.add(tasks={"c": bg.Task(reg_df, target="person", features=["x"])})
    proj.run(n_workers=0, progress=False)
    s = proj.scores()
    assert len(s) == 12 and (s["state"] == "done").all()
    first = s[s.job_id.isin(done.job_id)].set_index("job_id")["rmse"]
    assert first.equals(done.set_index("job_id")["rmse"])  # done results stay
    assert proj.add(learners={"ridge": Ridge(alpha=5.0)}, replace=True) == 6
    proj.run(n_workers=0, progress=False)
    s = proj.scores()
    assert len(s) == 12 and len(proj.results()) == 18  # old ridge rows left out of scores
    assert set(s[s.learner_id == "ridge"]["learner_key"]) == {learner_key(Ridge(alpha=5.0))}


def test_try_jobs(project_dir, reg_df):
    tasks = {"a": bg.Task(reg_df, target="y", features=["x"])}
    learners = {"featureless": DummyRegressor(), "ridge": Ridge()}
    proj = bg.Project.create(project_dir / "p", tasks, learners, KFold(3))
    t = proj.try_jobs(sample=5)
    assert t["n_train"].tolist() == [5, 5] and t["n_jobs"].tolist() == [3, 3]
    assert (t["est_cpu_s"] > 0).all() and t["error"].isna().all()
    assert proj.status().counts["done"] == 0  # nothing recorded


def test_column_parquet_cannot_store_is_input_error(project_dir, reg_df):
    reg_df["mixed"] = [1, "a"] * 15
    task = bg.Task(reg_df, target="y", features=["x", "mixed"])
    with pytest.raises(InputError, match=r"task 't' must have columns Parquet can store"):
        bg.Project.create(project_dir / "p", {"t": task}, {"ridge": Ridge()}, KFold(3))
    assert list(project_dir.iterdir()) == []  # no directory, no temp sibling
