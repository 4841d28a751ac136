"""Helpers shared by CLI commands: reading job files, parsing times, printing tables."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

from .._errors import InputError
from .._format import fmt_seconds

__all__ = ["check_output_path", "check_timeout", "fmt_seconds", "parse_until", "read_jobs_file"]

JOB_FILE_SUFFIXES = (".csv", ".json", ".jsonl", ".parquet")


def read_jobs_file(path: str) -> list[dict[str, Any]]:
    """Jobs from a .csv, .json (list of objects), .jsonl or .parquet file; a missing value is None."""
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
    # a table file's missing value (an empty CSV cell, a null) is None for the runner, said here once;
    # a NaN given in a list of dicts is refused by the job table (it would silently become None)
    return df.astype(object).where(df.notna(), None).to_dict(orient="records")  # type: ignore[return-value]


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
        value = float(text)
    except ValueError:
        pass
    else:
        if value != value or value in (float("inf"), float("-inf")):
            raise InputError(f"--until must be a finite time, got {text!r}")
        return value
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


def check_output_path(path: str | Path, option: str = "-o") -> Path:
    """An output file goes into a folder that exists and that we may write (checked before any work).

    Examples
    --------
    >>> check_output_path("/no/such/folder/x.csv")
    Traceback (most recent call last):
    ...
    benchgrid._errors.InputError: -o: folder '/no/such/folder' does not exist; create it first or choose another path
    """
    import os

    out = Path(path)
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise InputError(f"{option}: folder {str(folder)!r} does not exist; create it first or choose another path")
    if not os.access(folder, os.W_OK | os.X_OK):
        why = "is on a read-only file system" if os.statvfs(folder).f_flag & os.ST_RDONLY else "is not writable by you"
        raise InputError(f"{option}: folder {str(folder)!r} {why}; choose another path")
    if out.is_dir():
        raise InputError(f"{option}: {str(out)!r} is a folder; give a file name")
    return out


def check_timeout(value: float, name: str) -> float:
    """A per-job time limit in seconds: > 0 and at most a year (the project setting's rule).

    Examples
    --------
    >>> check_timeout(2.5, "--job-timeout")
    2.5
    >>> check_timeout(float("nan"), "--job-timeout")
    Traceback (most recent call last):
    ...
    benchgrid._errors.InputError: --job-timeout must be a number of seconds > 0 and at most 31536000 (365 days), \
got nan; leave it out for no limit
    """
    from ..store import validate_job_timeout_s

    return validate_job_timeout_s(value, name)
