"""Runners whose jobs start processes and stop them with SIGTERM, as process pools do."""

from __future__ import annotations

import multiprocessing
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HANDBACK = {int(signal.SIGTERM), int(signal.SIGINT), int(signal.SIGUSR1), int(signal.SIGUSR2)}


def _blocked(pid: int) -> list[int]:
    """The hand-back signals process ``pid`` blocks (its ``SigBlk`` in ``/proc``)."""
    text = Path(f"/proc/{pid}/status").read_text()
    mask = int(next(line for line in text.splitlines() if line.startswith("SigBlk:")).split()[1], 16)
    return sorted(s for s in HANDBACK if mask >> (s - 1) & 1)


def terminate_children(i: int, **params: Any) -> dict[str, Any]:
    """Start a child by exec and one by fork (multiprocessing), stop each with SIGTERM; say how they ended."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    forked = multiprocessing.get_context("fork").Process(target=time.sleep, args=(60,))
    forked.start()
    time.sleep(1.0)  # both are past their start (the exec'd one runs Python)
    blocked = {"exec": _blocked(child.pid), "fork": _blocked(forked.pid)}
    t0 = time.monotonic()
    child.terminate()
    forked.terminate()
    try:
        exec_code: int | None = child.wait(timeout=20)
    except subprocess.TimeoutExpired:
        exec_code = None
        child.kill()
    forked.join(timeout=20)
    fork_code = forked.exitcode
    if fork_code is None:
        forked.kill()
    return {"blocked_exec": blocked["exec"], "blocked_fork": blocked["fork"], "exec_code": exec_code,
            "fork_code": fork_code, "stop_s": time.monotonic() - t0}


def wait_for_child(i: int, marker_dir: str, **params: Any) -> dict[str, Any]:
    """Run a child process to its end (as ``subprocess.run(check=True)``): a child killed by a signal is an error."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    (Path(marker_dir) / f"child-{child.pid}").touch()
    code = child.wait()
    if code != 0:
        raise subprocess.CalledProcessError(code, "child")
    return {"child": child.pid}


def take_the_signals(i: int, marker_dir: str, **params: Any) -> dict[str, Any]:
    """Job 0 runs an asyncio loop with a SIGTERM handler, as a job's library may; the others mark and sleep.

    Closing that loop leaves SIGTERM at its default action and no wakeup fd:
    a SIGTERM during the next job would kill the worker unless it takes its
    signals back between jobs.
    """
    import asyncio

    from .jobs import mark_and_sleep

    if i != 0:
        return mark_and_sleep(i=i, marker_dir=marker_dir, **params)

    async def main() -> None:
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, lambda: None)
        await asyncio.sleep(0.01)

    asyncio.run(main())
    return {"sigterm_default_after": signal.getsignal(signal.SIGTERM) == signal.SIG_DFL}
