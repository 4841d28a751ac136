"""What a runner's result value may be called in the results table: the one rule (DESIGN.md, invariant 12).

A job's parameters and benchgrid's own columns (``job_id`` and the run
columns: ``state``, ``attempt``, ``worker``, ``host``, ``pid``,
``claimed_at``, ``started_at``, ``ended_at``, ``duration_s``, ``error``)
are what the job was given and how it ran, whatever its runner returns. A
result key that is one of them is kept under the prefix ``result.``
(``result.x``, ``result.job_id``), never merged over the input, and
:meth:`benchgrid.Project.results` warns once per call naming every such
key (:class:`benchgrid._errors.ResultNameWarning`). Kept rather than refused: the runner's value is not lost, and a
benchmark that ran for hours is not turned into errors by a column name.

The rule is applied where the table is built (:func:`results_columns`),
so it holds for every project, also those whose results were written
before it existed; a worker records what the runner returned, as it was.
"""

from __future__ import annotations

from typing import AbstractSet

__all__ = ["OWN_COLUMNS", "RESULT_PREFIX", "RUN_COLUMNS", "result_column"]

#: How and where each job ran: the last columns of the results table.
RUN_COLUMNS = ("state", "attempt", "worker", "host", "pid", "claimed_at", "started_at", "ended_at", "duration_s", "error")
#: Every column benchgrid itself fills.
OWN_COLUMNS = frozenset(("job_id", *RUN_COLUMNS))
RESULT_PREFIX = "result."


def result_column(name: str, params: AbstractSet[str], taken: AbstractSet[str] = frozenset()) -> str:
    """The results-table column of the runner's result value ``name``.

    ``params`` are the job table's parameter names; ``taken`` the result
    columns already named (so that a prefixed name never merges into
    another result's column).

    Examples
    --------
    >>> result_column("rmse", {"x"}), result_column("x", {"x"}), result_column("job_id", set())
    ('rmse', 'result.x', 'result.job_id')
    >>> result_column("result.x", {"x"}, taken={"result.x"})  # after x went to result.x
    'result.result.x'
    """
    if name not in params and name not in OWN_COLUMNS and name not in taken:
        return name
    out = RESULT_PREFIX + name
    while out in params or out in OWN_COLUMNS or out in taken:
        out = RESULT_PREFIX + out
    return out
