import pytest
from sklearn.dummy import DummyRegressor
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeRegressor

from benchgrid import InputError
from benchgrid.ml._learners import (algorithm_name, check_learners, learner_key,
                                    set_random_state)


class Unpicklable(DummyRegressor):
    def __init__(self, fn=None):
        self.fn = fn


class NoPickle:
    """Copies (clone works) but cannot be pickled, like a connection."""

    def __deepcopy__(self, memo):
        return self

    def __reduce__(self):
        raise TypeError("cannot pickle NoPickle")


def test_valid():
    out = check_learners({"f": DummyRegressor(), "p": make_pipeline(StandardScaler(), Ridge())})
    assert list(out) == ["f", "p"]
    assert algorithm_name(out["p"]) == "Ridge"


@pytest.mark.parametrize(
    "learners, match",
    [
        ({"x": "tree"}, r"learner 'x' must be a scikit-learn estimator with fit and predict, got 'tree'"),
        ({"x": DecisionTreeRegressor}, r"must be an estimator instance, got the class DecisionTreeRegressor"),
        ({"x": Unpicklable(fn=NoPickle())}, r"learner 'x' must be picklable with cloudpickle"),
        ({"../x": DummyRegressor()}, r"learner id must be a safe file name"),
        ({}, r"learners must be a non-empty dict"),
        ([DummyRegressor()], r"learners must be a non-empty dict"),
        ([("a", DummyRegressor()), ("a", Ridge())], r"learner ids must be unique, got 'a' twice"),
    ],
)
def test_bad(learners, match):
    with pytest.raises(InputError, match=match):
        check_learners(learners)


def test_key_ignores_fitted_state_not_params():
    import numpy as np

    a = DecisionTreeRegressor(max_depth=2)
    k = learner_key(a)
    a.fit(np.zeros((4, 1)), np.arange(4.0))
    assert learner_key(a) == k
    assert learner_key(DecisionTreeRegressor(max_depth=3)) != k


def test_nested_random_state_only_when_none():
    pipe = make_pipeline(StandardScaler(), RandomForestRegressor(n_estimators=2))
    assert set_random_state(pipe, 5) == ["randomforestregressor__random_state"]
    assert pipe[-1].random_state == 5
    fixed = RandomForestRegressor(random_state=42)
    assert set_random_state(fixed, 5) == [] and fixed.random_state == 42
    assert set_random_state(DummyRegressor(), 5) == []


def test_keys_are_stable_across_processes():
    """Job seeds derive from these keys: they must not change with hash randomisation."""
    import os
    import subprocess
    import sys

    code = ("from sklearn.ensemble import RandomForestRegressor as R;"
            "from benchgrid.ml._learners import learner_key as k;print(k(R(max_features=0.5)))")
    keys = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                       env={**os.environ, "PYTHONHASHSEED": seed}).stdout.strip()
        for seed in ("1", "2")
    }
    assert keys == {learner_key(RandomForestRegressor(max_features=0.5))}


class OwnSetParams(DummyRegressor):
    """An estimator with its own set_params: seeded_clone must go through it."""

    def __init__(self, random_state=None):
        self.random_state = random_state
        self.calls = 0

    def set_params(self, **params):
        self.calls += 1
        return super().set_params(**params)


@pytest.mark.parametrize(
    "make",
    [
        lambda: RandomForestRegressor(n_estimators=2),
        lambda: RandomForestRegressor(random_state=42),
        lambda: make_pipeline(StandardScaler(), RandomForestRegressor(n_estimators=2)),
        lambda: DummyRegressor(),
        OwnSetParams,
    ],
)
@pytest.mark.parametrize("how", ["seeded_clone", "JobLearner"])
def test_seeded_clone_gives_what_clone_and_set_random_state_give(make, how):
    from sklearn.base import clone

    from benchgrid.ml._learners import JobLearner, random_state_names, seeded_clone

    learner = make()
    expected = clone(learner)
    set_random_state(expected, 2**33 + 5)
    if how == "seeded_clone":
        got = seeded_clone(learner, 2**33 + 5, random_state_names(learner))
    else:
        job_learner = JobLearner(learner)
        first = job_learner(1)
        got = job_learner(2**33 + 5)
        assert got is not first  # each job its own
    assert type(got) is type(expected) and got is not learner
    assert repr(got.get_params(deep=True)) == repr(expected.get_params(deep=True))
    assert repr(learner.get_params(deep=True)) == repr(make().get_params(deep=True))  # the learner is untouched
    assert vars(got).keys() == vars(expected).keys()  # nothing fitted, nothing extra
    if isinstance(learner, OwnSetParams):
        assert got.calls == 1  # its own set_params was used


def test_job_learner_copies_a_known_estimator_and_clones_any_other():
    from benchgrid.ml._learners import JobLearner

    fitted = RandomForestRegressor(n_estimators=2).fit([[0.0], [1.0]], [0.0, 1.0])
    make = JobLearner(fitted)
    assert make.checked and not hasattr(make(3), "estimators_")  # a clean clone, as clone() gives
    assert make(3).n_estimators == 2 and make(3) is not make(3)
    make(4).fit([[0.0], [1.0]], [0.0, 1.0])  # a job's fit leaves the clean clone clean
    assert not hasattr(make(5), "estimators_")
    other = JobLearner(OwnSetParams())
    assert not other.checked  # a subclass: scikit-learn checks it in every fit
    assert JobLearner(make_pipeline(StandardScaler(), DummyRegressor())).checked is False


def test_a_learner_with_bad_parameters_fails_with_scikit_learns_message():
    """Parameters checked once: a bad one is not skipped, each job fails with sklearn's own error."""
    import numpy as np
    import pandas as pd

    import benchgrid as bg
    from benchgrid.ml._learners import JobLearner
    from benchgrid.ml._measures import resolve
    from benchgrid.ml._runner import fit_and_score
    from sklearn.tree import DecisionTreeRegressor
    from sklearn.utils._param_validation import InvalidParameterError

    task = bg.Task(pd.DataFrame({"x": np.arange(10.0), "y": np.arange(10.0)}), target="y")
    make = JobLearner(DecisionTreeRegressor(max_depth=-1))
    assert not make.checked
    with pytest.raises(InvalidParameterError, match="'max_depth' parameter of DecisionTreeRegressor"):
        fit_and_score(make, task, np.arange(6), np.arange(6, 10), resolve(["mae"]), seed=1)
