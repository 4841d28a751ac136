"""Worker timelines (a Gantt chart): how well the jobs were spread over the workers.

One row per worker (host and pid), one bar per job from its start to its end
with a mark at its start, x in seconds since the run's first start. Each row
lies on a light grey band that spans the whole run, so a worker's idle gaps
and the tail (workers done while the last one still runs) show as grey. A
caption gives the makespan, the lower bound ``max(total / W, longest job)``
(W: the most workers active at once) and their ratio, over the time some
worker was active: 1.0 is a perfect spread.

Several runs (projects or result tables: a laptop, two clusters) give one
panel per run on a shared time axis, so they can be compared at a glance.

matplotlib is imported inside the functions and figures are built with
:class:`matplotlib.figure.Figure` directly (no pyplot state; Agg renders).
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence, Union

from .._errors import InputError

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ..api import Project

__all__ = ["plot_timeline", "timeline_segments", "timeline_summary", "split_runs", "epoch_s"]

SUFFIXES = (".png", ".svg", ".pdf")
STATE_COLORS = {
    "done": "#4477AA",
    "error": "#CC3311",
    "handed back": "#EE7733",
    "running": "#009988",
}
STATE_HATCH = {"error": "////", "handed back": "xxx", "running": "..."}
IDLE_COLOR = "#ebebeb"
ALLOCATION_EDGE = "0.35"  # a pool's allocation: its span outlined, so ends and starts show
BAR_HEIGHT = 0.72

Run = Union["Project", "pd.DataFrame", str, "os.PathLike[str]"]


# -- data ---------------------------------------------------------------------------
def timeline_segments(proj_or_results: Run) -> pd.DataFrame:
    """The pieces of work a timeline draws, one row per (job, attempt) a worker ran.

    From a project: finished jobs (done or error), jobs handed back (read from
    each worker's ``events.log``) and jobs running now (from the leases). From
    a results table (``proj.results()`` or ``proj.scores()``, possibly read
    back from CSV): its rows that have a start time.

    Returns
    -------
    pandas.DataFrame
        ``worker, label, job_id, start, end, state`` (times in epoch seconds;
        ``label`` is "host pid"), then the job's other columns.

    Examples
    --------
    >>> import pandas as pd
    >>> res = pd.DataFrame({"job_id": [0, 1], "worker": ["w1", "w1"], "host": "n1",
    ...                     "pid": 7, "started_at": [10.0, 12.0], "ended_at": [12.0, 13.5],
    ...                     "state": "done"})
    >>> timeline_segments(res)[["label", "start", "end", "state"]].values.tolist()
    [['n1 7', 10.0, 12.0, 'done'], ['n1 7', 12.0, 13.5, 'done']]
    """
    import pandas as pd

    results, root = _as_results(proj_or_results)
    for col in ("started_at", "ended_at"):
        if col not in results.columns:
            raise InputError(
                f"results must have column {col!r} (as proj.results() has), got columns "
                f"{list(results.columns)!r}"
            )
    finished = results[results["started_at"].notna() & results["ended_at"].notna()].copy()
    finished["start"] = epoch_s(finished["started_at"])
    finished["end"] = epoch_s(finished["ended_at"])
    if "state" not in finished.columns:
        finished["state"] = "done"
    parts = [finished]
    if root is not None:
        parts += _handbacks_and_running(root, results)
    seg = pd.concat(parts, ignore_index=True) if len(parts) > 1 else finished
    if "worker" not in seg.columns:
        seg["worker"] = _host_pid(seg)
    seg["worker"] = seg["worker"].where(seg["worker"].notna(), "unknown").astype(str)
    seg["label"] = _host_pid(seg).where(lambda s: s != "", seg["worker"])
    # two workers with one host and pid (in-process debug runs) stay apart
    dup = seg.groupby("label")["worker"].transform("nunique") > 1
    seg.loc[dup, "label"] = seg.loc[dup, "label"] + " " + seg.loc[dup, "worker"]
    front = ["worker", "label", "job_id", "start", "end", "state"]
    seg = seg[[c for c in front if c in seg.columns] + [c for c in seg.columns if c not in front]]
    return seg.sort_values(["start", "end"], kind="stable").reset_index(drop=True)


def epoch_s(values: pd.Series) -> pd.Series:
    """Times as float epoch seconds, from seconds, datetimes or their text (a CSV).

    ``proj.results()`` gives UTC datetimes; tables written to CSV give text.

    Examples
    --------
    >>> import pandas as pd
    >>> epoch_s(pd.Series(pd.to_datetime([1.5, None], unit="s", utc=True))).tolist()
    [1.5, nan]
    >>> epoch_s(pd.Series(["1970-01-01 00:00:02+00:00"])).tolist(), epoch_s(pd.Series([3])).tolist()
    ([2.0], [3.0])
    """
    import pandas as pd

    if values.dtype.kind in "iufb":
        return values.astype(float)
    if values.dtype.kind == "O":
        numeric = pd.to_numeric(values, errors="coerce")
        if numeric.notna().sum() == values.notna().sum():  # floats (and None) in an object column
            return numeric.astype(float)
    t = pd.to_datetime(values, utc=True, format="mixed") if values.dtype.kind == "O" \
        else pd.to_datetime(values, utc=True)
    out = (t - pd.Timestamp(0, tz="UTC")).dt.total_seconds()
    return out.astype(float)


def split_runs(segments: pd.DataFrame, gap_s: float = 300.0) -> pd.Series:
    """Run number (1, 2, ...) of each segment: workers active at overlapping times.

    A run is a set of workers whose active spans (first start to last end)
    overlap, directly or through others, or follow each other within
    ``gap_s`` seconds (a worker restarted, an array task that waited in the
    queue); a project run, extended and run again a day later has two runs,
    each with its own makespan.

    Examples
    --------
    >>> import pandas as pd
    >>> seg = pd.DataFrame({"worker": ["a", "b", "a", "c"], "start": [0.0, 1.0, 2.0, 1000.0],
    ...                     "end": [2.0, 3.0, 4.0, 1001.0]})
    >>> split_runs(seg).tolist()
    [1, 1, 1, 2]
    """
    import pandas as pd

    if len(segments) == 0:
        return pd.Series([], dtype=int, index=segments.index)
    span = segments.groupby("worker").agg(start=("start", "min"), end=("end", "max"))
    span = span.sort_values("start", kind="stable")
    run_of: dict[Any, int] = {}
    run, reach = 0, -math.inf
    for worker, row in span.iterrows():
        if row["start"] > reach + gap_s:  # no worker active for gap_s: a new run
            run += 1
        reach = max(reach, float(row["end"]))
        run_of[worker] = run
    return segments["worker"].map(run_of).astype(int)


def _as_results(obj: Any) -> tuple[pd.DataFrame, Path | None]:
    import pandas as pd

    from ..api import Project

    if isinstance(obj, (str, os.PathLike)):
        obj = Project.open(obj)
    if isinstance(obj, Project):
        return obj.results(), obj.path
    if isinstance(obj, pd.DataFrame):
        return obj, None
    raise InputError(
        "proj_or_results must be a Project, a project directory or a results DataFrame "
        f"(or a list or dict of them), got {type(obj).__name__}"
    )


def _host_pid(df: pd.DataFrame) -> pd.Series:
    import pandas as pd

    if "host" not in df.columns or "pid" not in df.columns:
        return pd.Series("", index=df.index)
    ok = df["host"].notna() & df["pid"].notna()
    pid = pd.to_numeric(df["pid"], errors="coerce").astype("Int64").astype(str)
    return (df["host"].astype(str) + " " + pid).where(ok, "")


def _handbacks_and_running(root: Path, results: pd.DataFrame) -> list[pd.DataFrame]:
    """Handed-back attempts from the workers' event logs, and jobs running now."""
    import pandas as pd

    from ..store import handbacks_of
    from ..store import is_dead, list_leases

    params = results.drop(
        columns=[c for c in ("state", "attempt", "worker", "host", "pid", "claimed_at", "started_at",
                             "ended_at", "duration_s", "error") if c in results.columns]
    ).set_index("job_id", drop=False) if "job_id" in results.columns else None
    rows: list[dict[str, Any]] = []
    now = time.time()
    leases = list_leases(root)
    handbacks = handbacks_of(root, list(leases))
    for wid, lease in leases.items():
        who = {"worker": wid, "host": lease.get("host"), "pid": lease.get("pid")}
        for r in handbacks[wid]:
            t0 = r.get("t0")
            if t0 is not None:
                rows.append({**who, "job_id": r["job"], "attempt": r.get("a"), "start": float(t0),
                             "end": float(r["t1"]), "state": "handed back", "error": r.get("why")})
        current = lease.get("current")
        if (current and lease.get("state") == "running" and not lease.get("revoked")
                and not is_dead(lease, now)):
            job, attempt, started = current[0], current[1], current[2]
            rows.append({**who, "job_id": job, "attempt": attempt, "start": float(started),
                         "end": now, "state": "running"})
    if not rows:
        return []
    extra = pd.DataFrame(rows)
    if params is not None:
        known = extra["job_id"].isin(params.index)
        cols = [c for c in params.columns if c != "job_id"]
        extra.loc[known, cols] = params.loc[extra.loc[known, "job_id"], cols].to_numpy()
    return [extra]


def pool_allocations(run: Any) -> pd.DataFrame | None:
    """The ended allocations of a project's self-sustaining pools (issue 21), or None (no pool, or a table).

    One row per allocation: ``worker`` (its worker id), ``task`` (the
    scheduler's id), ``start`` and ``end`` (epoch s, from the pool ledgers:
    the worker's process start to its decision).

    Examples
    --------
    >>> import pandas as pd
    >>> pool_allocations(pd.DataFrame()) is None
    True
    """
    import pandas as pd

    from ..api import Project
    from ..store import PoolLedger, pool_names

    root = Path(run.path) if isinstance(run, Project) else Path(run) if isinstance(run, (str, os.PathLike)) else None
    if root is None or not pool_names(root):
        return None
    states = [PoolLedger(root, name).read() for name in pool_names(root)]
    rows = [{"worker": worker or f"allocation {task}", "task": task, "start": start, "end": end}
            for state in states for task, start, end, worker in state.allocations()]
    out = pd.DataFrame(rows, columns=["worker", "task", "start", "end"])
    out.attrs["n_workers"] = sum(state.n_workers for state in states)  # W: allocations live at once, at most
    return out


def _panel_allocations(allocations: pd.DataFrame, seg: pd.DataFrame, gap_s: float = 300.0) -> pd.DataFrame:
    """The allocations of one panel: its workers', and those that ran no job within its span."""
    inside = allocations["worker"].isin(seg["worker"])
    near = (allocations["start"] <= float(seg["end"].max()) + gap_s) & \
        (allocations["end"] >= float(seg["start"].min()) - gap_s)
    out = allocations[inside | (near & ~allocations["worker"].isin(seg["worker"]))].reset_index(drop=True)
    out.attrs = dict(allocations.attrs)
    return out


def timeline_summary(segments: pd.DataFrame, n_workers: int | None = None) -> dict[str, float]:
    """Makespan, lower bound and their ratio for one run's segments.

    ``total_s`` sums every segment (work handed back was work done too),
    ``n_workers`` is the most workers active at once unless given (a pool's W:
    its rows are allocations, at most W at once); a worker is active from
    its first start to its last end (one that replaced another, or the
    workers of a run started again a minute later, are not more workers),
    ``active_s`` the time at least one worker was active (the makespan less
    the gaps when none was), and ``lower_bound_s`` is
    ``max(total_s / n_workers, longest_s)``: no schedule of these jobs on
    these workers can finish sooner. ``ratio`` is ``active_s / lower_bound_s``.

    Examples
    --------
    >>> import pandas as pd
    >>> seg = pd.DataFrame({"worker": ["a", "a", "b"], "start": [0.0, 2.0, 0.0],
    ...                     "end": [2.0, 3.0, 1.0]})
    >>> timeline_summary(seg)
    {'makespan_s': 3.0, 'active_s': 3.0, 'total_s': 4.0, 'n_workers': 2, 'longest_s': 2.0, 'lower_bound_s': 2.0, 'ratio': 1.5}
    >>> runs = pd.DataFrame({"worker": ["a", "b", "c", "d"], "start": [0.0, 0.0, 10.0, 10.0],
    ...                      "end": [1.0, 1.0, 11.0, 11.0]})   # two runs of 2 workers, 9 s apart
    >>> {k: timeline_summary(runs)[k] for k in ("makespan_s", "active_s", "n_workers", "ratio")}
    {'makespan_s': 11.0, 'active_s': 2.0, 'n_workers': 2, 'ratio': 1.0}
    """
    dur = segments["end"] - segments["start"]
    makespan = float(segments["end"].max() - segments["start"].min())
    total = float(dur.sum())
    span = segments.groupby("worker").agg(start=("start", "min"), end=("end", "max"))
    # a sweep over the workers' spans: the most active at once, and the time none was
    events = sorted([(float(t), 1) for t in span["start"]] + [(float(t), -1) for t in span["end"]],
                    key=lambda e: (e[0], e[1]))  # an end before a start at the same time: a replacement
    most, active, idle, last_end = 0, 0, 0.0, float(segments["start"].min())
    for t, step in events:
        if active == 0 and step == 1 and t > last_end:
            idle += t - last_end
        active += step
        most = max(most, active)
        if active == 0:
            last_end = t
    active_s = makespan - idle
    n_workers = int(n_workers or most)
    longest = float(dur.max())
    bound = max(total / max(n_workers, 1), longest)
    return {
        "makespan_s": makespan,
        "active_s": active_s,
        "total_s": total,
        "n_workers": n_workers,
        "longest_s": longest,
        "lower_bound_s": bound,
        "ratio": active_s / bound if bound > 0 else float("nan"),
    }


def plot_timeline(
    proj_or_results: Run | Sequence[Run] | Mapping[str, Run],
    *,
    color_by: str = "learner",
    share_x: bool = True,
    title: str | None = None,
    path: str | os.PathLike[str] | None = None,
) -> Figure:
    """Plot the timeline of jobs per worker: one row per worker, one panel per run.

    A project run several times (extended, then run again later) gives one
    panel per run (see :func:`split_runs`), each with its own makespan.

    Each job is a bar from its start to its end with a dark mark at its
    start (so back-to-back and very short jobs stay visible). Rows lie on a
    grey band spanning the run: grey is idle time. A dashed line marks the
    lower bound ``max(total / W, longest job)``, a solid one the makespan; the
    panel's caption gives both and their ratio.

    Parameters
    ----------
    proj_or_results : Project, path, DataFrame, or a list or dict of them
        A project (or its directory), or a results table (``proj.results()``,
        ``proj.scores()`` or a CSV of one). A list or a dict ``{name: run}``
        gives one panel per run, named by its key (or its directory).
    color_by : {"learner", "state"} or a column name, default="learner"
        "learner" colours by ``learner_id`` (tables without one, from generic
        projects, are coloured by state); errored and handed-back jobs are
        then hatched. "state" colours done, error, handed back and running.
    share_x : bool, default=True
        One time scale for every panel, so runs compare by length.
    title : str, optional
        A title above the panels.
    path : str or Path, optional
        Save the figure there; the format follows the suffix (.png, .svg, .pdf).

    Returns
    -------
    matplotlib.figure.Figure
        One axes per run; its y tick labels are the workers.

    Examples
    --------
    >>> import pandas as pd
    >>> from benchgrid import plot_timeline
    >>> res = pd.DataFrame({"job_id": range(4), "learner_id": ["a", "b", "a", "b"],
    ...                     "worker": ["w1", "w2", "w1", "w2"], "host": "node1",
    ...                     "pid": [11, 12, 11, 12], "started_at": [0.0, 0.0, 2.0, 1.0],
    ...                     "ended_at": [2.0, 1.0, 3.0, 4.0], "state": "done"})
    >>> fig = plot_timeline({"laptop": res, "cluster": res})
    >>> len(fig.axes), [t.get_text() for t in fig.axes[0].get_yticklabels()]
    (2, ['node1 11', 'node1 12'])
    """
    if path is not None and Path(path).suffix.lower() not in SUFFIXES:
        raise InputError(f"path must end in one of {SUFFIXES!r}, got {str(path)!r}")
    if not isinstance(color_by, str):
        raise InputError(f"color_by must be 'learner', 'state' or a column name, got {color_by!r}")
    runs = _named_runs(proj_or_results)
    panels = []
    bands: dict[str, pd.DataFrame] = {}
    for name, run in runs:
        seg = timeline_segments(run)
        allocations = pool_allocations(run)
        if len(seg) == 0:
            where = f"run {name!r}" if name else "the project"
            raise InputError(f"{where} has no started jobs to draw; run it first (benchgrid run DIR)")
        run_no = split_runs(seg)
        n_runs = int(run_no.max())
        for k in range(1, n_runs + 1):  # a project run again later: one panel per run
            label = name if n_runs == 1 else (f"{name} · run {k}" if name else f"run {k}")
            panels.append((label, seg[run_no == k].reset_index(drop=True)))
            if allocations is not None:
                bands[label] = _panel_allocations(allocations, panels[-1][1])
    key = _color_column(color_by, [seg for _, seg in panels])
    if key == "state":
        categories = [s for s in STATE_COLORS if any((seg["state"] == s).any() for _, seg in panels)]
    else:
        categories = list(dict.fromkeys(v for _, seg in panels for v in seg[key].astype(str)))
    colors = _palette(categories, state=key == "state")
    fig = _draw(panels, key, colors, share_x=share_x, title=title, bands=bands)
    if path is not None:
        fig.savefig(path, dpi=150)
    return fig


def _named_runs(obj: Any) -> list[tuple[str, Any]]:
    import pandas as pd

    if isinstance(obj, Mapping):
        if not obj:
            raise InputError("proj_or_results must hold at least one run, got an empty dict")
        return [(str(k), v) for k, v in obj.items()]
    if isinstance(obj, (list, tuple)):
        if not obj:
            raise InputError("proj_or_results must hold at least one run, got an empty list")
        names = [_run_name(v, i) for i, v in enumerate(obj)]
        if len(set(names)) < len(names):
            names = [f"{n} ({i + 1})" for i, n in enumerate(names)]
        return list(zip(names, obj))
    if isinstance(obj, pd.DataFrame):
        return [("", obj)]
    return [(_run_name(obj, 0), obj)]


def _run_name(obj: Any, i: int) -> str:
    import pandas as pd

    if isinstance(obj, pd.DataFrame):
        return f"run {i + 1}"
    p = Path(getattr(obj, "path", obj)) if isinstance(obj, (str, os.PathLike)) or hasattr(obj, "path") else None
    if p is None:
        return f"run {i + 1}"
    # `benchgrid demo X` and similar layouts keep the project in X/project
    return f"{p.parent.name}/{p.name}" if p.name == "project" and p.parent.name else p.name


def _color_column(color_by: str, segs: list[pd.DataFrame]) -> str:
    if color_by == "state":
        return "state"
    if color_by == "learner":
        return "learner_id" if all("learner_id" in s.columns and s["learner_id"].notna().any()
                                   for s in segs) else "state"
    if all(color_by in s.columns for s in segs):
        return color_by
    cols = sorted(set.intersection(*(set(map(str, s.columns)) for s in segs)))
    raise InputError(
        f"color_by must be 'learner', 'state' or a column of the results, got {color_by!r}; "
        f"columns are {cols!r}"
    )


def _palette(categories: list[str], *, state: bool) -> dict[str, Any]:
    if state:
        return {c: STATE_COLORS[c] for c in categories}
    from matplotlib import colormaps

    # no red or orange: they mark errors and hand-backs (hatch edges) in this mode
    base = [colormaps["tab10"](i) for i in (2, 0, 4, 9, 5, 6, 8, 7)]
    if len(categories) > len(base):
        base = [colormaps["tab20"](i) for i in range(20)]
    return {c: base[i % len(base)] for i, c in enumerate(categories)}


def fmt_duration(seconds: float) -> str:
    """A duration for a caption: ``"42.1 s"``, ``"12 min 5 s"``, ``"3 h 07 min"``.

    Examples
    --------
    >>> fmt_duration(0.0123), fmt_duration(42.14), fmt_duration(725), fmt_duration(11220)
    ('0.0123 s', '42.1 s', '12 min 05 s', '3 h 07 min')
    """
    if seconds < 1:
        return f"{seconds:.3g} s"
    if seconds < 600:
        return f"{seconds:.3g} s" if seconds < 100 else f"{seconds:.0f} s"
    minutes = int(round(seconds)) // 60
    if minutes < 120:
        return f"{minutes} min {int(round(seconds)) % 60:02d} s"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def _panel_height(n_rows: int) -> float:
    # 0.3 in per worker up to 24 workers, then thinner rows so 500 workers still fit
    return 1.15 + 0.3 * min(n_rows, 24) + 0.045 * max(n_rows - 24, 0)


def _draw(panels: list[tuple[str, pd.DataFrame]], key: str, colors: dict[str, Any], *,
          share_x: bool, title: str | None, bands: Mapping[str, pd.DataFrame] | None = None) -> Figure:
    from matplotlib.figure import Figure

    bands = bands or {}
    heights = [_panel_height(len(set(seg["worker"]) | set(bands[name]["worker"]) if name in bands
                                 else set(seg["worker"]))) for name, seg in panels]
    fig = Figure(figsize=(10.5, min(0.9 + sum(heights), 200.0)), layout="constrained")
    axes = fig.subplots(len(panels), 1, sharex=share_x, squeeze=False,
                        gridspec_kw={"height_ratios": heights})[:, 0]
    spans = []
    for i, (ax, (name, seg)) in enumerate(zip(axes, panels)):
        spans.append(_draw_panel(ax, name, seg, key, colors, bands.get(name)))
        if share_x and i < len(panels) - 1:
            ax.tick_params(labelbottom=False)
        else:
            ax.set_xlabel("seconds since the first start")
    if share_x:  # shared axes: the last set_xlim wins, so set the longest run's
        axes[0].set_xlim(min(min(ax.get_xlim()[0] for ax in axes), 0.0), max(max(spans), 1e-9) * 1.01)
    _legend(fig, panels, key, colors, allocations=any(len(b) for b in bands.values()))
    if title:
        fig.suptitle(title, fontsize=12)
    return fig


def _draw_panel(ax: Axes, name: str, seg: pd.DataFrame, key: str, colors: dict[str, Any],
                allocations: pd.DataFrame | None = None) -> float:
    """Draw one run (on its pool's allocations, when it has some); return its makespan."""
    import numpy as np
    import pandas as pd
    from matplotlib.collections import PolyCollection

    width = allocations.attrs.get("n_workers") if allocations is not None and len(allocations) else None
    summary = timeline_summary(seg, n_workers=width)
    t_first = float(seg["start"].min())
    if allocations is not None and len(allocations):  # allocations that ran no job get rows of their own
        seg = seg.copy()
        seg["label"] = seg["label"] + seg["worker"].map(dict(zip(allocations["worker"], " · " + allocations["task"])))\
            .fillna("")
        alone = allocations[~allocations["worker"].isin(seg["worker"])]
        rows = alone.assign(label=alone["task"] + " (no job)", state="none")[["worker", "label", "start", "end"]]
        all_rows = pd.concat([seg[["worker", "label", "start"]], rows[["worker", "label", "start"]]])
    else:
        all_rows = seg[["worker", "label", "start"]]
    x0 = (seg["start"] - t_first).to_numpy(float)
    # a job too short to see still gets a sliver (0.25 % of the run) next to its start mark
    x1 = np.maximum((seg["end"] - t_first).to_numpy(float), x0 + 0.0025 * float(seg["end"].max() - t_first))
    # rows in order of each worker's first start (ties by label), the first at the top
    labels = all_rows.drop_duplicates("worker").set_index("worker")["label"]
    first = all_rows.groupby("worker")["start"].min().to_frame().assign(label=labels)
    first = first.sort_values(["start", "label"], kind="stable")
    row_of = {w: i for i, w in enumerate(first.index)}
    y = seg["worker"].map(row_of).to_numpy(float)
    n_rows = len(row_of)
    makespan = summary["makespan_s"]

    banded = set() if allocations is None else set(allocations["worker"])
    plain = [row_of[w] for w in first.index if w not in banded]
    ax.barh(plain, makespan, left=0, height=BAR_HEIGHT + 0.12, color=IDLE_COLOR, linewidth=0, zorder=1)
    x_low = 0.0
    if banded and allocations is not None:  # an allocation's span: idle inside it is allocated and unused
        a = allocations[allocations["worker"].isin(row_of)]
        ax.barh(a["worker"].map(row_of).to_numpy(float), (a["end"] - a["start"]).to_numpy(float),
                left=(a["start"] - t_first).to_numpy(float), height=BAR_HEIGHT + 0.12, color=IDLE_COLOR,
                edgecolor=ALLOCATION_EDGE, linewidth=0.8, zorder=1)
        x_low = min(0.0, float(a["start"].min()) - t_first)
        makespan = max(makespan, float(a["end"].max()) - t_first)
    h = BAR_HEIGHT / 2
    values = seg[key].astype(str).to_numpy()
    states = seg["state"].astype(str).to_numpy()
    hatched = key != "state"
    for value in dict.fromkeys(values):
        for state in dict.fromkeys(states[values == value]):
            m = (values == value) & (states == state)
            verts = np.stack([
                np.column_stack([x0[m], y[m] - h]), np.column_stack([x0[m], y[m] + h]),
                np.column_stack([x1[m], y[m] + h]), np.column_stack([x1[m], y[m] - h]),
            ], axis=1)
            special = hatched and state in STATE_HATCH
            ax.add_collection(PolyCollection(
                list(verts), facecolors=colors[value], zorder=2,
                edgecolors=STATE_COLORS.get(state, "none") if special else "none",
                linewidths=0.9 if special else 0, hatch=STATE_HATCH[state] if special else None,
            ))
    # the start mark: a short dark tick, visible even for jobs too short to be a bar
    ax.scatter(x0, y, marker="|", s=(72 * 0.22) ** 2, linewidths=0.8, color="0.15", zorder=3)
    bound = summary["lower_bound_s"]
    ax.axvline(bound, color="0.25", linestyle=(0, (4, 3)), linewidth=1, zorder=4)
    ax.axvline(makespan, color="0.1", linewidth=1.2, zorder=4)

    ax.set_ylim(n_rows - 0.5, -0.5)
    ax.set_xlim(x_low, makespan * 1.01 if makespan > 0 else 1)
    step = max(1, math.ceil(n_rows / 40))
    ticks = list(range(0, n_rows, step))
    ax.set_yticks(ticks, [labels[first.index[i]] for i in ticks], fontsize=8 if n_rows <= 24 else 6)
    ax.tick_params(axis="y", length=0)
    ax.set_ylabel(f"worker ({n_rows})" if step == 1 else f"worker ({n_rows}, every {step}th)")
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    active = summary["active_s"]
    idle = f" ({fmt_duration(active)} with a worker active)" if active < 0.99 * makespan else ""
    at_once = "workers" if summary["n_workers"] == n_rows else "workers at once"
    caption = (
        f"makespan {fmt_duration(makespan)}{idle}  ·  lower bound {fmt_duration(bound)} = "
        f"max({fmt_duration(summary['total_s'])} of jobs / {summary['n_workers']:.0f} "
        f"{'workers at once' if width else at_once}, longest job "
        f"{fmt_duration(summary['longest_s'])})  ·  ratio {summary['ratio']:.2f}"
    )
    if banded and allocations is not None:
        allocated = float((allocations["end"] - allocations["start"]).sum())
        busy = float((seg.loc[seg["worker"].isin(banded) & (seg["state"] == "done"), "end"]
                      - seg.loc[seg["worker"].isin(banded) & (seg["state"] == "done"), "start"]).sum())
        caption += (f"\n{len(allocations)} allocations (outlined) ended: {fmt_duration(allocated)} allocated, "
                    f"{fmt_duration(busy)} in jobs done ({busy / allocated:.0%} busy)" if allocated > 0 else "")
    n_jobs = len(seg)
    head = f"{name}: {n_jobs} jobs" if name else f"{n_jobs} jobs"
    ax.set_title(f"{head}\n{caption}", loc="left", fontsize=9)
    return makespan


def _legend(fig: Figure, panels: list[tuple[str, pd.DataFrame]], key: str, colors: dict[str, Any], *,
            allocations: bool = False) -> None:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles: list[Any] = [Patch(facecolor=c, label=v) for v, c in colors.items()]
    if key != "state":
        present = {s for _, seg in panels for s in seg["state"].astype(str)}
        handles += [Patch(facecolor="white", edgecolor=STATE_COLORS[s], hatch=STATE_HATCH[s],
                          label=s) for s in STATE_HATCH if s in present]
    handles += [
        Patch(facecolor=IDLE_COLOR, label="idle"),
        *([Patch(facecolor=IDLE_COLOR, edgecolor=ALLOCATION_EDGE, label="allocation")] if allocations else []),
        Line2D([], [], color="0.15", marker="|", linestyle="none", markersize=9, label="job start"),
        Line2D([], [], color="0.25", linestyle=(0, (4, 3)), label="lower bound"),
        Line2D([], [], color="0.1", linewidth=1.2, label="makespan"),
    ]
    what = {"state": "state", "learner_id": "learner"}.get(key, key)
    fig.legend(handles=handles, loc="outside upper center", ncols=min(len(handles), 8),
               frameon=False, fontsize=8, title=f"colour: {what}", title_fontsize=8)
