"""benchgrid.plots: figures of a project (scores, p-values, timeline, memory, comparisons); see DESIGN.md

Names load on first use (matplotlib is imported only when a figure is drawn).
"""

from __future__ import annotations

from .._lazy import lazy_names

_LAZY = {
    "fmt_duration": "benchgrid.plots._timeline",
    "plot_cd": "benchgrid.plots._cd_diagram",
    "plot_task_scores": "benchgrid.plots._task_scores",
    "plot_memory": "benchgrid.plots._memory",
    "plot_pvalue": "benchgrid.plots._pvalue_plot",
    "plot_scores": "benchgrid.plots._scores",
    "plot_timeline": "benchgrid.plots._timeline",
    "score_table": "benchgrid.plots._scores",
    "split_runs": "benchgrid.plots._timeline",
    "timeline_segments": "benchgrid.plots._timeline",
}

__all__ = list(_LAZY)

__getattr__, __dir__ = lazy_names(__name__, _LAZY, __all__)
