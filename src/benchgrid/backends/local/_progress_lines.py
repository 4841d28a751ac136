"""Progress as plain lines, for a notebook where rich cannot draw a live bar.

rich draws its bar in Jupyter through ipywidgets; without them it shows
nothing at all (and warns). Then a line is printed whenever the counts
change (at most once a second), as ``benchgrid status --watch`` does in a log.
"""

from __future__ import annotations

import importlib.util
import time
from typing import Any, Callable

from ..._poll import poll
from ...store import ProjectState, n_finished

__all__ = ["needs_line_progress", "wait_printing_lines"]


def needs_line_progress() -> bool:
    """True in a Jupyter kernel without ipywidgets (rich's live display needs them)."""
    from rich.console import Console

    return Console().is_jupyter and importlib.util.find_spec("ipywidgets") is None


def wait_printing_lines(
    state: ProjectState, alive: Callable[[], bool], fmt: Callable[[dict[str, int]], str], poll_s: float = 0.5
) -> None:
    """Refresh ``state`` until ``alive()`` is False, printing a line when the counts change."""
    printed: dict[str, Any] = {"line": "", "t": 0.0}

    def look() -> tuple[str, bool]:
        state.refresh()
        counts = state.counts()
        finished = n_finished(counts)
        return f"jobs {finished}/{state.n}: {fmt(counts)}", alive()

    def show(seen: tuple[str, bool]) -> None:
        line, running = seen
        if line != printed["line"] and (time.monotonic() - printed["t"] >= 1.0 or not running):
            print(line, flush=True)
            printed.update(line=line, t=time.monotonic())

    poll(look, show, lambda seen: not seen[1], poll_s=poll_s)
