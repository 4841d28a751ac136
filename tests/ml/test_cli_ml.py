"""ML through the command line: bad grids exit 2 and write nothing; demo; try."""

import textwrap

import pytest

from benchgrid.cli.main import main

HEADER = """
import numpy as np
import pandas as pd
import benchgrid as bg
from sklearn.dummy import DummyRegressor
from sklearn.tree import DecisionTreeRegressor
from sklearn.model_selection import KFold

df = pd.read_csv({csv!r})
tasks = {{"t": bg.Task(df, target="y", features=["x"])}}
learners = {{"featureless": DummyRegressor()}}
cv = KFold(3)
measures = ["rmse"]
"""

BAD = {
    "target missing": ('tasks = {"t": bg.Task(df, target="nope")}',
                       r"target must name a column of data, got 'nope'"),
    "feature missing": ('tasks = {"t": bg.Task(df, target="y", features=["x", "w"])}',
                        r"features must name a column of data, got 'w'"),
    "nan target": ('df.loc[3, "y"] = np.nan\ntasks = {"t": bg.Task(df, target="y")}',
                   r"target column 'y' must have no missing value, got 1 \(first at row 3\)"),
    "role missing": ('tasks = {"t": bg.Task(df, target="y", group="team")}',
                     r"group must name a column of data, got 'team'"),
    "not an estimator": ('learners = {"x": "tree"}',
                         r"learner 'x' must be a scikit-learn estimator"),
    "unpicklable": ('class NoPickle:\n    def __deepcopy__(self, memo):\n        return self\n'
                    '    def __reduce__(self):\n        raise TypeError("no")\n'
                    'class Local(DecisionTreeRegressor):\n    def __init__(self, conn=None):\n'
                    '        self.conn = conn\n        super().__init__()\n'
                    'learners = {"l": Local(conn=NoPickle())}',
                    r"learner 'l' must be picklable with cloudpickle"),
    "duplicate task": ('tasks = [bg.Task(df, target="y", id="a"), bg.Task(df, target="x", id="a")]',
                       r"task ids must be unique, got 'a' twice"),
    "duplicate learner": ('learners = [("a", DummyRegressor()), ("a", DecisionTreeRegressor())]',
                          r"learner ids must be unique, got 'a' twice"),
    "unsafe task id": ('tasks = {"../x": tasks["t"]}', r"task id must be a safe file name .*'../x'"),
    "empty learner id": ('learners = {"": DummyRegressor()}', r"learner id must be a safe file name .*''"),
    "measure type": ('measures = ["accuracy"]', r"measure 'accuracy' is for classification tasks, "
                     r"but task 't' is a regression task"),
    "empty train": ("cv = [(np.arange(0), np.arange(12))]", r"cv must not yield an empty train set"),
    "empty test": ("cv = [(np.arange(12), np.arange(0))]", r"cv must not yield an empty test set"),
    "no cv": ("del cv", r"must define cv"),
    "code error": ("1 / 0", r"raised ZeroDivisionError at line \d+"),
    # issue 23: scientific mistakes are refused, never computed into a table that looks right
    "regressor on classification": (
        'df["c"] = np.where(df["y"] > df["y"].median(), "hi", "lo")\n'
        'tasks = {"clf": bg.Task(df, target="c", features=["x"])}\nmeasures = ["ce", "accuracy"]\ncv = 2',
        r"learner 'featureless' \(DummyRegressor\) is a regressor, but task 'clf' is a classification task; "
        r"use a classifier"),
    "classifier on regression": (
        "from sklearn.tree import DecisionTreeClassifier\nlearners = {'cart': DecisionTreeClassifier()}",
        r"learner 'cart' \(DecisionTreeClassifier\) is a classifier, but task 't' is a regression task; "
        r"use a regressor"),
    "train and test overlap": (
        "cv = [(np.arange(8), np.arange(6, 12))]",
        r"cv train and test sets must not overlap \(leakage\), but task 't', iteration 1 has 2 row\(s\) in "
        r"both \(first: row 6\); give each split disjoint"),
}


@pytest.fixture
def grid_dir(tmp_path, reg_df):
    d = tmp_path / "a dir with 'quotes'"
    d.mkdir()
    reg_df[["x", "y"]].head(12).to_csv(d / "data.csv", index=False)
    return d


@pytest.mark.parametrize("case", BAD)
def test_bad_grid_exits_2_and_writes_nothing(grid_dir, capsys, case):
    snippet, match = BAD[case]
    grid = grid_dir / "grid.py"
    grid.write_text(HEADER.format(csv=str(grid_dir / "data.csv")) + textwrap.dedent(snippet) + "\n")
    out_dir = grid_dir / "proj"
    assert main(["init", str(out_dir), "--grid", str(grid)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("benchgrid: error: ")
    import re

    assert re.search(match, err), err
    assert not out_dir.exists()
    assert sorted(p.name for p in grid_dir.iterdir()) == ["data.csv", "grid.py"]


def test_init_try_add_from_grid_files(grid_dir, capsys):
    grid = grid_dir / "grid.py"
    grid.write_text(HEADER.format(csv=str(grid_dir / "data.csv")))
    proj = str(grid_dir / "proj")
    assert main(["init", proj, "--grid", str(grid)]) == 0
    assert main(["try", proj, "--workers", "2"]) == 0
    out = capsys.readouterr().out
    assert "3 jobs, estimated CPU time" in out and "on 2 workers" in out
    more = grid_dir / "more.py"
    more.write_text("from sklearn.linear_model import Ridge\nlearners = {'ridge': Ridge()}\n")
    assert main(["add", proj, "--grid", str(more)]) == 0
    assert "added 3 jobs" in capsys.readouterr().out


@pytest.mark.slow
def test_demo(tmp_path, capsys):
    out = tmp_path / "demo dir"
    assert main(["demo", str(out), "--workers", "2", "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "mean test scores over 3 folds" in text and "impossible" in text
    assert (out / "results.csv").stat().st_size > 0 and (out / "pvalue.png").stat().st_size > 0
    assert str(out / "results.csv") in text
    import pandas as pd

    scores = pd.read_csv(out / "results.csv")
    assert len(scores) == 72 and {"test.subset", "train.subsets", "rmse", "mae"} <= set(scores)
    # the demo refuses to overwrite a folder it did not write (rerunning it: tests/cli/test_demo_again.py)
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    assert main(["demo", str(other)]) == 2


def test_plot_pvalue_of_one_resampling(tmp_path, capsys):
    """`benchgrid plot DIR pvalue --resampling ID`, as plot_pvalue(resampling_id=) (issue 23)."""
    import matplotlib.image
    import numpy as np
    import pandas as pd
    from sklearn.dummy import DummyRegressor
    from sklearn.model_selection import KFold

    import benchgrid as bg

    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, 40)
    df = pd.DataFrame({"x": x, "person": np.repeat(["Alice", "Bob"], 20), "y": x**2 + rng.normal(0, 0.3, 40)})
    task = bg.Task(df, target="y", features=["x"], subset="person", stratum="person")
    cv = {"soak3": bg.SOAK(folds=3, random_state=0), "soak4": bg.SOAK(folds=4, random_state=1),
          "kfold3": KFold(3, shuffle=True, random_state=0)}
    proj = bg.Project.create(tmp_path / "p", {"sim": task}, {"featureless": DummyRegressor()}, cv, measures=["rmse"])
    assert proj.run(n_workers=0, progress=False).exit_code == 0
    both, one = tmp_path / "both.png", tmp_path / "one.png"
    assert main(["plot", str(proj.path), "pvalue", "-o", str(both)]) == 0
    assert main(["plot", str(proj.path), "pvalue", "--resampling", "soak4", "-o", str(one)]) == 0
    # one block of panels instead of two: half as tall
    assert matplotlib.image.imread(one).shape[0] < 0.75 * matplotlib.image.imread(both).shape[0]
    capsys.readouterr()
    assert main(["plot", str(proj.path), "pvalue", "--resampling", "kfold3", "-o", str(tmp_path / "k.png")]) == 2
    err = capsys.readouterr().err
    assert "--resampling must be the resampling_id of a SOAK cv of this project, one of ['soak3', 'soak4'], " \
           "got 'kfold3'" in err
    assert main(["plot", str(proj.path), "timeline", "--resampling", "soak4", "-o", str(tmp_path / "t.png")]) == 2
    assert "--resampling selects the panels of a pvalue plot" in capsys.readouterr().err
    assert not (tmp_path / "k.png").exists() and not (tmp_path / "t.png").exists()
    # SOAK p-values stay mlr3resampling's by default; --corrected labels Nadeau and Bengio's corrected test
    corrected = tmp_path / "corrected.png"
    assert main(["plot", str(proj.path), "pvalue", "--resampling", "soak4", "--corrected", "-o", str(corrected)]) == 0
    assert matplotlib.image.imread(corrected).shape == matplotlib.image.imread(one).shape
    assert not np.array_equal(matplotlib.image.imread(corrected), matplotlib.image.imread(one))
    capsys.readouterr()
    assert main(["plot", str(proj.path), "timeline", "--corrected", "-o", str(tmp_path / "t.png")]) == 2
    assert "--corrected chooses the p-values of a pvalue plot, got it for timeline: leave it out" in capsys.readouterr().err
    assert not (tmp_path / "t.png").exists()
