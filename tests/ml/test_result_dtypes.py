"""Score and result columns keep one dtype whatever the jobs' states, also before any job ran (issue 23)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sklearn.dummy import DummyRegressor
from sklearn.model_selection import KFold
from sklearn.tree import DecisionTreeRegressor

import benchgrid as bg

NUMBERS = {"rmse": "float64", "mae": "float64", "fit_s": "float64", "predict_s": "float64", "peak_mem_mb": "float64"}


def _project(path: Path, reg_df: pd.DataFrame, learners: dict) -> bg.Project:
    tasks = {"t": bg.Task(reg_df, target="y", features=["x", "z"])}
    return bg.Project.create(path, tasks, learners, KFold(3), measures=["rmse", "mae"])


def _dtypes(table: pd.DataFrame) -> dict[str, str]:
    return {c: str(table[c].dtype) for c in [*NUMBERS, "measure_errors", "n_warnings", "warnings"]}


EXPECTED = {**NUMBERS, "measure_errors": "object", "n_warnings": "Int64", "warnings": "object"}


def test_before_any_job_ran_the_measure_columns_are_there(tmp_path: Path, reg_df: pd.DataFrame) -> None:
    proj = _project(tmp_path / "p", reg_df, {"featureless": DummyRegressor()})
    scores = proj.scores()
    assert len(scores) == 3 and _dtypes(scores) == EXPECTED
    assert scores["rmse"].isna().all() and scores["n_warnings"].isna().all()
    assert scores["measure_errors"].tolist() == [None] * 3
    cols = list(scores.columns)
    assert cols.index("rmse") < cols.index("state")  # results before benchgrid's run columns, as after a run


@pytest.mark.parametrize("with_error", [False, True])
def test_dtypes_do_not_follow_the_values(tmp_path: Path, reg_df: pd.DataFrame, with_error: bool) -> None:
    learners = {"featureless": DummyRegressor()}
    if with_error:
        learners["broken"] = DecisionTreeRegressor(max_depth=-1)  # every job of it errors at fit
    proj = _project(tmp_path / "p", reg_df, learners)
    proj.run(n_workers=0, progress=False)
    for table in (proj.scores(), proj.results()):
        assert _dtypes(table) == EXPECTED  # measure_errors was float64 (all None), n_warnings float with an error
        done = table[table["state"] == "done"]
        assert done["n_warnings"].notna().all() and done["measure_errors"].map(lambda v: v is None).all()
    if with_error:
        broken = proj.scores().query("learner_id == 'broken'")
        assert (broken["state"] == "error").all() and broken["n_warnings"].isna().all()
        assert broken["warnings"].tolist() == [None] * 3
