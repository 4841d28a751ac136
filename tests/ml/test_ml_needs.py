"""Time and resources per learner in an ML grid (issue 21): hints for the lanes that change no result."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sklearn.ensemble import ExtraTreesRegressor

import benchgrid as bg
from benchgrid._errors import InputError
from benchgrid.ml._demo import demo_grid
from benchgrid.store import JobClass, Queue, read_project_json


def _grid() -> dict:
    g = demo_grid(n_rows=60)
    g["learners"]["extra"] = ExtraTreesRegressor(n_estimators=3)  # its scores depend on its seed
    return g


def test_time_and_gpus_per_learner_steer_workers_and_change_no_result(tmp_path: Path) -> None:
    g = _grid()
    hinted = bg.Project.create(tmp_path / "hinted", g["tasks"], g["learners"], g["cv"], measures=["rmse"],
                               time_s={"rpart": 100}, resources={"extra": {"gpus": 1}})
    plain = bg.Project.create(tmp_path / "plain", g["tasks"], g["learners"], g["cv"], measures=["rmse"])
    settings = hinted.project_settings
    assert settings.time_key == "expected_s" and settings.resource_keys == ("gpus",)
    jobs = hinted.jobs()
    assert (jobs.loc[jobs["learner_id"] == "extra", "gpus"] == 1).all()
    assert (jobs.loc[jobs["learner_id"] == "rpart", "expected_s"] == 100).all()
    lanes = Queue(hinted.path, read_project_json(hinted.path)["settings"]).cursor()["lk"]
    assert [JobClass.parse(k) for k in lanes] == [JobClass(), JobClass(time=1), JobClass(res=(("gpus", 1),))]
    assert hinted.run(n_workers=2, progress=False, gpus=1).exit_code == 0
    assert plain.run(n_workers=2, progress=False).exit_code == 0
    keys = ["task_id", "learner_id", "iteration", "train.subsets", "test.subset"]
    a = hinted.scores().sort_values(keys).reset_index(drop=True)
    b = plain.scores().sort_values(keys).reset_index(drop=True)
    assert len(a) == len(b) == len(jobs)
    pd.testing.assert_series_equal(a["rmse"], b["rmse"])  # same seeds: the hints are not in them


@pytest.mark.parametrize(("options", "match"), [
    ({"time_s": {"nope": 5}}, r"time_s key 'nope' names no learner_id nor \(task_id, learner_id\) of the grid"),
    ({"time_s": {"rpart": -5}}, r"time_s\['rpart'\] must be a number of seconds > 0, got -5"),
    ({"resources": {"rpart": {"gpus": -1}}}, r"resources\['rpart'\] must map resource names to counts >= 0"),
    ({"resources": {"rpart": {"task_id": 1}}}, r"resources names \['task_id'\] are job columns already"),
])
def test_bad_needs_are_refused_and_nothing_written(tmp_path: Path, options: dict, match: str) -> None:
    g = demo_grid(n_rows=60)
    with pytest.raises(InputError, match=match):
        bg.Project.create(tmp_path / "p", g["tasks"], g["learners"], g["cv"], **options)
    assert not (tmp_path / "p").exists()


def test_estimated_time_is_the_time_key(tmp_path: Path) -> None:
    g = demo_grid(n_rows=60)
    proj = bg.Project.create(tmp_path / "p", g["tasks"], g["learners"], g["cv"], time_s="estimated")
    assert proj.project_settings.time_key == "expected_s"
    seconds = proj.jobs()["expected_s"].dropna()
    assert len(seconds) > 0 and (seconds > 0).all()
    with pytest.raises(InputError, match="time_s must be 'estimated' or a dict of seconds per learner_id"):
        bg.Project.create(tmp_path / "q", g["tasks"], g["learners"], g["cv"], time_s="soon")


def test_jobs_added_later_get_their_needs_as_at_creation(tmp_path: Path) -> None:
    g = demo_grid(n_rows=60)
    proj = bg.Project.create(tmp_path / "p", g["tasks"], g["learners"], g["cv"],
                             time_s={"rpart": 100}, resources={"rpart": {"gpus": 1}})
    task = next(iter(g["tasks"].values()))
    assert proj.add(tasks={"again": task}) > 0
    jobs = proj.jobs()
    added = jobs[(jobs["task_id"] == "again") & (jobs["learner_id"] == "rpart")]
    assert len(added) > 0 and (added["gpus"] == 1).all() and (added["expected_s"] == 100).all()
    lanes = Queue(proj.path, read_project_json(proj.path)["settings"]).cursor()["lk"]
    assert JobClass(time=1, res=(("gpus", 1),)).key() in lanes
