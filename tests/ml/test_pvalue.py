"""pvalue(): against scipy.stats directly, a closed-form case, NaN cases, errors."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from benchgrid import InputError, pvalue
from benchgrid.ml._pvalue import find_measure


def scores_table(values: dict[str, list[float]], *, algorithm: str = "tree",
                 subset: str = "A", extra: dict | None = None) -> pd.DataFrame:
    """One row per (train.subsets, fold), full size, like proj.results()."""
    rows = []
    for ts, vals in values.items():
        for fold, v in enumerate(vals, start=1):
            rows.append({
                "task_id": "t", "learner_id": algorithm, "algorithm": algorithm,
                "test.subset": subset, "train.subsets": ts,
                "groups": 26 if ts != "all" else 52, "test.fold": fold, "seed": 1,
                "n.train.groups": 26 if ts != "all" else 52, "iteration": len(rows) + 1,
                "fit_s": 0.01 * fold, "n_train": 27, "rmse": v, "mae": v / 2,
                **(extra or {}),
            })
    return pd.DataFrame(rows)


def test_closed_form_paired_t_with_2_df() -> None:
    # differences 1, 2, 2: mean 5/3, sd 1/sqrt(3), t = 5 on 2 df, and for 2 df
    # P(|T| > t) = 1 - t / sqrt(2 + t^2).
    pv = pvalue(scores_table({"same": [1, 2, 3], "other": [2, 4, 5]}))
    row = pv.comparisons.set_index("comparison").loc["other-same"]
    assert row["mean_diff"] == pytest.approx(5 / 3)
    assert row["p_paired"] == pytest.approx(1 - 5 / math.sqrt(27))
    assert row["same_mean"] == pytest.approx(2.0)
    assert row["compare_mean"] == pytest.approx(11 / 3)
    assert row["N"] == 3
    assert pv.measure == "rmse"


def test_matches_scipy_on_random_scores() -> None:
    rng = np.random.default_rng(1)
    same, other, all_ = rng.normal(size=(3, 10))
    pv = pvalue(scores_table({"same": list(same), "other": list(other), "all": list(all_)}),
                measure="mae")
    got = pv.comparisons.set_index("comparison")
    for name, comp in [("other-same", other), ("all-same", all_)]:
        c, s = comp / 2, same / 2  # measure mae = rmse / 2
        assert got.loc[name, "p_paired"] == pytest.approx(stats.ttest_rel(c, s).pvalue)
        assert got.loc[name, "p_unpaired"] == pytest.approx(
            stats.ttest_ind(c, s, equal_var=False).pvalue)
        assert got.loc[name, "mean_diff"] == pytest.approx(np.mean(c - s))
    st = pv.stats.set_index("train.subsets")
    assert st.loc["same", "mean"] == pytest.approx(np.mean(same / 2))
    assert st.loc["same", "sd"] == pytest.approx(np.std(same / 2, ddof=1))
    assert st.loc["other", "n"] == 10
    assert list(pv.stats.columns) == ["task_id", "test.subset", "algorithm",
                                      "train.subsets", "mean", "sd", "n"]


def test_nan_for_one_pair_and_constant_differences() -> None:
    one = pvalue(scores_table({"same": [1.0], "other": [2.0]}))
    assert math.isnan(one.comparisons["p_paired"][0])
    assert math.isnan(one.comparisons["p_unpaired"][0])
    assert math.isnan(one.stats["sd"][0])
    const = pvalue(scores_table({"same": [1.0, 2.0, 3.0], "other": [2.0, 3.0, 4.0]}))
    row = const.comparisons.iloc[0]
    assert math.isnan(row["p_paired"]) and row["mean_diff"] == pytest.approx(1.0)
    assert 0 < row["p_unpaired"] < 1  # the groups vary, so Welch is defined
    flat = pvalue(scores_table({"same": [1.0, 1.0], "other": [1.0, 1.0]}))
    assert flat.comparisons[["p_paired", "p_unpaired"]].isna().all().all()


def test_uses_full_size_rows_only_and_pairs_by_fold_and_seed() -> None:
    full = scores_table({"same": [1, 2, 3], "other": [2, 4, 5]})
    small = full.assign(**{"n.train.groups": 6, "rmse": full["rmse"] + 100})
    seed2 = full.assign(seed=2, rmse=full["rmse"] * 2)
    pv = pvalue(pd.concat([full, small, seed2]))
    row = pv.comparisons.iloc[0]
    assert row["N"] == 6
    c = np.r_[[2, 4, 5], [4, 8, 10]]
    s = np.r_[[1, 2, 3], [2, 4, 6]]
    assert row["p_paired"] == pytest.approx(stats.ttest_rel(c, s).pvalue)
    down = pvalue(pd.concat([full, small]), n_train_groups=6)
    assert down.comparisons.iloc[0]["same_mean"] == pytest.approx(102.0)
    assert down.n_train_groups == 6


def test_groups_by_task_subset_algorithm() -> None:
    a = scores_table({"same": [1, 2, 3], "other": [2, 4, 5]}, algorithm="tree", subset="A")
    b = scores_table({"same": [1, 2, 3], "all": [1, 1, 1]}, algorithm="lm", subset="B")
    pv = pvalue(pd.concat([a, b]))
    got = pv.comparisons[["test.subset", "algorithm", "comparison", "N"]]
    assert got.values.tolist() == [["A", "tree", "other-same", 3], ["B", "lm", "all-same", 3]]


def test_find_measure_skips_metadata_and_timing() -> None:
    df = scores_table({"same": [1.0], "other": [2.0]},
                      extra={"started_at": 1.0, "peak_mem_mb": 5.0, "duration_s": 1.0})
    assert find_measure(df) == "rmse"
    assert find_measure(df.drop(columns="rmse")) == "mae"
    with pytest.raises(InputError, match="scores must have a numeric measure column"):
        find_measure(df.drop(columns=["rmse", "mae"]))


def test_errors() -> None:
    df = scores_table({"same": [1, 2], "other": [2, 4]})
    with pytest.raises(InputError, match=r"measure must be a column of scores, got 'auc'"):
        pvalue(df, "auc")
    with pytest.raises(InputError, match=r"scores must be a pandas DataFrame"):
        pvalue(df.to_dict())  # type: ignore[arg-type]
    with pytest.raises(InputError, match=r"got no \['test.fold'\]"):
        pvalue(df.drop(columns="test.fold"))
    with pytest.raises(InputError, match=r"must contain 'same' and at least one of .*got \['same'\]"):
        pvalue(df[df["train.subsets"] == "same"])
