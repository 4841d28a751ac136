"""Hand known scikit-learn estimators the float array they would make from a DataFrame.

scikit-learn's input checks of a DataFrame (its dtypes, its feature names,
the conversion to an array) cost more than fitting a small tree: on the
150-row tasks of ``benchmarks/bench_vs_peers.py`` a decision tree's job takes
2.4 ms from a DataFrame and 1.0 ms from an array. Like mlr3's learners, which
convert a task's data to the form their library works on, a job gives its
learner the array itself when nothing else can differ:

- the learner's class is one of :data:`NATIVE_CLASSES`, exactly (not a
  subclass, not a pipeline): estimators whose ``fit`` and ``predict`` only
  turn X into an array, and never read column names or dtypes (no
  ``ColumnTransformer``, no ``HistGradientBoosting*``, which reads
  categorical dtypes);
- every feature column is ``float64`` and named by a string, so
  ``np.asarray(X)`` is the float64 array scikit-learn would build itself,
  and the columns are one block of memory, so that array is a view and a
  worker's cache of the task holds no second copy (a task read from
  Parquet is one block);
- the rows are taken in the memory order ``np.asarray(X.iloc[rows])`` has
  (Fortran order), so even BLAS sums run in the same order.

Scores, predictions and warnings are then the same bit for bit
(``tests/ml/test_native.py`` checks each class). A fitted model kept with
``save_models`` must know its feature names, so those jobs pass the
DataFrame.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from sklearn.tree import DecisionTreeRegressor
>>> X = pd.DataFrame({"x": [0.0, 1.0, 2.0]})
>>> takes_native(DecisionTreeRegressor()), native_array(X).dtype
(True, dtype('float64'))
>>> native_rows(native_array(X), np.array([2, 0])).ravel().tolist()
[2.0, 0.0]
>>> native_array(X.astype("float32")) is None
True
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

__all__ = ["NATIVE_CLASSES", "takes_native", "native_array", "native_rows"]

# public module -> classes whose fit/predict only call np.asarray-like checks on X
NATIVE_CLASSES: dict[str, tuple[str, ...]] = {
    "sklearn.dummy": ("DummyRegressor", "DummyClassifier"),
    "sklearn.tree": (
        "DecisionTreeRegressor", "DecisionTreeClassifier", "ExtraTreeRegressor", "ExtraTreeClassifier",
    ),
    "sklearn.ensemble": (
        "RandomForestRegressor", "RandomForestClassifier", "ExtraTreesRegressor", "ExtraTreesClassifier",
        "GradientBoostingRegressor", "GradientBoostingClassifier",
    ),
    "sklearn.linear_model": (
        "LinearRegression", "Ridge", "Lasso", "ElasticNet", "LogisticRegression",
    ),
    "sklearn.neighbors": ("KNeighborsRegressor", "KNeighborsClassifier"),
}  # fmt: skip

_known: dict[type, bool] = {}


def takes_native(estimator: Any) -> bool:
    """Whether ``estimator``'s class is exactly one of :data:`NATIVE_CLASSES`."""
    cls = type(estimator)
    known = _known.get(cls)
    if known is None:
        known = _known[cls] = any(
            getattr(sys.modules.get(module), name, None) is cls
            for module, names in NATIVE_CLASSES.items()
            for name in names
        )
    return known


def native_array(X: Any) -> np.ndarray | None:
    """The float64 array scikit-learn would build from DataFrame ``X``, or None if it might differ.

    None unless every column is ``float64`` with a string name and the array
    is a view of the frame's one block, in Fortran order (as pandas gives it).
    """
    import pandas as pd

    if not isinstance(X, pd.DataFrame) or X.shape[1] == 0:
        return None
    if not all(isinstance(c, str) for c in X.columns):
        return None
    if not all(isinstance(dt, np.dtype) and dt == np.float64 for dt in X.dtypes):  # no extension dtypes
        return None
    out = np.asarray(X)
    if out.dtype != np.float64 or out.ndim != 2 or not out.flags.f_contiguous:
        return None
    if not np.shares_memory(out, np.asarray(X)):  # a copy each time: the frame holds several blocks
        return None  # keeping a copy per task would double a worker's memory; sklearn copies per job
    return out


def native_rows(A: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``np.asarray(X.iloc[rows])`` from ``A = native_array(X)``: the same values in the same order.

    One copy, made in Fortran order as pandas makes it.
    """
    out = np.empty((len(rows), A.shape[1]), dtype=A.dtype, order="F")
    np.take(A, rows, axis=0, out=out)
    return out
