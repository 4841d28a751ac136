"""plot_scores on a real SOAK project, on tables, and `benchgrid plot` from the command line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import benchgrid as bg
from benchgrid import InputError, plot_scores
from benchgrid.cli.main import main

MAGIC = {".png": b"\x89PNG", ".pdf": b"%PDF", ".svg": b"<?xml"}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> bg.Project:
    """The demo's SOAK grid (2 tasks x 2 people x 2 learners x 3 train subsets x 3 folds), run here."""
    from benchgrid.ml._demo import demo_grid

    g = demo_grid()
    root = tmp_path_factory.mktemp("scores") / "proj"
    proj = bg.Project.create(root, g["tasks"], g["learners"], g["cv"], measures=g["measures"])
    proj.run(n_workers=0, progress=False)
    return proj


@pytest.mark.parametrize("suffix", [".png", ".svg", ".pdf"])
def test_file_format_size_and_panels(project: bg.Project, tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"scores 'x'{suffix}"
    fig = plot_scores(project, path=path)
    data = path.read_bytes()
    assert data.startswith(MAGIC[suffix]) and len(data) > 10_000
    assert len(fig.axes) == 4  # (easy, impossible) x (Alice, Bob)
    assert {ax.get_title() for ax in fig.axes} == {
        f"task_id: {t}\ntest.subset: {s}" for t in ("easy", "impossible") for s in ("Alice", "Bob")}
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["all", "same", "other"]
    assert fig.axes[-1].get_xlabel() == "rmse (mean ± sd over folds, lower is better)"
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["featureless", "rpart", "one fold"]


def test_mean_and_sd_are_drawn(project: bg.Project) -> None:
    scores = project.scores()
    fig = plot_scores(scores, "mae")
    cell = scores[(scores["task_id"] == "easy") & (scores["test.subset"] == "Alice")
                  & (scores["learner_id"] == "rpart") & (scores["train.subsets"] == "same")]["mae"]
    ax = next(a for a in fig.axes if a.get_title() == "task_id: easy\ntest.subset: Alice")
    bars = [line.get_xdata() for line in ax.lines if len(line.get_xdata()) == 2]
    mean, sd = cell.mean(), cell.std(ddof=1)
    assert any(np.allclose(b, [mean - sd, mean + sd]) for b in bars)


def test_downsampled_rows_and_other_splitters() -> None:
    rows = [{"task_id": "t", "learner_id": "tree", "test.subset": "A", "train.subsets": ts,
             "groups": 10, "n.train.groups": n, "test.fold": f, "rmse": 1.0 + f / 10}
            for ts in ("same", "other") for n in (5, 10) for f in (1, 2, 3)]
    fig = plot_scores(pd.DataFrame(rows))
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == [
        "same, 5", "same, 10", "other, 5", "other, 10"]
    # results() spelling, no SOAK columns (plain KFold): one row, one panel per task
    kfold = pd.DataFrame({"task_id": ["a"] * 3 + ["b"] * 3, "learner_id": "lin", "test_fold": [1, 2, 3] * 2,
                          "state": "done", "accuracy": np.linspace(0.5, 0.9, 6)})
    fig = plot_scores(kfold)
    assert len(fig.axes) == 2
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["all folds"]


def test_bad_input(tmp_path: Path) -> None:
    table = pd.DataFrame({"task_id": ["t"], "learner_id": ["x"], "rmse": [1.0]})
    with pytest.raises(InputError, match=r"measure must be a column of the scores, got 'auc'"):
        plot_scores(table, "auc")
    with pytest.raises(InputError, match=r"path must end in one of .*'s\.gif'"):
        plot_scores(table, path="s.gif")
    with pytest.raises(InputError, match=r"columns task_id and learner_id \(or algorithm\), got no \['task_id'\]"):
        plot_scores(pd.DataFrame({"learner_id": ["x"], "rmse": [1.0]}))
    generic = bg.Project.create(tmp_path / "g", [{"i": 1}], "tests.runners.jobs:echo")
    with pytest.raises(InputError, match="need an ML project"):
        plot_scores(generic)


def test_cli_plot_kinds(project: bg.Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for kind, name in (("timeline", "t l.svg"), ("scores", "s.png"), ("pvalue", "p.pdf")):
        out = tmp_path / name
        assert main(["plot", str(project.path), kind, "-o", str(out)]) == 0
        assert out.read_bytes().startswith(MAGIC[out.suffix]) and out.stat().st_size > 10_000
    assert main(["plot", str(project.path), str(project.path), "timeline", "-o",
                 str(tmp_path / "two.png"), "--color-by", "state"]) == 0
    capsys.readouterr()
    for argv, message in (
        (["gantt"], "plot kind must be one of timeline, scores, pvalue, got 'gantt'"),
        (["scores", "-o", str(tmp_path / "x.jpg")], "-o must end in one of .png, .svg, .pdf"),
        (["scores", "--measure", "auc"], "measure must be a column of the scores, got 'auc'"),
        (["timeline", "--color-by", "colour", "-o", str(tmp_path / "c.png")], "color_by must be"),
    ):
        assert main(["plot", str(project.path), *argv]) == 2
        assert message in capsys.readouterr().err
    assert not (tmp_path / "x.jpg").exists() and not (tmp_path / "c.png").exists()


def test_cli_pvalue_needs_soak_columns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from sklearn.dummy import DummyRegressor
    from sklearn.model_selection import KFold

    from benchgrid.ml._demo import demo_data

    df = demo_data()
    proj = bg.Project.create(tmp_path / "kfold", {"easy": bg.Task(df[["x", "easy"]], target="easy")},
                             {"featureless": DummyRegressor()}, KFold(3), measures=["rmse"])
    proj.run(n_workers=0, progress=False)
    assert main(["plot", str(proj.path), "pvalue", "-o", str(tmp_path / "p.png")]) == 2
    assert "a pvalue plot needs SOAK results" in capsys.readouterr().err
    assert not (tmp_path / "p.png").exists()
