"""A project's settings: every default and every check, in one frozen dataclass.

``project.json`` keeps them as a plain JSON object (``to_dict``); readers get
them back with ``from_dict``, which fills a missing key with its default (a
project written before the key existed) and checks every value, so no reader
restates a default (``lease_s`` is 60 here and nowhere else). Code holds a
``ProjectSettings`` (``ProjectSettings.of`` takes either) and reads its
attributes: no ``.get`` on a settings dict anywhere else, and the CLI takes
its defaults and help text from here (:meth:`ProjectSettings.cli_help`).
tests/store/test_settings.py fails on a restated one.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from ..._errors import InputError
from ._lock import LOCK_MODES, MIN_LOCK_LEASE_S

__all__ = ["DEFAULTS", "MAX_JOB_TIMEOUT_S", "ProjectSettings", "validate_job_timeout_s", "setting"]


def _help(text: str) -> dict[str, str]:
    return {"help": text}

#: The longest per-job time limit taken: a year. Beyond it the value is a mistake (units, a stray
#: exponent: ``1e300``), not a limit; no limit at all is None (the setting) or no ``--job-timeout``.
MAX_JOB_TIMEOUT_S = 365 * 86400.0


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def validate_job_timeout_s(value: Any, name: str = "job_timeout_s") -> float:
    """A per-job time limit in seconds: a number > 0 and at most :data:`MAX_JOB_TIMEOUT_S` (one rule for every door).

    Examples
    --------
    >>> validate_job_timeout_s(2.5)
    2.5
    >>> validate_job_timeout_s(1e300, "--job-timeout")
    Traceback (most recent call last):
    ...
    benchgrid._errors.InputError: --job-timeout must be a number of seconds > 0 and at most 31536000 (365 days), \
got 1e+300; leave it out for no limit
    """
    if not (_number(value) and 0 < value <= MAX_JOB_TIMEOUT_S):
        raise InputError(
            f"{name} must be a number of seconds > 0 and at most {MAX_JOB_TIMEOUT_S:.0f} "
            f"({MAX_JOB_TIMEOUT_S / 86400:.0f} days), got {value!r}; leave it out for no limit"
        )
    return float(value)


@dataclass(frozen=True)
class ProjectSettings:
    """How the workers of one project behave.

    Parameters
    ----------
    lease_s : float, default=60
        A worker silent for this long is dead and its jobs are run again.
    max_attempts : int, default=3
        Runs a job may lose to dead workers before it is marked failed.
    lock : {"lease", "flock"}, default="lease"
        "lease" works across hosts on NFS/Lustre/GPFS; "flock" is faster on one machine.
    lock_lease_s : float, default=15
        A lock holder silent for this long loses the lock.
    group_shared : bool, default=False
        Let the group read and write the project (default: owner only).
    duration_key : sequence of str, optional
        Job columns whose jobs take similar time (walltime rule).
    default_job_s : float, optional
        Expected seconds of a job of a kind not seen yet.
    memory_key : str, optional
        Job column of expected peak memory in GB (memory lanes).
    time_key : str, optional
        Job column of expected seconds (time classes: a job goes to workers
        whose allocations are long enough; see :mod:`._classes`).
    resource_keys : sequence of str, optional
        Job columns of resource counts, each named as the resource
        (``["gpus"]``): a job goes only to workers that have that many.
    job_timeout_s : float, optional
        A job running longer is stopped and counted as a lost run.

    Examples
    --------
    >>> ProjectSettings().lease_s
    60.0
    >>> s = ProjectSettings.from_dict({"lease_s": 30, "duration_key": ["task_id"]})
    >>> s.lease_s, s.max_attempts, s.duration_key, s.to_dict()["duration_key"]
    (30, 3, ('task_id',), ['task_id'])
    >>> ProjectSettings(max_attempts=0)
    Traceback (most recent call last):
    ...
    benchgrid._errors.InputError: max_attempts must be an integer >= 1, got 0
    """

    # metadata "help": the CLI's help text (benchgrid init), said once
    lease_s: float = field(default=60.0, metadata=_help("seconds without heartbeat before a worker is dead"))
    max_attempts: int = field(default=3, metadata=_help("runs a job may lose to dead workers"))
    lock: str = field(default="lease", metadata=_help("'lease' (any filesystem, default) or 'flock' (one machine)"))
    lock_lease_s: float = 15.0
    group_shared: bool = field(default=False, metadata=_help("let the group read and write the project"))
    duration_key: Sequence[str] | None = None  # kept as a tuple
    default_job_s: float | None = None
    memory_key: str | None = field(default=None, metadata=_help("job column of expected peak GB (memory classes)"))
    time_key: str | None = field(
        default=None, metadata=_help("job column of expected seconds (time classes: long jobs go to long workers)"))
    resource_keys: Sequence[str] | None = field(  # kept as a tuple
        default=None, metadata=_help("job column of a resource count, named as the resource, e.g. gpus (repeatable)"))
    job_timeout_s: float | None = field(
        default=None, metadata=_help("stop a job running longer than this; it counts a lost run (setting job_timeout_s)"))

    def __post_init__(self) -> None:
        if not (_number(self.lease_s) and self.lease_s > 0):
            raise InputError(f"lease_s must be a number > 0 and finite (seconds), got {self.lease_s!r}")
        if isinstance(self.max_attempts, bool) or not (isinstance(self.max_attempts, int) and self.max_attempts >= 1):
            raise InputError(f"max_attempts must be an integer >= 1, got {self.max_attempts!r}")
        if self.lock not in LOCK_MODES:
            raise InputError(f"lock must be one of {LOCK_MODES}, got {self.lock!r}")
        if not (_number(self.lock_lease_s) and self.lock_lease_s >= MIN_LOCK_LEASE_S):
            raise InputError(f"lock_lease_s must be a number >= {MIN_LOCK_LEASE_S} (seconds), got {self.lock_lease_s!r}")
        if not isinstance(self.group_shared, bool):
            raise InputError(f"group_shared must be True or False, got {self.group_shared!r}")
        if self.duration_key is not None:
            key = self.duration_key
            if isinstance(key, str) or not isinstance(key, Sequence) or not all(isinstance(k, str) and k for k in key):
                raise InputError(f"duration_key must be a list of job column names, got {key!r}")
            object.__setattr__(self, "duration_key", tuple(key))
        if self.default_job_s is not None and not (_number(self.default_job_s) and self.default_job_s > 0):
            raise InputError(f"default_job_s must be a number > 0 (seconds) or None, got {self.default_job_s!r}")
        if self.job_timeout_s is not None:
            validate_job_timeout_s(self.job_timeout_s)
        if self.memory_key is not None and not (isinstance(self.memory_key, str) and self.memory_key):
            raise InputError(f"memory_key must be the name of a job column (expected peak GB), got {self.memory_key!r}")
        if self.time_key is not None and not (isinstance(self.time_key, str) and self.time_key):
            raise InputError(f"time_key must be the name of a job column (expected seconds), got {self.time_key!r}")
        if self.resource_keys is not None:
            key = self.resource_keys
            if isinstance(key, str) or not isinstance(key, Sequence) or not all(
                isinstance(k, str) and re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", k) for k in key
            ):
                raise InputError(f"resource_keys must be a list of job column names such as ['gpus'] "
                                 f"(letters, digits, _), got {key!r}")
            object.__setattr__(self, "resource_keys", tuple(key))

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "ProjectSettings":
        """Settings from ``project.json``: missing keys take their default, unknown keys are ignored."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})

    @classmethod
    def of(cls, settings: "ProjectSettings | Mapping[str, Any]") -> "ProjectSettings":
        """``settings`` itself, or the settings of a ``project.json`` dict (:meth:`from_dict`).

        Examples
        --------
        >>> s = ProjectSettings(lease_s=5)
        >>> ProjectSettings.of(s) is s, ProjectSettings.of({"lease_s": 5}) == s
        (True, True)
        """
        return settings if isinstance(settings, ProjectSettings) else cls.from_dict(settings)

    @classmethod
    def cli_help(cls, name: str) -> str:
        """The command line's help text of setting ``name`` (``benchgrid init --lease-s``).

        Examples
        --------
        >>> ProjectSettings.cli_help("max_attempts")
        'runs a job may lose to dead workers'
        """
        return str({f.name: f for f in fields(cls)}[name].metadata["help"])

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (``duration_key`` as a list), as ``project.json`` keeps it."""
        out = asdict(self)
        if self.duration_key is not None:
            out["duration_key"] = list(self.duration_key)
        if self.resource_keys is not None:
            out["resource_keys"] = list(self.resource_keys)
        return out


#: Every setting's default, from :class:`ProjectSettings` (the one place defaults are written).
DEFAULTS: dict[str, Any] = {f.name: f.default for f in fields(ProjectSettings)}


def setting(settings: Mapping[str, Any], name: str) -> Any:
    """One setting of a project's settings dict, or its default from :class:`ProjectSettings`.

    For readers that hold the plain dict (``project.json``): no caller restates a default.

    Examples
    --------
    >>> setting({"lease_s": 5}, "lease_s"), setting({}, "max_attempts")
    (5, 3)
    """
    value = settings.get(name)
    return DEFAULTS[name] if value is None else value
