"""The score plot: each learner's test score by train subsets, per (task, test subset).

One panel per (task, test subset). Rows are the train subsets (SOAK's all,
same, other, from the bottom, as in the p-value plot), split by train size
(``n.train.groups``) when the grid was down-sampled; tables from other
splitters get a single row. In each row every learner has its own colour
and line: its folds as small open circles, and mean ± sd over the folds as
a filled point on a bar.

matplotlib is imported inside the functions and figures are built with
:class:`matplotlib.figure.Figure` directly (no pyplot state; Agg renders).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._errors import InputError
from ..ml import META_COLUMNS, param_name

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ..api import Project

__all__ = ["plot_scores", "score_table"]

SUFFIXES = (".png", ".svg", ".pdf")
TRAIN_ORDER = ("all", "same", "other")  # from the bottom, as in plot_pvalue
# results() spells the splitter's columns with underscores; scores() with dots (from SOAK's one list)
DOTTED = {param_name(c): c for c in META_COLUMNS if param_name(c) != c}


def score_table(proj_or_results: Project | pd.DataFrame | str | os.PathLike[str],
                measure: str | None = None) -> tuple[pd.DataFrame, str]:
    """The done rows of a score table, with SOAK's dotted column names, and the measure.

    Parameters
    ----------
    proj_or_results : Project, project directory or DataFrame
        An ML project, or its ``scores()`` / ``results()`` table.
    measure : str, optional
        The score column; default: the first measure column.

    Returns
    -------
    (pandas.DataFrame, str)
        Rows that have a score, with a ``learner`` column (``learner_id``,
        else ``algorithm``), and the measure's name.

    Examples
    --------
    >>> import pandas as pd
    >>> t, m = score_table(pd.DataFrame({"task_id": ["t"], "learner_id": ["tree"],
    ...                                  "test_fold": [1], "rmse": [0.5]}))
    >>> m, list(t.columns)
    ('rmse', ['task_id', 'learner_id', 'test.fold', 'rmse', 'learner'])
    """
    import pandas as pd

    from ..api import MLProject
    from ..api import Project
    from ..ml import find_measure

    if isinstance(proj_or_results, (str, os.PathLike)):
        proj_or_results = Project.open(proj_or_results)
    if isinstance(proj_or_results, Project):
        if not isinstance(proj_or_results, MLProject):
            raise InputError(
                f"score and p-value plots need an ML project (tasks, learners, cv), got {str(proj_or_results.path)!r} "
                "which was created from a job table and a runner; pass its results() with task_id, "
                "learner_id and a measure column instead"
            )
        df = proj_or_results.scores()
    elif isinstance(proj_or_results, pd.DataFrame):
        df = proj_or_results.rename(columns={k: v for k, v in DOTTED.items() if v not in proj_or_results})
    else:
        raise InputError(
            "proj_or_results must be a Project, a project directory or a scores DataFrame, "
            f"got {type(proj_or_results).__name__}"
        )
    who = "learner_id" if "learner_id" in df.columns else "algorithm"
    missing = [c for c in ("task_id", who) if c not in df.columns]
    if missing:
        raise InputError(
            f"scores must have columns task_id and learner_id (or algorithm), got no {missing!r}; "
            f"columns are {list(df.columns)!r}"
        )
    if "state" in df.columns:
        df = df[df["state"] == "done"]
    if measure is None:
        measure = find_measure(df.drop(columns=[c for c in df.columns if c in DOTTED.values()
                                                or c in ("groups", "iteration", "seed", "job_id", "pid",
                                                         "attempt")]))
    elif measure not in df.columns:
        raise InputError(f"measure must be a column of the scores, got {measure!r}; columns are "
                         f"{list(df.columns)!r}")
    elif df[measure].dtype.kind not in "fiu":
        raise InputError(f"measure must name a numeric column, got {measure!r} of dtype {df[measure].dtype}")
    df = df[df[measure].notna()].assign(learner=df[who].astype(str))
    if "resampling_id" in df.columns and "train.subsets" in df.columns:
        # rows of other resamplings (KFold next to SOAK) have no train subsets: a row of
        # their own, named by the resampling, in a panel of their own (they test every subset)
        other = df["train.subsets"].isna()
        df.loc[other, "train.subsets"] = df.loc[other, "resampling_id"].astype(str)
        if "test.subset" in df.columns:
            df.loc[other & df["test.subset"].isna(), "test.subset"] = "(every subset)"
    if len(df) == 0:
        raise InputError(f"scores have no done job with a {measure!r} value yet; run the project first")
    return df.reset_index(drop=True), measure


def plot_scores(
    proj_or_results: Project | pd.DataFrame | str | os.PathLike[str],
    measure: str | None = None,
    *,
    path: str | os.PathLike[str] | None = None,
) -> Figure:
    """Plot each learner's test score by train subsets, one panel per (task, test subset).

    Parameters
    ----------
    proj_or_results : Project, project directory or DataFrame
        An ML project, or its ``scores()`` (or ``results()``) table.
    measure : str, optional
        The score column (default: the first measure, e.g. "rmse").
    path : str or Path, optional
        Save the figure there; the format follows the suffix (.png, .svg, .pdf).

    Returns
    -------
    matplotlib.figure.Figure
        One axes per (task, test subset); y tick labels are the train subsets
        (with the number of train groups when down-sampled).

    Examples
    --------
    >>> import pandas as pd
    >>> from benchgrid import plot_scores
    >>> rows = [{"task_id": "t", "learner_id": lrn, "test.subset": sub, "train.subsets": ts,
    ...          "test.fold": f, "rmse": 1.0 + (ts == "other") + f / 10 + (lrn == "tree")}
    ...         for lrn in ("featureless", "tree") for sub in ("A", "B")
    ...         for ts in ("all", "same", "other") for f in (1, 2, 3)]
    >>> fig = plot_scores(pd.DataFrame(rows))
    >>> len(fig.axes), [t.get_text() for t in fig.axes[0].get_yticklabels()]
    (2, ['all', 'same', 'other'])
    """
    if path is not None and Path(path).suffix.lower() not in SUFFIXES:
        raise InputError(f"path must end in one of {SUFFIXES!r}, got {str(path)!r}")
    df, measure = score_table(proj_or_results, measure)
    fig = _draw(df, measure)
    if path is not None:
        fig.savefig(path, dpi=150)
    return fig


def _levels(df: pd.DataFrame) -> tuple[list[tuple[Any, Any]], bool]:
    """y levels from the bottom: (train subsets, n train groups); and whether sizes differ."""
    if "train.subsets" not in df.columns:
        return [(None, None)], False
    sizes = "n.train.groups" in df.columns and "groups" in df.columns and bool(
        (df["n.train.groups"] < df["groups"]).any())
    present = list(dict.fromkeys(df["train.subsets"]))
    order = [t for t in TRAIN_ORDER if t in present] + [t for t in present if t not in TRAIN_ORDER]
    levels = []
    for ts in order:
        if sizes:
            # larger train sets higher up within a train subset
            for n in sorted(set(df.loc[df["train.subsets"] == ts, "n.train.groups"])):
                levels.append((ts, n))
        else:
            levels.append((ts, None))
    return levels, sizes


def _draw(df: pd.DataFrame, measure: str) -> Figure:
    from matplotlib import colormaps
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    levels, sizes = _levels(df)
    learners = list(dict.fromkeys(df["learner"]))
    palette = [colormaps["tab10"](i) for i in range(10)]
    colors = {lrn: palette[i % 10] for i, lrn in enumerate(learners)}
    keys = ["task_id"] + (["test.subset"] if "test.subset" in df.columns else [])
    panels = list(dict.fromkeys(map(tuple, df[keys].astype(str).to_numpy())))
    per_task = df.groupby("task_id")[keys[-1]].nunique().max() if len(keys) == 2 else 3
    n_cols = int(min(len(panels), max(per_task, 1), 4)) if len(keys) == 2 else min(len(panels), 3)
    n_rows = math.ceil(len(panels) / n_cols)
    level_h = 0.2 + 0.17 * len(learners)
    fig = Figure(figsize=(1.6 + 3.5 * n_cols, 1.0 + n_rows * (0.75 + level_h * len(levels))),
                 layout="constrained")
    axes = fig.subplots(n_rows, n_cols, sharey=True, squeeze=False)
    for k, panel in enumerate(panels):
        ax = axes[k // n_cols][k % n_cols]
        mask = (df[keys].astype(str).to_numpy() == panel).all(axis=1)
        _draw_panel(ax, df[mask], measure, levels, learners, colors)
        ax.set_title("\n".join(f"{key}: {v}" for key, v in zip(keys, panel)), fontsize=9)
    for k in range(len(panels), n_rows * n_cols):  # empty cells of the last row
        axes[k // n_cols][k % n_cols].set_visible(False)
    from ..ml import direction_note

    note = direction_note(measure, df.attrs.get("greater_is_better"))
    for k in range(len(panels)):
        ax = axes[k // n_cols][k % n_cols]
        if k + n_cols >= len(panels):
            ax.set_xlabel(f"{measure} (mean ± sd over folds{', ' + note if note else ''})")
        if k % n_cols == 0:
            ax.set_ylabel("train subsets" + (", train groups" if sizes else "") if levels[0][0] else "")
    labels = [_level_label(ts, n, sizes) for ts, n in levels]
    axes[0][0].set_yticks(range(len(levels)), labels)
    axes[0][0].set_ylim(-0.6, len(levels) - 0.4)
    handles = [Line2D([], [], color=colors[lrn], marker="o", label=lrn) for lrn in learners]
    handles.append(Line2D([], [], color="0.4", marker="o", markerfacecolor="none", linestyle="none",
                          markersize=4, label="one fold"))
    fig.legend(handles=handles, loc="outside upper center", ncols=min(len(handles), 6),
               frameon=False, fontsize=8, title="learner", title_fontsize=8)
    return fig


def _level_label(ts: Any, n: Any, sizes: bool) -> str:
    if ts is None:
        return "all folds"
    return f"{ts}, {int(n)}" if sizes else str(ts)


def _draw_panel(ax: Axes, df: pd.DataFrame, measure: str, levels: list[tuple[Any, Any]],
                learners: list[str], colors: dict[str, Any]) -> None:
    n = len(learners)
    # learners side by side within a row, the first at the top
    offsets = {lrn: (0.0 if n == 1 else 0.28 - 0.56 * i / (n - 1)) for i, lrn in enumerate(learners)}
    ax.grid(axis="x", color="0.9", linewidth=0.8)
    ax.set_axisbelow(True)
    for y, (ts, size) in enumerate(levels):
        rows = df
        if ts is not None:
            rows = rows[rows["train.subsets"] == ts]
        if size is not None:
            rows = rows[rows["n.train.groups"] == size]
        for lrn, group in rows.groupby("learner", sort=False):
            values = group[measure].to_numpy(float)
            yy = y + offsets[str(lrn)]
            mean = float(values.mean())
            sd = float(values.std(ddof=1)) if len(values) > 1 else 0.0
            c = colors[str(lrn)]
            ax.plot([mean - sd, mean + sd], [yy, yy], color=c, linewidth=2, solid_capstyle="butt")
            ax.plot(values, [yy] * len(values), linestyle="none", marker="o", markersize=3.5,
                    markerfacecolor="none", markeredgecolor=c, markeredgewidth=0.8, alpha=0.8)
            ax.plot([mean], [yy], marker="o", markersize=5.5, color=c, markeredgecolor="white",
                    markeredgewidth=0.6, zorder=3)
    for y in range(len(levels) - 1):  # separate the rows
        ax.axhline(y + 0.5, color="0.85", linewidth=0.6)
    ax.tick_params(axis="y", length=0)
