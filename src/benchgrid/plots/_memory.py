"""Memory per job: the observed peak beside the job's time, and against the expected memory when given.

Examples
--------
>>> import pandas as pd
>>> r = pd.DataFrame({"duration_s": [1.0, 2.0, 30.0], "peak_mem_mb": [200.0, 250.0, 3000.0],
...                   "mem_gb": [0.1, 0.1, 4.0], "learner_id": ["a", "a", "b"]})
>>> fig = plot_memory(r, expected_key="mem_gb")
>>> len(fig.axes)
2
"""

from __future__ import annotations

from typing import Any

from .._errors import InputError

__all__ = ["plot_memory"]


def plot_memory(results: Any, expected_key: str | None = None, color_by: str | None = "learner_id") -> Any:
    """Draw each job's peak memory (GB) against its duration, and against its expected memory.

    Parameters
    ----------
    results : DataFrame
        ``Project.results()``: needs ``peak_mem_mb`` (recorded by the ML
        runner, or returned by a generic runner) and ``duration_s``.
    expected_key : str, optional
        The column of expected GB (the project's ``memory_key``): adds a
        second panel, observed against expected, with the line where they
        are equal; points above it used more than expected.
    color_by : str, optional
        A column whose values get one colour each (default ``learner_id``, when present).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if "peak_mem_mb" not in results or results["peak_mem_mb"].notna().sum() == 0:
        raise InputError("no job has a peak_mem_mb value yet: the ML runner records it; a generic runner may return it")
    done = results.dropna(subset=["peak_mem_mb"])
    with_expected = expected_key is not None and expected_key in done and done[expected_key].notna().any()
    fig, axes = plt.subplots(1, 2 if with_expected else 1, figsize=(9.5 if with_expected else 5.5, 4), squeeze=False)
    groups = [(None, done)]
    if color_by and color_by in done:
        groups = list(done.groupby(color_by, sort=True))
    peak = "peak_mem_mb"
    ax = axes[0][0]
    for name, g in groups:
        ax.scatter(g["duration_s"], g[peak] / 1024, s=14, alpha=0.75, label=None if name is None else str(name))
    ax.set_ylim(bottom=0)  # from zero: the spread is read against the whole size
    ax.set_xlabel("duration (s)")
    ax.set_ylabel("observed peak memory (GB)")
    ax.set_title("memory and time per job")
    if with_expected:
        ax2 = axes[0][1]
        for name, g in groups:
            ax2.scatter(g[expected_key], g[peak] / 1024, s=14, alpha=0.75, label=None if name is None else str(name))
        hi = float(max(done[expected_key].max(), (done[peak] / 1024).max())) * 1.1
        ax2.plot([0, hi], [0, hi], color="grey", linewidth=1, linestyle="--", label="observed = expected")
        ax2.set_xlim(0, hi)
        ax2.set_ylim(0, hi)
        ax2.set_xlabel(f"expected memory, {expected_key} (GB)")
        ax2.set_ylabel("observed peak memory (GB)")
        ax2.set_title("observed against expected")
        ax2.legend(fontsize=8, loc="upper left")
    elif groups[0][0] is not None:
        ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig
