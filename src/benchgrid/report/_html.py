"""A one-page, self-contained HTML report of a project.

Everything is inside the one file: plots as base64 PNG, styles and a few
lines of script (click a column header to sort a table) inline, no fonts,
scripts or images from the network. So the file opens offline on a laptop
after it is copied off the cluster.

Sections: summary and environment, job counts and throughput, the score
table (mean ± sd over folds, per task, test subset, learner and train
subsets), the timeline, score and p-value plots, errors with their
tracebacks, the slowest jobs, and a comparison of the learners (ranks, tests,
a critical-difference diagram). A plot that cannot be drawn (no SOAK
columns for the p-value plot, no job finished yet) is replaced by a note
saying why, so a report can be written at any time, even mid-run.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import html
import io
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from .._errors import BenchgridError, InputError
from ..store import write_atomic

if TYPE_CHECKING:
    import pandas as pd

    from ..api import Project

__all__ = ["write_report"]

N_SLOWEST = 15
MAX_ROWS = 2000  # rows of a table written out in full; more are summarised

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#222;max-width:1250px;
margin:0 auto;padding:1.2em 2em 4em}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.25em;border-bottom:1px solid #ddd;padding-bottom:.2em;
margin-top:2em}h3{font-size:1.05em}
table{border-collapse:collapse;margin:.5em 0;font-size:13px}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
table.sortable th{cursor:pointer;user-select:none}table.sortable th:after{content:" \\2195";color:#aaa}
table.kv th{width:14em;font-weight:600}
.counts span{display:inline-block;margin:0 .3em .3em 0;padding:.25em .7em;border-radius:1em;background:#eee}
.done{background:#d9ecd9!important}.error,.failed{background:#f6d5d0!important}
.running{background:#d5ecea!important}.pending,.queued{background:#ececec!important}
.stranded{background:#f1dcef!important}
figure{margin:1em 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{color:#555;font-size:13px}.note{color:#8a5a00;background:#fff6e0;padding:.5em .8em}
pre{background:#f7f7f7;padding:.6em;overflow:auto;font-size:12px}.muted{color:#777}
details summary{cursor:pointer}
"""

# click a header to sort by it (numbers as numbers), again to reverse
SORT_JS = """
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("th").forEach(function (th, col) {
    th.addEventListener("click", function () {
      var body = table.tBodies[0], rows = Array.from(body.rows);
      var dir = th.dataset.dir === "asc" ? -1 : 1;
      th.dataset.dir = dir === 1 ? "asc" : "desc";
      var key = function (r) { var c = r.cells[col], t = (c.dataset.sort || c.textContent).trim(), n = parseFloat(t);
        return isNaN(n) || !/^[-+]?[\\d.]/.test(t) ? t.toLowerCase() : n; };
      rows.sort(function (a, b) { var x = key(a), y = key(b);
        if (typeof x !== typeof y) { x = String(x); y = String(y); }
        return x < y ? -dir : x > y ? dir : 0; });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
"""


def write_report(proj: Project | str | os.PathLike[str], path: str | os.PathLike[str] | None = None) -> Path:
    """Write a self-contained HTML report of a project; return its path.

    Parameters
    ----------
    proj : Project or project directory
        The project (finished or still running).
    path : str or Path, optional
        The HTML file to write (default: ``report.html`` in the current
        directory). Written to a temporary file first, then renamed.

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import benchgrid as bg
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> proj = bg.Project.create(d / "p", [{"a": 1}, {"a": 2}], "builtins:dict")
    >>> _ = proj.run(n_workers=0, progress=False)
    >>> out = bg.write_report(proj, d / "report.html")
    >>> "<h2 id=\\"counts\\">" in out.read_text()
    True
    """
    from ..api import Project

    out = Path("report.html" if path is None else path)
    if out.suffix.lower() not in (".html", ".htm"):
        raise InputError(f"path must end in .html, got {str(out)!r}")
    if not isinstance(proj, Project):
        proj = Project.open(proj)
    page = _page(proj)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(out, page, project=False)  # no half-written report on failure
    return out


# -- the page -----------------------------------------------------------------------
def _page(proj: Project) -> str:
    from ..api import MLProject

    results = proj.results()
    status = proj.status()
    ml = proj.metadata.get("ml")
    scores = proj.scores() if isinstance(proj, MLProject) else None
    name = proj.path.name if proj.path.name != "project" else f"{proj.path.parent.name}/{proj.path.name}"
    now = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    sections = [
        f"<h1>benchgrid report: {_e(name)}</h1>",
        f'<p class="muted">{_e(str(proj.path))} · written {_e(now)} · '
        + " · ".join(f'<a href="#{k}">{v}</a>' for k, v in (
            ("summary", "summary"), ("counts", "jobs"), ("scores", "scores"), ("plots", "plots"),
            ("comparison", "comparison"), ("errors", "errors"), ("slowest", "slowest jobs"))) + "</p>",
        _summary(proj, ml),
        _counts(status, results, proj.pools()),
        _score_section(scores, results, ml),
        _plots(proj, scores, results),
        _comparison(proj, ml),
        _errors(proj),
        _slowest(results),
    ]
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>benchgrid report: {_e(name)}</title><style>{CSS}</style></head>\n<body>\n"
        + "\n".join(sections)
        + f"\n<script>{SORT_JS}</script>\n</body></html>\n"
    )


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _when(t: Any) -> str:
    if t is None:
        return "-"
    return dt.datetime.fromtimestamp(float(t)).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")


def _kv(rows: list[tuple[str, Any]]) -> str:
    body = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows)
    return f'<table class="kv">{body}</table>'


def _summary(proj: Project, ml: dict[str, Any] | None) -> str:
    env = proj.info.get("environment", {})
    settings = proj.settings
    rows: list[tuple[str, Any]] = [
        ("project", str(proj.path)),
        ("runner", proj.runner),
        ("created", _when(env.get("created_at"))),
        ("random_state", proj.info.get("random_state")),
        ("settings", ", ".join(f"{k}={v}" for k, v in settings.items())),
    ]
    parts = ['<h2 id="summary">Summary</h2>', _kv(rows)]
    if ml:
        tasks = ml.get("tasks", {})
        learners = ml.get("learners", {})
        parts.append(_kv([
            ("cv", "; ".join(f"{k}: {v}" for k, v in ml["cv"].items())
             if isinstance(ml.get("cv"), dict) else ml.get("cv")),
            ("measures", ", ".join(map(str, ml.get("measures", [])))),
            ("tasks", "; ".join(f"{t}: {v.get('task_type', '')}, {v.get('n_rows', '?')} rows, "
                                f"target {v.get('target', '?')}" for t, v in tasks.items())),
        ]))
        parts.append("<h3>Learners</h3>" + _kv([(k, v.get("repr", v.get("algorithm", "")))
                                                 for k, v in learners.items()]))
    parts.append("<h3>Environment</h3>")
    packages = env.get("packages", {})
    parts.append(_kv([
        ("python", env.get("python", "?")),
        ("platform", env.get("platform", "?")),
        ("host", env.get("host", "?")),
        ("user", env.get("user", "?")),
        ("packages", ", ".join(f"{k} {v}" for k, v in packages.items())),
    ]))
    return "\n".join(parts)


def _counts(status: Any, results: pd.DataFrame, pools: list[Any] | None = None) -> str:
    from .._format import fmt_seconds
    from ..plots import fmt_duration

    chips = "".join(f'<span class="{s}">{_e(s)} <b>{n}</b></span>' for s, n in status.counts.items() if n)
    w = status.workers
    rows: list[tuple[str, Any]] = [
        ("jobs", status.n_jobs),
        ("workers", f"{w.get('alive', 0)} alive, {w.get('dead', 0)} dead, {w.get('exited', 0)} exited"),
    ]
    runs = _runs(results)
    for k, (t0, t1, n_done) in enumerate(runs, start=1):
        # per run: a project extended and run again a day later is not one long makespan
        name = "" if len(runs) == 1 else f"run {k}: "
        rows += [
            (f"{name}first start", _when(t0)),
            (f"{name}last end", _when(t1)),
            (f"{name}makespan", fmt_duration(t1 - t0)),
            (f"{name}throughput", f"{n_done / (t1 - t0):,.2f} jobs/s" if t1 > t0 else "-"),
        ]
    if runs:
        rows += [
            ("job time (sum)", fmt_duration(float(results["duration_s"].sum()))),
            ("median job", fmt_duration(float(results["duration_s"].median()))),
        ]
    rate = status.recent_per_s
    if rate and not status.finished:
        rows.append(("recent throughput", f"{rate:,.2f} jobs/s"))
    if not status.finished:
        rows.append(("ETA", fmt_seconds(status.eta_s)))
    if status.hint:
        rows.append(("hint", status.hint))
    rows += _pool_rows(pools or [])
    return f'<h2 id="counts">Jobs</h2>\n<p class="counts">{chips}</p>\n{_kv(rows)}'


def _pool_rows(pools: list[Any]) -> list[tuple[str, Any]]:
    """Per self-sustaining pool: allocations, and efficiency, busy / allocated core-hours (issue 21)."""
    rows: list[tuple[str, Any]] = []
    for pool in pools:
        eff = pool.efficiency
        fate = f"stopped: {pool.stopped}" if pool.stopped else f"idle: {pool.idle}" if pool.idle else "going on"
        rows.append((f"pool {pool.name}", f"{pool.n_submitted} allocations of {pool.n_workers} at once over "
                                          f"{pool.generation} generation(s), {len(pool.ending)} ended; "
                                          + fate))
        rows.append((f"pool {pool.name} efficiency",
                     "-" if eff is None else f"{eff:.0%} busy: {pool.busy_core_s / 3600:.3g} core-hours in jobs "
                     f"that ended of {pool.core_s / 3600:.3g} allocated (ended allocations)"))
    return rows


def _runs(results: pd.DataFrame) -> list[tuple[float, float, int]]:
    """(first start, last end, jobs) of each run, in epoch seconds (see split_runs)."""
    from ..plots import split_runs, timeline_segments

    if "started_at" not in results or not results["started_at"].notna().any():
        return []
    seg = timeline_segments(results)
    run_no = split_runs(seg)
    return [(float(part["start"].min()), float(part["end"].max()), len(part))
            for _, part in seg.groupby(run_no, sort=True)]


def _score_section(scores: pd.DataFrame | None, results: pd.DataFrame, ml: dict[str, Any] | None) -> str:
    head = '<h2 id="scores">Scores</h2>'
    if not ml:
        table = _table(results.drop(columns=["error"], errors="ignore").head(MAX_ROWS), "score-table")
        more = f'<p class="muted">first {MAX_ROWS} of {len(results)} jobs</p>' if len(results) > MAX_ROWS else ""
        return f'{head}\n<p class="muted">One row per job (a generic project: no score summary).</p>{table}{more}'
    assert scores is not None
    summary = score_summary(scores, [str(m) for m in ml.get("measures", []) if isinstance(m, str)])
    if summary is None:
        return f'{head}\n<p class="note">No job has finished yet.</p>'
    sort_by = {m: f"{m}_mean" for m in ml.get("measures", []) if f"{m}_mean" in summary.columns}
    return (f'{head}\n<p class="muted">Mean ± sd over folds; n is the number of folds. '
            f'Click a column header to sort.</p>{_table(summary, "score-table", sort_by)}')


def score_summary(scores: pd.DataFrame, measures: list[str]) -> pd.DataFrame | None:
    """Mean ± sd of each measure over folds, per task, test subset, learner and train subsets.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"task_id": "t", "learner_id": "tree", "state": "done",
    ...                   "rmse": [1.0, 2.0, 3.0]})
    >>> score_summary(s, ["rmse"]).to_dict("records")
    [{'task_id': 't', 'learner_id': 'tree', 'n': 3, 'rmse': '2 ± 1', 'rmse_mean': 2.0}]
    """
    done = scores[scores["state"] == "done"] if "state" in scores.columns else scores
    measures = [m for m in measures if m in done.columns] or []
    if len(done) == 0 or not measures:
        return None
    keys = [c for c in ("task_id", "resampling_id", "test.subset", "learner_id", "train.subsets",
                        "n.train.groups")
            if c in done.columns]
    grouped = done.groupby(keys, sort=True, dropna=False)
    out = grouped.size().rename("n").reset_index()
    for m in measures:
        mean, sd = grouped[m].mean().to_numpy(), grouped[m].std().to_numpy()
        out[m] = [f"{a:.4g} ± {b:.2g}" if b == b else f"{a:.4g}" for a, b in zip(mean, sd)]
        out[f"{m}_mean"] = mean  # a plain number to sort by
    return out


def _table(df: pd.DataFrame, table_id: str, sort_by: dict[str, str] | None = None) -> str:
    """An HTML table; ``sort_by`` maps a shown column to a hidden one holding its sort key."""
    sort_by = sort_by or {}
    shown = [c for c in df.columns if c not in sort_by.values()]
    rows = []
    for record in df.to_dict("records"):
        cells = []
        for col in shown:
            v = record[col]
            num = isinstance(v, (int, float)) and not isinstance(v, bool)
            text = "" if v is None or (isinstance(v, float) and v != v) else (
                f"{v:.6g}" if isinstance(v, float) else str(v))
            attrs = ' class="num"' if num or col in sort_by else ""
            if col in sort_by:
                attrs += f' data-sort="{float(record[sort_by[col]])!r}"'
            cells.append(f"<td{attrs}>{_e(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    head = "".join(f"<th>{_e(c)}</th>" for c in shown)
    return (f'<table id="{table_id}" class="sortable"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>")


# -- plots --------------------------------------------------------------------------
def _plots(proj: Project, scores: pd.DataFrame | None, results: pd.DataFrame) -> str:
    parts = ['<h2 id="plots">Plots</h2>']
    parts.append(_figure("timeline", "Timeline: one row per worker, one bar per job; grey is idle time.",
                         lambda: _timeline(proj)))
    if "peak_mem_mb" in results:
        key = proj.project_settings.memory_key
        caption = "Memory per job: observed peak against duration" + (
            f", and against the expected memory ({key}); points above the dashed line used more than expected."
            if key else ".")
        parts.append(_figure("memory", caption, lambda: _memory(results, key)))
    if scores is None:
        parts.append('<p class="muted">Score and p-value plots need an ML project.</p>')
        return "\n".join(parts)
    parts.append(_figure("scores", "Scores by train subsets: mean ± sd over folds (open circles: folds).",
                         lambda: _scores_plot(scores)))
    if "train.subsets" in scores.columns:
        parts.append(_figure("pvalue", "SOAK p-values: other and all compared with same (paired t-test).",
                             lambda: _pvalue(scores)))
    else:
        parts.append('<p class="muted">No p-value plot: the project was not split by SOAK.</p>')
    return "\n".join(parts)


# -- which learner is better ----------------------------------------------------------
def _comparison(proj: Project, ml: dict[str, Any] | None) -> str:
    """Learners compared on each of the project's measures: table, tests, CD diagrams and per-task scores."""
    from ..api import MLProject

    head = '<h2 id="comparison">Comparison</h2>'
    if not ml or not isinstance(proj, MLProject):
        return f'{head}\n<p class="muted">Comparing learners needs an ML project (tasks, learners, cv).</p>'
    measures: list[str | None] = [m for m in ml.get("measures", []) if isinstance(m, str)]
    intro = ('<p class="muted">Which learner is better: ranks per task (1 is the best, ties averaged), Friedman and '
             "Nemenyi tests over the ranked tasks (Demšar 2006), Wilcoxon signed-rank tests with Holm's correction "
             "(Benavoli et al. 2016), and per task the corrected resampled t-test (Nadeau and Bengio 2003). "
             "<code>benchgrid compare DIR --measure M --latex table.tex</code> writes a table for a paper.</p>")
    from ..ml import compare

    table = functools.cache(proj.comparison_scores)  # one read of the scores for every measure
    parts = [head, intro]
    for i, measure in enumerate(measures or [None]):  # None: compare's default measure
        parts.append(_comparison_of(lambda m: compare(table(), m), measure, "" if i == 0 else f"-{i + 1}",
                                    titled=len(measures) > 1))
    return "\n".join(parts)


def _comparison_of(compare: Callable[[str | None], Any], measure: str | None, suffix: str, titled: bool) -> str:
    """One measure's comparison (``compare(measure)``): ids end with ``suffix`` (the first measure's keep the plain ids)."""
    title = f'<h3 id="comparison-measure{suffix}">{_e(measure)}</h3>' if titled else ""
    try:
        comparison = compare(measure)
    except BenchgridError as err:  # e.g. nothing finished yet: say why instead of failing the report
        return f'{title}\n<p class="note" id="comparison-missing{suffix}">Not compared: {_e(err)}</p>'
    from ..plots import plot_cd, plot_task_scores

    figures = [_figure(f"cd{suffix}", "Critical-difference diagram: learners at their mean rank; a bar joins "
                       "learners not significantly different (Nemenyi).", lambda: plot_cd(comparison))]
    if comparison.nemenyi is not None:  # with fewer than 2 ranked tasks the CD figure's note says why
        figures.append(_wilcoxon_diagram(comparison, suffix))
    figures.append(_figure(f"task-scores{suffix}", f"{comparison.measure} per task: each learner's folds (open "
                           "circles) and mean ± sd; the star is the task's best mean.",
                           lambda: plot_task_scores(comparison)))
    return "\n".join([title, comparison.to_html(id_suffix=suffix), *figures])


def _wilcoxon_diagram(comparison: Any, suffix: str) -> str:
    """The CD diagram by Wilcoxon-Holm where it joins other learners than Nemenyi's; else a line that says so."""
    from ..plots import plot_cd

    if comparison.cliques("wilcoxon") == comparison.cliques("nemenyi"):
        return (f'<p class="muted" id="cd-wilcoxon-same{suffix}">The Wilcoxon signed-rank tests with Holm\'s '
                "correction join the same learners (the same diagram without the CD bar).</p>")
    return _figure(f"cd-wilcoxon{suffix}", "The same, a bar joining learners that no Wilcoxon signed-rank test with "
                   "Holm's correction tells apart (Benavoli et al. 2016).", lambda: plot_cd(comparison, test="wilcoxon"))


def _memory(results: pd.DataFrame, expected_key: str | None) -> Any:
    from ..plots import plot_memory

    return plot_memory(results, expected_key)


def _timeline(proj: Project) -> Any:
    from ..plots import plot_timeline

    return plot_timeline(proj)


def _scores_plot(scores: pd.DataFrame) -> Any:
    from ..plots import plot_scores

    return plot_scores(scores)


def _pvalue(scores: pd.DataFrame) -> Any:
    from ..ml import pvalue
    from ..plots import plot_pvalue
    from ..plots import score_table

    done, measure = score_table(scores)
    return plot_pvalue(pvalue(done, measure))


def _figure(name: str, caption: str, draw: Callable[[], Any]) -> str:
    try:
        fig = draw()
    except BenchgridError as err:  # e.g. nothing finished yet: say why instead of failing the report
        return f'<h3>{_e(name)}</h3><p class="note" id="plot-{name}-missing">Not drawn: {_e(err)}</p>'
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return (f'<figure id="plot-{name}"><img alt="{_e(name)} plot" src="data:image/png;base64,{data}">'
            f"<figcaption>{_e(caption)}</figcaption></figure>")


# -- errors and slow jobs -----------------------------------------------------------
def _errors(proj: Project) -> str:
    errors = proj.errors()
    head = f'<h2 id="errors">Errors ({len(errors)})</h2>'
    if len(errors) == 0:
        return f'{head}\n<p class="muted">No job ended in error.</p>'
    items = []
    for e in errors.head(200).itertuples(index=False):
        tb = e.traceback if isinstance(e.traceback, str) and e.traceback else "(no traceback: " + str(e.error) + ")"
        items.append(
            f"<details><summary>job {_e(e.job_id)} (attempt {_e(e.attempt)}, worker {_e(e.worker)}): "
            f"{_e(e.error)}</summary><pre>{_e(tb)}</pre></details>"
        )
    more = f'<p class="muted">first 200 of {len(errors)}</p>' if len(errors) > 200 else ""
    return head + "\n<p>Put them back with <code>benchgrid retry DIR</code>.</p>\n" + "\n".join(items) + more


def _slowest(results: pd.DataFrame) -> str:
    head = f'<h2 id="slowest">Slowest jobs (top {N_SLOWEST})</h2>'
    if "duration_s" not in results or results["duration_s"].notna().sum() == 0:
        return f'{head}\n<p class="muted">No job has finished yet.</p>'
    drop = [c for c in ("task_key", "learner_key", "content_key", "claimed_at", "started_at", "ended_at",
                        "error") if c in results.columns]
    top = results.dropna(subset=["duration_s"]).nlargest(N_SLOWEST, "duration_s").drop(columns=drop)
    first = ["job_id", "duration_s", "state", "worker", "host"]
    top = top[[c for c in first if c in top] + [c for c in top if c not in first]]
    return f"{head}\n{_table(top, 'slowest-jobs')}"
