"""One source for measure metadata: the project's measure list and whether higher is better."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import benchgrid as bg
from benchgrid.ml._demo import demo_grid
from benchgrid.ml._measures import Measure
from benchgrid.ml._pvalue import find_measure
from benchgrid import plot_scores


def _neg_max_error(y_true, y_pred):  # module level: stored by reference
    return -float(np.max(np.abs(np.asarray(y_true) - np.asarray(y_pred))))


def test_scores_name_their_measures_and_directions(tmp_path: Path) -> None:
    g = demo_grid()
    mine = Measure("neg_max_error", _neg_max_error, task_type="regression", greater_is_better=True)
    proj = bg.Project.create(tmp_path / "p", g["tasks"], g["learners"], g["cv"], measures=["mae", "r2", mine])
    proj.run(n_workers=0, progress=False)
    scores = proj.scores()
    assert scores.attrs["measures"] == ["mae", "r2", "neg_max_error"]
    assert scores.attrs["greater_is_better"] == {"mae": False, "r2": True, "neg_max_error": True}
    # a numeric column a user adds in front is not taken for the measure: the project's list decides
    scores.insert(0, "my_weight", 1.5)
    assert find_measure(scores) == "mae"
    assert find_measure(scores.drop(columns=["mae"])) == "r2"
    fig = plot_scores(scores, measure="neg_max_error")
    labels = {ax.get_xlabel() for ax in fig.axes if ax.get_xlabel()}
    assert labels and all("higher is better" in label for label in labels), labels
    fig = plot_scores(scores)  # the default measure: mae, an error
    assert any("lower is better" in ax.get_xlabel() for ax in fig.axes)
