"""Shared code of the reliability tests: `benchgrid` as a real process, and reading what it recorded."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from benchgrid.store.storage._layout import Layout
from benchgrid.store.storage._records import read_records

MISBEHAVE = "tests.runners.misbehave:misbehave"


def cli(*args: str, timeout_s: float = 120, stdin: Any = None) -> subprocess.CompletedProcess[str]:
    """Run ``benchgrid ARGS`` as its own process (a real exit code, real signals, a real stderr)."""
    return subprocess.run(
        [sys.executable, "-m", "benchgrid", *args], capture_output=True, text=True, timeout=timeout_s, stdin=stdin
    )


def requeue_records(root: Path) -> list[dict[str, Any]]:
    return read_records(Layout(root).requeue)[0]


def project_events(root: Path) -> list[dict[str, Any]]:
    return read_records(Layout(root).events)[0]


def pid_alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
