"""`benchgrid status DIR --watch` in a real pseudo-terminal while real workers drain the project."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import benchgrid as bg
from tests.worker.helpers import start_worker, stop_all, wait_exit

N_JOBS = 24
ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\r")


def read_until(fd: int, proc: subprocess.Popen[bytes], buf: bytearray, done, timeout_s: float) -> None:  # type: ignore[no-untyped-def]
    """Read the terminal into ``buf`` until ``done(buf)`` or the process ends; fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not done(buf):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s; terminal so far:\n{plain(buf)[-2000:]}")
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: the child closed the terminal
                chunk = b""
            if not chunk and proc.poll() is not None:
                return
            buf += chunk
        elif proc.poll() is not None:
            return


def plain(buf: bytes) -> str:
    return ANSI.sub(b"", bytes(buf)).decode(errors="replace")


def test_watch_follows_workers_and_ends_by_itself(proj_dir: Path) -> None:
    jobs = [{"i": i, "seconds": 0.08} for i in range(N_JOBS)]
    bg.Project.create(proj_dir, jobs, "tests.runners.jobs:sleep")
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40"}
    env.pop("NO_COLOR", None)
    watcher = subprocess.Popen([sys.executable, "-m", "benchgrid", "status", str(proj_dir), "--watch"],
                               stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True)
    os.close(slave)
    buf = bytearray()
    workers: list[subprocess.Popen[bytes]] = []
    try:
        # the first frame, before any worker: nothing finished yet
        read_until(master, watcher, buf, lambda b: f"0/{N_JOBS}".encode() in b, 60)
        assert watcher.poll() is None, "the watch must wait while jobs are pending"
        workers = [start_worker(proj_dir, f"wa{i}") for i in range(2)]
        read_until(master, watcher, buf, lambda b: False, 120)  # until the watch exits by itself
        assert wait_exit(watcher, 10, "status --watch") == 0
        for w in workers:
            assert wait_exit(w, 30) == 0
    finally:
        stop_all([watcher, *workers])
        os.close(master)
    text = plain(buf)
    finished = [int(n) for n in re.findall(rf"\b(\d+)/{N_JOBS}\b", text)]
    assert finished[0] == 0 and finished[-1] == N_JOBS
    assert finished == sorted(finished), "finished counts never go down"
    assert len(set(finished)) >= 3, f"counts must change while workers run, saw {sorted(set(finished))}"
    assert re.search(r"wa[01]-\d+-\w+", text), "one line per active worker"
    assert "jobs/s" in text and "ETA" in text
    assert f"finished: {N_JOBS} done, 0 error" in text


def test_watch_piped_prints_lines_and_exit_code_counts_errors(proj_dir: Path) -> None:
    proj = bg.Project.create(proj_dir, [{"i": i} for i in range(4)], "tests.runners.jobs:fail_some")
    proj.run(n_workers=0, progress=False)
    out = subprocess.run([sys.executable, "-m", "benchgrid", "status", str(proj_dir), "--watch"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1, out.stderr  # jobs 0 and 3 ended in error
    assert "4/4 finished | 2 done | 0 running | 2 error" in out.stdout
    assert "finished: 2 done, 2 error, 0 failed of 4 jobs" in out.stdout
    assert "benchgrid retry" in out.stdout
