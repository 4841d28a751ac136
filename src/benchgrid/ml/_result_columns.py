"""The columns :func:`~benchgrid.ml.run_ml_job` returns, and the dtype each keeps in a table.

A result table is built from JSON records, so a column's dtype would
follow its values: ``measure_errors`` all None became float64, and
``n_warnings`` turned float as soon as one job errored (its row has none).
Here each column has one dtype whatever the rows hold, also before any job
ran (the measure columns are there, empty).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ml_result_dtypes", "with_ml_result_dtypes"]

_TEXT = "object"  # str or None: what the runner returns (None, not NaN, where there is none)


def ml_result_dtypes(measures: Sequence[str]) -> dict[str, str]:
    """Column name -> dtype of what run_ml_job returns for these measures (order: as it returns them).

    Examples
    --------
    >>> ml_result_dtypes(["rmse"])
    {'rmse': 'float64', 'fit_s': 'float64', 'predict_s': 'float64', 'peak_mem_mb': 'float64', \
'measure_errors': 'object', 'n_warnings': 'Int64', 'warnings': 'object'}
    """
    return {
        **{m: "float64" for m in measures},
        "fit_s": "float64", "predict_s": "float64", "peak_mem_mb": "float64",
        "measure_errors": _TEXT, "n_warnings": "Int64", "warnings": _TEXT,
    }  # fmt: skip


def with_ml_result_dtypes(table: "pd.DataFrame", measures: Sequence[str], before: str = "state") -> "pd.DataFrame":
    """``table`` with every ML result column, each in its dtype; a missing one is added (empty) before ``before``.

    A job without a result (pending, error) is NaN in the numbers, <NA> in
    ``n_warnings`` and None in the text columns.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"job_id": [0, 1], "n_warnings": [2.0, float("nan")],
    ...                   "measure_errors": [float("nan")] * 2, "state": ["done", "error"]})
    >>> out = with_ml_result_dtypes(t, ["rmse"])
    >>> list(out.columns)
    ['job_id', 'n_warnings', 'measure_errors', 'rmse', 'fit_s', 'predict_s', 'peak_mem_mb', 'warnings', 'state']
    >>> out["n_warnings"].tolist(), out["measure_errors"].tolist(), str(out["rmse"].dtype)
    ([2, <NA>], [None, None], 'float64')
    """
    import pandas as pd

    table = table.copy(deep=False)  # the columns are replaced, never written into
    for name, dtype in ml_result_dtypes(measures).items():
        if name not in table.columns:
            at = table.columns.get_loc(before) if before in table.columns else len(table.columns)
            table.insert(int(at), name, pd.Series([None] * len(table), index=table.index, dtype=object))  # type: ignore[arg-type]
        column = table[name]
        if dtype == _TEXT:
            table[name] = column.astype(object).where(column.notna(), None)
        else:
            table[name] = pd.to_numeric(column, errors="coerce").astype(dtype)
    return table
