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
