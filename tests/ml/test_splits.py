import numpy as np
import pytest
from sklearn.model_selection import (GroupKFold, KFold, LeaveOneGroupOut, RepeatedKFold,
                                     ShuffleSplit, StratifiedKFold)

import benchgrid as bg

pytestmark = pytest.mark.filterwarnings("ignore:The groups parameter is ignored")
from benchgrid import InputError
from benchgrid.ml._splits import Splits, check_cv, compute_splits

SPLITTERS = {
    "kfold": KFold(3, shuffle=True, random_state=0),
    "int": 3,
    "stratified": StratifiedKFold(3),
    "group": GroupKFold(3),
    "logo": LeaveOneGroupOut(),
    "shuffle": ShuffleSplit(4, test_size=0.25, random_state=0),
    "repeated": RepeatedKFold(n_splits=2, n_repeats=2, random_state=0),
    "soak": bg.SOAK(folds=3, random_state=0),
    "fold column": None,
}


@pytest.fixture
def task(reg_df):
    return bg.Task(reg_df, target="y", features=["x"], subset="person", stratum="person",
                   group="grp")


@pytest.mark.parametrize("name", SPLITTERS)
def test_every_splitter_gives_valid_splits(reg_df, task, name):
    cv = check_cv(SPLITTERS[name])
    if name == "fold column":
        task = bg.Task(reg_df, target="y", features=["x"], fold="fold")
    s = compute_splits(cv, task, "t")
    assert len(s) >= 2
    for i in range(len(s)):
        train, test = s.get(i)
        assert len(train) and len(test)
        assert not set(train) & set(test)
        assert s.meta[i]["iteration"] == i + 1


@pytest.mark.parametrize("name", ["group", "logo", "soak"])
def test_groups_never_cross(task, name):
    s = compute_splits(SPLITTERS[name], task, "t")
    grp = task.role("group")
    for i in range(len(s)):
        train, test = s.get(i)
        assert not set(grp[train]) & set(grp[test])


def test_stratum_is_y_for_stratified(task):
    s = compute_splits(StratifiedKFold(3), task, "t")
    person = task.role("stratum")
    for i in range(len(s)):
        _, test = s.get(i)
        counts = [int((person[test] == p).sum()) for p in ("Alice", "Bob", "Carol")]
        assert max(counts) - min(counts) <= 1  # 10 rows per person, 3 folds


def test_fold_role_is_honoured(reg_df):
    task = bg.Task(reg_df, target="y", features=["x"], fold="fold")
    s = compute_splits(None, task, "t")
    assert [m["test.fold"] for m in s.meta] == [1, 2, 3]
    for i, f in enumerate([1, 2, 3]):
        _, test = s.get(i)
        assert (reg_df["fold"].to_numpy()[test] == f).all()
        assert len(test) == (reg_df["fold"] == f).sum()


def test_soak_metadata_kept(task):
    s = compute_splits(bg.SOAK(folds=3, random_state=0), task, "t")
    assert {"test.subset", "train.subsets", "test.fold", "n.train.groups"} <= set(s.meta[0])
    assert {m["train.subsets"] for m in s.meta} == {"same", "other", "all"}


def test_roundtrip(tmp_path, task):
    s = compute_splits(bg.SOAK(folds=3, random_state=0), task, "t")
    path = tmp_path / "a b" / "t.npz"
    s.save(path)
    back = Splits.load(path)
    assert back.meta == s.meta
    for i in range(len(s)):
        for a, b in zip(s.get(i), back.get(i)):
            np.testing.assert_array_equal(a, b)
    assert back.train.dtype == np.int32
    assert [p.name for p in path.parent.iterdir()] == ["t.npz"]  # no temp file left


def test_a_compressed_file_of_an_earlier_version_loads_the_same(tmp_path, task):
    import io
    import json

    s = compute_splits(bg.SOAK(folds=3, random_state=0), task, "t")
    buf = io.BytesIO()  # what versions up to 0.1 wrote
    np.savez_compressed(buf, train=s.train, train_ptr=s.train_ptr, test=s.test, test_ptr=s.test_ptr,
                        meta=np.array(json.dumps(s.meta)))  # fmt: skip
    (tmp_path / "old.npz").write_bytes(buf.getvalue())
    back = Splits.load(tmp_path / "old.npz")
    assert back.meta == s.meta and len(back) == len(s)
    for a, b in zip((s.train, s.train_ptr, s.test, s.test_ptr), (back.train, back.train_ptr, back.test, back.test_ptr)):
        assert a.dtype == b.dtype and np.array_equal(a, b)


@pytest.mark.parametrize(
    "cv, match",
    [
        ([(np.arange(0), np.arange(30))], r"cv must not yield an empty train set"),
        ([(np.arange(30), np.arange(0))], r"cv must not yield an empty test set"),
        ([(np.arange(10), np.arange(25, 31))], r"test indices must be in \[0, 30\)"),
        (GroupKFold(3), r"GroupKFold.*failed on task 't'.*group="),
        (None, r"task 't' has no fold role"),
    ],
)
def test_bad_splits(reg_df, cv, match):
    task = bg.Task(reg_df, target="y", features=["x"])
    with pytest.raises(InputError, match=match):
        compute_splits(check_cv(cv), task, "t")


def test_fold_role_with_sklearn_cv_is_an_error(reg_df):
    task = bg.Task(reg_df, target="y", features=["x"], fold="fold")
    with pytest.raises(InputError, match=r"has a fold column 'fold' but cv is KFold.*cv=None"):
        compute_splits(KFold(3), task, "t")


@pytest.mark.parametrize("cv", ["KFold", 1, [(1, 2, 3)], {"a": 1}, object()])
def test_bad_cv(cv):
    with pytest.raises(InputError, match=r"cv (as an iterable )?must"):
        check_cv(cv)


def test_group_role_ignored_by_splitter_warns(task):
    with pytest.warns(UserWarning, match="groups parameter is ignored by KFold"):
        compute_splits(KFold(3), task, "t")


def test_generator_is_materialised(task):
    gen = ((np.arange(15), np.arange(15, 30)) for _ in range(2))
    cv = check_cv(gen)
    assert len(compute_splits(cv, task, "a")) == 2 == len(compute_splits(cv, task, "b"))


from hypothesis import given, settings
from hypothesis import strategies as st


@settings(max_examples=25, deadline=None)
@given(n_rows=st.integers(6, 50), n_splits=st.integers(2, 5), shuffle=st.booleans(),
       seed=st.integers(0, 1000), n_learners=st.integers(1, 3))
def test_stored_splits_equal_the_splitter_and_jobs_equal_grid_size(
        tmp_path_factory, n_rows, n_splits, shuffle, seed, n_learners):
    import pandas as pd
    from sklearn.dummy import DummyRegressor

    from benchgrid.ml._grid import make_jobs

    df = pd.DataFrame({"x": np.arange(n_rows, dtype=float), "y": np.arange(n_rows) ** 2.0})
    task = bg.Task(df, target="y")
    cv = KFold(n_splits, shuffle=shuffle, random_state=seed if shuffle else None)
    s = compute_splits(cv, task, "t")
    path = tmp_path_factory.mktemp("s") / "t.npz"
    s.save(path)
    back = Splits.load(path)
    raw = list(cv.split(task.X))
    assert len(back) == len(raw)
    for i, (tr, te) in enumerate(raw):
        np.testing.assert_array_equal(back.get(i)[0], tr)
        np.testing.assert_array_equal(back.get(i)[1], te)
    learners = {f"l{j}": DummyRegressor(quantile=None) for j in range(n_learners)}
    jobs = make_jobs({"t": task}, learners, {"t": {"kfold": back}})
    assert len(jobs) == n_learners * n_splits
    assert len({j["content_key"] for j in jobs}) == len(jobs)
