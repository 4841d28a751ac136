"""The runner called directly, with a JobContext built here (no worker)."""

import pandas as pd
import pytest
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, StratifiedKFold

import benchgrid as bg
from benchgrid.ml._grid import build_ml_project
from benchgrid.ml._runner import run_ml_job
from benchgrid.worker._context import JobContext, reset_current_job, set_current_job


def _run(project_dir, spec, job, seed=123, job_id=0):
    token = set_current_job(JobContext(project_dir, job_id, 1, seed, "test"))
    try:
        return run_ml_job(**job)
    finally:
        reset_current_job(token)


def test_result_keys_and_values(project_dir, reg_df, private_ok):
    tasks = {"t": bg.Task(reg_df, target="y", features=["x"])}
    spec = build_ml_project(tasks, {"forest": RandomForestRegressor(n_estimators=5)},
                            KFold(3), measures=["rmse", "mae"], order="grid")
    spec.write_inputs(project_dir / "inputs")
    res = _run(project_dir, spec, spec.jobs[0])
    # n_train and n_test are the job's parameters: a result never repeats (and so never overwrites) an input
    assert list(res) == ["rmse", "mae", "fit_s", "predict_s", "peak_mem_mb",
                         "measure_errors", "n_warnings", "warnings"]
    assert all(isinstance(v, (int, float)) for k, v in res.items()
               if k not in ("measure_errors", "warnings"))
    assert res["measure_errors"] is None and res["n_warnings"] == 0
    assert spec.jobs[0]["n_train"] == 20 and spec.jobs[0]["n_test"] == 10 and res["peak_mem_mb"] > 1
    # same seed, same scores; another seed, other scores (random_state was None)
    assert _run(project_dir, spec, spec.jobs[0])["rmse"] == res["rmse"]
    assert _run(project_dir, spec, spec.jobs[0], seed=7)["rmse"] != res["rmse"]


def test_classification_with_proba_and_predictions(project_dir, clf_df, private_ok):
    tasks = {"c": bg.Task(clf_df, target="label", features=["x", "z"])}
    spec = build_ml_project(tasks, {"logreg": LogisticRegression()}, StratifiedKFold(3),
                            measures=["accuracy", "auc", "logloss"], save_predictions=True,
                            save_models=True)
    spec.write_inputs(project_dir / "inputs")
    res = _run(project_dir, spec, spec.jobs[0], job_id=5)
    assert 0 <= res["accuracy"] <= 1 and 0 <= res["auc"] <= 1 and res["logloss"] > 0
    pred = pd.read_parquet(project_dir / "predictions" / "5.parquet")
    assert list(pred.columns) == ["job_id", "row", "truth", "response", "prob.high", "prob.low"]
    assert len(pred) == spec.jobs[0]["n_test"]
    assert (project_dir / "models" / "5.pkl").exists()


def test_project_is_checked_before_unpickling(project_dir, reg_df, monkeypatch):
    import benchgrid.store as store
    from benchgrid import ProjectError
    from benchgrid.ml import _runner

    _runner.clear_caches()
    spec = build_ml_project({"t": bg.Task(reg_df, target="y")},
                            {"forest": RandomForestRegressor(n_estimators=2)}, KFold(3))
    spec.write_inputs(project_dir / "inputs")

    def refuse(path):
        raise ProjectError("writable by others")

    monkeypatch.setattr(store, "check_trust_once", refuse)
    loads = []
    monkeypatch.setattr("pickle.load", lambda *a, **k: loads.append(1))
    with pytest.raises(ProjectError, match="writable by others"):
        _run(project_dir, spec, spec.jobs[0])
    assert loads == []
    _runner.clear_caches()
