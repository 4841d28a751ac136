"""P-values comparing SOAK train subsets: is "other" or "all" as good as "same"?

Follows mlr3resampling's ``pvalue()``: for each (task, test subset,
algorithm), where ``algorithm`` is the learner's id (two learners of one
class are two algorithms; a ``learner_id`` column wins over ``algorithm``),
the score of each test fold (and seed) trained on "other" or
"all" is paired with the "same" score of that fold; a paired two-sided t-test
and Welch's unpaired test (scipy) give the p-values.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .._errors import InputError
from ._soak import META_COLUMNS

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["PValue", "pvalue", "find_measure", "measure_columns", "NOT_MEASURES"]

KEYS = ["task_id", "test.subset", "algorithm"]
#: Columns of a scores table that are never measures (metadata, timing, ids).
#: SOAK's metadata columns come from their one list, :data:`~._soak.META_COLUMNS`.
NOT_MEASURES = frozenset({
    "task_id", "learner_id", "algorithm", *META_COLUMNS, "fit_s", "predict_s",
    "duration_s", "n_train", "n_test", "job_id", "attempt", "pid", "peak_mem_mb",
})
# names that look like timing, memory, counts or timestamps rather than scores
_NOT_MEASURE_PATTERN = re.compile(r"(_at|_s|_mb|_gb)$|^n_")
COMPARE = ("all", "other")


@dataclass(frozen=True)
class PValue:
    """Result of :func:`pvalue`: one measure, two tables.

    Attributes
    ----------
    measure : str
        The score column compared.
    stats : pandas.DataFrame
        One row per (task_id, test.subset, algorithm, train.subsets) with
        ``mean``, ``sd`` (ddof=1, NaN for one value) and ``n``.
    comparisons : pandas.DataFrame
        One row per (task_id, test.subset, algorithm, comparison) where
        comparison is "all-same" or "other-same", with ``train.subsets``
        (the compared one), ``mean_diff`` = mean(compare - same),
        ``p_paired``, ``p_unpaired`` (Welch), ``same_mean``,
        ``compare_mean`` and ``N`` (number of pairs).
    n_train_groups : int or None
        None for full-size rows, else the down-sampled size used.
    """

    measure: str
    stats: pd.DataFrame
    comparisons: pd.DataFrame
    n_train_groups: int | None = None

    def __repr__(self) -> str:  # the REPL and print() show the comparisons table
        from ._pvalue_text import pvalue_text

        return pvalue_text(self)

    def _repr_html_(self) -> str:  # Jupyter
        from ._pvalue_text import pvalue_html

        return pvalue_html(self)


def find_measure(scores: pd.DataFrame) -> str:
    """Name of the first measure column of a scores table.

    A table from :meth:`MLProject.scores` names its measures
    (``scores.attrs["measures"]``, the project's own list): the first of them
    in the table. Otherwise (a table from elsewhere), the first numeric
    (non-boolean) column that is not in :data:`NOT_MEASURES` and does not look
    like a time, memory size, count or timestamp (names ending in ``_s``,
    ``_at``, ``_mb``, ``_gb`` or starting with ``n_``).

    Examples
    --------
    >>> import pandas as pd
    >>> find_measure(pd.DataFrame({"seed": [1], "fit_s": [0.1], "rmse": [2.0], "mae": [1.0]}))
    'rmse'
    >>> t = pd.DataFrame({"new_meta": [3], "rmse": [2.0], "mae": [1.0]})
    >>> t.attrs["measures"] = ["mae", "rmse"]
    >>> find_measure(t)
    'mae'
    """
    columns = measure_columns(scores)
    if columns:
        return columns[0]
    raise InputError(
        "scores must have a numeric measure column (not metadata or timing), got "
        f"columns {list(scores.columns)!r}; pass measure= to choose one"
    )


def measure_columns(scores: pd.DataFrame) -> list[str]:
    """Names of the measure columns of a scores table, in order (the rules of :func:`find_measure`).

    Examples
    --------
    >>> import pandas as pd
    >>> measure_columns(pd.DataFrame({"seed": [1], "fit_s": [0.1], "rmse": [2.0], "mae": [1.0]}))
    ['rmse', 'mae']
    """
    named = [str(c) for c in scores.attrs.get("measures") or [] if c in scores.columns]
    if named:
        return named
    return [str(c) for c in scores.columns
            if c not in NOT_MEASURES and not _NOT_MEASURE_PATTERN.search(str(c)) and scores[c].dtype.kind in "fiu"]


def check_scores(scores: Any, measure: str | None) -> tuple[pd.DataFrame, str]:
    import pandas as pd

    if not isinstance(scores, pd.DataFrame):
        raise InputError(
            f"scores must be a pandas DataFrame (e.g. proj.results()), got {type(scores).__name__}"
        )
    df = scores
    if "learner_id" in df.columns:
        # group by the learner's identity, never by its class: two trees of
        # different depth (or two GridSearchCV learners) are two algorithms
        df = df.assign(algorithm=df["learner_id"])
    missing = [c for c in ["task_id", "test.subset", "train.subsets", "test.fold", "algorithm"]
               if c not in df.columns]
    if missing:
        raise InputError(
            f"scores must have columns task_id, test.subset, train.subsets, test.fold and "
            f"algorithm (or learner_id), got no {missing!r}"
        )
    if measure is None:
        measure = find_measure(df)
    elif measure not in df.columns:
        raise InputError(
            f"measure must be a column of scores, got {measure!r}; columns are "
            f"{list(df.columns)!r}"
        )
    elif df[measure].dtype.kind not in "fiu":
        raise InputError(f"measure must name a numeric column, got {measure!r} "
                         f"of dtype {df[measure].dtype}")
    if "train.subsets" in df.columns:  # rows of other resamplings (KFold) have none
        df = df[df["train.subsets"].notna()]
    present = set(df["train.subsets"])
    if "same" not in present or not present & set(COMPARE):
        raise InputError(
            "scores['train.subsets'] must contain 'same' and at least one of 'all', "
            f"'other' to compare, got {sorted(map(str, present))!r}; use SOAK(subsets='SOA')"
        )
    return df, measure


def _ttests(compare: np.ndarray, same: np.ndarray) -> tuple[float, float]:
    """(paired, Welch) two-sided p-values; NaN where the test is undefined."""
    from scipy import stats

    p_paired = p_unpaired = float("nan")
    diff = compare - same
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # scipy warns on degenerate input
        if len(diff) >= 2 and np.ptp(diff) > 0:
            p_paired = float(stats.ttest_rel(compare, same).pvalue)
        if len(diff) >= 2 and (np.ptp(compare) > 0 or np.ptp(same) > 0):
            p_unpaired = float(stats.ttest_ind(compare, same, equal_var=False).pvalue)
    return p_paired, p_unpaired


def _corrected(compare: np.ndarray, same: np.ndarray, rows: pd.DataFrame) -> float:
    """Nadeau and Bengio's corrected p-value; n_test/n_train measured on the rows when they say."""
    from ._corrected import corrected_ttest

    ratio = None
    if {"n_train", "n_test"} <= set(rows.columns) and len(rows) and (rows["n_train"] > 0).all():
        ratio = float((rows["n_test"] / rows["n_train"]).mean())
    return corrected_ttest(compare, same, ratio)[1]


def pvalue(
    scores: pd.DataFrame, measure: str | None = None, *, n_train_groups: int | None = None,
    corrected: bool = False,
) -> PValue:
    """Compare train subsets "other" and "all" with "same", per fold.

    Parameters
    ----------
    scores : pandas.DataFrame
        One row per SOAK iteration (e.g. ``proj.results()``), with columns
        ``task_id, test.subset, train.subsets, test.fold, algorithm`` (or
        ``learner_id``), optionally ``seed``, ``groups``, ``n.train.groups``,
        and the measure.
    measure : str, optional
        The score column; default: :func:`find_measure` (the first numeric
        column that is not metadata or timing).
    n_train_groups : int, optional
        Default: only full-size rows (``n.train.groups == groups``). An int
        selects the rows down-sampled to that many train groups instead.
    corrected : bool, default=False
        Also give ``p_corrected``, Nadeau and Bengio's corrected resampled
        t-test of the same pairs (:func:`benchgrid.corrected_ttest`: the
        variance times ``1/N + n_test/n_train`` instead of ``1/N``, with
        ``n_test/n_train`` the mean over the paired rows, else
        ``1/(N-1)``), which allows for training sets that overlap between
        folds. The default tables are mlr3resampling's, unchanged.

    Returns
    -------
    PValue
        ``.stats`` per train subset, ``.comparisons`` per comparison,
        :func:`benchgrid.plot_pvalue` draws them.

    Examples
    --------
    >>> import pandas as pd
    >>> from benchgrid import pvalue
    >>> rows = [dict(task_id="t", algorithm="tree", **{"test.subset": "A"},
    ...              **{"train.subsets": ts, "test.fold": f}, rmse=v)
    ...         for ts, vals in [("same", [1.0, 2.0, 3.0]), ("other", [2.0, 4.0, 5.0])]
    ...         for f, v in zip([1, 2, 3], vals)]
    >>> pv = pvalue(pd.DataFrame(rows))
    >>> row = pv.comparisons.iloc[0]
    >>> print(row["comparison"], f"{row['mean_diff']:.4f}", f"{row['p_paired']:.4f}")
    other-same 1.6667 0.0377
    """
    import pandas as pd

    if not isinstance(corrected, bool):
        raise InputError(f"corrected must be True or False, got {corrected!r}")
    df, measure = check_scores(scores, measure)
    if {"groups", "n.train.groups"} <= set(df.columns):
        if n_train_groups is None:
            df = df[df["n.train.groups"] == df["groups"]]
        else:
            df = df[df["n.train.groups"] == n_train_groups]
    elif n_train_groups is not None:
        raise InputError("n_train_groups needs columns groups and n.train.groups in scores, "
                         f"got {n_train_groups!r} without them")
    if len(df) == 0:
        raise InputError(f"scores has no rows with n.train.groups={n_train_groups!r}")
    df = df.assign(_value=df[measure].astype(float))
    df = df[df["_value"].notna()]  # a measure that failed in a job (NaN) pairs with nothing
    keys = [*(["resampling_id"] if "resampling_id" in df.columns else []), *KEYS]

    stats = (
        df.groupby([*keys, "train.subsets"], sort=False)["_value"]
        .agg(mean="mean", sd="std", n="count")
        .reset_index()
    )
    pair_on = ["test.fold", "seed"] if "seed" in df.columns else ["test.fold"]
    rows = []
    for key, part in df.groupby(keys, sort=False):
        same = part[part["train.subsets"] == "same"][[*pair_on, "_value"]]
        for ts in COMPARE:
            comp = part[part["train.subsets"] == ts][[*pair_on, "_value"]]
            if len(comp) == 0:
                continue
            both = comp.merge(same, on=pair_on, suffixes=("_c", "_s"))
            c, s = both["_value_c"].to_numpy(), both["_value_s"].to_numpy()
            p_paired, p_unpaired = _ttests(c, s)
            extra = {}
            if corrected:
                extra["p_corrected"] = _corrected(c, s, pd.concat([part[part["train.subsets"] == ts], part[
                    part["train.subsets"] == "same"]]))
            rows.append({
                **dict(zip(keys, key)),
                "comparison": f"{ts}-same", "train.subsets": ts,
                "mean_diff": float(np.mean(c - s)) if len(c) else float("nan"),
                "p_paired": p_paired, "p_unpaired": p_unpaired,
                "same_mean": float(np.mean(s)) if len(s) else float("nan"),
                "compare_mean": float(np.mean(c)) if len(c) else float("nan"),
                "N": len(c), **extra,
            })
    columns = [*keys, "comparison", "train.subsets", "mean_diff", "p_paired",
               "p_unpaired", "same_mean", "compare_mean", "N", *(["p_corrected"] if corrected else [])]
    return PValue(measure, stats, pd.DataFrame(rows, columns=columns), n_train_groups)
