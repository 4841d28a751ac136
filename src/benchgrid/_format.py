"""Formatting shared by every layer (the CLI, the report): below all packages, like ``_errors``."""

from __future__ import annotations

__all__ = ["fmt_seconds", "format_counts"]


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


def format_counts(counts: dict[str, int]) -> str:
    """The non-zero job counts in a fixed order.

    Examples
    --------
    >>> format_counts({"done": 3, "error": 1, "pending": 0})
    '3 done, 1 error'
    """
    order = ("done", "running", "pending", "queued", "error", "failed", "stranded", "dropped")
    return ", ".join(f"{counts[s]} {s}" for s in order if counts.get(s))
