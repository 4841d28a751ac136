"""benchgrid.ml: tasks × scikit-learn learners × splits as benchgrid jobs (see docs/ml.md).

Names load on first use, so importing a submodule stays light.

Examples
--------
>>> from benchgrid.ml import Measure, MEASURE_NAMES
>>> "rmse" in MEASURE_NAMES
True
"""

from __future__ import annotations

from .._lazy import lazy_names

_LAZY = {
    "Comparison": "benchgrid.ml._compare",
    "compare": "benchgrid.ml._compare",
    "corrected_ttest": "benchgrid.ml._corrected",
    "PValue": "benchgrid.ml._pvalue",
    "Splits": "benchgrid.ml._splits",
    "check_measures": "benchgrid.ml._measures",
    "check_scores": "benchgrid.ml._pvalue",
    "demo_grid": "benchgrid.ml._demo",
    "describe_learner": "benchgrid.ml._learners",
    "find_measure": "benchgrid.ml._pvalue",
    "try_grid": "benchgrid.ml._try",
    "try_inputs": "benchgrid.ml._try",
    "try_project": "benchgrid.ml._try",
    "add_to_grid": "benchgrid.ml._add",
    "GridAddition": "benchgrid.ml._add",
    "write_bytes_atomic": "benchgrid.ml._inputs",
    "Task": "benchgrid.ml._task",
    "Measure": "benchgrid.ml._measures",
    "MEASURE_NAMES": "benchgrid.ml._measures",
    "direction_note": "benchgrid.ml._measures",
    "greater_is_better": "benchgrid.ml._measures",
    "SOAK": "benchgrid.ml._soak",
    "META_COLUMNS": "benchgrid.ml._soak",
    "param_name": "benchgrid.ml._grid",
    "pvalue": "benchgrid.ml._pvalue",
    "build_ml_project": "benchgrid.ml._grid",
    "MLSpec": "benchgrid.ml._grid",
    "run_ml_job": "benchgrid.ml._runner",
    "ml_result_dtypes": "benchgrid.ml._result_columns",
    "with_ml_result_dtypes": "benchgrid.ml._result_columns",
    "load_grid_file": "benchgrid.ml._gridfile",
}

__all__ = list(_LAZY)

__getattr__, __dir__ = lazy_names(__name__, _LAZY, __all__)
