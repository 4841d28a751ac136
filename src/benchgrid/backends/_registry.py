"""Backends by name: ``get_backend("sge")``.

Entries are ``"module:Class"`` strings, imported on first use, so
``benchgrid --help`` and the local backend load no scheduler code. A new
backend adds one line here (or calls :func:`register`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from .._errors import InputError

if TYPE_CHECKING:
    from ._backend import Backend

__all__ = ["backend_names", "get_backend", "register", "scheduler_backends"]

_ENTRIES: dict[str, str] = {
    "local": "benchgrid.backends.local:LocalBackend",
    "debug": "benchgrid.backends.debug:DebugBackend",
    "slurm": "benchgrid.backends.slurm:SlurmBackend",
    "sge": "benchgrid.backends.sge:SgeBackend",
}
_LOADED: dict[str, "Backend"] = {}


def register(name: str, target: str) -> None:
    """Add a backend: ``register("pbs", "mypkg.pbs:PbsBackend")``."""
    if not name.isidentifier():
        raise InputError(f"a backend name must be an identifier, got {name!r}")
    _ENTRIES[name] = target
    _LOADED.pop(name, None)


def backend_names() -> list[str]:
    """The registered names, e.g. ``['debug', 'local', 'sge', 'slurm']``.

    Examples
    --------
    >>> backend_names()
    ['debug', 'local', 'sge', 'slurm']
    """
    return sorted(_ENTRIES)


def get_backend(name: str) -> "Backend":
    """The backend registered as ``name`` (one shared instance per name).

    Examples
    --------
    >>> get_backend("slurm").name
    'slurm'
    >>> get_backend("pbs")
    Traceback (most recent call last):
    ...
    benchgrid._errors.InputError: backend must be one of 'debug', 'local', 'sge', 'slurm', got 'pbs'
    """
    if name not in _ENTRIES:
        raise InputError(f"backend must be one of {', '.join(map(repr, backend_names()))}, got {name!r}")
    if name not in _LOADED:
        module_name, class_name = _ENTRIES[name].split(":")
        cls = getattr(importlib.import_module(module_name), class_name)
        _LOADED[name] = cls()
    return _LOADED[name]


def scheduler_backends() -> list["Backend"]:
    """The backends that submit to a scheduler (``launch`` does not wait)."""
    return [b for b in map(get_backend, backend_names()) if not b.waits]
