"""Fault injection across two caching clients: cut at every step on client A, carry on from client B.

The scenarios of ``tests/store/test_exactly_once.py`` (local disk), played
on the two mounts of the bed: the process cut right after step k
(``BENCHGRID_KILL_AT``) runs on client A; the recoverers, finishers and adds
after it alternate between the clients. The stale "absent" of the
``revoked`` marker is real here, not played by deleting it: both clients
look the marker up before any recovery, so each answers "absent" from its
negative-lookup cache for the next 3 s, which is when the later recoverers
run. Every scenario ends with, on the server side: every job done once, no
(job, attempt) handed out twice, the job that was put back put back once,
and ``benchgrid check`` finding nothing (on the server and through B).

Found on the bed (main at 968b4c7): a recovery cut after its requeue line
on B, then a second recoverer on A, puts job 0 back twice with attempt 2.
``queue/requeue.log`` does not exist until the first put-back; A looked for
it (a claim) and cached "absent"; its ``open()`` then fails from that cache
(``test_open_of_a_file_the_other_client_just_created_fails_from_the_cached_absent``)
and the missing log is read as empty. The same happens whenever a worker on
each client recovers the dead victim before the first put-back of the
project (claim cut at ``claim.appended``, hand-back cut at
``putback.locked``): both write the put-back, the job is handed out twice at
attempt 2. Logs that decide must exist from the project's creation on.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from benchgrid import Project
from benchgrid.store.storage._records import read_records
from tests._two_clients import FsPair
from tests.store.test_exactly_once import MARK, RECOVER, SETTINGS, SLEEP, _python, _worker
from tests.worker.helpers import stderr_of, stop_all, wait_exit, wait_started

from .helpers import assert_done_exactly_once, check_clean


def _finish_on_both(pair: FsPair, n_jobs: int) -> None:
    procs = [_worker(pair.on(side) / "proj", f"finish-{side}") for side in ("a", "b")]
    try:
        for side, p in zip(("a", "b"), procs):
            assert wait_exit(p, 120, f"finisher on {side}") == 0, stderr_of(pair.on(side) / "proj", f"finish-{side}")
    finally:
        stop_all(procs)
    a, fenced = assert_done_exactly_once(pair.backing / "proj", n_jobs)
    assert fenced == 0
    check_clean(pair.backing / "proj", pair.b / "proj")


def _put_back(pair: FsPair, job: int) -> list[tuple[int, int]]:
    requeues, _ = read_records(pair.backing / "proj" / "queue" / "requeue.log")
    return [(r["job"], r["a"]) for r in requeues if r["job"] == job]


@pytest.mark.parametrize("step", ["claim.locked", "claim.published", "claim.appended"])
def test_claim_cut_on_a_finished_from_both(two_clients: FsPair, step: str) -> None:
    # more jobs than on local disk: claims grow bigger on the slower bed, and the victim must claim 3 times
    jobs = [{"i": i, "seconds": 0.005} for i in range(400)]
    Project.create(two_clients.a / "proj", jobs, SLEEP, **SETTINGS)
    victim = _worker(two_clients.a / "proj", "victim", f"{step}:3")
    assert wait_exit(victim, 60, "victim") == -signal.SIGKILL
    _finish_on_both(two_clients, len(jobs))


@pytest.mark.parametrize("step", ["putback.locked", "putback.written", "recover.events", "recover.marked"])
def test_recovery_cut_on_b_then_recoverers_with_a_cached_absent_marker(
    two_clients: FsPair, tmp_path: Path, step: str
) -> None:
    pair = two_clients
    markers = tmp_path / "markers"
    markers.mkdir()
    jobs = [{"i": 0, "marker_dir": str(markers), "first_s": 120.0}]
    jobs += [{"i": i, "marker_dir": str(markers)} for i in range(1, 12)]
    Project.create(pair.a / "proj", jobs, MARK, **SETTINGS)
    victim = _worker(pair.a / "proj", "victim")
    try:
        wait_started(markers, 0, 1, timeout_s=60)
    finally:
        victim.kill()
        victim.wait()
    (victim_id,) = [d.name for d in (pair.backing / "proj" / "workers").iterdir()]
    for side in ("a", "b"):  # a scan of the dead worker on each client: "absent" cached for 3 s
        assert not (pair.on(side) / "proj" / "workers" / victim_id / "revoked").exists()

    cut = _python(RECOVER, step, str(pair.b / "proj"), "cut-on-b")
    assert cut.returncode == -signal.SIGKILL, cut.stderr
    for side, name in (("a", "second-on-a"), ("b", "third-on-b")):
        again = _python(RECOVER, None, str(pair.on(side) / "proj"), name)
        assert again.returncode == 0, again.stderr
    assert _put_back(pair, 0) == [(0, 2)], "job 0 put back more than once (or never)"
    _finish_on_both(pair, len(jobs))


@pytest.mark.parametrize("step", ["putback.locked", "putback.written", "handback.recorded"])
def test_handback_cut_on_a_finished_from_both(two_clients: FsPair, tmp_path: Path, step: str) -> None:
    pair = two_clients
    markers = tmp_path / "markers"
    markers.mkdir()
    jobs = [{"i": 0, "marker_dir": str(markers), "first_s": 120.0}]
    jobs += [{"i": i, "marker_dir": str(markers)} for i in range(1, 8)]
    Project.create(pair.a / "proj", jobs, MARK, **SETTINGS)
    victim = _worker(pair.a / "proj", "victim", step)
    try:
        wait_started(markers, 0, 1, timeout_s=60)
        victim.send_signal(signal.SIGTERM)
        assert wait_exit(victim, 60, "victim") == -signal.SIGKILL
    finally:
        stop_all([victim])
    _finish_on_both(pair, len(jobs))
    assert _put_back(pair, 0) == [(0, 2)]


@pytest.mark.parametrize("step", ["add.rows", "add.committed"])
def test_add_cut_on_a_then_add_and_finish_from_b(two_clients: FsPair, step: str) -> None:
    pair = two_clients
    Project.create(pair.a / "proj", [{"i": i} for i in range(10)], SLEEP, **SETTINGS)
    Project.open(pair.b / "proj").status()  # B has looked at the project (its caches are warm)
    code = "import sys; from benchgrid import Project; Project.open(sys.argv[1]).add_jobs([{'i': i} for i in range(10, 20)])"
    cut = _python(code, step, str(pair.a / "proj"))
    assert cut.returncode == -signal.SIGKILL, cut.stderr
    committed = 20 if step == "add.committed" else 10
    proj_b = Project.open(pair.b / "proj")
    assert proj_b.status().n_jobs == committed
    proj_b.add_jobs([{"i": i} for i in range(100, 105)])
    _finish_on_both(pair, committed + 5)
    params = sorted(int(i) for i in Project.open(pair.backing / "proj").results()["i"])
    assert params == list(range(committed)) + list(range(100, 105))
