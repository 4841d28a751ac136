"""Where things live in a project directory, and ``project.json``.

::

    project.json          format version, creation info, settings, runner
    jobs/part-00000.jsonl the job table, 10,000 jobs per part, append-only
    queue/claims.log      claim records; the last one holds the queue cursor
    queue/requeue.log     jobs put back (lease expired, handed back, retried)
    queue/events.log      project-wide events (failed after max attempts, retries)
    queue/drops.log       jobs dropped (never claimed again) and brought back (undrop)
    workers/<id>/         per worker: lease.json, events.log, worker.log
    inputs/               what a higher layer stores for its runner

Shared files (``queue/*``, ``jobs/*``) are written only while holding the
project lock; everything in ``workers/<id>/`` is written by that worker alone.
"""

from __future__ import annotations

import getpass
import os
import platform
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..._errors import ProjectError
from ._records import read_json, write_json_atomic

__all__ = [
    "FORMAT_VERSION", "Layout", "read_project_json", "write_project_json", "environment",
    "creation_temp_name", "interrupted_creations",
]

FORMAT_VERSION = 1


@dataclass(frozen=True)
class Layout:
    """Paths of one project directory.

    Examples
    --------
    >>> Layout(Path("/p")).claims
    PosixPath('/p/queue/claims.log')
    """

    root: Path

    @property
    def project_json(self) -> Path:
        return self.root / "project.json"

    @property
    def jobs_dir(self) -> Path:
        return self.root / "jobs"

    @property
    def queue_dir(self) -> Path:
        return self.root / "queue"

    @property
    def claims(self) -> Path:
        return self.root / "queue" / "claims.log"

    @property
    def requeue(self) -> Path:
        return self.root / "queue" / "requeue.log"

    @property
    def events(self) -> Path:
        return self.root / "queue" / "events.log"

    @property
    def drops(self) -> Path:
        return self.root / "queue" / "drops.log"

    @property
    def lock(self) -> Path:
        return self.root / "queue" / "lock"

    @property
    def workers_dir(self) -> Path:
        return self.root / "workers"

    @property
    def inputs_dir(self) -> Path:
        return self.root / "inputs"

    def worker_dir(self, worker_id: str) -> Path:
        return self.root / "workers" / worker_id


def creation_temp_name(path: Path) -> Path:
    """The temp sibling a new project is built in: ``.NAME.creating-HOST-PID-TOKEN``."""
    import secrets

    host = socket.gethostname().split(".")[0].replace("-", "_")
    return path.parent / f".{path.name}.creating-{host}-{os.getpid()}-{secrets.token_hex(3)}"


def interrupted_creations(path: Path) -> list[tuple[Path, bool]]:
    """Temp folders left by interrupted creations of ``path``, each with whether its creator is surely gone.

    Surely gone: it ran on this host and its pid no longer exists. A folder
    from another host (or an old benchgrid's name) cannot be judged.
    """
    out: list[tuple[Path, bool]] = []
    try:
        siblings = list(path.parent.glob(f".{path.name}.creating-*"))
    except OSError:
        return out
    this_host = socket.gethostname().split(".")[0].replace("-", "_")
    for tmp in sorted(siblings):
        parts = tmp.name.rsplit("-", 3)
        gone = False
        if len(parts) == 4 and parts[1] == this_host and parts[2].isdigit():
            try:
                os.kill(int(parts[2]), 0)
            except ProcessLookupError:
                gone = True
            except OSError:
                pass
        out.append((tmp, gone))
    return out


def environment() -> dict[str, Any]:
    """Python, package versions and host, recorded at creation for reproducibility."""
    from importlib import metadata

    packages = {}
    for name in ("benchgrid", "numpy", "pandas", "scikit-learn", "scipy", "pyarrow", "filelock"):
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "host": socket.gethostname(),
        "user": user,
        "packages": packages,
        "created_at": time.time(),
    }


def read_project_json(root: Path) -> dict[str, Any]:
    """Read and check ``project.json``; a clear ProjectError for every way it can be wrong."""
    path = Layout(root).project_json
    if not root.exists():
        left = interrupted_creations(root)
        if left:
            raise ProjectError(
                f"project directory {str(root)!r} does not exist: an `init` of it was interrupted and left "
                f"{str(left[0][0])!r}; run `benchgrid init` again (it removes that folder)"
            )
        raise ProjectError(f"project directory {str(root)!r} does not exist; create it with `benchgrid init`")
    if not root.is_dir():
        raise ProjectError(f"{str(root)!r} is a file, not a project directory")
    if not path.exists():
        left = interrupted_creations(root)
        if left:
            raise ProjectError(
                f"{str(root)!r} is not a benchgrid project (no project.json); an `init` of it was interrupted "
                f"and left {str(left[0][0])!r}: run `benchgrid init` again (it removes that folder)"
            )
        raise ProjectError(
            f"{str(root)!r} is not a benchgrid project (no project.json); "
            "give the directory that `benchgrid init` created"
        )
    try:
        info = read_json(path)
    except PermissionError:
        raise ProjectError(f"cannot read {str(path)!r}: permission denied; check its owner and mode") from None
    except (OSError, ValueError) as err:
        raise ProjectError(
            f"{str(path)!r} is corrupted ({err.__class__.__name__}: {err}); "
            "restore it from a backup or create the project again"
        ) from None
    if not isinstance(info, dict) or "format" not in info or "runner" not in info:
        raise ProjectError(f"{str(path)!r} is corrupted: it lacks 'format' or 'runner'")
    if not isinstance(info["format"], int) or info["format"] > FORMAT_VERSION:
        raise ProjectError(
            f"{str(root)!r} was written by a newer benchgrid (project format {info['format']!r}, "
            f"this benchgrid reads format {FORMAT_VERSION}); upgrade benchgrid: pip install -U benchgrid"
        )
    return info


def write_project_json(root: Path, info: dict[str, Any]) -> None:
    write_json_atomic(Layout(root).project_json, info)
