"""Breaking an expired lock: one waiter breaks a given taking, ever, and a late holder writes nothing.

CI once handed a job out twice after a lock holder was killed with workers
on two clients: two waiters both judged the dead holder's lease over; the
first broke the lock and took it, and the second, acting on what it had
read before, broke the *new* holder's lock and went in too (flufl.lock's
break, which its own comment says "reduces but does not eliminate the
chance for a race"). These tests hold a real process at the step where
that happens (``BENCHGRID_PAUSE_AT``) and check, with real processes on one
folder and across the two caching clients of the bed, that no two holders
are ever inside at once while both their leases run and no increment of a
shared counter is lost. A holder that has ended (killed, even if not yet
reaped) holds nothing, and one that stalled past its lease is broken and
writes nothing: the lock promises no more (see ``_lock_actor``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchgrid.store.storage._lease_lock import LeaseLock, LockLost
from tests.worker.helpers import stop_all, wait_until

ACTOR = [sys.executable, "-m", "tests.store._lock_actor"]
REPO = Path(__file__).resolve().parents[2]


def _actor(
    lock: Path, lease_s: float, hold_s: float, report: Path, cycles: int = 1, pause: str | None = None,
    witness: Path | None = None,
):
    """An actor taking ``lock``; its witnesses (inside marker, counter) in ``witness`` (the server's side)."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    env.pop("BENCHGRID_PAUSE_AT", None)
    if pause:
        env["BENCHGRID_PAUSE_AT"] = pause
    args = [str(lock), str(lease_s), str(hold_s), str(report), str(cycles)]
    args += [str(witness)] if witness is not None else []
    return subprocess.Popen(ACTOR + args, env=env, cwd=REPO, stderr=subprocess.PIPE if pause else None, text=True)


def _wait_paused(proc: subprocess.Popen, step: str) -> None:
    """Block until ``proc`` says it is pausing at ``step`` (see ``BENCHGRID_PAUSE_AT``)."""
    assert proc.stderr is not None
    for line in proc.stderr:
        if f"pausing at {step}" in line:
            return
    raise AssertionError(f"the process ended (exit {proc.wait()}) without pausing at {step}")


def _kill_a_holder(lock: Path, tmp_path: Path, lease_s: float = 2.0) -> float:
    """A real holder with a ``lease_s`` lease, SIGKILLed inside the lock; returns when it was killed."""
    holder = _actor(lock, lease_s, 0, tmp_path / "holder.json", pause="lock.held:600")
    try:
        _wait_paused(holder, "lock.held")
        os.kill(holder.pid, signal.SIGKILL)
        assert holder.wait(timeout=30) == -signal.SIGKILL
    finally:
        stop_all([holder])
    return time.time()


def _report(path: Path) -> dict:
    return json.loads(path.read_text())


def _paused_then_other(fs_pair, tmp_path, first: tuple, second: tuple) -> tuple[dict, dict]:
    """Start ``first`` = (name, lease_s, hold_s, "step:seconds") on client A, wait until it pauses at
    that step, start ``second`` = (name, lease_s, hold_s) on client B; both must end well. Their reports."""
    (n1, lease1, hold1, pause), (n2, lease2, hold2) = first, second
    p1 = _actor(fs_pair.a / "lock", lease1, hold1, tmp_path / f"{n1}.json", pause=pause, witness=fs_pair.backing)
    procs = [p1]
    try:
        _wait_paused(p1, pause.split(":")[0])
        procs.append(_actor(fs_pair.b / "lock", lease2, hold2, tmp_path / f"{n2}.json", witness=fs_pair.backing))
        for name, p in zip((n1, n2), procs):
            assert p.wait(timeout=60) == 0, _report(tmp_path / f"{name}.json")
    finally:
        stop_all(procs)
    return _report(tmp_path / f"{n1}.json"), _report(tmp_path / f"{n2}.json")


@pytest.mark.slow
def test_second_waiter_acting_late_on_an_expired_lease_does_not_break_the_new_holder(fs_pair, tmp_path):
    _kill_a_holder(fs_pair.a / "lock", tmp_path)
    # X judges the dead holder's lease over, then stops for 3 s before breaking it; meanwhile Y
    # (on the other client) judges it over too, breaks it, takes the lock and holds it for 4 s
    rx, ry = _paused_then_other(fs_pair, tmp_path, ("x", 12, 0.1, "lock.judged_expired:3"), ("y", 12, 4))
    (cx,), (cy,) = rx["cycles"], ry["cycles"]
    assert cx["enter"] >= cy["exit"], f"X went in while Y held the lock: X {cx}, Y {cy}"
    assert cy["still_ours"] and cx["still_ours"]
    assert sorted(rx["counts"] + ry["counts"]) == [1, 2]
    # exactly one tombstone: the dead holder's taking, broken once
    broken = [n for n in os.listdir(fs_pair.backing) if n.startswith("lock.broken.")]
    assert len(broken) == 1, broken


@pytest.mark.slow
def test_holder_frozen_past_its_lease_writes_nothing_and_leaves_the_new_holders_lock(fs_pair, tmp_path):
    # F takes the lock (lease 2 s) and freezes 4 s right after; G breaks it after 2 s and holds it
    rf, rg = _paused_then_other(fs_pair, tmp_path, ("f", 2, 0, "lock.held:4"), ("g", 10, 2.5))
    assert rf["lost"] == 1 and rf["counts"] == [], rf  # F woke up past half its lease: wrote nothing
    assert rg["counts"] == [1] and rg["cycles"][0]["still_ours"], rg  # F's late release left G's lock alone
    assert not os.path.lexists(fs_pair.backing / "lock")  # and G released it


def _state(pid: int) -> str:
    """The state letter of process ``pid`` in /proc ("Z": a zombie, killed and not yet reaped)."""
    stat = Path(f"/proc/{pid}/stat").read_bytes()
    return stat[stat.rfind(b")") + 2 :].split()[0].decode()


def test_a_holder_killed_inside_and_not_yet_reaped_has_left(fs_pair, tmp_path):
    # H is SIGKILLed inside (its marker made) and its parent, this test, does not reap it: a zombie. The lock
    # breaks its taking at once (its process has ended); the next holder must not take it for a holder still
    # inside (CI once did, under load: kill(pid, 0) succeeds on a zombie, and the test reaps a moment after)
    holder = _actor(fs_pair.a / "lock", 2, 0, tmp_path / "h.json", pause="actor.inside:600", witness=fs_pair.backing)
    procs = [holder]
    try:
        _wait_paused(holder, "actor.inside")
        os.kill(holder.pid, signal.SIGKILL)
        wait_until(lambda: _state(holder.pid) == "Z", 30, "the killed holder to become a zombie")
        procs.append(_actor(fs_pair.b / "lock", 2, 0, tmp_path / "n.json", witness=fs_pair.backing))
        assert procs[1].wait(timeout=60) == 0, _report(tmp_path / "n.json")
        assert _state(holder.pid) == "Z"  # not reaped all along
    finally:
        stop_all(procs)
    assert _report(tmp_path / "n.json")["counts"] == [1]


@pytest.mark.slow
def test_holder_stalled_inside_past_its_lease_is_broken_and_writes_nothing(fs_pair, tmp_path):
    # F makes its marker and stalls 4 s (lease 2 s). G breaks the lease once it has seen it for 2 s, goes in
    # and finds F's marker: F ran past its lease, where the lock's promise ends, so that is no overlap; G
    # waits for F to leave. F wakes past half its lease: check_held refuses and F writes nothing
    rf, rg = _paused_then_other(fs_pair, tmp_path, ("f", 2, 0, "actor.inside:4"), ("g", 10, 0))
    assert rf["lost"] == 1 and rf["counts"] == [], rf
    assert rg["counts"] == [1] and [o["other"] for o in rg["overran"]] == [rf["pid"]], rg


@pytest.mark.slow
def test_many_holders_some_killed_inside_never_overlap_and_lose_no_increment(fs_pair, tmp_path):
    n_actors, cycles = 6, 40
    reports = [tmp_path / f"r{i}.json" for i in range(n_actors * 3)]
    sides = [fs_pair.on("ab"[i % 2]) / "lock" for i in range(len(reports))]
    # the lock is taken through the two clients; its witnesses sit on the server's side (see _lock_actor)
    procs = {i: _actor(sides[i], 2, 0.005, reports[i], cycles, witness=fs_pair.backing) for i in range(n_actors)}
    started, kills = n_actors, 0
    all_procs = list(procs.values())
    try:
        deadline = time.monotonic() + 240
        while procs and time.monotonic() < deadline:
            # look often while kills are due: a holder is inside for a few ms of each cycle, and a look every
            # 0.3 s once let all six finish with only two kills (CI)
            time.sleep(0.02 if kills < 3 else 0.3)
            for i, p in list(procs.items()):
                if p.poll() is not None:
                    assert p.returncode == 0, (i, p.returncode, reports[i].read_text() if reports[i].exists() else "")
                    del procs[i]
            if kills < 3 and procs:  # kill the one inside the lock (if any), and start another
                try:
                    inside = int((fs_pair.backing / "lock.inside").read_text().split()[0])
                except (FileNotFoundError, ValueError, IndexError):
                    continue
                victims = [i for i, p in procs.items() if p.pid == inside]
                if not victims:
                    continue
                os.kill(procs.pop(victims[0]).pid, signal.SIGKILL)
                all_procs[victims[0]].wait(timeout=30)  # reaped; until then a zombie, which has ended all the same
                kills += 1
                procs[started] = _actor(sides[started], 2, 0.005, reports[started], cycles, witness=fs_pair.backing)
                all_procs.append(procs[started])
                started += 1
        assert not procs, "the actors did not finish in time"
    finally:
        stop_all(all_procs)
    written = [c for r in reports[:started] if r.exists() for c in _report(r)["counts"]]
    assert kills == 3
    assert len(written) == len(set(written)), "two holders wrote the same counter value: a lost update"
    final = int((fs_pair.backing / "lock.count").read_text())
    assert len(written) <= final <= len(written) + kills
    assert sum(1 for r in reports[:started] if r.exists() and _report(r).get("done")) == started - kills


def test_lock_lost_after_half_the_lease(tmp_path):
    lock = LeaseLock(tmp_path / "lock", lifetime_s=2)
    with lock:
        lock.check_held()
        lock._written -= 1.5  # as if this process had been frozen 1.5 s
        with pytest.raises(LockLost, match="longer than half its lease"):
            lock.check_held()
        with pytest.raises(LockLost):
            lock.renew()
    # released late: by way of its own tombstone, since nobody broke it
    assert not (tmp_path / "lock").exists()
    assert [n for n in os.listdir(tmp_path) if n.startswith("lock.broken.")]


def test_renew_restarts_the_lease(tmp_path):
    lock = LeaseLock(tmp_path / "lock", lifetime_s=2)
    with lock:
        lock._written -= 0.9
        lock.renew()
        lock._written -= 0.9
        lock.check_held()  # 1.8 s held in all, but renewed at 0.9 s
        lease = json.loads((tmp_path / "lock").read_bytes())
        assert lease["lease_s"] == 2 and abs(lease["t"] - time.time()) < 5
    assert os.listdir(tmp_path) == []  # released in time: nothing left behind


def test_damaged_lock_is_broken_once_the_waiter_saw_it_unchanged_for_its_lease(tmp_path):
    path = tmp_path / "lock"
    path.write_bytes(b"\x00garbage")
    future = time.time() + 3600  # its mtime says nothing: only what the waiter itself saw counts
    os.utime(path, (future, future))
    t0 = time.monotonic()
    with LeaseLock(path, lifetime_s=2, timeout_s=5):
        assert json.loads(path.read_bytes())["lease_s"] == 2
    assert time.monotonic() - t0 >= 2
    fresh = tmp_path / "lock2"
    fresh.write_bytes(b"garbage")
    with pytest.raises(Exception, match="could not take the project lock"):
        with LeaseLock(fresh, lifetime_s=2, timeout_s=0.5):
            pass
    assert fresh.read_bytes() == b"garbage"  # a fresh damaged lock is not broken


def test_a_damaged_lock_naming_another_file_does_not_delete_it(tmp_path):
    victim = tmp_path / "precious"
    victim.write_text("keep")
    path = tmp_path / "lock"
    path.write_text(json.dumps({"token": "precious", "t": 0, "lease_s": 1}))
    with LeaseLock(path, lifetime_s=2, timeout_s=5):
        pass
    assert victim.read_text() == "keep"


def _lose_the_lock_once(monkeypatch, where: str):
    """The first check_held() raises LockLost, as in a process frozen under the lock past half its lease."""
    calls = {"n": 0}
    real = LeaseLock.check_held

    def check_held(self):
        calls["n"] += 1
        if calls["n"] == 1:
            raise LockLost(f"frozen ({where})")
        return real(self)

    monkeypatch.setattr(LeaseLock, "check_held", check_held)
    return calls


def test_claim_and_put_back_are_made_again_when_the_lock_was_lost(proj_dir, monkeypatch):
    from benchgrid import Project
    from benchgrid.store.storage._records import read_records

    proj = Project.create(proj_dir, [{"i": i} for i in range(6)], "tests.runners.jobs:noop")
    queue = proj._queue()
    calls = _lose_the_lock_once(monkeypatch, "claim")
    claims = queue.claim("w1", 3)
    assert [c.job_id for c in claims] == [0, 1, 2] and calls["n"] >= 2
    claim_records = [r for r in read_records(proj_dir / "queue" / "claims.log")[0] if r.get("op") == "claim"]
    assert len(claim_records) == 1  # the refused attempt wrote nothing

    calls = _lose_the_lock_once(monkeypatch, "put back")
    back = queue.put_back(claims[:2], "handed back", "w1")
    assert [c.job_id for c in back] == [0, 1] and calls["n"] >= 2
    lines = read_records(proj_dir / "queue" / "requeue.log")[0]
    assert [(r["job"], r["a"]) for r in lines] == [(0, 1), (1, 1)]  # once each


def test_a_recovery_that_lost_the_lock_leaves_the_rest_to_the_next_look(proj_dir, monkeypatch):
    from benchgrid import Project
    from benchgrid.store.storage._leases import expire_dead_workers
    from benchgrid.store.storage._records import read_records
    from tests.worker.helpers import start_worker, wait_state

    proj = Project.create(proj_dir, [{"i": i, "seconds": 60} for i in range(4)], "tests.runners.jobs:sleep", lease_s=2)
    worker = start_worker(proj_dir, "doomed")
    try:
        wait_state(proj_dir, 0, "running", timeout_s=60)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
    finally:
        stop_all([worker])
    queue = proj._queue()
    _lose_the_lock_once(monkeypatch, "recovery")
    assert expire_dead_workers(queue, by="test") == 0  # refused before writing: nothing put back yet
    assert read_records(proj_dir / "queue" / "requeue.log")[0] == []
    assert expire_dead_workers(queue, by="test") >= 1  # the next look does it
