"""worker/_lease_keeper.py: a working worker's lease beats, a revoked worker stops, a broken clock is refused."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from benchgrid import Project
from benchgrid._errors import InputError
from benchgrid.store import Layout
from benchgrid.worker import Worker
from benchgrid.worker import _lease_keeper
from benchgrid.worker._lease_keeper import _Revoked

from .helpers import start_worker, stop_all, wait_exit, wait_started, wait_until


def _lease(root: Path) -> dict:
    (folder,) = Layout(root).workers_dir.iterdir()
    return json.loads((folder / "lease.json").read_text())


def test_a_worker_in_a_long_job_keeps_its_lease_beating(proj_dir: Path, tmp_path: Path) -> None:
    markers = tmp_path / "markers"
    markers.mkdir()
    Project.create(proj_dir, [{"i": 0, "marker_dir": str(markers), "first_s": 120.0}],
                   "tests.runners.jobs:mark_and_sleep", lease_s=1.0)
    proc = start_worker(proj_dir, "beating")
    try:
        wait_started(markers, job=0, attempt=1, timeout_s=30)
        first = wait_until(lambda: (lambda lease: lease if lease["current"] else None)(_lease(proj_dir)),
                           timeout_s=10, what="the lease to name the running job")
        later = wait_until(lambda: (lambda lease: lease if lease["beat"] >= first["beat"] + 2 else None)(_lease(proj_dir)),
                           timeout_s=10, what="two more heartbeats while the job runs")
        assert later["current"][:2] == first["current"][:2] == [0, 1]
        assert later["state"] == "running" and later["held"] == first["held"] and later["pid"] == proc.pid
        proc.send_signal(signal.SIGTERM)
        assert wait_exit(proc, timeout_s=10) == 0
        assert _lease(proj_dir)["state"] == "exited"
    finally:
        stop_all([proc])


def test_a_revoked_worker_stops(proj_dir: Path) -> None:
    Project.create(proj_dir, [{"i": 0}], "tests.runners.jobs:noop")
    worker = Worker(proj_dir)
    worker.events.open()
    worker._check_revoked(now=1.0)  # nothing revoked: goes on
    (worker.dir / "revoked").touch()
    with pytest.raises(_Revoked):
        worker._check_revoked(now=2.0)
    worker.events.close()
    worker.events.detach_log()


@pytest.mark.parametrize(("offset_s", "word"), [(3 * 86400.0, "ahead of"), (-3 * 86400.0, "behind")])
def test_a_clock_days_off_the_file_servers_is_refused(proj_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                                      offset_s: float, word: str) -> None:
    Project.create(proj_dir, [{"i": 0}], "tests.runners.jobs:noop")
    monkeypatch.setattr(_lease_keeper, "clock_offset_s", lambda folder: offset_s)
    with pytest.raises(InputError, match=rf"clock \(.*\) is 72:00:00 {word} the file server's .*fix the host's time"):
        Worker(proj_dir).run(handle_signals=False)
    assert Project.open(proj_dir).status().counts["pending"] == 1  # refused before any claim


def test_a_clock_near_the_file_servers_is_recorded_in_the_lease(proj_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Project.create(proj_dir, [{"i": 0}], "tests.runners.jobs:noop")
    monkeypatch.setattr(_lease_keeper, "clock_offset_s", lambda folder: 0.25)
    summary = Worker(proj_dir).run(handle_signals=False)
    assert summary.done == 1
    assert _lease(proj_dir)["clock_offset_s"] == 0.25
