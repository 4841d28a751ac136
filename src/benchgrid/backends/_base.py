"""What every backend shares: waiting on a project with a progress display."""

from __future__ import annotations

import time
from typing import Callable

from .._format import format_counts
from .._poll import poll
from ..store import ProjectState
from ..store import Status, n_finished, status_of

__all__ = ["wait_for_project", "wait_until_ended", "format_counts"]


def wait_for_project(
    state: ProjectState,
    alive: Callable[[], bool],
    *,
    progress: bool = True,
    poll_s: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
) -> Status:
    """Refresh ``state`` until ``alive()`` is False (progress bar meanwhile); return the final :class:`Status`.

    ``sleep(seconds)`` waits between looks; a backend that can wait on its
    workers passes one that returns as soon as they have all ended.
    """
    wait_until_ended(state, alive, progress=progress, poll_s=poll_s, sleep=sleep)
    return status_of(state.refresh())


def wait_until_ended(
    state: ProjectState,
    alive: Callable[[], bool],
    *,
    progress: bool = True,
    poll_s: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """:func:`wait_for_project` without the final summary.

    For a caller that summarises once itself after cleaning up (on a
    million-job project a summary is a pass over every job).
    """
    if not progress:
        poll(alive, lambda _running: None, lambda running: not running, poll_s=poll_s, sleep=sleep)
        return
    from .local._progress_lines import needs_line_progress, wait_printing_lines

    if needs_line_progress():  # a notebook without ipywidgets: rich would show nothing
        wait_printing_lines(state, alive, format_counts, poll_s)
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    with Progress(
        TextColumn("[bold]jobs"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        transient=False,
    ) as bar:
        task = bar.add_task("jobs", total=None, detail="")

        def look() -> tuple[dict[str, int], bool]:
            state.refresh()
            return state.counts(), alive()

        def show(seen: tuple[dict[str, int], bool]) -> None:
            counts = seen[0]
            tp = state.throughput(counts=counts)
            rate = tp["recent_per_s"] or tp["overall_per_s"]
            detail = format_counts(counts) + (f" | {rate:,.1f} jobs/s" if rate else "")
            finished = n_finished(counts)
            bar.update(task, total=state.n, completed=finished, detail=detail)

        # re-reading grows with the log: poll() waits longer between looks on huge projects
        poll(look, show, lambda seen: not seen[1], poll_s=poll_s, sleep=sleep)
