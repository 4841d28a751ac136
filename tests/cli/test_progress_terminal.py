"""On a terminal, `benchgrid run` draws its progress bar and nothing prints into it (issue 23)."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import benchgrid as bg


def _on_a_terminal(*args: str) -> tuple[int, str]:
    """Run ``benchgrid ARGS`` with stdout and stderr on a new pseudo-terminal; its exit code and all it wrote."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchgrid", *args], stdin=subprocess.DEVNULL, stdout=follower, stderr=follower,
        env={**os.environ, "TERM": "xterm", "COLUMNS": "120"},
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # EIO: every writer closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    return proc.wait(timeout=120), b"".join(chunks).decode(errors="replace")


def test_workers_print_no_summary_line_into_the_bar(proj_dir: Path) -> None:
    bg.Project.create(proj_dir, [{"i": i} for i in range(12)], "tests.runners.jobs:echo")
    code, out = _on_a_terminal("run", str(proj_dir), "--workers", "2")
    assert code == 0, out
    assert "jobs" in out and "12/12" in out  # the bar was drawn
    assert "handed back in" not in out, out  # a worker's own summary line, printed into the bar before
    assert bg.Project.open(proj_dir).status().counts["done"] == 12
