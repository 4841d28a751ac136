"""A file the protocol itself removes or renames is a race, never a reason to stop a worker (issue 25).

On the NFS bed, 13 workers ended with exit 2 ("cannot write or read: No such
file or directory", no file named) while their peers finished: the lock
vanished between a waiter's ``open`` and its ``fstat`` (the holder released
it), and ``link`` met ``ESTALE``. Each step where such a race strikes has an
error point (``BENCHGRID_FAIL_AT=step:ERRNO:k`` raises that error the k-th
time the step is passed); a worker given the error finishes with exit 0 beside
a peer, every job once. Run on one local folder and on the two caching
clients of the bed, with workers on both clients.

The lock's ``open`` and ``fstat`` on the bed are also raced for real: a
waiter paused between them while the holder releases.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from benchgrid import Project
from benchgrid.store.storage._faults import ERROR_STEPS
from benchgrid.store.storage._layout import Layout
from tests.store.test_lock_holder_killed import HOLDER
from tests.worker.helpers import stderr_of, stop_all, wait_exit, wait_until, worker_cmd

from .helpers import assert_done_exactly_once, check_clean

N_JOBS = 600
HOLD_A_SECOND = (
    "import sys, time\nfrom pathlib import Path\nfrom benchgrid.store.storage._lease_lock import LeaseLock\n"
    "with LeaseLock(Path(sys.argv[1]), lifetime_s=15):\n    time.sleep(1.0)\n"
)
LOCK_STEPS = [s for s in ERROR_STEPS if s != "lock.rename"]


def _start(root, name, out_dir, env=None):
    err = open(out_dir / f"{name}.err", "wb")
    try:
        return subprocess.Popen(worker_cmd(root, name), stdout=subprocess.DEVNULL, stderr=err,
                                env={**os.environ, **(env or {})})
    finally:
        err.close()


def _finish(procs, names, proj, tmp_path):
    try:
        codes = [wait_exit(p, timeout_s=180) for p in procs]
    finally:
        stop_all(procs)
    assert codes == [0] * len(procs), [stderr_of(proj, n, out_dir=tmp_path) for n, c in zip(names, codes) if c]


@pytest.mark.parametrize("errno_name", ["ENOENT", "ESTALE"])
@pytest.mark.parametrize("step", LOCK_STEPS)
def test_a_race_on_a_protocol_file_does_not_stop_the_worker(fs_pair, tmp_path, step, errno_name):
    proj = fs_pair.a / "proj"
    Project.create(proj, [{"i": i, "seconds": 0.003} for i in range(N_JOBS)], "tests.runners.jobs:sleep")
    # a live holder keeps the lock for a second, so that the workers wait and read its lease;
    # the first passage of the step fails
    holder = subprocess.Popen([sys.executable, "-c", HOLD_A_SECOND, str(Layout(fs_pair.on("b") / "proj").lock)])
    wait_until(lambda: Layout(fs_pair.backing / "proj").lock.exists(), 30, "the holder to take the lock")
    names = ["a0", "a1", "b0"]
    procs = [holder] + [_start(fs_pair.on(n[0]) / "proj", n, tmp_path,
                    {"BENCHGRID_FAIL_AT": f"{step}:{errno_name}:1"} if n == "a0" else None) for n in names]
    _finish(procs, ["holder", *names], proj, tmp_path)
    assert f"injected {errno_name} at {step}" in stderr_of(proj, "a0", out_dir=tmp_path), "the race never struck"
    assert_done_exactly_once(fs_pair.backing / "proj", N_JOBS)
    check_clean(fs_pair.backing / "proj")


@pytest.mark.parametrize("errno_name", ["ENOENT", "ESTALE"])
def test_a_race_while_breaking_a_dead_holders_lock_does_not_stop_the_worker(fs_pair, tmp_path, errno_name):
    proj = fs_pair.a / "proj"
    Project.create(proj, [{"i": i} for i in range(20)], "tests.runners.jobs:echo", lock_lease_s=2)
    report = tmp_path / "holder.json"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(fs_pair.on("b") / "proj"), str(report)])
    try:
        wait_until(report.exists, timeout_s=30, what="the holder to enter the critical section")
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=10)
    finally:
        stop_all([holder])
    w = _start(fs_pair.on("a") / "proj", "a0", tmp_path, {"BENCHGRID_FAIL_AT": f"lock.rename:{errno_name}:1"})
    _finish([w], ["a0"], proj, tmp_path)
    assert f"injected {errno_name} at lock.rename" in stderr_of(proj, "a0", out_dir=tmp_path)
    assert_done_exactly_once(fs_pair.backing / "proj", 20)
    check_clean(fs_pair.backing / "proj")


def test_a_persistent_error_stops_the_worker_naming_the_file(tmp_path):
    proj = tmp_path / "proj"
    Project.create(proj, [{"i": i} for i in range(3)], "tests.runners.jobs:echo")
    lock = Layout(proj).lock
    lock.mkdir()  # damage that persists: a folder where the lock belongs
    p = subprocess.run(worker_cmd(proj, "w"), capture_output=True, text=True, timeout=120)
    assert p.returncode == 2, p.stderr
    assert p.stderr.strip() == f"benchgrid: error: cannot write or read {str(lock)!r}: Is a directory", p.stderr
