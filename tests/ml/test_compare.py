"""compare(): equal to scipy, scikit-posthocs, autorank, baycomp and the formulas, on the same score tables.

Also partial results (pending, failed, dropped jobs), the tables a paper
needs (LaTeX parsed, and compiled where pdflatex is installed), bad input,
and a real project run end to end.
"""

from __future__ import annotations

import itertools
import math
import os
import re
import shutil
import subprocess
import warnings

import numpy as np
import autorank
import baycomp
import pandas as pd
import pytest
import scikit_posthocs
from scipy import stats
from statsmodels.stats import multitest

import benchgrid as bg
from benchgrid import InputError
from benchgrid.ml._corrected import corrected_ttest, holm


def score_rows(means: np.ndarray, *, n_folds: int = 5, measure: str = "accuracy", sd: float = 0.02,
               seed: int = 0, learners: list[str] | None = None) -> pd.DataFrame:
    """One row per (task, learner, fold): fold scores around ``means[task, learner]``, centred exactly."""
    rng = np.random.default_rng(seed)
    n_tasks, k = means.shape
    learners = learners or [f"learner_{j}" for j in range(k)]
    rows = []
    for i, j in itertools.product(range(n_tasks), range(k)):
        noise = rng.normal(0, sd, n_folds)
        noise -= noise.mean()  # the cell's mean is means[i, j] (up to rounding)
        for f in range(n_folds):
            rows.append({"task_id": f"task_{i}", "learner_id": learners[j], "iteration": f + 1,
                         "state": "done", "n_train": 80, "n_test": 20, measure: means[i, j] + noise[f]})
    return pd.DataFrame(rows)


def cell_means(c: bg.ml.Comparison, learners: list[str]) -> np.ndarray:
    return c.means.loc[list(c.tasks), learners].to_numpy(float)


@pytest.fixture
def table() -> tuple[pd.DataFrame, np.ndarray]:
    """12 tasks × 5 learners: a task level, learner effects 0 to 0.07 and noise, so that some pairs differ
    significantly and others do not (Friedman p ~ 4e-6; Nemenyi p from 1e-4 to 0.99; Holm p from 0.005 to 0.76)."""
    rng = np.random.default_rng(1)
    means = (rng.uniform(0.6, 0.9, size=(12, 1)) + np.array([0.0, 0.01, 0.03, 0.06, 0.07])
             + rng.normal(0, 0.03, size=(12, 5)))
    return score_rows(means), means


# -- across tasks: against the reference implementations --------------------------------
def test_friedman_and_iman_davenport_equal_scipy(table) -> None:
    scores, means = table
    c = bg.compare(scores, "accuracy")
    learners = [f"learner_{j}" for j in range(5)]
    m = cell_means(c, learners)
    np.testing.assert_allclose(m, means, rtol=1e-12)
    ref = stats.friedmanchisquare(*m.T)
    assert c.friedman.statistic == pytest.approx(ref.statistic, rel=1e-12)
    assert c.friedman.pvalue == pytest.approx(ref.pvalue, rel=1e-12)
    n, k = m.shape
    f = (n - 1) * ref.statistic / (n * (k - 1) - ref.statistic)  # Demšar (2006), eq. after (2)
    assert c.friedman.iman_davenport == pytest.approx(f, rel=1e-12)
    assert c.friedman.iman_davenport_pvalue == pytest.approx(stats.f.sf(f, k - 1, (k - 1) * (n - 1)), rel=1e-12)
    assert (c.friedman.n_tasks, c.friedman.n_learners) == (12, 5)
    # a real difference; Iman and Davenport's F is the less conservative of the two (Demšar 2006)
    assert c.friedman.pvalue < 1e-4 and 0 < c.friedman.iman_davenport_pvalue < c.friedman.pvalue


def test_nemenyi_equals_scikit_posthocs(table) -> None:
    scores, _ = table
    c = bg.compare(scores, "accuracy")
    learners = c.learners
    ref = scikit_posthocs.posthoc_nemenyi_friedman(cell_means(c, learners))  # ascending ranks: |ΔR| is the same
    ours = c.nemenyi.pvalues.loc[learners, learners].to_numpy()
    np.testing.assert_allclose(ours, ref.to_numpy(), rtol=1e-9)
    off = ours[np.triu_indices(5, 1)]
    assert off.min() < 0.001 and off.max() > 0.9 and len(np.unique(off.round(6))) >= 4  # not a trivial table
    # the pairs that differ by the p-values are those whose mean ranks are more than the CD apart
    gap = np.abs(c.mean_ranks.to_numpy()[:, None] - c.mean_ranks.to_numpy()[None, :])[np.triu_indices(5, 1)]
    assert list(off < 0.05) == list(gap > c.nemenyi.cd) and 0 < (off < 0.05).sum() < 10


@pytest.mark.parametrize("greater", [True, False])
def test_ranks_and_critical_difference_equal_autorank(table, greater: bool) -> None:
    scores, _ = table
    c = bg.compare(scores, "accuracy", greater_is_better=greater)
    learners = sorted(c.learners)
    data = pd.DataFrame(cell_means(c, learners), columns=learners)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = autorank.autorank(data, alpha=0.05, verbose=False, force_mode="nonparametric",
                                order="descending" if greater else "ascending")
    assert sorted(ref.rankdf.index) == learners and len(set(c.mean_ranks.round(6))) == 5
    for lrn in learners:
        assert c.mean_ranks[lrn] == pytest.approx(ref.rankdf.loc[lrn, "meanrank"], rel=1e-12)
    assert ref.rankdf["meanrank"].idxmin() == c.learners[0]  # the same best learner
    # autorank's q comes from statsmodels' qsturng (an interpolated table), ours from scipy's studentized range
    assert c.nemenyi.cd == pytest.approx(ref.cd, rel=1e-4)
    assert c.friedman.pvalue == pytest.approx(ref.pvalue, rel=1e-12)


def test_critical_difference_formula_and_table_value() -> None:
    c = bg.compare(score_rows(np.random.default_rng(1).uniform(size=(14, 4))), "accuracy")
    # Demšar (2006), Table 5(a): q_0.05 = 2.569 for k = 4; CD = q sqrt(k (k + 1) / (6 N))
    assert c.nemenyi.q_alpha == pytest.approx(2.569, abs=5e-4)
    assert c.nemenyi.cd == pytest.approx(c.nemenyi.q_alpha * math.sqrt(4 * 5 / (6 * 14)), rel=1e-12)


def test_wilcoxon_holm_equals_scipy_and_statsmodels(table) -> None:
    scores, _ = table
    c = bg.compare(scores, "accuracy")
    m = c.means.loc[list(c.tasks)]
    ref_p = [stats.wilcoxon(m[a], m[b]).pvalue for a, b in c.wilcoxon_holm[["learner_a", "learner_b"]].itertuples(index=False)]
    np.testing.assert_allclose(c.wilcoxon_holm["p"], ref_p, rtol=1e-12)
    np.testing.assert_allclose(c.wilcoxon_holm["p_holm"], multitest.multipletests(ref_p, method="holm")[1], rtol=1e-12)
    assert list(c.wilcoxon_holm["significant"]) == list(c.wilcoxon_holm["p_holm"] < 0.05)
    assert len(c.wilcoxon_holm) == 10
    holm_p = c.wilcoxon_holm["p_holm"]
    assert 0 < c.wilcoxon_holm["significant"].sum() < 10 and holm_p.max() < 1  # some pairs differ, some not
    assert (holm_p > c.wilcoxon_holm["p"]).all()  # the correction did something


def test_holm_by_hand() -> None:
    # sorted 0.01, 0.03, 0.04 times 3, 2, 1 = 0.03, 0.06, 0.04 -> made monotone: 0.03, 0.06, 0.06
    np.testing.assert_allclose(holm([0.04, 0.01, 0.03]), [0.06, 0.03, 0.06])
    assert np.isnan(holm([np.nan, 0.5])[0]) and holm([np.nan, 0.5])[1] == 0.5  # NaN does not count
    assert holm([0.6, 0.7]).tolist() == [1.0, 1.0]


def test_ranks_are_direction_aware_and_ties_averaged() -> None:
    means = np.array([[0.9, 0.8, 0.8], [0.7, 0.9, 0.6], [0.5, 0.5, 0.5]])
    acc = bg.compare(score_rows(means, sd=0.0), "accuracy")  # higher is better: a named measure
    assert acc.greater_is_better
    assert acc.ranks.loc["task_0", ["learner_0", "learner_1", "learner_2"]].tolist() == [1.0, 2.5, 2.5]
    assert acc.ranks.loc["task_2"].tolist() == [2.0, 2.0, 2.0]
    err = bg.compare(score_rows(means, sd=0.0, measure="rmse"), "rmse")  # lower is better
    assert not err.greater_is_better
    assert err.ranks.loc["task_0", ["learner_0", "learner_1", "learner_2"]].tolist() == [3.0, 1.5, 1.5]
    assert acc.learners == ["learner_0", "learner_1", "learner_2"]  # mean ranks 5/3, 5.5/3, 7.5/3
    assert err.learners == ["learner_2", "learner_1", "learner_0"]  # 4.5/3, 6.5/3, 7/3
    # a project's own record of a callable measure's direction wins over guessing
    s = score_rows(means, sd=0.0, measure="f1w")
    s.attrs["greater_is_better"] = {"f1w": True}
    assert bg.compare(s, "f1w").learners == acc.learners


# -- within a task: the corrected resampled t-test and baycomp ----------------------------
def test_corrected_ttest_is_nadeau_bengio() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.normal(0.8, 0.03, 10), rng.normal(0.78, 0.03, 10)
    d, k = a - b, 10
    t_ref = d.mean() / math.sqrt((1 / k + 1 / (k - 1)) * d.var(ddof=1))  # n2/n1 = 1/(K-1) for K-fold
    t, p = corrected_ttest(a, b)
    assert t == pytest.approx(t_ref, rel=1e-12)
    assert p == pytest.approx(2 * stats.t.sf(abs(t_ref), k - 1), rel=1e-12)
    # with a ratio of 0 it is the plain paired t-test
    plain = stats.ttest_rel(a, b)
    assert corrected_ttest(a, b, 0.0) == pytest.approx((plain.statistic, plain.pvalue), rel=1e-12)
    assert p > plain.pvalue  # the correction is more conservative
    # baycomp's correlated t-test applies the same correction
    mean, var, df = baycomp.CorrelatedTTest.compute_statistics(b, a)
    assert mean / math.sqrt(var) == pytest.approx(t, rel=1e-12) and df == k - 1


def test_corrected_ttest_edge_cases() -> None:
    assert all(math.isnan(v) for v in corrected_ttest([1.0, 2.0], [1.0, 2.0]))  # no difference at all
    assert corrected_ttest([2.0, 3.0], [1.0, 2.0]) == (math.inf, 0.0)  # the same difference on every fold
    assert all(math.isnan(v) for v in corrected_ttest([1.0], [2.0]))
    with pytest.raises(InputError, match=r"a and b must be two 1-d arrays of one length .*got shapes \(2,\) and \(3,\)"):
        corrected_ttest([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(InputError, match=r"test_train_ratio must be a finite number >= 0 .*got -1"):
        corrected_ttest([1.0, 2.0], [2.0, 2.0], -1)


def test_per_task_tests_use_the_measured_test_train_ratio(table) -> None:
    scores, _ = table
    c = bg.compare(scores, "accuracy")
    row = c.per_task.iloc[0]
    s = scores[scores["task_id"] == row["task"]]
    a = s[s["learner_id"] == row["learner_a"]].sort_values("iteration")["accuracy"].to_numpy()
    b = s[s["learner_id"] == row["learner_b"]].sort_values("iteration")["accuracy"].to_numpy()
    assert row["test_train_ratio"] == pytest.approx(20 / 80)
    assert row["p_corrected"] == pytest.approx(corrected_ttest(a, b, 0.25)[1], rel=1e-12)
    assert row["p_plain"] == pytest.approx(stats.ttest_rel(a, b).pvalue, rel=1e-12)
    assert len(c.per_task) == 12 * 10
    # without n_train / n_test: K-fold's 1/(K-1)
    c2 = bg.compare(scores.drop(columns=["n_train", "n_test"]), "accuracy")
    assert c2.per_task["test_train_ratio"].unique().tolist() == [pytest.approx(1 / 4)]


def test_best_and_not_significantly_worse_follow_the_corrected_test(table) -> None:
    scores, _ = table
    c = bg.compare(scores, "accuracy")
    for task, part in c.table.groupby("task"):
        best = part.loc[part["best"], "learner"].tolist()
        assert best == part.loc[part["mean"] == part["mean"].max(), "learner"].tolist()
        for r in part[~part["best"]].itertuples():
            pair = c.per_task[(c.per_task["task"] == task) & c.per_task[["learner_a", "learner_b"]].isin(
                [r.learner, best[0]]).all(axis=1)]
            assert r.p_vs_best == pytest.approx(pair["p_corrected"].item())
            assert r.not_worse == (r.p_vs_best >= 0.05)


def test_not_significantly_worse_than_every_tied_best() -> None:
    a = np.array([0.90, 0.80, 0.90, 0.80, 0.85])
    rows = [{"task_id": t, "learner_id": lrn, "iteration": f + 1, "accuracy": v[f]}
            for t in ("t1", "t2") for lrn, v in (("a", a), ("b", a[::-1]), ("c", a[::-1] - [0.030, 0.031, 0.029, 0.030, 0.030]))
            for f in range(5)]
    c = bg.compare(pd.DataFrame(rows), "accuracy")
    cell = c.table.set_index(["task", "learner"]).loc["t1"]
    assert cell["best"].to_dict() == {"a": True, "b": True, "c": False}  # a and b tie for the best mean
    pair = c.per_task[c.per_task["task"] == "t1"].set_index(["learner_a", "learner_b"])["p_corrected"]
    p_ac, p_bc = pair[("a", "c")] if ("a", "c") in pair else pair[("c", "a")], pair[("b", "c")] if ("b", "c") in pair else pair[("c", "b")]
    assert p_bc < 0.001 < 0.05 < p_ac  # beaten by b, not by a (the first of the tied best)
    assert not cell.loc["c", "not_worse"] and cell.loc["c", "p_vs_best"] == pytest.approx(p_bc)


def test_bayesian_correlated_ttest_equals_baycomp(table) -> None:
    scores, _ = table
    rope = 0.02
    c = bg.compare(scores, "accuracy", rope=rope)
    assert len(c.per_task) == 12 * 10 and c.per_task[["p_a_better", "p_rope", "p_b_better"]].notna().all().all()
    for row in c.per_task.itertuples(index=False):
        s = scores[scores["task_id"] == row.task].sort_values("iteration")
        a = s.loc[s["learner_id"] == row.learner_a, "accuracy"].to_numpy()
        b = s.loc[s["learner_id"] == row.learner_b, "accuracy"].to_numpy()
        left, in_rope, right = baycomp.two_on_single(a, b, rope=rope)  # left: a larger than b by more than the rope
        assert (row.p_a_better, row.p_rope, row.p_b_better) == pytest.approx((left, in_rope, right), rel=1e-9, abs=1e-12)
    # not a trivial table: each outcome is likely for some pair
    for col in ("p_a_better", "p_rope", "p_b_better"):
        assert c.per_task[col].max() > 0.5, col
    # lower is better: the sides swap, for the same pair named in the same order
    low = bg.compare(scores, "accuracy", rope=rope, greater_is_better=False).per_task
    key = ["task", "learner_a", "learner_b"]
    swapped = low.rename(columns={"learner_a": "learner_b", "learner_b": "learner_a"})
    both = c.per_task.merge(pd.concat([low, swapped]), on=key, suffixes=("", "_low"))
    assert len(both) == 120
    for r in both.itertuples(index=False):
        named_alike = ((low["task"] == r.task) & (low["learner_a"] == r.learner_a) & (low["learner_b"] == r.learner_b)).any()
        if named_alike:  # a is a in both: a's 'better' is now baycomp's right side
            assert (r.p_a_better_low, r.p_b_better_low) == pytest.approx((r.p_b_better, r.p_a_better), rel=1e-9, abs=1e-12)
        else:  # the pair is named b, a there: a's 'better' there is b's here, which is now baycomp's left side
            assert (r.p_a_better_low, r.p_b_better_low) == pytest.approx((r.p_a_better, r.p_b_better), rel=1e-9, abs=1e-12)
        assert r.p_rope_low == pytest.approx(r.p_rope, rel=1e-9, abs=1e-12)


def test_rope_checks() -> None:
    s = score_rows(np.random.default_rng(0).uniform(size=(3, 3)))
    with pytest.raises(InputError, match=r"rope must be a number > 0 .*got -0.1"):
        bg.compare(s, "accuracy", rope=-0.1)


# -- partial results ----------------------------------------------------------------------
def partial_scores() -> pd.DataFrame:
    s = score_rows(np.random.default_rng(5).uniform(0.5, 0.9, size=(4, 3)), n_folds=4)
    s.loc[(s["task_id"] == "task_1") & (s["learner_id"] == "learner_2") & (s["iteration"] == 4), "state"] = "pending"
    s.loc[(s["task_id"] == "task_1") & (s["learner_id"] == "learner_2") & (s["iteration"] == 3), "state"] = "error"
    s.loc[(s["task_id"] == "task_3") & (s["learner_id"] == "learner_0") & (s["iteration"] == 1), "accuracy"] = np.nan
    return s


def test_incomplete_tasks_are_dropped_with_the_reason() -> None:
    c = bg.compare(partial_scores(), "accuracy")
    assert c.tasks == ("task_0", "task_2")
    assert c.not_ranked == {"task_1": "learner_2 has 2 of 4 folds (1 error, 1 pending)",
                            "task_3": "learner_0 has 3 of 4 folds (1 no value)"}
    assert "task 'task_1' is not ranked: learner_2 has 2 of 4 folds (1 error, 1 pending)" in c.notes
    cell = c.table.set_index(["task", "learner"])
    assert cell.loc[("task_1", "learner_2"), ["n_folds", "n_expected", "missing"]].tolist() == [2, 4, "1 error, 1 pending"]
    assert cell.loc[("task_3", "learner_0"), "missing"] == "1 no value"
    assert not cell.loc[("task_1", "learner_0"), "ranked"] and math.isnan(cell.loc[("task_1", "learner_0"), "rank"])
    assert c.friedman.n_tasks == 2 and c.nemenyi.n_tasks == 2
    assert "(2/4)" in c.to_markdown() and "(not ranked)" in c.to_markdown()
    assert "Not ranked (incomplete)" in c.to_latex()


def test_incomplete_common_ranks_on_shared_folds() -> None:
    s = partial_scores()
    c = bg.compare(s, "accuracy", incomplete="common")
    assert c.tasks == ("task_0", "task_1", "task_2", "task_3")
    assert set(c.folds[c.folds["task"] == "task_1"]["fold"]) == {"1", "2"}
    assert any("task 'task_1': ranked on the 2 of 4 folds every learner has" in n for n in c.notes)
    cell = c.table.set_index(["task", "learner"])
    done = s[(s["task_id"] == "task_1") & (s["learner_id"] == "learner_0") & (s["iteration"] <= 2)]
    assert cell.loc[("task_1", "learner_0"), "mean"] == pytest.approx(done["accuracy"].mean())
    assert cell.loc[("task_1", "learner_0"), "n_folds"] == 2
    ref = stats.friedmanchisquare(*cell_means(c, c.learners).T)
    assert c.friedman.statistic == pytest.approx(ref.statistic)


def test_incomplete_error_refuses() -> None:
    with pytest.raises(InputError, match=r"every learner must have every fold of every task with incomplete='error', "
                                         r"got task_1: learner_2 has 2 of 4 folds \(1 error, 1 pending\); task_3: .*pass incomplete='drop'"):
        bg.compare(partial_scores(), "accuracy", incomplete="error")


def test_a_learner_without_any_row_on_a_task_is_named() -> None:
    s = score_rows(np.random.default_rng(2).uniform(size=(3, 3)))
    s = s[~((s["task_id"] == "task_0") & (s["learner_id"] == "learner_1"))]
    c = bg.compare(s, "accuracy")
    assert c.not_ranked == {"task_0": "learner_1 has 0 of 5 folds (5 not in the scores)"}
    assert c.table.set_index(["task", "learner"]).loc[("task_0", "learner_1"), "missing"] == "5 not in the scores"


def test_too_few_tasks_or_learners_say_why_nothing_is_tested() -> None:
    one_task = bg.compare(score_rows(np.array([[0.8, 0.7, 0.6]])), "accuracy")
    assert one_task.friedman is None and one_task.nemenyi is None and one_task.wilcoxon_holm.empty
    assert any("nothing is tested across tasks: 1 ranked task; ranks across tasks need 2 or more" in n for n in one_task.notes)
    assert len(one_task.per_task) == 3  # within the task, the pairs are still tested
    one_learner = bg.compare(score_rows(np.array([[0.8], [0.7]])), "accuracy")
    assert any("nothing is tested: one learner (learner_0)" in n for n in one_learner.notes)
    two = bg.compare(score_rows(np.array([[0.8, 0.7], [0.7, 0.6], [0.9, 0.5]])), "accuracy")
    assert two.friedman is None and two.nemenyi is not None and len(two.wilcoxon_holm) == 1
    assert any("no Friedman test: it needs 3 or more learners, got 2" in n for n in two.notes)
    assert "nothing is tested" in repr(one_task)


# -- SOAK scores ---------------------------------------------------------------------------
def test_soak_scores_compare_the_all_rows_at_full_size() -> None:
    rows = []
    for task, lrn, sub, ts, fold in itertools.product(["a", "b"], ["tree", "mean"], ["A", "B"],
                                                       ["same", "other", "all"], [1, 2, 3]):
        rows.append({"task_id": task, "learner_id": lrn, "algorithm": lrn, "test.subset": sub, "train.subsets": ts,
                     "test.fold": fold, "groups": 2, "n.train.groups": 2, "iteration": len(rows) + 1,
                     "rmse": (1.0 if lrn == "tree" else 2.0) + fold / 10 + (ts == "other")})
    s = pd.DataFrame(rows)
    c = bg.compare(s.drop(columns="iteration"))  # pairs folds on test.subset and test.fold
    assert c.measure == "rmse" and c.learners == ["tree", "mean"]
    assert c.table["n_folds"].unique().tolist() == [6]  # 2 test subsets × 3 folds, train.subsets 'all'
    assert c.means.loc["a", "tree"] == pytest.approx(1.2)
    assert bg.compare(s.drop(columns="iteration"), train_subsets="other").means.loc["a", "tree"] == pytest.approx(2.2)
    with pytest.raises(InputError, match=r"train_subsets must be one of the scores' SOAK train subsets \['all', 'other', 'same'\], got 'both'"):
        bg.compare(s, train_subsets="both")


# -- paper tables --------------------------------------------------------------------------
def check_latex(tex: str) -> None:
    begins = re.findall(r"\\begin\{(\w+)\}", tex)
    ends = re.findall(r"\\end\{(\w+)\}", tex)
    assert begins == ["table", "tabular"] and ends == ["tabular", "table"]
    assert tex.count("{") == tex.count("}") - tex.count("\\}") + tex.count("\\{")
    assert tex.index(r"\toprule") < tex.index(r"\midrule") < tex.index(r"\bottomrule")


def test_latex_is_booktabs_with_bold_best_and_underlined_ties(table) -> None:
    scores, _ = table
    c = bg.compare(scores.assign(learner_id=scores["learner_id"].str.replace("learner_", "rf_&_")), "accuracy")
    tex = c.to_latex()
    check_latex(tex)
    assert r"rf\_\&\_0" in tex and "rf_&_0" not in tex  # escaped
    body = tex[tex.index(r"\midrule"):tex.index("Mean rank")]
    assert body.count(r"\textbf{") == int(c.table["best"].sum())
    assert body.count(r"\underline{") == int((c.table["not_worse"] & ~c.table["best"]).sum())
    header = re.search(r"\\begin\{tabular\}\{(lr*)\}", tex)
    assert header and len(header.group(1)) == 1 + 5
    for line in tex.splitlines():
        if line.endswith(r"\\") and "multicolumn" not in line:
            assert line.count(" & ") == 5, line  # every row has a cell per learner


@pytest.mark.parametrize("partial", [False, True], ids=["complete", "partial"])
def test_latex_compiles(table, tmp_path, partial: bool) -> None:
    """pdflatex with booktabs; skipped without it on a workstation, a failure under CI=true (.ci/run installs it)."""
    if shutil.which("pdflatex") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("pdflatex is required in CI (CI=true): apt-get install texlive-latex-base texlive-latex-recommended")
        pytest.skip("pdflatex is not installed (apt-get install texlive-latex-base texlive-latex-recommended); "
                    "the LaTeX is parsed above")
    scores, _ = table
    c = bg.compare(partial_scores() if partial else scores.assign(learner_id=scores["learner_id"] + "_&_%"), "accuracy")
    def compile_log(tex: str, name: str) -> str:
        check_latex(tex)
        doc = tmp_path / f"{name}.tex"
        doc.write_text("\\documentclass{article}\n\\usepackage{booktabs,graphicx}\n\\begin{document}\n"
                       + tex + "\\end{document}\n")
        r = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", doc.name], cwd=tmp_path,
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stdout[-3000:]
        assert (tmp_path / f"{name}.pdf").read_bytes().startswith(b"%PDF")
        return (tmp_path / f"{name}.log").read_text(errors="replace")

    tex = c.to_latex()
    assert ("Not ranked (incomplete)" in tex) == partial
    log = compile_log(tex, "fit")
    assert "Overfull" not in log and "Undefined control sequence" not in log, log[-2000:]
    # without fitting, 5 learners' columns are wider than an article's text; 3 short ones fit as they are
    assert ("Overfull \\hbox" in compile_log(c.to_latex(fit_width=False), "natural")) == (not partial)


def test_markdown_and_csv(table, tmp_path) -> None:
    scores, _ = table
    c = bg.compare(scores, "accuracy")
    md = c.to_markdown().splitlines()
    assert md[0] == "| task | " + " | ".join(c.learners) + " |"
    assert md[1] == "|---|" + "---:|" * 5
    assert len([line for line in md if line.startswith("| task_")]) == 12
    assert md[14].startswith("| mean rank | ")
    assert sum(line.count("**") // 2 for line in md[2:14]) == int(c.table["best"].sum())
    c.to_csv(tmp_path / "t.csv")
    back = pd.read_csv(tmp_path / "t.csv")
    assert list(back.columns) == list(c.table.columns) and len(back) == 60
    np.testing.assert_allclose(back["mean"], c.table["mean"])


def test_the_printed_table_marks_the_best_and_those_not_significantly_worse(table) -> None:
    scores, _ = table
    c = bg.compare(scores, "accuracy")
    text = str(c)
    close = c.table[c.table["not_worse"] & ~c.table["best"]]
    assert 0 < len(close) < len(c.table[~c.table["best"]])  # the table decides: some are close, some are not
    rows = [line for line in text.splitlines() if line.strip().startswith("task_")]
    assert len(rows) == 12
    assert sum(line.count(" *") for line in rows) == int(c.table["best"].sum())
    assert sum(line.count(" ~") for line in rows) == len(close)
    assert "~ not significantly worse than the best, corrected t-test at alpha = 0.05" in text


# -- bad input ------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, message", [
    ({"scores": [1, 2]}, r"scores must be a pandas DataFrame \(e.g. proj.scores\(\)\), got list"),
    ({"measure": "auc"}, r"measure must be one of the scores' measures \['accuracy'\], got 'auc'; pass one of them"),
    ({"measure": "learner_id"}, r"measure must name a numeric column, got 'learner_id'"),
    ({"alpha": 1.5}, r"alpha must be a number between 0 and 1 \(e.g. 0.05\), got 1.5"),
    ({"incomplete": "skip"}, r"incomplete must be one of \('drop', 'common', 'error'\), got 'skip'"),
    ({"greater_is_better": "yes"}, r"greater_is_better must be True, False or None, got 'yes'"),
])
def test_bad_input_is_named(kwargs, message) -> None:
    args = {"scores": score_rows(np.random.default_rng(0).uniform(size=(3, 3))), "measure": "accuracy", **kwargs}
    with pytest.raises(InputError, match=message):
        bg.compare(**args)


def test_bad_tables_are_named() -> None:
    s = score_rows(np.random.default_rng(0).uniform(size=(3, 3)), measure="my_score")
    with pytest.raises(InputError, match=r"greater_is_better must be given for measure 'my_score', got None.*"
                                         r"pass greater_is_better=True if larger is better"):
        bg.compare(s, "my_score")
    with pytest.raises(InputError, match=r"scores must have columns task_id and learner_id \(or algorithm\), got no \['task_id'\]"):
        bg.compare(s.drop(columns="task_id"), "my_score", greater_is_better=True)
    with pytest.raises(InputError, match=r"scores must have a fold column, iteration or test.fold"):
        bg.compare(s.drop(columns="iteration"), "my_score", greater_is_better=True)
    with pytest.raises(InputError, match=r"scores must have one row per \(task, learner, fold\), got 2 rows for 'task_0'"):
        bg.compare(pd.concat([s, s.iloc[:1]]), "my_score", greater_is_better=True)
    with pytest.raises(InputError, match=r"scores must have at least one row, got an empty table"):
        bg.compare(s.iloc[:0], "my_score", greater_is_better=True)
    pending = s.assign(state="pending", my_score=np.nan)
    pending.loc[pending.index[:3], "state"] = "error"
    with pytest.raises(InputError, match=r"scores must have at least one done job with a my_score value to compare, "
                                         r"got none \(42 pending, 3 error\); run the project \(benchgrid run DIR\)"):
        bg.compare(pending, "my_score", greater_is_better=True)


# -- pvalue(corrected=True) --------------------------------------------------------------------
def test_pvalue_corrected_option_adds_a_column_and_keeps_the_defaults() -> None:
    rng = np.random.default_rng(7)
    rows = [{"task_id": "t", "learner_id": "tree", "algorithm": "tree", "test.subset": "A", "train.subsets": ts,
             "test.fold": f, "n_train": 40 if ts == "same" else 60, "n_test": 10, "rmse": v}
            for ts in ("same", "other", "all") for f, v in enumerate(rng.normal(1, 0.2, 6), start=1)]
    scores = pd.DataFrame(rows)
    plain = bg.pvalue(scores, "rmse")
    corr = bg.pvalue(scores, "rmse", corrected=True)
    assert "p_corrected" not in plain.comparisons.columns
    pd.testing.assert_frame_equal(corr.comparisons.drop(columns="p_corrected"), plain.comparisons)
    for _, r in corr.comparisons.iterrows():
        c = scores[scores["train.subsets"] == r["train.subsets"]].sort_values("test.fold")
        s = scores[scores["train.subsets"] == "same"].sort_values("test.fold")
        ratio = np.mean(np.r_[10 / c["n_train"], 10 / s["n_train"]])
        d = c["rmse"].to_numpy() - s["rmse"].to_numpy()
        t = d.mean() / math.sqrt((1 / 6 + ratio) * d.var(ddof=1))
        assert r["p_corrected"] == pytest.approx(2 * stats.t.sf(abs(t), 5), rel=1e-12)
        assert r["p_corrected"] > r["p_paired"]
    with pytest.raises(InputError, match="corrected must be True or False, got 'yes'"):
        bg.pvalue(scores, "rmse", corrected="yes")


# -- a real project, end to end ----------------------------------------------------------------
@pytest.fixture(scope="module")
def project(tmp_path_factory):
    from sklearn.datasets import make_classification
    from sklearn.dummy import DummyClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold
    from sklearn.tree import DecisionTreeClassifier

    tasks = {}
    for i, sep in enumerate([0.5, 1.0, 2.0]):
        X, y = make_classification(n_samples=80, n_features=4, class_sep=sep, random_state=i)
        df = pd.DataFrame(X, columns=[f"x{j}" for j in range(4)]).assign(y=np.where(y == 1, "yes", "no"))
        tasks[f"task{i}"] = bg.Task(df, target="y")
    learners = {"featureless": DummyClassifier(), "tree": DecisionTreeClassifier(max_depth=3),
                "logistic": LogisticRegression()}
    d = tmp_path_factory.mktemp("compare") / "my 'proj' dir"
    proj = bg.Project.create(d, tasks, learners, StratifiedKFold(4, shuffle=True, random_state=0),
                             measures=["accuracy", "ce"])
    proj.run(n_workers=0, progress=False)
    return proj


def test_end_to_end_on_a_real_project(project) -> None:
    c = project.compare("accuracy")
    assert sorted(c.learners) == ["featureless", "logistic", "tree"] and len(c.tasks) == 3
    assert c.table["n_folds"].tolist() == [4] * 9 and c.not_ranked == {}
    scores = project.scores()
    means = scores.groupby(["task_id", "learner_id"])["accuracy"].mean().unstack().loc[list(c.tasks), c.learners]
    np.testing.assert_allclose(c.means.loc[list(c.tasks)].to_numpy(), means.to_numpy())
    ranks = stats.rankdata(-means.to_numpy(), axis=1)
    np.testing.assert_allclose(c.mean_ranks.to_numpy(), ranks.mean(axis=0))
    assert c.friedman.statistic == pytest.approx(stats.friedmanchisquare(*means.to_numpy().T).statistic)
    assert c.learners[-1] == "featureless"
    # ce is 1 - accuracy: lower is better, the same ranks
    ce = project.compare("ce")
    assert not ce.greater_is_better and ce.learners == c.learners
    # the test/train ratio comes from the jobs: 20 test rows, 60 train rows
    assert c.per_task["test_train_ratio"].tolist() == pytest.approx([20 / 60] * 9)


def test_end_to_end_dropped_jobs_are_named(project, tmp_path) -> None:
    import shutil as sh

    copy = tmp_path / "copy"
    sh.copytree(project.path, copy)
    proj = bg.Project.open(copy)
    assert proj.drop(where={"learner_id": "tree", "task_id": "task1"}) == 4  # already done: kept, hidden
    c = proj.compare("accuracy")
    assert c.not_ranked == {"task1": "tree has 0 of 4 folds (4 dropped)"}
    assert c.table.set_index(["task", "learner"]).loc[("task1", "tree"), "missing"] == "4 dropped"
    assert len(c.tasks) == 2
