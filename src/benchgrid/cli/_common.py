"""Helpers shared by CLI commands: reading job files, parsing times, printing tables."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

from .._errors import InputError
from .._format import fmt_seconds

__all__ = ["fmt_seconds", "parse_until", "read_jobs_file"]

JOB_FILE_SUFFIXES = (".csv", ".json", ".jsonl", ".parquet")


def read_jobs_file(path: str) -> list[dict[str, Any]]:
    """Jobs from a .csv, .json (list of objects), .jsonl or .parquet file."""
    p = Path(path)
    if p.suffix not in JOB_FILE_SUFFIXES:
        raise InputError(f"--jobs must be a file ending in one of {JOB_FILE_SUFFIXES}, got {path!r}")
    if not p.is_file():
        raise InputError(f"--jobs file {path!r} does not exist")
    import pandas as pd

    try:
        if p.suffix == ".csv":
            df = pd.read_csv(p)
        elif p.suffix == ".parquet":
            df = pd.read_parquet(p)
        elif p.suffix == ".jsonl":
            df = pd.read_json(p, lines=True)
        else:
            return list(json.loads(p.read_text()))
    except (ValueError, OSError) as err:
        raise InputError(f"cannot read --jobs file {path!r}: {err}") from None
    return df.to_dict(orient="records")  # type: ignore[return-value]


def parse_until(text: str | None) -> float | None:
    """``--until``: Unix seconds, ISO-8601 time, or ``+DURATION`` (``+90s``, ``+30m``, ``+2h``).

    Examples
    --------
    >>> parse_until("1700000000")
    1700000000.0
    >>> parse_until("tomorrow")
    Traceback (most recent call last):
    ...
    benchgrid._errors.InputError: --until must be Unix seconds, an ISO-8601 time (2026-01-31T18:00) or +DURATION (+90s, +30m, +2h), got 'tomorrow'
    """
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        pass
    if text.startswith("+") and text[-1:] in "smh" and text[1:-1].replace(".", "", 1).isdigit():
        return time.time() + float(text[1:-1]) * {"s": 1, "m": 60, "h": 3600}[text[-1]]
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise InputError(
            "--until must be Unix seconds, an ISO-8601 time (2026-01-31T18:00) or +DURATION "
            f"(+90s, +30m, +2h), got {text!r}"
        ) from None
    return moment.timestamp()


