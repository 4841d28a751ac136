"""Two views of one shared folder, for tests that must hold across caching clients.

``FsPair`` names one fresh folder three ways: ``a`` and ``b`` (what two
clients see) and ``backing`` (the folder itself, as the server has it; tests
audit the logs there, so no client cache can hide a duplicate).

- ``local``: all three are one local folder (the case of one machine);
- ``two_clients``: ``a`` and ``b`` are the same subfolder seen through the two
  mounts of ``scripts/two-clients``, each caching attributes, lookups and
  "absent" answers for ``actimeo_s`` seconds like an NFS client.

The bed is found at ``$BENCHGRID_TWO_CLIENTS`` (default
``/tmp/benchgrid-two-clients``). When it is not up, tests that need it skip,
except under ``CI=true``, where they fail (CI starts the bed, so its absence
is a broken CI, not a missing feature).
"""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

DEFAULT_DIR = "/tmp/benchgrid-two-clients"
FS_KINDS = ("local", "two_clients")


@dataclass(frozen=True)
class FsPair:
    """One fresh folder as client A, client B and the server see it."""

    kind: str
    a: Path
    b: Path
    backing: Path
    actimeo_s: float = 0.0

    def on(self, side: str) -> Path:
        """The folder as client ``side`` ('a' or 'b') sees it."""
        if side not in ("a", "b"):
            raise ValueError(f"side must be 'a' or 'b', got {side!r}")
        return self.a if side == "a" else self.b

    @property
    def caching(self) -> bool:
        """Whether the two views are distinct caching clients."""
        return self.kind == "two_clients"


def bed_dir() -> Path:
    return Path(os.environ.get("BENCHGRID_TWO_CLIENTS") or DEFAULT_DIR)


def _mounted(path: Path) -> bool:
    want = os.path.realpath(path)
    try:
        with open("/proc/mounts") as f:
            return any(line.split()[1] == want and line.split()[2].startswith("fuse") for line in f)
    except OSError:
        return False


def bed_problem(root: Path | None = None) -> str | None:
    """Why the two-client bed is not usable, or None when it is."""
    root = bed_dir() if root is None else root
    down = [c for c in ("a", "b") if not _mounted(root / c)]
    if down:
        return (
            f"the two-client test bed is not up (mount(s) {', '.join(str(root / c) for c in down)} missing); "
            "start it as root with: scripts/two-clients start"
        )
    for c in ("a", "b"):
        try:
            os.listdir(root / c)
        except OSError as err:  # ENOTCONN: the mount outlived its daemon
            return f"client {c} of the two-client test bed does not answer ({err}); restart it: scripts/two-clients start"
    if not (root / "backing").is_dir():
        return f"the two-client test bed has no backing folder {str(root / 'backing')!r}; restart it: scripts/two-clients start"
    return None


def require_bed() -> Path:
    """The bed's folder; skip the test when it is down, fail instead under CI=true."""
    problem = bed_problem()
    if problem is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(problem)
        pytest.skip(problem)
    return bed_dir()


def actimeo_s(root: Path) -> float:
    """The bed's cache timeout (written by ``scripts/two-clients start``; 3 s by default)."""
    try:
        return float((root / "run" / "actimeo").read_text())
    except (OSError, ValueError):
        return 3.0


def make_pair(kind: str, tmp_path: Path, label: str = "t") -> FsPair:
    """A fresh, unique folder of ``kind``; its name has a space and a quote, as users' paths have."""
    name = f"{label[:40]} {uuid.uuid4().hex[:10]} it's"
    if kind == "local":
        d = tmp_path / name
        d.mkdir()
        return FsPair("local", d, d, d)
    if kind == "two_clients":
        root = require_bed()
        backing = root / "backing" / name
        backing.mkdir()
        return FsPair("two_clients", root / "a" / name, root / "b" / name, backing, actimeo_s(root))
    raise ValueError(f"kind must be one of {FS_KINDS}, got {kind!r}")


def remove_pair(pair: FsPair) -> None:
    """Remove a bed folder from the server side (the bed's tmpfs is small)."""
    if pair.kind == "two_clients":
        shutil.rmtree(pair.backing, ignore_errors=True)
