"""benchgrid.report: the HTML report of a project; see DESIGN.md

Names load on first use (matplotlib is imported only when a figure is drawn).
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "write_report": "benchgrid.report._html",
}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'benchgrid.report' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
