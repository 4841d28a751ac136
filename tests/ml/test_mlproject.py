"""MLProject: what Project.create and Project.open give for ML projects, and the generic Project's errors."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sklearn.dummy import DummyRegressor
from sklearn.model_selection import KFold

import benchgrid as bg
from benchgrid import InputError, ProjectError
from benchgrid.cli.main import main


def test_keyword_create_gives_an_ml_project_and_open_finds_it_again(proj_dir: Path, reg_df: pd.DataFrame) -> None:
    proj = bg.Project.create(proj_dir, tasks={"t": bg.Task(reg_df, target="y", features=["x"])},
                             learners={"featureless": DummyRegressor()}, cv=KFold(3))
    assert type(proj) is bg.MLProject
    assert type(bg.Project.open(proj_dir)) is bg.MLProject
    proj.run(0, progress=False)
    assert len(proj.scores()) == 3 and set(proj.results()["state"]) == {"done"}


def test_a_generic_project_has_no_ml_methods_and_says_so(proj_dir: Path) -> None:
    proj = bg.Project.create(proj_dir, [{"test_subset": "a"}], "builtins:dict")
    assert type(proj) is bg.Project and not hasattr(proj, "scores")
    with pytest.raises(ProjectError, match=r"scores\(\) needs an ML project, and .* was created from a job table"):
        proj.scores()
    with pytest.raises(ProjectError, match=r"is not an ML project .* open it with Project.open"):
        bg.MLProject.open(proj_dir)
    proj.run(0, progress=False)
    assert "test_subset" in proj.results().columns  # a generic project's columns keep their names


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(jobs=[{"a": 1}], tasks={"t": None}), r"give tasks and learners either by position .* or by keyword, not both"),
        (dict(tasks={"t": None}), r"an ML project needs both tasks and learners, got tasks=\{'t': None\} and learners=None"),
        (dict(), r"jobs is required: a list of dicts or a DataFrame \(or tasks=, learners=, cv=\)"),
    ],
)
def test_create_arguments_are_checked(proj_dir: Path, kwargs: dict, match: str) -> None:
    with pytest.raises(InputError, match=match):
        bg.Project.create(proj_dir, **kwargs)
    assert not proj_dir.exists()


def test_cli_ml_commands_on_a_generic_project_exit_2(proj_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bg.Project.create(proj_dir, [{"a": 1}], "builtins:dict")
    grid = tmp_path / "grid.py"
    grid.write_text("tasks = {}\nlearners = {}\n")
    assert main(["add", str(proj_dir), "--grid", str(grid)]) == 2
    assert "--grid adds tasks and learners to an ML project" in capsys.readouterr().err
    assert main(["try", str(proj_dir)]) == 2
    assert "is not an ML project" in capsys.readouterr().err
