"""Plain runner functions the core tests use (no ML)."""

from __future__ import annotations

import os
import time


def noop(**params):
    return None


def echo(i: int, **params):
    return {"value": i * 2}


def sleep(i: int = 0, seconds: float = 0.0, **params):
    time.sleep(seconds)
    return {"slept": seconds, "pid": os.getpid()}


def fail_some(i: int, fail_every: int = 3, **params):
    if i % fail_every == 0:
        raise ValueError(f"job {i} fails on purpose")
    return {"value": i}


def allocate(i: int, mb: int = 10, **params):
    block = bytearray(mb * 1024 * 1024)
    return {"bytes": len(block)}


def seeded(i: int, **params):
    from benchgrid import current_job

    return {"seed": current_job().seed}


def mark_and_sleep(i: int, marker_dir: str, first_s: float = 0.0, then_s: float = 0.0, **params):
    """Leave ``started-<i>-<attempt>-<pid>`` in ``marker_dir``, then sleep.

    The first attempt sleeps ``first_s`` and later ones ``then_s``, so a test
    can catch a worker in the middle of a long job and see a second worker
    finish it quickly.
    """
    from benchgrid import current_job

    attempt = current_job().attempt
    with open(os.path.join(marker_dir, f"started-{i}-{attempt}-{os.getpid()}"), "w"):
        pass
    seconds = first_s if attempt == 1 else then_s
    time.sleep(seconds)
    return {"slept": seconds, "pid": os.getpid()}


def fail_first_attempt(i: int, fail_every: int = 3, **params):
    """Raise on every ``fail_every``-th job on its first attempt only (so a retry succeeds)."""
    from benchgrid import current_job

    if i % fail_every == 0 and current_job().attempt == 1:
        raise ValueError(f"job {i} fails on purpose")
    return {"value": i}


def allocate_slowly(i: int, mb: int = 10, step_mb: int = 25, step_s: float = 0.02, **params):
    """Allocate ``mb`` MB in steps, touching every page, so the resident size really grows."""
    blocks = []
    size = step_mb * 1024 * 1024
    for _ in range(0, mb, step_mb):
        block = bytearray(size)
        block[::4096] = b"\1" * len(range(0, size, 4096))  # touch every page: resident, without a copy
        blocks.append(block)
        time.sleep(step_s)
    return {"mb": len(blocks) * step_mb, "pid": os.getpid()}


def report_peak(i: int, peak_mb: float | None = None, fail: bool = False, **params):
    """Return ``peak_mem_mb`` as the ML runner does (or fail), so tests can set observed peaks."""
    if fail:
        raise ValueError(f"job {i} fails on purpose")
    return {} if peak_mb is None else {"peak_mem_mb": peak_mb}


def allocate_in_child(i: int, child_mb: int = 0, hold_s: float = 3.0, **params):
    """A job whose memory is in a child process (joblib, a subprocess): the worker's own RSS does not show it."""
    if child_mb:
        import subprocess
        import sys

        code = (
            "import time; b = bytearray(%d * 1024 * 1024)\n"
            "for j in range(0, len(b), 4096): b[j] = 1\n"
            "time.sleep(%f)" % (child_mb, hold_s)
        )
        subprocess.run([sys.executable, "-c", code], check=True)
    return {"i": i}


def allocate_in_children(i: int, child_mb: int = 0, n_children: int = 2, hold_s: float = 3.0, **params):
    """``n_children`` processes at once, each holding ``child_mb`` MB (a joblib pool): each under a per-process
    limit (Grid Engine's h_vmem is also ``ulimit -v``), together over the job's (what Grid Engine kills for)."""
    import subprocess
    import sys

    code = (
        "import time; b = bytearray(%d * 1024 * 1024)\n"
        "for j in range(0, len(b), 4096): b[j] = 1\n"
        "time.sleep(%f)" % (child_mb, hold_s)
    )
    children = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(n_children if child_mb else 0)]
    codes = [c.wait() for c in children]
    if any(codes):
        raise RuntimeError(f"children ended with {codes}")
    return {"i": i}


def sleep_or_fail(i: int, seconds: float = 0.0, **params):
    """Sleep ``seconds`` (a job to interrupt); every third job raises (an error record)."""
    if i % 3 == 0:
        raise ValueError(f"job {i} fails on purpose")
    time.sleep(seconds)
    return {"slept": seconds}


def overwrite(x: int, **params):
    """A runner whose result names a parameter and benchgrid's own columns (issue 23)."""
    return {"x": 99, "job_id": -1, "state": "hacked", "attempt": 7, "y": x * 10}
