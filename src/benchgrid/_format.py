"""Formatting shared by every layer (the CLI, the report): below all packages, like ``_errors``."""

from __future__ import annotations

__all__ = ["fmt_seconds"]


def fmt_seconds(seconds: float | None) -> str:
    """``M:SS`` or ``H:MM:SS``; ``-`` for None.

    Examples
    --------
    >>> fmt_seconds(75), fmt_seconds(3725), fmt_seconds(None)
    ('1:15', '1:02:05', '-')
    """
    if seconds is None:
        return "-"
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
