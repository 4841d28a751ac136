"""Issue 12, wrong results: learner identity in p-values, SOAK down-sampled sizes.

Expected values are computed by hand from the rules in docs/soak.md.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

import benchgrid as bg
from benchgrid import SOAK, pvalue


def two_subsets(n_a: int, n_b: int) -> pd.DataFrame:
    """One row per group; subset A has n_a rows, B has n_b rows."""
    rng = np.random.default_rng(1)
    n = n_a + n_b
    x = rng.uniform(-2, 2, n)
    return pd.DataFrame({"x": x, "y": x**2 + rng.normal(0, 0.3, n),
                         "person": ["A"] * n_a + ["B"] * n_b})


def test_soak_sizes_include_every_train_subsets_full_size():
    # folds=4: subset A has 20 groups -> same = 20*3//4 = 15; B has 44 -> 33;
    # all = 48, other (for test subset A) = 48 - 15 = 33.
    # candidates: 15, 33, 48 and int(15 * 0.5) = 7, int(15 * 0.25) = 3.
    df = two_subsets(20, 44)
    table = SOAK(folds=4, sizes=2, ratio=0.5, random_state=0).split_table(
        df[["x"]], subset=df["person"])
    one = table[(table["test.subset"] == "A") & (table["test.fold"] == 1)]
    got = {ts: part["n.train.groups"].tolist() for ts, part in one.groupby("train.subsets")}
    assert got == {"all": [3, 7, 15, 33, 48], "other": [3, 7, 15, 33], "same": [3, 7, 15]}
    assert set(one["groups"]) == {15, 33, 48}
    # every down-sampled train set has exactly that many groups (rows here)
    assert (one["n_train"] == one["n.train.groups"]).all()


def test_soak_sizes_zero_unchanged():
    # sizes=0: the full size, then the smallest full size (15), nothing else
    df = two_subsets(20, 44)
    table = SOAK(folds=4, sizes=0, random_state=0).split_table(
        df[["x"]], subset=df["person"])
    one = table[(table["test.subset"] == "A") & (table["test.fold"] == 1)]
    got = {ts: part["n.train.groups"].tolist() for ts, part in one.groupby("train.subsets")}
    assert got == {"all": [48, 15], "other": [33, 15], "same": [15]}


def test_pvalue_groups_by_learner_id_not_class(tmp_path):
    df = two_subsets(12, 12)
    task = bg.Task(df, target="y", features=["x"], subset="person")
    learners = {"stump": DecisionTreeRegressor(max_depth=1),
                "deep": DecisionTreeRegressor(max_depth=5)}
    proj = bg.Project.create(tmp_path / "p", {"t": task}, learners,
                             SOAK(folds=3, random_state=0), measures=["rmse"])
    proj.run(n_workers=0, progress=False)
    scores = proj.scores()
    assert set(scores["algorithm"]) == {"stump", "deep"}  # the learner id, not the class
    pv = pvalue(scores, "rmse")
    # per (learner, test subset, train subset): one score per fold -> n = 3
    assert sorted(set(pv.stats["algorithm"])) == ["deep", "stump"]
    assert (pv.stats["n"] == 3).all()
    assert len(pv.stats) == 2 * 2 * 3  # learners x test subsets x train subsets
    # pairs: one per fold (3), not a cross-join of two learners (12)
    assert (pv.comparisons["N"] == 3).all()
    assert len(pv.comparisons) == 2 * 2 * 2
    # the paired test by hand for one learner and subset
    s = scores[(scores["learner_id"] == "deep") & (scores["test.subset"] == "A")]
    same = s[s["train.subsets"] == "same"].set_index("test.fold")["rmse"]
    other = s[s["train.subsets"] == "other"].set_index("test.fold")["rmse"]
    from scipy import stats

    row = pv.comparisons.set_index(["algorithm", "test.subset", "comparison"]).loc[
        ("deep", "A", "other-same")]
    assert row["mean_diff"] == pytest.approx(float((other - same).mean()))
    assert row["p_paired"] == pytest.approx(stats.ttest_rel(other, same.loc[other.index]).pvalue)
    # the plot has one row of panels per learner, labelled by id
    fig = bg.plot_pvalue(pv)
    labels = {ax.get_ylabel() for ax in fig.axes} | {t.get_text() for ax in fig.axes
                                                       for t in ax.texts}
    assert any("stump" in lab for lab in labels) and any("deep" in lab for lab in labels)
    assert not any("DecisionTreeRegressor" in lab for lab in labels)


def test_pvalue_learner_id_wins_over_class_in_algorithm():
    rows = [{"task_id": "t", "learner_id": lid, "algorithm": "DecisionTreeRegressor",
             "test.subset": "A", "train.subsets": ts, "test.fold": f, "rmse": v + f + off}
            for lid, off in (("d1", 0.0), ("d5", 10.0))
            for ts, v in (("same", 0.0), ("other", 1.0)) for f in (1, 2, 3)]
    pv = pvalue(pd.DataFrame(rows))
    assert pv.comparisons.set_index("algorithm")["N"].to_dict() == {"d1": 3, "d5": 3}
    assert pv.stats.set_index(["algorithm", "train.subsets"])["mean"].to_dict() == {
        ("d1", "same"): 2.0, ("d1", "other"): 3.0, ("d5", "same"): 12.0, ("d5", "other"): 13.0}


SCRIPT = '''
import sys
import numpy as np, pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
import benchgrid as bg


class Doubler(BaseEstimator, TransformerMixin):
    """A transformer defined in the user's script (__main__)."""
    def fit(self, X, y=None):
        return self
    def transform(self, X):
        return np.asarray(X) * 2.0


def f1w(y_true, y_pred):
    return f1_score(y_true, y_pred, average="weighted")


if __name__ == "__main__":
    rng = np.random.default_rng(0)
    x = rng.normal(size=60)
    df = pd.DataFrame({"x": x, "c": np.where(x > 0, "pos", "neg")})
    proj = bg.Project.create(sys.argv[1], {"t": bg.Task(df, target="c")},
                             {"lr": make_pipeline(Doubler(), LogisticRegression())},
                             StratifiedKFold(3, shuffle=True, random_state=0),
                             measures=["accuracy", f1w])
    proj.run(n_workers=2, progress=False)
    print(proj.scores()[["state", "accuracy", "f1w", "error"]].to_csv(index=False))
'''


def test_script_defined_transformer_and_measure_with_real_workers(tmp_path):
    import subprocess
    import sys

    script = tmp_path / "experiment.py"
    script.write_text(SCRIPT)
    proj_dir = tmp_path / "proj"
    out = subprocess.run([sys.executable, str(script), str(proj_dir)], cwd=tmp_path,
                         capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr
    proj = bg.Project.open(proj_dir)
    scores = proj.scores()
    assert (scores["state"] == "done").all(), scores["error"].tolist()
    assert len(scores) == 3 and scores["f1w"].between(0.5, 1).all()
    # ran in worker processes (not the script's), which have no Doubler or f1w
    assert set(scores["pid"]) and not (scores["pid"] == 0).any()


def iris_task():
    from sklearn.datasets import load_iris

    data = load_iris(as_frame=True).frame
    return bg.Task(data, target="target", task_type="classification")


def test_failing_measure_is_nan_with_its_reason_others_kept(tmp_path):
    from sklearn.dummy import DummyClassifier
    from sklearn.model_selection import KFold

    # iris is sorted by class: unshuffled KFold(3) trains on 2 classes, tests on the third
    with pytest.warns(UserWarning, match=r"3 train set\(s\) lack a class of their task"):
        proj = bg.Project.create(tmp_path / "p", {"iris": iris_task()},
                                 {"major": DummyClassifier(strategy="most_frequent")},
                                 KFold(3), measures=["accuracy", "auc", "logloss"])
    proj.run(n_workers=1, progress=False)
    s = proj.scores().sort_values("iteration")
    assert (s["state"] == "done").all()
    # by hand: the majority class of the train set is never in the test set
    assert s["accuracy"].tolist() == [0.0, 0.0, 0.0]
    assert s["auc"].isna().all() and s["logloss"].isna().all()
    # logloss raises (a test class the learner never saw): NaN and the reason
    for reason in s["measure_errors"]:
        assert reason.startswith("logloss: ValueError: y_true contains values")
    # auc of one test class is undefined: sklearn warns and returns NaN; the warning is kept
    assert (s["n_warnings"] >= 1).all()
    assert s["warnings"].str.contains("Only one class").all()
    assert (s["fit_s"] >= 0).all() and (s["n_train"] == 100).all()


def test_measure_columns_same_whatever_fails(tmp_path):
    from sklearn.dummy import DummyClassifier
    from sklearn.model_selection import StratifiedKFold

    cols = []
    for name, cv in (("ok", StratifiedKFold(3, shuffle=True, random_state=0)),
                     ("bad", __import__("sklearn.model_selection").model_selection.KFold(3))):
        with __import__("warnings").catch_warnings():
            __import__("warnings").simplefilter("ignore")
            proj = bg.Project.create(tmp_path / name, {"iris": iris_task()},
                                     {"major": DummyClassifier()}, cv,
                                     measures=["accuracy", "logloss"])
        proj.run(n_workers=0, progress=False)
        s = proj.scores()
        cols.append(list(s.columns))
        if name == "ok":
            assert s["measure_errors"].isna().all() and s["logloss"].notna().all()
    assert cols[0] == cols[1]


def test_strict_refuses_train_sets_missing_a_class(tmp_path):
    from sklearn.dummy import DummyClassifier
    from sklearn.model_selection import KFold

    with pytest.raises(bg.InputError, match=r"lack a class of their task \(first: task 'iris' "
                                            r"iteration 1 \(1 of 3 classes missing\)\)"):
        bg.Project.create(tmp_path / "p", {"iris": iris_task()}, {"d": DummyClassifier()},
                          KFold(3), strict=True)
    assert not (tmp_path / "p").exists()


def test_two_resamplings_in_one_project(tmp_path):
    from sklearn.dummy import DummyRegressor
    from sklearn.model_selection import KFold

    df = two_subsets(12, 12)
    task = bg.Task(df, target="y", features=["x"], subset="person")
    cv = {"soak": SOAK(folds=3, random_state=0), "kfold5": KFold(5, shuffle=True, random_state=0)}
    proj = bg.Project.create(tmp_path / "p", {"t": task},
                             {"featureless": DummyRegressor(), "tree": DecisionTreeRegressor()},
                             cv, measures=["rmse"])
    # SOAK: 3 folds x 2 test subsets x 3 train subsets = 18; KFold: 5; times 2 learners
    jobs = proj.jobs()
    assert jobs.groupby("resampling_id").size().to_dict() == {"kfold5": 10, "soak": 36}
    proj.run(n_workers=2, progress=False)
    for table in (proj.results(), proj.scores()):
        assert table.groupby("resampling_id").size().to_dict() == {"kfold5": 10, "soak": 36}
    s = proj.scores()
    assert (s["state"] == "done").all()
    k = s[s["resampling_id"] == "kfold5"]
    # 24 rows in 5 folds: 5, 5, 5, 5, 4 rows per test set, for each of 2 learners
    assert sorted(k["n_test"]) == [4] * 2 + [5] * 8 and k["train.subsets"].isna().all()
    # the KFold rows do not disturb the SOAK p-values: 3 pairs per comparison
    pv = pvalue(s, "rmse")
    assert set(pv.comparisons["resampling_id"]) == {"soak"} and (pv.comparisons["N"] == 3).all()
    assert proj.metadata["ml"]["cv"] == {"soak": repr(cv["soak"]), "kfold5": repr(cv["kfold5"])}
    # the scores plot keeps the KFold rows: a row "kfold5" in a panel of their own
    fig = bg.plot_scores(s, "rmse")
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible()]
    assert len(titles) == 3 and any("(every subset)" in t for t in titles)
    assert "kfold5" in [t.get_text() for t in fig.axes[0].get_yticklabels()]


def test_single_cv_gets_a_resampling_id(tmp_path):
    from sklearn.dummy import DummyRegressor
    from sklearn.model_selection import KFold

    proj = bg.Project.create(tmp_path / "p", {"t": bg.Task(two_subsets(6, 6), target="y")},
                             {"d": DummyRegressor()}, KFold(3))
    assert set(proj.jobs()["resampling_id"]) == {"kfold"}
    with pytest.raises(bg.InputError, match=r"resampling id must be a safe file name"):
        bg.Project.create(tmp_path / "q", {"t": bg.Task(two_subsets(6, 6), target="y")},
                          {"d": DummyRegressor()}, {"../k": KFold(3)})
    assert not (tmp_path / "q").exists()


@pytest.mark.parametrize("target", ["y", "c"])
def test_int_cv_with_a_group_column_keeps_groups_together(target):
    from benchgrid.ml._splits import compute_splits

    df = two_subsets(15, 15).assign(g=np.arange(30) // 3)
    df["c"] = np.where(df["y"] > df["y"].median(), "hi", "lo")
    task = bg.Task(df, target=target, features=["x"], group="g")
    s = compute_splits(3, task, "t")
    assert len(s) == 3
    for i in range(3):
        train, test = s.get(i)
        assert not set(df["g"].iloc[train]) & set(df["g"].iloc[test])
    tests = np.concatenate([s.get(i)[1] for i in range(3)])
    assert sorted(tests) == list(range(30))  # each row tested once


def test_add_keeps_the_project_coherent_and_cli_filters(tmp_path, capsys):
    from sklearn.dummy import DummyRegressor
    from sklearn.model_selection import KFold

    from benchgrid.cli.main import main
    from benchgrid.report._html import write_report

    def smallest_first(jobs):
        return jobs.sort_values("n_train", kind="stable")

    df = two_subsets(10, 11)
    root = tmp_path / "p"
    proj = bg.Project.create(root, {"t1": bg.Task(df.head(20), target="y", features=["x"])},
                             {"featureless": DummyRegressor(),
                              "rf": DecisionTreeRegressor(max_depth=2),
                              "bad": DecisionTreeRegressor(max_depth=-1)},  # fit raises
                             KFold(3), measures=["rmse"], order=smallest_first)
    proj.run(n_workers=0, progress=False)
    n = proj.add(tasks={"t2": bg.Task(df, target="y", features=["x"])},
                 learners={"rf": DecisionTreeRegressor(max_depth=4)}, replace=True)
    # t2: 3 learners x 3 folds; the new rf on t1: 3 folds
    assert n == 12
    added = proj.jobs().iloc[9:]
    assert added["n_train"].tolist() == sorted(added["n_train"])  # the project's own order
    ml = bg.Project.open(root).metadata["ml"]
    assert set(ml["tasks"]) == {"t1", "t2"} and "max_depth=4" in ml["learners"]["rf"]["repr"]
    proj.run(n_workers=0, progress=False)
    html = write_report(proj).read_text()
    assert "t2" in html and "max_depth=4" in html and "max_depth=2" not in html

    # scores: old rf rows (3) left out; 21 jobs in all
    out = tmp_path / "scores.csv"
    assert main(["results", str(root), "--scores", "-o", str(out)]) == 0
    scores = pd.read_csv(out)
    assert len(scores) == 21 - 3
    assert scores.groupby("learner_id").size().to_dict() == {"bad": 6, "featureless": 6, "rf": 6}
    assert main(["results", str(root), "--scores", "--where", "learner_id=rf",
                 "--where", "task_id=t2", "-o", str(out)]) == 0
    assert len(pd.read_csv(out)) == 3
    # retry by filter: only the errored jobs of learner 'bad' (6), none of the others
    capsys.readouterr()
    assert main(["retry", str(root), "--where", "learner_id=featureless"]) == 0
    assert "put 0 job(s) back" in capsys.readouterr().out
    assert main(["retry", str(root), "--where", "learner_id=bad"]) == 0
    assert "put 6 job(s) back" in capsys.readouterr().out
    assert main(["retry", str(root), "--where", "learner=bad"]) == 2
    assert "retry: the job table has no column 'learner'; use one of" in capsys.readouterr().err
    assert main(["retry", str(root), "--where", "learner_id=svm"]) == 2  # matches no job: said, not 0
    assert "retry: no job has learner_id='svm'; learner_id is one of" in capsys.readouterr().err


def max_error(y_true, y_pred):
    return float(np.max(np.abs(np.asarray(y_true) - y_pred)))


def test_measures_as_name_to_callable_dict_inside_a_list(tmp_path):
    from sklearn.dummy import DummyRegressor
    from sklearn.model_selection import KFold

    df = pd.DataFrame({"x": [0.0, 1, 2, 3], "y": [0.5, 1.5, 2.5, 3.5]})
    proj = bg.Project.create(tmp_path / "p", {"t": bg.Task(df, target="y")},
                             {"mean": DummyRegressor()}, KFold(2),
                             measures=["rmse", {"worst": max_error}])
    proj.run(n_workers=0, progress=False)
    s = proj.scores().sort_values("iteration")
    # fold 1: train mean 3.0, test 0.5, 1.5 -> errors 2.5, 1.5; fold 2: mean 1.0 -> 1.5, 2.5
    assert s["worst"].tolist() == [2.5, 2.5]
    assert s["rmse"].tolist() == pytest.approx([np.sqrt(4.25)] * 2)
    assert proj.metadata["ml"]["measures"] == ["rmse", "worst"]


class Hog(DecisionTreeClassifier):
    """Holds ``mb`` megabytes during fit (touched, so resident), then frees them."""

    def __init__(self, mb=0, max_depth=None):
        self.mb = mb
        super().__init__(max_depth=max_depth)

    def fit(self, X, y, **kw):
        block = np.ones(int(self.mb * 2**20 / 8))
        block.sum()
        del block
        return super().fit(X, y, **kw)


def test_time_memory_and_warning_columns_per_job(tmp_path):
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import KFold

    from benchgrid.report._html import _runs

    df = two_subsets(30, 30)
    df["c"] = np.where(df["x"] > 0, "pos", "neg")
    task = bg.Task(df, target="c", features=["x"])
    proj = bg.Project.create(
        tmp_path / "p", {"t": task},
        # grid order: the hog's jobs run first in the one worker, then the small ones
        {"hog": Hog(mb=300), "small": Hog(mb=0),
         "lr": LogisticRegression(max_iter=1)},  # ConvergenceWarning
        KFold(2, shuffle=True, random_state=0), measures=["accuracy"], order="grid")
    proj.run(n_workers=1, progress=False)
    r = proj.results()
    assert (r["state"] == "done").all()
    for col in ("claimed_at", "started_at", "ended_at"):
        assert str(r[col].dtype) == "datetime64[ns, UTC]"
    assert (r["claimed_at"] <= r["started_at"]).all() and (r["started_at"] <= r["ended_at"]).all()
    assert r["duration_s"].to_numpy() == pytest.approx(
        (r["ended_at"] - r["started_at"]).dt.total_seconds().to_numpy(), abs=1e-5)
    peak = r.groupby("learner_id")["peak_mem_mb"].max()
    # per job, not the worker's lifetime peak: jobs after the hog's do not inherit its 300 MB
    assert peak["hog"] > peak["small"] + 200
    assert r.loc[r["learner_id"] == "small", "peak_mem_mb"].max() < peak["hog"] - 200
    warned = r.set_index("learner_id")
    assert (warned.loc["lr", "n_warnings"] >= 1).all()
    assert warned.loc["lr", "warnings"].str.contains("ConvergenceWarning").all()
    assert (warned.loc["small", "n_warnings"] == 0).all() and warned.loc["small", "warnings"].isna().all()

    # one run, then the same jobs a day later: two runs, each with its own makespan
    runs = _runs(r)
    assert len(runs) == 1 and runs[0][2] == 6
    later = r.copy()
    for col in ("started_at", "ended_at"):
        later[col] = later[col] + pd.Timedelta(days=1)
    later["worker"] = later["worker"] + "-again"
    runs = _runs(pd.concat([r, later], ignore_index=True))
    assert [n for _, _, n in runs] == [6, 6]
    assert all(t1 - t0 < 3600 for t0, t1, _ in runs)
    fig = bg.plot_timeline(pd.concat([r, later], ignore_index=True))
    assert len(fig.axes) == 2


class Slow(DecisionTreeRegressor):
    """A learner whose fit costs 0.1 s plus 0.0005 s per training row (sleeps)."""

    def __init__(self, max_depth=1):
        super().__init__(max_depth=max_depth)

    def fit(self, X, y, **kw):
        import time

        time.sleep(0.1 + 0.0005 * len(X))
        return super().fit(X, y, **kw)


def test_try_sample_extrapolates_like_the_full_try(tmp_path, capsys):
    import re

    from sklearn.model_selection import KFold

    from benchgrid.cli.main import main

    df = two_subsets(400, 400)
    proj = bg.Project.create(tmp_path / "p", {"t": bg.Task(df, target="y", features=["x"])},
                             {"slow": Slow()}, KFold(4), measures=["rmse"])
    # by hand: 4 jobs of 600 training rows, fit 0.1 + 0.0005 * 600 = 0.4 s each
    by_hand = 4 * 0.4
    full = proj.try_jobs()
    sampled = proj.try_jobs(sample=100)
    assert sampled["n_train"].tolist() == [100]
    assert sampled["fit_fixed_s"].iloc[0] == pytest.approx(0.1, abs=0.04)
    assert sampled["fit_per_row_s"].iloc[0] == pytest.approx(0.0005, rel=0.5)
    for table in (full, sampled):
        # sleeps never end early; a busy machine adds a little
        assert 0.8 * by_hand < table["est_cpu_s"].iloc[0] < 1.6 * by_hand
    # dividing the sampled fit by its rows gave 0.15 / 100 * 2400 = 3.6 s, 2.25 x too much
    assert main(["try", str(tmp_path / "p"), "--sample", "100"]) == 0
    m, s = re.search(r"4 jobs, estimated CPU time (\d+):(\d\d) ", capsys.readouterr().out).groups()
    assert 60 * int(m) + int(s) in (1, 2)


GRID = '''
import numpy as np, pandas as pd
import benchgrid as bg
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.linear_model import Ridge
from sklearn.model_selection import KFold
from sklearn.pipeline import make_pipeline


class Square(BaseEstimator, TransformerMixin):      # defined in the grid file only
    def fit(self, X, y=None):
        return self
    def transform(self, X):
        return np.asarray(X) ** 2


def max_abs(y_true, y_pred):                        # defined in the grid file only
    return float(np.max(np.abs(np.asarray(y_true) - y_pred)))


x = np.linspace(-2, 2, 30)
tasks = {"sq": bg.Task(pd.DataFrame({"x": x, "y": x**2 + 0.5}), target="y")}
learners = {"sq_ridge": make_pipeline(Square(), Ridge(alpha=1e-9))}
cv = KFold(3, shuffle=True, random_state=0)
measures = ["rmse", {"max_abs": max_abs}]
'''


def test_grid_file_classes_and_functions_run_in_real_workers(tmp_path, capsys):
    from benchgrid.cli.main import main

    grid = tmp_path / "grid.py"
    grid.write_text(GRID)
    root = tmp_path / "proj"
    assert main(["init", str(root), "--grid", str(grid)]) == 0
    grid.unlink()  # workers must not need the file: its objects are stored by value
    assert main(["run", str(root), "--workers", "2", "--no-progress"]) == 0
    s = bg.Project.open(root).scores()
    assert (s["state"] == "done").all() and len(s) == 3
    # y = x^2 + 0.5 exactly: a linear fit on x^2 is perfect
    assert s["rmse"].max() < 1e-6 and s["max_abs"].max() < 1e-6


def test_grid_file_strict_refuses_train_sets_missing_a_class(tmp_path, capsys):
    from benchgrid.cli.main import main

    grid = tmp_path / "grid.py"
    grid.write_text("import benchgrid as bg\nfrom sklearn.datasets import load_iris\n"
                    "from sklearn.dummy import DummyClassifier\nfrom sklearn.model_selection import KFold\n"
                    "tasks = {'iris': bg.Task(load_iris(as_frame=True).frame, target='target')}\n"
                    "learners = {'d': DummyClassifier()}\ncv = KFold(3)\nstrict = True\n")
    assert main(["init", str(tmp_path / "p"), "--grid", str(grid)]) == 2
    assert "3 train set(s) lack a class of their task" in capsys.readouterr().err
    assert not (tmp_path / "p").exists()


def test_a_named_measure_keeps_the_name_the_user_gave_it(tmp_path):
    """Issue 23: ``{"acc": "accuracy"}`` is the column ``acc`` (it was stored as ``accuracy``)."""
    from sklearn.model_selection import StratifiedKFold

    df = pd.DataFrame({"x": np.arange(12.0), "c": ["a", "b"] * 6})
    proj = bg.Project.create(tmp_path / "p", {"t": bg.Task(df, target="c")},
                             {"cart": DecisionTreeClassifier()}, StratifiedKFold(2),
                             measures=[{"acc": "accuracy"}, "ce"])
    assert proj.run(n_workers=1, progress=False).counts["done"] == 2
    s = proj.scores()
    assert "acc" in s.columns and "accuracy" not in s.columns
    assert (s["acc"] + s["ce"]).tolist() == pytest.approx([1.0, 1.0])
    assert proj.metadata["ml"]["measures"] == ["acc", "ce"]
    assert proj.metadata["ml"]["greater_is_better"] == {"acc": True, "ce": False}


def test_overlapping_explicit_split_is_refused_naming_the_rows(tmp_path):
    """Issue 23: a row in both train and test is leakage; refused at creation, nothing written."""
    df = pd.DataFrame({"x": np.arange(10.0), "y": np.arange(10.0) * 0.5 + 0.1})
    cv = [(np.arange(0, 6), np.arange(6, 10)), (np.arange(3, 10), np.arange(0, 4))]
    with pytest.raises(bg.InputError, match=r"must not overlap \(leakage\), but task 't', iteration 2 has 1 "
                                            r"row\(s\) in both \(first: row 3\)"):
        bg.Project.create(tmp_path / "p", {"t": bg.Task(df, target="y")},
                          {"cart": DecisionTreeRegressor()}, cv)
    assert not (tmp_path / "p").exists()


def test_a_regressor_on_a_classification_task_is_refused(tmp_path):
    """Issue 23: it used to give a classification error and NaN accuracy, silently."""
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    df = pd.DataFrame({"x": np.arange(12.0), "c": ["a", "b"] * 6})
    with pytest.raises(bg.InputError, match=r"learner 'lm' \(LinearRegression\) is a regressor, but task 't' "
                                            r"is a classification task; use a classifier"):
        bg.Project.create(tmp_path / "p", {"t": bg.Task(df, target="c")},
                          {"lm": make_pipeline(StandardScaler(), LinearRegression())}, 2)
    assert not (tmp_path / "p").exists()
    ok = bg.Project.create(tmp_path / "q", {"t": bg.Task(df, target="c")}, {"cart": DecisionTreeClassifier()}, 2)
    with pytest.raises(bg.InputError, match=r"learner 'lm' \(LinearRegression\) is a regressor, but task 't'"):
        ok.add(learners={"lm": LinearRegression()})
    assert len(ok.jobs()) == 2
