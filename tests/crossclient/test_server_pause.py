"""A file server that pauses (failover, overload) revokes nobody (issue 25).

The two FUSE daemons of the bed are the only way to the shared folder, so
stopping both (SIGSTOP) stops the "server" for every worker at once, mid-run
with 8 workers (4 on each client), for 3 × the lease and for 30 s. Each
worker's file operations block; when the server resumes, every lease has
been unchanged for longer than the lease, and a recoverer that judged by
that alone would expire every worker at once. An observer that was itself
stalled adds the stall to its judgement (store/storage/_observe.py), so: no worker
revoked, no ``expired`` event, every job done once at attempt 1, and
``status`` counts no wasted run (store/storage/_wasted.py; printed with ``-s``).
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from benchgrid import Project
from benchgrid.store import WastedRuns
from benchgrid.store.storage._layout import Layout
from benchgrid.store.storage._records import read_records
from tests._two_clients import bed_dir
from tests.worker.helpers import start_worker, stderr_of, stop_all, wait_exit, wait_until

from .helpers import assert_done_exactly_once, check_clean
from .test_clock_skew import _assert_nobody_revoked

LEASE_S = 5.0
N_JOBS = 3_000


def _daemons() -> list[int]:
    run = Path(bed_dir()) / "run"
    return [int((run / f"{side}.pid").read_text()) for side in ("a", "b")]


def _claimers(root: Path) -> set[str]:
    """Workers that have a claim record so far."""
    records, _ = read_records(Layout(root).claims)
    return {str(r["w"]) for r in records if r.get("op") == "claim"}


def _ended(root: Path) -> int:
    """Jobs ended so far, from the workers' event logs (a ``t1`` per done, error or hand-back record)."""
    return sum(log.read_bytes().count(b'"t1"') for log in (root / "workers").glob("*/events.log"))


@pytest.mark.slow
@pytest.mark.parametrize("pause_s", [3 * LEASE_S, 30.0])
def test_a_paused_file_server_revokes_nobody(two_clients, tmp_path, pause_s):
    proj = two_clients.a / "proj"
    Project.create(proj, [{"i": i, "seconds": 0.01} for i in range(N_JOBS)], "tests.runners.jobs:sleep",
                   lease_s=LEASE_S, lock_lease_s=2)
    names = [f"{side}{i}" for side in "ab" for i in range(4)]
    procs = [start_worker(two_clients.on(n[0]) / "proj", n, out_dir=tmp_path) for n in names]
    daemons = _daemons()
    try:
        # mid-run: every worker has claimed, a quarter of the jobs have ended (read on the server's side)
        backing = two_clients.backing / "proj"
        wait_until(lambda: len(_claimers(backing)) == len(names) and _ended(backing) >= N_JOBS // 4, 120,
                   "every worker to claim and a quarter of the jobs to end")
        for pid in daemons:
            os.kill(pid, signal.SIGSTOP)
        ended_before = _ended(backing)  # read on the server's side: nothing there is stopped
        try:
            time.sleep(pause_s)  # the length of the outage is the point of the test
        finally:
            for pid in daemons:
                os.kill(pid, signal.SIGCONT)
        codes = [wait_exit(p, timeout_s=240) for p in procs]
    finally:
        stop_all(procs)
    assert 0 < ended_before < N_JOBS, f"the pause did not come mid-run ({ended_before} jobs had ended)"
    assert codes == [0] * len(procs), [stderr_of(proj, n, out_dir=tmp_path) for n, c in zip(names, codes) if c]
    a, fenced = assert_done_exactly_once(two_clients.backing / "proj", N_JOBS)
    assert fenced == 0 and {at for _j, at, _w in a.claims} == {1}, "jobs were run again after the pause"
    _assert_nobody_revoked(two_clients.backing / "proj")
    check_clean(two_clients.backing / "proj")
    wasted = Project.open(two_clients.backing / "proj").status().wasted
    print(f"server paused {pause_s:g} s with 8 workers on 2 clients, {N_JOBS} jobs ({ended_before} ended before "
          f"the pause): {wasted.text()}")
    assert wasted == WastedRuns(), wasted.text()
