"""Exactly once, whatever crashes at whatever step (invariants 1 and 3).

Every multi-step write of the claim protocol is cut by a process that kills
itself right after step k (``BENCHGRID_KILL_AT``, see
``benchgrid.store.storage._faults``): a claim, a recovery of a dead worker, a
hand-back, an add. Then ordinary workers finish the project, and the logs
must show every job done once, no (job, attempt) handed out twice, and
``benchgrid check`` must find nothing. A recoverer that sees a stale
"absent" for the ``revoked`` marker (an NFS client's negative cache) is
played by deleting the marker: the requeue log, not the marker, decides.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from benchgrid import Project
from benchgrid.cli.main import main
from benchgrid.store import audit_logs
from benchgrid.store.storage._leases import is_dead, process_gone, process_identity
from benchgrid.store.storage._records import encode, read_records

from ..worker.helpers import (
    assert_exactly_one_accepted,
    start_worker,
    stderr_of,
    stop_all,
    wait_exit,
    wait_started,
    wait_state,
)

SLEEP = "tests.runners.jobs:sleep"
MARK = "tests.runners.jobs:mark_and_sleep"
# a long lease: only the same-host liveness rule (pid gone) can bring jobs back quickly
SETTINGS = {"lease_s": 60.0, "lock_lease_s": 2.0}


def _env(step: str | None) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("BENCHGRID_KILL_AT", None)
    if step:
        env["BENCHGRID_KILL_AT"] = step
    return env


def _worker(root: Path, name: str, step: str | None = None) -> subprocess.Popen[bytes]:
    err = open(root.parent / f"{name}.err", "wb")
    try:
        return subprocess.Popen(
            # small batches: the victim must claim several times (by default 10 ms jobs go out 50 at once)
            [sys.executable, "-m", "benchgrid", "work", str(root), "--name", name, "--max-batch", "4"],
            stdout=subprocess.DEVNULL, stderr=err, env=_env(step),
        )
    finally:
        err.close()


def _python(code: str, step: str | None = None, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code, *args], env=_env(step), capture_output=True, text=True, timeout=120)


RECOVER = """
import sys
from pathlib import Path
from benchgrid.store import Queue, read_project_json
from benchgrid.store.storage._leases import expire_dead_workers
root = Path(sys.argv[1])
q = Queue(root, read_project_json(root)["settings"])
print(expire_dead_workers(q, by=sys.argv[2]))
"""


def _finish(root: Path, n_jobs: int, name: str = "finisher") -> None:
    w = _worker(root, name)
    assert wait_exit(w, 120, name) == 0, stderr_of(root, name)
    assert_exactly_one_accepted(root, n_jobs)


@pytest.mark.parametrize("step", ["claim.locked", "claim.published", "claim.appended"])
def test_claim_cut_at_any_step(proj_dir: Path, step: str) -> None:
    jobs = [{"i": i, "seconds": 0.01} for i in range(30)]
    Project.create(proj_dir, jobs, SLEEP, **SETTINGS)
    victim = _worker(proj_dir, "victim", f"{step}:3")
    assert wait_exit(victim, 60, "victim") == -signal.SIGKILL
    _finish(proj_dir, len(jobs))


def _kill_a_worker_holding_job_0(root: Path, markers: Path) -> None:
    jobs = [{"i": 0, "marker_dir": str(markers), "first_s": 120.0}]
    jobs += [{"i": i, "marker_dir": str(markers)} for i in range(1, 12)]
    Project.create(root, jobs, MARK, **SETTINGS)
    victim = start_worker(root, "victim")
    try:
        wait_started(markers, 0, 1, timeout_s=30)
    finally:
        victim.kill()
        victim.wait()


@pytest.mark.parametrize("step", ["putback.locked", "putback.written", "recover.events", "recover.marked"])
def test_recovery_cut_at_any_step_then_a_stale_marker(proj_dir: Path, tmp_path: Path, step: str) -> None:
    markers = tmp_path / "markers"
    markers.mkdir()
    _kill_a_worker_holding_job_0(proj_dir, markers)
    cut = _python(RECOVER, step, str(proj_dir), "cut")
    assert cut.returncode == -signal.SIGKILL, cut.stderr
    again = _python(RECOVER, None, str(proj_dir), "second")
    assert again.returncode == 0, again.stderr
    # a third recoverer whose client still answers "absent" for the marker
    for marker in (proj_dir / "workers").glob("*/revoked"):
        marker.unlink()
    third = _python(RECOVER, None, str(proj_dir), "third")
    assert third.returncode == 0 and third.stdout.strip() == "0", third.stdout + third.stderr
    requeues, _ = read_records(proj_dir / "queue" / "requeue.log")
    assert [(r["job"], r["a"]) for r in requeues] == [(0, 2)]
    _finish(proj_dir, 12)


@pytest.mark.parametrize("step", ["putback.locked", "putback.written", "handback.recorded"])
def test_handback_cut_at_any_step(proj_dir: Path, tmp_path: Path, step: str) -> None:
    markers = tmp_path / "markers"
    markers.mkdir()
    jobs = [{"i": 0, "marker_dir": str(markers), "first_s": 120.0}]
    jobs += [{"i": i, "marker_dir": str(markers)} for i in range(1, 8)]
    Project.create(proj_dir, jobs, MARK, **SETTINGS)
    victim = _worker(proj_dir, "victim", step)
    try:
        wait_started(markers, 0, 1, timeout_s=30)
        victim.send_signal(signal.SIGTERM)
        assert wait_exit(victim, 30, "victim") == -signal.SIGKILL
    finally:
        stop_all([victim])
    _finish(proj_dir, len(jobs))
    requeues, _ = read_records(proj_dir / "queue" / "requeue.log")
    assert [(r["job"], r["a"]) for r in requeues if r["job"] == 0] == [(0, 2)]


@pytest.mark.parametrize("step", ["add.rows", "add.committed"])
def test_add_cut_at_any_step(proj_dir: Path, step: str) -> None:
    Project.create(proj_dir, [{"i": i} for i in range(10)], SLEEP, **SETTINGS)
    code = "import sys; from benchgrid import Project; Project.open(sys.argv[1]).add_jobs([{'i': i} for i in range(10, 20)])"
    cut = _python(code, step, str(proj_dir))
    assert cut.returncode == -signal.SIGKILL, cut.stderr
    committed = 20 if step == "add.committed" else 10
    proj = Project.open(proj_dir)
    assert proj.status().n_jobs == committed
    proj.add_jobs([{"i": i} for i in range(100, 105)])
    _finish(proj_dir, committed + 5)
    params = sorted(int(i) for i in proj.results()["i"])
    assert params == list(range(committed)) + list(range(100, 105))


def test_killed_worker_on_this_host_is_dead_at_once(proj_dir: Path, tmp_path: Path) -> None:
    """With a 60 s lease, a SIGKILLed worker's job comes back as soon as a live worker looks (about 1 s)."""
    markers = tmp_path / "markers"
    markers.mkdir()
    jobs = [{"i": 0, "marker_dir": str(markers), "first_s": 120.0}]
    jobs += [{"i": i, "marker_dir": str(markers), "first_s": 0.3} for i in range(1, 40)]
    Project.create(proj_dir, jobs, MARK, **SETTINGS)
    victim = start_worker(proj_dir, "victim")
    procs = [victim]
    try:
        wait_started(markers, 0, 1, timeout_s=30)
        other = start_worker(proj_dir, "other")
        procs.append(other)
        wait_started(markers, 1, 1, timeout_s=30)
        victim.kill()
        victim.wait()
        # far sooner than the 60 s lease: the other worker sees the pid gone and takes job 0 back
        wait_state(proj_dir, 0, ("queued", "running", "done"), timeout_s=10)
        assert wait_exit(other, 120, "other") == 0
    finally:
        stop_all(procs)
    a = assert_exactly_one_accepted(proj_dir, len(jobs))
    assert [(r["job"], r["a"], r["why"]) for r in a.requeues] == [(0, 2, "expired")]


def test_liveness_rule_pid_and_start_time() -> None:
    me = {"state": "running", "heartbeat": 1e18, "lease_s": 60, **process_identity()}
    assert not process_gone(me) and not is_dead(me)
    # the same pid with another start time is a reused pid: the worker is gone
    assert process_gone({**me, "pid_start": "1"}) and is_dead({**me, "pid_start": "1"})
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    ident = process_identity(child.pid)
    child.wait()
    assert process_gone({**me, **ident, "pid_start": ident["pid_start"] or "1"})
    # another host or another boot: no evidence either way, the heartbeat decides
    assert not process_gone({**me, "host": "elsewhere", "pid_start": "1"})
    assert not process_gone({**me, "boot": "other-boot", "pid_start": "1"})
    # an old heartbeat is dead whatever the host
    assert is_dead({**me, "host": "elsewhere", "heartbeat": 0})


def _done_project(root: Path, n: int = 20) -> None:
    Project.create(root, [{"i": i} for i in range(n)], SLEEP, **SETTINGS)
    w = _worker(root, "w1")
    assert wait_exit(w, 60) == 0


def test_check_finds_nothing_in_a_clean_project(proj_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _done_project(proj_dir)
    assert main(["check", str(proj_dir)]) == 0
    out = capsys.readouterr().out
    assert ": OK" in out
    assert main(["status", str(proj_dir)]) == 0
    assert "WARNING" not in capsys.readouterr().out


def test_check_reports_a_job_claimed_twice_and_status_says_so(proj_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _done_project(proj_dir)
    claims = proj_dir / "queue" / "claims.log"
    records, _ = read_records(claims)
    first_claim = next(r for r in records if r.get("op") == "claim")
    # what a stale cursor did: a second worker claims the same job with an old cursor
    stale = {**first_claim, "w": "stale-client"}
    with open(claims, "ab") as f:
        f.write(encode(stale))
    assert main(["check", str(proj_dir), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    kinds = {p.split(":")[0] for p in report["problems"]}
    assert {"claimed twice", "cursor went backwards", "claim not explained"} <= kinds
    assert "stale-client" in " ".join(report["problems"])
    # issue 23: a cursor behind runs that have results would hand them out again: status refuses, exit 2
    assert main(["status", str(proj_dir)]) == 2
    assert "lost its last records: workers have results of runs it never handed out" in capsys.readouterr().err


def test_check_reports_two_results_and_damaged_lines(proj_dir: Path) -> None:
    _done_project(proj_dir)
    (worker,) = (proj_dir / "workers").iterdir()
    events, _ = read_records(worker / "events.log")
    done = next(r for r in events if r["op"] == "done")
    other = proj_dir / "workers" / "intruder-1-ab"
    other.mkdir()
    with open(other / "events.log", "wb") as f:
        f.write(encode(done))
        f.write(b"x" * 40 + b"\n")  # garbage inside a log
        f.write(b"0badc0de {\"torn~torn\n")  # a torn tail closed by the next writer: a note
    report = audit_logs(proj_dir)
    kinds = {p.split(":")[0] for p in report.problems}
    assert {"several accepted results", "result not explained", "damaged line"} <= kinds
    assert any("cut short by a crash" in n for n in report.notes)
    assert not report.ok


def test_a_worker_never_serves_rows_of_an_interrupted_add_from_its_cache(proj_dir: Path) -> None:
    """Rows of an add killed before its commit are replaced by the next add; a cache must not keep them."""
    from benchgrid.store import Queue, read_project_json

    Project.create(proj_dir, [{"i": i} for i in range(5)], SLEEP, **SETTINGS)
    cut = _python(
        "import sys; from benchgrid import Project; Project.open(sys.argv[1]).add_jobs([{'i': -1}] * 3)",
        "add.rows", str(proj_dir),
    )
    assert cut.returncode == -signal.SIGKILL
    queue = Queue(proj_dir, read_project_json(proj_dir)["settings"])
    assert [c.job_id for c in queue.claim("w", 5)] == [0, 1, 2, 3, 4]
    assert queue.jobs.get(4)["params"] == {"i": 4}  # loads part 0, uncommitted rows on disk
    Project.open(proj_dir).add_jobs([{"i": 5}])
    (claim,) = queue.claim("w", 5)
    assert queue.jobs.get(claim.job_id)["params"] == {"i": 5}
