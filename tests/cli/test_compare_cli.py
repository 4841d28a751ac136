"""`benchgrid compare DIR`: a real project of 3 tasks × 3 learners, every output file, and bad input (exit code 2)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import benchgrid as bg
from benchgrid.cli.main import main


def create(root: Path) -> bg.Project:
    """3 tasks (noise levels) × 3 regressors × 5 folds, not run."""
    from sklearn.dummy import DummyRegressor
    from sklearn.linear_model import LinearRegression
    from sklearn.model_selection import KFold
    from sklearn.tree import DecisionTreeRegressor

    rng = np.random.default_rng(0)
    tasks = {}
    for name, noise in (("low_noise", 0.1), ("mid_noise", 0.5), ("high_noise", 1.5)):
        x = rng.uniform(-2, 2, 60)
        tasks[name] = bg.Task(pd.DataFrame({"x": x, "y": 2 * x + rng.normal(0, noise, 60)}), target="y")
    learners = {"featureless": DummyRegressor(), "tree": DecisionTreeRegressor(max_depth=2), "linear": LinearRegression()}
    return bg.Project.create(root, tasks, learners, KFold(5, shuffle=True, random_state=0), measures=["rmse", "r2"])


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> bg.Project:
    proj = create(tmp_path_factory.mktemp("cmp") / "bench 'dir'")
    proj.run(n_workers=2, progress=False)  # real worker processes
    return proj


def test_compare_writes_every_output(project: bg.Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = {k: tmp_path / f"out '{k}'.{ext}" for k, ext in
           (("cd", "png"), ("tex", "tex"), ("md", "md"), ("csv", "csv"), ("tasks", "png"))}
    code = main(["compare", str(project.path), "--measure", "rmse", "-o", str(out["cd"]), "--latex", str(out["tex"]),
                 "--markdown", str(out["md"]), "--csv", str(out["csv"]), "--scores-plot", str(out["tasks"])])
    text = capsys.readouterr().out
    assert code == 0
    assert text.startswith("Comparison of 3 learners on rmse (lower is better)")
    assert "Friedman chi2 = " in text and "Nemenyi critical difference = " in text
    for path in out.values():
        assert f"wrote {path}" in text
    assert out["cd"].read_bytes().startswith(b"\x89PNG") and out["tasks"].read_bytes().startswith(b"\x89PNG")
    tex = out["tex"].read_text()
    assert re.findall(r"\\(begin|end)\{(\w+)\}", tex) == [("begin", "table"), ("begin", "tabular"),
                                                         ("end", "tabular"), ("end", "table")]
    assert all(rule in tex for rule in (r"\toprule", r"\midrule", r"\bottomrule"))
    assert tex.count(r"\textbf{") >= 3  # a best learner on each task
    table = pd.read_csv(out["csv"])
    assert len(table) == 9 and set(table["n_folds"]) == {5}
    # the same numbers as the API
    c = project.compare("rmse")
    np.testing.assert_allclose(table["mean"], c.table["mean"])
    assert out["md"].read_text() == c.to_markdown()
    assert c.learners[0] == "linear" and c.learners[-1] == "featureless"


def test_compare_r2_direction_and_options(project: bg.Project, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", str(project.path), "--measure", "r2", "--alpha", "0.1", "--incomplete", "error"]) == 0
    text = capsys.readouterr().out
    assert "on r2 (higher is better)" in text and "alpha = 0.1" in text


def test_per_task_tests_and_rope(project: bg.Project, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", str(project.path), "--per-task", "--rope", "0.05"]) == 0
    text = capsys.readouterr().out
    head, _, table = text.partition("Within each task, learners paired on their folds: corrected resampled t-test")
    assert table and "rope = 0.05" in table
    c = project.compare("rmse", rope=0.05)
    rows = [line.split() for line in table.splitlines()[2:] if line.strip()]
    assert len(rows) == len(c.per_task) == 9  # 3 tasks × 3 pairs
    for words, r in zip(rows, c.per_task.itertuples(index=False)):
        assert words[:3] == [r.task, r.learner_a, r.learner_b]
        assert float(words[5]) == pytest.approx(r.p_corrected, rel=1e-3)
        assert float(words[7]) + float(words[8]) + float(words[9]) == pytest.approx(1.0, abs=2e-3)


@pytest.mark.parametrize("args, message", [
    (["--measure", "auc"], "measure must be one of the scores' measures ['rmse', 'r2'], got 'auc'; pass one of them "
                          "(benchgrid compare --measure NAME)"),
    (["--alpha", "2"], "alpha must be a number between 0 and 1"),
    (["-o", "cd.jpg"], "-o must end in one of .png, .svg, .pdf, got"),
    (["--latex", "/no/such/folder/t.tex"], "--latex: folder '/no/such/folder' does not exist"),
    (["--rope", "0.01"], "--rope is shown by the tests within each task, got --rope 0.01 without --per-task"),
    (["--per-task", "--rope", "-1"], "rope must be a number > 0"),
    (["--train-subsets", "same"], None),  # not SOAK: ignored
])
def test_bad_input_exit_code_2(project: bg.Project, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                               args: list[str], message: str | None) -> None:
    args = [a if a != "cd.jpg" else str(tmp_path / a) for a in args]
    code = main(["compare", str(project.path), *args])
    err = capsys.readouterr().err
    if message is None:
        assert code == 0
        return
    assert code == 2 and message in err, err
    assert not list(tmp_path.iterdir())  # nothing written


def test_nothing_written_when_the_diagram_cannot_be_drawn(project: bg.Project, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(project.path, copy)
    bg.Project.open(copy).drop(where={"learner_id": "tree", "task_id": "mid_noise", "iteration": 1})
    bg.Project.open(copy).drop(where={"learner_id": "tree", "task_id": "low_noise", "iteration": 2})
    code = main(["compare", str(copy), "-o", str(tmp_path / "cd.png"), "--latex", str(tmp_path / "t.tex")])
    err = capsys.readouterr().err
    assert code == 2 and "a critical-difference diagram needs 2 or more learners ranked on 2 or more tasks" in err
    assert "wait for the missing jobs (or retry them), or rank on the folds every learner has" in err
    assert not (tmp_path / "cd.png").exists() and not (tmp_path / "t.tex").exists()
    # without the diagram the table still comes out, saying what is missing
    assert main(["compare", str(copy), "--latex", str(tmp_path / "t.tex")]) == 0
    text = capsys.readouterr().out
    assert "task 'low_noise' is not ranked: tree has 4 of 5 folds (1 dropped)" in text
    assert "Not ranked (incomplete)" in (tmp_path / "t.tex").read_text()


def test_a_project_not_run_yet_is_exit_code_2_with_nothing_written(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    fresh = create(tmp_path / "fresh")
    out = tmp_path / "out"
    out.mkdir()
    code = main(["compare", str(fresh.path), "-o", str(out / "cd.png"), "--csv", str(out / "t.csv")])
    err = capsys.readouterr().err
    assert code == 2
    assert "scores must have at least one done job with a rmse value to compare, got none (45 pending)" in err
    assert "run the project (benchgrid run DIR)" in err
    assert not list(out.iterdir())


def test_generic_project_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    proj = bg.Project.create(tmp_path / "p", [{"i": 1}], "tests.runners.jobs:echo")
    assert main(["compare", str(proj.path)]) == 2
    assert "compare needs an ML project" in capsys.readouterr().err


def test_help_lists_compare() -> None:
    r = subprocess.run([sys.executable, "-m", "benchgrid", "--help"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "compare" in r.stdout
    r = subprocess.run([sys.executable, "-m", "benchgrid", "compare", "--help"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "benchgrid compare bench --measure accuracy -o cd.png --latex table.tex" in r.stdout
