"""A process SIGKILLed while it holds the project lock must not block the others for long.

The holder is a real process inside the real critical section: it calls
``Queue.claim`` with a ``publish`` hook (which the claim protocol runs under
the lock, before the claim record is written) that reports and then hangs.
It is SIGKILLed there. A lock without a lease (a plain O_EXCL file, or
flufl.lock with an unbounded lifetime) would block everyone forever; the
"lease" mode must free it after its lease, the "flock" mode at once (the
kernel drops a dead process's flock).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from benchgrid import Project
from benchgrid.store.storage._layout import Layout
from benchgrid.store.storage._lock import make_lock
from tests.worker.helpers import assert_exactly_one_accepted, start_worker, stderr_of, stop_all, wait_exit, wait_until

LOCK_LEASE_S = 2.0  # the smallest lock lease a project accepts
TOLERANCE_S = 1.0  # process scheduling on a loaded 2-core machine, and the contender's back-off

HOLDER = textwrap.dedent(
    """
    import json, os, sys, time
    from pathlib import Path
    from benchgrid.store.storage._layout import read_project_json
    from benchgrid.store.storage._queue import Queue

    root, report = Path(sys.argv[1]), Path(sys.argv[2])
    queue = Queue(root, read_project_json(root)["settings"])

    def hang(claims, offset):  # runs under the project lock, before the claim record is written
        tmp = report.with_suffix(".tmp")
        tmp.write_text(json.dumps({"t": time.time(), "offset": offset, "claims": [c.to_list() for c in claims]}))
        os.replace(tmp, report)
        time.sleep(3600)

    queue.claim("holder", 4, publish=hang)
    """
)


def _kill_holder_inside_the_lock(proj_dir: Path, tmp_path: Path) -> dict:
    """Start the holder, wait until it is inside the critical section, SIGKILL it; return its report."""
    report = tmp_path / "holder.json"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(proj_dir), str(report)])
    try:
        wait_until(report.exists, timeout_s=30, what="the holder to enter the critical section")
        os.kill(holder.pid, signal.SIGKILL)
        assert holder.wait(timeout=10) == -signal.SIGKILL
    finally:
        stop_all([holder])
    info = json.loads(report.read_text())
    info["killed_at"] = time.time()
    return info


def _create(proj_dir: Path, lock: str, n_jobs: int = 10) -> None:
    Project.create(
        proj_dir, [{"i": i} for i in range(n_jobs)], "tests.runners.jobs:echo", lock=lock, lock_lease_s=LOCK_LEASE_S
    )


@pytest.mark.parametrize("lock", ["lease", "flock"])
def test_lock_of_killed_holder_is_free_within_the_lock_lease(proj_dir, tmp_path, lock):
    _create(proj_dir, lock)
    held = _kill_holder_inside_the_lock(proj_dir, tmp_path)
    # taken from the holder's entry into the critical section, the lock must be free after its lease
    wait_s = max(0.0, held["t"] + LOCK_LEASE_S + TOLERANCE_S - time.time())
    contender = make_lock(lock, Layout(proj_dir).lock, lifetime_s=LOCK_LEASE_S, timeout_s=wait_s)
    with contender:
        acquired = time.time()
    assert acquired - held["t"] <= LOCK_LEASE_S + TOLERANCE_S


@pytest.mark.slow
@pytest.mark.parametrize("lock", ["lease", "flock"])
def test_worker_finishes_every_job_after_holder_killed_mid_claim(proj_dir, tmp_path, lock):
    _create(proj_dir, lock)
    held = _kill_holder_inside_the_lock(proj_dir, tmp_path)
    assert held["claims"] == [[0, 1, 0], [1, 1, 0], [2, 1, 0], [3, 1, 0]]

    worker = start_worker(proj_dir, "after")
    try:
        bound_s = LOCK_LEASE_S + TOLERANCE_S
        assert wait_exit(worker, timeout_s=bound_s + 30) == 0, stderr_of(proj_dir, "after")
    finally:
        stop_all([worker])

    a = assert_exactly_one_accepted(proj_dir, 10)
    # the killed claim never committed: the worker claimed jobs 0-3 at attempt 1, once each
    assert len(a.claims) == 10 and all(w.startswith("after-") for _j, _a, w in a.claims)
    assert a.requeues == []
    first_claim_t = min(r["t"] for r in _claim_records(proj_dir))
    assert first_claim_t - held["t"] <= bound_s


def _claim_records(proj_dir: Path) -> list[dict]:
    from benchgrid.store.storage._records import read_records

    records, _ = read_records(Layout(proj_dir).claims)
    return [r for r in records if r.get("op") == "claim"]
