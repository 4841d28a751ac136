"""Defaults from configuration files, so a lab sets its account, partition and setup once.

Two TOML files, both optional:

- the user's: ``$BENCHGRID_CONFIG`` if set, else
  ``$XDG_CONFIG_HOME/benchgrid/config.toml``, else
  ``~/.config/benchgrid/config.toml``;
- the project's: ``<project>/config.toml``.

Precedence, highest first: the command line (or keyword arguments), the
project file, the user file, the built-in defaults. A value replaces the one
below it as a whole (a ``setup`` list from the project replaces the user's).
Each scheduler backend owns one table, named like the backend (``[slurm]``,
``[sge]``), whose keys it declares in ``Backend.config_schema``; this module
knows no scheduler. Unknown tables or keys, and values of the wrong type, are
an :class:`~benchgrid.InputError` naming the key and the file. An example::

    [slurm]
    account = "def-lab"
    partition = "cpu"
    time = "2:00:00"
    mem_gb = 4
    cpus_per_worker = 1
    setup = ["module load python/3.11", "source ~/venvs/bench/bin/activate"]
    sbatch_args = ["--constraint=cascade"]
    max_parallel = 100

    [sge]
    queue = "all.q"
    time = "2:00:00"
"""

from __future__ import annotations

import math
import re
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._errors import InputError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

__all__ = [
    "Settings",
    "backend_settings",
    "project_config_path",
    "read_config",
    "slurm_settings",
    "user_config_path",
]

PROJECT_CONFIG_NAME = "config.toml"


def _string(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _positive_number(value: Any) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _string_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _string_or_list(value: Any) -> bool:
    return isinstance(value, str) or _string_list(value)


def _resource_counts(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str) and re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", k) and _positive_int(v) for k, v in value.items()
    )


def _schemas() -> dict[str, Any]:
    """table -> key -> (check, rule in words): one table per backend that reads one."""
    from ._registry import backend_names, get_backend

    return {name: get_backend(name).config_schema for name in backend_names() if get_backend(name).config_schema}


def user_config_path(environ: Mapping[str, str] | None = None) -> Path:
    """Where the user's configuration file is (it need not exist).

    Parameters
    ----------
    environ : mapping, optional
        The environment to read; default ``os.environ``.

    Returns
    -------
    Path

    Examples
    --------
    >>> user_config_path({"BENCHGRID_CONFIG": "/etc/lab.toml"})
    PosixPath('/etc/lab.toml')
    >>> user_config_path({"XDG_CONFIG_HOME": "/home/ada/.cfg", "HOME": "/home/ada"})
    PosixPath('/home/ada/.cfg/benchgrid/config.toml')
    """
    env = os.environ if environ is None else environ
    if env.get("BENCHGRID_CONFIG"):
        return Path(env["BENCHGRID_CONFIG"]).expanduser()
    if env.get("XDG_CONFIG_HOME"):
        return Path(env["XDG_CONFIG_HOME"]) / "benchgrid" / "config.toml"
    home = env.get("HOME")
    return (Path(home) if home else Path.home()) / ".config" / "benchgrid" / "config.toml"


def project_config_path(project_dir: str | os.PathLike[str]) -> Path:
    """The project's configuration file, ``<project_dir>/config.toml``.

    Examples
    --------
    >>> project_config_path("/scratch/grid")
    PosixPath('/scratch/grid/config.toml')
    """
    return Path(project_dir) / PROJECT_CONFIG_NAME


def read_config(path: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """Read and check one configuration file; a missing file is empty.

    Parameters
    ----------
    path : str or path-like
        A TOML file.

    Returns
    -------
    dict
        ``{table: {key: value}}`` with only the keys the file sets.

    Raises
    ------
    InputError
        If the file is not valid TOML, or has an unknown table or key, or a
        value of the wrong type; the message names the file and the key.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "config.toml"
    >>> _ = p.write_text('[slurm]\\naccount = "def-lab"\\nmem_gb = 4\\n')
    >>> read_config(p)
    {'slurm': {'account': 'def-lab', 'mem_gb': 4}}
    >>> _ = p.write_text('[slurm]\\naccout = "def-lab"\\n')
    >>> read_config(p)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    benchgrid._errors.InputError: unknown key 'slurm.accout' in .../config.toml; known keys of [slurm]: account, ...
    """
    path = Path(path)
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as err:
        raise InputError(f"{path} is not valid TOML: {err}") from None
    except OSError as err:
        raise InputError(f"cannot read the configuration file {path}: {err.strerror}") from None
    checked: dict[str, dict[str, Any]] = {}
    schemas = _schemas()
    for table, values in data.items():
        if table not in schemas:
            raise InputError(
                f"unknown table {table!r} in {path}; known tables: "
                + ", ".join(f"[{t}]" for t in sorted(schemas))
            )
        if not isinstance(values, dict):
            raise InputError(f"{table!r} in {path} must be a table ([{table}]), got {values!r}")
        schema = schemas[table]
        for key, value in values.items():
            if key not in schema:
                raise InputError(
                    f"unknown key '{table}.{key}' in {path}; known keys of [{table}]: "
                    + ", ".join(sorted(schema))
                )
            check, rule = schema[key]
            if not check(value):
                raise InputError(f"'{table}.{key}' in {path} must be {rule}, got {value!r}")
        checked[table] = dict(values)
    from ._registry import get_backend

    for table, values in checked.items():
        get_backend(table).validate_settings(values, f"in {path}")
    return checked


@dataclass(frozen=True)
class Settings:
    """Resolved values of one table and where each came from.

    Attributes
    ----------
    values : dict
        Key -> value after precedence.
    sources : dict
        Key -> ``"command line"``, a file path, or ``"built-in default"``.
    """

    values: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        """One line per value: ``key = value  # source``, for ``--dry-run``."""
        return "\n".join(
            f"{key} = {self.values[key]!r}  # {self.sources[key]}" for key in sorted(self.values)
        )


def slurm_settings(
    project_dir: str | os.PathLike[str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """The ``[slurm]`` settings: :func:`backend_settings` of ``"slurm"``."""
    return backend_settings("slurm", project_dir, overrides, environ=environ)


def backend_settings(
    table: str,
    project_dir: str | os.PathLike[str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """A backend's ``[table]`` settings: overrides > project file > user file > built-in.

    Parameters
    ----------
    table : str
        The backend's name, which is also its table (``"slurm"``, ``"sge"``).
    project_dir : str or path-like, optional
        The project whose ``config.toml`` to read; None reads only the user file.
    overrides : mapping, optional
        Values from the command line or keyword arguments; None values count
        as not given. Keys must be keys of the table.
    environ : mapping, optional
        The environment used to find the user file; default ``os.environ``.

    Returns
    -------
    Settings

    Raises
    ------
    InputError
        From :func:`read_config`, or for an unknown override key.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> home = pathlib.Path(tempfile.mkdtemp())
    >>> cfg = home / "config.toml"
    >>> _ = cfg.write_text('[slurm]\\naccount = "def-lab"\\ntime = "1:00:00"\\n')
    >>> s = backend_settings("slurm", overrides={"time": "3:00:00", "qos": None},
    ...                      environ={"BENCHGRID_CONFIG": str(cfg)})
    >>> s.values["account"], s.values["time"], s.sources["time"]
    ('def-lab', '3:00:00', 'command line')
    """
    from ._registry import get_backend

    backend = get_backend(table)
    schema = backend.config_schema
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}

    def apply(layer: Mapping[str, Any], source: str) -> None:
        for key, value in layer.items():
            if value is not None:
                values[key] = value
                sources[key] = source

    apply(backend.config_defaults, "built-in default")
    user_path = user_config_path(environ)
    apply(read_config(user_path).get(table, {}), str(user_path))
    if project_dir is not None:
        project_path = project_config_path(project_dir)
        apply(read_config(project_path).get(table, {}), str(project_path))
    if overrides:
        unknown = sorted(set(overrides) - set(schema))
        if unknown:
            raise InputError(
                f"unknown {backend.title} option(s) {', '.join(map(repr, unknown))}; "
                f"known: {', '.join(sorted(schema))}"
            )
        apply(overrides, "command line")
        backend.validate_settings({k: v for k, v in overrides.items() if v is not None}, "")
    return Settings(values, sources)
