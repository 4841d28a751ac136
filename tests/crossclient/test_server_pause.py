"""A file server that pauses (failover, overload) revokes nobody (issue 25).

The two FUSE daemons of the bed are the only way to the shared folder, so
stopping both (SIGSTOP) stops the "server" for every worker at once, mid-run
with 8 workers (4 on each client), for 3 × the lease and for 30 s. Each
worker's file operations block; when the server resumes, every lease has
been unchanged for longer than the lease, and a recoverer that judged by
that alone would expire every worker at once. An observer that was itself
stalled adds the stall to its judgement (store/storage/_observe.py), so: no worker
revoked, no ``expired`` event, every job done once at attempt 1.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from benchgrid import Project
from benchgrid.store.storage._layout import Layout
from tests._two_clients import bed_dir
from tests.worker.helpers import start_worker, stderr_of, stop_all, wait_exit, wait_until

from .helpers import assert_done_exactly_once, check_clean
from .test_clock_skew import _assert_nobody_revoked

LEASE_S = 5.0
N_JOBS = 3_000


def _daemons() -> list[int]:
    run = Path(bed_dir()) / "run"
    return [int((run / f"{side}.pid").read_text()) for side in ("a", "b")]


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
        claims = Layout(two_clients.backing / "proj").claims
        wait_until(lambda: claims.stat().st_size > 4000, 60, "the workers to be claiming")
        for pid in daemons:
            os.kill(pid, signal.SIGSTOP)
        try:
            time.sleep(pause_s)  # the length of the outage is the point of the test
        finally:
            for pid in daemons:
                os.kill(pid, signal.SIGCONT)
        codes = [wait_exit(p, timeout_s=240) for p in procs]
    finally:
        stop_all(procs)
    assert codes == [0] * len(procs), [stderr_of(proj, n, out_dir=tmp_path) for n, c in zip(names, codes) if c]
    a, fenced = assert_done_exactly_once(two_clients.backing / "proj", N_JOBS)
    assert fenced == 0 and {at for _j, at, _w in a.claims} == {1}, "jobs were run again after the pause"
    _assert_nobody_revoked(two_clients.backing / "proj")
    check_clean(two_clients.backing / "proj")
