"""A learning task: data, a target, features and mlr3-style column roles."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from .._errors import InputError
from ._ids import check_id, digest
from ._native import native_array

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Task", "ROLES", "TASK_TYPES"]

#: Column roles a task may give, as in mlr3 (``fold`` is a user-given fold id).
ROLES = ("subset", "stratum", "group", "fold")
TASK_TYPES = ("regression", "classification")

_UNSET = object()  # native_X not computed yet (None means: no native array)


class Task:
    """Data to learn from: a target, features and optional column roles.

    Parameters
    ----------
    data : pandas.DataFrame or array-like of shape (n_rows, n_features)
        The rows. With a DataFrame, ``target``, ``features`` and the roles
        are column names; with an array, ``target`` is the array ``y`` and
        each role is an array of length ``n_rows``.
    target : str or array-like
        The column (or array) to predict. It must have no missing value.
    features : list of str, optional
        Columns given to the learner. Default: every column that is not
        the target or a role column.
    subset, stratum, group, fold : str or array-like, optional
        Column roles. ``subset`` is what SOAK compares (same / other / all);
        ``stratum`` is passed as ``y`` to the splitter so that stratified
        splitters keep its proportions; ``group`` is passed as ``groups``
        (rows of one group are never split between train and test by a
        group splitter); ``fold`` is a user-given fold id per row, used when
        ``cv`` is None (each fold is the test set once).
    task_type : {"regression", "classification"}, optional
        Inferred from the target when not given: sklearn's
        ``type_of_target`` "continuous" means regression, "binary" or
        "multiclass" means classification (so integer targets are classes;
        pass ``task_type="regression"`` for counts).
    id : str, optional
        The task id; by default the key of the dict the task is given in.

    Examples
    --------
    >>> import pandas as pd
    >>> import benchgrid as bg
    >>> df = pd.DataFrame({"x": [0.0, 1, 2, 3], "y": [0.1, 1.2, 3.9, 9.1],
    ...                    "person": ["A", "A", "B", "B"]})
    >>> task = bg.Task(df, target="y", features=["x"], subset="person")
    >>> task
    Task(n_rows=4, target='y', features=['x'], task_type='regression', subset='person')
    """

    def __init__(
        self,
        data: Any,
        target: Any = None,
        features: Sequence[str] | None = None,
        *,
        subset: Any = None,
        stratum: Any = None,
        group: Any = None,
        fold: Any = None,
        task_type: str | None = None,
        id: str | None = None,
    ) -> None:
        import pandas as pd

        roles_in = {"subset": subset, "stratum": stratum, "group": group, "fold": fold}
        if isinstance(data, pd.DataFrame):
            self.from_arrays = False
            df, target_col, roles = _from_frame(data, target, roles_in)
        else:
            self.from_arrays = True
            df, target_col, roles = _from_arrays(data, target, roles_in)
        self.target: str = target_col
        self.roles: dict[str, str] = roles
        self.features: list[str] = _check_features(df, target_col, roles, features)
        keep = list(dict.fromkeys([*self.features, target_col, *roles.values()]))
        self.data: pd.DataFrame = df[keep].reset_index(drop=True)
        self.id: str | None = None if id is None else check_id("task id", id)
        _check_no_missing(self.data, target_col, "target")
        for role, col in roles.items():
            _check_no_missing(self.data, col, role)
        if len(self.data) < 2:
            raise InputError(
                f"data must have at least 2 rows to split into train and test, "
                f"got {len(self.data)}; pass more rows"
            )
        self.task_type: str = _task_type(self.data[target_col], task_type)
        self._key: str | None = None
        self._X: Any = None
        self._y: np.ndarray | None = None
        self._native: Any = _UNSET

    @classmethod
    def _restore(cls, data: pd.DataFrame, info: dict[str, Any], task_id: str, key: str) -> Task:
        """Rebuild a task stored by a project, without checking it again.

        It was checked at creation; a worker loads many tasks and should not
        pay for that twice.
        """
        self = cls.__new__(cls)
        self.data = data
        self.target = info["target"]
        self.features = list(info["features"])
        self.roles = dict(info["roles"])
        self.task_type = info["task_type"]
        self.from_arrays = bool(info["from_arrays"])
        self.id = task_id
        self._key, self._X, self._y, self._native = key, None, None, _UNSET
        return self

    # -- views a learner and a splitter use ---------------------------------
    @property
    def n_rows(self) -> int:
        """Number of rows."""
        return len(self.data)

    @property
    def X(self) -> Any:
        """The features: a DataFrame, or an ndarray if the task was built from arrays."""
        if self._X is None:  # cached: a worker indexes it once per job
            # the frame data[features] gives, in a quarter of its time (pandas 3, string column names)
            X = self.data.take(self.data.columns.get_indexer(self.features), axis=1)
            self._X = X.to_numpy() if self.from_arrays else X
        return self._X

    @property
    def native_X(self) -> np.ndarray | None:
        """X as the float64 array scikit-learn would make of it, or None (see :mod:`._native`)."""
        if self._native is _UNSET:
            self._native = native_array(self.X)
        return self._native  # type: ignore[no-any-return]

    @property
    def y(self) -> np.ndarray:
        """The target as an ndarray."""
        if self._y is None:
            self._y = self.data[self.target].to_numpy()
        return self._y

    def role(self, name: str) -> np.ndarray | None:
        """Values of the column with role ``name`` as an ndarray, or None."""
        col = self.roles.get(name)
        return None if col is None else self.data[col].to_numpy()

    @property
    def key(self) -> str:
        """Content key: a hash of the data, the column roles and the task type."""
        if self._key is None:
            import pandas as pd

            header = {
                "target": self.target,
                "features": self.features,
                "roles": self.roles,
                "task_type": self.task_type,
                "from_arrays": self.from_arrays,
                "columns": list(self.data.columns),
                "dtypes": [str(t) for t in self.data.dtypes],
            }
            rows = pd.util.hash_pandas_object(self.data, index=False).to_numpy()
            self._key = digest(header, rows.tobytes(), n_hex=12)
        return self._key

    def describe(self) -> dict[str, Any]:
        """A JSON-able summary (kept in project metadata)."""
        return {
            "key": self.key,
            "task_type": self.task_type,
            "n_rows": self.n_rows,
            "target": self.target,
            "features": self.features,
            "roles": self.roles,
        }

    def __repr__(self) -> str:
        roles = "".join(f", {r}={c!r}" for r, c in self.roles.items())
        feats = self.features if len(self.features) <= 5 else [*self.features[:5], "..."]
        return (
            f"Task(n_rows={self.n_rows}, target={self.target!r}, features={feats!r}, "
            f"task_type={self.task_type!r}{roles})"
        )


def _from_frame(data: pd.DataFrame, target: Any, roles_in: dict[str, Any]):
    bad = [c for c in data.columns if not isinstance(c, str)]
    if bad:
        raise InputError(
            f"data column names must be strings, got {bad[0]!r}; "
            "rename them, e.g. data.columns = data.columns.astype(str)"
        )
    if data.columns.duplicated().any():
        dup = data.columns[data.columns.duplicated()][0]
        raise InputError(f"data column names must be unique, got {dup!r} twice; rename one")
    _check_column(data, "target", target)
    roles = {}
    for role, col in roles_in.items():
        if col is not None:
            roles[role] = _check_column(data, role, col)
    return data, target, roles


def _check_column(data: pd.DataFrame, param: str, col: Any) -> str:
    if not isinstance(col, str) or col not in data.columns:
        cols = list(data.columns)
        shown = cols if len(cols) <= 10 else [*cols[:10], "..."]
        raise InputError(
            f"{param} must name a column of data, got {col!r}; columns are {shown}"
        )
    return col


def _from_arrays(data: Any, target: Any, roles_in: dict[str, Any]):
    import pandas as pd

    X = np.asarray(data)
    if X.ndim != 2:
        raise InputError(
            f"data must be a pandas DataFrame or a 2-D array, got an array of shape "
            f"{X.shape}; reshape it, e.g. X.reshape(-1, 1)"
        )
    if target is None or isinstance(target, str):
        raise InputError(
            f"target must be an array of length {len(X)} when data is an array, "
            f"got {target!r}; pass y, or pass a DataFrame and a column name"
        )
    columns = {f"x{j}": X[:, j] for j in range(X.shape[1])}
    arrays = {"y": target, **{r: v for r, v in roles_in.items() if v is not None}}
    for name, values in arrays.items():
        values = np.asarray(values)
        if values.ndim != 1 or len(values) != len(X):
            raise InputError(
                f"{'target' if name == 'y' else name} must be a 1-D array of length "
                f"{len(X)} (the rows of data), got shape {values.shape}"
            )
        columns[name] = values
    df = pd.DataFrame(columns)
    roles = {r: r for r, v in roles_in.items() if v is not None}
    return df, "y", roles


def _check_features(df, target: str, roles: dict[str, str], features) -> list[str]:
    if features is None:
        taken = {target, *roles.values()}
        features = [c for c in df.columns if c not in taken]
    elif isinstance(features, str):
        features = [features]
    features = list(features)
    for f in features:
        _check_column(df, "features", f)
    if target in features:
        raise InputError(
            f"features must not include the target {target!r}, got {features!r}; remove it"
        )
    if not features:
        raise InputError("features must name at least one column, got []")
    if len(set(features)) != len(features):
        raise InputError(f"features must be unique, got {features!r}")
    return features


def _check_no_missing(df, col: str, what: str) -> None:
    n_missing = int(df[col].isna().sum())
    if n_missing:
        first = int(np.flatnonzero(df[col].isna().to_numpy())[0])
        raise InputError(
            f"{what} column {col!r} must have no missing value, got {n_missing} "
            f"(first at row {first}); drop or impute those rows"
        )


def _task_type(y, task_type: str | None) -> str:
    from sklearn.utils.multiclass import type_of_target

    if task_type is not None and task_type not in TASK_TYPES:
        raise InputError(f"task_type must be one of {TASK_TYPES} or None, got {task_type!r}")
    numeric = y.dtype.kind in "iuf"
    if task_type is None:
        kind = type_of_target(y.to_numpy()) if y.dtype.kind != "b" else "binary"
        if kind == "continuous":
            task_type = "regression"
        elif kind in ("binary", "multiclass"):
            task_type = "classification"
        else:
            raise InputError(
                f"target type could not be inferred (sklearn says {kind!r}); "
                "pass task_type='regression' or 'classification'"
            )
    if task_type == "regression" and not numeric:
        raise InputError(
            f"target of a regression task must be numeric, got dtype {str(y.dtype)!r}; "
            "convert it or pass task_type='classification'"
        )
    if task_type == "classification" and y.nunique() < 2:
        raise InputError(
            f"target of a classification task must have at least 2 classes, "
            f"got {y.nunique()}: {list(y.unique())!r}"
        )
    return task_type
