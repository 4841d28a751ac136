"""Two small tests used by :func:`~._compare.compare` and :func:`~._pvalue.pvalue`.

Nadeau and Bengio's (2003) corrected resampled t-test of paired fold scores,
and Holm's step-down correction of several p-values (statsmodels' is the same;
it is not a dependency for five lines).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._errors import InputError

__all__ = ["corrected_ttest", "holm"]


def holm(pvalues: Any) -> np.ndarray:
    """Holm's step-down adjusted p-values (NaN stays NaN and does not count).

    Examples
    --------
    >>> holm([0.01, 0.04, 0.03]).round(3).tolist()
    [0.03, 0.06, 0.06]
    """
    p = np.asarray(pvalues, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    order = ok[np.argsort(p[ok], kind="stable")]
    m = len(order)
    running = 0.0
    for i, idx in enumerate(order):  # the i-th smallest is multiplied by m - i, never below the one before
        running = max(running, min(1.0, (m - i) * p[idx]))
        out[idx] = running
    return out


def corrected_ttest(a: Any, b: Any, test_train_ratio: float | None = None) -> tuple[float, float]:
    """Nadeau and Bengio's corrected resampled t-test of paired fold scores: ``(t, p)``.

    ``t = mean(d) / sqrt((1/K + test_train_ratio) * var(d))`` with
    ``d = a - b`` over the K folds (``var`` with ddof=1) and K - 1 degrees of
    freedom; the p-value is two-sided. The plain paired t-test is this with
    ``test_train_ratio = 0``.

    Parameters
    ----------
    a, b : array-like of float
        Scores of two learners on the same folds, in the same order.
    test_train_ratio : float, optional
        ``n_test / n_train`` of the resampling; default ``1 / (K - 1)``,
        K-fold cross-validation's.

    Returns
    -------
    (float, float)
        The statistic and the two-sided p-value; NaN when fewer than 2 folds
        or every difference is 0; ``(±inf, 0.0)`` when every fold has the
        same nonzero difference.

    Examples
    --------
    >>> t, p = corrected_ttest([0.9, 0.8, 0.85, 0.9, 0.95], [0.8, 0.8, 0.8, 0.82, 0.85])
    >>> round(t, 4), round(p, 4)
    (2.332, 0.0801)
    """
    from scipy import stats

    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.ndim != 1 or x.shape != y.shape:
        raise InputError(f"a and b must be two 1-d arrays of one length (paired folds), got shapes {x.shape} and {y.shape}")
    k = len(x)
    if test_train_ratio is None:
        test_train_ratio = 1 / (k - 1) if k > 1 else math.nan
    elif not (isinstance(test_train_ratio, (int, float)) and test_train_ratio >= 0 and math.isfinite(test_train_ratio)):
        raise InputError(f"test_train_ratio must be a finite number >= 0 (n_test / n_train), got {test_train_ratio!r}")
    d = x - y
    if k < 2 or not np.all(np.isfinite(d)) or not np.any(d != 0):
        return math.nan, math.nan
    if not np.ptp(d) > 0:  # the same nonzero difference on every fold: no spread, as far apart as can be
        return math.copysign(math.inf, float(d[0])), 0.0
    se = math.sqrt((1 / k + test_train_ratio) * float(np.var(d, ddof=1)))
    t = float(np.mean(d)) / se
    return t, float(2 * stats.t.sf(abs(t), k - 1))
