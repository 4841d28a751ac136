"""Per-task scores of a comparison: one panel per ranked task, learners × folds.

Each panel has a row per learner (best mean rank on top): its folds as open
circles and mean ± sd over the folds as a filled point on a bar; the task's
best learner's mean is a star. The x axis says which way is
better. matplotlib is imported inside the function; figures are built with
:class:`matplotlib.figure.Figure` (no pyplot state).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING

from .._errors import InputError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..ml import Comparison

__all__ = ["plot_task_scores"]

SUFFIXES = (".png", ".svg", ".pdf")


def plot_task_scores(comparison: Comparison, *, n_cols: int = 4, path: str | os.PathLike[str] | None = None) -> Figure:
    """Plot each learner's fold scores on each ranked task of a :func:`benchgrid.compare` result.

    Parameters
    ----------
    comparison : Comparison
        From :func:`benchgrid.compare`.
    n_cols : int, default=4
        Panels per row.
    path : str or Path, optional
        Save the figure there (.png, .svg or .pdf).

    Returns
    -------
    matplotlib.figure.Figure
        One axes per ranked task.

    Examples
    --------
    >>> import pandas as pd
    >>> import benchgrid as bg
    >>> rows = [{"task_id": t, "learner_id": lrn, "iteration": f, "rmse": v + f / 10}
    ...         for t in ("t1", "t2") for lrn, v in (("mean", 2.0), ("tree", 1.0)) for f in (1, 2, 3)]
    >>> fig = bg.plot_task_scores(bg.compare(pd.DataFrame(rows)))
    >>> len(fig.axes), fig.axes[0].get_xlabel()
    (2, 'rmse (lower is better)')
    """
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    from ..ml import Comparison, direction_note

    if not isinstance(comparison, Comparison):
        raise InputError(f"comparison must be a benchgrid.compare() result, got {type(comparison).__name__}")
    if isinstance(n_cols, bool) or not isinstance(n_cols, int) or n_cols < 1:
        raise InputError(f"n_cols must be an integer >= 1, got {n_cols!r}")
    if path is not None and Path(path).suffix.lower() not in SUFFIXES:
        raise InputError(f"path must end in one of {SUFFIXES!r}, got {str(path)!r}")
    tasks = list(comparison.tasks)
    if not tasks:
        raise InputError("a per-task score plot needs a ranked task, got none: "
                         + ("; ".join(comparison.notes) or "no scores"))
    learners = comparison.learners
    colors = {lrn: colormaps["tab10"](i % 10) for i, lrn in enumerate(learners)}
    cols = min(n_cols, len(tasks))
    rows = math.ceil(len(tasks) / cols)
    fig = Figure(figsize=(1.5 + 3.0 * cols, 0.6 + rows * (0.7 + 0.28 * len(learners))), layout="constrained")
    axes = fig.subplots(rows, cols, sharey=True, squeeze=False)
    note = direction_note(comparison.measure, {comparison.measure: comparison.greater_is_better})
    table = comparison.table.set_index(["task", "learner"])
    for n, task in enumerate(tasks):
        ax = axes[n // cols][n % cols]
        folds = comparison.folds[comparison.folds["task"] == task]
        for y, lrn in enumerate(learners):
            values = folds.loc[folds["learner"] == lrn, "value"].to_numpy(float)
            yy = len(learners) - 1 - y  # the best on top
            cell = table.loc[(task, lrn)]
            mean, sd = float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else 0.0
            c = colors[lrn]
            ax.plot([mean - sd, mean + sd], [yy, yy], color=c, linewidth=2, solid_capstyle="butt")
            ax.plot(values, [yy] * len(values), linestyle="none", marker="o", markersize=3.5,
                    markerfacecolor="none", markeredgecolor=c, markeredgewidth=0.8)
            best = bool(cell["best"])
            ax.plot([mean], [yy], marker="*" if best else "o", markersize=13 if best else 5.5, color=c,
                    markeredgecolor="black" if best else "white", markeredgewidth=0.7, zorder=3)
        n_folds = int(table.loc[(task, learners[0]), "n_folds"])
        ax.set_title(f"{task} ({n_folds} folds)", fontsize=9)
        ax.grid(axis="x", color="0.9", linewidth=0.8)
        ax.set_axisbelow(True)
        if n + cols >= len(tasks):
            ax.set_xlabel(f"{comparison.measure}{' (' + note + ')' if note else ''}")
    for n in range(len(tasks), rows * cols):
        axes[n // cols][n % cols].set_visible(False)
    axes[0][0].set_yticks(range(len(learners)), list(reversed(learners)))
    axes[0][0].set_ylim(-0.6, len(learners) - 0.4)
    fig.suptitle(f"{comparison.measure} per task: folds (open circles), mean ± sd, best ★", fontsize=9)
    if path is not None:
        fig.savefig(path, dpi=150)
    return fig
