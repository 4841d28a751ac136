"""Learners: scikit-learn estimators checked once, cloned for every job."""

from __future__ import annotations

import copy
import pickle
from typing import Any

from .._errors import InputError
from ._ids import check_id, check_unique, digest

__all__ = [
    "check_learners", "algorithm_name", "learner_key", "set_random_state", "random_state_names", "seeded_clone",
    "JobLearner", "check_learner_task_types",
]  # fmt: skip


def check_learners(learners: Any) -> dict[str, Any]:
    """Validate ``learners`` and return them as a dict id -> estimator.

    ``learners`` is a dict id -> estimator or a list of (id, estimator)
    pairs, as in :class:`sklearn.pipeline.Pipeline` steps.

    Each learner must have ``fit`` and ``predict``, be accepted by
    :func:`sklearn.base.clone` and survive cloudpickle (workers load it
    from the project directory, maybe on another host; classes and functions
    defined in the user's script are stored by value).

    Examples
    --------
    >>> from sklearn.dummy import DummyRegressor
    >>> list(check_learners({"featureless": DummyRegressor()}))
    ['featureless']
    >>> check_learners({"bad": "DummyRegressor"})
    Traceback (most recent call last):
    ...
    benchgrid._errors.InputError: learner 'bad' must be a scikit-learn estimator ...
    """
    if isinstance(learners, (list, tuple)) and all(
        isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str) for p in learners
    ):  # [(id, estimator), ...] as in Pipeline steps
        check_unique("learner", [lid for lid, _ in learners])
        learners = dict(learners)
    if not isinstance(learners, dict) or not learners:
        raise InputError(
            f"learners must be a non-empty dict id -> estimator (or list of (id, estimator)), "
            f"got {type(learners).__name__}; "
            "e.g. {'featureless': DummyRegressor(), 'tree': DecisionTreeRegressor()}"
        )
    for lid, est in learners.items():
        check_id("learner id", lid)
        _check_one(lid, est)
    return dict(learners)


def _check_one(lid: str, est: Any) -> None:
    from sklearn.base import clone

    if not (callable(getattr(est, "fit", None)) and callable(getattr(est, "predict", None))):
        raise InputError(
            f"learner {lid!r} must be a scikit-learn estimator with fit and predict, "
            f"got {est!r} ({type(est).__name__}); pass an instance, e.g. DecisionTreeRegressor()"
        )
    if isinstance(est, type):
        raise InputError(
            f"learner {lid!r} must be an estimator instance, got the class {est.__name__}; "
            f"write {est.__name__}()"
        )
    try:
        clone(est)
    except Exception as err:  # sklearn raises TypeError/RuntimeError; say which learner
        raise InputError(
            f"learner {lid!r} must be accepted by sklearn.base.clone, got {est!r}: {err}; "
            "follow the scikit-learn estimator rules (parameters set in __init__ unchanged)"
        ) from None
    from ._inputs import dumps

    try:
        pickle.loads(dumps(est))  # cloudpickle: what __main__ defines goes by value
    except Exception as err:
        raise InputError(
            f"learner {lid!r} must be picklable with cloudpickle (workers load it from "
            f"the project), got {est!r}: {type(err).__name__}: {err}; remove what cannot "
            "be pickled (open files, locks, connections) from the estimator"
        ) from None


def check_learner_task_types(task_types: dict[str, str], learners: dict[str, Any]) -> None:
    """Refuse a regressor on a classification task and a classifier on a regression task.

    A regressor fitted to class labels predicts numbers that are not
    labels: the classification error is computed and accuracy is NaN, a
    result that looks like a benchmark and is not one. scikit-learn's own
    tag decides (:func:`sklearn.base.is_regressor`, also for pipelines);
    an estimator that is neither (a custom one without the tag) is accepted.

    Examples
    --------
    >>> from sklearn.linear_model import LinearRegression
    >>> check_learner_task_types({"iris": "classification"}, {"lm": LinearRegression()})
    Traceback (most recent call last):
    ...
    benchgrid._errors.InputError: learner 'lm' (LinearRegression) is a regressor, but task 'iris' is a classification task; ...
    """
    from sklearn.base import is_classifier, is_regressor

    for lid, est in learners.items():
        kind = "regressor" if is_regressor(est) else "classifier" if is_classifier(est) else None
        if kind is None:
            continue
        wanted = "classification" if kind == "regressor" else "regression"
        for tid, ttype in task_types.items():
            if ttype == wanted:
                fix = ("use a classifier (e.g. DecisionTreeClassifier) for it" if kind == "regressor"
                       else "use a regressor (e.g. DecisionTreeRegressor) for it, or pass "
                            "task_type='classification' to the Task if its target holds class labels")
                raise InputError(
                    f"learner {lid!r} ({algorithm_name(est)}) is a {kind}, but task {tid!r} is a {ttype} "
                    f"task; {fix}, or give that task its own project"
                )


def algorithm_name(est: Any) -> str:
    """Class name of the estimator (of the last step for a pipeline).

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn.linear_model import Ridge
    >>> algorithm_name(make_pipeline(StandardScaler(), Ridge()))
    'Ridge'
    """
    steps = getattr(est, "steps", None)
    if isinstance(steps, list) and steps:
        return algorithm_name(steps[-1][1])
    return type(est).__name__


def learner_key(est: Any) -> str:
    """Content key of a learner: a hash of its class and parameters, not its fitted state."""
    import pickle

    import joblib
    from sklearn.base import clone

    est = clone(est)
    try:
        return joblib.hash(est)[:12]  # type: ignore[no-any-return]
    except pickle.PicklingError:  # a class local to a function: hash its value instead
        from ._inputs import dumps

        return digest(dumps(est), n_hex=12)


def set_random_state(est: Any, seed: int) -> list[str]:
    """Set every ``random_state`` parameter that is None (nested ones too) to ``seed``.

    A random_state the user fixed is kept: they asked for it. None means
    "anything", which would make results depend on the run; the per-job seed
    makes them depend on the project seed and the job only.
    Returns the names of the parameters that were set.

    Examples
    --------
    >>> from sklearn.tree import DecisionTreeRegressor
    >>> est = DecisionTreeRegressor()
    >>> set_random_state(est, 7), est.random_state
    (['random_state'], 7)
    """
    names = random_state_names(est)
    _seed(est, seed, names)
    return names


def random_state_names(est: Any) -> list[str]:
    """The parameters :func:`set_random_state` sets: every ``random_state`` that is None.

    Examples
    --------
    >>> from sklearn.ensemble import RandomForestRegressor
    >>> from sklearn.pipeline import make_pipeline
    >>> random_state_names(make_pipeline(RandomForestRegressor()))
    ['randomforestregressor__random_state']
    """
    if not hasattr(est, "get_params"):
        return []
    return [
        k
        for k, v in est.get_params(deep=True).items()
        if (k == "random_state" or k.endswith("__random_state")) and v is None
    ]


def seeded_clone(est: Any, seed: int, names: list[str]) -> Any:
    """``clone(est)`` with the parameters ``names`` set to ``seed``: one job's learner.

    The same estimator as ``clone`` then :func:`set_random_state` give, with
    ``names = random_state_names(est)`` found once per learner instead of
    once per job (``get_params(deep=True)`` inspects every ``__init__``
    signature: a tenth of a tiny job). An estimator's own parameters are set
    as :meth:`sklearn.base.BaseEstimator.set_params` sets them (an
    attribute); nested ones, or an estimator with its own ``set_params``, go
    through ``set_params``.

    Examples
    --------
    >>> from sklearn.tree import DecisionTreeRegressor
    >>> tree = DecisionTreeRegressor()
    >>> seeded_clone(tree, 7, random_state_names(tree)).random_state, tree.random_state
    (7, None)
    """
    from sklearn.base import clone

    return _seed(clone(est), seed, names)


def _seed(new: Any, seed: int, names: list[str]) -> Any:
    from sklearn.base import BaseEstimator

    if not names:
        return new
    value = int(seed) % 2**32
    if type(new).set_params is BaseEstimator.set_params and not any("__" in k for k in names):
        for k in names:
            setattr(new, k, value)
    else:
        new.set_params(**{k: value for k in names})
    return new


class JobLearner:
    """Makes each job's learner from a stored one: what :func:`seeded_clone` gives, for less.

    A worker makes one per learner and calls it once per job. For an
    estimator of :data:`~benchgrid.ml._native.NATIVE_CLASSES` (flat
    scikit-learn estimators whose ``__init__`` only stores its parameters),
    it clones once and gives each job a ``deepcopy`` of that clean clone
    (14 µs instead of 87 µs for a decision tree), and it checks the
    parameters once: :attr:`checked` tells the caller it may fit with
    scikit-learn's ``skip_parameter_validation`` (each job's parameters
    are these ones with an int seed, which every ``random_state`` accepts).
    Any other estimator is cloned per job, and checked by its own ``fit``.

    Examples
    --------
    >>> from sklearn.tree import DecisionTreeRegressor
    >>> make = JobLearner(DecisionTreeRegressor())
    >>> make(7).random_state, make(8).random_state, make.checked
    (7, 8, True)
    >>> JobLearner(DecisionTreeRegressor(max_depth=-1)).checked  # fit will say why
    False
    """

    def __init__(self, est: Any) -> None:
        from sklearn.base import clone

        from ._native import takes_native

        self.est = est
        self.names = random_state_names(est)
        self.known = takes_native(est)  # one of NATIVE_CLASSES: copied, checked once, may take arrays
        self._clean = clone(est) if self.known else None
        self.checked = self.known and _params_valid(self._clean)

    def __call__(self, seed: int) -> Any:
        """A fresh, unfitted learner seeded with ``seed``."""
        if self._clean is None:
            return seeded_clone(self.est, seed, self.names)
        return _seed(copy.deepcopy(self._clean), seed, self.names)


def _params_valid(est: Any) -> bool:
    """Whether scikit-learn's own check of ``est``'s parameters passes (False if it cannot tell)."""
    validate = getattr(est, "_validate_params", None)
    if validate is None:
        return False
    try:
        validate()
    except Exception:
        return False
    return True


def describe_learner(est: Any) -> dict[str, Any]:
    """A JSON-able summary (kept in project metadata)."""
    # "estimator": the class; the "algorithm" column of results holds the learner id
    return {"key": learner_key(est), "estimator": algorithm_name(est), "repr": repr(est)}


def learners_digest(learners: dict[str, Any]) -> str:
    """One key for a dict of learners (used in messages and metadata)."""
    return digest({k: learner_key(v) for k, v in learners.items()})
