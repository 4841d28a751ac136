"""Package names that load on first use: one ``__getattr__`` and ``__dir__`` for every lazy package.

Examples
--------
>>> import types, sys
>>> mod = types.ModuleType("demo_pkg"); sys.modules["demo_pkg"] = mod
>>> mod.__getattr__, mod.__dir__ = lazy_names("demo_pkg", {"dumps": "json"})
>>> mod.dumps([1])            # json imported now, and the name cached on the package
'[1]'
>>> "dumps" in vars(mod)
True
"""

from __future__ import annotations

import importlib
import sys
from typing import Any, Callable, Iterable, Mapping

__all__ = ["lazy_names"]


def lazy_names(
    package: str, lazy: Mapping[str, str], public: Iterable[str] | None = None
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: ``lazy`` maps a name to the module that defines it."""

    def __getattr__(name: str) -> Any:
        if name in lazy:
            value = getattr(importlib.import_module(lazy[name]), name)
            setattr(sys.modules[package], name, value)  # looked up once
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    names = sorted(set(public if public is not None else lazy))

    def __dir__() -> list[str]:
        return names

    return __getattr__, __dir__
