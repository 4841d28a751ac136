"""A :class:`~._compare.Comparison` as text, Markdown and LaTeX (booktabs).

Tasks are rows and learners columns (best mean rank first), as benchmark
papers print them; the last row is each learner's mean rank. Ranked tasks
come first; tasks left out of the ranks (incomplete) follow, marked, with
the number of folds each cell has.
"""

from __future__ import annotations

import math
from typing import Any

# a Comparison (._compare imports this module: no import back, not even for types)
Comparison = Any

__all__ = ["per_task_text", "to_html", "to_latex", "to_markdown", "to_text"]


def _p(p: float) -> str:
    if math.isnan(p):
        return "NA"
    return "< 0.0001" if p < 0.0001 else f"{p:.4f}"


def _peq(p: float) -> str:
    """``"p = 0.0123"`` or ``"p < 0.0001"``."""
    text = _p(p)
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def _cell(row: Any, digits: int) -> str:
    if row.n_folds == 0:
        return "–"
    text = f"{row.mean:.{digits}f}" + ("" if math.isnan(row.sd) else f" ± {row.sd:.{digits}f}")
    if row.n_folds < row.n_expected:
        text += f" ({row.n_folds}/{row.n_expected})"
    return text


def _rows(c: Comparison, digits: int) -> list[tuple[str, bool, list[tuple[str, bool, bool]]]]:
    """(task, ranked, [(cell text, best, not significantly worse)] per learner), ranked tasks first."""
    out = []
    by_cell = {(r.task, r.learner): r for r in c.table.itertuples(index=False)}
    tasks = list(dict.fromkeys(c.table["task"]))
    for t in sorted(tasks, key=lambda t: t not in c.tasks):
        cells = []
        for lrn in c.learners:
            r = by_cell[(t, lrn)]
            cells.append((_cell(r, digits), bool(r.best), bool(r.not_worse) and not r.best))
        out.append((t, t in c.tasks, cells))
    return out


def _direction(c: Comparison) -> str:
    return "higher is better" if c.greater_is_better else "lower is better"


def _tests(c: Comparison) -> list[str]:
    """One line per test across tasks (plain text)."""
    lines = []
    if c.friedman is not None:
        f = c.friedman
        lines.append(f"Friedman chi2 = {f.statistic:.3f}, {_peq(f.pvalue)}; Iman-Davenport F = {f.iman_davenport:.3f}, "
                     f"{_peq(f.iman_davenport_pvalue)} ({f.n_learners} learners, {f.n_tasks} tasks)")
    if c.nemenyi is not None:
        groups = "; ".join(", ".join(g) for g in c.cliques("nemenyi")) or "none"
        lines.append(f"Nemenyi critical difference = {c.nemenyi.cd:.3f} at alpha = {c.alpha:g} "
                     f"(not significantly different: {groups})")
    return lines


def to_text(c: Comparison) -> str:
    """What ``print(comparison)`` shows: the table, mean ranks, the tests and the notes."""
    import pandas as pd

    head = (f"Comparison of {len(c.learners)} learners on {c.measure} ({_direction(c)}), mean ± sd over folds; "
            f"{len(c.tasks)} ranked task{'s' if len(c.tasks) != 1 else ''}")
    rows = _rows(c, 4)
    wide = pd.DataFrame([[t + ("" if ranked else " (not ranked)")] + [
        text + (" *" if best else " ~" if close else "") for text, best, close in cells] for t, ranked, cells in rows],
        columns=["task", *c.learners])
    if len(c.tasks):
        wide.loc[len(wide)] = ["mean rank", *[f"{r:.2f}" for r in c.mean_ranks]]
    parts = [head, wide.to_string(index=False),
             f"(* best on the task; ~ not significantly worse than the best, corrected t-test at alpha = {c.alpha:g})"]
    parts += _tests(c)
    if len(c.wilcoxon_holm):
        w = c.wilcoxon_holm[["learner_a", "learner_b", "wins_a", "ties", "wins_b", "p", "p_holm", "significant"]]
        parts.append("Wilcoxon signed-rank over tasks, Holm-corrected:\n"
                     + w.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    parts += [f"note: {n}" for n in c.notes]
    return "\n".join(parts)


def per_task_text(c: Comparison) -> str:
    """The tests within each ranked task, one line per pair of learners (``benchgrid compare --per-task``)."""
    if c.per_task.empty:
        return "Within each task: no pair of learners tested (no ranked task)"
    columns = _per_task_columns(c)
    head = ("Within each task, learners paired on their folds: corrected resampled t-test (Nadeau and Bengio 2003: "
            "p_corrected) and the plain paired t-test (p_plain, anti-conservative); mean_diff = a - b")
    if c.rope is not None:
        head += (f"; baycomp's Bayesian correlated t-test with rope = {c.rope:g}: the probabilities that a is better, "
                 "that they are practically equivalent, that b is better")
    table = c.per_task[columns].to_string(index=False, float_format=lambda v: f"{v:.4g}")
    return head + "\n" + table


def _per_task_columns(c: Comparison) -> list[str]:
    """The columns of :attr:`Comparison.per_task` shown: the t-tests, and baycomp's probabilities with a rope."""
    columns = ["task", "learner_a", "learner_b", "n_folds", "mean_diff", "p_corrected", "p_plain"]
    return columns + (["p_a_better", "p_rope", "p_b_better"] if c.rope is not None else [])


def to_markdown(c: Comparison, digits: int = 3) -> str:
    """A GitHub Markdown table, then a legend, the tests and the notes."""
    def fmt(text: str, best: bool, close: bool) -> str:
        return f"**{text}**" if best else f"*{text}*" if close else text

    lines = ["| task | " + " | ".join(_md(lrn) for lrn in c.learners) + " |",
             "|---|" + "---:|" * len(c.learners)]
    for t, ranked, cells in _rows(c, digits):
        name = _md(t) + ("" if ranked else " (not ranked)")
        lines.append(f"| {name} | " + " | ".join(fmt(*cell) for cell in cells) + " |")
    if len(c.tasks):
        lines.append("| mean rank | " + " | ".join(f"{r:.2f}" for r in c.mean_ranks) + " |")
    lines += ["", f"{c.measure} ({_direction(c)}), mean ± sd over folds; (n/m): n of the task's m folds. "
              f"**Bold**: best on the task; *italics*: not significantly worse than the best "
              f"(corrected resampled t-test, alpha = {c.alpha:g})."]
    lines += [""] + _tests(c) if _tests(c) else []
    lines += [f"- {n}" for n in c.notes] if c.notes else []
    return "\n".join(lines) + "\n"


def to_html(c: Comparison, digits: int = 3, id_suffix: str = "") -> str:
    """An HTML table (best in bold, not significantly worse in italics), then the tests and the notes.

    Its tables' ids are ``comparison-table``, ``comparison-wilcoxon`` and
    ``comparison-per-task``, each followed by ``id_suffix`` (one per measure in a report).
    """
    table_id = f"comparison-table{id_suffix}"
    import html

    def e(text: object) -> str:
        return html.escape(str(text), quote=True)

    def fmt(text: str, best: bool, close: bool) -> str:
        return f"<b>{e(text)}</b>" if best else f"<i>{e(text)}</i>" if close else e(text)

    head = "".join(f"<th>{e(lrn)}</th>" for lrn in c.learners)
    body = []
    for t, ranked, cells in _rows(c, digits):
        name = e(t) + ("" if ranked else ' <span class="muted">(not ranked)</span>')
        body.append(f"<tr><td>{name}</td>" + "".join(f'<td class="num">{fmt(*cell)}</td>' for cell in cells) + "</tr>")
    if len(c.tasks):
        body.append("<tr><th>mean rank</th>" + "".join(f'<td class="num">{r:.2f}</td>' for r in c.mean_ranks) + "</tr>")
    parts = [f'<table id="{e(table_id)}"><thead><tr><th>task</th>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>',
             f'<p class="muted">{e(c.measure)} ({_direction(c)}), mean ± sd over folds; (n/m): n of the task\'s m folds. '
             f"<b>Bold</b>: best on the task; <i>italics</i>: not significantly worse than the best (corrected "
             f"resampled t-test, alpha = {c.alpha:g}).</p>"]
    parts += [f"<p>{e(line)}</p>" for line in _tests(c)]
    if len(c.wilcoxon_holm):
        w = c.wilcoxon_holm[["learner_a", "learner_b", "wins_a", "ties", "wins_b", "p", "p_holm", "significant"]]
        parts.append("<p>Wilcoxon signed-rank tests over tasks, Holm-corrected:</p>"
                     + w.to_html(index=False, float_format=lambda v: f"{v:.4g}", table_id=f"comparison-wilcoxon{id_suffix}"))
    if not c.per_task.empty:
        columns = _per_task_columns(c)
        parts.append("<details><summary>Within each task: learners paired on their folds, corrected resampled t-test "
                     "(Nadeau and Bengio 2003: p_corrected) beside the plain paired t-test (p_plain, "
                     "anti-conservative); mean_diff = a − b</summary>"
                     + c.per_task[columns].to_html(index=False, float_format=lambda v: f"{v:.4g}",
                                                   table_id=f"comparison-per-task{id_suffix}") + "</details>")
    if c.notes:
        parts.append('<ul class="note">' + "".join(f"<li>{e(n)}</li>" for n in c.notes) + "</ul>")
    return "\n".join(parts)


def _md(text: str) -> str:
    return str(text).replace("|", "\\|")


_LATEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
          "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def latex_escape(text: Any) -> str:
    r"""Text safe in LaTeX's text mode.

    Examples
    --------
    >>> print(latex_escape("rf_100 & 50%"))
    rf\_100 \& 50\%
    """
    return "".join(_LATEX.get(ch, ch) for ch in str(text))


def to_latex(c: Comparison, digits: int = 3, label: str = "tab:compare", fit_width: bool = True) -> str:
    r"""A ``table`` with a booktabs ``tabular``: bold best, underlined not significantly worse.

    ``fit_width``: the tabular in graphicx's ``\resizebox``, shrunk to
    ``\linewidth`` only when wider (``\width`` is the box's natural width).
    """
    def fmt(text: str, best: bool, close: bool) -> str:
        body = latex_escape(text).replace("±", r"$\pm$").replace("–", "--")
        return rf"\textbf{{{body}}}" if best else rf"\underline{{{body}}}" if close else body

    k = len(c.learners)
    caption = (f"{latex_escape(c.measure)} ({_direction(c)}), mean $\\pm$ sd over folds. Best per task in bold; "
               f"underlined: not significantly worse than the best (corrected resampled t-test, $\\alpha = {c.alpha:g}$).")
    if c.friedman is not None:
        f = c.friedman
        caption += (f" Friedman $\\chi^2_F = {f.statistic:.2f}$, ${_peq(f.pvalue)}$"
                    f" ({f.n_tasks} tasks).")
    if c.nemenyi is not None:
        caption += f" Nemenyi critical difference {c.nemenyi.cd:.2f}."
    fit = [r"\resizebox{\ifdim\width>\linewidth\linewidth\else\width\fi}{!}{%"] if fit_width else []
    lines = [r"\begin{table}[t]", r"\centering", *fit, r"\begin{tabular}{l" + "r" * k + "}", r"\toprule",
             "Task & " + " & ".join(latex_escape(lrn) for lrn in c.learners) + r" \\", r"\midrule"]
    rows = _rows(c, digits)
    for t, ranked, cells in rows:
        if ranked:
            lines.append(latex_escape(t) + " & " + " & ".join(fmt(*cell) for cell in cells) + r" \\")
    if len(c.tasks):
        lines += [r"\midrule", "Mean rank & " + " & ".join(f"{r:.2f}" for r in c.mean_ranks) + r" \\"]
    skipped = [(t, cells) for t, ranked, cells in rows if not ranked]
    if skipped:
        lines += [r"\midrule", rf"\multicolumn{{{k + 1}}}{{l}}{{\emph{{Not ranked (incomplete):}}}} \\"]
        lines += [latex_escape(t) + " & " + " & ".join(fmt(text, False, False) for text, _, _ in cells) + r" \\"
                  for t, cells in skipped]
    lines += [r"\bottomrule", r"\end{tabular}" + ("}" if fit_width else ""), rf"\caption{{{caption}}}", rf"\label{{{latex_escape(label)}}}",
              r"\end{table}"]
    return "\n".join(lines) + "\n"
