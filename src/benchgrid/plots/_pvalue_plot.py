"""The SOAK p-value plot: train subsets' mean ± sd and P-values of their differences.

matplotlib is imported inside the functions (``import benchgrid`` stays light)
and figures are built with :class:`matplotlib.figure.Figure` directly, so no
pyplot state or GUI backend is involved (Agg renders them).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._errors import InputError

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ..ml import PValue

__all__ = ["plot_pvalue"]

# rows from the bottom, as in mlr3resampling's plot
LEVELS = ("all", "all-same", "same", "other-same", "other")
SUFFIXES = (".png", ".svg", ".pdf")
P_COLOR = "0.45"


def plot_pvalue(
    pv_or_scores: PValue | pd.DataFrame,
    measure: str | None = None,
    *,
    downsample: bool = False,
    task_id: Any = None,
    test_subset: Any = None,
    algorithm: Any = None,
    resampling_id: Any = None,
    digits: int = 3,
    corrected: bool = False,
    path: str | Path | None = None,
) -> Figure:
    """Plot SOAK p-values: one panel per algorithm × (task, test subset), and per resampling.

    A project with several SOAK resamplings (a ``resampling_id`` column with
    more than one value among the SOAK rows) gets one block of rows per
    resampling, each block's panels titled with their ``resampling_id``; with
    one resampling the plot is as without the column. Rows of other
    resamplings (KFold: no ``train.subsets``) have no p-values and no panel.

    Each panel has rows (from the bottom) all, all-same, same, other-same,
    other. A train subset's row shows its mean score (point), mean ± sd
    (bar) and the label "mean ± sd"; a comparison's row shows a grey segment
    from the "same" mean to the compared mean, labelled with the paired
    t-test's "P = 0.0123" (or "P < 0.0001"), mlr3resampling's; with
    ``corrected=True``, Nadeau and Bengio's corrected resampled t-test's
    "corrected P = 0.0456" instead.

    Parameters
    ----------
    pv_or_scores : PValue or pandas.DataFrame
        A :func:`benchgrid.pvalue` result, or a scores table to compute it.
    measure : str, optional
        Score column, when ``pv_or_scores`` is a table.
    downsample : bool, default=False
        The down-sampling view: for one (task, test subset, algorithm), the
        plot at full size and at the smallest train size side by side (needs
        a scores table from ``SOAK(sizes=0)`` or more).
    task_id, test_subset, algorithm, resampling_id : optional
        Keep only these panels; for ``downsample=True`` each must be given
        unless the table has a single value.
    digits : int, default=3
        Decimals in the "mean ± sd" labels.
    corrected : bool, default=False
        Label the comparisons with ``p_corrected`` (``pvalue(...,
        corrected=True)``: the variance allows for training sets that
        overlap between folds) instead of the plain paired t-test's p-value.
    path : str or Path, optional
        Save the figure there; the format follows the suffix (.png, .svg, .pdf).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import pandas as pd
    >>> from benchgrid import plot_pvalue
    >>> rows = [{"task_id": "t", "algorithm": "tree", "test.subset": "A",
    ...          "train.subsets": ts, "test.fold": f, "rmse": v + f / 10}
    ...         for ts, v in [("same", 1.0), ("other", 1.5), ("all", 0.9)]
    ...         for f in [1, 2, 3]]
    >>> fig = plot_pvalue(pd.DataFrame(rows))
    >>> fig.axes[0].get_xlabel()
    'rmse (mean ± sd, lower is better)'
    """
    import pandas as pd

    from ..ml import PValue, pvalue

    if path is not None and Path(path).suffix.lower() not in SUFFIXES:
        raise InputError(f"path must end in one of {SUFFIXES!r}, got {str(path)!r}")
    if not isinstance(digits, int) or isinstance(digits, bool) or not 0 <= digits <= 10:
        raise InputError(f"digits must be an integer from 0 to 10, got {digits!r}")
    if not isinstance(corrected, bool):
        raise InputError(f"corrected must be True or False, got {corrected!r}")
    selected = {"task_id": task_id, "test.subset": test_subset, "algorithm": algorithm,
                "resampling_id": resampling_id}
    if downsample:
        if not isinstance(pv_or_scores, pd.DataFrame):
            raise InputError(
                "pv_or_scores must be a scores DataFrame for downsample=True (the "
                f"down-sampled rows are needed), got {type(pv_or_scores).__name__}"
            )
        panels = _downsample_panels(pv_or_scores, measure, selected, corrected)
    else:
        pv = pv_or_scores if isinstance(pv_or_scores, PValue) else pvalue(pv_or_scores, measure, corrected=corrected)
        if corrected and "p_corrected" not in pv.comparisons.columns:
            raise InputError("pv_or_scores must have p_corrected for corrected=True, got a PValue computed without "
                             "it; pass pvalue(scores, corrected=True), or the scores table")
        panels = _grid_panels(pv, selected)
    fig = _draw(panels, digits, share_x=downsample, p_column="p_corrected" if corrected else "p_paired")
    if path is not None:
        fig.savefig(path, dpi=150)
    return fig


# A panel: (row label, column label, measure, stats rows, comparison rows)
Panel = tuple[str, str, str, "pd.DataFrame", "pd.DataFrame"]


def _select(df: pd.DataFrame, selected: dict[str, Any]) -> pd.DataFrame:
    for col, value in selected.items():
        if value is not None:
            if col not in df.columns:  # resampling_id, for a table without that column
                arg = col.replace(".", "_")
                raise InputError(f"{arg} selects panels by the column {col!r}, which the scores do not have; "
                                 f"got {arg}={value!r}: leave it out")
            df = df[df[col] == value]
    return df


def _resamplings(df: pd.DataFrame) -> list[Any]:
    """The resampling ids of a table, sorted (job order varies); ``[None]`` when it names none."""
    if "resampling_id" not in df.columns or df["resampling_id"].isna().all():
        return [None]
    return sorted(set(df["resampling_id"].dropna()), key=str)


def _grid_panels(pv: PValue, selected: dict[str, Any]) -> list[list[Panel]]:
    stats = _select(pv.stats, selected)
    comps = _select(pv.comparisons, selected)
    if len(stats) == 0:
        raise InputError(
            "task_id, test_subset and algorithm must select at least one panel, got "
            + ", ".join(f"{k}={v!r}" for k, v in selected.items() if v is not None)
        )
    columns = list(dict.fromkeys(zip(stats["task_id"], stats["test.subset"])))
    resamplings = _resamplings(stats)
    several = len(resamplings) > 1
    grid = []
    for rid in resamplings:
        for alg in dict.fromkeys(stats["algorithm"]):
            row = []
            for task, sub in columns:
                def keep(df: pd.DataFrame) -> pd.DataFrame:
                    mask = (df["algorithm"] == alg) & (df["task_id"] == task) & (df["test.subset"] == sub)
                    if rid is not None:
                        mask &= df["resampling_id"] == rid
                    return df[mask]
                title = f"task_id: {task}\ntest.subset: {sub}"
                if several:
                    title = f"resampling_id: {rid}\n{title}"
                row.append((f"algorithm: {alg}", title, pv.measure, keep(stats), keep(comps)))
            grid.append(row)
    return grid


def _downsample_panels(
    scores: pd.DataFrame, measure: str | None, selected: dict[str, Any], corrected: bool = False
) -> list[list[Panel]]:
    from ..ml import check_scores, pvalue

    df, measure = check_scores(scores, measure)
    for need in ("groups", "n.train.groups"):
        if need not in df.columns:
            raise InputError(f"scores must have column {need!r} for downsample=True, got none")
    several = len(_resamplings(df)) > 1
    if _resamplings(df) == [None]:
        _select(df, {"resampling_id": selected.pop("resampling_id")})  # refuses one given without the column
    for col, value in list(selected.items()):
        values = list(dict.fromkeys(df[col]))
        if value is None:
            if len(values) != 1:
                arg = col.replace(".", "_")
                raise InputError(
                    f"{arg} must be given for downsample=True when scores has several, "
                    f"got None; choose one of {values!r}"
                )
            selected[col] = values[0]
        elif value not in values:
            raise InputError(f"{col.replace('.', '_')} must be one of {values!r}, got {value!r}")
    df = _select(df, selected)
    smallest = int(df["groups"].min())
    small = df[df["n.train.groups"] == smallest]
    if not ((small["train.subsets"] == "same").any()
            and small["train.subsets"].isin(["all", "other"]).any()
            and (df["n.train.groups"] < df["groups"]).any()):
        raise InputError(
            f"scores must have down-sampled rows at the smallest size ({smallest} groups) "
            "for 'same' and 'other' or 'all', got none; run SOAK(sizes=0) or more"
        )
    full = pvalue(df, measure, corrected=corrected)
    down = pvalue(df, measure, n_train_groups=smallest, corrected=corrected)
    sizes = df.drop_duplicates("train.subsets").set_index("train.subsets")["groups"]
    full_title = "full size: " + ", ".join(
        f"{ts} {sizes[ts]}" for ts in ("same", "other", "all") if ts in sizes) + " groups"
    label = (f"algorithm: {selected['algorithm']}\ntask_id: {selected['task_id']}, "
             f"test.subset: {selected['test.subset']}")
    if several:
        label = f"resampling_id: {selected['resampling_id']}, {label}"
    return [[
        (label, full_title, measure, full.stats, full.comparisons),
        (label, f"down-sampled: {smallest} train groups", measure,
         down.stats, down.comparisons),
    ]]


def _fmt_p(p: float, p_column: str = "p_paired") -> str:
    prefix = "corrected P" if p_column == "p_corrected" else "P"
    if math.isnan(p):
        return f"{prefix} = NA"
    return f"{prefix} < 0.0001" if p < 0.0001 else f"{prefix} = {p:.4f}"


def _limits(stats: pd.DataFrame) -> tuple[float, float]:
    """x range covering every mean ± sd, with a margin."""
    if len(stats) == 0:  # a resampling without this (task, test subset): an empty panel
        return 0.0, 1.0
    sd = stats["sd"].fillna(0.0)
    lo, hi = float((stats["mean"] - sd).min()), float((stats["mean"] + sd).max())
    span = hi - lo if hi > lo else max(abs(hi), 1.0) * 0.1
    return lo - 0.06 * span, hi + 0.06 * span


def _draw(grid: list[list[Panel]], digits: int, *, share_x: bool = False, p_column: str = "p_paired") -> Figure:
    from matplotlib.figure import Figure

    present = set()
    for row in grid:
        for _, _, _, stats, comps in row:
            present |= set(stats["train.subsets"]) | set(comps["comparison"])
    levels = [lev for lev in LEVELS if lev in present]
    n_rows, n_cols = len(grid), len(grid[0])
    fig = Figure(
        figsize=(1.2 + 3.6 * n_cols, 0.5 + (0.45 * len(levels) + 0.9) * n_rows),
        layout="constrained",
    )
    axes = fig.subplots(n_rows, n_cols, sharey=True, squeeze=False)
    for i, row in enumerate(grid):
        limits = [_limits(panel[3]) for panel in row]
        if share_x:  # side by side views of one model: same scale to compare
            limits = [(min(a for a, _ in limits), max(b for _, b in limits))] * len(row)
        for j, (row_label, col_label, measure, stats, comps) in enumerate(row):
            ax = axes[i][j]
            _draw_panel(ax, stats, comps, levels, digits, limits[j], p_column)
            if i == 0 or col_label != grid[i - 1][j][1]:  # the top of each block (one per resampling)
                ax.set_title(col_label, fontsize=9)
            if len(stats) == 0:
                ax.text(0.5, 0.5, "no rows", transform=ax.transAxes, ha="center", va="center",
                        fontsize=8, color=P_COLOR)
            if i == n_rows - 1:
                from ..ml import direction_note

                note = direction_note(measure)
                ax.set_xlabel(f"{measure} (mean ± sd{', ' + note if note else ''})")
            if j == 0:
                ax.set_ylabel("Train subsets")
            if j == n_cols - 1:
                ax.annotate(row_label, xy=(1.02, 0.5), xycoords="axes fraction",
                            rotation=270, va="center", ha="left", fontsize=9)
    axes[0][0].set_yticks(range(len(levels)), levels)
    axes[0][0].set_ylim(-0.6, len(levels) - 0.1)
    return fig


def _draw_panel(ax: Axes, stats: pd.DataFrame, comps: pd.DataFrame,
                levels: list[str], digits: int, limits: tuple[float, float], p_column: str = "p_paired") -> None:
    lo, hi = limits
    sd = stats["sd"].fillna(0.0).to_numpy()
    ax.set_xlim(lo, hi)
    ax.grid(axis="x", color="0.9", linewidth=0.8)
    ax.set_axisbelow(True)

    def place(x_min: float, x_max: float) -> tuple[float, str]:
        """Anchor a label so it stays inside the panel: left, centre or right."""
        third = (hi - lo) / 3
        if x_max < lo + third:
            return x_min, "left"
        if x_min > hi - third:
            return x_max, "right"
        return (x_min + x_max) / 2, "center"

    for (_, r), s in zip(stats.iterrows(), sd):
        y = levels.index(r["train.subsets"])
        ax.plot([r["mean"] - s, r["mean"] + s], [y, y], color="black", linewidth=2.2,
                solid_capstyle="butt")
        ax.plot([r["mean"]], [y], marker="o", markersize=6, color="black",
                markerfacecolor="white", zorder=3)
        x, ha = place(r["mean"], r["mean"])
        ax.annotate(f"{r['mean']:.{digits}f} ± {s:.{digits}f}", (x, y), xytext=(0, 5),
                    textcoords="offset points", ha=ha, va="bottom", fontsize=8)
    for _, r in comps.iterrows():
        y = levels.index(r["comparison"])
        a, b = sorted([r["same_mean"], r["compare_mean"]])
        ax.plot([a, b], [y, y], color=P_COLOR, linewidth=1.5)
        ax.plot([a, b], [y, y], linestyle="none", marker="|", markersize=7, color=P_COLOR)
        x, ha = place(a, b)
        ax.annotate(_fmt_p(r[p_column], p_column), (x, y), xytext=(0, 5), textcoords="offset points",
                    ha=ha, va="bottom", fontsize=8, color=P_COLOR)
