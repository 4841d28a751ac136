"""The report's Comparison section for one measure: the Wilcoxon-Holm diagram is drawn only where it differs.

A unit test of the section's HTML (``report._html._comparison_of``) on
comparisons built by :func:`benchgrid.compare` from score tables; the whole
report is opened in chromium by ``test_report_browser.py``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import benchgrid as bg
from benchgrid.report._html import _comparison_of


class _Scores:
    """``compare(measure)`` over a fixed score table, as the report compares a project's."""

    def __init__(self, rows: list[dict[str, object]]) -> None:
        self.table = pd.DataFrame(rows)

    def compare(self, measure: str | None) -> bg.Comparison:
        return bg.compare(self.table, measure or "accuracy")


def _scores(seed: int, spread: float) -> list[dict[str, object]]:
    rng = np.random.default_rng(seed)
    base = rng.normal(0, 1, (8, 4)) + spread * np.arange(4)
    return [{"task_id": f"t{t}", "learner_id": lrn, "iteration": f,
             "accuracy": round(float(base[t, j] + rng.normal(0, 0.05)), 3)}
            for t in range(8) for j, lrn in enumerate("abcd") for f in (1, 2, 3)]


def test_a_second_diagram_where_wilcoxon_holm_joins_other_learners_than_nemenyi() -> None:
    scores = _Scores(_scores(0, 0.3))
    c = scores.compare("accuracy")
    assert c.cliques("wilcoxon") != c.cliques("nemenyi")  # the case this test is about
    html = _comparison_of(scores.compare, "accuracy", "-2", titled=True)
    assert '<h3 id="comparison-measure-2">accuracy</h3>' in html
    assert html.count('src="data:image/png;base64,') == 3  # Nemenyi's, Wilcoxon-Holm's, the per-task scores
    assert 'id="plot-cd-wilcoxon-2"' in html and "cd-wilcoxon-same" not in html
    assert 'id="comparison-table-2"' in html and 'id="comparison-per-task-2"' in html


def test_one_diagram_where_both_tests_join_the_same_learners() -> None:
    scores = _Scores(_scores(3, 1.0))  # a table where both join (d, c, b) and (b, a)
    c = scores.compare("accuracy")
    assert c.cliques("wilcoxon") == c.cliques("nemenyi")
    html = _comparison_of(scores.compare, "accuracy", "", titled=False)
    assert html.count('src="data:image/png;base64,') == 2 and 'id="cd-wilcoxon-same"' in html
