import numpy as np
import pytest
from sklearn import metrics
from sklearn.dummy import DummyClassifier
from sklearn.svm import SVC

from benchgrid import InputError
from benchgrid.ml._measures import MEASURE_NAMES, Measure, check_measures, resolve, score


def max_error(y_true, y_pred):
    return float(np.max(np.abs(y_true - y_pred)))


def brier(y_true, proba):
    return float(np.mean((proba[:, 1] - (y_true == "b")) ** 2))


def test_every_named_measure_computes():
    rng = np.random.default_rng(0)
    y = rng.normal(size=20)
    p = y + rng.normal(size=20)
    for m in resolve([n for n in MEASURE_NAMES if n in ("rmse", "mse", "mae", "medae", "mape", "r2")]):
        assert np.isfinite(score(m, y, y_pred=p))
    assert score(resolve(["rmse"])[0], y, y_pred=p) == pytest.approx(
        metrics.root_mean_squared_error(y, p))
    yc = np.array(list("abab" * 5))
    pc = np.array(list("abba" * 5))
    proba = np.tile([0.3, 0.7], (20, 1))
    labels = np.array(["a", "b"])
    got = {m.name: score(m, yc, y_pred=pc, proba=proba, labels=labels)
           for m in resolve(["accuracy", "ce", "balanced_accuracy", "f1", "auc", "logloss"])}
    assert got["accuracy"] == 0.5 and got["ce"] == 0.5
    assert got["f1"] == metrics.f1_score(yc, pc, pos_label="b")
    assert got["logloss"] == pytest.approx(metrics.log_loss(yc, proba, labels=labels))


def test_multiclass_f1_is_macro():
    y = np.array([0, 1, 2, 2])
    m = resolve(["f1"])[0]
    assert score(m, y, y_pred=np.array([0, 2, 2, 2]), labels=np.array([0, 1, 2])) == \
        metrics.f1_score(y, [0, 2, 2, 2], average="macro", zero_division=0)


def test_callables_and_default():
    out = check_measures(["rmse", max_error], {"t": "regression"})
    assert out[0] == "rmse" and out[1].name == "max_error"
    assert check_measures(None, {"t": "classification"}) == ["ce", "accuracy"]
    out = check_measures({"brier": Measure("brier", brier, needs="proba")}, {"t": "classification"})
    assert out[0].needs == "proba"


@pytest.mark.parametrize(
    "measures, types, learners, match",
    [
        (["accuracy"], {"easy": "regression"}, None,
         r"measure 'accuracy' is for classification tasks, but task 'easy' is a regression task"),
        (["rmse"], {"c": "classification"}, None, r"measure 'rmse' is for regression tasks"),
        (["rsme"], {"t": "regression"}, None, r"measure must be one of .* got 'rsme'"),
        ([lambda y, p: 0.0], {"t": "regression"}, None, r"measure name must be a safe file name"),
        (["auc"], {"c": "classification"}, {"svm": SVC()}, r"learner 'svm' has no predict_proba"),
        (["mae", "mae"], {"t": "regression"}, None, r"measure names must be unique"),
        ([], {"t": "regression"}, None, r"measures must be a non-empty list"),
    ],
)
def test_bad(measures, types, learners, match):
    with pytest.raises(InputError, match=match):
        check_measures(measures, types, learners)


def test_proba_ok_with_predict_proba():
    assert check_measures(["auc"], {"c": "classification"}, {"d": DummyClassifier()}) == ["auc"]


# -- the numpy paths of rmse, mse, mae and accuracy equal sklearn's to the last bit ---------
_SKLEARN_OF = {
    "rmse": metrics.root_mean_squared_error,
    "mse": metrics.mean_squared_error,
    "mae": metrics.mean_absolute_error,
    "accuracy": metrics.accuracy_score,
}


@pytest.mark.parametrize("n", [1, 2, 7, 100, 1000, 100_003])
def test_fast_regression_measures_equal_sklearn_exactly(n):
    rng = np.random.default_rng(n)
    cases = [
        (rng.normal(size=n) * 1e3, rng.normal(size=n)),              # floats of different scales
        (rng.integers(-5, 5, size=n), rng.normal(size=n)),           # integer truth
        (rng.normal(size=n), rng.integers(0, 3, size=n)),            # integer predictions
        (rng.random(size=n) > 0.5, rng.random(size=n)),              # booleans
    ]
    for name in ("rmse", "mse", "mae"):
        m = resolve([name])[0]
        for y, p in cases:
            assert score(m, y, y_pred=p) == _SKLEARN_OF[name](y, p), (name, n, y.dtype, p.dtype)


@pytest.mark.parametrize("labels", [np.array([0, 1, 2]), np.array(["a", "bb", "c"]), np.array([True, False])])
def test_fast_accuracy_equals_sklearn_exactly(labels):
    rng = np.random.default_rng(1)
    for n in (1, 3, 50, 10_001):
        y, p = rng.choice(labels, size=n), rng.choice(labels, size=n)
        m = resolve(["accuracy"])[0]
        assert score(m, y, y_pred=p) == metrics.accuracy_score(y, p)


@pytest.mark.parametrize(
    "y, p",
    [
        (np.array([1.0, np.nan]), np.array([1.0, 2.0])),          # NaN in the truth
        (np.array([1.0, 2.0]), np.array([np.inf, 2.0])),          # inf in a prediction
        (np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0])),        # unequal lengths
        (np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[1.0, 2.5], [3.0, 4.0]])),  # two outputs
        (np.array([1.0, 2.0], dtype=np.float32), np.array([1.5, 2.0], dtype=np.float32)),
        ([1.0, 2.0, 4.0], [1.0, 2.5, 3.0]),                       # lists
        (np.array([], dtype=float), np.array([], dtype=float)),   # no rows
    ],
)
def test_what_the_fast_path_does_not_take_sklearn_decides(y, p):
    """Anything but one column of finite numbers goes to sklearn: the same value, or the same error."""
    for name in ("rmse", "mse", "mae"):
        m = resolve([name])[0]
        try:
            expected = _SKLEARN_OF[name](y, p)
        except ValueError as err:
            with pytest.raises(ValueError) as caught:
                score(m, y, y_pred=p)
            assert str(caught.value) == str(err)
        else:
            assert score(m, y, y_pred=p) == expected


def test_accuracy_of_mixed_label_types_is_sklearn_s_error():
    m = resolve(["accuracy"])[0]
    y, p = np.array([0, 1, 1]), np.array([0.5, 1.0, 1.0])   # continuous predictions for labels
    with pytest.raises(ValueError, match="mix of"):
        metrics.accuracy_score(y, p)
    with pytest.raises(ValueError, match="mix of"):
        score(m, y, y_pred=p)
