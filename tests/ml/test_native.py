"""Known estimators get the task's float array, a copied clone and one parameter check: the same bits."""

import importlib
import io
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.base import is_classifier
from sklearn.compose import ColumnTransformer
from sklearn.model_selection import KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeRegressor

import benchgrid as bg
from benchgrid.ml._grid import build_ml_project
from benchgrid.ml._learners import JobLearner
from benchgrid.ml._measures import resolve
from benchgrid.ml._native import NATIVE_CLASSES, native_array, native_rows, takes_native
from benchgrid.ml._runner import fit_and_score, run_in_project

CLASSES = [(m, n) for m, names in NATIVE_CLASSES.items() for n in names]
SMALL = {"n_estimators": 5, "max_iter": 50}  # quick ensembles and solvers; same on both paths


def _estimator(module, name):
    cls = getattr(importlib.import_module(module), name)
    est = cls()
    params = est.get_params()
    est.set_params(**{k: v for k, v in SMALL.items() if k in params})
    if "random_state" in params:
        est.set_params(random_state=3)  # what JobLearner(est)(3) sets when it is None
    return est


def _frames(rng, n=90):
    """One column; three in one block; three read back from Parquet; with missing values."""
    one = pd.DataFrame({"x": rng.normal(size=n)})
    three = pd.DataFrame(rng.normal(size=(n, 3)), columns=["a", "b", "c"])
    two_blocks = pd.DataFrame(rng.normal(size=(n, 2)), columns=["a", "b"])
    two_blocks["c"] = rng.normal(size=n) * 100  # a column added later: a second block
    parquet = pd.read_parquet(io.BytesIO(two_blocks.to_parquet()))  # what a worker reads: one block
    missing = three.copy()
    missing.iloc[::7, 1] = np.nan
    return {"one": one, "three": three, "parquet": parquet, "missing": missing}


def _fit_predict(est, X_train, y_train, X_test, skip_checks=False):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with sklearn.config_context(skip_parameter_validation=skip_checks):
            fitted = est.fit(X_train, y_train)
        out = [fitted.predict(X_test)]
        if hasattr(fitted, "predict_proba"):
            out.append(fitted.predict_proba(X_test))
    return out, [f"{w.category.__name__}: {w.message}" for w in caught]


def test_every_listed_class_exists_in_the_installed_scikit_learn():
    for module, name in CLASSES:
        cls = getattr(importlib.import_module(module), name)
        assert takes_native(cls()), (module, name)


@pytest.mark.parametrize("module,name", CLASSES, ids=[n for _, n in CLASSES])
def test_array_and_frame_give_the_same_bits(module, name):
    rng = np.random.default_rng(11)
    for label, X in _frames(rng).items():
        n = len(X)
        est = _estimator(module, name)
        # a target without missing values, so NaN in X is what is tested
        y = rng.integers(0, 3, size=n) if is_classifier(est) else np.nansum(X.to_numpy(), axis=1) + rng.normal(size=n)
        train, test = rng.permutation(n)[:60], rng.permutation(n)[:30]
        A = native_array(X)
        assert A is not None, label
        # what a worker does: a copy of a clean clone, checked once, fitted on the array
        make = JobLearner(_estimator(module, name))
        assert make.checked
        try:
            frame_out, frame_warn = _fit_predict(_estimator(module, name), X.iloc[train], y[train],
                                                 X.iloc[test])  # fmt: skip
        except ValueError as err:  # missing values, for the estimators that refuse them
            with pytest.raises(ValueError) as got:
                _fit_predict(make(3), native_rows(A, train), y[train], native_rows(A, test), skip_checks=True)
            assert str(got.value) == str(err), (name, label)
            assert label == "missing", (name, label, err)
            continue
        array_out, array_warn = _fit_predict(make(3), native_rows(A, train), y[train], native_rows(A, test),
                                             skip_checks=True)  # fmt: skip
        assert len(frame_out) == len(array_out)
        for f, a in zip(frame_out, array_out):
            assert f.dtype == a.dtype and np.array_equal(f, a, equal_nan=f.dtype.kind == "f"), (name, label)
        assert frame_warn == array_warn, (name, label)


def test_a_frame_of_several_blocks_keeps_the_frame():
    """np.asarray would copy it: a worker would keep a second copy of the task per task."""
    X = pd.DataFrame({"a": np.arange(5.0), "b": np.arange(5.0)})
    assert native_array(X) is not None
    X["c"] = np.arange(5.0)  # a second block
    assert native_array(X) is None


def test_native_rows_is_what_scikit_learn_makes_of_the_frame_rows():
    rng = np.random.default_rng(0)
    for X in _frames(rng).values():
        rows = rng.permutation(len(X))[:40]
        got, want = native_rows(native_array(X), rows), np.asarray(X.iloc[rows])
        assert np.array_equal(got, want, equal_nan=True) and got.dtype == want.dtype
        assert got.flags.f_contiguous == want.flags.f_contiguous


@pytest.mark.parametrize(
    "frame",
    [
        pd.DataFrame({"x": np.arange(5, dtype="float32")}),
        pd.DataFrame({"x": np.arange(5)}),
        pd.DataFrame({"x": np.arange(5.0), "flag": [True, False] * 2 + [True]}),
        pd.DataFrame({"x": np.arange(5.0), "kind": list("abcab")}),
        pd.DataFrame({"x": pd.Categorical([1.0, 2.0, 1.0, 2.0, 1.0])}),
        pd.DataFrame({"x": pd.array([1.0, 2.0, None, 2.0, 1.0], dtype="Float64")}),
        pd.DataFrame({0: np.arange(5.0), 1: np.arange(5.0)}),
        pd.DataFrame(index=range(5)),
    ],
    ids=["float32", "int", "bool", "object", "categorical", "nullable", "int_names", "no_columns"],
)
def test_frames_that_might_differ_keep_the_frame(frame):
    assert native_array(frame) is None


def test_only_the_listed_classes_exactly():
    class MyTree(DecisionTreeRegressor):
        pass

    assert takes_native(DecisionTreeRegressor())
    assert not takes_native(MyTree())  # a subclass may read X itself
    assert not takes_native(make_pipeline(StandardScaler(), DecisionTreeRegressor()))
    assert not takes_native(ColumnTransformer([("s", StandardScaler(), ["x"])]))
    assert native_array(np.zeros((3, 2))) is None


def test_fit_and_score_same_result_either_way():
    rng = np.random.default_rng(5)
    df = pd.DataFrame({"x": rng.normal(size=120), "z": rng.normal(size=120)})
    df["y"] = df["x"] * 2 + rng.normal(size=120)
    task = bg.Task(df, target="y")
    train, test = np.arange(80), np.arange(80, 120)
    measures = resolve(["rmse", "mae"])
    timing = {"fit_s", "predict_s", "peak_mem_mb"}
    for learner in (DecisionTreeRegressor(), _estimator("sklearn.linear_model", "Ridge")):
        fast, _, fitted_fast = fit_and_score(learner, task, train, test, measures, seed=4)
        slow, _, fitted_slow = fit_and_score(learner, task, train, test, measures, seed=4, native=False)
        assert {k: v for k, v in fast.items() if k not in timing} == {
            k: v for k, v in slow.items() if k not in timing
        }
        assert not hasattr(fitted_fast, "feature_names_in_")
        assert list(fitted_slow.feature_names_in_) == ["x", "z"]


def test_a_kept_model_knows_its_feature_names(project_dir, reg_df, private_ok):
    spec = build_ml_project({"t": bg.Task(reg_df, target="y", features=["x"])},
                            {"tree": DecisionTreeRegressor()}, KFold(3), save_models=True)  # fmt: skip
    spec.write_inputs(project_dir / "inputs")
    run_in_project(project_dir, spec.jobs[0], seed=1, job_id=9)
    with open(project_dir / "models" / "9.pkl", "rb") as f:
        model = pickle.load(f)
    assert list(model.feature_names_in_) == ["x"]
