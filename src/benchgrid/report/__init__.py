"""benchgrid.report: the HTML report of a project; see DESIGN.md

Names load on first use (matplotlib is imported only when a figure is drawn).
"""

from __future__ import annotations

from .._lazy import lazy_names

_LAZY = {
    "write_report": "benchgrid.report._html",
}

__all__ = list(_LAZY)

__getattr__, __dir__ = lazy_names(__name__, _LAZY, __all__)
