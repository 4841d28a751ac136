"""Which learner is better, across tasks and within one task.

Across tasks (Demšar 2006; Benavoli, Corani & Mangili 2016): each task gives
every learner one number, its mean score over the task's folds; learners are
ranked per task (rank 1 is the best, ties share the average rank, the
measure's direction decides what "best" is), and

- the Friedman test (``scipy.stats.friedmanchisquare``) and Iman and
  Davenport's F form of it ask whether the learners differ at all;
- the Nemenyi post-hoc test compares every pair by mean ranks: two learners
  differ when their mean ranks are more than the critical difference
  ``CD = q_alpha * sqrt(k (k + 1) / (6 N))`` apart, with ``q_alpha`` the
  studentized range's quantile (``scipy.stats.studentized_range``, infinite
  degrees of freedom) over ``sqrt(2)``;
- the Wilcoxon signed-rank test of every pair over the tasks
  (``scipy.stats.wilcoxon``), with Holm's step-down correction, which
  Benavoli et al. recommend over the mean-ranks test (its outcome for a pair
  does not depend on which other learners are in the comparison).

Within one task, across its folds: the plain paired t-test on K-fold scores
is anti-conservative (training sets overlap, so the fold scores are
correlated). The corrected resampled t-test of Nadeau and Bengio (2003)
multiplies the variance of the differences by ``1/K + n_test/n_train``
(for K-fold, ``n_test/n_train = 1/(K-1)``) instead of ``1/K``. baycomp's
Bayesian correlated t-test (Corani & Benavoli 2015) gives, for a region of
practical equivalence (``rope``), the probabilities that one learner is
better, that they are practically equivalent, or that the other is better.

Partial results (a running grid, dropped or failed jobs) are never ranked
silently: each cell of the table says how many of its task's folds it has,
and a task where some learner lacks a fold is left out of the ranks with the
reason (``incomplete="drop"``), ranked on the folds every learner has
(``"common"``), or refused (``"error"``).

Only scipy is needed; baycomp is imported when ``rope`` is given. The
statistics are checked against scikit-posthocs, autorank, baycomp and scipy
in ``tests/ml/test_compare.py``.
"""

from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .._errors import InputError
from ._compare_input import INCOMPLETE, check_input, direction, fold_columns, missing_text, soak_rows
from ._corrected import corrected_ttest, holm
from . import _rank_tests
from ._rank_tests import Friedman, Nemenyi, cliques

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["INCOMPLETE", "Comparison", "Friedman", "Nemenyi", "compare", "corrected_ttest", "holm"]


# -- the result ---------------------------------------------------------------------
@dataclass(frozen=True, repr=False)
class Comparison:
    """Result of :func:`compare`: the table, the ranks and the tests.

    Attributes
    ----------
    measure : str
    greater_is_better : bool
    alpha : float
    table : pandas.DataFrame
        One row per (task, learner): ``n_folds`` (done folds with a value),
        ``n_expected`` (the task's folds), ``mean``, ``sd`` (ddof=1),
        ``rank`` (NaN on tasks not ranked), ``ranked``, ``best``,
        ``not_worse`` (not significantly worse than the task's best by the
        corrected t-test at ``alpha``), ``p_vs_best`` and ``missing`` (what
        lacks: ``"2 error, 1 pending"``).
    folds : pandas.DataFrame
        The fold scores used: ``task, learner, fold, value`` (ranked tasks only).
    mean_ranks : pandas.Series
        Learner → mean rank over the ranked tasks, best first.
    friedman : Friedman or None
    nemenyi : Nemenyi or None
    wilcoxon_holm : pandas.DataFrame
        One row per pair of learners: wins, ties, ``p`` (Wilcoxon signed-rank
        over tasks), ``p_holm`` and ``significant``.
    per_task : pandas.DataFrame
        One row per ranked task and pair: ``n_folds``, ``mean_diff`` (a - b),
        ``t``, ``p_corrected`` (Nadeau and Bengio), ``p_plain`` (paired
        t-test), ``test_train_ratio`` and, with ``rope``, baycomp's
        ``p_a_better``, ``p_rope``, ``p_b_better``.
    tasks : tuple of str
        The ranked tasks.
    not_ranked : dict
        Task → why it is not ranked.
    notes : tuple of str
        What is missing, what was left out, and why a test was not run.
    rope : float or None
        The region of practical equivalence given to :func:`compare`.

    Examples
    --------
    >>> import pandas as pd
    >>> from benchgrid import compare
    >>> acc = {"t1": (0.7, 0.8, 0.9), "t2": (0.6, 0.9, 0.8), "t3": (0.5, 0.7, 0.8)}
    >>> rows = [{"task_id": t, "learner_id": lrn, "iteration": f, "accuracy": v + f / 100}
    ...         for t, vals in acc.items() for lrn, v in zip(["dummy", "tree", "forest"], vals)
    ...         for f in (1, 2, 3)]
    >>> c = compare(pd.DataFrame(rows[:-1]), "accuracy")  # forest's last fold on t3 is missing
    >>> c.learners, c.tasks
    (['tree', 'forest', 'dummy'], ('t1', 't2'))
    >>> c.not_ranked
    {'t3': 'forest has 2 of 3 folds (1 not in the scores)'}
    >>> c.ranks.loc["t1"].tolist()
    [2.0, 1.0, 3.0]
    >>> c.cliques()  # the bars of the CD diagram: no pair differs on 2 tasks
    [('tree', 'forest', 'dummy')]
    """

    measure: str
    greater_is_better: bool
    alpha: float
    table: pd.DataFrame
    folds: pd.DataFrame
    mean_ranks: pd.Series
    friedman: Friedman | None
    nemenyi: Nemenyi | None
    wilcoxon_holm: pd.DataFrame
    per_task: pd.DataFrame
    tasks: tuple[str, ...]
    not_ranked: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    rope: float | None = None

    @property
    def learners(self) -> list[str]:
        """Learners, best mean rank first."""
        return [str(x) for x in self.mean_ranks.index]

    @property
    def means(self) -> pd.DataFrame:
        """Tasks × learners: the mean score over folds (every task, ranked or not)."""
        return self.table.pivot(index="task", columns="learner", values="mean").reindex(
            index=list(dict.fromkeys(self.table["task"])), columns=self.learners)

    @property
    def ranks(self) -> pd.DataFrame:
        """Ranked tasks × learners: the rank on each task (1 is the best; ties averaged)."""
        ranked = self.table[self.table["ranked"]]
        return ranked.pivot(index="task", columns="learner", values="rank").reindex(
            index=list(self.tasks), columns=self.learners)

    def cliques(self, test: str = "nemenyi") -> list[tuple[str, ...]]:
        """Groups of learners not significantly different: the bars of a CD diagram.

        ``test="nemenyi"``: mean ranks less than the critical difference
        apart; ``"wilcoxon"``: Holm-corrected Wilcoxon p at least ``alpha``.
        """
        if test == "nemenyi":
            if self.nemenyi is None:
                return []
            cd = self.nemenyi.cd
            r = self.mean_ranks
            return cliques(r, lambda a, b: abs(r[a] - r[b]) > cd)
        if test == "wilcoxon":
            sig = {frozenset((a, b)) for a, b, s in self.wilcoxon_holm[["learner_a", "learner_b", "significant"]]
                   .itertuples(index=False) if s}
            if len(self.tasks) < 2:
                return []
            return cliques(self.mean_ranks, lambda a, b: frozenset((a, b)) in sig)
        raise InputError(f"test must be 'nemenyi' or 'wilcoxon', got {test!r}")

    def per_task_text(self) -> str:
        """:attr:`per_task` as text: each pair of learners tested within each ranked task."""
        from ._compare_text import per_task_text

        return per_task_text(self)

    def to_markdown(self, digits: int = 3) -> str:
        """The table as GitHub Markdown: best per task in bold, not significantly worse in italics."""
        from ._compare_text import to_markdown

        return to_markdown(self, digits)

    def to_latex(self, digits: int = 3, *, label: str = "tab:compare", fit_width: bool = True) -> str:
        r"""The table as a LaTeX ``table`` with booktabs rules.

        Best per task in bold, not significantly worse than the best
        underlined; the caption names the measure, its direction and the tests.

        Parameters
        ----------
        digits : int, default=3
            Decimals of the means and sds.
        label : str, default="tab:compare"
            The ``\label`` to ``\ref`` it by.
        fit_width : bool, default=True
            Shrink the tabular to the line width when it is wider (graphicx's
            ``\resizebox``; a narrower one keeps its size): four learners'
            "mean ± sd" columns are already wider than an article's text.
            The preamble needs ``\usepackage{booktabs}`` and, with
            ``fit_width``, ``\usepackage{graphicx}``.

        Examples
        --------
        >>> import pandas as pd
        >>> from benchgrid import compare
        >>> rows = [{"task_id": t, "learner_id": lrn, "iteration": f, "rmse": v + f / 10 + (t == "t2") * (lrn == "b")}
        ...         for t in ("t1", "t2") for lrn, v in (("a", 1.0), ("b", 1.5)) for f in (1, 2, 3)]
        >>> tex = compare(pd.DataFrame(rows)).to_latex()
        >>> print(tex.splitlines()[7])
        t1 & \textbf{1.200 $\pm$ 0.100} & 1.700 $\pm$ 0.100 \\
        """
        from ._compare_text import to_latex

        if not isinstance(fit_width, bool):
            raise InputError(f"fit_width must be True or False, got {fit_width!r}")
        return to_latex(self, digits, label, fit_width)

    def to_csv(self, path: Any = None) -> str | None:
        """:attr:`table` as CSV (one row per task and learner); to ``path`` or returned."""
        return self.table.to_csv(path, index=False)

    def to_html(self, digits: int = 3, id_suffix: str = "") -> str:
        """The table as HTML (best in bold, not significantly worse in italics), the tests and the notes.

        The tables' ids (``comparison-table``, ``comparison-wilcoxon``,
        ``comparison-per-task``) end with ``id_suffix``.
        """
        from ._compare_text import to_html

        return to_html(self, digits, id_suffix)

    def _repr_html_(self) -> str:  # Jupyter
        return self.to_html()

    def __repr__(self) -> str:
        from ._compare_text import to_text

        return to_text(self)


# -- from a scores table ------------------------------------------------------------
def compare(
    scores: pd.DataFrame,
    measure: str | None = None,
    *,
    alpha: float = 0.05,
    greater_is_better: bool | None = None,
    incomplete: str = "drop",
    train_subsets: str = "all",
    test_train_ratio: float | None = None,
    rope: float | None = None,
) -> Comparison:
    """Compare learners across tasks (ranks, Friedman, Nemenyi, Wilcoxon-Holm) and within each task.

    Parameters
    ----------
    scores : pandas.DataFrame
        One row per job (``proj.scores()``), with ``task_id``, ``learner_id``
        (or ``algorithm``), a fold id (``iteration``, else ``test.fold``) and
        the measure; a ``state`` column (rows not ``"done"`` count as
        missing) and ``n_train``/``n_test`` are used when present.
    measure : str, optional
        The score column; default: the project's first measure.
    alpha : float, default=0.05
        Significance level of the critical difference, of "significant" and
        of "not significantly worse than the best".
    greater_is_better : bool, optional
        The measure's direction; default: recorded by the project
        (``scores.attrs``) or known for the named measures.
    incomplete : {"drop", "common", "error"}, default="drop"
        A task where some learner lacks folds (pending, failed, dropped):
        left out of the ranks with the reason ("drop"), ranked on the folds
        every learner has ("common"), or an :class:`InputError` ("error").
    train_subsets : str, default="all"
        SOAK rows: the train subsets compared (at full size); rows of other
        resamplings are all kept.
    test_train_ratio : float, optional
        ``n_test / n_train`` for the corrected t-test; default: measured
        from ``n_test`` and ``n_train``, else ``1 / (K - 1)``.
    rope : float, optional
        Give it to run baycomp's Bayesian correlated t-test per task and pair,
        with this region of practical equivalence (in the measure's units);
        needs ``pip install baycomp``.

    Returns
    -------
    Comparison

    Examples
    --------
    >>> import pandas as pd
    >>> from benchgrid import compare
    >>> acc = {"t1": (0.7, 0.8, 0.9), "t2": (0.6, 0.9, 0.8), "t3": (0.5, 0.7, 0.8), "t4": (0.6, 0.8, 0.85)}
    >>> rows = [{"task_id": t, "learner_id": lrn, "iteration": f, "accuracy": v + f / 100}
    ...         for t, vals in acc.items() for lrn, v in zip(["dummy", "tree", "forest"], vals)
    ...         for f in (1, 2, 3)]
    >>> c = compare(pd.DataFrame(rows), "accuracy")
    >>> c.mean_ranks.round(2).to_dict()
    {'forest': 1.25, 'tree': 1.75, 'dummy': 3.0}
    >>> round(c.friedman.pvalue, 4), round(c.nemenyi.cd, 3)
    (0.0388, 1.657)
    """
    import pandas as pd

    df, measure, learner_col = check_input(scores, measure, alpha, incomplete)
    greater = direction(df, measure, greater_is_better)
    notes: list[str] = []
    df = soak_rows(df, train_subsets, notes)
    block_cols = ["task_id"]
    if "resampling_id" in df.columns and df["resampling_id"].nunique(dropna=True) > 1:
        block_cols.append("resampling_id")
    fold_cols = fold_columns(df)
    task = df[block_cols].astype(str).agg("/".join, axis=1) if len(block_cols) > 1 else df["task_id"].astype(str)
    fold = df[fold_cols].astype(str).agg("/".join, axis=1) if len(fold_cols) > 1 else df[fold_cols[0]].astype(str)
    df = df.assign(_task=task.to_numpy(), _fold=fold.to_numpy(), _learner=df[learner_col].astype(str).to_numpy())
    done = df["_value"].notna()
    if "state" in df.columns:
        done &= df["state"] == "done"
    dup = df[done].duplicated(["_task", "_learner", "_fold"], keep=False)
    if dup.any():
        first = df[done][dup].iloc[0]
        raise InputError(
            f"scores must have one row per (task, learner, fold), got {int(dup.sum())} rows for "
            f"{first['_task']!r}, {first['_learner']!r}, fold {first['_fold']!r} and others; "
            "keep one resampling and one train subset per task (or pass train_subsets=)"
        )
    learners = list(dict.fromkeys(df["_learner"]))
    tasks_all = list(dict.fromkeys(df["_task"]))

    cells, used_folds, not_ranked = [], {}, {}
    for t in tasks_all:
        part = df[df["_task"] == t]
        expected = set(part["_fold"])
        have = {lrn: dict(zip(part.loc[done[part.index] & (part["_learner"] == lrn), "_fold"],
                              part.loc[done[part.index] & (part["_learner"] == lrn), "_value"]))
                for lrn in learners}
        for lrn in learners:
            vals = np.fromiter(have[lrn].values(), float)
            cells.append({"task": t, "learner": lrn, "n_folds": len(vals), "n_expected": len(expected),
                          "mean": float(vals.mean()) if len(vals) else math.nan,
                          "sd": float(vals.std(ddof=1)) if len(vals) > 1 else math.nan,
                          "missing": missing_text(part[part["_learner"] == lrn], done, expected - set(have[lrn]))})
        short = {lrn: len(have[lrn]) for lrn in learners if len(have[lrn]) < len(expected)}
        common = set.intersection(*(set(h) for h in have.values())) if learners else set()
        if not short:
            used_folds[t] = sorted(expected)
        elif incomplete == "common" and common:
            used_folds[t] = sorted(common)
            notes.append(f"task {t!r}: ranked on the {len(common)} of {len(expected)} folds every learner has")
        else:
            lacks = {c["learner"]: c["missing"] for c in cells[-len(learners):]}
            why = ", ".join(f"{lrn} has {n} of {len(expected)} folds ({lacks[lrn]})" for lrn, n in short.items())
            not_ranked[t] = why + ("" if incomplete != "common" else "; no fold is common to every learner")
    if not_ranked and incomplete == "error":
        raise InputError(
            "every learner must have every fold of every task with incomplete='error', got "
            + "; ".join(f"{t}: {why}" for t, why in not_ranked.items())
            + "; wait for the jobs, retry the failed ones, or pass incomplete='drop'"
        )
    for t, why in not_ranked.items():
        notes.append(f"task {t!r} is not ranked: {why}")

    tasks = [t for t in tasks_all if t in used_folds]
    folds = df[done & df["_task"].isin(tasks)]
    folds = folds[np.array([f in set(used_folds[t]) for t, f in zip(folds["_task"], folds["_fold"])], dtype=bool)]
    fold_table = pd.DataFrame({"task": folds["_task"], "learner": folds["_learner"], "fold": folds["_fold"],
                               "value": folds["_value"].astype(float)}).reset_index(drop=True)
    means = (fold_table.groupby(["task", "learner"])["value"].mean().unstack("learner")
             .reindex(index=tasks, columns=learners).to_numpy(float))
    table = pd.DataFrame(cells)
    from scipy import stats

    ranks = stats.rankdata(-means if greater else means, axis=1, method="average") if len(tasks) else means
    mean_ranks = pd.Series(ranks.mean(axis=0) if len(tasks) else np.full(len(learners), np.nan),
                           index=learners, name="mean_rank")
    order = sorted(range(len(learners)), key=lambda i: (mean_ranks.iloc[i], i)) if len(tasks) else list(range(len(learners)))
    mean_ranks = mean_ranks.iloc[order]
    learners = [learners[i] for i in order]
    means, ranks = means[:, order], ranks[:, order]

    rank_of = {(t, lrn): ranks[i, j] for i, t in enumerate(tasks) for j, lrn in enumerate(learners)}
    table["rank"] = [rank_of.get((t, lrn), math.nan) for t, lrn in zip(table["task"], table["learner"])]
    table["ranked"] = table["task"].isin(tasks)
    if incomplete == "common":  # a ranked cell shows the folds it was ranked on (missing still says what lacks)
        used = fold_table.groupby(["task", "learner"])["value"].agg(["mean", "std", "size"])
        for idx, t, lrn in table.loc[table["ranked"], ["task", "learner"]].itertuples():
            m, sd, size = used.loc[(t, lrn)]
            table.loc[idx, ["mean", "sd", "n_folds"]] = [m, sd, int(size)]

    friedman = nemenyi = None
    k, n = len(learners), len(tasks)
    if k < 2:
        notes.append(f"nothing is tested: one learner ({learners[0] if learners else 'none'}); compare needs 2 or more")
    elif n < 2:
        notes.append(f"nothing is tested across tasks: {n} ranked task{'s' if n != 1 else ''}; "
                     "ranks across tasks need 2 or more (the learners are still compared within each task: "
                     "Comparison.per_task, benchgrid compare --per-task)")
    else:
        if k >= 3:
            friedman = _rank_tests.friedman(means)
        else:
            notes.append("no Friedman test: it needs 3 or more learners, got 2; the Wilcoxon signed-rank test compares the two")
        nemenyi = _rank_tests.nemenyi(mean_ranks, n, alpha)
    tested = k >= 2 and n >= 2
    wil = _rank_tests.wilcoxon_holm(means if tested else np.empty((0, 0)), learners if tested else [], greater, alpha)
    per_task = _per_task(df, done, tasks, used_folds, learners, greater, test_train_ratio, rope)
    _mark_best(table, per_task, alpha)
    table["n_folds"] = table["n_folds"].astype(int)
    table = table[["task", "learner", "n_folds", "n_expected", "mean", "sd", "rank", "ranked", "best",
                   "not_worse", "p_vs_best", "missing"]]
    table = table.assign(_o=table["learner"].map({lrn: i for i, lrn in enumerate(learners)})).sort_values(
        ["_o"], kind="stable").drop(columns="_o")
    table = table.assign(_t=table["task"].map({t: i for i, t in enumerate(tasks_all)})).sort_values(
        ["_t"], kind="stable").drop(columns="_t").reset_index(drop=True)
    return Comparison(measure, greater, float(alpha), table, fold_table, mean_ranks, friedman, nemenyi, wil,
                      per_task, tuple(tasks), not_ranked, tuple(notes), rope)


def _per_task(df: pd.DataFrame, done: pd.Series, tasks: list[str], used_folds: dict[str, list[str]],
              learners: list[str], greater: bool, ratio: float | None, rope: float | None) -> pd.DataFrame:
    import pandas as pd
    from scipy import stats

    if rope is not None:
        if isinstance(rope, bool) or not isinstance(rope, (int, float)) or not rope > 0 or not math.isfinite(rope):
            raise InputError(f"rope must be a number > 0 (the region of practical equivalence, in the measure's units), "
                             f"got {rope!r}")
        two_on_single = _baycomp()
    rows = []
    for t in tasks:
        part = df[done & (df["_task"] == t) & df["_fold"].isin(used_folds[t])]
        wide = part.pivot(index="_fold", columns="_learner", values="_value").reindex(index=used_folds[t])
        r = ratio
        if r is None and {"n_train", "n_test"} <= set(part.columns) and (part["n_train"] > 0).all():
            r = float((part["n_test"] / part["n_train"]).mean())
        for a, b in itertools.combinations(learners, 2):
            x, y = wide[a].to_numpy(float), wide[b].to_numpy(float)
            t_stat, p_corr = corrected_ttest(x, y, r)
            p_plain = math.nan
            if len(x) >= 2 and np.ptp(x - y) > 0:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)  # differences nearly alike: scipy warns
                    p_plain = float(stats.ttest_rel(x, y).pvalue)
            row = {"task": t, "learner_a": a, "learner_b": b, "n_folds": len(x), "mean_diff": float(np.mean(x - y)),
                   "t": t_stat, "p_corrected": p_corr, "p_plain": p_plain,
                   "test_train_ratio": r if r is not None else (1 / (len(x) - 1) if len(x) > 1 else math.nan)}
            if rope is not None:
                row.update(_bayes(two_on_single, x, y, rope, greater))
            rows.append(row)
    columns = ["task", "learner_a", "learner_b", "n_folds", "mean_diff", "t", "p_corrected", "p_plain", "test_train_ratio"]
    if rope is not None:
        columns += ["p_a_better", "p_rope", "p_b_better"]
    return pd.DataFrame(rows, columns=columns)


def _baycomp() -> Any:
    try:
        from baycomp import two_on_single
    except ImportError as err:
        raise ImportError("rope= runs baycomp's Bayesian correlated t-test, which is not installed: "
                          "pip install baycomp (or leave rope out)") from err
    return two_on_single


def _bayes(two_on_single: Any, x: np.ndarray, y: np.ndarray, rope: float, greater: bool) -> dict[str, float]:
    """baycomp's probabilities, named by learner: its 'left' is x - y > rope (x larger)."""
    if len(x) < 2 or not np.ptp(x - y) > 0:
        return {"p_a_better": math.nan, "p_rope": math.nan, "p_b_better": math.nan}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        left, in_rope, right = two_on_single(x, y, rope=rope)
    x_larger, y_larger = float(left), float(right)
    return {"p_a_better": x_larger if greater else y_larger, "p_rope": float(in_rope),
            "p_b_better": y_larger if greater else x_larger}


def _mark_best(table: pd.DataFrame, per_task: pd.DataFrame, alpha: float) -> None:
    """best, p_vs_best and not_worse: the corrected t-test against each of the task's best learners.

    With tied best learners, a learner is "not significantly worse" only if no
    best one beats it significantly; ``p_vs_best`` is the smallest p-value.
    """
    table["best"] = False
    table["not_worse"] = False
    table["p_vs_best"] = math.nan
    pairs = {(r.task, r.learner_a, r.learner_b): r for r in per_task.itertuples(index=False)}
    for t, part in table[table["ranked"]].groupby("task", sort=False):
        top = part["rank"].min()
        best = part.loc[part["rank"] == top, "learner"].tolist()
        for idx, lrn in zip(part.index, part["learner"]):
            if lrn in best:
                table.loc[idx, ["best", "not_worse"]] = True
                continue
            tests = [pairs.get((t, b, lrn)) or pairs.get((t, lrn, b)) for b in best]
            ps = [r.p_corrected for r in tests if r is not None]
            if not ps or any(math.isnan(p) for p in ps):  # fewer than 2 folds: nothing to test
                continue
            table.loc[idx, "p_vs_best"] = min(ps)
            table.loc[idx, "not_worse"] = bool(min(ps) >= alpha)
