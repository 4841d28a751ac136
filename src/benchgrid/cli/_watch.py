"""``benchgrid status DIR --watch``: a live terminal view until the project is done.

A rich ``Live`` display refreshed by :meth:`Project.live_status
<benchgrid.Project.live_status>` (each look reads only what
the workers appended since the last one): a progress bar with the counts
per state, jobs per second and ETA, then one line per active worker with
its current job and how long it has been running. It ends by itself when
no job is pending, running, queued or stranded. On a terminal the view
redraws in place; piped into a file (a SLURM log) it prints one line each
time the counts change.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from .._poll import poll

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

    from ..api import Project
    from ..store import Status

__all__ = ["watch"]

ACTIVE = ("pending", "running", "queued", "stranded")
MAX_WORKER_LINES = 30


def watch(proj: Project, *, poll_s: float = 0.5, console: Console | None = None) -> int:
    """Show the project's progress live until it is finished.

    Parameters
    ----------
    proj : Project
        The project to watch (workers may run anywhere: locally, on SLURM).
    poll_s : float, default=0.5
        Seconds between looks (more on a huge project: never more than a
        fifth of the time is spent reading).
    console : rich.console.Console, optional
        Where to draw (default: standard output).

    Returns
    -------
    int
        0 when every job is done, 1 when some ended in error or failed
        (``benchgrid retry DIR`` puts them back).

    Examples
    --------
    >>> import io, tempfile, pathlib
    >>> from rich.console import Console
    >>> import benchgrid as bg
    >>> proj = bg.Project.create(pathlib.Path(tempfile.mkdtemp()) / "p", [{"a": 1}], "builtins:dict")
    >>> _ = proj.run(n_workers=0, progress=False)
    >>> out = io.StringIO()
    >>> watch(proj, console=Console(file=out, width=100))
    0
    >>> "1 done" in out.getvalue()
    True
    """
    from rich.console import Console
    from rich.live import Live

    console = console or Console()
    t_watch = time.time()
    look = proj.live_status
    status = look()
    if not console.is_terminal:
        return _watch_plain(console, look, status, poll_s)
    with Live(_view(proj, status, t_watch), console=console, refresh_per_second=4,
              transient=False) as live:
        status = poll(look, lambda st: live.update(_view(proj, st, t_watch), refresh=True),
                      lambda st: st.finished, poll_s=poll_s, first=status)
    console.print(_final_line(status))
    return _exit_code(status)


def _watch_plain(console: Console, look: Any, status: Status, poll_s: float) -> int:
    printed = {"line": ""}

    def show(st: Status) -> None:
        line = _counts_line(st)
        if line != printed["line"]:
            console.print(line, highlight=False)
            printed["line"] = line

    status = poll(look, show, lambda st: st.finished, poll_s=poll_s, first=status)
    console.print(_final_line(status), highlight=False, soft_wrap=True)
    return _exit_code(status)


def _exit_code(status: Status) -> int:
    return 1 if status.counts.get("error", 0) or status.counts.get("failed", 0) else 0


def _fmt_s(seconds: float | None) -> str:
    from ._common import fmt_seconds

    return fmt_seconds(seconds)


def _counts_line(status: Status) -> str:
    c = status.counts
    finished = status.n_finished
    parts = [f"{finished}/{status.n_jobs} finished", f"{c['done']} done", f"{c['running']} running",
             f"{c['error']} error"]
    parts += [f"{c[s]} {s}" for s in ("pending", "queued", "failed", "stranded", "dropped") if c.get(s)]
    rate = status.recent_per_s or status.overall_per_s
    if rate:
        parts.append(f"{rate:,.2f} jobs/s")
    if not status.finished and status.eta_s is not None:
        parts.append(f"ETA {_fmt_s(status.eta_s)}")
    return " | ".join(parts)


def _final_line(status: Status) -> str:
    c = status.counts
    text = f"finished: {c['done']} done, {c['error']} error, {c['failed']} failed of {status.n_jobs} jobs"
    if status.hint:
        text += f"\nhint: {status.hint}"
    return text


def _describe(proj: Project, job_id: int) -> str:
    """A short description of a job: task, learner and iteration for ML jobs, else its parameters."""
    try:
        params = proj.job_params(job_id)
    except (KeyError, OSError, ValueError):
        return ""
    if "task_id" in params and "learner_id" in params:
        text = f"{params['task_id']} · {params['learner_id']}"
        if "iteration" in params:
            text += f" · iteration {params['iteration']}"
        return text
    text = ", ".join(f"{k}={v}" for k, v in list(params.items())[:4])
    return text if len(text) <= 60 else text[:59] + "…"


def _view(proj: Project, status: Status, t_watch: float) -> RenderableType:
    from rich.console import Group
    from rich.progress_bar import ProgressBar
    from rich.table import Table
    from rich.text import Text

    from ..store import is_dead

    c = status.counts
    finished = status.n_finished
    head = Table.grid(padding=(0, 1))
    head.add_column(no_wrap=True)
    head.add_column(ratio=1)
    head.add_column(no_wrap=True)
    head.add_row(Text("jobs", style="bold"), ProgressBar(total=max(status.n_jobs, 1), completed=finished),
                 Text(f"{finished}/{status.n_jobs}"))
    counts = Text()
    for name, style in (("done", "green"), ("running", "cyan"), ("error", "red"), ("pending", ""),
                        ("queued", "yellow"), ("failed", "red"), ("stranded", "magenta"), ("dropped", "dim")):
        if name in ("done", "running", "error") or c.get(name):
            counts.append(f"{c.get(name, 0)} {name}", style=style or None)
            counts.append("  ")
    rate = status.recent_per_s or status.overall_per_s
    counts.append(f"| {rate or 0:,.2f} jobs/s  | ETA {_fmt_s(None if status.finished else status.eta_s)}"
                  f"  | watching {_fmt_s(time.time() - t_watch)}")
    w = status.workers
    workers = Table(box=None, padding=(0, 1), show_edge=False, header_style="bold")
    for col in ("worker", "host", "pid", "job", "", "elapsed"):
        workers.add_column(col, no_wrap=True, justify="right" if col in ("pid", "job", "elapsed") else "left")
    running = {r["worker"]: r for r in status.running}
    now = time.time()
    shown = 0
    for wid, lease in sorted(proj.leases().items()):
        if lease.get("state") != "running" or lease.get("revoked"):
            continue
        dead = is_dead(lease, now)  # the one rule (store), as status counts dead workers
        r = running.get(wid)
        if shown == MAX_WORKER_LINES:
            workers.add_row("…", "", "", "", f"{w.get('alive', 0) - shown} more", "")
            break
        shown += 1
        if r is None:
            workers.add_row(wid, str(lease.get("host", "")), str(lease.get("pid", "")), "-",
                            Text("no lease heartbeat" if dead else "idle", style="dim"), "")
            continue
        job = f"{r['job_id']}" + (f" (attempt {r['attempt']})" if r["attempt"] > 1 else "")
        workers.add_row(wid, str(r.get("host") or ""), str(lease.get("pid", "")), job,
                        _describe(proj, r["job_id"]), _fmt_s(r["elapsed_s"]))
    parts: list[Any] = [
        Text(f"benchgrid: {proj.path}", style="bold"),
        head,
        counts,
        Text(f"workers: {w.get('alive', 0)} alive, {w.get('dead', 0)} dead, {w.get('exited', 0)} exited",
             style="dim"),
    ]
    if shown:
        parts.append(workers)
    if status.errors:
        last = status.errors[0]
        parts.append(Text(f"last error: job {last['job_id']}: {last['error']}", style="red"))
    if status.hint:
        parts.append(Text(f"hint: {status.hint}", style="yellow"))
    return Group(*parts)
