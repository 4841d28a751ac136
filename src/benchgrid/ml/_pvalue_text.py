"""A p-value result as text (REPL, print) and HTML (notebooks)."""

from __future__ import annotations

import html
from typing import Any


__all__ = ["pvalue_html", "pvalue_text"]

_COLUMNS = ["task_id", "test.subset", "algorithm", "comparison", "same_mean", "compare_mean",
            "mean_diff", "p_paired", "p_unpaired", "p_corrected", "N"]  # fmt: skip


def _title(pv: Any) -> str:
    size = "full-size train sets" if pv.n_train_groups is None else f"{pv.n_train_groups} train groups"
    corrected = ("; p_corrected: Nadeau and Bengio's corrected resampled t-test"
                 if "p_corrected" in pv.comparisons.columns else "")
    return (
        f"p-values of {pv.measure} ({size}): train subsets other and all against same, "
        f"paired t-test over test folds and Welch's t-test{corrected}"
    )


def _table(pv: Any):  # type: ignore[no-untyped-def]
    return pv.comparisons[[c for c in _COLUMNS if c in pv.comparisons.columns]]


def pvalue_text(pv: Any) -> str:
    """The title line and the comparisons table."""
    table = _table(pv)
    if table.empty:
        return _title(pv) + "\n(no comparisons: the scores have no 'same' rows paired with others)"
    return _title(pv) + "\n" + table.to_string(index=False, float_format=lambda v: f"{v:.4g}")


def pvalue_html(pv: Any) -> str:
    """The same as an HTML table."""
    return f"<p><b>{html.escape(_title(pv))}</b></p>" + _table(pv).to_html(
        index=False, float_format=lambda v: f"{v:.4g}"
    )
