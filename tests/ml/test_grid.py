import json

import numpy as np
import pytest
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import Ridge
from sklearn.model_selection import KFold
from sklearn.tree import DecisionTreeRegressor

import benchgrid as bg
from benchgrid import InputError
from benchgrid.ml._grid import build_ml_project

LEARNERS = {"featureless": DummyRegressor(), "ridge": Ridge()}


def test_one_job_per_task_learner_split(reg_df):
    tasks = {"a": bg.Task(reg_df, target="y", features=["x"]),
             "b": bg.Task(reg_df.iloc[:20], target="y", features=["x", "z"])}
    spec = build_ml_project(tasks, LEARNERS, KFold(4), measures=["rmse"], order="grid")
    assert len(spec.jobs) == 2 * 2 * 4
    assert spec.runner == "benchgrid.ml._runner:run_ml_job"
    keys = [(j["task_id"], j["learner_id"], j["iteration"]) for j in spec.jobs]
    assert len(set(keys)) == len(keys) == len({j["content_key"] for j in spec.jobs})
    json.dumps(spec.jobs)  # every parameter is JSON-able
    assert all(k.isidentifier() for k in spec.jobs[0])
    assert spec.metadata["ml"]["measures"] == ["rmse"]


def test_default_order_is_largest_train_first(reg_df):
    tasks = {"small": bg.Task(reg_df.iloc[:12], target="y", features=["x"]),
             "big": bg.Task(reg_df, target="y", features=["x"])}
    spec = build_ml_project(tasks, LEARNERS, KFold(3))
    n = [j["n_train"] for j in spec.jobs]
    assert n == sorted(n, reverse=True) and spec.jobs[0]["task_id"] == "big"


def test_order_callable_may_drop(reg_df):
    tasks = {"t": bg.Task(reg_df, target="y", features=["x"])}
    spec = build_ml_project(tasks, LEARNERS, KFold(3),
                            order=lambda jobs: jobs[jobs.learner_id == "ridge"][::-1])
    assert [j["iteration"] for j in spec.jobs] == [3, 2, 1]


def test_order_estimated_puts_slow_learner_first(reg_df):
    tasks = {"t": bg.Task(reg_df, target="y", features=["x", "z"])}
    from sklearn.ensemble import RandomForestRegressor

    learners = {"featureless": DummyRegressor(),
                "forest": RandomForestRegressor(n_estimators=30)}
    spec = build_ml_project(tasks, learners, KFold(3), order="estimated")
    assert spec.jobs[0]["learner_id"] == "forest"
    assert "est_s" not in spec.jobs[0]  # would change job keys and seeds from run to run


def test_soak_metadata_become_parameters(reg_df):
    tasks = {"t": bg.Task(reg_df, target="y", features=["x"], subset="person")}
    spec = build_ml_project(tasks, LEARNERS, bg.SOAK(folds=3, random_state=0))
    assert {"test_subset", "train_subsets", "test_fold", "n_train_groups"} <= set(spec.jobs[0])
    assert spec.metadata["ml"]["columns"]["test_subset"] == "test.subset"


def test_write_inputs(tmp_path, reg_df):
    tasks = {"t": bg.Task(reg_df, target="y", features=["x"])}
    spec = build_ml_project(tasks, LEARNERS, KFold(3))
    spec.write_inputs(tmp_path)
    names = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    key = tasks["t"].key
    assert f"tasks/t.{key}.parquet" in names and f"splits/t.{key}.kfold.npz" in names
    assert "ml.json" in names and not any(n.endswith(".tmp") for n in names)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(tasks={"../x": "task"}), r"task id must be a safe file name"),
        (dict(tasks={"a": "data"}), r"task 'a' must be a benchgrid.Task"),
        (dict(learners={"": DummyRegressor()}), r"learner id must be a safe file name .* got ''"),
        (dict(measures=["accuracy"]), r"measure 'accuracy' is for classification tasks"),
        (dict(order="random"), r"order must be one of"),
        (dict(save_models="yes"), r"save_models must be True or False"),
        (dict(cv=[(np.arange(0), np.arange(30))]), r"empty train set"),
    ],
)
def test_bad_input(reg_df, kwargs, match):
    args = dict(tasks={"t": bg.Task(reg_df, target="y", features=["x"])},
                learners=LEARNERS, cv=KFold(3))
    args.update(kwargs)
    with pytest.raises(InputError, match=match):
        build_ml_project(args.pop("tasks"), args.pop("learners"), args.pop("cv"), **args)


def test_duplicate_task_ids_in_a_list(reg_df):
    t = bg.Task(reg_df, target="y", id="same")
    with pytest.raises(InputError, match=r"task ids must be unique, got 'same' twice"):
        build_ml_project([t, t], LEARNERS, KFold(3))


def test_task_id_and_key_must_agree(reg_df):
    with pytest.raises(InputError, match=r"dict key and Task\(id=...\) must agree"):
        build_ml_project({"a": bg.Task(reg_df, target="y", id="b")}, LEARNERS, KFold(3))


def test_unpicklable_learner(reg_df):
    from .test_learners import NoPickle, Unpicklable

    with pytest.raises(InputError, match=r"learner 'local' must be picklable"):
        build_ml_project({"t": bg.Task(reg_df, target="y")},
                         {"local": Unpicklable(fn=NoPickle())}, KFold(3))


def test_local_class_is_stored_by_value(reg_df):
    class Local(DecisionTreeRegressor):  # not importable by a worker: cloudpickle stores it
        pass

    spec = build_ml_project({"t": bg.Task(reg_df, target="y")}, {"local": Local()}, KFold(3))
    assert len(spec.jobs) == 3
