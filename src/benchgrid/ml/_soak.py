"""SOAK: Same/Other/All K-fold cross-validation as a scikit-learn splitter.

The rules follow mlr3resampling's ``ResamplingSameOtherSizesCV`` (Hocking et
al., arXiv 2410.08643); ``docs/soak.md`` explains them and where benchgrid
differs. Everything is computed by :meth:`SOAK.iter_splits`; ``split``,
``get_n_splits`` and ``split_table`` are views of it.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.model_selection import BaseCrossValidator
from sklearn.utils import check_random_state

from .._errors import InputError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["SOAK", "META_COLUMNS"]

#: Metadata columns of one SOAK iteration, in the order of mlr3resampling.
META_COLUMNS = (
    "test.subset",
    "train.subsets",
    "groups",
    "test.fold",
    "seed",
    "n.train.groups",
    "iteration",
)
# Iteration order of train subsets: alphabetical, as mlr3resampling's setkey.
_TRAIN_SUBSETS = ("all", "other", "same")
_LETTER = {"S": "same", "O": "other", "A": "all"}
Meta = dict[str, Any]


def _is_int(x: object) -> bool:
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


class SOAK(BaseCrossValidator):
    """Same/Other/All K-fold cross-validation (SOAK), with down-sampling.

    For each test fold and test subset (a person, year, site ...) it trains
    on the *same* subset, on the *other* subsets, and on *all* of them, so a
    comparison of the scores shows whether other subsets predict this one as
    well as its own data does. Optional down-sampled train sets of equal
    size separate the effect of the kind of data from the amount of data.

    Parameters
    ----------
    folds : int, default=3
        Number of folds K (>= 2). Ignored when ``split`` gets a ``fold``
        column: then its distinct values are the folds.
    seeds : int, default=1
        Number of random orders used to down-sample; every iteration is
        repeated for ``seed`` = 1 .. ``seeds``.
    ratio : float, default=0.5
        Ratio between successive down-sampled sizes, in (0, 1).
    sizes : int, default=-1
        -1: no down-sampling. 0: add the smallest full train size among the
        train subsets of the test subset. k >= 1: the candidate sizes are
        the full sizes of every train subset in ``subsets`` and
        ``int(smallest * ratio**i)`` for i = 1 .. k; each iteration uses
        the candidates up to its own full size, ascending.
    subsets : str, default="SOA"
        Which train subsets to use: letters S (same), O (other), A (all).
        With a single subset in the data only "same" exists.
    ignore_subset : bool, default=False
        Treat the data as one subset named "full".
    random_state : int, RandomState instance or None, default=None
        Controls the fold assignment and the down-sampling order. Pass an
        int for splits that are the same on every call.

    See Also
    --------
    benchgrid.pvalue : p-values comparing the train subsets.

    Notes
    -----
    ``split`` yields only (train, test); :meth:`iter_splits` also yields each
    iteration's metadata and :meth:`split_table` returns all of it as a
    DataFrame with columns ``test.subset, train.subsets, groups, test.fold,
    seed, n.train.groups, iteration, n_train, n_test``.

    For :func:`sklearn.model_selection.cross_validate` with metadata routing
    enabled, request the extra columns:
    ``SOAK().set_split_request(subset=True)`` and pass
    ``params={"subset": ...}``; ``groups`` is requested by default.

    Examples
    --------
    >>> import numpy as np
    >>> from benchgrid import SOAK
    >>> person = np.repeat(["Alice", "Bob"], 40)
    >>> soak = SOAK(folds=3, random_state=0)
    >>> soak.get_n_splits(np.zeros((80, 1)), subset=person)
    18
    >>> table = soak.split_table(np.zeros((80, 1)), subset=person, stratum=person)
    >>> table.groupby("train.subsets")["groups"].first().to_dict()
    {'all': 52, 'other': 26, 'same': 26}
    """

    # groups is routed to split by default, like sklearn's GroupKFold.
    __metadata_request__split = {"groups": True}

    def __init__(
        self,
        folds: int = 3,
        seeds: int = 1,
        ratio: float = 0.5,
        sizes: int = -1,
        subsets: str = "SOA",
        ignore_subset: bool = False,
        random_state: int | np.random.RandomState | None = None,
    ) -> None:
        self.folds = folds
        self.seeds = seeds
        self.ratio = ratio
        self.sizes = sizes
        self.subsets = subsets
        self.ignore_subset = ignore_subset
        self.random_state = random_state
        self._check_params()

    def __repr__(self) -> str:
        return (
            f"SOAK(folds={self.folds!r}, seeds={self.seeds!r}, ratio={self.ratio!r}, "
            f"sizes={self.sizes!r}, subsets={self.subsets!r}, "
            f"ignore_subset={self.ignore_subset!r}, random_state={self.random_state!r})"
        )

    # ------------------------------------------------------------------ checks
    def _check_params(self) -> None:
        if not _is_int(self.folds) or self.folds < 2:
            raise InputError(f"folds must be an integer >= 2, got {self.folds!r}")
        if not _is_int(self.seeds) or self.seeds < 1:
            raise InputError(f"seeds must be an integer >= 1, got {self.seeds!r}")
        if (
            not isinstance(self.ratio, numbers.Real)
            or isinstance(self.ratio, bool)
            or not 0 < float(self.ratio) < 1
        ):
            raise InputError(
                f"ratio must be a number strictly between 0 and 1, got {self.ratio!r}"
            )
        if not _is_int(self.sizes) or self.sizes < -1:
            raise InputError(
                f"sizes must be an integer >= -1 (-1 = no down-sampling), got {self.sizes!r}"
            )
        s = self.subsets
        if (
            not isinstance(s, str)
            or not s
            or set(s) - set(_LETTER)
            or len(set(s)) != len(s)
        ):
            raise InputError(
                "subsets must be a non-empty string of distinct letters from "
                f"'S' (same), 'O' (other), 'A' (all), e.g. 'SOA', got {s!r}"
            )
        if not isinstance(self.ignore_subset, (bool, np.bool_)):
            raise InputError(
                f"ignore_subset must be True or False, got {self.ignore_subset!r}"
            )
        rs = self.random_state
        if not (rs is None or _is_int(rs) or isinstance(rs, np.random.RandomState)):
            raise InputError(
                "random_state must be None, an int or a numpy RandomState, "
                f"got {rs!r}"
            )

    # ------------------------------------------------------------- public API
    def split(  # type: ignore[override]
        self,
        X: Any,
        y: Any = None,
        groups: Any = None,
        *,
        subset: Any = None,
        stratum: Any = None,
        fold: Any = None,
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Generate (train, test) row indices for each SOAK iteration.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Only its number of rows is used, or its columns when ``groups``,
            ``subset``, ``stratum`` or ``fold`` name columns of a DataFrame.
        y : ignored
        groups : array-like of shape (n_samples,) or str, optional
            Rows of one group are never split between folds (default: each
            row its own group).
        subset : array-like of shape (n_samples,) or str, optional
            The subset (person, year, site ...) of each row.
        stratum : array-like of shape (n_samples,) or (n_samples, k), str or
            list of str, optional. Folds keep the proportions of each
            combination of stratum values.
        fold : array-like of shape (n_samples,) or str, optional
            A fold per row, used verbatim; constant within each group.

        Yields
        ------
        train, test : ndarray of int
            Row indices (sorted).

        Examples
        --------
        >>> import numpy as np
        >>> from benchgrid import SOAK
        >>> s = ["a"] * 6 + ["b"] * 6
        >>> soak = SOAK(folds=2, random_state=1)
        >>> train, test = next(soak.split(np.zeros(12), subset=s, stratum=s))
        >>> len(train), len(test)
        (6, 3)
        """
        for train, test, _ in self.iter_splits(
            X, y, groups, subset=subset, stratum=stratum, fold=fold
        ):
            yield train, test

    def get_n_splits(  # type: ignore[override]
        self,
        X: Any = None,
        y: Any = None,
        groups: Any = None,
        *,
        subset: Any = None,
        stratum: Any = None,
        fold: Any = None,
    ) -> int:
        """Return the number of iterations ``split`` yields for this data.

        The count depends on the data (subsets, folds, sizes), so ``X`` and
        the same keyword arguments as :meth:`split` are required.

        Examples
        --------
        >>> import numpy as np
        >>> from benchgrid import SOAK
        >>> SOAK(folds=3, subsets="SO", random_state=0).get_n_splits(
        ...     np.zeros(30), subset=np.repeat([1, 2], 15))
        12
        """
        if X is None:
            raise InputError(
                "X must be given to SOAK.get_n_splits (the number of iterations "
                "depends on the data), got None; pass the same X, groups, "
                "subset, stratum and fold as to split"
            )
        return len(self._plan(X, groups, subset, stratum, fold, warn=False))

    def iter_splits(
        self,
        X: Any,
        y: Any = None,
        groups: Any = None,
        *,
        subset: Any = None,
        stratum: Any = None,
        fold: Any = None,
    ) -> Iterator[tuple[np.ndarray, np.ndarray, Meta]]:
        """Like :meth:`split`, also yielding each iteration's metadata dict.

        The dict has the keys of :data:`META_COLUMNS`: ``test.subset``,
        ``train.subsets`` ("all", "other", "same"), ``groups`` (theoretical
        train size in groups), ``test.fold``, ``seed``, ``n.train.groups``
        (the size after down-sampling) and ``iteration`` (1-based).

        Examples
        --------
        >>> import numpy as np
        >>> from benchgrid import SOAK
        >>> it = SOAK(folds=2, random_state=0).iter_splits(np.zeros(8), subset=list("aaaabbbb"))
        >>> train, test, meta = next(it)
        >>> meta["train.subsets"], meta["groups"], meta["iteration"]
        ('all', 4, 1)
        """
        yield from self._plan(X, groups, subset, stratum, fold, warn=True)

    def split_table(
        self,
        X: Any,
        y: Any = None,
        groups: Any = None,
        *,
        subset: Any = None,
        stratum: Any = None,
        fold: Any = None,
    ) -> pd.DataFrame:
        """Return the metadata of every iteration as a DataFrame.

        Columns: :data:`META_COLUMNS` plus ``n_train`` and ``n_test`` (rows).

        Examples
        --------
        >>> import numpy as np
        >>> from benchgrid import SOAK
        >>> t = SOAK(folds=2, random_state=0).split_table(np.zeros(8), subset=list("aaaabbbb"))
        >>> list(t.columns[:3]), len(t)
        (['test.subset', 'train.subsets', 'groups'], 12)
        """
        import pandas as pd

        rows = [
            {**meta, "n_train": len(train), "n_test": len(test)}
            for train, test, meta in self.iter_splits(
                X, y, groups, subset=subset, stratum=stratum, fold=fold
            )
        ]
        return pd.DataFrame(rows, columns=[*META_COLUMNS, "n_train", "n_test"])

    # ---------------------------------------------------------------- the work
    def _plan(
        self, X: Any, groups: Any, subset: Any, stratum: Any, fold: Any, *, warn: bool
    ) -> list[tuple[np.ndarray, np.ndarray, Meta]]:
        self._check_params()
        n = _n_rows(X)
        rng = check_random_state(self.random_state)
        levels, sub = _subset_codes(
            None if self.ignore_subset else _column("subset", subset, X, n), n
        )
        group = _codes(_column("groups", groups, X, n), n)
        strat = _stratum_codes(stratum, X, n)
        fold_values, fold_code = self._folds(_column("fold", fold, X, n), group, strat, rng)
        K = len(fold_values)

        # theoretical train sizes, in groups, per test subset
        full = np.array(
            [len(np.unique(group[sub == s])) for s in range(len(levels))], dtype=np.int64
        )
        same = full * (K - 1) // K
        theory = {"same": same, "all": np.full_like(same, same.sum())}
        theory["other"] = theory["all"] - same
        chosen = (
            ["same"]
            if len(levels) == 1
            else [t for t in _TRAIN_SUBSETS if any(_LETTER[c] == t for c in self.subsets)]
        )

        out: list[tuple[np.ndarray, np.ndarray, Meta]] = []
        dropped: list[Meta] = []
        # row masks computed once (a task of 150 rows spends its time in numpy calls, not in rows)
        in_sub = [sub == s for s in range(len(levels))]
        in_fold = [fold_code == f for f in range(K)]
        shape = (int(group.max()) + 1, int(strat.max()) + 1) if n else (0, 0)
        for ts in chosen:
            for f in range(K):
                not_fold = ~in_fold[f]
                for s in range(len(levels)):
                    test = np.flatnonzero(in_fold[f] & in_sub[s])
                    if len(test) == 0:
                        continue
                    if ts == "same":
                        base = np.flatnonzero(in_sub[s] & not_fold)
                    elif ts == "other":
                        base = np.flatnonzero(~in_sub[s] & not_fold)
                    else:
                        base = np.flatnonzero(not_fold)
                    max_size = int(theory[ts][s])
                    n_list = self._sizes(max_size, [int(theory[t][s]) for t in chosen])
                    for seed in range(1, self.seeds + 1):
                        keep = _nested_groups(base, group, strat, max_size, n_list, rng, shape)
                        for n_groups, train in zip(n_list, keep):
                            meta = {
                                "test.subset": _scalar(levels[s]),
                                "train.subsets": ts,
                                "groups": max_size,
                                "test.fold": _scalar(fold_values[f]),
                                "seed": seed,
                                "n.train.groups": n_groups,
                            }
                            if len(train) == 0:
                                dropped.append(meta)
                                continue
                            meta["iteration"] = len(out) + 1
                            out.append((train, test, meta))
        if dropped and warn:
            first = ", ".join(f"{k}={v!r}" for k, v in dropped[0].items())
            warnings.warn(
                f"SOAK dropped {len(dropped)} iteration(s) whose train set is empty "
                f"(first: {first}); use fewer folds, fewer sizes or a larger ratio "
                "to keep them",
                UserWarning,
                stacklevel=3,
            )
        return out

    def _sizes(self, max_size: int, full_sizes: list[int]) -> list[int]:
        """Train sizes (in groups) of one iteration, in iteration order.

        ``full_sizes`` are the full sizes of every chosen train subset for
        this test subset. As in mlr3resampling: the candidates are those full
        sizes plus ``int(min(full_sizes) * ratio**i)`` for i = 1 .. sizes,
        without duplicates; an iteration keeps the ones <= its own full size,
        ascending. ``sizes=0`` gives the full size, then the smallest one.

        Examples
        --------
        >>> SOAK(sizes=2, ratio=0.5)._sizes(48, [15, 33, 48])
        [3, 7, 15, 33, 48]
        >>> SOAK(sizes=2, ratio=0.5)._sizes(15, [15, 33, 48])
        [3, 7, 15]
        >>> SOAK(sizes=0)._sizes(33, [15, 33, 48])
        [33, 15]
        """
        smallest = min(full_sizes)
        if self.sizes == -1:
            return [max_size]
        if self.sizes == 0:
            return [max_size] if smallest == max_size else [max_size, smallest]
        extra = [int(smallest * float(self.ratio) ** i) for i in range(1, self.sizes + 1)]
        return sorted({s for s in (*full_sizes, *extra) if s <= max_size})

    def _folds(
        self,
        fold: np.ndarray | None,
        group: np.ndarray,
        strat: np.ndarray,
        rng: np.random.RandomState,
    ) -> tuple[list[Any], np.ndarray]:
        """Fold values (sorted) and each row's index into them."""
        if fold is None:
            return list(range(1, self.folds + 1)), _greedy_folds(group, strat, self.folds, rng)
        values, code = _sorted_codes(fold)
        per_group = np.zeros(group.max() + 1, dtype=np.int64) - 1
        per_group[group] = code
        bad = np.flatnonzero(per_group[group] != code)
        if len(bad):
            r = int(bad[0])
            raise InputError(
                "fold must be constant within each group, got several folds for the "
                f"group of row {r} (fold {_scalar(fold[r])!r}); give every row of a "
                "group the same fold"
            )
        if len(values) < 2:
            raise InputError(
                f"fold must have at least 2 distinct values, got {len(values)}: "
                f"{[_scalar(v) for v in values]!r}"
            )
        return [_scalar(v) for v in values], code


# ----------------------------------------------------------------- helpers
def _n_rows(X: Any) -> int:
    if X is None:
        raise InputError("X must be an array-like with one row per sample, got None")
    shape = getattr(X, "shape", None)
    n = shape[0] if shape is not None and len(shape) else len(X)
    if n < 1:
        raise InputError(f"X must have at least 1 row, got {n}")
    return int(n)


def _column(name: str, value: Any, X: Any, n: int) -> np.ndarray | None:
    """One value per row, from an array-like or a column name of X."""
    if value is None:
        return None
    if isinstance(value, str):
        cols = getattr(X, "columns", None)
        if cols is None or value not in cols:
            raise InputError(
                f"{name} must be an array-like or a column name of the DataFrame X, "
                f"got {value!r}"
            )
        value = X[value]
    arr = np.asarray(value, dtype=object) if not hasattr(value, "dtype") else value
    if getattr(arr, "ndim", 1) != 1 or len(arr) != n:
        raise InputError(
            f"{name} must have one value per row of X ({n}), got shape "
            f"{np.shape(arr)!r}"
        )
    if _has_missing(arr):
        raise InputError(f"{name} must have no missing values, got some in {name}")
    return arr  # type: ignore[no-any-return]


def _has_missing(arr: Any) -> bool:
    """Whether any value is missing (NaN, None, NaT, pd.NA), as ``pd.isna`` says."""
    if isinstance(arr, np.ndarray) and arr.dtype.kind in "iub":
        return False  # integers and booleans cannot be missing
    import pandas as pd

    return bool(pd.isna(arr).any())


def _codes(values: np.ndarray | None, n: int) -> np.ndarray:
    if values is None:
        return np.arange(n)
    import pandas as pd

    return pd.factorize(pd.Series(values), sort=False)[0].astype(np.int64)


def _sorted_codes(values: Any) -> tuple[list[Any], np.ndarray]:
    """Levels in categorical order when categorical, else sorted when sortable."""
    import pandas as pd

    ser = pd.Series(values)
    if isinstance(ser.dtype, pd.CategoricalDtype):
        used = ser.cat.remove_unused_categories()  # the used levels, in categorical order
        return list(used.cat.categories), used.cat.codes.to_numpy(np.int64)
    first_code, first_seen = pd.factorize(ser, sort=False)
    levels = list(first_seen)
    try:
        order = sorted(range(len(levels)), key=levels.__getitem__)
    except TypeError:
        return levels, first_code.astype(np.int64)  # mixed types: keep order of first appearance
    rank = np.empty(len(levels), dtype=np.int64)
    rank[order] = np.arange(len(levels))
    return [levels[i] for i in order], rank[first_code]


def _subset_codes(values: np.ndarray | None, n: int) -> tuple[list[Any], np.ndarray]:
    if values is None:
        return ["full"], np.zeros(n, dtype=np.int64)
    return _sorted_codes(values)


def _stratum_codes(stratum: Any, X: Any, n: int) -> np.ndarray:
    if stratum is None:
        return np.zeros(n, dtype=np.int64)
    import pandas as pd

    if isinstance(stratum, str) or (
        isinstance(stratum, Sequence)
        and len(stratum) > 0
        and all(isinstance(s, str) for s in stratum)
        and len(stratum) != n
    ):
        names = [stratum] if isinstance(stratum, str) else list(stratum)
        columns = [_column("stratum", c, X, n) for c in names]
    else:
        arr = np.asarray(stratum, dtype=object) if not hasattr(stratum, "ndim") else stratum
        if arr.ndim == 1:
            columns = [_column("stratum", arr, X, n)]
        elif arr.ndim == 2 and arr.shape[0] == n:
            frame = pd.DataFrame(np.asarray(arr, dtype=object))
            if frame.isna().any().any():
                raise InputError("stratum must have no missing values, got some in stratum")
            columns = [frame[c] for c in frame.columns]
        else:
            raise InputError(
                f"stratum must have one value (or one row of values) per row of X "
                f"({n}), got shape {np.shape(arr)!r}"
            )
    # each distinct row (combination of values) numbered in order of first appearance
    code = np.zeros(n, dtype=np.int64)
    for col in columns:
        col_code, col_levels = pd.factorize(col, sort=False)
        code = pd.factorize(code * len(col_levels) + col_code, sort=False)[0]  # stays below n: no overflow
    return code.astype(np.int64)


def _greedy_folds(
    group: np.ndarray, strat: np.ndarray, K: int, rng: np.random.RandomState
) -> np.ndarray:
    """Fold index (0-based) per row: whole groups, balanced rows per stratum.

    Within each stratum, groups (in random order, then largest first) go to
    the fold with the fewest rows so far; ties go by a random fold order.
    A group spanning strata counts in the stratum of its first row.
    """
    n_groups = int(group.max()) + 1
    size = np.bincount(group, minlength=n_groups)
    first_row = np.full(n_groups, len(group))
    np.minimum.at(first_row, group, np.arange(len(group)))
    group_stratum = strat[first_row]
    fold_of_group = np.zeros(n_groups, dtype=np.int64)
    for st in np.unique(group_stratum):
        g = np.flatnonzero(group_stratum == st)
        g = g[rng.permutation(len(g))]
        g = g[np.argsort(-size[g], kind="stable")]
        order = rng.permutation(K).tolist()
        load = [0] * K
        sizes = size[g].tolist()
        chosen = []
        for n_rows in sizes:  # plain ints: one numpy call per group was most of the time
            j = min(order, key=load.__getitem__)  # the first of the least loaded, in ``order``
            chosen.append(j)
            load[j] += n_rows
        fold_of_group[g] = chosen
    return fold_of_group[group]  # type: ignore[no-any-return]


def _nested_groups(
    base: np.ndarray,
    group: np.ndarray,
    strat: np.ndarray,
    max_size: int,
    n_list: list[int],
    rng: np.random.RandomState,
    shape: tuple[int, int] | None = None,
) -> list[np.ndarray]:
    """Train rows for each size in n_list; smaller sets nest in larger ones.

    The distinct (group, stratum) pairs of ``base`` are shuffled; the k-th of
    the L pairs of a stratum gets value max_size*k/L, and size n keeps the
    groups of pairs with value <= n (compared in integers: exact).
    ``shape`` is (number of groups, number of strata), when the caller knows it.
    """
    if len(base) == 0:
        return [base for _ in n_list]
    n_groups_all, n_strata = shape if shape is not None else (int(group.max()) + 1, int(strat.max()) + 1)
    # distinct pairs by marking (np.unique hashes and sorts: slow on 1e5 rows)
    seen = np.zeros(n_groups_all * n_strata, dtype=bool)
    seen[group[base] * n_strata + strat[base]] = True
    pairs = np.flatnonzero(seen)
    pairs = pairs[rng.permutation(len(pairs))]
    pair_stratum = pairs % n_strata
    order = np.argsort(pair_stratum, kind="stable")
    n_pairs = len(pairs)
    sorted_st = pair_stratum[order]
    first = np.empty(n_pairs, dtype=bool)  # where each stratum's run starts in sorted order
    first[0] = True
    np.not_equal(sorted_st[1:], sorted_st[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    counts = np.empty(len(starts), dtype=np.int64)
    counts[:-1] = starts[1:] - starts[:-1]
    counts[-1] = n_pairs - starts[-1]
    k = np.empty(n_pairs, dtype=np.int64)
    L = np.empty(n_pairs, dtype=np.int64)
    k[order] = np.arange(n_pairs) - np.repeat(starts, counts) + 1
    L[order] = np.repeat(counts, counts)
    out = []
    for n_groups in n_list:
        kept = np.zeros(n_groups_all, dtype=bool)
        kept[pairs[max_size * k <= n_groups * L] // n_strata] = True
        out.append(base[kept[group[base]]])
    return out


def _scalar(v: Any) -> Any:
    """numpy scalars -> Python scalars, so metadata prints and compares cleanly."""
    return v.item() if isinstance(v, np.generic) else v
