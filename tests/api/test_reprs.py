"""Readable objects: Project, status() and p-values print as the CLI's summaries; progress without a terminal."""

from __future__ import annotations

import builtins
import contextlib
import importlib.util
import io
import subprocess
import sys
from pathlib import Path

import pytest

import benchgrid as bg
from benchgrid.cli.main import main


@pytest.fixture
def done_project(proj_dir: Path) -> bg.Project:
    proj = bg.Project.create(proj_dir, [{"a": 1}, {"a": 2}, {"a": "x"}], "tests.runners.square:square")
    proj.run(n_workers=0, progress=False)
    return proj


def test_status_prints_as_the_cli(done_project: bg.Project, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", str(done_project.path)]) == 0
    cli = capsys.readouterr().out.rstrip("\n").splitlines()
    status = done_project.status()
    text = repr(status).splitlines()
    # the same summary, runner and code path included; a finished project's throughput is over its run,
    # so it does not move with the clock between the two calls
    assert text == cli
    assert text[0] == f"project {done_project.path}: 3 jobs"
    assert text[1] == "  runner: tests.runners.square:square" and text[2].startswith("  code path: ")
    assert str(status) == repr(status)  # print(proj.status()) in a script
    text = text[2:]
    assert "done 2" in text[1] and "error 1" in text[1]
    assert "recent errors" in repr(status)
    html = status._repr_html_()
    assert html.startswith("<div") and "<b>2</b> done" in html and "<b>1</b> error" in html
    assert "<script" not in html


def test_project_prints_its_status_with_runner(done_project: bg.Project) -> None:
    text = repr(done_project)
    assert text.splitlines()[0] == f"project {done_project.path}: 3 jobs"
    assert "runner: tests.runners.square:square" in text and "done 2" in text
    assert "<b>2</b> done" in done_project._repr_html_()
    # a damaged project still has a repr (open/status say what is wrong)
    (done_project.path / "queue" / "claims.log").write_bytes(b"\x00garbage")
    try:
        text = repr(done_project)
    except Exception as err:  # pragma: no cover - the point of the test
        pytest.fail(f"repr raised {err!r}")
    assert str(done_project.path) in text


def test_run_returns_a_status_that_prints(done_project: bg.Project) -> None:
    status = done_project.run(n_workers=1, progress=False)
    assert repr(status).splitlines()[0] == f"project {done_project.path}: 3 jobs"


def test_pvalue_prints_its_comparisons() -> None:
    import pandas as pd

    rows = []
    for fold in (1, 2, 3):
        for train, shift in (("same", 0.0), ("other", 1.0), ("all", 0.2)):
            rows.append({"task_id": "t", "test.subset": "A", "algorithm": "tree", "train.subsets": train,
                         "test.fold": fold, "rmse": 1.0 + shift + 0.1 * fold * (train == "other")})  # fmt: skip
    pv = bg.pvalue(pd.DataFrame(rows), "rmse")
    text = repr(pv)
    assert text.startswith("p-values of rmse (full-size train sets)")
    assert "other-same" in text and "all-same" in text and "p_paired" in text
    assert "<table" in pv._repr_html_() and "other-same" in pv._repr_html_()


def test_progress_without_a_terminal_and_in_a_notebook(proj_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """stdout a StringIO (no fileno), and a Jupyter kernel as rich detects it: no crash, jobs done."""
    proj = bg.Project.create(proj_dir, [{"a": i} for i in range(4)], "tests.runners.square:square")
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        status = proj.run(n_workers=1, progress=True)
    assert status.counts["done"] == 4
    assert "jobs" in buf.getvalue()

    class ZMQInteractiveShell:  # the class name is what rich checks for a Jupyter kernel
        pass

    monkeypatch.setattr(builtins, "get_ipython", lambda: ZMQInteractiveShell(), raising=False)
    proj.add_jobs([{"a": 10}, {"a": 11}])
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        status = proj.run(n_workers=1, progress=True)
    assert status.counts["done"] == 6
    if importlib.util.find_spec("ipywidgets") is None:  # rich cannot draw: one line per change
        assert buf.getvalue().rstrip().splitlines()[-1] == "jobs 6/6: 6 done"


def test_progress_piped_from_the_cli(proj_dir: Path) -> None:
    bg.Project.create(proj_dir, [{"a": i} for i in range(3)], "tests.runners.square:square")
    r = subprocess.run([sys.executable, "-m", "benchgrid", "run", str(proj_dir), "--workers", "1"],
                       capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "3 done" in r.stdout
