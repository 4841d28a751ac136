"""Fixtures that need a real scheduler: skip with the reason when none answers, fail under CI=true."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from typing import Callable

import pytest


def scheduler_missing(name: str) -> str | None:
    """None when the named scheduler answers on this machine, else why not."""
    if name == "slurm":
        if shutil.which("sbatch") is None:
            return "sbatch is not on PATH; start one with `sudo scripts/slurm-local start`"
        cmd = ["sinfo", "-h", "-o", "%T"]

        def ok(out: str) -> bool:
            return any(s.startswith(("idle", "mixed", "alloc", "completing")) for s in out.split())
    elif name == "sge":
        if shutil.which("qsub") is None:
            return "qsub is not on PATH; start one with `sudo scripts/sge-local start`"
        cmd = ["qstat", "-f"]

        def ok(out: str) -> bool:  # noqa: F811 - one check per scheduler
            # a queue instance line ends with its load; "-NA-" means execd is not there
            return any("@" in line and "-NA-" not in line for line in out.splitlines())
    else:
        return None
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"{cmd[0]} failed: {err}"
    if out.returncode != 0 or not ok(out.stdout):
        return f"no usable {name} host ({' '.join(cmd)}: {out.stdout.strip() or out.stderr.strip()!r})"
    return None


def require_scheduler(name: str) -> None:
    why = scheduler_missing(name)
    if why is None:
        return
    message = f"no {name} here: {why}"
    if os.environ.get("CI") == "true":
        pytest.fail(message + f" (CI=true: {name} tests must run)")
    pytest.skip(message)


@pytest.fixture(scope="module")
def sge() -> None:
    require_scheduler("sge")


def wait_for(predicate: Callable[[], object], timeout_s: float = 120, what: str = "condition") -> None:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")
