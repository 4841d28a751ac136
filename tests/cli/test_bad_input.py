"""Bad input: a clear message naming the problem and the fix, exit code 2, nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchgrid.cli.main import main

RUNNER = "tests.runners.jobs:echo"


def write_jobs(path: Path, rows: list[dict]) -> Path:
    path.write_text(json.dumps(rows))
    return path


@pytest.fixture
def project(proj_dir: Path) -> Path:
    jobs = write_jobs(proj_dir.parent / "jobs.json", [{"i": i} for i in range(3)])
    assert main(["init", str(proj_dir), "--jobs", str(jobs), "--runner", RUNNER]) == 0
    return proj_dir


def run_cli(capsys, argv: list[str]) -> tuple[int, str]:
    code = main(argv)
    return code, capsys.readouterr().err


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_path_that_is_not_a_project(tmp_path: Path, capsys) -> None:
    (tmp_path / "data.txt").write_text("x")
    code, err = run_cli(capsys, ["status", str(tmp_path)])
    assert code == 2
    assert "is not a benchgrid project (no project.json)" in err


def test_missing_directory(tmp_path: Path, capsys) -> None:
    code, err = run_cli(capsys, ["run", str(tmp_path / "nope")])
    assert code == 2 and "does not exist" in err and "benchgrid init" in err


def test_init_over_existing_project(project: Path, capsys) -> None:
    before = (project / "project.json").read_bytes()
    jobs = write_jobs(project.parent / "more.json", [{"i": 9}])
    code, err = run_cli(capsys, ["init", str(project), "--jobs", str(jobs), "--runner", RUNNER])
    assert code == 2
    assert "already a benchgrid project" in err and "add" in err
    assert (project / "project.json").read_bytes() == before


def test_init_into_non_empty_directory(tmp_path: Path, capsys) -> None:
    target = tmp_path / "busy"
    target.mkdir()
    (target / "thesis.tex").write_text("precious")
    jobs = write_jobs(tmp_path / "jobs.json", [{"i": 1}])
    code, err = run_cli(capsys, ["init", str(target), "--jobs", str(jobs), "--runner", RUNNER])
    assert code == 2 and "exists and is not a benchgrid project" in err
    assert listing(target) == ["thesis.tex"]


def test_empty_job_list(proj_dir: Path, capsys) -> None:
    jobs = write_jobs(proj_dir.parent / "jobs.json", [])
    before = listing(proj_dir.parent)
    code, err = run_cli(capsys, ["init", str(proj_dir), "--jobs", str(jobs), "--runner", RUNNER])
    assert code == 2 and "at least one job" in err
    assert listing(proj_dir.parent) == before


def test_runner_that_cannot_be_imported(proj_dir: Path, capsys) -> None:
    jobs = write_jobs(proj_dir.parent / "jobs.json", [{"i": 1}])
    before = listing(proj_dir.parent)
    code, err = run_cli(capsys, ["init", str(proj_dir), "--jobs", str(jobs), "--runner", "no_such_pkg.mod:run"])
    assert code == 2
    assert "cannot be imported" in err and "ModuleNotFoundError" in err and "PYTHONPATH" in err
    assert listing(proj_dir.parent) == before


@pytest.mark.parametrize(
    "runner, message",
    [("tests.runners.jobs", "must look like 'package.module:function'"), ("tests.runners.jobs:nope", "has no function 'nope'")],
)
def test_runner_badly_named(proj_dir: Path, capsys, runner: str, message: str) -> None:
    jobs = write_jobs(proj_dir.parent / "jobs.json", [{"i": 1}])
    code, err = run_cli(capsys, ["init", str(proj_dir), "--jobs", str(jobs), "--runner", runner])
    assert code == 2 and message in err
    assert not proj_dir.exists()


def test_duplicate_jobs(proj_dir: Path, capsys) -> None:
    jobs = write_jobs(proj_dir.parent / "jobs.json", [{"i": 1}, {"i": 2}, {"i": 1}])
    code, err = run_cli(capsys, ["init", str(proj_dir), "--jobs", str(jobs), "--runner", RUNNER])
    assert code == 2 and "jobs[2] repeats jobs[0]" in err
    assert not proj_dir.exists()


def test_corrupted_project_file(project: Path, capsys) -> None:
    (project / "project.json").write_text("{ this is not json")
    code, err = run_cli(capsys, ["status", str(project)])
    assert code == 2 and "is corrupted" in err and "JSONDecodeError" in err


def test_unreadable_project_file(project: Path, capsys) -> None:
    # root reads files whatever their mode; a directory in its place cannot be read by anyone
    (project / "project.json").unlink()
    (project / "project.json").mkdir()
    code, err = run_cli(capsys, ["status", str(project)])
    assert code == 2 and "project.json" in err and "corrupted" in err


def test_project_from_a_newer_format(project: Path, capsys) -> None:
    info = json.loads((project / "project.json").read_text())
    info["format"] = 99
    (project / "project.json").write_text(json.dumps(info))
    code, err = run_cli(capsys, ["run", str(project)])
    assert code == 2
    assert "newer benchgrid (project format 99" in err and "pip install -U benchgrid" in err


def test_negative_workers(project: Path, capsys) -> None:
    code, err = run_cli(capsys, ["run", str(project), "--workers", "-1"])
    assert code == 2 and "--workers must be >= 0" in err and "-1" in err
    assert listing(project / "workers") == []


def test_unknown_state_in_retry(project: Path, capsys) -> None:
    code, err = run_cli(capsys, ["retry", str(project), "--state", "borked"])
    assert code == 2 and "--state must be one of" in err and "'borked'" in err
    assert (project / "queue" / "requeue.log").stat().st_size == 0  # created with the project, nothing put back


def test_bad_until(project: Path, capsys) -> None:
    code, err = run_cli(capsys, ["work", str(project), "--until", "tomorrow"])
    assert code == 2 and "--until must be" in err
    assert listing(project / "workers") == []


@pytest.mark.parametrize(
    "option, value, message",
    [("--lease-s", "0", "lease_s must be a number > 0"), ("--max-attempts", "0", "max_attempts must be an integer >= 1"),
     ("--lock", "nfs", "lock must be one of")],
)
def test_bad_settings(proj_dir: Path, capsys, option: str, value: str, message: str) -> None:
    jobs = write_jobs(proj_dir.parent / "jobs.json", [{"i": 1}])
    code, err = run_cli(capsys, ["init", str(proj_dir), "--jobs", str(jobs), "--runner", RUNNER, option, value])
    assert code == 2 and message in err
    assert not proj_dir.exists()


def test_unknown_option_is_exit_2(capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["run", "x", "--frobnicate"])
    assert exc.value.code == 2


def test_nan_parameter_is_refused_not_turned_into_none(proj_dir: Path, capsys) -> None:
    """Issue 23: a NaN parameter used to reach the runner as None, silently."""
    import benchgrid as bg

    with pytest.raises(bg.InputError, match=r"jobs\[1\]\['alpha'\] is nan, which the job table cannot store "
                                            r"\(JSON has no NaN or infinity\); give None for a missing value"):
        bg.Project.create(proj_dir, [{"alpha": 0.1}, {"alpha": float("nan")}], RUNNER)
    assert not proj_dir.exists()
    jobs = proj_dir.parent / "jobs.json"
    jobs.write_text('[{"i": 1, "alpha": 0.5}, {"i": 2, "alpha": Infinity}]')  # Python's json writes these
    code, err = run_cli(capsys, ["init", str(proj_dir), "--jobs", str(jobs), "--runner", RUNNER])
    assert code == 2 and "jobs[1]['alpha'] is inf" in err
    assert not proj_dir.exists()


def test_empty_cell_of_a_csv_job_file_is_none(proj_dir: Path, capsys) -> None:
    """A table file's missing value is None, said by the reader; not a NaN turned into None later."""
    import benchgrid as bg

    jobs = proj_dir.parent / "jobs.csv"
    jobs.write_text("i,alpha\n1,0.5\n2,\n")
    assert main(["init", str(proj_dir), "--jobs", str(jobs), "--runner", RUNNER]) == 0
    rows = [json.loads(line)["params"] for line in (proj_dir / "jobs" / "part-00000.jsonl").read_text().splitlines()]
    assert rows == [{"alpha": 0.5, "i": 1}, {"alpha": None, "i": 2}]
    assert len(bg.Project.open(proj_dir).jobs()) == 2
