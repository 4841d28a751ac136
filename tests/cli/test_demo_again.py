"""`benchgrid demo` runs again, writes the report, and both its workers take part."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from benchgrid.plots._timeline import timeline_segments


def _demo(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([sys.executable, "-m", "benchgrid", "demo", *args, "--no-progress"],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=280)  # fmt: skip


@pytest.mark.slow
def test_demo_twice_in_the_default_folder(tmp_path: Path) -> None:
    for run in (1, 2):
        r = _demo(tmp_path)
        assert r.returncode == 0, r.stdout + r.stderr
        out = tmp_path / "demo"
        for name in ("results.csv", "pvalue.png", "timeline.png", "report.html"):
            assert (out / name).stat().st_size > 0
            assert str(out / name) in r.stdout  # it says where everything is
        assert ("replaced the previous demo" in r.stdout) == (run == 2)
        # it says what it does in the seconds before the first job and after the last (issue 23)
        steps = ["creating the project in", "starting 2 worker process(es)", "writing the p-value plot",
                 "mean test scores"]  # fmt: skip
        at = [r.stdout.find(step) for step in steps]
        assert -1 not in at and at == sorted(at), r.stdout
        assert "handed back in" not in r.stderr, r.stderr  # no worker's own summary line (it lands in the bar)
        results = pd.read_csv(out / "results.csv")
        assert len(results) == 72
        # both workers took part: two rows in the timeline, each with jobs
        segments = timeline_segments(str(out / "project"))
        assert segments["worker"].nunique() == 2
        assert "72 jobs ran on 2 of 2 worker(s)" in r.stdout
        assert b"<html" in (out / "report.html").read_bytes()[:2000].lower()


def test_demo_refuses_a_folder_it_did_not_write(tmp_path: Path) -> None:
    mine = tmp_path / "demo"
    mine.mkdir()
    (mine / "thesis.tex").write_text("precious")
    r = _demo(tmp_path)
    assert r.returncode == 2
    assert "not empty and was not written by `benchgrid demo`" in r.stderr
    assert (mine / "thesis.tex").read_text() == "precious"
    assert sorted(p.name for p in mine.iterdir()) == ["thesis.tex"]
