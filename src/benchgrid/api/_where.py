"""Choosing jobs by their parameters (``where={"learner_id": "rf"}``) for drop and undrop."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._errors import InputError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["match_jobs"]

MAX_VALUES_SHOWN = 12


def match_jobs(table: "pd.DataFrame", where: Any, verb: str) -> list[int]:
    """The ids of the jobs whose parameters equal every value of ``where``.

    Same matching as ``retry(where=...)`` and ``scores(where=...)``
    (:func:`~benchgrid.api._ml_methods.select_rows`: ``2`` also matches
    ``"2"``), with errors that say what to write instead: ``where`` must be a
    non-empty dict of the job table's columns, and it must match a job.

    Parameters
    ----------
    table : DataFrame
        The job table (:meth:`Project.jobs`).
    where : dict
        Column name -> value.
    verb : str
        What the caller does with the jobs ("drop"), for the messages.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"job_id": [0, 1, 2], "learner_id": ["rf", "lm", "rf"]})
    >>> match_jobs(t, {"learner_id": "rf"}, "drop")
    [0, 2]
    >>> match_jobs(t, {"learner_id": "svm"}, "drop")
    Traceback (most recent call last):
    ...
    benchgrid._errors.InputError: drop: no job has learner_id='svm'; learner_id is one of ['lm', 'rf']
    """
    from ._ml_methods import select_rows

    if not isinstance(where, dict) or not where:
        raise InputError(
            f"{verb}: where must be a non-empty dict of job parameters, e.g. where={{'learner_id': 'rf'}} "
            f"(--where learner_id=rf), got {where!r}"
        )
    columns = [c for c in table.columns if c != "key"]
    for col in where:
        if col not in columns:
            raise InputError(
                f"{verb}: the job table has no column {col!r}; use one of {columns!r} "
                f"(see `benchgrid jobs DIR`)"
            )
    if not len(table):
        raise InputError(f"{verb}: the project has no job")
    mask = select_rows(table, where)
    if not mask.any():
        for col, value in where.items():
            if not select_rows(table, {col: value}).any():
                values = sorted({str(v) for v in table[col].dropna().unique()})
                shown = values[:MAX_VALUES_SHOWN] + (["..."] if len(values) > MAX_VALUES_SHOWN else [])
                raise InputError(f"{verb}: no job has {col}={value!r}; {col} is one of {shown!r}")
        raise InputError(
            f"{verb}: no job has all of {where!r} together (each value alone matches some job); "
            "check the combination with `benchgrid jobs DIR`"
        )
    return [int(j) for j in table["job_id"][mask]]
