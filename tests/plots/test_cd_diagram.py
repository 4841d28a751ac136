"""plot_cd (Demšar's critical-difference diagram) and plot_task_scores: real image files, their parts, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import benchgrid as bg
from benchgrid import InputError

MAGIC = {".png": b"\x89PNG", ".pdf": b"%PDF", ".svg": b"<?xml"}


def scores(n_tasks: int = 10, learners: tuple[str, ...] = ("featureless", "tree", "forest", "knn", "logistic"),
           seed: int = 0, measure: str = "accuracy") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame([
        {"task_id": f"task{t}", "learner_id": lrn, "iteration": f, measure: 0.6 + 0.04 * j + rng.normal(0, 0.04)}
        for t in range(n_tasks) for j, lrn in enumerate(learners) for f in range(1, 5)])


def thick_bars(fig) -> list[tuple[float, float]]:
    """The x extent of each clique bar (the thick lines under the axis)."""
    return [tuple(line.get_xdata()) for line in fig.axes[0].lines if line.get_linewidth() > 3]


def learner_labels(fig) -> dict[str, float]:
    out = {}
    for t in fig.axes[0].texts:
        text = t.get_text()
        if text.endswith(")") and " (" in text and "rank" not in text:
            name, rank = text.rsplit(" (", 1)
            out[name] = float(rank[:-1])
    return out


@pytest.mark.parametrize("suffix", [".png", ".svg", ".pdf"])
def test_cd_diagram_file_and_parts(tmp_path: Path, suffix: str) -> None:
    c = bg.compare(scores(), "accuracy")
    path = tmp_path / f"cd 'x'{suffix}"
    fig = bg.plot_cd(c, path=path)
    data = path.read_bytes()
    assert data.startswith(MAGIC[suffix]) and len(data) > 5_000
    labels = learner_labels(fig)
    assert labels == {lrn: pytest.approx(round(r, 2)) for lrn, r in c.mean_ranks.items()}
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert f"CD = {c.nemenyi.cd:.2f}" in texts
    assert [str(i) for i in range(1, 6)] == [t for t in texts if t.isdigit()]  # the axis of ranks 1..k
    assert any("rank 1: the best accuracy, higher is better" in t.get_text().replace("\n", " ") for t in fig.texts)
    # one bar per clique, from its best to its worst mean rank
    bars = thick_bars(fig)
    cliques = c.cliques("nemenyi")
    assert len(bars) == len(cliques) >= 1
    for (x0, x1), members in zip(bars, cliques):
        assert x0 == pytest.approx(c.mean_ranks[members[0]] - 0.03) and x1 == pytest.approx(c.mean_ranks[members[-1]] + 0.03)
        assert c.mean_ranks[members[-1]] - c.mean_ranks[members[0]] <= c.nemenyi.cd


def test_cd_diagram_png_has_a_sensible_size(tmp_path: Path) -> None:
    from PIL import Image

    path = tmp_path / "cd.png"
    bg.plot_cd(bg.compare(scores(), "accuracy"), path=path)
    with Image.open(path) as im:
        w, h = im.size
        assert w >= 800 and 250 <= h <= 900, (w, h)
        pixels = np.asarray(im.convert("L"))
    assert (pixels < 100).mean() > 0.005  # lines and text drawn, not a blank canvas


def test_wilcoxon_bars_and_no_cd_bar() -> None:
    c = bg.compare(scores(), "accuracy")
    fig = bg.plot_cd(c, test="wilcoxon")
    assert not any(t.get_text().startswith("CD =") for t in fig.axes[0].texts)
    assert len(thick_bars(fig)) == len(c.cliques("wilcoxon"))
    assert any("Wilcoxon-Holm" in t.get_text() for t in fig.texts)


def test_cliques_join_only_learners_closer_than_cd() -> None:
    c = bg.compare(scores(n_tasks=20, seed=3), "accuracy")
    r = c.mean_ranks
    for members in c.cliques("nemenyi"):
        assert r[members[-1]] - r[members[0]] <= c.nemenyi.cd
    for a, b in zip(r.index, r.index[1:]):  # neighbours closer than CD share a clique
        if r[b] - r[a] <= c.nemenyi.cd:
            assert any(a in g and b in g for g in c.cliques("nemenyi"))


def test_cd_diagram_refuses_too_few_tasks_and_bad_input(tmp_path: Path) -> None:
    one = bg.compare(scores(n_tasks=1), "accuracy")
    with pytest.raises(InputError, match=r"a critical-difference diagram needs 2 or more learners ranked on 2 or more "
                                         r"tasks: nothing is tested across tasks: 1 ranked task"):
        bg.plot_cd(one)
    c = bg.compare(scores(), "accuracy")
    with pytest.raises(InputError, match=r"test must be one of \('nemenyi', 'wilcoxon'\), got 'holm'"):
        bg.plot_cd(c, test="holm")
    with pytest.raises(InputError, match=r"path must end in one of .*got '.*cd.jpg'"):
        bg.plot_cd(c, path=tmp_path / "cd.jpg")
    with pytest.raises(InputError, match=r"comparison must be a benchgrid.compare\(\) result, got DataFrame"):
        bg.plot_cd(scores())
    assert not (tmp_path / "cd.jpg").exists()


def test_task_scores_plot(tmp_path: Path) -> None:
    c = bg.compare(scores(n_tasks=5, measure="rmse"), "rmse")
    path = tmp_path / "tasks.png"
    fig = bg.plot_task_scores(c, path=path)
    assert path.read_bytes().startswith(b"\x89PNG")
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in visible] == [f"task{t} (4 folds)" for t in range(5)]
    assert visible[-1].get_xlabel() == "rmse (lower is better)"
    assert [t.get_text() for t in visible[0].get_yticklabels()] == list(reversed(c.learners))  # best on top
    stars = [line for line in visible[0].lines if line.get_marker() == "*"]
    assert len(stars) == int(c.table[(c.table["task"] == "task0")]["best"].sum())
    with pytest.raises(InputError, match=r"n_cols must be an integer >= 1, got 0"):
        bg.plot_task_scores(c, n_cols=0)
    partial = scores(n_tasks=1).query("not (learner_id == 'tree' and iteration == 1)")
    with pytest.raises(InputError, match=r"a per-task score plot needs a ranked task, got none: .*tree has 3 of 4 folds"):
        bg.plot_task_scores(bg.compare(partial, "accuracy"))
