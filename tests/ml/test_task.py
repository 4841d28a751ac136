import numpy as np
import pytest

import benchgrid as bg
from benchgrid import InputError


def test_roles_and_inferred_types(reg_df, clf_df):
    t = bg.Task(reg_df, target="y", features=["x"], subset="person", stratum="person")
    assert t.task_type == "regression"
    assert t.roles == {"subset": "person", "stratum": "person"}
    assert list(t.data.columns) == ["x", "y", "person"]
    assert t.X.shape == (30, 1) and t.y.dtype.kind == "f"
    c = bg.Task(clf_df, target="label", features=["x", "z"])
    assert c.task_type == "classification"


def test_default_features_exclude_target_and_roles(reg_df):
    t = bg.Task(reg_df, target="y", group="grp", fold="fold", subset="person")
    assert t.features == ["x", "z"]


def test_arrays():
    X = np.arange(20.0).reshape(10, 2)
    t = bg.Task(X, np.arange(10.0) ** 2, group=np.arange(10) // 2)
    assert isinstance(t.X, np.ndarray) and t.X.shape == (10, 2)
    assert t.role("group").tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]


def test_key_depends_on_content(reg_df):
    a = bg.Task(reg_df, target="y", features=["x"])
    b = bg.Task(reg_df.copy(), target="y", features=["x"])
    assert a.key == b.key
    changed = reg_df.copy()
    changed.loc[0, "y"] += 1e-9
    assert bg.Task(changed, target="y", features=["x"]).key != a.key


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"target": "nope"}, r"target must name a column of data, got 'nope'"),
        ({"target": "y", "features": ["x", "w"]}, r"features must name a column of data, got 'w'"),
        ({"target": "y", "group": "team"}, r"group must name a column of data, got 'team'"),
        ({"target": "y", "features": ["y"]}, r"features must not include the target"),
        ({"target": "y", "task_type": "ranking"}, r"task_type must be one of"),
        ({"target": "person", "task_type": "regression"}, r"must be numeric"),
        ({"target": "y", "id": "../x"}, r"task id must be a safe file name .* got '../x'"),
        ({"target": "y", "id": ""}, r"task id must be a safe file name .* got ''"),
    ],
)
def test_bad_input(reg_df, kwargs, match):
    with pytest.raises(InputError, match=match):
        bg.Task(reg_df, **kwargs)


def test_nan_in_target_names_row(reg_df):
    reg_df.loc[4, "y"] = np.nan
    with pytest.raises(InputError, match=r"target column 'y' must have no missing value, got 1 \(first at row 4\)"):
        bg.Task(reg_df, target="y")


def test_nan_in_role(reg_df):
    reg_df["person"] = reg_df["person"].astype(object)
    reg_df.loc[2, "person"] = None
    with pytest.raises(InputError, match=r"subset column 'person' must have no missing"):
        bg.Task(reg_df, target="y", subset="person")


def test_one_class(reg_df):
    reg_df["c"] = "a"
    with pytest.raises(InputError, match=r"at least 2 classes"):
        bg.Task(reg_df, target="c", features=["x"])


def test_error_pickles(reg_df):
    import pickle

    with pytest.raises(InputError) as info:
        bg.Task(reg_df, target="nope")
    again = pickle.loads(pickle.dumps(info.value))
    assert str(again) == str(info.value)


@pytest.mark.parametrize("features", [["x"], ["z", "x"], ["kind", "x", "z"]])
def test_X_is_the_frame_of_the_feature_columns(features):
    """Task.X is built with take (faster); it must be exactly data[features]."""
    import pandas as pd

    df = pd.DataFrame({"y": np.arange(8.0), "x": np.arange(8.0) * 2, "kind": pd.Categorical(list("abababab")),
                       "z": np.arange(8)})  # fmt: skip
    t = bg.Task(df, target="y", features=features)
    want = t.data[features]
    pd.testing.assert_frame_equal(t.X, want, check_exact=True)
    assert list(t.X.columns) == features and t.X.columns.dtype == want.columns.dtype
