"""``benchgrid drop`` / ``undrop``: what they print, and bad input refused with exit 2, nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchgrid import Project
from benchgrid._errors import InputError
from benchgrid.cli.main import main

RUNNER = "tests.runners.jobs:echo"


@pytest.fixture
def project(proj_dir: Path) -> Path:
    jobs = proj_dir.parent / "jobs.json"
    jobs.write_text(json.dumps([{"i": i, "learner_id": ["rf", "lm"][i % 2]} for i in range(6)]))
    assert main(["init", str(proj_dir), "--jobs", str(jobs), "--runner", RUNNER]) == 0
    return proj_dir


def _queue_files(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((root / "queue").iterdir()) if p.name != "lock"}


@pytest.mark.parametrize(
    ("where", "message"),
    [
        (["--where", "learner=rf"],
         r"drop: the job table has no column 'learner'; use one of \['job_id', 'i', 'learner_id'\] "
         r"\(see `benchgrid jobs DIR`\)"),
        (["--where", "learner_id=svm"], r"drop: no job has learner_id='svm'; learner_id is one of \['lm', 'rf'\]"),
        (["--where", "learner_id=rf", "--where", "i=1"],
         r"drop: no job has all of \{'learner_id': 'rf', 'i': 1\} together .*`benchgrid jobs DIR`"),
        (["--where", "rf"], r"--where must be column=value, got 'rf'; e.g. --where learner_id=rf"),
        (["--where", "=rf"], r"--where must be column=value, got '=rf'"),
    ],
)
def test_bad_filters_exit_2_name_the_fix_and_write_nothing(project: Path, capsys, where, message) -> None:
    import re

    before = _queue_files(project)
    assert main(["drop", str(project), *where]) == 2
    err = capsys.readouterr().err
    assert re.search(message, err), err
    assert _queue_files(project) == before
    assert not (project / "queue" / "drops.log").exists()


def test_drop_without_a_filter_is_refused(project: Path, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:  # argparse: the usage line, exit 2
        main(["drop", str(project)])
    assert exit_info.value.code == 2
    assert "the following arguments are required: --where" in capsys.readouterr().err
    with pytest.raises(InputError, match=r"drop: where must be a non-empty dict of job parameters, "
                                        r"e.g. where=\{'learner_id': 'rf'\} \(--where learner_id=rf\), got \{\}"):
        Project.open(project).drop(where={})


def test_undrop_with_a_filter_matching_nothing_exit_2(project: Path, capsys) -> None:
    assert main(["drop", str(project), "--where", "learner_id=rf"]) == 0
    before = _queue_files(project)
    assert main(["undrop", str(project), "--where", "i=99"]) == 2
    assert "undrop: no job has i=99; i is one of ['0', '1', '2', '3', '4', '5']" in capsys.readouterr().err
    assert _queue_files(project) == before


def test_drop_run_status_results_undrop(project: Path, capsys) -> None:
    assert main(["drop", str(project), "--where", "learner_id=rf"]) == 0
    out = capsys.readouterr().out
    assert "dropped 3 job(s)" in out and f"benchgrid undrop {project} --where learner_id=rf" in out
    assert main(["run", str(project), "--workers", "0"]) == 0
    capsys.readouterr()
    assert main(["status", str(project)]) == 0
    assert "done 3" in capsys.readouterr().out
    assert Project.open(project).status().counts["dropped"] == 3
    out_csv = project.parent / "res.csv"
    assert main(["results", str(project), "-o", str(out_csv)]) == 0
    assert "wrote 3 rows" in capsys.readouterr().out
    assert main(["results", str(project), "--dropped", "-o", str(out_csv)]) == 0
    assert "wrote 6 rows" in capsys.readouterr().out
    assert main(["undrop", str(project)]) == 0
    assert "brought back 3 dropped job(s)" in capsys.readouterr().out
    assert main(["run", str(project), "--workers", "0"]) == 0
    assert Project.open(project).status().counts["done"] == 6
    assert main(["check", str(project)]) == 0
