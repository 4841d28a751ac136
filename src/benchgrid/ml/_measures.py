"""Measures: names on top of sklearn.metrics, callables, checked against task types."""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .._errors import InputError

__all__ = ["Measure", "check_measures", "direction_note", "greater_is_better", "MEASURE_NAMES", "score"]


@dataclass(frozen=True)
class Measure:
    """A score computed on the test rows of one job.

    Parameters
    ----------
    name : str
        Column name in the results.
    fn : callable
        ``fn(y_true, y_pred) -> float`` when ``needs="predict"``;
        ``fn(y_true, proba) -> float`` when ``needs="proba"``, where ``proba``
        is ``predict_proba``'s array (columns in the order of the fitted
        learner's ``classes_``).
    needs : {"predict", "proba"}
        What the learner must output.
    task_type : {"regression", "classification"} or None
        The task type the measure is for; None means any.
    greater_is_better : bool
        Whether larger values are better (accuracy, auc, r2) or worse (the
        errors: rmse, mae, logloss). Plots and the report say which.

    Examples
    --------
    >>> import numpy as np
    >>> def max_error(y_true, y_pred):
    ...     return float(np.max(np.abs(y_true - y_pred)))
    >>> m = Measure("max_error", max_error, task_type="regression")
    >>> score(m, np.array([1.0, 2.0]), y_pred=np.array([1.5, 2.0]))
    0.5
    """

    name: str
    fn: Callable[..., float]
    needs: str = "predict"
    task_type: str | None = None
    with_labels: bool = False  # named proba measures also get the class labels
    greater_is_better: bool = False


# -- named measures: module-level functions so that they pickle by name -----
# The common case (one column of finite float64 or integer values, the same
# length on both sides) is computed here with numpy, with the same arithmetic
# as sklearn.metrics, so the values are identical to the last bit; anything
# else (NaN, float32, 2-D, lists of mixed types, unequal lengths) goes to
# sklearn, which raises its usual error or computes what it computes. sklearn's
# input validation cost a third of a tiny job's CPU (issue 15).
def _plain_columns(y: Any, p: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """``(y, p)`` as ``(n, 1)`` float64 arrays when both are plain, else None.

    Plain: numpy arrays of one dimension and one length (at least 1), of
    float64, integer or boolean type, every value finite. ``(n, 1)`` is the
    shape sklearn reduces over, so sums are taken in the same order.

    Examples
    --------
    >>> _plain_columns(np.array([1.0, 2.0]), np.array([1, 3]))[1].ravel()
    array([1., 3.])
    >>> _plain_columns(np.array([1.0, np.nan]), np.array([1.0, 2.0])) is None
    True
    """
    if not (isinstance(y, np.ndarray) and isinstance(p, np.ndarray)):
        return None
    if y.ndim != 1 or y.shape != p.shape or y.shape[0] == 0:
        return None
    if not (_plain_dtype(y.dtype) and _plain_dtype(p.dtype)):
        return None
    y64, p64 = y.astype(np.float64, copy=False), p.astype(np.float64, copy=False)
    if not (np.isfinite(y64).all() and np.isfinite(p64).all()):
        return None
    return y64.reshape(-1, 1), p64.reshape(-1, 1)


def _plain_dtype(dtype: np.dtype) -> bool:
    return dtype.kind in "iub" or dtype == np.float64


def _error(y: Any, p: Any, sklearn_name: str, per_output: Callable[[np.ndarray], np.ndarray]) -> float:
    """One regression error: ``per_output(y - p)`` averaged, as sklearn does; sklearn's own when not plain."""
    plain = _plain_columns(y, p)
    if plain is None:
        import sklearn.metrics

        return float(getattr(sklearn.metrics, sklearn_name)(y, p))
    y64, p64 = plain
    return float(np.average(per_output(y64 - p64)))  # |y - p| and (y - p)**2 equal |p - y| and (p - y)**2 exactly


def _mse(y, p):
    return _error(y, p, "mean_squared_error", lambda d: np.average(d**2, axis=0))


def _rmse(y, p):
    return _error(y, p, "root_mean_squared_error", lambda d: np.sqrt(np.average(d**2, axis=0)))


def _mae(y, p):
    return _error(y, p, "mean_absolute_error", lambda d: np.average(np.abs(d), axis=0))


def _accuracy(y, p):
    """Share of equal labels; sklearn's when the labels are not plain integers or strings of one kind."""
    if (isinstance(y, np.ndarray) and isinstance(p, np.ndarray) and y.ndim == 1
            and y.shape == p.shape and y.shape[0] > 0
            and y.dtype.kind == p.dtype.kind and y.dtype.kind in "iuU"):  # fmt: skip
        return float(np.average(y == p))
    from sklearn.metrics import accuracy_score

    return accuracy_score(y, p)


def _ce(y, p):
    return float(np.mean(np.asarray(y) != np.asarray(p)))


def _binary_or_macro(metric_name: str, y, p, labels) -> float:
    import sklearn.metrics as skm

    metric = getattr(skm, metric_name)
    if len(labels) == 2:  # positive class: the second label, as for auc's proba[:, 1]
        return metric(y, p, pos_label=labels[1], average="binary", zero_division=0)
    return metric(y, p, labels=labels, average="macro", zero_division=0)


def _f1(y, p, labels):
    return _binary_or_macro("f1_score", y, p, labels)


def _precision(y, p, labels):
    return _binary_or_macro("precision_score", y, p, labels)


def _recall(y, p, labels):
    return _binary_or_macro("recall_score", y, p, labels)


def _auc(y, proba, labels):
    from sklearn.metrics import roc_auc_score

    if len(labels) == 2:
        return roc_auc_score(y == labels[1], proba[:, 1])
    return roc_auc_score(y, proba, multi_class="ovr", labels=labels)


def _logloss(y, proba, labels):
    from sklearn.metrics import log_loss

    return log_loss(y, proba, labels=labels)


def _named() -> dict[str, Measure]:
    import sklearn.metrics as skm

    reg, clf = "regression", "classification"
    return {
        "rmse": Measure("rmse", _rmse, task_type=reg),
        "mse": Measure("mse", _mse, task_type=reg),
        "mae": Measure("mae", _mae, task_type=reg),
        "medae": Measure("medae", skm.median_absolute_error, task_type=reg),
        "mape": Measure("mape", skm.mean_absolute_percentage_error, task_type=reg),
        "r2": Measure("r2", skm.r2_score, task_type=reg, greater_is_better=True),
        "accuracy": Measure("accuracy", _accuracy, task_type=clf, greater_is_better=True),
        "ce": Measure("ce", _ce, task_type=clf),
        "balanced_accuracy": Measure(
            "balanced_accuracy", skm.balanced_accuracy_score, task_type=clf, greater_is_better=True),
        "f1": Measure("f1", _f1, task_type=clf, with_labels=True, greater_is_better=True),
        "precision": Measure(
            "precision", _precision, task_type=clf, with_labels=True, greater_is_better=True),
        "recall": Measure(
            "recall", _recall, task_type=clf, with_labels=True, greater_is_better=True),
        "auc": Measure("auc", _auc, needs="proba", task_type=clf, with_labels=True, greater_is_better=True),
        "logloss": Measure("logloss", _logloss, needs="proba", task_type=clf, with_labels=True),
    }


def greater_is_better(name: str) -> bool:
    """Whether larger values of the named measure are better (False for errors and unknown names).

    Examples
    --------
    >>> greater_is_better("auc"), greater_is_better("rmse")
    (True, False)
    """
    m = _named().get(name)
    return bool(m is not None and m.greater_is_better)


def direction_note(measure: str, known: dict[str, bool] | None = None) -> str:
    """``"higher is better"``, ``"lower is better"`` or ``""`` (unknown): for axis labels.

    ``known`` is a project's own record (``scores.attrs["greater_is_better"]``,
    which covers its callable measures); else the named measures are asked.

    Examples
    --------
    >>> direction_note("rmse"), direction_note("auc"), direction_note("my_score")
    ('lower is better', 'higher is better', '')
    >>> direction_note("my_score", {"my_score": True})
    'higher is better'
    """
    if known and measure in known:
        better = bool(known[measure])
    elif measure in MEASURE_NAMES:
        better = greater_is_better(measure)
    else:
        return ""
    return "higher is better" if better else "lower is better"


#: Names accepted in ``measures=[...]``.
MEASURE_NAMES = (
    "rmse", "mse", "mae", "medae", "mape", "r2",
    "accuracy", "ce", "balanced_accuracy", "f1", "precision", "recall", "auc", "logloss",
)  # fmt: skip


def check_measures(
    measures: Any, task_types: dict[str, str], learners: dict[str, Any] | None = None
) -> list[Measure | str]:
    """Resolve and check ``measures`` against every task and learner.

    Returns a list of names (for named measures, stored as text) and
    :class:`Measure` objects (for callables, stored pickled). A measure
    for another task type, or a probability measure with a learner
    that has no ``predict_proba``, is an :class:`InputError`.

    Examples
    --------
    >>> check_measures(["rmse", "mae"], {"easy": "regression"})
    ['rmse', 'mae']
    >>> def max_err(y_true, y_pred):
    ...     return float(abs(y_true - y_pred).max())
    >>> [m if isinstance(m, str) else m.name
    ...  for m in check_measures(["rmse", {"max_error": max_err}], {"easy": "regression"})]
    ['rmse', 'max_error']
    >>> check_measures(["accuracy"], {"easy": "regression"})
    Traceback (most recent call last):
    ...
    benchgrid._errors.InputError: measure 'accuracy' is for classification tasks, ...
    """
    if measures is None:
        types = set(task_types.values())
        measures = (["rmse", "mae"] if "regression" in types else []) + (
            ["ce", "accuracy"] if "classification" in types else []
        )
    if isinstance(measures, (str, Measure)) or callable(measures):
        measures = [measures]
    if isinstance(measures, dict):
        measures = [measures]
    if isinstance(measures, (list, tuple)):
        # {"name": callable} items (alone or in a list, as docs/ml.md shows) name their callables
        measures = [one for m in measures for one in (_from_dict(m) if isinstance(m, dict) else [m])]
    if not isinstance(measures, (list, tuple)) or not measures:
        raise InputError(
            f"measures must be a non-empty list of names or callables, got {measures!r}; "
            f"e.g. ['rmse', 'mae']; names: {', '.join(MEASURE_NAMES)}"
        )
    named = _named()
    out: list[Measure | str] = []
    for m in measures:
        m = _resolve(m, named)
        measure = named[m] if isinstance(m, str) else m
        for tid, ttype in task_types.items():
            if measure.task_type not in (None, ttype):
                fits = [n for n, v in named.items() if v.task_type == ttype]
                raise InputError(
                    f"measure {measure.name!r} is for {measure.task_type} tasks, but task "
                    f"{tid!r} is a {ttype} task; use one of {', '.join(fits)}, "
                    "or give that task its own project"
                )
        if measure.needs == "proba":
            for lid, est in (learners or {}).items():
                if not hasattr(est, "predict_proba"):
                    raise InputError(
                        f"measure {measure.name!r} needs predicted probabilities, but learner "
                        f"{lid!r} has no predict_proba; drop the measure or use a learner "
                        "that has it (e.g. SVC(probability=True))"
                    )
        out.append(m)
    names = [m if isinstance(m, str) else m.name for m in out]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise InputError(f"measure names must be unique, got {sorted(dup)!r} twice")
    return out


def _from_dict(items: dict[Any, Any]) -> list[Any]:
    """``{"f1w": f}`` -> ``[Measure("f1w", f)]``: the key is the column name the user asked for.

    A named measure (``{"acc": "accuracy"}``) or a :class:`Measure` under
    another key is the same measure under the key's name, never the key
    dropped for the measure's own name.

    Examples
    --------
    >>> [(m.name, m.fn.__name__) for m in _from_dict({"acc": "accuracy"})]
    [('acc', '_accuracy')]
    >>> _from_dict({"rmse": "rmse"})
    ['rmse']
    """
    import dataclasses

    out: list[Any] = []
    named: dict[str, Measure] | None = None
    for name, fn in items.items():
        if not isinstance(name, str):
            raise InputError(f"measure names must be strings, got {name!r} in {items!r}")
        if isinstance(fn, str):
            named = _named() if named is None else named
            if fn == name or fn not in named:
                out.append(fn)  # a name as it is (an unknown one: _resolve says which are known)
            else:
                out.append(dataclasses.replace(named[fn], name=name))
        elif isinstance(fn, Measure):
            out.append(fn if fn.name == name else dataclasses.replace(fn, name=name))
        else:
            out.append(Measure(name, fn))
    return out


def _resolve(m: Any, named: dict[str, Measure]) -> Measure | str:
    from ._ids import check_id

    if isinstance(m, str):
        if m not in named:
            raise InputError(
                f"measure must be one of {', '.join(MEASURE_NAMES)} or a callable, "
                f"got {m!r}; for another metric pass a function (y_true, y_pred) -> float"
            )
        return m
    if not isinstance(m, Measure):
        if not callable(m):
            raise InputError(
                f"measure must be a name or a callable (y_true, y_pred) -> float, got {m!r}"
            )
        m = Measure(getattr(m, "__name__", type(m).__name__), m)
    check_id("measure name", m.name)
    if m.needs not in ("predict", "proba"):
        raise InputError(f"Measure.needs must be 'predict' or 'proba', got {m.needs!r}")
    from ._inputs import dumps

    try:
        pickle.loads(dumps(m))  # cloudpickle: functions of __main__ go by value
    except Exception as err:
        raise InputError(
            f"measure {m.name!r} must be picklable with cloudpickle (workers load it from "
            f"the project), got {m.fn!r}: {err}; remove what cannot be pickled (open "
            "files, locks) from the function's closure"
        ) from None
    return m


def resolve(measures: list[Measure | str]) -> list[Measure]:
    """Turn stored names back into :class:`Measure` objects (in a worker)."""
    named = _named()
    return [named[m] if isinstance(m, str) else m for m in measures]


def score(
    measure: Measure,
    y_true: Any,
    y_pred: Any = None,
    proba: Any = None,
    labels: Any = None,
) -> float:
    """Compute one measure as a Python float."""
    out = y_pred if measure.needs == "predict" else proba
    if measure.with_labels:
        return float(measure.fn(y_true, out, labels))
    return float(measure.fn(y_true, out))
