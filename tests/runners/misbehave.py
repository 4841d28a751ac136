"""Runners that misbehave the way real ML code does: each one misbehaves only for the job that asks it to."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


def _mark(marker_dir: str | None, what: str) -> None:
    if marker_dir:
        (Path(marker_dir) / f"{what}-{os.getpid()}").touch()


_DAEMON = """
import os, sys, time
if os.fork() == 0:
    os.setsid()
    pid = os.fork()
    if pid == 0:
        if sys.argv[1]:
            open(os.path.join(sys.argv[1], f"daemon-{os.getpid()}"), "w").close()
        while True:
            time.sleep(1)
    while sys.argv[1] and not os.path.exists(os.path.join(sys.argv[1], f"daemon-{pid}")):
        time.sleep(0.01)  # the job goes on once its daemon is there to be found
    os._exit(0)
os.wait()
"""


def misbehave(i: int, how: str = "", bad: int = -1, marker_dir: str | None = None, **params: Any) -> dict[str, Any]:
    """Job ``bad`` misbehaves as ``how`` says; every other job returns ``{"i": i}``."""
    if i != bad:
        return {"i": i}
    _mark(marker_dir, f"started-{i}")
    if how == "segv":
        ctypes.string_at(0)  # a real SIGSEGV in C code
    if how == "os_exit":
        os._exit(3)
    if how == "sigkill_self":
        os.kill(os.getpid(), signal.SIGKILL)
    if how == "sys_exit":
        sys.exit(3)
    if how == "keyboard_interrupt":
        raise KeyboardInterrupt
    if how == "circular":
        result: dict[str, Any] = {"i": i}
        result["self"] = result
        return result
    if how == "hang":
        while True:
            time.sleep(0.05)
    if how == "hang_with_child":
        child = subprocess.Popen([sys.executable, "-c", "import time\nwhile True: time.sleep(1)"])
        _mark(marker_dir, f"child-{child.pid}")
        while True:
            time.sleep(0.05)
    if how == "hang_with_daemon":  # a daemon: double fork, the middle one exits, the last one in a session of its own
        subprocess.run([sys.executable, "-c", _DAEMON, marker_dir or ""], check=True)
        while True:
            time.sleep(0.05)
    if how == "segv_with_daemon":  # the same daemon, then the worker itself dies
        subprocess.run([sys.executable, "-c", _DAEMON, marker_dir or ""], check=True)
        ctypes.string_at(0)
    if how == "hang_in_c":
        libc = ctypes.CDLL(None)
        libc.sleep(3600)  # a `fit` stuck in C code: no Python bytecode runs
    raise ValueError(f"unknown misbehaviour {how!r}")


def big_result(i: int, kb: int = 20, **params: Any) -> dict[str, Any]:
    """A result of about ``kb`` kilobytes (fills a small disk in a few jobs)."""
    return {"i": i, "blob": "x" * (kb * 1024)}
