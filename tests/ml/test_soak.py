"""SOAK splitter: hand-computed cases from the rules of issue 4, errors, sklearn use."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import cross_validate

from benchgrid import SOAK, InputError
from benchgrid.ml._soak import META_COLUMNS

# The seed example: Alice = rows 0..39, Bob = rows 40..79, each row its own group.
PERSON = np.repeat(["Alice", "Bob"], 40)
X80 = np.zeros((80, 1))
# Fold column: within each person, row i goes to fold i % 3 + 1, so fold 1
# holds 14 rows of each person, folds 2 and 3 hold 13.
FOLD80 = np.tile(np.arange(40) % 3 + 1, 2)


def table(soak: SOAK, **kw: object) -> pd.DataFrame:
    return soak.split_table(X80, subset=PERSON, **kw)


def test_seed_example_theoretical_sizes_and_count() -> None:
    t = table(SOAK(folds=3, random_state=0), stratum=PERSON)
    assert len(t) == 18
    assert list(t.columns) == [*META_COLUMNS, "n_train", "n_test"]
    sizes = t.groupby("train.subsets")["groups"].unique().to_dict()
    assert {k: list(v) for k, v in sizes.items()} == {"all": [52], "other": [26], "same": [26]}
    assert (t["n.train.groups"] == t["groups"]).all()
    assert list(t["iteration"]) == list(range(1, 19))
    # stratified by person: each person's folds hold 13 or 14 rows
    assert sorted(t["n_test"].unique()) == [13, 14]


def test_seed_example_with_fold_column_matches_hand_computation() -> None:
    t = table(SOAK(folds=3), fold=FOLD80)
    expected = []
    n_test = {1: 14, 2: 13, 3: 13}
    n_train = {
        "all": {1: 52, 2: 54, 3: 54},
        "other": {1: 26, 2: 27, 3: 27},
        "same": {1: 26, 2: 27, 3: 27},
    }
    groups = {"all": 52, "other": 26, "same": 26}
    for ts in ["all", "other", "same"]:
        for f in [1, 2, 3]:
            for s in ["Alice", "Bob"]:
                expected.append(
                    (s, ts, groups[ts], f, 1, groups[ts], len(expected) + 1,
                     n_train[ts][f], n_test[f])
                )
    got = list(t.itertuples(index=False, name=None))
    assert got == expected


def test_seed_example_exact_index_sets() -> None:
    soak = SOAK(folds=3)
    rows = np.arange(80)
    alice = PERSON == "Alice"
    for train, test, meta in soak.iter_splits(X80, subset=PERSON, fold=FOLD80):
        in_test_subset = PERSON == meta["test.subset"]
        in_fold = FOLD80 == meta["test.fold"]
        want_train = {"same": in_test_subset, "other": ~in_test_subset,
                      "all": np.ones(80, bool)}[meta["train.subsets"]] & ~in_fold
        np.testing.assert_array_equal(test, rows[in_test_subset & in_fold])
        np.testing.assert_array_equal(train, rows[want_train])
    assert alice.sum() == 40


def test_downsampling_sizes_2_counts_by_hand() -> None:
    # min full size 26, ratio 0.5 -> extra sizes 13 and 6; one stratum, so the
    # k-th of L shuffled groups has value max*k/L and size n keeps floor(n*L/max).
    t = table(SOAK(folds=3, sizes=2, random_state=1), fold=FOLD80)
    assert len(t) == 6 * 4 + 6 * 3 + 6 * 3
    for ts, f, n_groups, want in [
        ("all", 1, 6, 6), ("all", 1, 13, 13), ("all", 1, 26, 26), ("all", 1, 52, 52),
        ("all", 2, 6, 6), ("all", 2, 13, 13), ("all", 2, 26, 27), ("all", 2, 52, 54),
        ("same", 1, 6, 6), ("same", 3, 13, 13), ("same", 3, 26, 27),
        ("other", 2, 6, 6), ("other", 2, 26, 27),
    ]:
        sel = t[(t["train.subsets"] == ts) & (t["test.fold"] == f)
                & (t["n.train.groups"] == n_groups)]
        assert list(sel["n_train"]) == [want, want], (ts, f, n_groups)
    # within one (train.subsets, fold, subset, seed): ascending sizes
    first = t[(t["train.subsets"] == "all") & (t["test.fold"] == 1)
              & (t["test.subset"] == "Alice")]
    assert list(first["n.train.groups"]) == [6, 13, 26, 52]


def test_downsampling_keeps_strata_proportions() -> None:
    # stratum = person: each person has L = 26 train groups in fold 1 of "all",
    # so size n keeps floor(n * 26 / 52) of each.
    t = table(SOAK(folds=3, sizes=2, random_state=3), fold=FOLD80, stratum=PERSON)
    sel = t[(t["train.subsets"] == "all") & (t["test.fold"] == 1) & (t["test.subset"] == "Bob")]
    assert list(sel["n_train"]) == [6, 12, 26, 52]


def test_sizes_0_full_first_then_smallest() -> None:
    t = table(SOAK(folds=3, sizes=0, random_state=0), fold=FOLD80)
    assert len(t) == 6 * 2 + 6 + 6
    a = t[(t["train.subsets"] == "all") & (t["test.fold"] == 2) & (t["test.subset"] == "Alice")]
    assert list(a["n.train.groups"]) == [52, 26]


def test_unequal_subsets_theoretical_sizes() -> None:
    sub = np.repeat(["A", "B"], [30, 60])
    t = SOAK(folds=3, random_state=0).split_table(np.zeros(90), subset=sub)
    g = t.groupby(["test.subset", "train.subsets"])["groups"].unique()
    assert {k: list(v) for k, v in g.items()} == {
        ("A", "all"): [60], ("A", "other"): [40], ("A", "same"): [20],
        ("B", "all"): [60], ("B", "other"): [20], ("B", "same"): [40],
    }


def test_groups_count_distinct_groups_and_are_never_split() -> None:
    groups = np.arange(80) // 4  # 20 groups of 4 rows, 10 per person
    t = SOAK(folds=3, random_state=0).split_table(X80, groups=groups, subset=PERSON)
    assert set(t.loc[t["train.subsets"] == "same", "groups"]) == {6}  # floor(10*2/3)
    assert set(t.loc[t["train.subsets"] == "all", "groups"]) == {12}
    for train, test in SOAK(folds=3, random_state=0).split(X80, groups=groups, subset=PERSON):
        assert not set(groups[train]) & set(groups[test])


def test_subset_order_categorical_then_sorted() -> None:
    cat = pd.Categorical(PERSON, categories=["Bob", "Alice"])
    t = SOAK(random_state=0).split_table(X80, subset=cat)
    assert list(t["test.subset"][:2]) == ["Bob", "Alice"]
    t2 = SOAK(random_state=0).split_table(X80, subset=PERSON[::-1].copy())
    assert list(t2["test.subset"][:2]) == ["Alice", "Bob"]


def test_subsets_letters_and_single_subset() -> None:
    t = table(SOAK(subsets="SO", random_state=0))
    assert list(t["train.subsets"].unique()) == ["other", "same"]
    one = SOAK(random_state=0).split_table(X80)
    assert set(one["train.subsets"]) == {"same"} and set(one["test.subset"]) == {"full"}
    assert len(one) == 3
    ign = table(SOAK(ignore_subset=True, random_state=0))
    assert list(ign["test.subset"]) == ["full"] * 3


def test_seeds_repeat_iterations() -> None:
    t = table(SOAK(seeds=2, sizes=1, random_state=0), fold=FOLD80)
    assert set(t["seed"]) == {1, 2}
    assert len(t) == 2 * (6 * 3 + 6 * 2 + 6 * 2)  # all: 13, 26, 52; same, other: 13, 26


def test_random_state_reproducible() -> None:
    a = [(tr.tolist(), te.tolist()) for tr, te in SOAK(sizes=1, random_state=7).split(X80, subset=PERSON)]
    b = [(tr.tolist(), te.tolist()) for tr, te in SOAK(sizes=1, random_state=7).split(X80, subset=PERSON)]
    c = [(tr.tolist(), te.tolist()) for tr, te in SOAK(sizes=1, random_state=8).split(X80, subset=PERSON)]
    assert a == b and a != c


def test_dataframe_column_names() -> None:
    df = pd.DataFrame({"person": PERSON, "f": FOLD80, "x": 0.0})
    by_name = SOAK().split_table(df, subset="person", fold="f", stratum=["person"])
    by_value = SOAK().split_table(df, subset=PERSON, fold=FOLD80)
    pd.testing.assert_frame_equal(by_name, by_value)


def test_empty_train_is_dropped_with_warning() -> None:
    sub = np.array(["a"] + ["b"] * 9)
    soak = SOAK(folds=3, subsets="S", random_state=0)
    with pytest.warns(UserWarning, match=r"dropped 1 iteration\(s\) whose train set is empty"):
        t = soak.split_table(np.zeros(10), subset=sub)
    assert "a" not in set(t["test.subset"])  # its one row is always in the test fold
    assert list(t["iteration"]) == list(range(1, len(t) + 1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert soak.get_n_splits(np.zeros(10), subset=sub) == len(t)


def test_get_n_splits_matches_split() -> None:
    soak = SOAK(sizes=2, seeds=2, random_state=0)
    assert soak.get_n_splits(X80, subset=PERSON) == len(list(soak.split(X80, subset=PERSON)))
    with pytest.raises(InputError, match="X must be given to SOAK.get_n_splits"):
        soak.get_n_splits()


def test_repr() -> None:
    assert repr(SOAK(folds=5, sizes=2)) == (
        "SOAK(folds=5, seeds=1, ratio=0.5, sizes=2, subsets='SOA', "
        "ignore_subset=False, random_state=None)"
    )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"folds": 1}, r"folds must be an integer >= 2, got 1"),
        ({"folds": 2.5}, r"folds must be an integer >= 2, got 2.5"),
        ({"seeds": 0}, r"seeds must be an integer >= 1, got 0"),
        ({"ratio": 1.0}, r"ratio must be a number strictly between 0 and 1, got 1.0"),
        ({"ratio": "half"}, r"ratio must be .*, got 'half'"),
        ({"sizes": -2}, r"sizes must be an integer >= -1 .*, got -2"),
        ({"subsets": "SX"}, r"subsets must be .*, got 'SX'"),
        ({"subsets": "SS"}, r"subsets must be .*, got 'SS'"),
        ({"ignore_subset": "yes"}, r"ignore_subset must be True or False, got 'yes'"),
        ({"random_state": "seed"}, r"random_state must be .*, got 'seed'"),
    ],
)
def test_bad_parameters(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(InputError, match=match):
        SOAK(**kwargs)  # type: ignore[arg-type]


def test_bad_data() -> None:
    soak = SOAK()
    with pytest.raises(InputError, match=r"subset must have one value per row of X \(80\)"):
        list(soak.split(X80, subset=PERSON[:79]))
    with pytest.raises(InputError, match="subset must have no missing values"):
        list(soak.split(X80, subset=np.r_[PERSON[:79], None]))
    with pytest.raises(InputError, match="fold must be constant within each group"):
        list(soak.split(X80, groups=np.arange(80) // 2, fold=np.arange(80) % 3))
    with pytest.raises(InputError, match="fold must have at least 2 distinct values, got 1"):
        list(soak.split(X80, fold=np.ones(80)))
    with pytest.raises(InputError, match="subset must be an array-like or a column name"):
        list(soak.split(X80, subset="person"))


def test_cross_validate_with_groups_and_metadata_routing() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    y = X[:, 0]
    p = np.repeat(["a", "b"], 30)
    res = cross_validate(LinearRegression(), X, y, cv=SOAK(random_state=0),
                         groups=np.arange(60) // 2)
    assert len(res["test_score"]) == 3  # no subset: one "same" iteration per fold
    with sklearn.config_context(enable_metadata_routing=True):
        cv = SOAK(random_state=0).set_split_request(subset=True)
        res = cross_validate(LinearRegression(), X, y, cv=cv, params={"subset": p})
    assert len(res["test_score"]) == 18
