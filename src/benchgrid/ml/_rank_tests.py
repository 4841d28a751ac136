"""The tests across tasks: Friedman (and Iman–Davenport), Nemenyi's critical difference, Wilcoxon with Holm.

Each task gives every learner one number (its mean score over the task's
folds); these functions take that tasks × learners matrix, or the mean
ranks. :func:`benchgrid.ml.compare` (``_compare.py``) builds the matrix from a
project and puts the results in a :class:`~benchgrid.ml.Comparison`. The
references are in ``_compare.py``'s docstring; the checks against
scikit-posthocs, autorank and scipy in ``tests/ml/test_compare.py``.
"""

from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ._corrected import holm

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Friedman", "Nemenyi", "friedman", "nemenyi", "wilcoxon_holm", "cliques"]


@dataclass(frozen=True)
class Friedman:
    """Friedman's test over tasks (blocks), and Iman and Davenport's F form of it.

    Attributes
    ----------
    statistic, pvalue : float
        ``scipy.stats.friedmanchisquare`` (chi-square with k - 1 degrees of
        freedom, corrected for ties).
    iman_davenport, iman_davenport_pvalue : float
        ``F = (N - 1) chi2 / (N (k - 1) - chi2)`` on ``(k - 1, (k - 1)(N - 1))``
        degrees of freedom (less conservative than the chi-square).
    n_tasks, n_learners : int

    Examples
    --------
    >>> import numpy as np
    >>> f = friedman(np.array([[0.9, 0.8, 0.7], [0.8, 0.7, 0.6], [0.95, 0.9, 0.5], [0.7, 0.75, 0.6]]))
    >>> round(f.statistic, 3), round(f.pvalue, 4), round(f.iman_davenport, 3)  # F = 3 * 6.5 / (4 * 2 - 6.5)
    (6.5, 0.0388, 13.0)
    """

    statistic: float
    pvalue: float
    iman_davenport: float
    iman_davenport_pvalue: float
    n_tasks: int
    n_learners: int


@dataclass(frozen=True)
class Nemenyi:
    """Nemenyi's post-hoc test on mean ranks.

    Attributes
    ----------
    cd : float
        The critical difference of mean ranks at ``alpha``.
    q_alpha : float
        ``studentized_range.ppf(1 - alpha, k, inf) / sqrt(2)``.
    pvalues : pandas.DataFrame
        Learners × learners, ``studentized_range.sf(|R_i - R_j| / sqrt(k (k + 1) / (6 N)) * sqrt(2), k, inf)``
        (1 on the diagonal): scikit-posthocs' ``posthoc_nemenyi_friedman``.
    alpha : float
    n_tasks, n_learners : int

    Examples
    --------
    >>> import pandas as pd
    >>> n = nemenyi(pd.Series({"a": 1.25, "b": 1.75, "c": 3.0}), n=4, alpha=0.05)
    >>> round(n.cd, 3), round(n.q_alpha, 3)  # Demšar (2006), Table 5(a): q_0.05 = 2.343 for 3 learners
    (1.657, 2.344)
    >>> round(float(n.pvalues.loc["a", "c"]), 4)
    0.0356
    """

    cd: float
    q_alpha: float
    pvalues: pd.DataFrame
    alpha: float
    n_tasks: int
    n_learners: int


def friedman(means: np.ndarray) -> Friedman:
    from scipy import stats

    n, k = means.shape
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # every task a tie: scipy's 0/0, NaN here
        chi2, p = stats.friedmanchisquare(*means.T)
    chi2, p = float(chi2), float(p)
    denom = n * (k - 1) - chi2
    if math.isnan(chi2):
        f = pf = math.nan
    elif denom <= 0:  # every task ranks the learners alike: the F statistic is infinite
        f, pf = math.inf, 0.0
    else:
        f = (n - 1) * chi2 / denom
        pf = float(stats.f.sf(f, k - 1, (k - 1) * (n - 1)))
    return Friedman(chi2, p, f, pf, n, k)


def nemenyi(mean_ranks: pd.Series, n: int, alpha: float) -> Nemenyi:
    import pandas as pd
    from scipy import stats

    k = len(mean_ranks)
    q_alpha = float(stats.studentized_range.ppf(1 - alpha, k, np.inf)) / math.sqrt(2)
    se = math.sqrt(k * (k + 1) / (6 * n))
    r = mean_ranks.to_numpy(float)
    q = np.abs(r[:, None] - r[None, :]) / se * math.sqrt(2)
    p = stats.studentized_range.sf(q, k, np.inf)
    np.fill_diagonal(p, 1.0)
    names = list(mean_ranks.index)
    return Nemenyi(q_alpha * se, q_alpha, pd.DataFrame(p, index=names, columns=names), alpha, n, k)


def wilcoxon_holm(means: np.ndarray, learners: list[str], greater: bool, alpha: float) -> pd.DataFrame:
    import pandas as pd
    from scipy import stats

    rows = []
    for i, j in itertools.combinations(range(len(learners)), 2):
        a, b = means[:, i], means[:, j]
        d = a - b
        better = d > 0 if greater else d < 0
        worse = d < 0 if greater else d > 0
        stat = p = math.nan
        if len(d) >= 1 and np.any(d != 0):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                res = stats.wilcoxon(a, b)
            stat, p = float(res.statistic), float(res.pvalue)
        elif len(d) >= 1:
            stat, p = 0.0, 1.0  # the same on every task: nothing tells them apart
        rows.append({"learner_a": learners[i], "learner_b": learners[j], "n_tasks": len(d),
                     "wins_a": int(better.sum()), "ties": int((d == 0).sum()), "wins_b": int(worse.sum()),
                     "mean_diff": float(np.mean(d)) if len(d) else math.nan, "statistic": stat, "p": p})
    table = pd.DataFrame(rows, columns=["learner_a", "learner_b", "n_tasks", "wins_a", "ties", "wins_b",
                                        "mean_diff", "statistic", "p"])
    table["p_holm"] = holm(table["p"].to_numpy(float)) if len(table) else []
    table["significant"] = table["p_holm"] < alpha
    return table


def cliques(mean_ranks: pd.Series, differ: Any) -> list[tuple[str, ...]]:
    """Maximal runs of learners, in mean-rank order, no two of which differ significantly.

    ``differ(a, b)`` says whether learners a and b differ. These are the bars
    of a critical-difference diagram; a learner that differs from every
    neighbour is in no clique.

    Examples
    --------
    >>> import pandas as pd
    >>> r = pd.Series({"a": 1.2, "b": 1.9, "c": 3.0, "d": 3.9})
    >>> cliques(r, lambda x, y: abs(r[x] - r[y]) > 2.0)
    [('a', 'b', 'c'), ('b', 'c', 'd')]
    """
    names = list(mean_ranks.sort_values(kind="stable").index)
    runs: list[tuple[int, int]] = []
    for i in range(len(names)):
        j = i
        while j + 1 < len(names) and not any(differ(names[m], names[j + 1]) for m in range(i, j + 1)):
            j += 1
        if j > i and not any(s <= i and j <= e for s, e in runs):
            runs.append((i, j))
    return [tuple(names[i : j + 1]) for i, j in runs]
