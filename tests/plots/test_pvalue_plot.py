"""plot_pvalue: real image files, panel layout, labels, the down-sampling view."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from benchgrid import InputError, SOAK, plot_pvalue, pvalue

MAGIC = {".png": b"\x89PNG", ".pdf": b"%PDF", ".svg": b"<?xml"}


@pytest.fixture(scope="module")
def scores() -> pd.DataFrame:
    """Scores of two fake algorithms on real SOAK iterations (sizes=0: full + smallest)."""
    person = np.repeat(["Alice", "Bob"], 30)
    rng = np.random.default_rng(0)
    rows = []
    soak = SOAK(folds=3, sizes=0, random_state=0)
    for train, test, meta in soak.iter_splits(np.zeros(60), subset=person, stratum=person):
        for alg, shift in [("featureless", 0.0), ("tree", 1.0)]:
            bias = {"same": 0.0, "other": shift, "all": shift / 4}[meta["train.subsets"]]
            rows.append({"task_id": "sim", "learner_id": alg, "algorithm": alg, **meta,
                         "fit_s": 0.1, "rmse": 1 + bias + rng.normal(0, 0.004)})
    return pd.DataFrame(rows)


def texts(fig) -> list[str]:  # type: ignore[no-untyped-def]
    return [t.get_text() for ax in fig.axes for t in ax.texts]


@pytest.mark.parametrize("suffix", [".png", ".svg", ".pdf"])
def test_writes_image_in_format_of_suffix(scores: pd.DataFrame, tmp_path, suffix: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / f"p value 'plot'{suffix}"
    fig = plot_pvalue(scores, path=path)
    assert path.read_bytes().startswith(MAGIC[suffix])
    assert len(fig.axes) == 2 * 2  # algorithms x (task, test subset)


def test_panels_rows_and_labels(scores: pd.DataFrame) -> None:
    pv = pvalue(scores)
    fig = plot_pvalue(pv)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "all", "all-same", "same", "other-same", "other"]
    assert fig.axes[-1].get_xlabel() == "rmse (mean ± sd, lower is better)"
    assert {ax.get_title() for ax in fig.axes[:2]} == {
        "task_id: sim\ntest.subset: Alice", "task_id: sim\ntest.subset: Bob"}
    labels = texts(fig)
    # one "mean ± sd" per train subset and one P label per comparison, per panel
    assert sum("±" in t for t in labels) == len(pv.stats) == 12
    p_labels = [t for t in labels if t.startswith("P")]
    assert len(p_labels) == len(pv.comparisons) == 8
    tree_other = pv.comparisons.query("algorithm == 'tree' and comparison == 'other-same'")
    assert (tree_other["p_paired"] < 0.0001).all()
    assert "P < 0.0001" in p_labels
    mean_sd = pv.stats.iloc[0]
    assert f"{mean_sd['mean']:.3f} ± {mean_sd['sd']:.3f}" in labels


def test_select_panels(scores: pd.DataFrame) -> None:
    fig = plot_pvalue(scores, algorithm="tree", test_subset="Bob")
    assert len(fig.axes) == 1
    with pytest.raises(InputError, match="must select at least one panel, got algorithm='svm'"):
        plot_pvalue(scores, algorithm="svm")


def test_downsample_view(scores: pd.DataFrame, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "down.png"
    fig = plot_pvalue(scores, downsample=True, test_subset="Alice", algorithm="tree", path=path)
    assert path.read_bytes().startswith(MAGIC[".png"])
    full, small = fig.axes
    assert full.get_title() == "full size: same 20, other 20, all 40 groups"
    assert small.get_title() == "down-sampled: 20 train groups"
    assert full.get_xlim() == small.get_xlim()
    # at the smallest size every train subset has a row, so all 5 rows are labelled
    assert sum("±" in t.get_text() for t in small.texts) == 3
    assert sum(t.get_text().startswith("P") for t in small.texts) == 2


def test_downsample_errors(scores: pd.DataFrame) -> None:
    with pytest.raises(InputError, match=r"algorithm must be given for downsample=True"):
        plot_pvalue(scores, downsample=True, test_subset="Alice")
    with pytest.raises(InputError, match=r"test_subset must be one of \['Alice', 'Bob'\], got 'Eve'"):
        plot_pvalue(scores, downsample=True, test_subset="Eve", algorithm="tree")
    with pytest.raises(InputError, match="must be a scores DataFrame for downsample=True"):
        plot_pvalue(pvalue(scores), downsample=True)
    full_only = scores[scores["n.train.groups"] == scores["groups"]]
    with pytest.raises(InputError, match=r"down-sampled rows at the smallest size \(20 groups\)"):
        plot_pvalue(full_only, downsample=True, test_subset="Alice", algorithm="tree")


def test_bad_arguments(scores: pd.DataFrame) -> None:
    with pytest.raises(InputError, match=r"path must end in one of .*, got 'plot.jpg'"):
        plot_pvalue(scores, path="plot.jpg")
    with pytest.raises(InputError, match="digits must be an integer from 0 to 10, got -1"):
        plot_pvalue(scores, digits=-1)


def test_nan_p_value_is_labelled_na() -> None:
    rows = [{"task_id": "t", "algorithm": "a", "test.subset": "A", "train.subsets": ts,
             "test.fold": 1, "rmse": v} for ts, v in [("same", 1.0), ("other", 2.0)]]
    fig = plot_pvalue(pd.DataFrame(rows))
    assert "P = NA" in texts(fig)


def test_import_benchgrid_does_not_load_matplotlib() -> None:
    code = ("import sys, benchgrid; benchgrid.SOAK; benchgrid.pvalue; benchgrid.plot_pvalue; "
            "print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.fixture(scope="module")
def two_soak_scores(tmp_path_factory) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    """Scores of a real project with two SOAK resamplings and a KFold, run in-process."""
    import benchgrid as bg
    from sklearn.dummy import DummyRegressor
    from sklearn.model_selection import KFold
    from sklearn.tree import DecisionTreeRegressor

    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, 60)
    df = pd.DataFrame({"x": x, "person": np.repeat(["Alice", "Bob"], 30), "y": x**2 + rng.normal(0, 0.3, 60)})
    task = bg.Task(df, target="y", features=["x"], subset="person", stratum="person")
    cv = {"soak3": bg.SOAK(folds=3, random_state=0), "soak4": bg.SOAK(folds=4, random_state=1),
          "kfold3": KFold(3, shuffle=True, random_state=0)}
    proj = bg.Project.create(tmp_path_factory.mktemp("two soak") / "proj", {"sim": task},
                             {"featureless": DummyRegressor(), "tree": DecisionTreeRegressor(max_depth=2)}, cv,
                             measures=["rmse"])
    assert proj.run(n_workers=0, progress=False).exit_code == 0
    return proj.scores()


def test_one_block_of_panels_per_resampling(two_soak_scores: pd.DataFrame, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from PIL import Image

    path = tmp_path / "pvalue two resamplings.png"
    fig = plot_pvalue(two_soak_scores, "rmse", path=path)
    # 2 SOAK resamplings x 2 algorithms rows, 2 test subsets columns; the KFold has no p-values
    assert len(fig.axes) == 2 * 2 * 2
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == [
        "resampling_id: soak3\ntask_id: sim\ntest.subset: Alice", "resampling_id: soak3\ntask_id: sim\ntest.subset: Bob",
        "", "",
        "resampling_id: soak4\ntask_id: sim\ntest.subset: Alice", "resampling_id: soak4\ntask_id: sim\ntest.subset: Bob",
        "", "",
    ]
    rows = [t.get_text() for ax in fig.axes[1::2] for t in ax.texts if t.get_text().startswith("algorithm")]
    assert rows == ["algorithm: featureless", "algorithm: tree"] * 2
    pv = pvalue(two_soak_scores, "rmse")
    assert sum("±" in t for t in texts(fig)) == len(pv.stats) == 2 * 2 * 2 * 3
    assert sum(t.startswith("P ") for t in texts(fig)) == len(pv.comparisons) == 2 * 2 * 2 * 2
    with Image.open(path) as img:
        width, height = img.size
    assert width >= 900 and height >= 1200  # four rows of panels, each tall enough to read
    one = plot_pvalue(two_soak_scores, "rmse", resampling_id="soak4")
    assert len(one.axes) == 4 and one.axes[0].get_title() == "task_id: sim\ntest.subset: Alice"


def test_one_resampling_keeps_the_plot_as_it_was(scores: pd.DataFrame) -> None:
    with_id = plot_pvalue(scores.assign(resampling_id="soak"))
    without = plot_pvalue(scores)
    assert [ax.get_title() for ax in with_id.axes] == [ax.get_title() for ax in without.axes]
    assert len(with_id.axes) == len(without.axes) == 4
    with pytest.raises(InputError, match="resampling_id selects panels by the column 'resampling_id', which the "
                                         "scores do not have; got resampling_id='soak': leave it out"):
        plot_pvalue(scores, resampling_id="soak")


def test_corrected_p_values_are_an_option(scores: pd.DataFrame) -> None:
    """Default labels stay mlr3resampling's paired t-test; corrected=True shows Nadeau and Bengio's."""
    pv = pvalue(scores, corrected=True)
    plain = [t for t in texts(plot_pvalue(scores)) if t.startswith("P")]
    corrected = [t for t in texts(plot_pvalue(scores, corrected=True)) if t.startswith("corrected P")]
    assert len(plain) == len(corrected) == len(pv.comparisons) == 8
    fmt = lambda p, prefix: f"{prefix} < 0.0001" if p < 0.0001 else f"{prefix} = {p:.4f}"  # noqa: E731
    assert sorted(plain) == sorted(fmt(p, "P") for p in pv.comparisons["p_paired"])
    assert sorted(corrected) == sorted(fmt(p, "corrected P") for p in pv.comparisons["p_corrected"])
    assert (pv.comparisons["p_corrected"] > pv.comparisons["p_paired"]).all()  # wider: fewer false alarms
    assert plain != sorted(fmt(p, "P") for p in pv.comparisons["p_corrected"])  # the two labels differ
    assert "p_corrected" in repr(pv) and "Nadeau and Bengio" in repr(pv)
    assert "p_corrected" not in repr(pvalue(scores))
    with pytest.raises(InputError, match=r"pv_or_scores must have p_corrected for corrected=True, got a PValue "
                                         r"computed without it; pass pvalue\(scores, corrected=True\)"):
        plot_pvalue(pvalue(scores), corrected=True)
    with pytest.raises(InputError, match="corrected must be True or False, got 'yes'"):
        plot_pvalue(scores, corrected="yes")  # type: ignore[arg-type]
    fig = plot_pvalue(scores, downsample=True, algorithm="tree", test_subset="Bob", corrected=True)
    assert sum(t.startswith("corrected P") for t in texts(fig)) == 4  # full size and smallest, 2 comparisons each
