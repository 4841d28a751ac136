"""Progress as plain lines, for a notebook where rich cannot draw a live bar.

rich draws its bar in Jupyter through ipywidgets; without them it shows
nothing at all (and warns). Then a line is printed whenever the counts
change (at most once a second), as ``benchgrid status --watch`` does in a log.
"""

from __future__ import annotations

import importlib.util
import time
from typing import Callable

from ..store import ProjectState

__all__ = ["needs_line_progress", "wait_printing_lines"]


def needs_line_progress() -> bool:
    """True in a Jupyter kernel without ipywidgets (rich's live display needs them)."""
    from rich.console import Console

    return Console().is_jupyter and importlib.util.find_spec("ipywidgets") is None


def wait_printing_lines(
    state: ProjectState, alive: Callable[[], bool], fmt: Callable[[dict[str, int]], str], poll_s: float = 0.5
) -> None:
    """Refresh ``state`` until ``alive()`` is False, printing a line when the counts change."""
    last, last_t = "", 0.0
    while True:
        state.refresh()
        counts = state.counts()
        finished = counts["done"] + counts["error"] + counts["failed"] + counts.get("dropped", 0)
        line = f"jobs {finished}/{state.n}: {fmt(counts)}"
        running = alive()
        if line != last and (time.monotonic() - last_t >= 1.0 or not running):
            print(line, flush=True)
            last, last_t = line, time.monotonic()
        if not running:
            return
        time.sleep(poll_s)
