"""SOAK properties over random data with subsets, groups and strata (hypothesis)."""

from __future__ import annotations

import warnings
from collections import defaultdict

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from benchgrid import SOAK

SETTINGS = settings(max_examples=60, deadline=None)


@st.composite
def datasets(draw: st.DrawFn) -> dict:
    """Rows in groups; each group has one stratum, rows of a group may span subsets."""
    n_groups = draw(st.integers(2, 25))
    group_size = draw(st.lists(st.integers(1, 4), min_size=n_groups, max_size=n_groups))
    group = np.repeat(np.arange(n_groups), group_size)
    n = len(group)
    n_subsets = draw(st.integers(1, 3))
    subset = np.array(draw(st.lists(st.sampled_from("abc"[:n_subsets]), min_size=n, max_size=n)))
    n_strata = draw(st.integers(1, 3))
    group_stratum = np.array(draw(st.lists(st.integers(0, n_strata - 1),
                                           min_size=n_groups, max_size=n_groups)))
    perm = np.array(draw(st.permutations(range(n))))  # rows in any order
    return {
        "X": np.zeros((n, 1)),
        "groups": group[perm],
        "subset": subset[perm],
        "stratum": group_stratum[group][perm],
        "soak": SOAK(
            folds=draw(st.integers(2, 4)),
            seeds=draw(st.integers(1, 2)),
            sizes=draw(st.integers(-1, 2)),
            ratio=draw(st.sampled_from([0.3, 0.5, 0.8])),
            random_state=draw(st.integers(0, 2**16)),
        ),
    }


def run(d: dict) -> list:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # empty train sets may be dropped
        return list(d["soak"].iter_splits(d["X"], groups=d["groups"], subset=d["subset"],
                                          stratum=d["stratum"]))


@SETTINGS
@given(datasets())
def test_disjoint_groups_kept_subsets_respected(d: dict) -> None:
    groups, subset = d["groups"], d["subset"]
    splits = run(d)
    assert [m["iteration"] for _, _, m in splits] == list(range(1, len(splits) + 1))
    for train, test, meta in splits:
        assert len(train) > 0 and len(test) > 0
        assert not set(train) & set(test)
        # groups never split: a test group's rows of this subset are all in test
        s = meta["test.subset"]
        assert set(np.flatnonzero(np.isin(groups, groups[test]) & (subset == s))) == set(test)
        assert not set(groups[train]) & set(groups[test])
        assert set(subset[test]) == {s}
        if meta["train.subsets"] == "same":
            assert set(subset[train]) == {s}
        elif meta["train.subsets"] == "other":
            assert s not in set(subset[train])
        assert meta["n.train.groups"] <= meta["groups"]


@SETTINGS
@given(datasets())
def test_each_row_tested_once_and_all_is_same_union_other(d: dict) -> None:
    n = len(d["groups"])
    full: dict[tuple, np.ndarray] = {}
    tested: dict[str, list[int]] = defaultdict(list)
    for train, test, m in run(d):
        if m["n.train.groups"] == m["groups"] and m["seed"] == 1:
            full[(m["train.subsets"], m["test.fold"], m["test.subset"])] = train
            tested[m["train.subsets"]].extend(test.tolist())
    for ts, rows in tested.items():
        assert len(rows) == len(set(rows))  # at most once ...
    if "all" in tested:
        assert sorted(tested["all"]) == list(range(n))  # ... and "all" never drops
    for (ts, f, s), train in full.items():
        if ts == "all" and ("same", f, s) in full and ("other", f, s) in full:
            union = np.union1d(full[("same", f, s)], full[("other", f, s)])
            np.testing.assert_array_equal(np.sort(train), union)


@SETTINGS
@given(datasets())
def test_smaller_sizes_nest_in_larger(d: dict) -> None:
    by_key: dict[tuple, list] = defaultdict(list)
    for train, _, m in run(d):
        key = (m["train.subsets"], m["test.fold"], m["test.subset"], m["seed"])
        by_key[key].append((m["n.train.groups"], set(train.tolist())))
    for sets in by_key.values():
        sets.sort(key=lambda x: x[0])
        for (_, small), (_, large) in zip(sets, sets[1:]):
            assert small <= large


@SETTINGS
@given(datasets(), st.booleans())
def test_fold_sizes_balanced_within_each_stratum(d: dict, singleton: bool) -> None:
    """Each fold holds 1/K of every stratum, within one row when groups are single
    rows, within the largest group size otherwise (what whole groups allow)."""
    soak = SOAK(folds=d["soak"].folds, ignore_subset=True,
                random_state=d["soak"].random_state)
    groups = None if singleton else d["groups"]
    stratum = d["stratum"]
    fold_of_row = np.zeros(len(stratum), dtype=int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # a tiny fold may leave train empty
        splits = list(soak.iter_splits(d["X"], groups=groups, stratum=stratum))
    for _, test, m in splits:
        fold_of_row[test] = m["test.fold"]
    slack = 1 if singleton else np.bincount(d["groups"]).max()
    for s in np.unique(stratum):
        in_s = stratum == s
        counts = np.bincount(fold_of_row[in_s], minlength=soak.folds + 1)[1:]
        assert np.all(np.abs(counts - in_s.sum() / soak.folds) < slack + 1e-9)


# -- the codes SOAK computes, against the pandas operations they replaced (issue 15) ------
@st.composite
def label_columns(draw: st.DrawFn) -> tuple[int, list]:
    n = draw(st.integers(1, 40))
    kinds = draw(st.lists(st.sampled_from(["str", "int", "bool", "float", "cat", "arrow"]), min_size=1, max_size=3))
    cols = []
    for kind in kinds:
        base = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
        if kind == "str":
            cols.append(np.array([f"s{v}" for v in base]))
        elif kind == "int":
            cols.append(np.array(base) - 2)
        elif kind == "bool":
            cols.append(np.array(base) > 1)
        elif kind == "float":
            cols.append(np.array(base) / 3)
        elif kind == "cat":
            import pandas as pd

            cols.append(pd.Categorical([f"c{v}" for v in base], categories=["c3", "c1", "c0", "c2", "c9"]))
        else:
            import pandas as pd

            cols.append(pd.array([f"a{v}" for v in base], dtype="string[pyarrow]"))
    return n, cols


@given(label_columns())
@SETTINGS
def test_stratum_codes_number_rows_as_groupby_ngroup(data: tuple[int, list]) -> None:
    import pandas as pd

    from benchgrid.ml._soak import _stratum_codes

    n, cols = data
    X = pd.DataFrame({f"c{i}": c for i, c in enumerate(cols)})
    names = list(X.columns)
    expected = pd.DataFrame({c: np.asarray(X[c]) for c in names}).groupby(names, sort=False).ngroup()
    assert _stratum_codes(names if len(names) > 1 else names[0], X, n).tolist() == expected.tolist()


@given(label_columns())
@SETTINGS
def test_sorted_codes_sort_levels_as_before(data: tuple[int, list]) -> None:
    import pandas as pd

    from benchgrid.ml._soak import _sorted_codes

    _, cols = data
    ser = pd.Series(cols[0])
    if isinstance(ser.dtype, pd.CategoricalDtype):
        levels = [c for c in ser.cat.categories if (ser == c).any()]
    else:
        levels = sorted(pd.unique(ser))
    got_levels, got_code = _sorted_codes(cols[0])
    assert [str(v) for v in got_levels] == [str(v) for v in levels]
    assert got_code.tolist() == [levels.index(v) for v in ser]


def test_sorted_codes_of_mixed_types_keep_first_appearance() -> None:
    from benchgrid.ml._soak import _sorted_codes

    levels, code = _sorted_codes(np.array(["b", 1, "a", 1], dtype=object))
    assert levels == ["b", 1, "a"] and code.tolist() == [0, 1, 2, 1]
