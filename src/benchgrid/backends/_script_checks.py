"""The checks every scheduler script makes of what the user gives: one place, one wording.

Each returns the value as the script uses it, or raises an
:class:`~benchgrid.InputError` that names the parameter, the rule and the
value (``n_workers must be an integer >= 1, got 0``). Pure functions: no
subprocess, no file system, no clock.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence

from .._errors import InputError

__all__ = ["check_int", "check_path", "check_setup", "check_text", "check_words", "format_mem", "parse_time"]

_TIME_FORMS = "minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS"
_TIME_RE = re.compile(
    r"""^(?:
        (?P<d>\d+)-(?P<dh>\d+)(?::(?P<dm>\d+)(?::(?P<ds>\d+))?)?   # D-HH[:MM[:SS]]
      | (?P<h>\d+):(?P<hm>\d+):(?P<hs>\d+)                          # HH:MM:SS
      | (?P<m>\d+)(?::(?P<ms>\d+))?                                 # minutes[:SS]
    )$""",
    re.VERBOSE,
)


def parse_time(value: str, *, name: str = "time") -> int:
    """Seconds in a time limit written as SLURM writes them (Grid Engine's ``time`` takes the same forms).

    Accepts the forms sbatch documents: ``minutes``, ``MM:SS``, ``HH:MM:SS``,
    ``D-HH``, ``D-HH:MM`` and ``D-HH:MM:SS``. Like SLURM, fields after the first
    may overflow (``90:00`` is 90 minutes, ``1:75:00`` is 2 h 15 min). A limit
    of zero (SLURM's "no limit") is refused: leave the time out to get the
    partition's default instead.

    Parameters
    ----------
    value : str
        The time limit, as given to ``sbatch --time``.
    name : str, default="time"
        The parameter's name, used in the error message.

    Returns
    -------
    int
        The limit in seconds.

    Raises
    ------
    InputError
        If ``value`` is not one of the accepted forms or is zero.

    Examples
    --------
    >>> parse_time("2:00:00"), parse_time("1-12"), parse_time("90")
    (7200, 129600, 5400)
    >>> parse_time("1 hour")
    Traceback (most recent call last):
    ...
    benchgrid._errors.InputError: time must be a SLURM time limit (minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS), got '1 hour'
    """
    match = _TIME_RE.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise InputError(f"{name} must be a SLURM time limit ({_TIME_FORMS}), got {value!r}")
    g = {k: int(v) for k, v in match.groupdict().items() if v is not None}
    if "d" in g:
        seconds = g["d"] * 86400 + g["dh"] * 3600 + g.get("dm", 0) * 60 + g.get("ds", 0)
    elif "h" in g:
        seconds = g["h"] * 3600 + g["hm"] * 60 + g["hs"]
    else:
        seconds = g["m"] * 60 + g.get("ms", 0)
    if seconds == 0:
        raise InputError(
            f"{name} must be more than zero ({_TIME_FORMS}; SLURM reads 0 as 'no limit', "
            f"leave {name} out to get the partition's default), got {value!r}"
        )
    return seconds


def check_int(value: object, name: str, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InputError(f"{name} must be an integer >= {minimum}, got {value!r}")


def check_text(value: object, name: str) -> str:
    """One non-empty line, stripped (a newline would end a directive and start shell code)."""
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{name} must be a non-empty string, got {value!r}")
    if any(c in value for c in "\n\r\0"):
        raise InputError(f"{name} must be one line (no newline or NUL), got {value!r}")
    return value.strip()


def check_path(value: object, name: str, *, hosts: str = "compute nodes") -> str:
    """An absolute path as text: the job starts on ``hosts``, in another folder."""
    if not isinstance(value, (str, os.PathLike)):
        raise InputError(f"{name} must be a path, got {value!r}")
    text = os.fspath(value)
    if not isinstance(text, str) or not os.path.isabs(text):
        raise InputError(f"{name} must be an absolute path ({hosts} start elsewhere), got {text!r}")
    return check_text(text, name)


def check_words(value: object, name: str) -> tuple[str, ...]:
    """A sequence of strings, not one string (which would be split into letters)."""
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise InputError(f"{name} must be a sequence of strings, got {value!r}")
    for item in value:
        if not isinstance(item, str) or "\0" in item:
            raise InputError(f"{name} must be a sequence of strings, got the item {item!r}")
    return tuple(value)


def check_setup(value: object) -> list[str]:
    """Shell lines, given as one string or a list of them; shell code by intent."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, Sequence) or not all(isinstance(s, str) for s in items):
        raise InputError(f"setup must be a string or a list of strings (shell lines), got {value!r}")
    lines: list[str] = []
    for item in items:
        if "\0" in item:
            raise InputError(f"setup lines must not contain NUL, got {item!r}")
        lines += item.splitlines()
    return lines


def format_mem(mem_gb: object) -> str:
    """Memory as schedulers read it: whole GB as ``4G``, else MB rounded up (``512M``).

    Examples
    --------
    >>> format_mem(4), format_mem(0.5)
    ('4G', '512M')
    """
    if isinstance(mem_gb, bool) or not isinstance(mem_gb, (int, float)) or not math.isfinite(mem_gb) or mem_gb <= 0:
        raise InputError(f"mem_gb must be a number > 0, got {mem_gb!r}")
    if float(mem_gb).is_integer():
        return f"{int(mem_gb)}G"
    return f"{math.ceil(mem_gb * 1024)}M"
