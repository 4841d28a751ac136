"""The HTML report: self-contained, and opened in a real headless chromium.

The browser test needs Debian's chromium (``.ci/install-browser``); without
it the test is skipped, unless ``CI=true``, where it fails.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

import benchgrid as bg

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars",
]

# Put first in <head>: records script errors, failed resources and console.error
# calls, then after load writes what the test checks into the DOM.
PROBE = """<script>
window.__probe = {errors: []};
window.addEventListener("error", function (e) {
  window.__probe.errors.push(e.message || ("failed to load " + (e.target && (e.target.src || e.target.href))));
}, true);
var __err = console.error;
console.error = function () { window.__probe.errors.push(Array.from(arguments).join(" ")); __err.apply(console, arguments); };
window.addEventListener("load", function () {
  var p = window.__probe;
  p.images = Array.from(document.images).map(function (i) {
    return {alt: i.alt, complete: i.complete, w: i.naturalWidth, h: i.naturalHeight}; });
  var t = document.getElementById("score-table");
  p.score_rows = t ? t.tBodies[0].rows.length : -1;
  var ths = t ? Array.from(t.tHead.rows[0].cells) : [];
  var col = ths.findIndex(function (th) { return th.textContent === "rmse"; });
  if (col >= 0) {  /* sort by the measure: a click ascending, another descending */
    ths[col].click(); p.sorted_first = t.tBodies[0].rows[0].cells[col].dataset.sort;
    ths[col].click(); p.sorted_last = t.tBodies[0].rows[0].cells[col].dataset.sort; }
  var cmp = document.getElementById("comparison-table");  /* the Comparison section's table, as rendered */
  p.comparison_rows = cmp ? Array.from(cmp.tBodies[0].rows).map(function (r) {
    return Array.from(r.cells).map(function (c) { return c.textContent; }); }) : null;
  p.comparison_bold = cmp ? cmp.querySelectorAll("b").length : -1;
  p.comparison_visible = cmp ? cmp.getBoundingClientRect().height > 0 : false;
  p.comparison_measures = Array.from(document.querySelectorAll("[id^=comparison-measure]")).map(function (h) {
    return h.textContent; });
  p.per_task_rows = Array.from(document.querySelectorAll("[id^=comparison-per-task]")).map(function (t) {
    return t.tBodies[0].rows.length; });
  var pre = document.createElement("pre"); pre.id = "probe";
  pre.textContent = JSON.stringify(p); document.body.appendChild(pre);
});
</script>"""


def chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is required in CI (CI=true); install it with .ci/install-browser")
        pytest.skip("chromium is not installed (apt-get install chromium, or .ci/install-browser)")
    return exe


def run_chromium(exe: str, *args: str) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="bg-chromium-") as profile:
        return subprocess.run([exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
                              capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report of the demo's SOAK grid (run in this process: fast, no worker start-up)."""
    from benchgrid.ml._demo import demo_grid

    d = tmp_path_factory.mktemp("report") / "my 'report' dir"
    d.mkdir()
    g = demo_grid()
    proj = bg.Project.create(d / "project", g["tasks"], g["learners"], g["cv"], measures=g["measures"])
    proj.run(n_workers=0, progress=False)
    return bg.write_report(proj, d / "report.html")


def test_report_is_self_contained(report: Path) -> None:
    text = report.read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text), "no network resource"
    assert "<link" not in text
    # timeline, memory per job, scores, p-value; per measure (rmse, mae): the CD diagram and the per-task scores
    # (the Wilcoxon-Holm tests join the same learners as Nemenyi's: said, not drawn twice)
    assert text.count('src="data:image/png;base64,') == 8
    assert 'id="cd-wilcoxon-same"' in text and 'id="cd-wilcoxon-same-2"' in text
    ids = re.findall(r'\bid="([^"]+)"', text)
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    for section in ("summary", "counts", "scores", "plots", "comparison", "errors", "slowest"):
        assert f'id="{section}"' in text
    assert "scikit-learn" in text and "SOAK(folds=3" in text  # environment and cv


def test_report_opens_in_headless_chromium(report: Path, tmp_path: Path) -> None:
    exe = chromium()
    probed = tmp_path / "probed.html"
    probed.write_text(report.read_text().replace("<head>", "<head>" + PROBE, 1))
    out = run_chromium(exe, "--enable-logging=stderr", "--v=0", "--virtual-time-budget=10000",
                       "--dump-dom", probed.as_uri())
    assert out.returncode == 0, out.stderr[-2000:]
    m = re.search(r'<pre id="probe">(.*?)</pre>', out.stdout, re.S)
    assert m, f"the probe did not run; stderr:\n{out.stderr[-2000:]}"
    probe = json.loads(m.group(1).replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<")
                       .replace("&gt;", ">"))
    assert probe["errors"] == []
    assert "Uncaught" not in out.stderr
    per_measure = ["cd", "task-scores"]
    assert [img["alt"] for img in probe["images"]] == (
        ["timeline plot", "memory plot", "scores plot", "pvalue plot"]
        + [f"{name} plot" for name in per_measure] + [f"{name}-2 plot" for name in per_measure])
    for img in probe["images"]:
        assert img["complete"] and img["w"] > 300 and img["h"] > 150, img
    assert probe["score_rows"] == 24  # 2 tasks x 2 test subsets x 2 learners x 3 train subsets
    # a click sorts ascending by the number behind "mean ± sd", a second click descending
    assert float(probe["sorted_first"]) < float(probe["sorted_last"])
    # the Comparison section: a row per task (2) and the mean ranks, a column per learner, the best in bold
    rows = probe["comparison_rows"]
    assert probe["comparison_visible"] and [r[0] for r in rows] == ["easy", "impossible", "mean rank"]
    assert all(len(r) == 3 and "±" in r[1] for r in rows[:2]) and probe["comparison_bold"] >= 2
    # every measure is compared, each with its tests within each task (2 tasks x 1 pair of learners)
    assert probe["comparison_measures"] == ["rmse", "mae"] and probe["per_task_rows"] == [2, 2]

    shot = tmp_path / "report.png"
    out = run_chromium(exe, "--window-size=1300,2400", f"--screenshot={shot}", report.as_uri())
    assert out.returncode == 0, out.stderr[-2000:]
    assert shot.read_bytes().startswith(b"\x89PNG") and shot.stat().st_size > 50_000
    if os.environ.get("BENCHGRID_KEEP_SCREENSHOT"):
        shutil.copy(shot, os.environ["BENCHGRID_KEEP_SCREENSHOT"])


def test_report_of_generic_project_shows_tracebacks(tmp_path: Path) -> None:
    proj = bg.Project.create(tmp_path / "p", [{"i": i} for i in range(6)], "tests.runners.jobs:fail_some")
    proj.run(n_workers=0, progress=False)
    text = bg.write_report(proj, tmp_path / "r.html").read_text()
    assert "Errors (2)" in text
    assert "Traceback (most recent call last)" in text and "job 3 fails on purpose" in text
    assert text.count('src="data:image/png;base64,') == 1  # the timeline; no scores here
    assert "Comparing learners needs an ML project" in text
    assert 'id="score-table"' in text


def test_report_cli_and_bad_path(tmp_path: Path) -> None:
    from benchgrid.cli.main import main

    proj = bg.Project.create(tmp_path / "p", [{"i": 1}], "tests.runners.jobs:echo")
    assert main(["report", str(proj.path), "-o", str(tmp_path / "x.pdf")]) == 2
    assert not (tmp_path / "x.pdf").exists()
    # nothing ran yet: the report still comes out, saying why plots are missing
    assert main(["report", str(proj.path), "-o", str(tmp_path / "r.html")]) == 0
    assert "Not drawn" in (tmp_path / "r.html").read_text()
