"""The critical-difference diagram of a comparison, in Demšar's (2006) layout.

An axis of mean ranks (1, the best, on the left); each learner hangs from its
mean rank to its name, the better half to the left, the other half to the
right; a thick bar joins learners that are not significantly different
(Nemenyi: mean ranks less than the critical difference apart, which the bar
above the axis shows; or Holm-corrected Wilcoxon tests). matplotlib is
imported inside the function and the figure is built with
:class:`matplotlib.figure.Figure` (no pyplot state; Agg renders).
"""

from __future__ import annotations

import math
import os
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

from .._errors import InputError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..ml import Comparison

__all__ = ["plot_cd"]

SUFFIXES = (".png", ".svg", ".pdf")
TESTS = ("nemenyi", "wilcoxon")


def plot_cd(comparison: Comparison, *, test: str = "nemenyi", path: str | os.PathLike[str] | None = None) -> Figure:
    """Draw a critical-difference diagram of a :func:`benchgrid.compare` result.

    Parameters
    ----------
    comparison : Comparison
        From :func:`benchgrid.compare` (2 or more learners on 2 or more ranked tasks).
    test : {"nemenyi", "wilcoxon"}, default="nemenyi"
        What joins learners: Nemenyi's critical difference (Demšar), or
        Wilcoxon signed-rank tests with Holm's correction (Benavoli et al.
        2016); the CD bar is drawn for "nemenyi" only.
    path : str or Path, optional
        Save the figure there (.png, .svg or .pdf).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import pandas as pd
    >>> import benchgrid as bg
    >>> acc = {"t1": (0.7, 0.8, 0.9), "t2": (0.6, 0.9, 0.8), "t3": (0.5, 0.7, 0.8)}
    >>> rows = [{"task_id": t, "learner_id": lrn, "iteration": f, "accuracy": v + f / 100}
    ...         for t, vals in acc.items() for lrn, v in zip(["dummy", "tree", "forest"], vals)
    ...         for f in (1, 2, 3)]
    >>> fig = bg.plot_cd(bg.compare(pd.DataFrame(rows), "accuracy"))
    >>> sorted(t.get_text() for t in fig.axes[0].texts if t.get_text().endswith(")") and "rank" not in t.get_text())
    ['dummy (3.00)', 'forest (1.33)', 'tree (1.67)']
    """
    from matplotlib.figure import Figure

    from ..ml import Comparison

    if not isinstance(comparison, Comparison):
        raise InputError(f"comparison must be a benchgrid.compare() result, got {type(comparison).__name__}")
    if test not in TESTS:
        raise InputError(f"test must be one of {TESTS!r}, got {test!r}")
    if path is not None and Path(path).suffix.lower() not in SUFFIXES:
        raise InputError(f"path must end in one of {SUFFIXES!r}, got {str(path)!r}")
    if comparison.nemenyi is None:
        why = "; ".join(n for n in comparison.notes if "nothing is tested" in n) or "too few learners or tasks"
        fix = ("; wait for the missing jobs (or retry them), or rank on the folds every learner has "
               "(incomplete='common', benchgrid compare --incomplete common)" if comparison.not_ranked else "")
        raise InputError(f"a critical-difference diagram needs 2 or more learners ranked on 2 or more tasks: {why}{fix}")

    ranks = comparison.mean_ranks
    names = [str(x) for x in ranks.index]
    k = len(names)
    groups = comparison.cliques(test)
    half = math.ceil(k / 2)
    label_chars = max(len(f"{n} ({r:.2f})") for n, r in zip(names, ranks))
    label_in = 0.12 + 0.068 * label_chars  # room for the names either side, in inches
    width_in = max(6.0, 2 * label_in + 0.5 * (k + 1))
    step = 0.32  # one learner's line below the next, in axis units (inches)
    bars_h = 0.16 * len(groups)
    top = 0.75 if test == "nemenyi" else 0.45  # CD bar and tick labels above the axis
    height_in = top + 0.5 + bars_h + step * (max(half, k - half) - 1) + 0.7
    fig = Figure(figsize=(width_in, height_in))
    ax = fig.add_axes((label_in / width_in, 0.0, 1 - 2 * label_in / width_in, 1.0))
    ax.set_axis_off()
    lo, hi = 1.0, float(k)
    ext = 0.15 + 0.05 * k
    ax.set_xlim(lo - ext, hi + ext)
    ax.set_ylim(height_in - top, -top)  # y grows downwards, in inches from the axis line

    # the axis of mean ranks
    ax.plot([lo, hi], [0, 0], color="black", linewidth=1)
    for i in range(1, k + 1):
        ax.plot([i, i], [0, -0.1], color="black", linewidth=1)
        ax.text(i, -0.14, str(i), ha="center", va="bottom", fontsize=9)
        if i < k:
            ax.plot([i + 0.5, i + 0.5], [0, -0.05], color="black", linewidth=0.7)
    if test == "nemenyi":
        cd = comparison.nemenyi.cd
        y = -0.5
        ax.plot([lo, lo + cd], [y, y], color="black", linewidth=1.2)
        for x in (lo, lo + cd):
            ax.plot([x, x], [y - 0.05, y + 0.05], color="black", linewidth=1.2)
        ax.text(lo + cd / 2, y - 0.06, f"CD = {cd:.2f}", ha="center", va="bottom", fontsize=9)

    # bars joining learners not significantly different
    for g, members in enumerate(groups):
        y = 0.2 + 0.16 * g
        a, b = float(ranks[members[0]]), float(ranks[members[-1]])
        ax.plot([a - 0.03, b + 0.03], [y, y], color="black", linewidth=3.2, solid_capstyle="round")

    # each learner: down from its rank, then out to its name
    y0 = 0.2 + bars_h + 0.3
    for i, (name, r) in enumerate(zip(names, ranks)):
        left = i < half
        y = y0 + step * (i if left else k - 1 - i)
        x_end = lo - ext if left else hi + ext
        ax.plot([r, r, x_end], [0, y, y], color="0.25", linewidth=1)
        ax.text(x_end + (-0.04 if left else 0.04), y, f"{name} ({r:.2f})", ha="right" if left else "left",
                va="center", fontsize=9, clip_on=False)

    from ..ml import direction_note

    joined = ("Nemenyi" if test == "nemenyi" else "Wilcoxon-Holm") + f", alpha = {comparison.alpha:g}"
    note = direction_note(comparison.measure, {comparison.measure: comparison.greater_is_better})
    caption = (f"mean rank over {len(comparison.tasks)} tasks (rank 1: the best {comparison.measure}"
               f"{', ' + note if note else ''}); bars join learners not significantly different ({joined})")
    lines = textwrap.wrap(caption, width=int(width_in * 13))  # about 14 characters an inch at 7.5 pt: a margin
    fig.text(0.5, 0.1 / height_in, "\n".join(lines), ha="center", va="bottom", fontsize=7.5, color="0.35")
    if path is not None:
        fig.savefig(path, dpi=150)
    return fig
