"""benchgrid: run benchmark grids as many small jobs over a few long-lived workers.

Heavy dependencies (pandas, scikit-learn, matplotlib) load only when a name
that needs them is first used, so ``benchgrid --help`` and a worker's start
stay fast.

Examples
--------
>>> import benchgrid as bg
>>> bg.BenchgridError.__name__
'BenchgridError'
"""

from __future__ import annotations

from ._lazy import lazy_names

from ._errors import BenchgridError, InputError, LockTimeout, ProjectError

__version__ = "0.1.0"

# public name -> module that defines it (imported on first use)
_LAZY = {
    "Project": "benchgrid.api._project",
    "MLProject": "benchgrid.api._ml_project",
    "current_job": "benchgrid.worker._context",
    "Task": "benchgrid.ml._task",
    "SOAK": "benchgrid.ml._soak",
    "pvalue": "benchgrid.ml._pvalue",
    "compare": "benchgrid.ml._compare",
    "corrected_ttest": "benchgrid.ml._corrected",
    "plot_cd": "benchgrid.plots._cd_diagram",
    "plot_task_scores": "benchgrid.plots._task_scores",
    "plot_pvalue": "benchgrid.plots._pvalue_plot",
    "plot_timeline": "benchgrid.plots._timeline",
    "plot_scores": "benchgrid.plots._scores",
    "write_report": "benchgrid.report._html",
}

__all__ = [
    "BenchgridError",
    "InputError",
    "LockTimeout",
    "ProjectError",
    *_LAZY,
]


__getattr__, __dir__ = lazy_names(__name__, _LAZY, __all__)
